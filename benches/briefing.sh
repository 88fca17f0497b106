#!/usr/bin/env bash
# The Monday briefing over a year of Done items (target: under 1 s). Prints the figures.
# Usage: nice -n 10 bash benches/briefing.sh [ITEMS]   (default 5000 items over 52 weeks;
# builds in release in `CARGO_TARGET_DIR`, default ./target, or measures `AIE_BIN` when set)
set -euo pipefail
n=${1:-5000}
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
[ -n "${AIE_BIN:-}" ] || cargo build --release -q || exit 1
aie="${AIE_BIN:-$CARGO_TARGET_DIR/release/aie}"
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
"$aie" init "$dir/v" >/dev/null
for i in $(seq 1 "$n"); do
  day=$(( (i * 364 / n) ))
  d=$(date -u -d "2025-11-24 + $day days" +%Y-%m-%d)
  printf -- '---\nid: b%05d\nkind: email\ndomain: email\nsource: inbox:b%d.eml\ncreated: %sT08:00:00Z\nstatus: done\npriority: normal\ncompleted: %sT20:00:00Z\n---\nbody\n' \
    "$i" "$i" "$d" "$d" > "$dir/v/Done/b$(printf %05d "$i").md"
done
export AIE_NOW=2026-11-23T09:00:00Z
s=$(date +%s.%N); "$aie" --vault "$dir/v" ceo-briefing >/dev/null; e=$(date +%s.%N)
echo "briefing over $n Done items: $(echo "$e - $s" | bc) s (first run, writes the file)"
s=$(date +%s.%N); "$aie" --vault "$dir/v" ceo-briefing >/dev/null; e=$(date +%s.%N)
echo "briefing again, unchanged: $(echo "$e - $s" | bc) s"
