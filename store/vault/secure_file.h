#pragma once

#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/result.h"
#include "core/secret_buffer.h"

namespace keybridge::vault {

// File operations for the vault: private modes and crash-safe writes. All paths are absolute or
// relative to the working directory; errors are IoError naming the path and the OS reason.

// Creates the directory (and missing parents) with mode 0700; an existing directory must be owned
// by us and is tightened to 0700 when it is looser.
[[nodiscard]] core::Status ensure_private_dir(const std::string& path);

// Writes the file atomically and durably: a temp file in the same folder (0600), write, fsync,
// rename over the target, fsync of the folder. A crash at any instant leaves either the old or
// the new content under `path`, never a mix.
[[nodiscard]] core::Status write_file_atomic(const std::string& path, core::ByteView content);
[[nodiscard]] inline core::Status write_file_atomic(const std::string& path,
                                                    std::string_view text) {
    return write_file_atomic(path, core::as_bytes(text));
}

// Reads a whole file (refusing files larger than max_size, so a hostile file cannot exhaust
// memory).
[[nodiscard]] core::Result<std::string> read_file(const std::string& path,
                                                  std::size_t max_size = 16 * 1024 * 1024);

// fsync of a directory, so that renames and unlinks inside it are durable.
[[nodiscard]] core::Status fsync_dir(const std::string& path);

// Makes `link` a hard link to `target` (used to carry unchanged files into a new snapshot).
[[nodiscard]] core::Status hard_link(const std::string& target, const std::string& link);

// Removes a directory tree; missing is not an error.
[[nodiscard]] core::Status remove_tree(const std::string& path);

bool path_exists(const std::string& path);

// Reads a secret (password, phrase, key) from a file: at most 64 KiB, one trailing newline (LF or
// CRLF) removed, straight into locked memory. IoError naming the file.
[[nodiscard]] core::Result<core::SecretBuffer> read_secret_file(const std::string& path);

}  // namespace keybridge::vault
