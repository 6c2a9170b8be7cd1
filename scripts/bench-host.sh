#!/usr/bin/env bash
# Real size in a real host: makes a real-size MuQ-MuLan-large in the released `.bin` format
# (seeded random weights, `muq fixture`), bundles the release plugin and runs it in pedalboard:
# 1 instance at 48 kHz re-activated during the load, then 1, 2 and 4 instances at 44.1 kHz,
# printing peak/steady RSS, cores, threads and the achieved hop of each instance.
#
#   scripts/bench-host.sh [SECONDS_PER_SCENARIO (default 150)] [extra bench_host.py args]
#
# The fixture (2.65 GB) is kept in ${MUQ_BENCH_DIR:-target/real-size}.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=common.sh
source scripts/common.sh
ensure_cargo
scripts/setup-test-env.sh >/dev/null

SECONDS_PER_SCENARIO="${1:-150}"
shift || true
BENCH_DIR="${MUQ_BENCH_DIR:-target/real-size}"
MODEL="$BENCH_DIR/mulan-large-bin"

cargo build --locked --release -p muq-cli --bin muq
if [ ! -f "$MODEL/pytorch_model.bin" ]; then
    target/release/muq fixture --arch mulan-large --random-weights --seed 1 --format bin --out "$MODEL"
fi
cargo xtask bundle muq-live --release
.venv/bin/python tests/python/bench_host.py target/bundled/muq-live.vst3 --model "$MODEL" \
    --seconds "$SECONDS_PER_SCENARIO" "$@"
