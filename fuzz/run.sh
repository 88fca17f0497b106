#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS each, one after the other:
#   fuzz/run.sh SECONDS [TARGET...]
# Installs cargo-fuzz from crates.io when it is missing (the nightly toolchain must be
# installed). Each target starts from a seed corpus of real shapes: fuzz/corpus/<target>/
# is filled from tests/fixtures/ (and fuzz/seeds/<target>/) on every run, and keeps what
# the fuzzer found between runs. Each target's libFuzzer output goes to
# fuzz/logs/<target>.log and its figures (execs/s, corpus size, crashes) to
# fuzz/logs/summary.tsv. A crasher lands in fuzz/artifacts/<target>/: copy it to
# tests/fixtures/fuzz/<target>/ so the stable test suite replays it.
# Environment: FUZZ_NICE (default 19), FUZZ_RSS_MB (default 2048), FUZZ_NO_BUILD=1 (run the
# binaries built before, as they are).
set -euo pipefail

secs="${1:?usage: fuzz/run.sh SECONDS [TARGET...]}"
shift
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
fx="$repo/tests/fixtures"
all=(item mime gmail llm settings jobs whatsapp odoo dashboard mcp)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all[@]}"); fi

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz from crates.io" >&2
  cargo install cargo-fuzz --locked
fi

# Seeds: the real shapes each parser reads.
seed() { # target, files...
  local t="$1"
  shift
  mkdir -p "$here/corpus/$t"
  local f
  for f in "$@"; do
    [ -f "$f" ] && cp -f "$f" "$here/corpus/$t/seed-$(basename "$f")"
  done
  if [ -d "$here/seeds/$t" ]; then
    cp -f "$here/seeds/$t"/* "$here/corpus/$t/" 2>/dev/null || true
  fi
}
seed_all() {
  local d
  seed item "$fx"/items/*.md "$fx"/injection/*.md
  seed mime "$fx"/injection/*.eml "$repo"/vault_template/demo/*.eml
  for d in "$fx"/gmail/message_*.json; do # the raw messages inside the Gmail fixtures
    jq -r '.raw // empty' "$d" | tr '_-' '/+' | base64 -d >"$here/corpus/mime/seed-$(basename "$d").eml" 2>/dev/null || true
  done
  seed gmail "$fx"/gmail/*.json
  seed llm
  for d in "$fx"/anthropic/response_*.json; do
    { printf '\000'; cat "$d"; } >"$here/corpus/llm/seed-a-$(basename "$d")"
  done
  for d in "$fx"/openai/response_*.json; do
    { printf '\001'; cat "$d"; } >"$here/corpus/llm/seed-o-$(basename "$d")"
  done
  # Every attack answer of the injection suite, as an Anthropic tool call.
  jq -c '.[] | {stop_reason: "tool_use", usage: {input_tokens: 1, output_tokens: 1},
      content: [{type: "tool_use", name: "submit_plan", input: .answer}]}' \
    "$fx"/injection/answers.json | nl -ba -w2 -s' ' | while read -r n line; do
    { printf '\000'; printf '%s' "$line"; } >"$here/corpus/llm/seed-inj-$n.json"
  done
  seed settings "$repo"/vault_template/aie.yaml
  seed jobs "$repo"/jobs/*.yaml
  seed dashboard "$repo"/vault_template/Dashboard.md
  seed odoo
  for d in "$fx"/odoo17/*.json; do
    jq -c '.[].response' "$d" | nl -ba -w2 -s' ' | while read -r n line; do
      printf '%s' "$line" >"$here/corpus/odoo/seed-$(basename "$d" .json)-$n.json"
    done
  done
  seed whatsapp
  for d in "$fx"/whatsapp/webhook_*.json; do
    local body sig
    body="$(cat "$d")"
    sig="$(printf '%s' "$body" | openssl dgst -sha256 -hmac fuzz-app-secret -r | cut -d' ' -f1)"
    printf 'POST /webhooks/whatsapp HTTP/1.1\r\nHost: hooks.example\r\nContent-Type: application/json\r\nX-Hub-Signature-256: sha256=%s\r\nContent-Length: %d\r\n\r\n%s' \
      "$sig" "${#body}" "$body" >"$here/corpus/whatsapp/seed-$(basename "$d").http"
  done
}
seed_all
# Every target has a corpus folder (libFuzzer refuses a missing one) with its own seeds.
for t in "${all[@]}"; do seed "$t"; done

mkdir -p "$here/logs"
[ -f "$here/logs/summary.tsv" ] ||
  printf 'finished\ttarget\tseconds\texecs\texecs_per_s\tcorpus_files\tcrashes\n' >"$here/logs/summary.tsv"
cd "$here"
# Build once, then run the binaries: a change to the sources while targets run does not
# rebuild between targets.
[ -n "${FUZZ_NO_BUILD:-}" ] || cargo +nightly fuzz build >&2
bin="$here/target/x86_64-unknown-linux-gnu/release"
for t in "${targets[@]}"; do
  log="$here/logs/$t.log"
  echo "fuzzing $t for ${secs}s (log: $log)" >&2
  mkdir -p "$here/artifacts/$t"
  start=$(date +%s)
  set +e
  nice -n "${FUZZ_NICE:-19}" "$bin/$t" "$here/corpus/$t" -artifact_prefix="$here/artifacts/$t/" \
    -max_total_time="$secs" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" -timeout=10 \
    -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  took=$(($(date +%s) - start))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  rate=$(grep -o 'exec/s: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
  files=$(find "$here/corpus/$t" -type f | wc -l)
  crashes=$(find "$here/artifacts/$t" -type f 2>/dev/null | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$took" "${execs:-?}" \
    "${rate:-?}" "$files" "$crashes" >>"$here/logs/summary.tsv"
  [ "$rc" -eq 0 ] || echo "$t stopped with exit $rc: see $log and fuzz/artifacts/$t/" >&2
done
column -t "$here/logs/summary.tsv" >&2 || cat "$here/logs/summary.tsv" >&2
