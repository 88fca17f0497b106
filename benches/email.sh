#!/usr/bin/env bash
# Email benchmarks (issue 3): poll-gmail importing 1,000 new messages from the loopback
# Gmail fake, and execute-approved sending 200 approved emails over one connection to
# aiosmtpd. Prints one BENCH line per figure; targets: under 10 s and under 5 s on 2 cores.
#
#   benches/email.sh            (release build; runs tests/setup.sh for aiosmtpd first)
set -euo pipefail
cd "$(dirname "$0")/.."
py_line=$(bash tests/setup.sh | tail -n 1)
export "${py_line?}"
cargo test --release --test cli -- --ignored --nocapture --test-threads 1 bench_ 2>&1 \
    | grep -o 'BENCH.*' || { echo "benches/email.sh: the benchmarks failed; run with cargo test --release --test cli -- --ignored bench_" >&2; exit 1; }
