"""Shards: many samples packed into few large files, found through an index.

A sample is a record (shard path, offset, length): its bytes are [offset, offset + length) of the
shard file. The index file (conventionally ``<name>.idx``) stores the records; its format, all
integers little-endian:

    header   8 bytes  magic b"ZCFSIDX1"
             4 bytes  uint32 number of shards S
             4 bytes  uint32 reserved, 0
             8 bytes  uint64 number of records N
    shards   S times  uint16 byte length L, then L bytes: the shard's zcfs path in UTF-8
    records  N times  uint32 shard number (0..S-1), uint64 offset, uint64 length   (20 bytes, packed)

write_shard_index / read_shard_index write and read it (in zcfs); write_shards packs samples.
"""

import struct

import numpy as np

MAGIC = b"ZCFSIDX1"
_HEADER = struct.Struct("<8sIIQ")
RECORD_DTYPE = np.dtype([("shard", "<u4"), ("offset", "<u8"), ("length", "<u8")])


class ShardIndex:
    """Shard paths plus parallel numpy arrays of the records (shard number, offset, length)."""

    def __init__(self, shards, records):
        self.shards = list(shards)
        self.records = np.asarray(records, dtype=RECORD_DTYPE)
        if len(self.records) and int(self.records["shard"].max()) >= len(self.shards):
            raise ValueError("shard index: a record names shard %d of %d"
                             % (int(self.records["shard"].max()), len(self.shards)))

    @classmethod
    def from_records(cls, records):
        """From (shard path, offset, length) tuples, in order."""
        shards, numbers, rows = [], {}, []
        for path, offset, length in records:
            if path not in numbers:
                numbers[path] = len(shards)
                shards.append(path)
            if offset < 0 or length < 0:
                raise ValueError("shard index: negative offset or length in record (%r, %d, %d)"
                                 % (path, offset, length))
            rows.append((numbers[path], offset, length))
        return cls(shards, np.array(rows, dtype=RECORD_DTYPE))

    def __len__(self):
        return len(self.records)

    def __getitem__(self, i):
        r = self.records[i]
        return self.shards[int(r["shard"])], int(r["offset"]), int(r["length"])

    def to_bytes(self):
        parts = [_HEADER.pack(MAGIC, len(self.shards), 0, len(self.records))]
        for path in self.shards:
            name = path.encode("utf-8")
            parts.append(struct.pack("<H", len(name)) + name)
        parts.append(self.records.tobytes())
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data, source="shard index"):
        data = memoryview(data)
        if len(data) < _HEADER.size:
            raise ValueError("%s: %d bytes, shorter than the header" % (source, len(data)))
        magic, shard_count, _, record_count = _HEADER.unpack_from(data)
        if magic != MAGIC:
            raise ValueError("%s: not a zcfs shard index (magic %r)" % (source, bytes(magic)))
        pos, shards = _HEADER.size, []
        for _ in range(shard_count):
            (n,) = struct.unpack_from("<H", data, pos)
            shards.append(bytes(data[pos + 2:pos + 2 + n]).decode("utf-8"))
            pos += 2 + n
        end = pos + record_count * RECORD_DTYPE.itemsize
        if end != len(data):
            raise ValueError("%s: expected %d bytes for %d records, found %d"
                             % (source, end, record_count, len(data)))
        return cls(shards, np.frombuffer(data[pos:end], dtype=RECORD_DTYPE).copy())


def write_shard_index(client, path, records):
    """Writes the index of `records` ((shard path, offset, length) tuples or a ShardIndex) to the
    zcfs file `path`; returns the ShardIndex."""
    index = records if isinstance(records, ShardIndex) else ShardIndex.from_records(records)
    with client.open(path, "wb") as f:
        f.write(index.to_bytes())
    return index


def read_shard_index(client, path):
    """Reads the index file at the zcfs path `path`."""
    with client.open(path, "rb") as f:
        return ShardIndex.from_bytes(f.read(), source=path)


def write_shards(client, samples, directory, shard_size=256 << 20, prefix="shard"):
    """Packs `samples` (an iterable of bytes-like objects) into files <directory>/<prefix>-NNNNN of
    about `shard_size` bytes and writes <directory>/<prefix>.idx, whose shard paths are relative to
    `directory` (the directory can be moved). Returns (index path, ShardIndex)."""
    client.makedirs(directory, exist_ok=True)
    records, f, shard, used, shard_count = [], None, None, 0, 0
    try:
        for sample in samples:
            sample = memoryview(sample).cast("B")
            if f is None or (used > 0 and used + len(sample) > shard_size):
                if f is not None:
                    f.close()
                shard = "%s-%05d" % (prefix, shard_count)
                f, used, shard_count = client.open("%s/%s" % (directory.rstrip("/"), shard), "wb"), 0, shard_count + 1
            f.write(sample)
            records.append((shard, used, len(sample)))
            used += len(sample)
    finally:
        if f is not None:
            f.close()
    index_path = "%s/%s.idx" % (directory.rstrip("/"), prefix)
    return index_path, write_shard_index(client, index_path, records)
