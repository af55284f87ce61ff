/* zcfs.h: the C API of the zcfs client (libzcfs_c.so).
 *
 * A thin C layer over the C++ client (zcfs/client/client.h) for programs and language bindings that
 * cannot use C++. Link with -lzcfs_c.
 *
 * Errors: every call that can fail returns a negative errno (-ENOENT, -EISDIR, -EBADF, ...) or NULL,
 * and leaves a message naming the cause (the path, the handle, the server) in zcfs_last_error(),
 * which is per thread. Calls that return a pointer also set errno when they return NULL.
 * A NULL pointer, a pointer that is not a live object of this library (destroyed, or never made by
 * it) or a closed/unknown file handle gives -EBADF (or -EINVAL for a NULL argument that is not an
 * object), never a crash.
 *
 * Threads: a zcfs_client may be used from many threads at once; a zcfs_ring by one thread at a time.
 * Destroying an object while another thread still uses it is safe: the object stays alive until
 * the calls in progress on it return, later calls get -EBADF.
 *
 * Zero copy: zcfs_pread may be given any memory, which is registered for the call. Reads through a
 * ring must land inside a registered buffer (zcfs_buf_alloc / zcfs_buf_register); registering once
 * and reusing the buffer is what data loaders should do. Data is placed into the destination by the
 * transport, with no copy in user space.
 */
#ifndef ZCFS_ZCFS_H_
#define ZCFS_ZCFS_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zcfs_client zcfs_client;
typedef struct zcfs_buf zcfs_buf;
typedef struct zcfs_ring zcfs_ring;
/* An open file: a positive number; 0 and negative values are never valid handles. */
typedef int64_t zcfs_fd;

/* ---- errors ---- */

/* The message of the last call that failed on this thread ("kNotFound: /a/b: no entry 'b' in
 * directory 1"); "" if none has failed. Successful calls do not clear it (like errno). The pointer
 * stays valid until the next zcfs call on this thread. */
const char* zcfs_last_error(void);

/* ---- connecting ---- */

typedef struct zcfs_options {
  const char* meta_address;   /* "host:port" of the meta server; NULL: "127.0.0.1:8000" */
  int32_t connect_timeout_ms; /* 0: default (3000) */
  int32_t rpc_timeout_ms;     /* per call; 0: default (10000) */
  int32_t io_threads;         /* threads serving the client's connections; 0: default (2) */
  /* Nonzero: check an end-to-end CRC32C of every read piece; a mismatch fails the read (-EIO). */
  int32_t verify_checksums;
  /* Data transport to the storage servers: "tcp", "rdma" or "auto"; NULL: "tcp" (see
   * ClientOptions::transport in zcfs/client/client.h and docs/rdma.md). */
  const char* transport;
  const char* rdma_device; /* NULL: the first RDMA device found */
  int32_t rdma_gid_index;  /* GID table entry the queue pairs use */
} zcfs_options;

/* Fills *options with the defaults (all zero/NULL). */
void zcfs_options_init(zcfs_options* options);
/* Connects to the meta server and fetches the routing table. options may be NULL (defaults).
 * Returns NULL on error (errno set, zcfs_last_error says why). */
zcfs_client* zcfs_connect(const zcfs_options* options);
/* Closes the client's files and connections and frees it. NULL is a no-op. Buffers and rings made
 * from it stay usable until they are freed (a ring keeps the client's connections alive). */
void zcfs_disconnect(zcfs_client* client);

/* ---- namespace (absolute paths, "/a/b") ---- */

enum {
  ZCFS_TYPE_UNKNOWN = 0,
  ZCFS_TYPE_REGULAR = 1,
  ZCFS_TYPE_DIRECTORY = 2,
  ZCFS_TYPE_SYMLINK = 3,
};

typedef struct zcfs_attr {
  uint64_t ino;
  uint32_t type; /* ZCFS_TYPE_* */
  uint32_t mode; /* permission bits */
  uint32_t uid;
  uint32_t gid;
  uint64_t size;
  uint32_t nlink;
  uint32_t chunk_size; /* regular files: bytes per chunk */
  int64_t atime_ns;
  int64_t mtime_ns;
  int64_t ctime_ns;
} zcfs_attr;

typedef struct zcfs_fs_stats {
  uint64_t capacity_bytes; /* of the online storage targets */
  uint64_t used_bytes;
  uint64_t inodes; /* files, directories and symlinks in use */
  uint32_t online_nodes;
  uint32_t offline_nodes;
} zcfs_fs_stats;

typedef struct zcfs_dirent {
  const char* name; /* valid during the callback only */
  uint64_t ino;
  uint32_t type; /* ZCFS_TYPE_* */
} zcfs_dirent;

/* Called once per directory entry; return nonzero to stop early. */
typedef int (*zcfs_readdir_fn)(const zcfs_dirent* entry, void* arg);

int zcfs_stat(zcfs_client* client, const char* path, zcfs_attr* out);
int zcfs_statfs(zcfs_client* client, zcfs_fs_stats* out);
int zcfs_mkdir(zcfs_client* client, const char* path, uint32_t mode);
/* Creates the missing directories along path (mkdir -p); an existing directory is not an error. */
int zcfs_mkdirs(zcfs_client* client, const char* path, uint32_t mode);
/* Removes a file or symlink (a directory: -EISDIR). */
int zcfs_unlink(zcfs_client* client, const char* path);
/* Removes an empty directory (not empty: -ENOTEMPTY, not a directory: -ENOTDIR). */
int zcfs_rmdir(zcfs_client* client, const char* path);
/* Removes a file, a symlink or an empty directory. */
int zcfs_remove(zcfs_client* client, const char* path);
/* rename(2): replaces an existing `to` (as POSIX allows). */
int zcfs_rename(zcfs_client* client, const char* from, const char* to);
/* Calls fn for every entry of the directory in name order ("." and ".." are not listed).
 * Returns the number of entries delivered, or a negative errno. */
int64_t zcfs_readdir(zcfs_client* client, const char* path, zcfs_readdir_fn fn, void* arg);

/* ---- files ---- */

/* open(2) flags (O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND from <fcntl.h>);
 * mode applies with O_CREAT. Returns a handle (> 0) or a negative errno (a directory: -EISDIR). */
zcfs_fd zcfs_open(zcfs_client* client, const char* path, int flags, uint32_t mode);
/* Ends the handle; the file's size grows to cover what was written through it. A second close of
 * the same handle: -EBADF. */
int zcfs_close(zcfs_client* client, zcfs_fd fd);
/* The file's attributes as the handle knows them (as of open, grown by its own writes). */
int zcfs_fstat(zcfs_client* client, zcfs_fd fd, zcfs_attr* out);
/* Reads up to `count` bytes at `offset` into buf; returns the bytes read (fewer at the end of the
 * file, 0 at or past it) or a negative errno. */
int64_t zcfs_pread(zcfs_client* client, zcfs_fd fd, void* buf, size_t count, uint64_t offset);
/* Writes `count` bytes at `offset`; returns count or a negative errno. */
int64_t zcfs_pwrite(zcfs_client* client, zcfs_fd fd, const void* buf, size_t count, uint64_t offset);
/* As pread/pwrite at the handle's position, which they advance (O_APPEND: writes go to the end). */
int64_t zcfs_read(zcfs_client* client, zcfs_fd fd, void* buf, size_t count);
int64_t zcfs_write(zcfs_client* client, zcfs_fd fd, const void* buf, size_t count);

/* ---- registered buffers ---- */

/* Back the buffer with 2 MiB huge pages; fails (-EAGAIN) when the system has none reserved
 * (/proc/sys/vm/nr_hugepages) instead of falling back to normal pages. */
#define ZCFS_BUF_HUGE_PAGES 1u

/* `size` zeroed bytes, aligned to 4 KiB (2 MiB with huge pages), registered with the transport.
 * flags: 0 or ZCFS_BUF_HUGE_PAGES. NULL on error (errno set). */
zcfs_buf* zcfs_buf_alloc(zcfs_client* client, size_t size, uint32_t flags);
/* Registers the caller's memory [ptr, ptr+len), which must stay valid until zcfs_buf_free. */
zcfs_buf* zcfs_buf_register(zcfs_client* client, void* ptr, size_t len);
/* The buffer's memory and size; NULL / 0 for an invalid buffer. */
void* zcfs_buf_data(const zcfs_buf* buf);
size_t zcfs_buf_size(const zcfs_buf* buf);
/* Deregisters the buffer (and frees memory zcfs_buf_alloc made). Reads still in flight into it end
 * with -ECANCELED and never write into released memory. NULL is a no-op. */
void zcfs_buf_free(zcfs_buf* buf);

/* ---- batched asynchronous reads ---- */

typedef struct zcfs_completion {
  uint64_t user_data; /* as given to zcfs_ring_prep_read */
  int64_t result;     /* bytes read (fewer at the end of the file) or a negative errno */
} zcfs_completion;

/* A ring of at most `depth` reads prepared or in flight (0: 128). timeout_ms: each read's deadline
 * from submit (0: the client's rpc timeout); a read past it completes with -ETIMEDOUT. */
zcfs_ring* zcfs_ring_create(zcfs_client* client, uint32_t depth, uint32_t timeout_ms);
/* Queues a read of `length` bytes at `offset` of fd into dst, which must lie inside one registered
 * buffer of the ring's client (else -EINVAL). Nothing is sent until zcfs_ring_submit. Full: -EAGAIN. */
int zcfs_ring_prep_read(zcfs_ring* ring, zcfs_fd fd, uint64_t offset, size_t length, void* dst, uint64_t user_data);
/* Sends every prepared read, one batched request per storage server; returns how many. */
int64_t zcfs_ring_submit(zcfs_ring* ring);
/* Copies up to `max` ready completions into out without blocking; returns how many. When one of
 * them failed, zcfs_last_error() holds the message of the last failed one. */
int64_t zcfs_ring_poll(zcfs_ring* ring, zcfs_completion* out, size_t max);
/* As poll, but first waits until `min` completions are ready (capped at max and at the reads in
 * flight) or timeout_ms passes (negative: no limit); may return fewer than min, or 0. */
int64_t zcfs_ring_wait(zcfs_ring* ring, zcfs_completion* out, size_t max, size_t min, int32_t timeout_ms);
/* Waits for the reads in flight (their completions are dropped) and frees the ring. NULL: no-op. */
void zcfs_ring_destroy(zcfs_ring* ring);

#ifdef __cplusplus
}
#endif

#endif /* ZCFS_ZCFS_H_ */
