"""zcfs.torch datasets through torch DataLoaders with worker processes, every sample's bytes checked."""

import unittest

import numpy as np
import torch
from torch.utils.data import DataLoader

import zcfs
from cluster import LocalCluster
from zcfs.shards import ShardIndex, read_shard_index, write_shard_index, write_shards
from zcfs.torch import SampleDataset, ShardDataset, batch_loader

cluster = None
SAMPLES = 40


def sample_bytes(i, size=None):
    """Sample i: distinct contents; sizes vary unless `size` is given."""
    n = size if size is not None else 1000 + 97 * i
    return np.random.default_rng(1000 + i).integers(0, 256, n, dtype=np.uint8).tobytes()


def setUpModule():
    global cluster
    cluster = LocalCluster("torch").start()
    client = zcfs.Client(cluster.meta_address)
    client.makedirs("/samples")
    for i in range(SAMPLES):
        with client.open("/samples/%04d.bin" % i, "wb") as f:
            f.write(sample_bytes(i))
    write_shards(client, (sample_bytes(i) for i in range(SAMPLES)), "/shards", shard_size=10000)
    write_shards(client, (sample_bytes(i, 4096) for i in range(SAMPLES)), "/fixed", shard_size=50000)
    client.close()


def tearDownModule():
    cluster.stop()


def as_bytes(t):
    return t.numpy().tobytes()


class SampleDatasetTest(unittest.TestCase):
    def test_items_in_name_order(self):
        ds = SampleDataset(cluster.meta_address, "/samples")
        self.assertEqual(len(ds), SAMPLES)
        for i in (0, 7, SAMPLES - 1):
            t = ds[i]
            self.assertEqual(t.dtype, torch.uint8)
            self.assertEqual(as_bytes(t), sample_bytes(i))
        batch = ds[[3, 1]]
        self.assertEqual([as_bytes(t) for t in batch], [sample_bytes(3), sample_bytes(1)])
        # Samples are placed into the tensors' memory: the client copied nothing in user space.
        self.assertEqual(ds._proc.client().user_copy_bytes, 0)

    def test_dataloader_with_two_workers_reads_every_sample(self):
        ds = SampleDataset(cluster.meta_address, "/samples", transform=lambda t: (t.numel(), t.sum().item()))
        ds[0]  # the parent connects first: the workers must not use its client after fork
        loader = DataLoader(ds, batch_size=None, num_workers=2, shuffle=True)
        seen = {}
        for n, total in loader:
            seen[n] = total
        expected = {len(sample_bytes(i)): sum(sample_bytes(i)) for i in range(SAMPLES)}
        self.assertEqual(seen, expected)

    def test_batch_loader_reads_whole_batches_in_workers(self):
        ds = SampleDataset(cluster.meta_address, "/samples")
        got = {}
        for indices, batch in zip(torch.utils.data.BatchSampler(range(SAMPLES), 8, False),
                                  batch_loader(ds, batch_size=8, num_workers=2)):
            self.assertEqual(len(batch), len(indices))  # variable sizes: a list of tensors
            for i, t in zip(indices, batch):
                got[i] = as_bytes(t)
        self.assertEqual(got, {i: sample_bytes(i) for i in range(SAMPLES)})

    def test_missing_directory(self):
        with self.assertRaises(FileNotFoundError):
            SampleDataset(cluster.meta_address, "/no-such-dir")


class ShardDatasetTest(unittest.TestCase):
    def test_index_file_round_trip(self):
        client = zcfs.Client(cluster.meta_address)
        index = read_shard_index(client, "/shards/shard.idx")
        self.assertEqual(len(index), SAMPLES)
        self.assertGreater(len(index.shards), 3)  # 10 KB shards: the samples are spread
        again = ShardIndex.from_bytes(index.to_bytes())
        self.assertEqual([again[i] for i in range(SAMPLES)], [index[i] for i in range(SAMPLES)])
        write_shard_index(client, "/shards/copy.idx", [index[i] for i in range(3)])
        self.assertEqual(len(read_shard_index(client, "/shards/copy.idx")), 3)
        with client.open("/shards/bad.idx", "wb") as f:
            f.write(b"not an index at all, though longer than a header")
        with self.assertRaisesRegex(ValueError, "/shards/bad.idx: not a zcfs shard index"):
            read_shard_index(client, "/shards/bad.idx")
        client.close()

    def test_dataloader_with_two_workers_reads_every_sample(self):
        ds = ShardDataset(cluster.meta_address, "/shards", "shard.idx")
        self.assertEqual(len(ds), SAMPLES)
        self.assertEqual(as_bytes(ds[5]), sample_bytes(5))  # opens shards in the parent first
        got = {}
        for i, t in DataLoader(_Indexed(ds), batch_size=None, num_workers=2):
            got[i] = as_bytes(t)
        self.assertEqual(got, {i: sample_bytes(i) for i in range(SAMPLES)})

    def test_fixed_size_batches_are_one_tensor(self):
        ds = ShardDataset(cluster.meta_address, "/fixed", "/fixed/shard.idx")
        batches = list(batch_loader(ds, batch_size=16, num_workers=2))
        self.assertEqual([tuple(b.shape) for b in batches], [(16, 4096), (16, 4096), (8, 4096)])
        flat = torch.cat(batches)
        for i in range(SAMPLES):
            self.assertEqual(as_bytes(flat[i]), sample_bytes(i, 4096))

    def test_records_as_a_list(self):
        records = [("/fixed/shard-00000", 4096 * 2, 100), ("shard-00000", 0, 10)]  # absolute and relative
        ds = ShardDataset(cluster.meta_address, "/fixed", records)
        self.assertEqual(as_bytes(ds[0]), sample_bytes(2, 4096)[:100])
        self.assertEqual(as_bytes(ds[1]), sample_bytes(0, 4096)[:10])
        bad = ShardDataset(cluster.meta_address, None, [("/fixed/shard-00000", 10 ** 9, 100)])
        with self.assertRaisesRegex(EOFError, "only 0 there"):
            bad[0]
        with self.assertRaisesRegex(ValueError, "needs the shards directory"):
            ShardDataset(cluster.meta_address, None, [("shard-00000", 0, 10)])


class _Indexed(torch.utils.data.Dataset):
    """(index, sample) pairs, so the test knows which sample each worker returned."""

    def __init__(self, ds):
        self.ds = ds

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        return i, self.ds[i]


if __name__ == "__main__":
    unittest.main()
