#!/usr/bin/env bash
# Write throughput and latency through a chain of three, by 1 and by 4 writers (32 x 4 MiB each, 1 MiB
# writes): the A/B of docs/benchmarks.md "chain replication".
#   deploy/bench/replication_latency.sh [BUILD_DIR]   (default: build)
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=${1:-$ROOT/build}/bin
S=${ZCFS_BENCH_STATE:-/var/tmp/zcfs-bench-latency}
pkill -9 -f "$S" 2>/dev/null; rm -rf "$S"; mkdir -p "$S"
$B/zcfs-meta --listen=127.0.0.1:8191 --data-dir=$S/meta > $S/meta.log 2>&1 &
sleep 0.3
for i in 0 1 2; do $B/zcfs-storage --meta=127.0.0.1:8191 --data-dir=$S/s$i --heartbeat=300 > $S/s$i.log 2>&1 & done
sleep 3
for t in 1 4; do $B/zcfs-bench write --meta=127.0.0.1:8191 --dir=/w$t --files=32 --size=4MiB --threads=$t | tail -1; done
pkill -9 -f "$S"
