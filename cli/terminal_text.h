#pragma once

#include <string>
#include <string_view>

// What the `keybridge` tool prints that it did not write itself (account and device names from
// the vault or a restored backup, origins, messages and typed data from dApps, the daemon's error
// messages, audit lines) passes through one of these two functions first, so that no such text
// can move the cursor, clear the screen, retitle the window or reorder what the user reads.
namespace keybridge::cli {

// Text safe to print on a terminal: C0 controls and DEL as \n, \r, \t, \xNN; C1 controls
// (U+0080..U+009F) and the invisible format characters that change how a line is displayed
// (bidi embeddings, overrides and isolates, LRM/RLM/ALM, zero-width characters, BOM) as \u{…};
// invalid UTF-8 bytes as \xNN. Everything else, including printable Unicode, is kept. With
// keep_newlines, "\n" stays a line break (multi-line messages and reports). The output contains
// none of those characters, so applying it twice changes nothing.
std::string terminal_safe(std::string_view text, bool keep_newlines = false);

// A JSON text (one value, as a serializer writes it) with the same characters written as JSON
// escapes (\u001b, \u009b, \u202e, …): the same JSON value, safe to print. Line feeds and tabs
// between tokens are kept; a byte that is not UTF-8 becomes \ufffd (it was not valid JSON).
std::string json_for_terminal(std::string_view json_text);

}  // namespace keybridge::cli
