#!/usr/bin/env bash
# Dependency arrows point inward only (docs/ARCHITECTURE.md draws them):
#   cli    -> store, drivers/usb, core       daemon -> drivers, store, proto, core
#   drivers -> proto, core                   store  -> core            core -> nothing
#   insight -> core (a library beside core: pure functions, no I/O); daemon -> insight
# Inside daemon/: net -> rpc -> events; rpc and events never include net, events nothing else.
set -euo pipefail
cd "$(dirname "$0")/../.."
status=0
check() {  # folder, forbidden include prefixes...
  local dir=$1; shift
  for prefix in "$@"; do
    if grep -rnE "#include +\"${prefix}/" "$dir" 2>/dev/null; then
      echo "layering: $dir must not include $prefix/" >&2
      status=1
    fi
  done
}
check core drivers daemon proto store cli insight
check insight drivers daemon proto store cli
check proto drivers daemon core store cli insight
check store drivers daemon proto cli insight
check drivers daemon store cli insight
check daemon cli
check cli daemon
check daemon/rpc daemon/net daemon/methods daemon/approvals daemon/subscriptions
check daemon/events daemon/net daemon/rpc daemon/methods daemon/approvals
# The device manager sits beside the signer registry: it attaches signers, it serves no requests.
check daemon/devices daemon/net daemon/rpc daemon/methods daemon/approvals daemon/subscriptions
# The tool reads the USB id table and sysfs (keybridge doctor), never a driver's protocol code.
if grep -rnE '#include +"drivers/' cli | grep -vE '#include +"drivers/usb/'; then
  echo "layering: cli may include drivers/usb/ only" >&2
  status=1
fi
# insight/ does no I/O of its own: no files, sockets, processes or clocks.
if grep -rnE '#include +<(fstream|cstdio|chrono|thread|boost/asio[^>]*|sys/[^>]*|unistd\.h)>' insight; then
  echo "layering: insight/ must not do I/O (files, sockets, clocks)" >&2
  status=1
fi
[ $status -eq 0 ] && echo "layering: ok"
exit $status
