#!/usr/bin/env bash
# Two (or more) keybridged binaries, or the floor, measured in turn on the same machine state:
# all are started at once on throw-away vaults (the policy `approve origin=local`, as
# run_daemon_bench.sh does), then each round measures one cell against each of them back to
# back, so a slow minute of the VM hits every binary alike (docs/BENCHMARKS.md, "The machine").
#
#   bench/alternate_daemons.sh BUILD_DIR NAME=BINARY [NAME=BINARY ...]
#
# BINARY is a keybridged, with its own options after it if any (one quoted argument:
# "normal=build/bench/daemon/keybridged --network-scheduling normal"), `floor` for BUILD_DIR's
# keybridge_floor_server, or `anvil` for the peer (ANVIL, default tests/node's npm anvil; chain
# id 1, the vault's phrase). Per round and binary it prints the daemon's CPU per request twice:
# perf stat's task-clock over the measured requests (`cpu_us`, fine-grained, but counting costs
# the process some CPU at every context switch: on this VM it read 6-16 % above the /proc
# figure, more for anvil's many threads, so compare it only with itself) and the /proc figure
# the load generator reads (`proc_cpu_us`, 10 ms ticks, the one run_daemon_bench.sh reports);
# then requests per second, p50 and p99 in µs and the load generator's CPU per request.
# Environment: METHOD (personal_sign), TRANSPORT (ws), CONNECTIONS (16), INFLIGHT (1), N
# (requests per measurement, 20000), ROUNDS (3).
set -euo pipefail
# shellcheck source=bench/bench_daemon.sh
source "$(dirname "$0")/bench_daemon.sh"
BUILD=${1:?usage: alternate_daemons.sh BUILD_DIR NAME=BINARY [NAME=BINARY ...]}
shift
METHOD=${METHOD:-personal_sign}
TRANSPORT=${TRANSPORT:-ws}
CONNECTIONS=${CONNECTIONS:-16}
INFLIGHT=${INFLIGHT:-1}
N=${N:-20000}
ROUNDS=${ROUNDS:-3}
LOADGEN=$BUILD/bench/keybridge_loadgen
ANVIL=${ANVIL:-$(cd "$(dirname "$0")/.." && pwd)/tests/node/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil}
TMP=$(mktemp -d)
declare -A PIDS PORTS TOKENS
NAMES=()
cleanup() {
    for name in "${NAMES[@]}"; do kill "${PIDS[$name]}" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

for spec in "$@"; do
    name=${spec%%=*}
    read -ra words <<<"${spec#*=}"
    binary=${words[0]}
    options=("${words[@]:1}")
    NAMES+=("$name")
    dir=$TMP/$name
    mkdir -p "$dir"
    if [[ $binary == floor ]]; then
        : >"$dir/log"
        "$BUILD/bench/keybridge_floor_server" >"$dir/log" 2>&1 &
        PIDS[$name]=$!
        PORTS[$name]=$(listening_port "$dir/log" "${PIDS[$name]}")
        TOKENS[$name]=
        continue
    fi
    if [[ $binary == anvil ]]; then
        port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        "$ANVIL" --host 127.0.0.1 --port "$port" --chain-id 1 --silent \
            --mnemonic "$BENCH_MNEMONIC" \
            >"$dir/log" 2>&1 &
        PIDS[$name]=$!
        PORTS[$name]=$port
        TOKENS[$name]=
        for _ in $(seq 100); do
            "$LOADGEN" --target "127.0.0.1:$port" --method eth_chainId --requests 1 --warmup 0 \
                >/dev/null 2>&1 && break
            sleep 0.1
        done
        continue
    fi
    bench_vault "$BUILD/cli/keybridge" "$dir"
    bench_daemon_flags "$dir"
    : >"$dir/log"
    "$binary" "${BENCH_DAEMON_FLAGS[@]}" "${options[@]}" 2>"$dir/log" &
    PIDS[$name]=$!
    PORTS[$name]=$(listening_port "$dir/log" "${PIDS[$name]}")
    TOKENS[$name]=$dir/data/.cookie
    # grants the account, waits for the unlock
    "$LOADGEN" --target "127.0.0.1:${PORTS[$name]}" --token-file "${TOKENS[$name]}" \
        --method personal_sign --requests 1 --warmup 0 >/dev/null
done

cell=(--method "$METHOD" --transport "$TRANSPORT" --connections "$CONNECTIONS"
    --inflight "$INFLIGHT" --warmup 0)
echo "# $METHOD $TRANSPORT ${CONNECTIONS}x$INFLIGHT, $N requests per measurement"
for round in $(seq "$ROUNDS"); do
    for name in "${NAMES[@]}"; do
        target=(--target "127.0.0.1:${PORTS[$name]}" --pid "${PIDS[$name]}")
        [[ -n ${TOKENS[$name]} ]] && target+=(--token-file "${TOKENS[$name]}")
        "$LOADGEN" "${target[@]}" "${cell[@]}" --requests 3000 >/dev/null  # warm-up
        perf stat -x, -e task-clock -p "${PIDS[$name]}" -o "$TMP/perf.csv" &
        perf_pid=$!
        sleep 0.2
        "$LOADGEN" "${target[@]}" "${cell[@]}" --requests "$N" --json >"$TMP/report.json"
        kill -INT "$perf_pid"
        wait "$perf_pid" || true
        /usr/bin/python3 - "$TMP/perf.csv" "$TMP/report.json" "$N" "$round $name" <<'EOF'
import json, sys
ms = [float(l.split(",")[0]) for l in open(sys.argv[1]) if "task-clock" in l][0]
report = json.load(open(sys.argv[2]))
print("round %s cpu_us=%.1f proc_cpu_us=%s req_s=%s p50_us=%s p99_us=%s loadgen_cpu_us=%s" % (
    sys.argv[4], ms * 1000 / float(sys.argv[3]), report.get("daemon_cpu_us_per_req"),
    report["req_per_s"], report.get("p50_us"), report.get("p99_us"),
    report.get("loadgen_cpu_us_per_req")))
EOF
    done
done
