#!/bin/bash
# A compiler/linker launcher that logs the CPU seconds of each compilation or link, to find the
# expensive translation units of a build:
#   KEYBRIDGE_COMPILE_TIMES_LOG=/tmp/times.log cmake -S . -B build/x \
#     -DCMAKE_CXX_COMPILER_LAUNCHER=$PWD/scripts/compile-times.sh \
#     -DCMAKE_C_COMPILER_LAUNCHER=$PWD/scripts/compile-times.sh \
#     -DCMAKE_CXX_LINKER_LAUNCHER=$PWD/scripts/compile-times.sh ...
#   (build), then: sort -rn /tmp/times.log | head -20
# Each line: CPU seconds (user+sys), user, sys, wall, output file. A launcher replaces ccache
# (CMakeLists.txt uses ccache only when no launcher is given).
log=${KEYBRIDGE_COMPILE_TIMES_LOG:?set KEYBRIDGE_COMPILE_TIMES_LOG to the log file}
out=unknown
prev=
for arg in "$@"; do
  [ "$prev" = -o ] && out=$arg
  prev=$arg
done
timing=$(mktemp)
/usr/bin/time -f '%U %S %e' -o "$timing" "$@"
rc=$?
read -r user sys wall < <(tail -n 1 "$timing")
rm -f "$timing"
awk -v u="$user" -v s="$sys" -v w="$wall" -v o="$out" 'BEGIN { printf "%.2f %s %s %s %s\n", u + s, u, s, w, o }' >>"$log"
exit $rc
