#!/bin/sh
# `aie mcp` speed (issue 15). Prints figures; asserts nothing about time. Run from the repo
# root; builds the release binary (in `CARGO_TARGET_DIR`, default ./target), or measures
# `AIE_BIN` when set.
#  1. Time from process start to the answer of `initialize` (target: under 20 ms): a fresh
#     `aie mcp` each time, on a vault of 10,000 items.
#  2. Per `list_items` call over 10,000 items in Needs_Action/ (target: under 50 ms), and per
#     `status` call, in one session.
#  3. Time from closing stdin to the process's exit (the promise: within a second).
set -eu
if [ -n "${AIE_BIN:-}" ]; then
  aie=$AIE_BIN
else
  target=${CARGO_TARGET_DIR:-$(pwd)/target}
  CARGO_TARGET_DIR=$target cargo build --release --quiet
  aie=$target/release/aie
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export AIE_NOW=2026-11-23T09:00:00Z AIE_VAULT="$work/vault"
"$aie" init "$work/vault" >/dev/null
printf 'timezone: UTC\nowner:\n  name: Bench Owner\n' > "$work/vault/aie.yaml"
python3 - "$aie" "$work/vault" <<'PY'
import json, os, statistics, subprocess, sys, time

aie, vault = sys.argv[1], sys.argv[2]
d = os.path.join(vault, "Needs_Action", "general")
for i in range(10_000):
    with open(os.path.join(d, f"bench-{i:05d}.md"), "w") as f:
        f.write(f"---\nid: bench-{i:05d}\nkind: file\ndomain: general\nsource: inbox:b{i}.txt\n"
                f"created: 2026-11-23T09:00:00Z\nstatus: needs_action\npriority: normal\n"
                f"title: Item {i}\n---\nBody of item {i}.\n")

INIT = json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {},
    "clientInfo": {"name": "bench", "version": "1"}}}) + "\n"

def call(n, name, args):
    return json.dumps({"jsonrpc": "2.0", "id": n, "method": "tools/call",
                       "params": {"name": name, "arguments": args}}) + "\n"

def ms(xs):
    xs = sorted(xs)
    return f"median {statistics.median(xs):.1f} ms, p90 {xs[int(len(xs) * 0.9)]:.1f} ms, max {xs[-1]:.1f} ms"

starts = []
for _ in range(30):
    t0 = time.perf_counter()
    p = subprocess.Popen([aie, "mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    p.stdin.write(INIT); p.stdin.flush()
    line = p.stdout.readline()
    starts.append((time.perf_counter() - t0) * 1000)
    assert '"protocolVersion"' in line, line
    p.stdin.close(); p.wait()
print(f"start to initialize answer (30 runs, 10,000 items): {ms(starts)}")

def session(calls):
    """One session making `calls`; returns the wall ms of each call, the session's CPU ms
    (user + sys, from wait4) and the ms from closing stdin to exit."""
    p = subprocess.Popen([aie, "mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    p.stdin.write(INIT); p.stdin.flush(); p.stdout.readline()
    times = []
    for n, (name, args) in enumerate(calls):
        t0 = time.perf_counter()
        p.stdin.write(call(n + 1, name, args)); p.stdin.flush()
        line = p.stdout.readline()
        times.append((time.perf_counter() - t0) * 1000)
        assert '"isError":false' in line, line[:300]
    t0 = time.perf_counter()
    p.stdin.close()
    _, _, ru = os.wait4(p.pid, 0)
    closed = (time.perf_counter() - t0) * 1000
    p.returncode = 0
    return times, (ru.ru_utime + ru.ru_stime) * 1000, closed

_, idle_cpu, closed = session([])
for label, name, args in [
    ("list_items (limit 50) over 10,000 items", "list_items", {}),
    ("list_items (limit 500) over 10,000 items", "list_items", {"limit": 500}),
    ("status over 10,000 items", "status", {}),
]:
    times, cpu, _ = session([(name, args)] * 30)
    print(f"{label} (30 calls): wall {ms(times)}; CPU {(cpu - idle_cpu) / 30:.1f} ms a call")
print(f"a session that only initializes: {idle_cpu:.1f} ms of CPU from start to exit")
print(f"stdin closed to exit: {closed:.1f} ms")
print(f"load average while measuring: {os.getloadavg()[0]:.1f} (wall times grow with it; CPU times do not)")
PY
