#!/usr/bin/env bash
# Install what a coxswain machine needs: the Debian packages and the coxswain
# package in a virtualenv. Used by the Vagrant VMs; safe to run again.
#   install.sh [SRC_DIR] [VENV_DIR]
# SRC_DIR  the coxswain source tree (default: the tree this script is in)
# VENV_DIR where the virtualenv goes (default: /opt/coxswain/venv)
set -euo pipefail
SRC=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
VENV=${2:-/opt/coxswain/venv}
DEBS=(python3 python3-venv python3-pip docker.io nftables iproute2 busybox-static conntrack
      util-linux procps ca-certificates curl)

if [ "$(id -u)" != 0 ]; then
  echo "error: install.sh needs root" >&2
  exit 2
fi

missing=()
for p in "${DEBS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating virtualenv $VENV"
  python3 -m venv "$VENV"
fi
echo "==> installing coxswain from $SRC into $VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check "$SRC"
ln -sf "$VENV/bin/cox" /usr/local/bin/cox
