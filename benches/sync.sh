#!/usr/bin/env bash
# Figures of issue 12: sync-vault of a vault with 10,000 items on a local bare remote, when
# nothing changed, when only this agent's heartbeat changed (every real sync: its time
# moves), and with 100 new items; the git processes one sync starts; claims per second
# with two agents. Wall times are medians of several runs; CPU is user + system time of
# aie and every process it waited for (it moves less than wall time on a shared machine).
#   benches/sync.sh            (builds the release binary first, in $CARGO_TARGET_DIR if set)
#   AIE_BIN=path benches/sync.sh   (measures that binary, no build)
#   RUNS=n                     (runs per median, default 15)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${AIE_BIN:-}" ]; then
  aie=$AIE_BIN
else
  cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
  aie=${CARGO_TARGET_DIR:-$repo/target}/release/aie
fi
runs=${RUNS:-15}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export HOME=$tmp AIE_NOW=2026-11-23T09:00:00Z GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@x GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@x
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# One timed run of "$@": appends "wall_ms cpu_ms" to $tmp/times.
timed() {
  local s e cpu
  s=$(date +%s%N)
  cpu=$( { TIMEFORMAT='%U %S'; time "$@" >/dev/null 2>&1; } 2>&1 | awk '{ printf "%d", ($1 + $2) * 1000 }')
  e=$(date +%s%N)
  echo "$(( (e - s) / 1000000 )) $cpu" >> "$tmp/times"
}
# "wall W ms, cpu C ms" of the runs in $tmp/times, then empties it.
report() {
  echo "wall $(cut -d' ' -f1 "$tmp/times" | median) ms, cpu $(cut -d' ' -f2 "$tmp/times" | median) ms (medians of $(wc -l < "$tmp/times"))"
  : > "$tmp/times"
}
# The git commands one run of "$@" starts itself (a counting `git` first on PATH; what git
# starts in turn, such as upload-pack, is not counted).
count_git() {
  mkdir -p "$tmp/shim"
  printf '#!/bin/sh\necho >> "%s"\nexec "%s" "$@"\n' "$tmp/shim/n" "$(command -v git)" > "$tmp/shim/git"
  chmod +x "$tmp/shim/git"; : > "$tmp/shim/n"
  PATH="$tmp/shim:$PATH" "$@" >/dev/null 2>&1 || true
  wc -l < "$tmp/shim/n" | tr -d ' '
}
"$aie" init "$tmp/local" >/dev/null
git init -q --bare -b main "$tmp/remote.git"
cd "$tmp/local" && git init -q -b main && git remote add origin "$tmp/remote.git"
for i in $(seq 1 10000); do
  printf -- '---\nid: n%05d\nkind: file\ndomain: general\nsource: inbox:n%05d\ncreated: 2026-11-23T08:00:00Z\nstatus: done\npriority: normal\n---\nnote\n' "$i" "$i" > "Done/n$(printf %05d "$i").md"
done
git add -A && git commit -qm init && git push -q origin main
export AIE_VAULT=$tmp/local
"$aie" sync-vault >/dev/null && "$aie" sync-vault >/dev/null
: > "$tmp/times"
for _ in $(seq 1 "$runs"); do timed "$aie" sync-vault; done
echo "sync, 10000 items, nothing changed: $(report); git commands: $(count_git "$aie" sync-vault)"
minute=0
next_minute() { minute=$((minute + 1)); export AIE_NOW=$(printf '2026-11-23T10:%02d:00Z' $((minute % 60))); }
for _ in $(seq 1 "$runs"); do next_minute; timed "$aie" sync-vault; done
next_minute
echo "sync, 10000 items, only the heartbeat changed: $(report); git commands: $(count_git "$aie" sync-vault)"
for r in $(seq 1 5); do
  for i in $(seq 1 100); do printf 'new %s %s\n' "$r" "$i" > "Inbox/new$r-$i.txt"; done
  touch -d '1 hour ago' Inbox/*.txt  # settled drops (inbox.settle_seconds)
  "$aie" process-inbox >/dev/null
  [ "$(ls Needs_Action/general | wc -l)" -ge $((r * 100)) ] || { echo "process-inbox took in no new items" >&2; exit 1; }
  next_minute; timed "$aie" sync-vault
done
echo "sync, 10000 items + 100 new: $(report)"
export AIE_NOW=2026-11-23T09:00:00Z
# Claims: two agents plan the same items at once (the 200 new ones and the 500 above).
git clone -q "$tmp/remote.git" "$tmp/cloud"
for i in $(seq 1 200); do printf 'claim %s\n' "$i" > "Inbox/c$i.txt"; done
touch -d '1 hour ago' Inbox/*.txt
"$aie" process-inbox >/dev/null && "$aie" sync-vault >/dev/null
AIE_VAULT=$tmp/cloud AIE_AGENT=cloud AIE_MODE=draft_only "$aie" sync-vault >/dev/null
n=$(ls Needs_Action/general | wc -l)
s=$(date +%s%N)
"$aie" plan >/dev/null & a=$!
AIE_VAULT=$tmp/cloud AIE_AGENT=cloud AIE_MODE=draft_only "$aie" plan >/dev/null & b=$!
wait $a $b
e=$(date +%s%N)
echo "claims: $n items, two agents: $(( n * 1000000000 / (e - s) )) claims/s (plan included)"
