// The internals of the power-loss shim, shared by its two sources: power_loss_shim.cpp (the
// intercepted functions) and power_loss_shim_files.cpp (tracked files, descriptors, journals).
// Only the shim's shared library includes this.
#pragma once

#include <climits>
#include <cstdint>
#include <pthread.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "tests/support/power_loss_journal.hpp"

namespace debros::test::power_loss::shim {

// -- the real functions (resolved with dlsym(RTLD_NEXT) at load) ---------------------------------

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

extern real_functions real;

/// Resolves `real` and reads the environment, once; every intercepted function calls it first.
void ensure_initialized();

/// The simulation cannot be trusted any more: prints why and aborts, so that the test fails.
[[noreturn]] void die(const char* what, const char* detail = "");

// -- tracked files and descriptors
// -----------------------------------------------------------------

struct tracked_file {
  dev_t dev;
  ino_t ino;
  int read_fd;    // for pre-images (the tracked fd may be write-only)
  int journal_fd; // FILE.unsynced, O_APPEND
  char path[PATH_MAX];
};

// A descriptor's state: 0 when untracked, else (index of its file + 1) | these flags.
constexpr uint32_t fd_file_mask = 0xff;
constexpr uint32_t fd_dsync = 1u << 8;
constexpr uint32_t fd_append = 1u << 9;

/// Guards every tracked file, its journal and the descriptor table (see power_loss_shim.cpp).
extern pthread_mutex_t mtx;

struct lock_guard {
  lock_guard() { pthread_mutex_lock(&mtx); }
  ~lock_guard() { pthread_mutex_unlock(&mtx); }
  lock_guard(const lock_guard&) = delete;
  lock_guard& operator=(const lock_guard&) = delete;
};

/// The state of `fd`; cheap, without the lock.
uint32_t state_of(int fd);
/// Sets the state of `fd` (the lock held).
void set_state(int fd, uint32_t state);
/// The tracked file of a nonzero state.
tracked_file& file_of(uint32_t state);
/// state_of, checked against the inode `fd` names now; a stale entry is cleared (the lock held).
uint32_t checked_state_of(int fd);

/// When logging is on, prints the first use of `call` on a tracked file (the lock held).
void note_call(const char* call, const tracked_file& f);

/// Before an open: journals the content an O_TRUNC open of a tracked file will cut.
void before_truncating_open(int dirfd, const char* path, int flags);
/// After an open: tracks `fd` when `path` is a tracked name. Returns `fd`; keeps errno.
int after_open(int fd, const char* path, int flags);

// -- the journal (all with the lock held) -------------------------------------------------------

/// Whether DEBROS_POWER_LOSS_SYNC=ignore: no sync empties a journal, no write is a redo.
extern bool syncs_ignored;
/// DEBROS_POWER_LOSS_SYNC=slow:N: every sync of a tracked file first waits N ms (a slow disk),
/// outside the shim's lock, so other threads go on.
extern long sync_delay_ms;

uint64_t size_of(const tracked_file& f);
/// Journals the pre-image of [offset, offset + length) and the file's size.
void record_undo(const tracked_file& f, uint64_t offset, uint64_t length);
/// Journals the first `written` bytes of `iov` as written durably at `offset`.
void record_redo(const tracked_file& f, uint64_t offset, const iovec* iov, int count,
                 size_t written);
/// Everything written to `f` so far is durable: empties its journal.
void forget_unsynced(const tracked_file& f);
/// forget_unsynced for every tracked file, or only those on device `*dev`.
void forget_unsynced_files(const dev_t* dev);

} // namespace debros::test::power_loss::shim
