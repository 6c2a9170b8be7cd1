# Shared helpers for MuQ Live's scripts (sourced, not run).

# Debian/Ubuntu packages needed to build the plugin (VST3 + CLAP + egui editor) and the
# standalone app (ALSA/JACK). X11/XCB/GL are loaded at run time, their -dev packages are for
# crates whose build scripts look for them.
BUILD_PACKAGES=(gcc libc6-dev pkg-config libx11-dev libx11-xcb-dev libxcb1-dev libgl-dev
    libasound2-dev libjack-jackd2-dev)
# Extra packages for the test suite: headless X server + software GL, screenshots, Python venv.
TEST_PACKAGES=(xvfb libgl1-mesa-dri x11-apps imagemagick xdotool python3-venv)

# ensure_apt_packages PKG...: installs the missing ones with apt-get when root; otherwise prints
# the exact sudo command and exits 1. On systems without dpkg it only warns.
ensure_apt_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        echo "note: not a Debian/Ubuntu system; make sure the equivalents of these are installed: $*" >&2
        return 0
    fi
    local missing=()
    local pkg
    for pkg in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        return 0
    fi
    if [ "$(id -u)" -eq 0 ]; then
        echo "== installing system packages: ${missing[*]}"
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
    else
        echo "Missing system packages: ${missing[*]}" >&2
        echo "Install them with:" >&2
        echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
}

# ensure_cargo: stops with a hint when the Rust toolchain is missing.
ensure_cargo() {
    if ! command -v cargo >/dev/null 2>&1; then
        echo "cargo not found: install Rust with https://rustup.rs (stable >= 1.88), then re-run." >&2
        exit 1
    fi
}
