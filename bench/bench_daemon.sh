# shellcheck shell=bash
# Sourced by the daemon benchmark scripts (run_daemon_bench.sh, alternate_daemons.sh,
# callgrind_daemon.sh, perfstat_daemon.sh): the throw-away vault they all measure against and
# the way they learn a server's port. Not a script of its own.

# The public development phrase of Hardhat and Foundry: never holds anything of value. anvil
# is started with the same phrase, so both sign with the same first account.
BENCH_MNEMONIC='test test test test test test test test test test test junk'

# bench_vault CLI DIR: a vault in DIR/data restored from the development phrase (light KDF),
# its password in DIR/password and a policy in DIR/policy that approves every request of the
# token client (no prompt is ever measured).
bench_vault() {
    local cli=$1 dir=$2
    mkdir -p "$dir"
    printf '%s\n' "$BENCH_MNEMONIC" >"$dir/mnemonic"
    printf 'benchmark password\n' >"$dir/password"
    printf '# benchmark: approve everything the token client asks\napprove origin=local\n' \
        >"$dir/policy"
    "$cli" --datadir "$dir/data" restore --mnemonic-file "$dir/mnemonic" \
        --password-file "$dir/password" --light-kdf >/dev/null
}

# bench_daemon_flags DIR: sets BENCH_DAEMON_FLAGS, keybridged's options for bench_vault's DIR.
# The default rate limit (200 requests/s per client) would otherwise be all that is measured.
bench_daemon_flags() {
    local dir=$1
    # shellcheck disable=SC2034  # read by the scripts that source this file
    BENCH_DAEMON_FLAGS=(--datadir "$dir/data" --listen 127.0.0.1:0 --password-file "$dir/password"
        --policy "$dir/policy" --rate-limit 1000000 --rate-burst 1000000)
}

# listening_port LOG PID [TRIES]: prints the port of "listening on 127.0.0.1:PORT" in LOG once
# the server (PID) has logged it, polling every 0.1 s (TRIES times, default 300); fails with the
# log if the server exits or never listens. The caller creates LOG before starting the server:
# the redirection happens in the child, so an early look could find no file.
listening_port() {
    local log=$1 pid=$2 tries=${3:-300} port=
    for _ in $(seq "$tries"); do
        port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1)
        if [[ -n $port ]]; then
            echo "$port"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "the server (pid $pid) did not start listening:" >&2
    cat "$log" >&2
    return 1
}
