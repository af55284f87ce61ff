"""zcfs.Client, File, Buffer and Ring against a real local cluster."""

import errno
import os
import stat
import unittest

import numpy as np

import zcfs
from cluster import LocalCluster

cluster = None


def setUpModule():
    global cluster
    cluster = LocalCluster("client").start()


def tearDownModule():
    cluster.stop()


def pattern(seed, size):
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


class ClientTestCase(unittest.TestCase):
    def setUp(self):
        self.client = zcfs.Client(cluster.meta_address)
        self.addCleanup(self.client.close)
        self.dir = "/" + self.id().rsplit(".", 1)[-1]
        self.client.makedirs(self.dir, exist_ok=True)

    def put(self, name, data):
        path = self.dir + "/" + name
        with self.client.open(path, "wb") as f:
            self.assertEqual(f.write(data), len(data))
        return path


class NamespaceTest(ClientTestCase):
    def test_stat_listdir_mkdir_rename_remove(self):
        c = self.client
        c.mkdir(self.dir + "/sub", 0o700)
        c.makedirs(self.dir + "/a/b/c")
        self.put("f", b"12345")
        st = c.stat(self.dir + "/f")
        self.assertTrue(st.is_file())
        self.assertEqual((st.st_size, st.type), (5, "file"))
        self.assertTrue(stat.S_ISREG(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o644)
        sub = c.stat(self.dir + "/sub")
        self.assertTrue(sub.is_dir() and stat.S_ISDIR(sub.st_mode))
        self.assertEqual(stat.S_IMODE(sub.st_mode), 0o700)
        self.assertEqual(c.listdir(self.dir), ["a", "f", "sub"])
        self.assertTrue(c.exists(self.dir + "/a/b/c"))
        self.assertFalse(c.exists(self.dir + "/nope"))

        c.rename(self.dir + "/f", self.dir + "/a/g")
        self.assertEqual(c.listdir(self.dir + "/a"), ["b", "g"])
        c.remove(self.dir + "/a/g")
        c.remove(self.dir + "/a/b/c")
        self.assertEqual(c.listdir(self.dir + "/a/b"), [])

        fs = c.statfs()
        self.assertGreater(fs.capacity_bytes, 0)
        self.assertEqual(fs.online_nodes, 3)

    def test_errors_are_os_errors_naming_the_path(self):
        c = self.client
        with self.assertRaises(FileNotFoundError) as e:
            c.stat(self.dir + "/missing")
        self.assertEqual(e.exception.errno, errno.ENOENT)
        self.assertEqual(e.exception.filename, self.dir + "/missing")
        self.assertIn("missing", str(e.exception))
        c.makedirs(self.dir + "/d/e")
        with self.assertRaises(IsADirectoryError):
            c.open(self.dir + "/d")
        with self.assertRaises(FileExistsError):
            c.mkdir(self.dir + "/d")
        with self.assertRaises(FileExistsError):
            c.makedirs(self.dir + "/d")  # exist_ok=False, as os.makedirs
        with self.assertRaises(OSError) as e:
            c.remove(self.dir + "/d")
        self.assertEqual(e.exception.errno, errno.ENOTEMPTY)
        self.put("file", b"x")
        with self.assertRaises(NotADirectoryError):
            c.listdir(self.dir + "/file")
        with self.assertRaises(FileExistsError):
            c.open(self.dir + "/file", "xb")
        with self.assertRaises(ValueError):
            c.open(self.dir + "/file", "r+t")

    def test_connect_failure_and_closed_client(self):
        with self.assertRaises(OSError) as e:
            zcfs.Client("127.0.0.1:1", connect_timeout=0.5)
        self.assertIn("127.0.0.1:1", str(e.exception))
        with zcfs.Client(cluster.meta_address) as other:
            self.assertEqual(other.listdir("/"), self.client.listdir("/"))
        self.assertTrue(other.closed)
        self.assertIn("closed", repr(other))
        with self.assertRaisesRegex(ValueError, "closed"):
            other.stat("/")

    def test_transport_choice(self):
        self.assertEqual(self.client.transport, "tcp")
        with zcfs.Client(cluster.meta_address, transport="auto") as auto:  # no RDMA device here: TCP
            self.assertIn(auto.transport, ("tcp", "rdma"))
            self.assertEqual(auto.listdir("/"), self.client.listdir("/"))
        with self.assertRaises(OSError) as e:
            zcfs.Client(cluster.meta_address, transport="infiniband")
        self.assertEqual(e.exception.errno, errno.EINVAL)
        self.assertIn("tcp, rdma or auto", str(e.exception))


class FileTest(ClientTestCase):
    def test_write_read_seek_pread(self):
        data = pattern(1, 3 * 1024 * 1024 + 17)  # several chunks' worth, unaligned end
        path = self.put("big", data)
        with self.client.open(path) as f:
            self.assertEqual(f.size, len(data))
            self.assertEqual(f.read(1000), data[:1000])
            self.assertEqual(f.tell(), 1000)
            self.assertEqual(f.read(), data[1000:])
            self.assertEqual(f.read(10), b"")
            self.assertEqual(f.pread(100, len(data) - 50), data[-50:])
            self.assertEqual(f.seek(-10, os.SEEK_END), len(data) - 10)
            self.assertEqual(f.read(), data[-10:])
            f.seek(12345)
            self.assertEqual(f.read(5), data[12345:12350])
        with self.client.open(path, "r+b") as f:
            self.assertEqual(f.pwrite(b"ABC", 10), 3)
        with self.client.open(path, "ab") as f:
            f.write(b"tail")
            self.assertEqual(f.tell(), len(data) + 4)
        with self.client.open(path) as f:
            whole = f.read()
        self.assertEqual(whole, data[:10] + b"ABC" + data[13:] + b"tail")

    def test_readinto_numpy_and_bytearray(self):
        data = pattern(2, 200000)
        path = self.put("r", data)
        with self.client.open(path) as f:
            arr = np.zeros(50000, dtype=np.uint8)
            self.assertEqual(f.readinto(arr, 1000), 50000)  # at an offset: position unchanged
            self.assertEqual(arr.tobytes(), data[1000:51000])
            self.assertEqual(f.tell(), 0)
            ba = bytearray(300000)
            self.assertEqual(f.readinto(ba), 200000)  # short at the end; advances
            self.assertEqual(bytes(ba[:200000]), data)
            self.assertEqual(f.tell(), 200000)
            with self.assertRaises(TypeError):
                f.readinto(b"read-only bytes", 0)
            with self.assertRaises(TypeError):
                f.readinto(np.zeros((10, 10), dtype=np.uint8)[:, 2], 0)  # not contiguous

    def test_use_after_close_is_a_clear_error(self):
        path = self.put("c", b"data")
        f = self.client.open(path)
        f.close()
        f.close()  # twice is fine, as for Python files
        self.assertTrue(f.closed)
        for call in (lambda: f.read(1), lambda: f.pread(1, 0), lambda: f.write(b"x"), lambda: f.seek(0),
                     lambda: f.readinto(bytearray(4), 0)):
            with self.assertRaisesRegex(ValueError, "closed file '%s'" % path):
                call()

    def test_write_to_read_only_file_fails(self):
        path = self.put("ro", b"data")
        with self.client.open(path) as f:
            with self.assertRaises(OSError) as e:
                f.write(b"x")
            self.assertEqual(e.exception.errno, errno.EBADF)


class BufferTest(ClientTestCase):
    def test_numpy_views_share_the_buffer_memory(self):
        buf = self.client.alloc(1 << 20)
        self.assertEqual((len(buf), buf.size, buf.huge_pages), (1 << 20, 1 << 20, False))
        view = np.frombuffer(buf, dtype=np.uint8)
        again = np.frombuffer(buf, dtype=np.uint8)
        self.assertTrue(np.shares_memory(view, again))
        self.assertEqual(view.ctypes.data, buf.address)
        self.assertEqual(view.ctypes.data % 4096, 0)
        self.assertFalse(view.any())  # zeroed
        view[10:13] = [1, 2, 3]
        self.assertEqual(bytes(memoryview(buf)[10:13]), b"\x01\x02\x03")  # written through numpy

    def test_views_keep_the_buffer_alive(self):
        buf = self.client.alloc(8192)
        view = np.frombuffer(buf, dtype=np.uint8)
        del buf
        view[:] = 7  # the memory is still there
        self.assertEqual(int(view.sum()), 7 * 8192)

    def test_readinto_a_buffer_lands_in_place(self):
        data = pattern(3, 70000)
        path = self.put("b", data)
        buf = self.client.alloc(1 << 17)
        view = np.frombuffer(buf, dtype=np.uint8)
        before = self.client.user_copy_bytes
        with self.client.open(path) as f:
            self.assertEqual(f.readinto(memoryview(buf)[4096:4096 + 70000], 0), 70000)
        self.assertEqual(view[4096:4096 + 70000].tobytes(), data)
        self.assertEqual(self.client.user_copy_bytes, before)  # placed, not copied

    def test_register_callers_memory(self):
        data = pattern(4, 5000)
        path = self.put("reg", data)
        arr = np.zeros(8192, dtype=np.uint8)
        buf = self.client.register(arr)
        with self.client.open(path) as f:
            self.assertEqual(self.client.read_batch([(f, 0, 5000, buf, 100)]), [5000])
        self.assertEqual(arr[100:5100].tobytes(), data)

    def test_huge_pages_work_or_fail_plainly(self):
        try:
            buf = self.client.alloc(2 << 20, huge_pages=True)
        except OSError as e:
            self.assertEqual(e.errno, errno.EAGAIN)  # none reserved here: no silent fallback
        else:
            self.assertTrue(buf.huge_pages)


class BatchTest(ClientTestCase):
    def test_read_batch_across_files(self):
        files = [self.put("s%d" % i, pattern(10 + i, 30000 + 1000 * i)) for i in range(6)]
        datas = [pattern(10 + i, 30000 + 1000 * i) for i in range(6)]
        handles = [self.client.open(p) for p in files]
        buf = self.client.alloc(6 * 65536)
        entries = [(h, 100 * i, 20000, buf, 65536 * i) for i, h in enumerate(handles)]
        entries.append((handles[5], len(datas[5]) - 7, 100, buf, 65536 * 5 + 30000))  # short: at the end
        self.assertEqual(self.client.read_batch(entries), [20000] * 6 + [7])
        view = np.frombuffer(buf, dtype=np.uint8)
        for i, data in enumerate(datas):
            self.assertEqual(view[65536 * i:65536 * i + 20000].tobytes(), data[100 * i:100 * i + 20000])
        self.assertEqual(view[65536 * 5 + 30000:65536 * 5 + 30007].tobytes(), datas[5][-7:])
        for h in handles:
            h.close()

    def test_read_batch_errors_name_the_entry(self):
        path = self.put("e", b"abc")
        buf = self.client.alloc(4096)
        f = self.client.open(path)
        with self.assertRaisesRegex(ValueError, "read_batch entry 1.*does not fit"):
            self.client.read_batch([(f, 0, 3, buf, 0), (f, 0, 100, buf, 4090)])
        with self.assertRaisesRegex(OSError, "read_batch entry 0"):
            self.client.read_batch([(f, 0, 3, bytearray(10), 0)])  # not registered
        f.close()
        with self.assertRaisesRegex(ValueError, "closed file"):
            self.client.read_batch([(f, 0, 3, buf, 0)])

    def test_ring_prep_submit_wait(self):
        data = pattern(20, 100000)
        path = self.put("ring", data)
        buf = self.client.alloc(1 << 20)
        view = np.frombuffer(buf, dtype=np.uint8)
        with self.client.open(path) as f, zcfs.Ring(self.client, depth=8) as ring:
            for k in range(4):
                ring.prep_read(f, 25000 * k, 25000, buf, 131072 * k, user_data=("slot", k))
            self.assertEqual(ring.prepared, 4)
            self.assertEqual(ring.submit(), 4)
            done = []
            while len(done) < 4:
                done += ring.wait(min=4 - len(done), timeout=30)
            self.assertEqual(sorted(c.user_data for c in done), [("slot", k) for k in range(4)])
            for c in done:
                self.assertTrue(c.ok and c.error is None)
                self.assertEqual(c.result(), 25000)
                k = c.user_data[1]
                self.assertEqual(view[131072 * k:131072 * k + 25000].tobytes(), data[25000 * k:25000 * (k + 1)])
            self.assertEqual(ring.poll(), [])
            with self.assertRaises(OSError):
                ring.prep_read(f, 0, 10, bytearray(10))  # outside every registered buffer


class ForkTest(ClientTestCase):
    def test_parent_client_raises_in_child_and_a_new_one_works(self):
        path = self.put("fork", b"forked")
        f = self.client.open(path)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report through the pipe, never return into unittest
            report = []
            try:
                for call in (lambda: self.client.stat(path), lambda: f.read()):
                    try:
                        call()
                        report.append("no error")
                    except zcfs.ForkError as e:
                        report.append("ForkError" if "after fork" in str(e) else "bad message: %s" % e)
                child = zcfs.Client(cluster.meta_address)
                with child.open(path) as g:
                    report.append(g.read().decode())
                child.close()
            except BaseException as e:  # noqa: anything, as text for the parent
                report.append("child failed: %r" % e)
            os.write(write_fd, "|".join(report).encode())
            os._exit(0)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as r:
            report = r.read().decode()
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        self.assertEqual(report, "ForkError|ForkError|forked")
        self.assertEqual(f.read(), b"forked")  # the parent's objects are unaffected
        f.close()


if __name__ == "__main__":
    unittest.main()
