#pragma once

#include <string>

#include "core/result.h"
#include "core/secret_buffer.h"
#include "store/vault/secure_file.h"

namespace keybridge::cli {

// Secrets from files: see vault::read_secret_file (shared with keybridged's --password-file).
using vault::read_secret_file;

// Asks on the controlling terminal (/dev/tty) with echo off. IoError when there is no terminal,
// telling the user which --...-file option to use instead.
[[nodiscard]] core::Result<core::SecretBuffer> prompt_secret(const std::string& prompt,
                                                             const std::string& file_option);

// Asks on the terminal with echo on (confirmations, quiz answers).
[[nodiscard]] core::Result<std::string> prompt_line(const std::string& prompt);

// "question [y/N] "; true only for y/yes. Without a terminal: IoError quoting the question that
// could not be asked.
[[nodiscard]] core::Result<bool> confirm(const std::string& question);

// True when the process has a controlling terminal to ask on (/dev/tty opens).
bool have_terminal();

// Writes text on the controlling terminal (notes between prompts); nothing without one.
void tell(const std::string& text);

}  // namespace keybridge::cli
