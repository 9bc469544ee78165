# Turns the approval page's files (ui/) into a C++ table compiled into keybridged
# (daemon/net/ui_assets.cpp includes the result). Run by the build: cmake -DUI_DIR=... -DOUT=... -P.
# The files are listed here by name, each with the path it is served at and its media type, so the
# output depends only on their bytes (reproducible builds) and a stray file in ui/ is not served.
set(assets
  "index.html|/ui/|text/html"
  "app.css|/ui/app.css|text/css"
  "app.js|/ui/app.js|text/javascript"
  "rpc.js|/ui/rpc.js|text/javascript"
  "views.js|/ui/views.js|text/javascript"
  "icon.svg|/ui/icon.svg|image/svg+xml")
set(body "// Generated from ui/ by cmake/embed_ui.cmake at build time. Do not edit.\n")
set(rows "")
set(index 0)
foreach(entry IN LISTS assets)
  string(REPLACE "|" ";" fields "${entry}")
  list(GET fields 0 file)
  list(GET fields 1 path)
  list(GET fields 2 type)
  file(READ "${UI_DIR}/${file}" hex HEX)
  string(LENGTH "${hex}" hex_length)
  math(EXPR size "${hex_length} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
  string(APPEND body "static const char kUiAsset${index}[] = {${bytes}'\\0'};\n")
  string(APPEND rows "    {\"${path}\", \"${type}\", std::string_view(kUiAsset${index}, ${size})},\n")
  math(EXPR index "${index} + 1")
endforeach()
string(APPEND body "static const UiAsset kUiAssets[] = {\n${rows}};\n")
file(WRITE "${OUT}.tmp" "${body}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
