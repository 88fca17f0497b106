#!/usr/bin/env python3
"""Plan benchmark: the cost of one `plan` pass over N items (10,000 by default), on tmpfs
(/dev/shm when it exists, or BENCH_DIR) so that the disk does not dominate.

Builds the release binary (honouring CARGO_TARGET_DIR), makes a vault with N inbox files of
1-4 KB (the same drops as benches/core.py), runs process-inbox once, keeps a copy of that
vault, then times `plan` on a fresh copy of it several times: wall time and the CPU time of
the aie process (user and system), best of the runs, and the median wall time of the runs
(on a shared or virtual machine identical runs spread by 10 % or more). With --callgrind M (valgrind needed) it
also counts the instructions `plan` executes over M items, a figure that does not move
with the machine's load. Target (issue 9, 2 cores): the wall time of `plan` under 1 s at
10,000 items.

    python3 benches/plan.py [--items N] [--runs R] [--callgrind M] [--aie PATH] [--keep]
"""
import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import core  # noqa: E402  (the vault and inbox makers)


def planned_vault(aie, base, n):
    """A vault whose N items process-inbox has filed in Needs_Action/, ready for `plan`."""
    vault = os.path.join(base, f"vault-{n}")
    core.make_vault(aie, vault)
    core.fill_inbox(vault, n, random.Random(42))
    core.run(aie, vault, "process-inbox")
    return vault


def timed(aie, vault, *args, prefix=()):
    """Runs aie once: (wall seconds, user seconds, system seconds) of the child."""
    e = dict(os.environ, AIE_VAULT=vault)
    e.pop("AIE_NOW", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run([*prefix, aie, *args], env=e, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode not in (0, 1):
        sys.exit(f"aie {' '.join(args)} failed ({p.returncode}): {p.stderr.decode()[:500]}")
    return wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime


def fresh_copy(pristine, work):
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(pristine, work, symlinks=True)
    return work


def callgrind(aie, base, n):
    """Instructions executed by one `plan` over n items (callgrind's `totals:` line)."""
    vault = planned_vault(aie, base, n)
    out = os.path.join(base, "callgrind.out")
    timed(aie, vault, "plan", prefix=("valgrind", "--tool=callgrind", "-q",
                                       f"--callgrind-out-file={out}"))
    with open(out) as f:
        for line in f:
            if line.startswith(("totals:", "summary:")):
                return int(line.split()[1])
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--callgrind", type=int, default=0, metavar="M",
                    help="also count plan's instructions over M items under callgrind")
    ap.add_argument("--aie", help="time this binary instead of building one")
    ap.add_argument("--keep", action="store_true", help="keep the vaults and print where")
    a = ap.parse_args()
    aie = a.aie or core.build()
    tmpfs = "/dev/shm" if os.path.isdir("/dev/shm") else None
    base = tempfile.mkdtemp(prefix="aie-bench-plan-", dir=os.environ.get("BENCH_DIR", tmpfs))
    try:
        pristine = planned_vault(aie, base, a.items)
        work = os.path.join(base, "work")
        runs = [timed(aie, fresh_copy(pristine, work), "plan") for _ in range(a.runs)]
        wall, user, sys_ = (min(r[i] for r in runs) for i in range(3))
        median = statistics.median(r[0] for r in runs)
        print(f"plan of {a.items} items in {os.path.dirname(base)}: wall {wall*1000:.0f} ms, "
              f"user {user*1000:.0f} ms, system {sys_*1000:.0f} ms (best of {a.runs}); "
              f"median wall {median*1000:.0f} ms")
        if a.callgrind:
            ir = callgrind(aie, base, a.callgrind)
            print(f"plan of {a.callgrind} items under callgrind: {ir:,} instructions")
    finally:
        core.finish(base, a.keep)


if __name__ == "__main__":
    main()
