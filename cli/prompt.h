#pragma once

#include <string>

#include "core/result.h"
#include "core/secret_buffer.h"

namespace keybridge::cli {

// Reads a secret (password, phrase, key) from a file: at most 64 KiB, one trailing newline (LF or
// CRLF) removed, straight into locked memory. IoError naming the file.
[[nodiscard]] core::Result<core::SecretBuffer> read_secret_file(const std::string& path);

// Asks on the controlling terminal (/dev/tty) with echo off. IoError when there is no terminal,
// telling the user which --...-file option to use instead.
[[nodiscard]] core::Result<core::SecretBuffer> prompt_secret(const std::string& prompt,
                                                             const std::string& file_option);

// Asks on the terminal with echo on (confirmations, quiz answers).
[[nodiscard]] core::Result<std::string> prompt_line(const std::string& prompt);

// "question [y/N] "; true only for y/yes.
[[nodiscard]] core::Result<bool> confirm(const std::string& question);

}  // namespace keybridge::cli
