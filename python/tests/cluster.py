"""A local zcfs cluster for the Python tests: one zcfs-meta and N zcfs-storage processes on
127.0.0.1 with kernel-chosen ports, state in a scratch directory (as tests/support/local_cluster.cc).

The binaries come from $ZCFS_BIN_DIR (ctest sets it to <build>/bin); the scratch directory from
$ZCFS_TEST_SCRATCH (<build>/test-scratch), which must not be tmpfs: the storage servers use O_DIRECT.
"""

import os
import shutil
import signal
import subprocess
import time

START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0


def _bin_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    default = os.path.join(here, "..", "..", "build-dev", "bin")
    return os.environ.get("ZCFS_BIN_DIR", default)


def _scratch_root():
    return os.environ.get("ZCFS_TEST_SCRATCH", os.path.join(_bin_dir(), "..", "test-scratch"))


class LocalCluster:
    """Start with start(), stop with stop() (or use as a context manager). Not thread-safe."""

    def __init__(self, name, storage_servers=3, storage_flags=()):
        self.dir = os.path.join(_scratch_root(), "py-%s-%d" % (name, os.getpid()))
        self.storage_servers = storage_servers
        self.storage_flags = list(storage_flags)
        self.meta_address = None
        self._procs = []  # (name, Popen, log path)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def _spawn(self, name, argv):
        ready = os.path.join(self.dir, name + ".ready")
        log_path = os.path.join(self.dir, name + ".log")
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(argv + ["--ready-file=" + ready], stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        self._procs.append((name, proc, log_path))
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if os.path.exists(ready) and os.path.getsize(ready) > 0:
                with open(ready) as f:
                    return f.read().strip()
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("%s did not become ready:\n%s" % (name, self.logs()))

    def start(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        bin_dir = _bin_dir()
        self.meta_address = self._spawn("meta", [os.path.join(bin_dir, "zcfs-meta"), "--listen=127.0.0.1:0",
                                                 "--data-dir=" + os.path.join(self.dir, "meta")])
        for i in range(self.storage_servers):
            name = "storage%d" % i
            self._spawn(name, [os.path.join(bin_dir, "zcfs-storage"), "--listen=127.0.0.1:0",
                               "--meta=" + self.meta_address, "--data-dir=" + os.path.join(self.dir, name)]
                        + self.storage_flags)
        return self

    def stop(self):
        """SIGTERM to every process, storage first; raises if one does not exit cleanly."""
        problems = []
        for name, proc, _ in reversed(self._procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    problems.append("%s did not stop on SIGTERM" % name)
                    continue
            if proc.returncode != 0:
                problems.append("%s exited with %d" % (name, proc.returncode))
        if problems:
            raise RuntimeError("; ".join(problems) + "\n" + self.logs())
        self._procs = []
        # Preallocated data files make a scratch directory gigabytes; a clean stop removes it (a failed
        # one above keeps it for its logs), unless ZCFS_KEEP_SCRATCH is set.
        if not os.environ.get("ZCFS_KEEP_SCRATCH"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def logs(self):
        out = []
        for name, _, path in self._procs:
            with open(path, errors="replace") as f:
                out.append("==== %s\n%s" % (name, f.read()))
        return "\n".join(out)
