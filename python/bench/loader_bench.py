#!/usr/bin/env python3
"""Data loader benchmark: a PyTorch DataLoader over zcfs vs the same DataLoader over local files.

Writes a dataset of --samples samples of --sample-size bytes three ways - one zcfs file per sample,
the same samples packed into zcfs shards with an index, and one local file per sample under
--local-dir (a disk directory, not tmpfs) - then reads each through DataLoader(num_workers=--workers,
batch_size=--batch-size, shuffled) for at most --seconds or one epoch, and prints samples/s and MiB/s.
Before the local run the page cache is dropped (echo 1 > /proc/sys/vm/drop_caches, root only; the
table says whether it was). The zcfs storage servers read with O_DIRECT, so they have no page cache
to drop. Timing starts when the first batch arrives (worker start-up and connecting are excluded).

    PYTHONPATH=build/python python3 python/bench/loader_bench.py --meta 127.0.0.1:8000 --workers 4
"""

import argparse
import os
import shutil
import time

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

import zcfs
from zcfs.shards import write_shards
from zcfs.torch import SampleDataset, ShardDataset, batch_loader

MiB = 1 << 20


def parse_size(text):
    units = {"k": 1 << 10, "kib": 1 << 10, "m": MiB, "mib": MiB, "": 1}
    number = text.rstrip("KMiBkmib")
    return int(float(number) * units[text[len(number):].lower()])


def sample(i, size):
    return np.random.default_rng(i).integers(0, 256, size, dtype=np.uint8).tobytes()


class LocalFiles(Dataset):
    """The trivial local dataset: one file per sample, read into a fresh tensor."""

    def __init__(self, directory):
        self.paths = sorted(os.path.join(directory, n) for n in os.listdir(directory))

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        with open(self.paths[i], "rb", buffering=0) as f:
            t = torch.empty(os.fstat(f.fileno()).st_size, dtype=torch.uint8)
            f.readinto(t.numpy())
        return t


def prepare(args):
    """Writes what is missing of the three copies of the dataset; a marker records what was made."""
    marker = "%d x %d" % (args.samples, args.sample_size)
    client = zcfs.Client(args.meta)
    root = args.zcfs_dir.rstrip("/")
    made = False
    if client.exists(root + "/made"):
        with client.open(root + "/made") as f:
            made = f.read().decode() == marker
    if not made:
        print("writing %s samples into zcfs %s (files and shards)" % (marker, root), flush=True)
        client.makedirs(root + "/files", exist_ok=True)
        for i in range(args.samples):
            with client.open("%s/files/%08d" % (root, i), "wb") as f:
                f.write(sample(i, args.sample_size))
        write_shards(client, (sample(i, args.sample_size) for i in range(args.samples)), root + "/shards",
                     shard_size=64 * MiB)
        with client.open(root + "/made", "wb") as f:
            f.write(marker.encode())
    client.close()
    local = os.path.join(args.local_dir, "files")
    local_marker = os.path.join(args.local_dir, "made")
    if not (os.path.exists(local_marker) and open(local_marker).read() == marker):
        print("writing %s samples into %s" % (marker, local), flush=True)
        shutil.rmtree(args.local_dir, ignore_errors=True)
        os.makedirs(local)
        for i in range(args.samples):
            with open(os.path.join(local, "%08d" % i), "wb") as f:
                f.write(sample(i, args.sample_size))
        with open(local_marker, "w") as f:
            f.write(marker)
    return local


def drop_page_cache():
    """True when the page cache was dropped (needs root)."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("1\n")
        return True
    except OSError:
        return False


def measure(loader, seconds):
    """(samples, bytes, seconds) from the first batch on, for one epoch or `seconds`."""
    it = iter(loader)
    next(it)  # start-up: workers forked, connected, first batch read
    start, samples, nbytes = time.monotonic(), 0, 0
    for batch in it:
        if isinstance(batch, list):  # samples of different sizes
            samples, nbytes = samples + len(batch), nbytes + sum(t.numel() for t in batch)
        else:
            samples, nbytes = samples + batch.shape[0], nbytes + batch.numel()
        if time.monotonic() - start >= seconds:
            break
    return samples, nbytes, time.monotonic() - start


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--meta", default="127.0.0.1:8000")
    p.add_argument("--samples", type=int, default=4096)
    p.add_argument("--sample-size", type=parse_size, default=100 * 1024, help="bytes, e.g. 100KiB")
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seconds", type=float, default=30.0, help="at most this long per run")
    p.add_argument("--zcfs-dir", default="/loader-bench")
    p.add_argument("--local-dir", default="/var/tmp/zcfs-loader-bench")
    p.add_argument("--runs", default="files,shards,shards-batch,local",
                   help="comma-separated: files, shards, shards-batch, files-batch, local")
    p.add_argument("--keep-page-cache", action="store_true", help="do not drop the page cache before the local run")
    args = p.parse_args()

    local = prepare(args)
    root = args.zcfs_dir.rstrip("/")
    common = dict(num_workers=args.workers)
    loaders = {
        "files": lambda: DataLoader(SampleDataset(args.meta, root + "/files"), batch_size=args.batch_size,
                                    shuffle=True, **common),
        "files-batch": lambda: batch_loader(SampleDataset(args.meta, root + "/files"), args.batch_size,
                                            shuffle=True, **common),
        "shards": lambda: DataLoader(ShardDataset(args.meta, root + "/shards", "shard.idx"),
                                     batch_size=args.batch_size, shuffle=True, **common),
        "shards-batch": lambda: batch_loader(ShardDataset(args.meta, root + "/shards", "shard.idx"), args.batch_size,
                                             shuffle=True, **common),
        "local": lambda: DataLoader(LocalFiles(local), batch_size=args.batch_size, shuffle=True, **common),
    }
    print("%d samples x %d bytes, %d workers, batch %d, shuffled, at most %.0f s per run"
          % (args.samples, args.sample_size, args.workers, args.batch_size, args.seconds))
    rows = []
    for name in args.runs.split(","):
        label = "zcfs " + name if name != "local" else "local files"
        if name == "local":
            if args.keep_page_cache:
                label += " (page cache kept)"
            else:
                label += " (page cache dropped)" if drop_page_cache() else " (page cache NOT dropped: not root)"
        samples, nbytes, secs = measure(loaders[name](), args.seconds)
        rows.append((label, samples, secs, samples / secs, nbytes / MiB / secs))
    print("%-40s %9s %8s %11s %9s" % ("run", "samples", "seconds", "samples/s", "MiB/s"))
    for label, samples, secs, rate, mib in rows:
        print("%-40s %9d %8.2f %11.0f %9.1f" % (label, samples, secs, rate, mib))


if __name__ == "__main__":
    main()
