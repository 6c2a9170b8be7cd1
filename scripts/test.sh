#!/usr/bin/env bash
# Runs every MuQ Live test: one debug build (`cargo test`: unit tests, engine golden tests,
# worker and allocation tests) and one release build (the plugin bundle), then the host tests
# against the bundle: the CLAP host (clack-host), pedalboard (VST3) and the editor screenshot
# under Xvfb. Every step runs; the script exits 1 at the end if any failed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=common.sh
source scripts/common.sh

ensure_cargo
scripts/setup-test-env.sh

# The suite never reads or writes the user's models and caches: model lookups and the
# text-latent cache go to a private folder removed at the end.
TEST_DATA_DIR="$(mktemp -d)"
trap 'rm -rf "$TEST_DATA_DIR"' EXIT
export MUQ_CACHE_DIR="$TEST_DATA_DIR/muq-cache" HF_HOME="$TEST_DATA_DIR/hf" \
    XDG_CACHE_HOME="$TEST_DATA_DIR/xdg-cache"
unset MUQ_MODEL_DIR HF_HUB_CACHE
# Step 1 runs with a poisoned HOME, which proves the claim above: a file where the home folder
# should be, so reading anything there finds nothing and creating anything there fails. Cargo
# and rustup keep their own folders.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
POISONED_HOME="$TEST_DATA_DIR/poisoned-home"
echo "not a home folder: tests must not use HOME" > "$POISONED_HOME"

start_s=$SECONDS
failed=()
step() { echo; echo "== [$((SECONDS - start_s)) s] $*"; }
# run NAME CMD...: runs a test command; a failure is recorded and the remaining steps still run,
# so one report shows every failing part. The script exits 1 at the end if anything failed.
run() {
    local name="$1"
    shift
    if ! "$@"; then
        failed+=("$name")
        echo "!! FAILED: $name ($*)"
    fi
}

step "1/3 debug build + tests (HOME poisoned): cargo test --locked --no-fail-fast"
run "debug tests" env HOME="$POISONED_HOME" cargo test --locked --no-fail-fast
run "xtask tests" env HOME="$POISONED_HOME" cargo test --locked -p xtask

step "2/3 release bundle: cargo xtask bundle muq-live --release"
if cargo xtask bundle muq-live --release; then
    step "3/3 host tests (CLAP, VST3/pedalboard, editor under Xvfb): cargo test -p muq-live-tests -- --ignored"
    run "host tests" cargo test --locked --no-fail-fast -p muq-live-tests -- --ignored
else
    failed+=("release bundle (host tests skipped)")
fi

if [ ${#failed[@]} -gt 0 ]; then
    step "FAILED: ${failed[*]}"
    exit 1
fi
step "all tests passed"
