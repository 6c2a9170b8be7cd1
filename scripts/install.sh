#!/usr/bin/env bash
# Builds MuQ Live (release) and installs it for the current user:
# target/bundled/muq-live.clap -> ~/.clap, target/bundled/muq-live.vst3 -> ~/.vst3
# (macOS: ~/Library/Audio/Plug-Ins/{CLAP,VST3}), and the `muq` command-line tool -> ~/.local/bin.
# Arguments go to `cargo xtask install` (--clap-dir, --vst3-dir, --bin-dir DIR). Installs missing Debian/Ubuntu build packages
# when run as root; otherwise prints the sudo line to run first.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=common.sh
source scripts/common.sh

ensure_cargo
if [ "$(uname -s)" = "Linux" ]; then
    ensure_apt_packages "${BUILD_PACKAGES[@]}"
fi
echo "== building the release bundles"
cargo xtask bundle muq-live --release
echo "== building the muq command-line tool"
cargo build --release -p muq-cli --bin muq
echo "== installing"
cargo xtask install "$@"
echo "Done. Rescan plugins in your DAW and look for \"MuQ Live\" (Analyzer / Utility)."
echo "The model (about 2.7 GB, CC BY-NC 4.0): press \"Download model…\" in the plugin's panel, or run \`muq fetch\`."
