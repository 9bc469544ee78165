#!/usr/bin/env bash
# System calls, futex calls and context switches per request of keybridged (perf stat on the
# daemon's process, all threads), and its CPU per request (loadgen's reading of /proc/PID). The
# counts per request hardly depend on what else runs on the machine; the CPU figure does
# (docs/BENCHMARKS.md, "The machine").
#
#   bench/perfstat_daemon.sh BUILD_DIR [LABEL]
#
# Starts keybridged (BUILD_DIR's, or DAEMON) on a throw-away vault with the policy
# `approve origin=local`, as run_daemon_bench.sh does, warms each cell up, then counts N (default
# 20000) requests. Prints one line per cell: LABEL METHOD TRANSPORT CONNSxINFLIGHT, then per
# request: syscalls, recvmsg, sendmsg, pwritev2 (the audit line), setsockopt (TCP_CORK), epoll_wait,
# futex, context switches, daemon CPU µs,
# and the requests per second of the cell (only comparable within one quiet run).
# Environment: N, METHODS, TRANSPORTS, CELLS (default "16x1 64x4"), DAEMON_ARGS (e.g.
# "--threads 2"), DAEMON.
set -euo pipefail
# shellcheck source=bench/bench_daemon.sh
source "$(dirname "$0")/bench_daemon.sh"
BUILD=${1:?usage: perfstat_daemon.sh BUILD_DIR [LABEL]}
LABEL=${2:-run}
N=${N:-20000}
DAEMON=${DAEMON:-$BUILD/daemon/keybridged}
LOADGEN=$BUILD/bench/keybridge_loadgen
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
"$DAEMON" "${BENCH_DAEMON_FLAGS[@]}" ${DAEMON_ARGS:-} 2>"$TMP/daemon.log" &
PID=$!
PORT=$(listening_port "$TMP/daemon.log" "$PID")
loadgen() { "$LOADGEN" --target "127.0.0.1:$PORT" --token-file "$TMP/data/.cookie" --pid "$PID" "$@"; }
loadgen --method personal_sign --requests 1 --warmup 0 >/dev/null  # grants the account, unlocks

events=raw_syscalls:sys_enter,syscalls:sys_enter_recvmsg,syscalls:sys_enter_sendmsg
events+=,syscalls:sys_enter_pwritev2,syscalls:sys_enter_setsockopt,syscalls:sys_enter_epoll_wait
events+=,syscalls:sys_enter_futex
events+=,context-switches
for method in ${METHODS:-eth_chainId personal_sign eth_signTypedData_v4}; do
    for transport in ${TRANSPORTS:-ws http}; do
        for cell in ${CELLS:-16x1 64x4}; do
            conns=${cell%x*}
            inflight=${cell#*x}
            args=(--method "$method" --transport "$transport" --connections "$conns"
                --inflight "$inflight" --warmup 0)
            loadgen "${args[@]}" --requests 2000 >/dev/null
            perf stat -x, -o "$TMP/perf.csv" -p "$PID" -e "$events" &
            PERF=$!
            sleep 0.3
            loadgen "${args[@]}" --requests "$N" --json >"$TMP/report.json"
            kill -INT "$PERF"
            wait "$PERF" || true
            # At 64x4 the load generator has more requests out when it reaches N: the daemon's
            # counts cover those too, so divide by the answers it counted, and accept ±2 %.
            /usr/bin/python3 - "$TMP/perf.csv" "$TMP/report.json" "$N" "$LABEL $method $transport $cell" <<'EOF'
import json, sys
counts = {}
for line in open(sys.argv[1]):
    parts = line.strip().split(",")
    if len(parts) > 2 and parts[0].replace(".", "").isdigit():
        counts[parts[2]] = float(parts[0])
report = json.load(open(sys.argv[2]))
n = float(sys.argv[3])
cpu = report.get("daemon_cpu_us_per_req", float("nan"))
def per(name):
    return counts.get(name, float("nan")) / n
print(sys.argv[4], " ".join("%s=%.2f" % (k, per(v)) for k, v in [
    ("syscalls", "raw_syscalls:sys_enter"), ("recvmsg", "syscalls:sys_enter_recvmsg"),
    ("sendmsg", "syscalls:sys_enter_sendmsg"), ("pwritev2", "syscalls:sys_enter_pwritev2"),
    ("setsockopt", "syscalls:sys_enter_setsockopt"),
    ("epoll_wait", "syscalls:sys_enter_epoll_wait"), ("futex", "syscalls:sys_enter_futex"),
    ("cs", "context-switches")]), "cpu_us=%s" % cpu, "req_s=%s" % report.get("req_per_s"))
EOF
        done
    done
done
