#!/usr/bin/env bash
# Build coxswain/demo:latest from local files (no registry needed): Debian's
# static /bin/busybox plus images/demo/ in a FROM scratch image. The local
# cluster builds the same context from Python (localcluster/image.py).
#   build-demo-image.sh [DOCKER_HOST]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TAG=${COX_DEMO_IMAGE:-coxswain/demo:latest}
if [ -n "${1:-}" ]; then export DOCKER_HOST=$1; fi
# FROM scratch has no libc: the binary must be the static one (busybox-static).
if [ ! -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
  echo "error: /bin/busybox is missing or dynamically linked; install busybox-static" >&2
  exit 1
fi
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp "$ROOT/images/demo/Dockerfile" "$ROOT/images/demo/start.sh" "$ctx/"
cp /bin/busybox "$ctx/busybox"
echo "==> building $TAG"
docker build --network none -q -t "$TAG" "$ctx"
