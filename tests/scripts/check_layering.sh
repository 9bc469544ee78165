#!/usr/bin/env bash
# Dependency arrows point inward only: daemon -> drivers -> {core, proto}. core/ and proto/ must not
# include anything from drivers/ or daemon/, and drivers/ nothing from daemon/.
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
check core drivers daemon proto
check proto drivers daemon core
check drivers daemon cli
check daemon cli
[ $status -eq 0 ] && echo "layering: ok"
exit $status
