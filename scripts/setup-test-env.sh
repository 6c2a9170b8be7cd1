#!/usr/bin/env bash
# Prepares everything the test suite needs besides Rust: system packages (apt-get when root,
# else the exact sudo line) and the Python venv `.venv` with pedalboard (the VST3 test host).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=common.sh
source scripts/common.sh

ensure_apt_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"

REQUIREMENTS=tests/python/requirements.txt
STAMP=.venv/.requirements-installed
if [ ! -x .venv/bin/python ]; then
    echo "== creating .venv"
    python3 -m venv .venv
fi
if [ ! -f "$STAMP" ] || ! cmp -s "$REQUIREMENTS" "$STAMP"; then
    echo "== installing Python test requirements into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
    cp "$REQUIREMENTS" "$STAMP"
fi
.venv/bin/python -c "import pedalboard, numpy; print('pedalboard', pedalboard.__version__, '/ numpy', numpy.__version__)"
