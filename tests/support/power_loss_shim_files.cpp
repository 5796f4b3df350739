// The power-loss shim's state (see power_loss_shim.cpp for what the shim does): the real
// functions, its configuration, the tracked files and descriptors, and the journals.
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

#include "tests/support/power_loss_shim.hpp"

namespace debros::test::power_loss::shim {

// -- the real functions -------------------------------------------------------------------------

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
long sync_delay_ms = 0;

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
  if (sync != nullptr && strncmp(sync, "slow:", 5) == 0)
    sync_delay_ms = strtol(sync + 5, nullptr, 10);
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
}

pthread_once_t configuration_once = PTHREAD_ONCE_INIT;

void ensure_initialized() {
  pthread_once(&init_once, initialize);
  // A sanitizer runtime opens files (its own /proc reads) before the process has an environment;
  // the configuration is read at the first call that can see it, and until then nothing is
  // tracked (names_used is 0).
  if (environ != nullptr && environ[0] != nullptr)
    pthread_once(&configuration_once, read_configuration);
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
[[noreturn]] void die(const char* what, const char* detail) {
  say("fatal: ", what, detail);
  abort();
}

// -- tracked files and descriptors --------------------------------------------------------------

constexpr int files_max = 32;
tracked_file files[files_max];
int files_used = 0;

// Per descriptor: 0 when untracked, else (index of the file + 1) | flags.
constexpr int fds_max = 1 << 16;
uint32_t fd_states[fds_max];

pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;

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

void forget_unsynced_files(const dev_t* dev) {
  for (int i = 0; i < files_used; ++i)
    if (dev == nullptr || files[i].dev == *dev)
      forget_unsynced(files[i]);
}

} // namespace debros::test::power_loss::shim
