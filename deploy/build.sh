#!/usr/bin/env bash
# Configures and builds zcfs with CMake + Ninja.
# Usage: deploy/build.sh [BUILD_DIR] [BUILD_TYPE] [extra cmake arguments...]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${1:-$ROOT/build}
BUILD_TYPE=${2:-Release}
shift $(( $# < 2 ? $# : 2 ))
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" "$@" >/dev/null
ninja -C "$BUILD_DIR"
