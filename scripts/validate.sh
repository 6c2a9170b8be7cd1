#!/usr/bin/env bash
# Runs the third-party validators on the release bundles and prints their counts:
#   clap-validator (free-audio/clap-validator) `validate` and `fuzz`, Steinberg's VST3
#   `validator -e` (steinbergmedia/vst3sdk), and Carla's plugin scanner
#   `carla-discovery-native` (falkTX/Carla) on both bundles.
# They are not on the registries CI reaches, so they are built here from source folders you
# fetched yourself (their code is never copied into this repository):
#
#   scripts/validate.sh --clap-validator DIR --clack DIR --vst3sdk DIR --carla DIR [--fuzz-minutes N]
#
#   --clap-validator DIR  a checkout of free-audio/clap-validator
#   --clack DIR           prokopyl/clack at the revision clap-validator's test plugins name
#                         (its git dependency; patched in as a path, no network needed)
#   --vst3sdk DIR         steinbergmedia/vst3sdk with its submodules base, cmake,
#                         pluginterfaces and public.sdk filled in
#   --carla DIR           falkTX/Carla (2.5.x or main); only `make discovery` is built, from a
#                         copy of DIR
#   --fuzz-minutes N      how long clap-validator fuzzes (default 10; 0 skips)
# Builds go to target/validators/. Needs cmake and a C++ compiler for the VST3 validator, make,
# pkg-config and a C++ compiler for Carla's scanner.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=common.sh
source scripts/common.sh
ensure_cargo

CLAP_VALIDATOR="" CLACK="" VST3SDK="" CARLA="" FUZZ_MINUTES=10
while [ $# -gt 0 ]; do
    case "$1" in
        --clap-validator) CLAP_VALIDATOR="$(cd "$2" && pwd)"; shift 2 ;;
        --clack) CLACK="$(cd "$2" && pwd)"; shift 2 ;;
        --vst3sdk) VST3SDK="$(cd "$2" && pwd)"; shift 2 ;;
        --carla) CARLA="$(cd "$2" && pwd)"; shift 2 ;;
        --fuzz-minutes) FUZZ_MINUTES="$2"; shift 2 ;;
        *) echo "unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
    esac
done
OUT="$ROOT/target/validators"
mkdir -p "$OUT"
cargo xtask bundle muq-live --release

if [ -n "$CLAP_VALIDATOR" ]; then
    patch_args=()
    if [ -n "$CLACK" ]; then
        for crate in clack-plugin:plugin clack-extensions:extensions clack-common:common clack-host:host; do
            patch_args+=(--config "patch.\"https://github.com/prokopyl/clack\".${crate%%:*}.path=\"$CLACK/${crate#*:}\"")
        done
    fi
    (cd "$CLAP_VALIDATOR" && CARGO_TARGET_DIR="$OUT/clap-validator" cargo build --release -p clap-validator "${patch_args[@]}")
    cv="$OUT/clap-validator/release/clap-validator"
    echo "== clap-validator validate"
    "$cv" validate target/bundled/muq-live.clap --hide-output | tail -n 1
    if [ "$FUZZ_MINUTES" != "0" ]; then
        echo "== clap-validator fuzz (${FUZZ_MINUTES} min)"
        "$cv" fuzz target/bundled/muq-live.clap --duration "${FUZZ_MINUTES}m" | tail -n 3
    fi
else
    echo "== clap-validator: skipped (no --clap-validator DIR)"
fi

if [ -n "$VST3SDK" ]; then
    cmake -S "$VST3SDK" -B "$OUT/vst3sdk" -DCMAKE_BUILD_TYPE=Release \
        -DSMTG_ENABLE_VST3_PLUGIN_EXAMPLES=OFF -DSMTG_ENABLE_VST3_HOSTING_EXAMPLES=OFF \
        -DSMTG_ENABLE_VSTGUI_SUPPORT=OFF -DSMTG_RUN_VST_VALIDATOR=OFF >/dev/null
    cmake --build "$OUT/vst3sdk" --target validator -j "$(nproc)" >/dev/null
    echo "== Steinberg VST3 validator -e"
    "$OUT/vst3sdk/bin/Release/validator" -e target/bundled/muq-live.vst3 > "$OUT/vst3-validator.log" 2>&1 || true
    grep -E "^Result:" "$OUT/vst3-validator.log" | tail -n 1
    grep -E "^ERROR|No units|ProcessContextRequirements|64bit Audio Processing not supported" \
        "$OUT/vst3-validator.log" | sort | uniq -c
else
    echo "== Steinberg VST3 validator: skipped (no --vst3sdk DIR)"
fi

if [ -n "$CARLA" ]; then
    rm -rf "$OUT/carla"
    cp -r "$CARLA" "$OUT/carla"
    make -C "$OUT/carla" discovery -j "$(nproc)" >"$OUT/carla-build.log" 2>&1
    for bundle in target/bundled/muq-live.vst3 target/bundled/muq-live.clap; do
        format="${bundle##*.}"
        echo "== carla-discovery-native $format"
        # No CARLA_DISCOVERY_NO_PROCESSING_CHECKS: the scanner activates and processes too.
        "$OUT/carla/bin/carla-discovery-native" "$format" "$bundle" 2>&1 \
            | grep -E "carla-discovery::(name|audio\.ins|audio\.outs|parameters\.ins)::|assertion|error" \
            || echo "not listed"
    done
else
    echo "== Carla's scanner: skipped (no --carla DIR)"
fi
