#!/usr/bin/env bash
# Odoo figures (issue 10): aie's own cost per Odoo action against the loopback Odoo fake,
# which answers at once (a pass of 40 approved actions of one kind less a pass of 40 notes,
# over 40: HTTP included; target under 5 ms), and the RPC calls per action kind.
#
#   benches/odoo.sh            (release build)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --test cli -- --ignored --nocapture --test-threads 1 bench_odoo 2>&1 \
    | grep -o 'BENCH.*' || { echo "benches/odoo.sh: the benchmark failed; run cargo test --release --test cli -- --ignored bench_odoo" >&2; exit 1; }
