// An LD_PRELOAD shim that lets a test simulate a power loss after it SIGKILLs a process.
//
// A killed process leaves its writes in the page cache, so a crash test that only kills passes
// even when nothing is ever fsync'd. Under this shim, every write to a tracked file (by default
// any file named data.mdb, see power_loss_journal.hpp) still happens at once, unchanged: LMDB
// reads its data file through a read-only mmap, which must see what was written. Before the
// write, the shim appends the range's pre-image (an undo record) to FILE.unsynced; after an
// fsync or fdatasync of the file returns, it empties that journal, since everything written so
// far is then durable. A write through an fd opened with O_SYNC or O_DSYNC (LMDB writes its meta
// page through one) is durable when it returns: after it returns, the shim appends its new bytes
// (a redo record). tests/support/power_loss.hpp turns a killed process's file and journal into
// the file a power loss at the moment of the kill may have left.
//
// Intercepted: open, open64, openat, openat64, creat, creat64 and their fortified forms; close,
// dup, dup2, dup3, fcntl (F_DUPFD, F_DUPFD_CLOEXEC, F_SETFL); write, pwrite, writev, pwritev,
// pwritev2 and their 64-bit names; ftruncate, and O_TRUNC at open (the content it cuts is
// journaled as a pre-image); fsync, fdatasync, syncfs, sync; mmap (a shared writable map of a
// tracked file aborts the process: writes through it would escape the journal). sync_file_range
// and msync are passed through and count as no sync: sync_file_range flushes neither metadata
// nor the disk's cache (its manual says not to rely on it), and a tracked file can only be
// mapped read-only. Not intercepted (a tracked file must not use them): fallocate,
// copy_file_range, sendfile, splice, io_uring, aio. LMDB 0.9.24 without MDB_WRITEMAP was seen
// to use open (twice: one fd with O_DSYNC for meta pages), pwrite, lseek + writev, fdatasync
// and a read-only mmap on data.mdb.
//
// Thread safety: one mutex serializes every operation on a tracked file, from the pre-image read
// to the journal append after the write, so the journal's order is the order of the writes and a
// sync never empties the journal of a write it may not have covered. An fd that is not tracked
// costs one atomic load. The shim's own I/O goes to the real functions, so it never re-enters
// itself; it allocates no memory after it has resolved them.
//
// The journal itself is written with plain write(2) and never synced: the simulation is of a
// killed process followed by a power loss, and a killed process's writes are all in the page
// cache when the test reads the journal.
#undef _FORTIFY_SOURCE
#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/power_loss_shim.hpp"

namespace {

using namespace debros::test::power_loss::shim;

// -- interception helpers -----------------------------------------------------------------------

// A write of `iov` to `fd` at `offset` (-1: the fd's current position), performed by `call`.
// `durable` is true for a call that is synchronous by itself (pwritev2 with RWF_DSYNC).
template <class Call>
ssize_t tracked_write(const char* name, int fd, const iovec* iov, int count, off_t offset,
                      bool durable, Call call) {
  ensure_initialized();
  if (state_of(fd) == 0)
    return call();
  lock_guard guard;
  uint32_t state = checked_state_of(fd); // again, under the lock: a close may have raced
  if (state == 0)
    return call();
  auto& f = file_of(state);
  note_call(name, f);
  uint64_t at;
  if ((state & fd_append) != 0) {
    at = size_of(f); // O_APPEND writes at the end, even pwrite on Linux
  } else if (offset >= 0) {
    at = static_cast<uint64_t>(offset);
  } else {
    off_t pos = lseek(fd, 0, SEEK_CUR);
    if (pos < 0)
      return call(); // not seekable: the call fails the same way for the caller
    at = static_cast<uint64_t>(pos);
  }
  uint64_t total = 0;
  for (int i = 0; i < count; ++i)
    total += iov[i].iov_len;
  record_undo(f, at, total);
  ssize_t n = call();
  int saved = errno;
  if (n > 0 && (durable || (state & fd_dsync) != 0) && !syncs_ignored)
    record_redo(f, at, iov, count, static_cast<size_t>(n));
  errno = saved;
  return n;
}

template <class Call>
int tracked_sync(const char* name, int fd, Call call) {
  ensure_initialized();
  if (state_of(fd) == 0)
    return call();
  if (sync_delay_ms > 0) {
    timespec delay{sync_delay_ms / 1000, (sync_delay_ms % 1000) * 1000000};
    while (nanosleep(&delay, &delay) != 0 && errno == EINTR) {
    }
  }
  lock_guard guard;
  uint32_t state = checked_state_of(fd);
  int rc = call();
  if (state != 0) {
    note_call(name, file_of(state));
    int saved = errno;
    if (rc == 0)
      forget_unsynced(file_of(state));
    errno = saved;
  }
  return rc;
}

int tracked_truncate(int fd, off_t length, ftruncate_fn fn) {
  ensure_initialized();
  if (state_of(fd) == 0 || length < 0)
    return fn(fd, length);
  lock_guard guard;
  uint32_t state = checked_state_of(fd);
  if (state == 0)
    return fn(fd, length);
  auto& f = file_of(state);
  note_call("ftruncate", f);
  uint64_t size = size_of(f);
  auto to = static_cast<uint64_t>(length);
  record_undo(f, to < size ? to : size, to < size ? size - to : 0);
  return fn(fd, length);
}

// After a successful dup of `from` into `to`.
int after_dup(int from, int to) {
  if (to < 0)
    return to;
  lock_guard guard;
  set_state(to, state_of(from));
  return to;
}

mode_t mode_argument(int flags, va_list ap) {
  if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE)
    return static_cast<mode_t>(va_arg(ap, int));
  return 0;
}

int missing() {
  errno = ENOSYS;
  return -1;
}

int shim_fcntl(fcntl_fn fn, int fd, int cmd, void* arg) {
  ensure_initialized();
  if (fn == nullptr)
    return missing();
  int rc = fn(fd, cmd, arg);
  if (rc < 0 || state_of(fd) == 0)
    return rc;
  if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
    after_dup(fd, rc);
  } else if (cmd == F_SETFL) {
    lock_guard guard;
    uint32_t state = state_of(fd) & ~fd_append;
    if ((reinterpret_cast<intptr_t>(arg) & O_APPEND) != 0)
      state |= fd_append;
    set_state(fd, state);
  }
  return rc;
}

} // namespace

// -- the intercepted functions ------------------------------------------------------------------

extern "C" {

int open(const char* path, int flags, ...) {
  ensure_initialized();
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_argument(flags, ap);
  va_end(ap);
  before_truncating_open(AT_FDCWD, path, flags);
  return after_open(real.open(path, flags, mode), path, flags);
}

int open64(const char* path, int flags, ...) {
  ensure_initialized();
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_argument(flags, ap);
  va_end(ap);
  before_truncating_open(AT_FDCWD, path, flags);
  return after_open(real.open64(path, flags, mode), path, flags);
}

int openat(int dirfd, const char* path, int flags, ...) {
  ensure_initialized();
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_argument(flags, ap);
  va_end(ap);
  before_truncating_open(dirfd, path, flags);
  return after_open(real.openat(dirfd, path, flags, mode), path, flags);
}

int openat64(int dirfd, const char* path, int flags, ...) {
  ensure_initialized();
  va_list ap;
  va_start(ap, flags);
  mode_t mode = mode_argument(flags, ap);
  va_end(ap);
  before_truncating_open(dirfd, path, flags);
  return after_open(real.openat64(dirfd, path, flags, mode), path, flags);
}

int __open_2(const char* path, int flags) {
  ensure_initialized();
  before_truncating_open(AT_FDCWD, path, flags);
  return real.open_2 ? after_open(real.open_2(path, flags), path, flags) : missing();
}

int __open64_2(const char* path, int flags) {
  ensure_initialized();
  before_truncating_open(AT_FDCWD, path, flags);
  return real.open64_2 ? after_open(real.open64_2(path, flags), path, flags) : missing();
}

int __openat_2(int dirfd, const char* path, int flags) {
  ensure_initialized();
  before_truncating_open(dirfd, path, flags);
  return real.openat_2 ? after_open(real.openat_2(dirfd, path, flags), path, flags) : missing();
}

int __openat64_2(int dirfd, const char* path, int flags) {
  ensure_initialized();
  before_truncating_open(dirfd, path, flags);
  return real.openat64_2 ? after_open(real.openat64_2(dirfd, path, flags), path, flags) : missing();
}

int creat(const char* path, mode_t mode) {
  ensure_initialized();
  before_truncating_open(AT_FDCWD, path, O_TRUNC);
  return after_open(real.creat(path, mode), path, O_CREAT | O_WRONLY | O_TRUNC);
}

int creat64(const char* path, mode_t mode) {
  ensure_initialized();
  before_truncating_open(AT_FDCWD, path, O_TRUNC);
  return after_open(real.creat64(path, mode), path, O_CREAT | O_WRONLY | O_TRUNC);
}

int close(int fd) {
  ensure_initialized();
  if (state_of(fd) != 0) {
    lock_guard guard;
    set_state(fd, 0);
  }
  return real.close(fd);
}

int dup(int fd) {
  ensure_initialized();
  return after_dup(fd, real.dup(fd));
}

int dup2(int from, int to) {
  ensure_initialized();
  return after_dup(from, real.dup2(from, to));
}

int dup3(int from, int to, int flags) {
  ensure_initialized();
  return after_dup(from, real.dup3(from, to, flags));
}

int fcntl(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return shim_fcntl(real.fcntl, fd, cmd, arg);
}

int fcntl64(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  return shim_fcntl(real.fcntl64, fd, cmd, arg);
}

ssize_t write(int fd, const void* buf, size_t n) {
  iovec iov{const_cast<void*>(buf), n};
  return tracked_write("write", fd, &iov, 1, -1, false, [&] { return real.write(fd, buf, n); });
}

ssize_t pwrite(int fd, const void* buf, size_t n, off_t offset) {
  iovec iov{const_cast<void*>(buf), n};
  return tracked_write("pwrite", fd, &iov, 1, offset, false,
                       [&] { return real.pwrite(fd, buf, n, offset); });
}

ssize_t pwrite64(int fd, const void* buf, size_t n, off_t offset) {
  iovec iov{const_cast<void*>(buf), n};
  return tracked_write("pwrite64", fd, &iov, 1, offset, false,
                       [&] { return real.pwrite64(fd, buf, n, offset); });
}

ssize_t writev(int fd, const iovec* iov, int count) {
  return tracked_write("writev", fd, iov, count, -1, false,
                       [&] { return real.writev(fd, iov, count); });
}

ssize_t pwritev(int fd, const iovec* iov, int count, off_t offset) {
  return tracked_write("pwritev", fd, iov, count, offset, false,
                       [&] { return real.pwritev(fd, iov, count, offset); });
}

ssize_t pwritev64(int fd, const iovec* iov, int count, off_t offset) {
  return tracked_write("pwritev64", fd, iov, count, offset, false,
                       [&] { return real.pwritev64(fd, iov, count, offset); });
}

ssize_t pwritev2(int fd, const iovec* iov, int count, off_t offset, int flags) {
  // offset -1 means the current position; RWF_DSYNC/RWF_SYNC make this one write durable.
  return tracked_write(
      "pwritev2", fd, iov, count, offset, (flags & (RWF_DSYNC | RWF_SYNC)) != 0, [&]() -> ssize_t {
        return real.pwritev2 ? real.pwritev2(fd, iov, count, offset, flags) : missing();
      });
}

ssize_t pwritev64v2(int fd, const iovec* iov, int count, off_t offset, int flags) {
  return tracked_write("pwritev64v2", fd, iov, count, offset, (flags & (RWF_DSYNC | RWF_SYNC)) != 0,
                       [&]() -> ssize_t {
                         return real.pwritev64v2 ? real.pwritev64v2(fd, iov, count, offset, flags)
                                                 : missing();
                       });
}

int ftruncate(int fd, off_t length) {
  ensure_initialized();
  return tracked_truncate(fd, length, real.ftruncate);
}

int ftruncate64(int fd, off_t length) {
  ensure_initialized();
  return tracked_truncate(fd, length, real.ftruncate64);
}

int fsync(int fd) {
  return tracked_sync("fsync", fd, [&] { return real.fsync(fd); });
}

int fdatasync(int fd) {
  return tracked_sync("fdatasync", fd, [&] { return real.fdatasync(fd); });
}

void sync() {
  ensure_initialized();
  lock_guard guard;
  real.sync();
  forget_unsynced_files(nullptr);
}

int syncfs(int fd) {
  ensure_initialized();
  lock_guard guard;
  int rc = real.syncfs(fd);
  struct stat st;
  if (rc == 0 && fstat(fd, &st) == 0)
    forget_unsynced_files(&st.st_dev);
  return rc;
}

void* mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  ensure_initialized();
  uint32_t state = state_of(fd);
  if (state != 0 && (prot & PROT_WRITE) != 0 && (flags & MAP_SHARED) != 0)
    die("a shared writable map of a tracked file (its writes would escape the journal): ",
        file_of(state).path);
  if (state != 0) {
    lock_guard guard;
    note_call("mmap (read-only)", file_of(state));
  }
  return real.mmap(addr, length, prot, flags, fd, offset);
}

void* mmap64(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  ensure_initialized();
  uint32_t state = state_of(fd);
  if (state != 0 && (prot & PROT_WRITE) != 0 && (flags & MAP_SHARED) != 0)
    die("a shared writable map of a tracked file (its writes would escape the journal): ",
        file_of(state).path);
  return real.mmap64(addr, length, prot, flags, fd, offset);
}

} // extern "C"
