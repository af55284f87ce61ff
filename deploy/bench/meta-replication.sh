#!/usr/bin/env bash
# The metadata benchmark with one meta server against three replicated ones (etcd, a primary and two
# standbys: every mutation durable on all three before it is acknowledged), in one run, on this
# machine, each with one storage server (for layouts). Prints both result tables and a summary.
#
#   deploy/bench/meta-replication.sh [BUILD_DIR] [-- extra zcfs-bench meta flags]
#
# Default bench flags: --threads=16 --files=4000 --repeat=4 (docs/benchmarks.md). ZCFS_META_FLAGS adds
# flags to every zcfs-meta (e.g. --threads=2); ZCFS_BENCH_KEEP=1 keeps the state and logs. State lives in a
# temporary directory on the repository's disk (not tmpfs: O_DIRECT), removed at the end; every
# process started is stopped, also on failure or Ctrl-C.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${1:-$ROOT/build}
[[ ${1:-} && $1 != -- ]] && shift
[[ ${1:-} == -- ]] && shift
BENCH_FLAGS=("$@")
((${#BENCH_FLAGS[@]})) || BENCH_FLAGS=(--threads=16 --files=4000 --repeat=4)
BIN=$BUILD_DIR/bin
for b in zcfs-meta zcfs-storage zcfs-bench zcfs; do [[ -x $BIN/$b ]] || { echo "no $BIN/$b: build first" >&2; exit 1; }; done
command -v etcd >/dev/null || { echo "etcd is missing: deploy/install-deps.sh installs etcd-server" >&2; exit 1; }

WORK=$(mktemp -d "$ROOT/.bench-meta.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [[ -n ${ZCFS_BENCH_KEEP:-} ]]; then echo "state and logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# A free TCP port of the kernel's choosing.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

spawn() {  # name, command...
  local name=$1; shift
  "$@" </dev/null >>"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
}

wait_for() {  # description, test command...
  local what=$1; shift
  for _ in $(seq 1 300); do "$@" && return 0; sleep 0.1; done
  echo "timed out waiting for $what; logs in $WORK" >&2
  tail -n 20 "$WORK"/*.log >&2
  exit 1
}

storage_for() {  # name, meta list: started, and its target serving in a chain
  spawn "$1" "$BIN/zcfs-storage" --meta="$2" --listen=127.0.0.1:0 --data-dir="$WORK/$1" --ready-file="$WORK/$1.ready"
  wait_for "$1" test -s "$WORK/$1.ready"
  wait_for "a serving chain" bash -c "'$BIN/zcfs' --meta='$2' cluster status 2>/dev/null | grep -q :serving"
}

run_bench() {  # label, meta list
  echo "== $1 (--meta=$2)"
  "$BIN/zcfs-bench" meta --meta="$2" "${BENCH_FLAGS[@]}" | tee "$WORK/$1.out"
}

# One meta server.
read -r -a META_FLAGS <<<"${ZCFS_META_FLAGS:-}"
spawn single "$BIN/zcfs-meta" "${META_FLAGS[@]}" --listen=127.0.0.1:0 --data-dir="$WORK/single" --ready-file="$WORK/single.ready"
wait_for "the single meta server" test -s "$WORK/single.ready"
SINGLE=$(cat "$WORK/single.ready")
storage_for single-storage "$SINGLE"
run_bench one-meta-server "$SINGLE"

# etcd and three meta servers.
ETCD_PORT=$(free_port) PEER_PORT=$(free_port)
spawn etcd etcd --name=b --data-dir="$WORK/etcd" --listen-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" --listen-peer-urls="http://127.0.0.1:$PEER_PORT" \
  --initial-advertise-peer-urls="http://127.0.0.1:$PEER_PORT" --initial-cluster="b=http://127.0.0.1:$PEER_PORT"
wait_for etcd bash -c "(: </dev/tcp/127.0.0.1/$ETCD_PORT) 2>/dev/null"
GROUP=""
for i in 0 1 2; do
  port=$(free_port)
  GROUP+="${GROUP:+,}127.0.0.1:$port"
  spawn "meta$i" "$BIN/zcfs-meta" "${META_FLAGS[@]}" --etcd="http://127.0.0.1:$ETCD_PORT" --listen="127.0.0.1:$port" \
    --data-dir="$WORK/meta$i" --ready-file="$WORK/meta$i.ready"
  if ((i == 0)); then wait_for "the first meta server to lead" test -s "$WORK/meta0.ready"; fi
done
wait_for "both standbys to follow" bash -c "grep -q 'following the primary' '$WORK/meta1.log' && grep -q 'following the primary' '$WORK/meta2.log'"
storage_for group-storage "$GROUP"
# Every mutation from here on waits for both standbys (the primary logs each joining the in-sync set).
wait_for "both standbys to be in sync" bash -c "(( \$(grep -c ': in sync' '$WORK/meta0.log') >= 2 ))"
run_bench three-meta-servers "$GROUP"

rate() { awk -v op="$2" '$1 == op { for (i = 2; i <= NF; ++i) if ($i == "ops/s") print $(i - 1) }' "$WORK/$1.out"; }
echo
echo "== summary (ops/s)"
printf '%-12s %16s %20s\n' phase "one meta server" "three (replicated)"
for op in create stat stat-path lookup; do
  printf '%-12s %16s %20s\n' "$op" "$(rate one-meta-server "$op")" "$(rate three-meta-servers "$op")"
done
