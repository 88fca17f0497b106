#!/usr/bin/env python3
"""Core benchmark: wall time and peak memory of aie's passes.

Builds the release binary, makes a vault with 10,000 inbox files of 1-4 KB, and times
process-inbox, plan, execute-approved --dry-run and status over them; then a pass with
nothing to do over a vault holding 100,000 items in Done/. Prints one line per figure.
Targets (2 cores): each 10,000-item pass < 2 s with durable writes, an idle pass < 50 ms,
status < 100 ms, peak memory < 64 MB.

    python3 benches/core.py [--items N] [--done N] [--keep]
"""
import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORDS = ("invoice payment meeting client project update please reply thanks "
         "schedule report budget linkedin post website hosting call review").split()


def build():
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "aie")


def run(aie, vault, *args, env=None):
    """Runs aie once; returns (seconds, peak RSS in MB of that child, exit code)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # The real clock: expiry candidates are picked by file age on disk, which a pinned
    # AIE_NOW a day ahead would turn into "every pending item".
    e = dict(os.environ, AIE_VAULT=vault, **(env or {}))
    e.pop("AIE_NOW", None)
    t = time.perf_counter()
    p = subprocess.run([aie, *args], env=e, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t
    # ru_maxrss of children is the max over all waited children so far: run the small
    # commands after the big ones, or read it as "at most".
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if p.returncode not in (0, 1):
        sys.exit(f"aie {' '.join(args)} failed ({p.returncode}): {p.stderr.decode()[:500]}")
    return dt, max(peak, before) / 1024, p.returncode


def measure_rss(aie, vault, *args):
    """Peak RSS of one run, measured alone (GNU time's %M when available)."""
    e = dict(os.environ, AIE_VAULT=vault)
    e.pop("AIE_NOW", None)
    if shutil.which("/usr/bin/time"):
        p = subprocess.run(["/usr/bin/time", "-f", "%M", aie, *args], env=e,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            return int(p.stderr.decode().strip().splitlines()[-1]) / 1024
        except (ValueError, IndexError):
            return float("nan")
    code = ("import resource,subprocess,sys;subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,"
            "stderr=subprocess.DEVNULL);print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    p = subprocess.run([sys.executable, "-c", code, aie, *args], env=e, capture_output=True)
    return int(p.stdout.decode().strip()) / 1024


def make_vault(aie, vault):
    """A new vault with no settle time and one known payee (the $49 payments auto-approve)."""
    subprocess.run([aie, "init", vault], check=True, stdout=subprocess.DEVNULL)
    path = os.path.join(vault, "aie.yaml")
    cfg = open(path).read().replace("settle_seconds: 2 ", "settle_seconds: 0 ")
    cfg = cfg.replace("known_payees: []", "known_payees: [Hosting Co]")
    open(path, "w").write(cfg)


def fill_inbox(vault, n, rnd):
    """n drops of 1-4 KB in Inbox/: a quarter mails, a quarter payments, half plain text."""
    inbox = os.path.join(vault, "Inbox")
    for i in range(n):
        size = rnd.randint(1024, 4096)
        words = []
        while sum(len(w) + 1 for w in words) < size:
            words.append(rnd.choice(WORDS))
        kind = i % 4
        if kind == 0:
            text = f"From: Client {i} <c{i}@example.com>\nSubject: Question {i}\n\nCan you help? " + " ".join(words)
        elif kind == 1:
            text = f"Please pay Hosting Co $49 for the monthly payment {i}. " + " ".join(words)
        else:
            text = " ".join(words)
        with open(os.path.join(inbox, f"drop-{i:05d}.txt"), "w") as f:
            f.write(text)


def fs_floor(base, n):
    """The bare file operations process-inbox must do for n drops (create the item file,
    make Attachments/<id>/, rename the item into place, move the original, sync), with no
    aie code: what this disk allows at best."""
    d = os.path.join(base, "floor")
    for sub in ("Inbox", "NA", "Att"):
        os.makedirs(os.path.join(d, sub))
    for i in range(n):
        with open(os.path.join(d, "Inbox", f"d{i}.txt"), "w") as f:
            f.write("x" * 2500)
    os.sync()
    t = time.perf_counter()
    for i in range(n):
        fd = os.open(os.path.join(d, "NA", f".tmp-{i}"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, b"y" * 2700)
        os.close(fd)
        os.mkdir(os.path.join(d, "Att", f"id{i}"))
    os.sync()
    for i in range(n):
        os.rename(os.path.join(d, "NA", f".tmp-{i}"), os.path.join(d, "NA", f"item-{i}.md"))
        os.rename(os.path.join(d, "Inbox", f"d{i}.txt"), os.path.join(d, "Att", f"id{i}", f"d{i}.txt"))
    os.sync()
    dt = time.perf_counter() - t
    shutil.rmtree(d, ignore_errors=True)
    return dt


def finish(base, keep):
    """Removes the bench's folder, or says where it was kept."""
    if keep:
        print(f"kept: {base}")
    else:
        shutil.rmtree(base, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--done", type=int, default=100_000)
    ap.add_argument("--keep", action="store_true", help="keep the vaults and print where")
    a = ap.parse_args()
    aie = build()
    base = tempfile.mkdtemp(prefix="aie-bench-", dir=os.environ.get("BENCH_DIR"))
    rnd = random.Random(42)
    try:
        vault = os.path.join(base, "vault")
        make_vault(aie, vault)
        fill_inbox(vault, a.items, rnd)
        print(f"vault: {a.items} inbox files of 1-4 KB")
        figures = []
        for args in (["process-inbox"], ["plan"], ["execute-approved", "--dry-run"], ["status", "--json"]):
            dt, _, code = run(aie, vault, *args)
            figures.append((" ".join(args), dt))
            print(f"{' '.join(args):<28} {dt*1000:8.0f} ms  (exit {code})")
        for args in (["process-inbox"], ["plan"], ["execute-approved", "--dry-run"]):
            dt, _, _ = run(aie, vault, *args)
            print(f"idle {' '.join(args):<23} {dt*1000:8.1f} ms")
        rss = {" ".join(x): measure_rss(aie, vault, *x) for x in (["status"], ["plan"])}
        for k, v in rss.items():
            print(f"peak memory {k:<16} {v:8.1f} MB")

        # 100,000 items in Done/: the idle passes must not grow with it.
        big = os.path.join(base, "big")
        subprocess.run([aie, "init", big], check=True, stdout=subprocess.DEVNULL)
        done = os.path.join(big, "Done")
        for i in range(a.done):
            with open(os.path.join(done, f"done-{i:06d}.md"), "w") as f:
                f.write(f"---\nid: done-{i:06d}\nkind: file\ndomain: general\nsource: inbox:x{i}\n"
                        f"created: 2026-11-01T00:00:00Z\nstatus: done\npriority: normal\n---\nbody\n")
        print(f"vault: {a.done} items in Done/")
        for args in (["process-inbox"], ["plan"], ["execute-approved"]):
            best = min(run(aie, big, *args)[0] for _ in range(5))
            print(f"idle over Done {' '.join(args):<17} {best*1000:8.1f} ms  (best of 5)")
        best = min(run(aie, big, "status", "--json")[0] for _ in range(5))
        print(f"status over Done {'':<17} {best*1000:8.1f} ms  (best of 5)")
        print(f"peak memory status over Done   {measure_rss(aie, big, 'status'):8.1f} MB")
        # Last: its clean-up frees 20,000 inodes, which slows the next file creations.
        print(f"file-system floor of process-inbox's operations for {a.items} drops: "
              f"{fs_floor(base, a.items)*1000:.0f} ms (no aie code)")
    finally:
        finish(base, a.keep)


if __name__ == "__main__":
    main()
