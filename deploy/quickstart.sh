#!/usr/bin/env bash
# One-command local zcfs cluster: 1 meta server + 3 storage servers on 127.0.0.1, a FUSE mount,
# a sample dataset, and read throughput through the native API and through the mount.
#
#   deploy/quickstart.sh          install what is missing, build, start, mount, write + read samples
#   deploy/quickstart.sh down     unmount and stop everything this script started (by PID)
#   deploy/quickstart.sh purge    down, then delete the cluster's state directory
#   deploy/quickstart.sh storage N  start storage server N (0..2) again, e.g. after `kill -9` of it: it
#                                   is resynced from its chain before it serves
#
# Every chunk is stored on all three storage servers (one chain of three, replication 3), so the
# cluster survives losing any one of them: see "Surviving a server loss" in the README.
# Environment: ZCFS_MOUNT (default /tmp/zcfs), ZCFS_STATE (default <repo>/.state; must not be tmpfs,
# the storage servers use O_DIRECT), ZCFS_META_PORT (default 8000), ZCFS_BUILD_DIR (default <repo>/build),
# ZCFS_SAMPLES (number of 4 MiB sample files, default 64).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${ZCFS_BUILD_DIR:-$ROOT/build}
STATE=${ZCFS_STATE:-$ROOT/.state}
MOUNT=${ZCFS_MOUNT:-/tmp/zcfs}
META_PORT=${ZCFS_META_PORT:-8000}
META="127.0.0.1:$META_PORT"
SAMPLES=${ZCFS_SAMPLES:-64}
STORAGE_SERVERS=3
BIN="$BUILD_DIR/bin"
PYTHON=/usr/bin/python3  # the interpreter the zcfs module is built for (python/CMakeLists.txt)

log() { printf '\033[1mzcfs:\033[0m %s\n' "$*"; }
die() { printf 'zcfs: error: %s\n' "$*" >&2; exit 1; }

# Waits for a server's ready file; shows its log if it dies or times out.
wait_ready() {
  local name=$1 pid=$2 file=$3
  for _ in $(seq 1 300); do
    [[ -s $file ]] && return 0
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$STATE/logs/$name.log" >&2; die "$name exited during start-up"; }
    sleep 0.1
  done
  tail -n 20 "$STATE/logs/$name.log" >&2
  die "$name did not become ready in 30 s"
}

# Starts a daemon in the background with its log and PID file under $STATE.
start() {
  local name=$1; shift
  rm -f "$STATE/run/$name.ready"
  # setsid: the daemon outlives this script and is not hit by a Ctrl-C in the terminal.
  setsid "$@" --ready-file="$STATE/run/$name.ready" </dev/null >>"$STATE/logs/$name.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$STATE/run/$name.pid"
  wait_ready "$name" "$pid" "$STATE/run/$name.ready"
}

stop_pid_file() {
  local file=$1 pid
  pid=$(cat "$file" 2>/dev/null || true)
  rm -f "$file"
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

start_storage() {
  start "storage$1" "$BIN/zcfs-storage" --listen=127.0.0.1:0 --meta="$META" --data-dir="$STATE/storage$1"
}

# Waits until no chain has a target that is still being resynced (at most 60 s).
wait_chains_serving() {
  for _ in $(seq 1 600); do
    "$BIN/zcfs" --meta="$META" cluster status 2>/dev/null | grep -q SYNCING || return 0
    sleep 0.1
  done
  log "some targets are still resyncing; see: $BIN/zcfs --meta=$META cluster status"
}

# Starts storage server $1 again (after a crash or a kill) on its data directory.
restart_storage() {
  local i=$1 pid
  [[ $i =~ ^[0-9]+$ ]] && ((i < STORAGE_SERVERS)) || die "usage: $0 storage N (N in 0..$((STORAGE_SERVERS - 1)))"
  pid=$(cat "$STATE/run/storage$i.pid" 2>/dev/null || true)
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then die "storage server $i is running (pid $pid)"; fi
  start_storage "$i"
  sleep 1  # its heartbeat makes its target SYNCING; the resync brings it up to date
  wait_chains_serving
  log "storage server $i is back and resynced"
  "$BIN/zcfs" --meta="$META" cluster status | sed -n '/CHAIN/,$p'
}

down() {
  if mountpoint -q "$MOUNT" 2>/dev/null; then
    fusermount3 -u "$MOUNT" 2>/dev/null || umount -l "$MOUNT" 2>/dev/null || true
  fi
  [[ -d $STATE/run ]] || return 0
  # The mount first, then storage, then meta: nothing is left talking to a stopped server.
  for f in "$STATE"/run/fuse.pid "$STATE"/run/storage*.pid "$STATE"/run/meta.pid; do
    [[ -e $f ]] && stop_pid_file "$f"
  done
  if mountpoint -q "$MOUNT" 2>/dev/null; then umount -l "$MOUNT" || true; fi
  log "stopped; state kept in $STATE"
}

up() {
  "$ROOT/deploy/install-deps.sh"
  log "building (Release) in $BUILD_DIR"
  "$ROOT/deploy/build.sh" "$BUILD_DIR" Release -DZCFS_BUILD_TESTS=OFF
  # `import zcfs` for $PYTHON: a zcfs.pth in its site-packages naming the module's build directory.
  local site; site=$("$PYTHON" -c 'import site; print(site.getsitepackages()[0])')
  { mkdir -p "$site" && echo "$BUILD_DIR/python" >"$site/zcfs.pth"; } 2>/dev/null ||
    log "cannot write $site/zcfs.pth; use PYTHONPATH=$BUILD_DIR/python"
  down >/dev/null
  mkdir -p "$STATE"/{run,logs} "$MOUNT"
  [[ $(stat -f -c %T "$STATE") == tmpfs ]] && die "$STATE is tmpfs, which has no O_DIRECT; set ZCFS_STATE"

  start meta "$BIN/zcfs-meta" --listen="$META" --data-dir="$STATE/meta"
  for i in $(seq 0 $((STORAGE_SERVERS - 1))); do start_storage "$i"; done
  wait_chains_serving
  start fuse "$BIN/zcfs-fuse" --meta="$META" "$MOUNT"
  log "cluster up: meta $META, $STORAGE_SERVERS storage servers, mounted at $MOUNT"

  log "writing a sample dataset: $SAMPLES files x 4 MiB into /samples"
  "$BIN/zcfs-bench" write --meta="$META" --dir=/samples --files="$SAMPLES" --size=4MiB --threads=4
  log "reading it back through the native API (every byte verified)"
  "$BIN/zcfs-bench" read --meta="$META" --dir=/samples --threads=4 --block=1MiB --verify
  "$BIN/zcfs-bench" read --meta="$META" --dir=/samples --threads=4 --block=1MiB
  log "reading it back through the FUSE mount at $MOUNT (every byte verified)"
  "$BIN/zcfs-bench" read --meta="$META" --mount="$MOUNT" --dir=/samples --threads=4 --block=1MiB --verify
  "$BIN/zcfs-bench" read --meta="$META" --mount="$MOUNT" --dir=/samples --threads=4 --block=1MiB

  log "ls $MOUNT/samples | head -3:"
  ls -l "$MOUNT/samples" | head -4
  cat <<MSG

  The cluster keeps running. Try:
    ls $MOUNT/samples
    $BIN/zcfs --meta=$META ls /samples
    $BIN/zcfs --meta=$META put README.md /readme.md && cat $MOUNT/readme.md
    $PYTHON -c 'import zcfs; print(zcfs.Client("$META").listdir("/samples")[:3])'
    $BIN/zcfs --meta=$META cluster status       # chains: every chunk on all $STORAGE_SERVERS servers
  Lose a server: kill -9 \$(cat $STATE/run/storage1.pid); every file still reads, writes go on
  (after the 10 s node timeout); bring it back with: deploy/quickstart.sh storage 1
  Stop everything with: deploy/quickstart.sh down
MSG
}

case ${1:-up} in
  up) up ;;
  down) down ;;
  purge) down; rm -rf "$STATE"; log "deleted $STATE"
    rm -f "$("$PYTHON" -c 'import site; print(site.getsitepackages()[0])')/zcfs.pth" ;;
  storage) restart_storage "${2:-}" ;;
  *) die "usage: $0 [up|down|purge|storage N]" ;;
esac
