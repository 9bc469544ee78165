#include "daemon/net/ui_assets.h"

namespace keybridge::daemon::net {

namespace {
#include "ui_assets.inc"
}  // namespace

std::span<const UiAsset> ui_assets() {
    return kUiAssets;
}

}  // namespace keybridge::daemon::net
