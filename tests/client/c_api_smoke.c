/* The C API used from C: proves zcfs.h is a C header and exercises it as a C program would. */
#include "client/c_api_smoke.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zcfs/zcfs.h"

static char failure[1024];

/* Fails the scenario with the expression, the line and the library's last error message. */
#define EXPECT(cond)                                                                                          \
  do {                                                                                                        \
    if (!(cond)) {                                                                                            \
      snprintf(failure, sizeof(failure), "line %d: %s (last error: %s)", __LINE__, #cond, zcfs_last_error()); \
      goto done;                                                                                              \
    }                                                                                                         \
  } while (0)

enum { kFileSize = 100 * 1024, kSlot = 128 * 1024, kFiles = 8 };

static unsigned char pattern_byte(int file, size_t offset) {
  return (unsigned char)(file * 31 + offset * 7 + offset / 4096);
}

static zcfs_client* connect_to(const char* meta) {
  zcfs_options options;
  zcfs_options_init(&options);
  options.meta_address = meta;
  options.verify_checksums = 1;
  return zcfs_connect(&options);
}

struct listing {
  int count;
  char names[8][16];
};

static int collect(const zcfs_dirent* entry, void* arg) {
  struct listing* l = (struct listing*)arg;
  if (l->count < 8) snprintf(l->names[l->count], sizeof(l->names[0]), "%s", entry->name);
  l->count++;
  return 0;
}

/* Writes /c/a/b/f in three sequential writes and one pwrite over part of it; returns 0 or -errno. */
static int64_t write_file(zcfs_client* c, const unsigned char* data) {
  zcfs_fd fd = zcfs_open(c, "/c/a/b/f", O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd <= 0) return fd;
  int64_t rc = zcfs_write(c, fd, data, 1000);
  if (rc == 1000) rc = zcfs_write(c, fd, data + 1000, kFileSize - 1000);
  if (rc == kFileSize - 1000) rc = zcfs_pwrite(c, fd, data + 5000, 3000, 5000); /* same bytes again */
  int closed = zcfs_close(c, fd);
  return rc < 0 ? rc : closed;
}

const char* c_api_smoke_files(const char* meta) {
  const char* result = failure;
  unsigned char* data = malloc(kFileSize);
  unsigned char* back = calloc(1, kFileSize + 10);
  zcfs_client* c = connect_to(meta);
  EXPECT(c != NULL && data != NULL && back != NULL);
  for (size_t i = 0; i < kFileSize; ++i) data[i] = pattern_byte(1, i);

  EXPECT(zcfs_mkdirs(c, "/c/a/b", 0755) == 0);
  EXPECT(zcfs_mkdirs(c, "/c/a/b", 0755) == 0); /* mkdir -p: existing is fine */
  EXPECT(zcfs_mkdir(c, "/c/x", 0700) == 0);
  EXPECT(zcfs_mkdir(c, "/c/x", 0700) == -EEXIST);
  EXPECT(write_file(c, data) == 0);

  zcfs_attr attr;
  EXPECT(zcfs_stat(c, "/c/a/b/f", &attr) == 0);
  EXPECT(attr.type == ZCFS_TYPE_REGULAR && attr.size == kFileSize && attr.mode == 0644);
  EXPECT(zcfs_stat(c, "/c/x", &attr) == 0 && attr.type == ZCFS_TYPE_DIRECTORY);

  zcfs_fd fd = zcfs_open(c, "/c/a/b/f", O_RDONLY, 0);
  EXPECT(fd > 0);
  EXPECT(zcfs_pread(c, fd, back, kFileSize + 10, 0) == kFileSize); /* short at the end */
  EXPECT(memcmp(back, data, kFileSize) == 0);
  memset(back, 0, kFileSize);
  EXPECT(zcfs_read(c, fd, back, 40000) == 40000);
  EXPECT(zcfs_read(c, fd, back + 40000, 70000) == kFileSize - 40000);
  EXPECT(zcfs_read(c, fd, back, 10) == 0); /* at the end */
  EXPECT(memcmp(back, data, kFileSize) == 0);
  EXPECT(zcfs_pread(c, fd, back, 10, kFileSize + 100) == 0);
  EXPECT(zcfs_fstat(c, fd, &attr) == 0 && attr.size == kFileSize);
  EXPECT(zcfs_pwrite(c, fd, data, 10, 0) == -EBADF); /* opened read-only */
  EXPECT(zcfs_close(c, fd) == 0);
  EXPECT(zcfs_close(c, fd) == -EBADF);
  EXPECT(zcfs_pread(c, fd, back, 10, 0) == -EBADF);
  EXPECT(zcfs_open(c, "/c/x", O_RDONLY, 0) == -EISDIR);
  EXPECT(zcfs_open(c, "/c/nothing", O_RDONLY, 0) == -ENOENT);
  EXPECT(strstr(zcfs_last_error(), "nothing") != NULL);

  struct listing l = {0};
  EXPECT(zcfs_readdir(c, "/c", collect, &l) == 2);
  EXPECT(l.count == 2 && strcmp(l.names[0], "a") == 0 && strcmp(l.names[1], "x") == 0);
  EXPECT(zcfs_readdir(c, "/c/a/b/f", collect, &l) == -ENOTDIR);

  EXPECT(zcfs_rename(c, "/c/a/b/f", "/c/g") == 0);
  EXPECT(zcfs_stat(c, "/c/a/b/f", &attr) == -ENOENT);
  EXPECT(zcfs_stat(c, "/c/g", &attr) == 0 && attr.size == kFileSize);
  EXPECT(zcfs_unlink(c, "/c/x") == -EISDIR);
  EXPECT(zcfs_rmdir(c, "/c/g") == -ENOTDIR);
  EXPECT(zcfs_rmdir(c, "/c/a") == -ENOTEMPTY);
  EXPECT(zcfs_unlink(c, "/c/g") == 0);
  EXPECT(zcfs_rmdir(c, "/c/a/b") == 0);
  EXPECT(zcfs_remove(c, "/c/a") == 0);
  EXPECT(zcfs_stat(c, "/c/a", &attr) == -ENOENT);

  zcfs_fs_stats fs;
  EXPECT(zcfs_statfs(c, &fs) == 0);
  EXPECT(fs.online_nodes >= 1 && fs.capacity_bytes > 0 && fs.inodes >= 3);
  result = NULL;
done:
  zcfs_disconnect(c);
  free(data);
  free(back);
  return result;
}

/* Files /r/0 .. /r/7, kFileSize bytes each, with distinct contents; returns their handles. */
static int write_ring_files(zcfs_client* c, zcfs_fd* fds) {
  unsigned char* data = malloc(kFileSize);
  int rc = data == NULL ? -ENOMEM : zcfs_mkdirs(c, "/r", 0755);
  for (int f = 0; f < kFiles && rc == 0; ++f) {
    char path[32];
    snprintf(path, sizeof(path), "/r/%d", f);
    for (size_t i = 0; i < kFileSize; ++i) data[i] = pattern_byte(f, i);
    fds[f] = zcfs_open(c, path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fds[f] <= 0) rc = (int)fds[f];
    if (rc == 0 && zcfs_pwrite(c, fds[f], data, kFileSize, 0) != kFileSize) rc = -EIO;
  }
  free(data);
  return rc;
}

/* Waits until `n` completions arrived; returns how many did. */
static int64_t wait_all(zcfs_ring* ring, zcfs_completion* done, size_t n) {
  int64_t got = 0;
  while ((size_t)got < n) {
    int64_t r = zcfs_ring_wait(ring, done + got, n - (size_t)got, n - (size_t)got, -1);
    if (r <= 0) return r < 0 ? r : got;
    got += r;
  }
  return got;
}

static int check_slot(const unsigned char* slot, int file, size_t offset, size_t length) {
  for (size_t i = 0; i < length; ++i) {
    if (slot[i] != pattern_byte(file, offset + i)) return 0;
  }
  return 1;
}

const char* c_api_smoke_ring(const char* meta) {
  const char* result = failure;
  zcfs_fd fds[kFiles] = {0};
  zcfs_buf* buf = NULL;
  zcfs_buf* mine = NULL;
  zcfs_ring* ring = NULL;
  unsigned char* own = malloc(kSlot);
  unsigned char* loose = malloc(4096);
  zcfs_completion done[kFiles + 2];
  zcfs_client* c = connect_to(meta);
  EXPECT(c != NULL && own != NULL && loose != NULL);
  EXPECT(write_ring_files(c, fds) == 0);

  buf = zcfs_buf_alloc(c, kFiles * kSlot, 0);
  EXPECT(buf != NULL && zcfs_buf_size(buf) == kFiles * kSlot && ((uintptr_t)zcfs_buf_data(buf) % 4096) == 0);
  mine = zcfs_buf_register(c, own, kSlot);
  EXPECT(mine != NULL && zcfs_buf_data(mine) == own);
  ring = zcfs_ring_create(c, 16, 0);
  EXPECT(ring != NULL);

  unsigned char* base = zcfs_buf_data(buf);
  for (int f = 0; f < kFiles; ++f) {
    EXPECT(zcfs_ring_prep_read(ring, fds[f], 0, kFileSize, base + (size_t)f * kSlot, (uint64_t)f) == 0);
  }
  /* The end of file 3 into the caller's registered memory: a short read. */
  EXPECT(zcfs_ring_prep_read(ring, fds[3], kFileSize - 10, 100, own, 100) == 0);
  /* Bad entries are refused at prepare and queue nothing. */
  EXPECT(zcfs_ring_prep_read(ring, fds[0], 0, 100, loose, 1) == -EINVAL); /* not registered */
  EXPECT(zcfs_ring_prep_read(ring, 987654, 0, 100, own, 1) == -EBADF);
  EXPECT(zcfs_ring_prep_read(ring, fds[0], 0, 100, NULL, 1) == -EINVAL);
  EXPECT(zcfs_ring_submit(ring) == kFiles + 1);

  EXPECT(wait_all(ring, done, kFiles + 1) == kFiles + 1);
  EXPECT(zcfs_ring_poll(ring, done + kFiles + 1, 1) == 0); /* nothing more */
  for (int i = 0; i < kFiles + 1; ++i) {
    uint64_t u = done[i].user_data;
    if (u == 100) {
      EXPECT(done[i].result == 10 && check_slot(own, 3, kFileSize - 10, 10));
    } else {
      EXPECT(u < kFiles && done[i].result == kFileSize);
      EXPECT(check_slot(base + u * kSlot, (int)u, 0, kFileSize));
    }
  }

  /* The ring keeps the client's connections: it still reads after the client is disconnected. */
  zcfs_disconnect(c);
  zcfs_attr attr;
  EXPECT(zcfs_stat(c, "/r/0", &attr) == -EBADF);
  c = NULL;
  memset(own, 0, kSlot);
  EXPECT(zcfs_ring_prep_read(ring, fds[5], 4096, 8192, own, 7) == 0);
  EXPECT(zcfs_ring_submit(ring) == 1);
  EXPECT(wait_all(ring, done, 1) == 1);
  EXPECT(done[0].user_data == 7 && done[0].result == 8192 && check_slot(own, 5, 4096, 8192));
  result = NULL;
done:
  zcfs_ring_destroy(ring);
  /* Stale pointers are recognised, not dereferenced. */
  if (result == NULL && zcfs_ring_submit(ring) != -EBADF) result = "a destroyed ring still answered";
  zcfs_buf_free(mine);
  zcfs_buf_free(buf);
  if (result == NULL && buf != NULL && zcfs_buf_data(buf) != NULL) result = "a freed buffer still has data";
  zcfs_disconnect(c);
  free(own);
  free(loose);
  return result;
}
