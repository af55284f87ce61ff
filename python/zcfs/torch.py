"""PyTorch datasets over zcfs.

    from zcfs.torch import SampleDataset, ShardDataset, batch_loader
    ds = SampleDataset("127.0.0.1:8000", "/train")            # one file per sample
    loader = torch.utils.data.DataLoader(ds, batch_size=32, num_workers=4)

    ds = ShardDataset("127.0.0.1:8000", "/train-shards", "shard.idx")  # (shard, offset, length) records
    loader = batch_loader(ds, batch_size=32, num_workers=4)   # one ring submit per batch

Samples are uint8 tensors of the sample's bytes (or what `transform` makes of them).

Connections: a dataset stores the meta address, not a Client; each process (the main one and every
DataLoader worker, forked or spawned) connects on first use. A Client cannot cross a fork.

Copies: a sample is read straight into the memory of the tensor returned (the tensor's memory is
registered with the client for the read; the transport places the bytes there). No copy in user
space on the zcfs side. The batch path (a list of indices, see batch_loader) reads a whole batch
into one tensor allocated in shared memory when in a worker, so the DataLoader hands it to the main
process without copying it either. The single-sample path is subject to the DataLoader's own
collation, which copies every sample once into the batch tensor (as for any dataset).
"""

import os

import numpy as np
import torch
import torch.utils.data

from . import Client
from .shards import ShardIndex, read_shard_index


class _PerProcess:
    """The Client of the current process, and state tied to it (open files); rebuilt after a fork."""

    def __init__(self, meta, client_options):
        self.meta = meta
        self.client_options = dict(client_options or {})
        self._pid = None
        self._client = None
        self.files = {}

    def client(self):
        if self._pid != os.getpid():
            # A parent's objects are left alone (the extension leaks them in a child, by design).
            self._client, self.files = None, {}
            self._client = Client(self.meta, **self.client_options)
            self._pid = os.getpid()
        return self._client

    def __getstate__(self):  # spawned workers and pickling: only the address travels
        return {"meta": self.meta, "client_options": self.client_options}

    def __setstate__(self, state):
        self.__init__(state["meta"], state["client_options"])


def _new_tensor(nbytes, shared):
    t = torch.empty(nbytes, dtype=torch.uint8)
    return t.share_memory_() if shared else t


def _in_worker():
    return torch.utils.data.get_worker_info() is not None


def _split(flat, lengths):
    """Views of one flat tensor: a [B, L] tensor when every length is L, else a list."""
    if len(set(lengths)) == 1:
        return flat.view(len(lengths), lengths[0])
    return list(torch.split(flat, lengths))


def _read_batch(client, reads, transform):
    """reads: (file, offset, length) per sample. One ring submit for the whole batch into one
    tensor (shared memory in a worker); returns per-sample views, transformed if asked."""
    lengths = [length for _, _, length in reads]
    flat = _new_tensor(sum(lengths), shared=_in_worker())
    memory = client.register(flat.numpy())  # the tensor's own memory is the destination
    entries, at = [], 0
    for f, offset, length in reads:
        entries.append((f, offset, length, memory, at))
        at += length
    got = client.read_batch(entries)
    del memory  # deregisters; the tensor keeps its memory
    for (f, offset, length), n in zip(reads, got):
        if n != length:
            raise EOFError("%s: %d bytes at offset %d, only %d there" % (f.name, length, offset, n))
    if transform is None:
        return _split(flat, lengths)
    samples = [transform(t) for t in torch.split(flat, lengths)]
    if all(isinstance(s, torch.Tensor) for s in samples) and len({tuple(s.shape) for s in samples}) == 1:
        return torch.stack(samples)
    return samples


class SampleDataset(torch.utils.data.Dataset):
    """Map-style dataset over the files of a zcfs directory: sample i is the i-th file in name
    order, as a 1-D uint8 tensor (then transform(tensor) if given). Indexing with a list of indices
    reads them as one batch (see batch_loader)."""

    def __init__(self, meta, directory, transform=None, client_options=None):
        self._proc = _PerProcess(meta, client_options)
        self.directory = directory.rstrip("/") or "/"
        self.transform = transform
        names = sorted(self._proc.client().listdir(self.directory))
        self.paths = ["%s/%s" % (self.directory.rstrip("/"), n) for n in names]

    def __len__(self):
        return len(self.paths)

    def _path(self, i):
        return self.paths[int(i)]

    def __getitem__(self, index):
        client = self._proc.client()
        if isinstance(index, (list, tuple, np.ndarray, torch.Tensor)):
            files = []
            try:
                for i in index:
                    files.append(client.open(self._path(i)))
                return _read_batch(client, [(f, 0, f.size) for f in files], self.transform)
            finally:
                for f in files:
                    f.close()
        with client.open(self._path(index)) as f:
            sample = _new_tensor(f.size, shared=False)
            n = f.readinto(sample.numpy(), 0)
        if n != len(sample):
            raise EOFError("%s: read %d of %d bytes (the file shrank?)" % (self._path(index), n, len(sample)))
        return sample if self.transform is None else self.transform(sample)


class ShardDataset(torch.utils.data.Dataset):
    """Map-style dataset of samples stored in shard files: sample i is the bytes of record i
    (shard path, offset, length) as a 1-D uint8 tensor (then transform(tensor) if given).

    shards: the zcfs directory of the shard files; relative shard paths in the index are under it
    (None when the index holds absolute paths only). index: a list of (shard path, offset, length)
    tuples, a zcfs.shards.ShardIndex, or the zcfs path of an index file (relative: under `shards`),
    as zcfs.shards.write_shards / write_shard_index write them. Shard files stay open per process.
    """

    def __init__(self, meta, shards, index, transform=None, client_options=None):
        self._proc = _PerProcess(meta, client_options)
        self.transform = transform
        base = shards.rstrip("/") if shards else None

        def resolve(path):
            if path.startswith("/"):
                return path
            if base is None:
                raise ValueError("ShardDataset: relative path %r needs the shards directory" % path)
            return "%s/%s" % (base, path)

        if isinstance(index, str):
            index = read_shard_index(self._proc.client(), resolve(index))
        elif not isinstance(index, ShardIndex):
            index = ShardIndex.from_records(index)
        index.shards = [resolve(p) for p in index.shards]
        self.index = index

    def __len__(self):
        return len(self.index)

    def _record(self, i):
        """(open shard file, offset, length) of sample i."""
        path, offset, length = self.index[int(i)]
        files = self._proc.files
        if path not in files:
            files[path] = self._proc.client().open(path)
        return files[path], offset, length

    def __getitem__(self, index):
        client = self._proc.client()
        if isinstance(index, (list, tuple, np.ndarray, torch.Tensor)):
            return _read_batch(client, [self._record(i) for i in index], self.transform)
        f, offset, length = self._record(index)
        sample = _new_tensor(length, shared=False)
        n = f.readinto(sample.numpy(), offset)
        if n != length:
            raise EOFError("%s: %d bytes at offset %d, only %d there" % (f.name, length, offset, n))
        return sample if self.transform is None else self.transform(sample)


def batch_loader(dataset, batch_size, shuffle=False, drop_last=False, **loader_options):
    """A DataLoader that hands `dataset` whole batches of indices, so each batch is read with one
    ring submit (one batched request per storage server) instead of one read per sample. Batches
    are [batch_size, L] tensors when every sample has length L, else lists of tensors."""
    sampler = torch.utils.data.RandomSampler(dataset) if shuffle else torch.utils.data.SequentialSampler(dataset)
    batches = torch.utils.data.BatchSampler(sampler, batch_size=batch_size, drop_last=drop_last)
    return torch.utils.data.DataLoader(dataset, sampler=batches, batch_size=None, **loader_options)
