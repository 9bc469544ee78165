#pragma once

#include <span>
#include <string_view>

namespace keybridge::daemon::net {

// One file of the approval page (ui/), compiled into keybridged (cmake/embed_ui.cmake): the path
// it is served at, its media type (text types are UTF-8) and its bytes.
struct UiAsset {
    std::string_view path;  // "/ui/" (index.html), "/ui/app.js", ...
    std::string_view content_type;
    std::string_view body;
};

// Every embedded file; static storage.
std::span<const UiAsset> ui_assets();

}  // namespace keybridge::daemon::net
