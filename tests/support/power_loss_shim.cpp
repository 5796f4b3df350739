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
#include <climits>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tests/support/power_loss_journal.hpp"

namespace {

using namespace debros::test::power_loss;

// -- the real functions -------------------------------------------------------------------------

using open_fn = int (*)(const char*, int, ...);
using openat_fn = int (*)(int, const char*, int, ...);
using open2_fn = int (*)(const char*, int);
using openat2_fn = int (*)(int, const char*, int);
using creat_fn = int (*)(const char*, mode_t);
using write_fn = ssize_t (*)(int, const void*, size_t);
using pwrite_fn = ssize_t (*)(int, const void*, size_t, off_t);
using writev_fn = ssize_t (*)(int, const iovec*, int);
using pwritev_fn = ssize_t (*)(int, const iovec*, int, off_t);
using pwritev2_fn = ssize_t (*)(int, const iovec*, int, off_t, int);
using fd_fn = int (*)(int);
using dup2_fn = int (*)(int, int);
using dup3_fn = int (*)(int, int, int);
using fcntl_fn = int (*)(int, int, ...);
using ftruncate_fn = int (*)(int, off_t);
using sync_fn = void (*)();
using mmap_fn = void* (*)(void*, size_t, int, int, int, off_t);

struct real_functions {
  open_fn open, open64;
  openat_fn openat, openat64;
  open2_fn open_2, open64_2;
  openat2_fn openat_2, openat64_2;
  creat_fn creat, creat64;
  write_fn write;
  pwrite_fn pwrite, pwrite64;
  writev_fn writev;
  pwritev_fn pwritev, pwritev64;
  pwritev2_fn pwritev2, pwritev64v2;
  fd_fn close, dup, fsync, fdatasync, syncfs;
  dup2_fn dup2;
  dup3_fn dup3;
  fcntl_fn fcntl, fcntl64;
  ftruncate_fn ftruncate, ftruncate64;
  sync_fn sync;
  mmap_fn mmap, mmap64;
};

real_functions real;

template <class F>
void resolve(F& slot, const char* name) {
  slot = reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

// -- configuration ------------------------------------------------------------------------------

constexpr int names_max = 16;
constexpr size_t name_bytes_max = 256;
char names[names_max][name_bytes_max];
int names_used = 0;
bool log_enabled = false;
bool syncs_ignored = false;

void read_configuration() {
  const char* list = getenv(files_variable);
  if (list == nullptr)
    list = "data.mdb";
  while (*list != '\0' && names_used < names_max) {
    const char* end = strchr(list, ',');
    size_t n = end != nullptr ? static_cast<size_t>(end - list) : strlen(list);
    if (n > 0 && n < name_bytes_max) {
      memcpy(names[names_used], list, n);
      names[names_used][n] = '\0';
      ++names_used;
    }
    list += n;
    if (*list == ',')
      ++list;
  }
  const char* log = getenv(log_variable);
  log_enabled = log != nullptr && strcmp(log, "1") == 0;
  const char* sync = getenv(sync_variable);
  syncs_ignored = sync != nullptr && strcmp(sync, "ignore") == 0;
}

pthread_once_t init_once = PTHREAD_ONCE_INIT;

void initialize() {
  resolve(real.open, "open");
  resolve(real.open64, "open64");
  resolve(real.openat, "openat");
  resolve(real.openat64, "openat64");
  resolve(real.open_2, "__open_2");
  resolve(real.open64_2, "__open64_2");
  resolve(real.openat_2, "__openat_2");
  resolve(real.openat64_2, "__openat64_2");
  resolve(real.creat, "creat");
  resolve(real.creat64, "creat64");
  resolve(real.write, "write");
  resolve(real.pwrite, "pwrite");
  resolve(real.pwrite64, "pwrite64");
  resolve(real.writev, "writev");
  resolve(real.pwritev, "pwritev");
  resolve(real.pwritev64, "pwritev64");
  resolve(real.pwritev2, "pwritev2");
  resolve(real.pwritev64v2, "pwritev64v2");
  resolve(real.close, "close");
  resolve(real.dup, "dup");
  resolve(real.dup2, "dup2");
  resolve(real.dup3, "dup3");
  resolve(real.fcntl, "fcntl");
  resolve(real.fcntl64, "fcntl64");
  resolve(real.fsync, "fsync");
  resolve(real.fdatasync, "fdatasync");
  resolve(real.syncfs, "syncfs");
  resolve(real.sync, "sync");
  resolve(real.ftruncate, "ftruncate");
  resolve(real.ftruncate64, "ftruncate64");
  resolve(real.mmap, "mmap");
  resolve(real.mmap64, "mmap64");
  read_configuration();
}

void ensure_initialized() {
  pthread_once(&init_once, initialize);
}

__attribute__((constructor)) void initialize_at_load() {
  ensure_initialized();
}

// -- failure and logging ------------------------------------------------------------------------

void say(const char* a, const char* b = "", const char* c = "") {
  char line[1024];
  int n = snprintf(line, sizeof line, "debros power-loss shim (pid %d): %s%s%s\n",
                   static_cast<int>(getpid()), a, b, c);
  if (n > 0 && real.write != nullptr)
    real.write(STDERR_FILENO, line, static_cast<size_t>(n) < sizeof line ? n : sizeof line - 1);
}

// The simulation cannot be trusted any more: stop the process loudly, so that the test fails.
[[noreturn]] void die(const char* what, const char* detail = "") {
  say("fatal: ", what, detail);
  abort();
}

struct tracked_file;
void record_undo(const tracked_file& f, uint64_t offset, uint64_t length);

// -- tracked files and descriptors --------------------------------------------------------------

struct tracked_file {
  dev_t dev;
  ino_t ino;
  int read_fd;    // for pre-images (the tracked fd may be write-only)
  int journal_fd; // FILE.unsynced, O_APPEND
  char path[PATH_MAX];
};

constexpr int files_max = 32;
tracked_file files[files_max];
int files_used = 0;

// Per descriptor: 0 when untracked, else (index of the file + 1) | flags.
constexpr int fds_max = 1 << 16;
constexpr uint32_t fd_file_mask = 0xff;
constexpr uint32_t fd_dsync = 1u << 8;
constexpr uint32_t fd_append = 1u << 9;
uint32_t fd_states[fds_max];

pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;

struct lock_guard {
  lock_guard() { pthread_mutex_lock(&mtx); }
  ~lock_guard() { pthread_mutex_unlock(&mtx); }
  lock_guard(const lock_guard&) = delete;
  lock_guard& operator=(const lock_guard&) = delete;
};

uint32_t state_of(int fd) {
  if (fd < 0 || fd >= fds_max)
    return 0;
  return __atomic_load_n(&fd_states[fd], __ATOMIC_ACQUIRE);
}

void set_state(int fd, uint32_t state) {
  if (fd < 0 || fd >= fds_max) {
    if (state != 0)
      die("descriptor number too large to track");
    return;
  }
  __atomic_store_n(&fd_states[fd], state, __ATOMIC_RELEASE);
}

tracked_file& file_of(uint32_t state) {
  return files[(state & fd_file_mask) - 1];
}

bool tracked_name(const char* path) {
  if (path == nullptr)
    return false;
  size_t len = strlen(path);
  for (int i = 0; i < names_used; ++i) {
    size_t n = strlen(names[i]);
    if (len >= n && strcmp(path + len - n, names[i]) == 0 && (len == n || path[len - n - 1] == '/'))
      return true;
  }
  return false;
}

// Intercepted calls used on tracked files so far, printed once each when logging.
constexpr int calls_max = 32;
const char* calls_seen[calls_max];
int calls_seen_used = 0;

void note_call(const char* call, const tracked_file& f) {
  if (!log_enabled)
    return;
  for (int i = 0; i < calls_seen_used; ++i)
    if (calls_seen[i] == call)
      return;
  if (calls_seen_used < calls_max)
    calls_seen[calls_seen_used++] = call;
  say(call, " on ", f.path);
}

// The tracked file of inode (dev, ino), registered on first sight. Called with the lock held.
int register_file(int fd, const struct stat& st) {
  for (int i = 0; i < files_used; ++i)
    if (files[i].dev == st.st_dev && files[i].ino == st.st_ino)
      return i;
  if (files_used == files_max)
    die("too many tracked files");
  auto& f = files[files_used];
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, f.path, sizeof f.path - 16);
  if (n <= 0)
    die("cannot resolve the path of a tracked file");
  f.path[n] = '\0';
  f.dev = st.st_dev;
  f.ino = st.st_ino;
  f.read_fd = real.open(f.path, O_RDONLY | O_CLOEXEC);
  if (f.read_fd < 0)
    die("cannot open for pre-images: ", f.path);
  char journal[PATH_MAX + 16];
  snprintf(journal, sizeof journal, "%s%s", f.path, journal_suffix);
  // Appended to, never emptied at open: writes a previous process left unsynced are still
  // unsynced.
  f.journal_fd = real.open(journal, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (f.journal_fd < 0)
    die("cannot open the journal ", journal);
  return files_used++;
}

// Before an open with O_TRUNC of an existing tracked file: journals the content it will cut.
void before_truncating_open(int dirfd, const char* path, int flags) {
  if ((flags & O_TRUNC) == 0 || !tracked_name(path))
    return;
  int saved = errno;
  int fd = real.openat(dirfd, path, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    struct stat st;
    if (fstat(fd, &st) != 0)
      die("cannot stat a tracked file: ", path);
    if (S_ISREG(st.st_mode)) {
      lock_guard guard;
      auto& f = files[register_file(fd, st)];
      note_call("open (O_TRUNC)", f);
      record_undo(f, 0, static_cast<uint64_t>(st.st_size));
    }
    real.close(fd);
  }
  errno = saved;
}

// The state of `fd`, checked against the file it names now, with the lock held. A descriptor
// closed behind the shim's back (glibc's internal close, close_range) and reused for another
// file is forgotten here rather than journaled as the tracked file.
uint32_t checked_state_of(int fd) {
  uint32_t state = state_of(fd);
  if (state == 0)
    return 0;
  struct stat st;
  auto& f = file_of(state);
  if (fstat(fd, &st) == 0 && st.st_dev == f.dev && st.st_ino == f.ino)
    return state;
  set_state(fd, 0);
  return 0;
}

int after_open(int fd, const char* path, int flags) {
  if (fd >= 0 && state_of(fd) != 0 && !tracked_name(path)) {
    lock_guard guard; // a stale entry (see checked_state_of)
    set_state(fd, 0);
  }
  if (fd < 0 || !tracked_name(path))
    return fd;
  int saved = errno;
  struct stat st;
  if (fstat(fd, &st) != 0)
    die("cannot stat a tracked file: ", path);
  if (S_ISREG(st.st_mode)) {
    lock_guard guard;
    int index = register_file(fd, st);
    uint32_t state = static_cast<uint32_t>(index + 1);
    if ((flags & O_DSYNC) != 0) // O_SYNC includes the O_DSYNC bit
      state |= fd_dsync;
    if ((flags & O_APPEND) != 0)
      state |= fd_append;
    set_state(fd, state);
    note_call(flags & O_DSYNC ? "open (O_DSYNC)" : "open", files[index]);
  }
  errno = saved;
  return fd;
}

// -- the journal --------------------------------------------------------------------------------

void append(const tracked_file& f, const void* data, size_t n) {
  auto p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = real.write(f.journal_fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      die("cannot append to the journal of ", f.path);
    p += w;
    n -= static_cast<size_t>(w);
  }
}

uint64_t size_of(const tracked_file& f) {
  struct stat st;
  if (fstat(f.read_fd, &st) != 0)
    die("cannot stat ", f.path);
  return static_cast<uint64_t>(st.st_size);
}

// For pre-images; used with the lock held.
char copy_buffer[size_t{1} << 20];

// Journals the pre-image of [offset, offset + length) and the current size: everything that
// a change of that range (a write, or a truncation when offset is the new size) can destroy.
void record_undo(const tracked_file& f, uint64_t offset, uint64_t length) {
  uint64_t size = size_of(f);
  uint64_t kept = offset >= size ? 0 : (length < size - offset ? length : size - offset);
  journal_record h{record_magic, undo, offset, kept, size};
  append(f, &h, sizeof h);
  for (uint64_t done = 0; done < kept;) {
    size_t want = kept - done < sizeof copy_buffer ? kept - done : sizeof copy_buffer;
    ssize_t r = pread(f.read_fd, copy_buffer, want, static_cast<off_t>(offset + done));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      die("cannot read the pre-image of a write to ", f.path);
    append(f, copy_buffer, static_cast<size_t>(r));
    done += static_cast<uint64_t>(r);
  }
}

// Journals the first `written` bytes of `iov` as written durably at `offset`.
void record_redo(const tracked_file& f, uint64_t offset, const iovec* iov, int count,
                 size_t written) {
  journal_record h{record_magic, redo, offset, written, 0};
  append(f, &h, sizeof h);
  for (int i = 0; i < count && written > 0; ++i) {
    size_t n = iov[i].iov_len < written ? iov[i].iov_len : written;
    append(f, iov[i].iov_base, n);
    written -= n;
  }
}

// Everything written to `f` so far is durable (unless syncs are ignored).
void forget_unsynced(const tracked_file& f) {
  if (syncs_ignored)
    return;
  if (real.ftruncate(f.journal_fd, 0) != 0)
    die("cannot empty the journal of ", f.path);
}

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

namespace {
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
  for (int i = 0; i < files_used; ++i)
    forget_unsynced(files[i]);
}

int syncfs(int fd) {
  ensure_initialized();
  lock_guard guard;
  int rc = real.syncfs(fd);
  struct stat st;
  if (rc == 0 && fstat(fd, &st) == 0)
    for (int i = 0; i < files_used; ++i)
      if (files[i].dev == st.st_dev)
        forget_unsynced(files[i]);
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
