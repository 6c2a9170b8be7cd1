#!/usr/bin/env bash
# Runs every MuQ Live test: one debug build (`cargo test`: unit tests, engine golden tests,
# worker and allocation tests) and one release build (the plugin bundle), then the host tests
# against the bundle: the CLAP host (clack-host), pedalboard (VST3) and the editor screenshot
# under Xvfb. Exits non-zero on the first failure.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=common.sh
source scripts/common.sh

ensure_cargo
scripts/setup-test-env.sh

start_s=$SECONDS
step() { echo; echo "== [$((SECONDS - start_s)) s] $*"; }

step "1/3 debug build + tests: cargo test --locked --no-fail-fast"
cargo test --locked --no-fail-fast
cargo test --locked -p xtask

step "2/3 release bundle: cargo xtask bundle muq-live --release"
cargo xtask bundle muq-live --release

step "3/3 host tests (CLAP, VST3/pedalboard, editor under Xvfb): cargo test -p muq-live-tests -- --ignored"
cargo test --locked -p muq-live-tests -- --ignored

step "all tests passed"
