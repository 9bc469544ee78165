# Generates a C++ source holding the BIP39 wordlists, so the library needs no file at run time.
# Run as: cmake -DWORDLIST_DIR=<dir with english.txt, japanese.txt> -DOUTPUT=<file.cpp> -P <this>
# Each list is embedded byte for byte as a raw string literal; core/bip39.cpp splits it into words
# on first use and checks the count.
cmake_minimum_required(VERSION 3.25)

if(NOT WORDLIST_DIR OR NOT OUTPUT)
  message(FATAL_ERROR "embed_wordlists.cmake needs -DWORDLIST_DIR=... and -DOUTPUT=...")
endif()

set(delimiter "kbwl")
set(body "")
foreach(entry "english;english_wordlist_text" "japanese;japanese_wordlist_text")
  list(GET entry 0 name)
  list(GET entry 1 function)
  file(READ "${WORDLIST_DIR}/${name}.txt" text)
  string(FIND "${text}" ")${delimiter}\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${name}.txt contains the raw-string delimiter; pick another one")
  endif()
  string(FIND "${text}" "\r" carriage_return)
  if(NOT carriage_return EQUAL -1)
    message(FATAL_ERROR "${name}.txt has CR line endings; the wordlists must use LF")
  endif()
  string(APPEND body
    "std::string_view ${function}() {\n"
    "    static constexpr char kText[] = R\"${delimiter}(${text})${delimiter}\";\n"
    "    return {kText, sizeof(kText) - 1};\n"
    "}\n\n")
endforeach()

file(WRITE "${OUTPUT}.tmp"
  "// Generated from core/wordlists/*.txt by core/wordlists/embed_wordlists.cmake. Do not edit.\n"
  "#include \"core/bip39_wordlists.h\"\n\n"
  "namespace keybridge::core::bip39::detail {\n\n"
  "${body}"
  "}  // namespace keybridge::core::bip39::detail\n")
# Only touch the output when it changed, so an unchanged list does not trigger a rebuild.
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
