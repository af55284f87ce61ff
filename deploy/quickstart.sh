#!/usr/bin/env bash
# One-command local zcfs cluster: 1 meta server + 3 storage servers on 127.0.0.1, a FUSE mount,
# a sample dataset, and read throughput through the native API and through the mount.
#
#   deploy/quickstart.sh          install what is missing, build, start, mount, write + read samples
#   deploy/quickstart.sh ha       the same with replicated meta servers: etcd and three zcfs-meta
#                                 (ports ZCFS_META_PORT..+2), one primary and two standbys
#   deploy/quickstart.sh down     unmount and stop everything this script started (by PID)
#   deploy/quickstart.sh purge    down, then delete the cluster's state directory
#   deploy/quickstart.sh storage N  start storage server N (0..2) again, e.g. after `kill -9` of it: it
#                                   is resynced from its chain before it serves
#   deploy/quickstart.sh meta N     (ha) start meta server N (0..2) again: it rejoins as a standby
#
# Every chunk is stored on all three storage servers (one chain of three, replication 3), so the
# cluster survives losing any one of them: see "Surviving a server loss" in the README.
# Environment: ZCFS_MOUNT (default /tmp/zcfs), ZCFS_STATE (default <repo>/.state; must not be tmpfs,
# the storage servers use O_DIRECT), ZCFS_META_PORT (default 8000), ZCFS_BUILD_DIR (default <repo>/build),
# ZCFS_SAMPLES (number of 4 MiB sample files, default 64), ZCFS_ETCD_PORT (ha: etcd's client port,
# default 2379; its peer port is the next one).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${ZCFS_BUILD_DIR:-$ROOT/build}
STATE=${ZCFS_STATE:-$ROOT/.state}
MOUNT=${ZCFS_MOUNT:-/tmp/zcfs}
META_PORT=${ZCFS_META_PORT:-8000}
ETCD_PORT=${ZCFS_ETCD_PORT:-2379}
META_SERVERS=3  # with ha
SAMPLES=${ZCFS_SAMPLES:-64}
STORAGE_SERVERS=3
BIN="$BUILD_DIR/bin"
PYTHON=/usr/bin/python3  # the interpreter the zcfs module is built for (python/CMakeLists.txt)

# The meta address list everything is given: one server, or the three of an ha cluster (marked by
# $STATE/ha, so that `down`, `storage N` and `meta N` know which cluster they manage).
meta_list() {
  if [[ -e $STATE/ha ]]; then
    local list="" i
    for i in $(seq 0 $((META_SERVERS - 1))); do list+="${list:+,}127.0.0.1:$((META_PORT + i))"; done
    echo "$list"
  else
    echo "127.0.0.1:$META_PORT"
  fi
}
META=$(meta_list)

log() { printf '\033[1mzcfs:\033[0m %s\n' "$*"; }
die() { printf 'zcfs: error: %s\n' "$*" >&2; exit 1; }

# Waits for a server's ready file (or, when given, a line of its log); shows its log if it dies or
# times out.
wait_ready() {
  local name=$1 pid=$2 file=$3 line=${4:-}
  for _ in $(seq 1 300); do
    [[ -s $file ]] && return 0
    [[ -n $line ]] && grep -q "$line" "$STATE/logs/$name.log" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$STATE/logs/$name.log" >&2; die "$name exited during start-up"; }
    sleep 0.1
  done
  tail -n 20 "$STATE/logs/$name.log" >&2
  die "$name did not become ready in 30 s"
}

# Starts a daemon in the background with its log and PID file under $STATE. With READY_LINE set, a
# log line containing it also counts as started.
start() {
  local name=$1; shift
  rm -f "$STATE/run/$name.ready"
  # setsid: the daemon outlives this script and is not hit by a Ctrl-C in the terminal.
  setsid "$@" --ready-file="$STATE/run/$name.ready" </dev/null >>"$STATE/logs/$name.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$STATE/run/$name.pid"
  wait_ready "$name" "$pid" "$STATE/run/$name.ready" "${READY_LINE:-}"
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
  for f in "$STATE"/run/fuse.pid "$STATE"/run/storage*.pid "$STATE"/run/meta*.pid "$STATE"/run/etcd.pid; do
    [[ -e $f ]] && stop_pid_file "$f"
  done
  if mountpoint -q "$MOUNT" 2>/dev/null; then umount -l "$MOUNT" || true; fi
  log "stopped; state kept in $STATE"
}

# Starts etcd in the background (its data under $STATE/etcd) and waits until it answers.
start_etcd() {
  local url="http://127.0.0.1:$ETCD_PORT" peer="http://127.0.0.1:$((ETCD_PORT + 1))"
  setsid etcd --name=zcfs --data-dir="$STATE/etcd" --listen-client-urls="$url" --advertise-client-urls="$url" \
    --listen-peer-urls="$peer" --initial-advertise-peer-urls="$peer" --initial-cluster="zcfs=$peer" \
    </dev/null >>"$STATE/logs/etcd.log" 2>&1 &
  echo $! >"$STATE/run/etcd.pid"
  for _ in $(seq 1 200); do
    (: </dev/tcp/127.0.0.1/"$ETCD_PORT") 2>/dev/null && return 0
    sleep 0.1
  done
  tail -n 20 "$STATE/logs/etcd.log" >&2
  die "etcd did not answer on $url in 20 s"
}

# Starts meta server $1 of the ha cluster. The first one started becomes the primary (and writes its
# ready file); a standby only logs that it follows the primary.
start_meta_member() {
  READY_LINE="following the primary" start "meta$1" "$BIN/zcfs-meta" --etcd="http://127.0.0.1:$ETCD_PORT" \
    --listen="127.0.0.1:$((META_PORT + $1))" --data-dir="$STATE/meta$1"
}

# Starts meta server $1 of the ha cluster again (after `kill -9` of it): it rejoins as a standby.
restart_meta() {
  local i=$1 pid
  [[ -e $STATE/ha ]] || die "this is not an ha cluster (deploy/quickstart.sh ha)"
  [[ $i =~ ^[0-9]+$ ]] && ((i < META_SERVERS)) || die "usage: $0 meta N (N in 0..$((META_SERVERS - 1)))"
  pid=$(cat "$STATE/run/meta$i.pid" 2>/dev/null || true)
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then die "meta server $i is running (pid $pid)"; fi
  start_meta_member "$i"
  log "meta server $i is back (as a standby: $(grep -c 'following the primary' "$STATE/logs/meta$i.log") follow(s) logged)"
}

up() {
  local ha=$1
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
  if [[ $ha == yes && -d $STATE/meta ]] || [[ $ha == no && -e $STATE/ha ]]; then
    die "$STATE holds a cluster of the other kind; run '$0 purge' first (it deletes the cluster)"
  fi

  if [[ $ha == yes ]]; then
    touch "$STATE/ha"
    META=$(meta_list)
    start_etcd
    for i in $(seq 0 $((META_SERVERS - 1))); do start_meta_member "$i"; done
  else
    start meta "$BIN/zcfs-meta" --listen="$META" --data-dir="$STATE/meta"
  fi
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
MSG
  if [[ $ha == yes ]]; then
    cat <<MSG
  Lose the primary meta server: kill -9 \$(cat $STATE/run/meta0.pid); a standby takes over within
  about 6 s and the mount carries on; bring it back (as a standby) with: deploy/quickstart.sh meta 0
MSG
  fi
  echo "  Stop everything with: deploy/quickstart.sh down"
}

case ${1:-up} in
  up) up no ;;
  ha) up yes ;;
  down) down ;;
  purge) down; rm -rf "$STATE"; log "deleted $STATE"
    rm -f "$("$PYTHON" -c 'import site; print(site.getsitepackages()[0])')/zcfs.pth" ;;
  storage) restart_storage "${2:-}" ;;
  meta) restart_meta "${2:-}" ;;
  *) die "usage: $0 [up|ha|down|purge|storage N|meta N]" ;;
esac
