#!/usr/bin/env bash
# Social media and WhatsApp figures (issue 11): aie's own cost per post against a loopback
# fake that answers at once (target under 5 ms), and `aie ingest whatsapp` from process
# start to its answer (target under 20 ms, so a socket-activated unit keeps up with Meta's
# retry timeouts). Prints one BENCH line per figure.
#
#   benches/social.sh            (release build)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --test cli -- --ignored --nocapture --test-threads 1 bench_social_cost_per_post bench_ingest_whatsapp 2>&1 \
    | grep -o 'BENCH.*' || { echo "benches/social.sh: the benchmarks failed; run with cargo test --release --test cli -- --ignored bench_social bench_ingest" >&2; exit 1; }
