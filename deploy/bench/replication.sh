#!/usr/bin/env bash
# Replication benchmarks on one machine, each comparison in one run: write throughput with replication
# 1, 2 and 3 (three storage servers each time), read throughput with all servers up and with one
# killed, resync speed of a wiped server, and the read latency across a kill.
#
#   deploy/bench/replication.sh [BUILD_DIR]     (default: build; needs zcfs-meta, zcfs-storage, zcfs-bench)
#
# Environment: ZCFS_BENCH_STATE (scratch, default /var/tmp/zcfs-bench-replication; not tmpfs),
# FILES (default 32) x SIZE (default 4MiB) for the dataset, READ_SECONDS (default 8) per read run.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${1:-$ROOT/build}/bin
STATE=${ZCFS_BENCH_STATE:-/var/tmp/zcfs-bench-replication}
FILES=${FILES:-32}
SIZE=${SIZE:-4MiB}
SECONDS_PER_RUN=${READ_SECONDS:-8}
PORT=8190
META=127.0.0.1:$PORT
PIDS=()

stop_all() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  PIDS=()
  sleep 0.5
}
trap stop_all EXIT

# Starts a meta server with replication $1 and three storage servers (node timeout 3 s).
start_cluster() {
  stop_all
  rm -rf "$STATE"
  mkdir -p "$STATE"
  "$BIN/zcfs-meta" --listen=$META --data-dir="$STATE/meta" --meta.replication="$1" --meta.node_timeout=3000 \
    >"$STATE/meta.log" 2>&1 &
  PIDS+=($!)
  sleep 0.3
  for i in 0 1 2; do
    "$BIN/zcfs-storage" --meta=$META --data-dir="$STATE/s$i" --heartbeat=300 --ready-file="$STATE/s$i.ready" \
      >"$STATE/s$i.log" 2>&1 &
    PIDS+=($!)
  done
  for i in 0 1 2; do
    for _ in $(seq 100); do [[ -s $STATE/s$i.ready ]] && break; sleep 0.1; done
  done
  wait_all_serving
}

wait_all_serving() {
  for _ in $(seq 300); do
    if ! "$BIN/zcfs" --meta=$META cluster status | grep -q "SYNCING\|OFFLINE"; then return 0; fi
    sleep 0.1
  done
  echo "chains did not settle" >&2
  return 1
}

# The MiB/s column of a zcfs-bench table.
mibs() { awk '/MiB\/s/ {getline; print $2}'; }

echo "== write throughput by replication factor (3 storage servers, $FILES x $SIZE, 4 threads, 1 MiB writes)"
for r in 1 2 3; do
  start_cluster "$r"
  out=$("$BIN/zcfs-bench" write --meta=$META --dir=/w --files="$FILES" --size="$SIZE" --threads=4 --block=1MiB)
  echo "replication $r: $(echo "$out" | mibs) MiB/s"
done

echo "== read throughput, all up vs one storage server killed (replication 3, 4 threads, 1 MiB reads)"
start_cluster 3
"$BIN/zcfs-bench" write --meta=$META --dir=/r --files="$FILES" --size="$SIZE" --threads=4 >/dev/null
up=$("$BIN/zcfs-bench" read --meta=$META --dir=/r --threads=4 --block=1MiB --seconds="$SECONDS_PER_RUN" | mibs)
kill -9 "${PIDS[2]}"
sleep 4  # past the node timeout: the chain serves from the two left
down=$("$BIN/zcfs-bench" read --meta=$META --dir=/r --threads=4 --block=1MiB --seconds="$SECONDS_PER_RUN" | mibs)
echo "all up: $up MiB/s; one down: $down MiB/s"

echo "== read latency across a kill (replication 3, 4 threads, 1 MiB reads, a server killed 2 s in)"
start_cluster 3
"$BIN/zcfs-bench" write --meta=$META --dir=/r --files="$FILES" --size="$SIZE" --threads=4 >/dev/null
( sleep 2; kill -9 "${PIDS[1]}" ) &
killer=$!
"$BIN/zcfs-bench" read --meta=$META --dir=/r --threads=4 --block=1MiB --seconds="$SECONDS_PER_RUN" --verify | tail -3
wait "$killer"

echo "== resync of a wiped storage server (replication 3, $FILES x $SIZE)"
start_cluster 3
"$BIN/zcfs-bench" write --meta=$META --dir=/s --files="$FILES" --size="$SIZE" --threads=4 >/dev/null
kill -9 "${PIDS[3]}"
rm -rf "$STATE/s2/target0"
rm -f "$STATE/s2.ready"
"$BIN/zcfs-storage" --meta=$META --data-dir="$STATE/s2" --heartbeat=300 --ready-file="$STATE/s2.ready" \
  >>"$STATE/s2.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [[ -s $STATE/s2.ready ]] && break; sleep 0.1; done
sleep 0.5  # its registration (a new target uuid) has made it SYNCING
wait_all_serving
grep -h "resync of target .* done: [1-9]" "$STATE"/s*.log | tail -1 | sed "s/.*resync/resync/"
