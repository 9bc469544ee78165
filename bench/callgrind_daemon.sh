#!/usr/bin/env bash
# User-space instructions per request of keybridged (valgrind --tool=callgrind), per method and
# transport: a figure that does not depend on what else runs on the machine (docs/BENCHMARKS.md,
# "Instructions per request").
#
#   bench/callgrind_daemon.sh BUILD_DIR [LABEL]
#
# Starts keybridged (BUILD_DIR, or DAEMON) under callgrind with instrumentation off, on a
# throw-away vault with the policy `approve origin=local` as run_daemon_bench.sh does, warms each
# cell up with 300 requests, then counts N (default 1000) requests over 16 connections, one in
# flight each. Prints "LABEL METHOD TRANSPORT instr/req COUNT" and keeps each profile as
# OUT/LABEL.METHOD.TRANSPORT.cg for callgrind_annotate. Environment: N, METHODS, TRANSPORTS,
# CONNECTIONS (16), INFLIGHT (1, requests in flight per connection), DAEMON_ARGS (e.g. "--signing-worker off"), DAEMON, OUT (default BUILD_DIR/callgrind).
set -euo pipefail
# shellcheck source=bench/bench_daemon.sh
source "$(dirname "$0")/bench_daemon.sh"
BUILD=${1:?usage: callgrind_daemon.sh BUILD_DIR [LABEL]}
LABEL=${2:-run}
N=${N:-1000}
CONNECTIONS=${CONNECTIONS:-16}
INFLIGHT=${INFLIGHT:-1}
DAEMON=${DAEMON:-$BUILD/daemon/keybridged}
OUT=${OUT:-$BUILD/callgrind}
LOADGEN=$BUILD/bench/keybridge_loadgen
mkdir -p "$OUT"
TMP=$(mktemp -d)
PID=
cleanup() {
    if [[ -n $PID ]]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

bench_vault "$BUILD/cli/keybridge" "$TMP"
bench_daemon_flags "$TMP"
: >"$TMP/daemon.log"
# shellcheck disable=SC2086
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$TMP/cg.%p.out" \
    "$DAEMON" "${BENCH_DAEMON_FLAGS[@]}" ${DAEMON_ARGS:-} 2>"$TMP/daemon.log" &
PID=$!
PORT=$(listening_port "$TMP/daemon.log" "$PID" 600)  # valgrind starts slowly
loadgen() { "$LOADGEN" --target "127.0.0.1:$PORT" --token-file "$TMP/data/.cookie" --pid "$PID" "$@"; }
loadgen --method personal_sign --requests 1 --warmup 0 >/dev/null  # grants the account, unlocks

for method in ${METHODS:-eth_chainId personal_sign eth_signTypedData_v4}; do
    for transport in ${TRANSPORTS:-ws http}; do
        cell=(--method "$method" --transport "$transport" --connections "$CONNECTIONS" --inflight "$INFLIGHT" --warmup 0)
        loadgen "${cell[@]}" --requests 300 >/dev/null
        callgrind_control -z "$PID" >/dev/null
        callgrind_control -i on "$PID" >/dev/null
        loadgen "${cell[@]}" --requests "$N" >/dev/null
        callgrind_control -i off "$PID" >/dev/null
        rm -f "$TMP"/cg.*.out*
        callgrind_control -d "$PID" >/dev/null
        profile=$(ls -t "$TMP"/cg.*.out* | head -1)
        total=$(callgrind_annotate "$profile" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
        cp "$profile" "$OUT/$LABEL.$method.$transport.cg"
        echo "$LABEL $method $transport instr/req $((total / N))"
    done
done
