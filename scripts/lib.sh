# lib.sh -- shared by scripts/run, scripts/test and scripts/bench: packages and the build.
# Sourced, not run.

REXIAN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REXIAN_BUILD=${REXIAN_BUILD:-$REXIAN_ROOT/build}

# Debian packages the build, the services and the tests need.
REXIAN_PACKAGES=(
  build-essential cmake pkg-config
  libzmq3-dev libmsgpack-dev libhiredis-dev libmicrohttpd-dev libjansson-dev
  libcurl4-openssl-dev libssl-dev libinih-dev
  redis-server python3 python3-msgpack python3-redis python3-zmq curl iproute2
)

rexian_ensure_packages() {
  local missing=() p
  for p in "${REXIAN_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "rexian: installing Debian packages: ${missing[*]}" >&2
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "rexian: run as root or install: ${missing[*]}" >&2; return 1; }
    sudo=sudo
  fi
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

rexian_build() {
  cmake -S "$REXIAN_ROOT" -B "$REXIAN_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$REXIAN_BUILD" -j"$(nproc)"
}
