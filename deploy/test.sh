#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test with ctest. Exit code: ctest's.
# Environment: ZCFS_BUILD_DIR (default: build-test), ZCFS_TEST_JOBS (default: 2).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${ZCFS_BUILD_DIR:-$ROOT/build-test}

"$ROOT/deploy/install-deps.sh"
# The FUSE tests need the fuse module and /dev/fuse; say so plainly instead of failing obscurely.
if [[ ! -e /dev/fuse ]]; then
  modprobe fuse 2>/dev/null || echo "zcfs: warning: /dev/fuse is missing; FUSE tests will fail" >&2
fi
"$ROOT/deploy/build.sh" "$BUILD_DIR" RelWithDebInfo
cd "$BUILD_DIR"
ctest --output-on-failure -j "${ZCFS_TEST_JOBS:-2}" --timeout 900
