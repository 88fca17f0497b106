#!/usr/bin/env bash
# Figures of issue 12: sync-vault of a vault with 10,000 items when nothing changed and with
# 100 new items, on a local bare remote; claims per second with two agents.
#   benches/sync.sh            (builds the release binary first, in $CARGO_TARGET_DIR if set)
#   AIE_BIN=path benches/sync.sh   (measures that binary, no build)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${AIE_BIN:-}" ]; then
  aie=$AIE_BIN
else
  cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
  aie=${CARGO_TARGET_DIR:-$repo/target}/release/aie
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export HOME=$tmp AIE_NOW=2026-11-23T09:00:00Z GIT_AUTHOR_NAME=b GIT_AUTHOR_EMAIL=b@x GIT_COMMITTER_NAME=b GIT_COMMITTER_EMAIL=b@x
ms() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
"$aie" init "$tmp/local" >/dev/null
git init -q --bare -b main "$tmp/remote.git"
cd "$tmp/local" && git init -q -b main && git remote add origin "$tmp/remote.git"
for i in $(seq 1 10000); do
  printf -- '---\nid: n%05d\nkind: file\ndomain: general\nsource: inbox:n%05d\ncreated: 2026-11-23T08:00:00Z\nstatus: done\npriority: normal\n---\nnote\n' "$i" "$i" > "Done/n$(printf %05d "$i").md"
done
git add -A && git commit -qm init && git push -q origin main
export AIE_VAULT=$tmp/local
"$aie" sync-vault >/dev/null
echo "sync, 10000 items, nothing changed: $(ms "$aie" sync-vault) ms"
for i in $(seq 1 100); do printf 'new %s\n' "$i" > "Inbox/new$i.txt"; done
"$aie" process-inbox >/dev/null
echo "sync, 10000 items + 100 new: $(ms "$aie" sync-vault) ms"
# Claims: two agents plan the same 200 items at once.
git clone -q "$tmp/remote.git" "$tmp/cloud"
for i in $(seq 1 200); do printf 'claim %s\n' "$i" > "Inbox/c$i.txt"; done
"$aie" process-inbox >/dev/null && "$aie" sync-vault >/dev/null
AIE_VAULT=$tmp/cloud AIE_AGENT=cloud AIE_MODE=draft_only "$aie" sync-vault >/dev/null
s=$(date +%s%N)
"$aie" plan >/dev/null & a=$!
AIE_VAULT=$tmp/cloud AIE_AGENT=cloud AIE_MODE=draft_only "$aie" plan >/dev/null & b=$!
wait $a $b
e=$(date +%s%N)
echo "claims: 200 items, two agents: $(( 200 * 1000000000 / (e - s) )) claims/s (plan included)"
