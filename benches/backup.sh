#!/usr/bin/env bash
# Backup figures: aie backup beside restic (Debian's package) on the same 10,000-file,
# ~90 MB tree, in the same run: first backup, unchanged second backup, store size, restore.
# Usage: nice -n 10 bash benches/backup.sh   (builds aie in release in `CARGO_TARGET_DIR`,
# default ./target, or measures `AIE_BIN` when set; needs `restic` on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
[ -n "${AIE_BIN:-}" ] || cargo build --release -q
command -v restic >/dev/null || { echo "restic is not installed (apt-get install -y restic)"; exit 1; }
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
# A copy: the shared target dir's binary is rebuilt by whoever builds next.
cp "${AIE_BIN:-$CARGO_TARGET_DIR/release/aie}" "$W/aie"
AIE="$W/aie"
export AIE_NOW=2026-11-23T03:00:00Z
"$AIE" init "$W/vault" >/dev/null
printf 'timezone: UTC\nbackup:\n  dir: %s\n' "$W/aie-store" > "$W/vault/aie.yaml"
# 10,000 Markdown-like files, ~9 KB each (text that compresses as notes do, plus noise).
python3 - "$W/vault" <<'PY'
import os, random, sys
root = sys.argv[1]; rnd = random.Random(7)
words = "invoice client meeting payment project update review draft send schedule the a of to and".split()
for i in range(10000):
    d = os.path.join(root, "Done", f"{i % 100:02d}")
    os.makedirs(d, exist_ok=True)
    text = " ".join(rnd.choice(words) for _ in range(1200)) + "\n" + os.urandom(600).hex() + "\n"
    open(os.path.join(d, f"item{i}.md"), "w").write(text)
PY
echo "tree: $(find "$W/vault" -type f | wc -l) files, $(du -sm "$W/vault" | cut -f1) MB"
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
sync
export RESTIC_PASSWORD=bench RESTIC_REPOSITORY="$W/restic"
restic init >/dev/null
echo "first backup:     aie $(t "$AIE" --vault "$W/vault" backup) s   restic $(t restic backup "$W/vault") s"
export AIE_NOW=2026-11-24T03:00:00Z
echo "unchanged backup: aie $(t "$AIE" --vault "$W/vault" backup) s   restic $(t restic backup "$W/vault") s"
echo "store size:       aie $(du -sk "$W/aie-store" | cut -f1) KB   restic $(du -sk "$W/restic" | cut -f1) KB   (du; apparent: aie $(du -sk --apparent-size "$W/aie-store" | cut -f1) KB, restic $(du -sk --apparent-size "$W/restic" | cut -f1) KB)"
ID=$("$AIE" --vault "$W/vault" backup --list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
echo "restore:          aie $(t "$AIE" --vault "$W/vault" restore "$ID" --to "$W/r-aie") s   restic $(t restic restore latest --target "$W/r-restic") s"
diff -r "$W/vault/Done" "$W/r-aie/Done" >/dev/null && echo "aie restore: identical Done/ tree"
echo "aie store: $(find "$W/aie-store/packs" -name "*.pack" | wc -l) packs, $(find "$W/aie-store/objects" -type f | wc -l) loose objects"
