"""zcfs: the native Python client of the zcfs distributed file system.

    import zcfs
    client = zcfs.Client("127.0.0.1:8000")
    client.makedirs("/data", exist_ok=True)
    with client.open("/data/x", "wb") as f:
        f.write(b"hello")
    print(client.stat("/data/x").st_size, client.listdir("/data"))

    buf = client.alloc(1 << 20)              # registered memory, reads land in it without a copy
    with client.open("/data/x") as f:
        n = f.readinto(buf)                  # numpy.frombuffer(buf, numpy.uint8)[:n] is the data
        client.read_batch([(f, 0, 5, buf, 0), (f, 1, 4, buf, 4096)])   # one submit, many reads

Errors are OSError subclasses chosen by errno (FileNotFoundError, IsADirectoryError,
PermissionError, TimeoutError, ...) whose message names the path and the cause. Blocking calls
release the GIL. A Client belongs to the process that made it: using it in a forked child raises
ForkError (make a new Client there; zcfs.torch datasets connect once per worker process).

Classes: Client, File, Buffer, Ring, Completion, StatResult. zcfs.torch holds the PyTorch datasets.
"""

from ._zcfs import Buffer, Client, Completion, File, ForkError, Ring, StatResult

__all__ = ["Buffer", "Client", "Completion", "File", "ForkError", "Ring", "StatResult"]
