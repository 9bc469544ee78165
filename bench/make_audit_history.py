#!/usr/bin/python3
"""Fills a data folder with a full audit history for the start-up benchmark.

Usage: bench/make_audit_history.py DATADIR [MIB_PER_FILE] [FILES]

Writes DATADIR/audit.log.(FILES-1) … audit.log.1 and audit.log (default: 5 files of 16 MiB, the
rotation's full 80 MiB at the default --audit-max-size and --audit-keep), lines as keybridged
writes them: mostly message signatures ("approved" then "signed"), and one transaction in ten
whose "signed" line carries counterparties (2,000 distinct addresses per chain, chains 1 and
31337). The folder is created 0700, the files 0600. Deterministic: the same arguments give the
same bytes.
"""
import json
import os
import random
import sys


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    datadir = sys.argv[1]
    mib = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    files = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    os.makedirs(datadir, mode=0o700, exist_ok=True)
    rng = random.Random(7)
    addresses = ["0x%040x" % rng.getrandbits(160) for _ in range(2000)]
    account = "0x73d0385F4d8E00C5e6504C6030F47BF6212736A8"
    line_id = 0

    def line(method, decision, decided_by, chain, counterparties=None):
        nonlocal line_id
        line_id += 1
        o = {"time": "2026-12-05T12:00:00Z", "id": line_id, "origin": "https://app.example",
             "method": method, "account": account, "chainId": chain, "decision": decision,
             "decidedBy": decided_by}
        if decision == "signed":
            o["digest"] = "%064x" % rng.getrandbits(256)
        if counterparties:
            o["counterparties"] = counterparties
        return json.dumps(o, separators=(",", ":")) + "\n"

    names = ["audit.log.%d" % n for n in range(files - 1, 0, -1)] + ["audit.log"]
    for name in names:
        path = os.path.join(datadir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            written = 0
            while written < mib << 20:
                if rng.randrange(10) == 0:
                    chain = rng.choice([1, 31337])
                    used = rng.sample(addresses, rng.randint(1, 2))
                    text = line("eth_sendTransaction", "approved", "user", chain)
                    text += line("eth_sendTransaction", "signed", "approved", chain, used)
                else:
                    text = line("personal_sign", "approved", "policy line 1", 31337)
                    text += line("personal_sign", "signed", "approved", 31337)
                out.write(text)
                written += len(text)


if __name__ == "__main__":
    main()
