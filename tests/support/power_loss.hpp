// Simulated power loss for crash tests: run a program with the power-loss shim preloaded
// (tests/support/power_loss_shim.cpp), SIGKILL it, then call roll_back_unsynced on each file
// the shim tracked. The file is then what the disk may hold after the machine lost power at
// the moment of the kill.
//
// Why this is one valid post-power-loss state: the journal holds, in order, every change made
// to the file since its last successful fsync/fdatasync (undo records: the pre-image and size
// before each write or truncation), and the writes among them that were durable when they
// returned (redo records: O_SYNC/O_DSYNC writes). A disk after a power loss holds what was
// synced, plus any subset of the rest. Undoing every unsynced change, newest first, gives back
// exactly the file as of the last sync; replaying the durable writes, oldest first, restores
// what O_DSYNC promised. So the result is the file in which "no unsynced write reached the
// disk". It is the harshest legal outcome, and the one that catches a missing fsync: whatever
// a program acknowledged without syncing is gone.
//
// Two windows fall on the safe side of the same rule. A write that the process was killed in
// the middle of has its undo record but may lack its redo record: it is undone, as a write that
// had not completed when the power went. And a process killed inside fsync, after the kernel
// finished but before the shim emptied the journal, has those writes undone: the program never
// saw the fsync return, so it cannot have acknowledged anything on the strength of it.
//
// Outside the model: directory entries (a created or renamed file is assumed to survive) and
// ordering inside the device (there is none to model: nothing unsynced survives).
#pragma once

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "tests/support/power_loss_journal.hpp"

namespace debros::test::power_loss {

/// What roll_back_unsynced found in a journal.
struct rollback_summary {
  /// Whether the journal existed (it does once the shim has seen the file opened).
  bool journal_found = false;
  size_t undone = 0; // undo records applied (unsynced changes discarded)
  size_t redone = 0; // redo records applied (O_DSYNC writes kept)
  size_t bytes_undone = 0;
  bool torn_tail = false; // the last record was cut short by the kill (and ignored)
};

/// The environment entries that run a child under the shim at `shim_path`: LD_PRELOAD, and
/// (for `make sanitize`) leave for the shim to be loaded before the sanitizer runtime.
inline std::vector<std::string> preload_environment(const std::string& shim_path) {
  std::string asan = "ASAN_OPTIONS=";
  if (const char* inherited = std::getenv("ASAN_OPTIONS"); inherited && *inherited)
    asan += std::string{inherited} + ":";
  asan += "verify_asan_link_order=0";
  return {"LD_PRELOAD=" + shim_path, asan};
}

namespace detail {

inline std::runtime_error failure(const std::string& what, const std::string& path) {
  return std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

inline void write_all(int fd, const char* p, size_t n, uint64_t offset, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      throw failure("cannot write", path);
    p += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
}

inline std::string read_whole(const std::string& path, bool& found) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  found = fd >= 0;
  if (fd < 0) {
    if (errno == ENOENT)
      return out;
    throw failure("cannot open", path);
  }
  char buf[1 << 16];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      ::close(fd);
      throw failure("cannot read", path);
    }
    if (r == 0)
      break;
    out.append(buf, static_cast<size_t>(r));
  }
  ::close(fd);
  return out;
}

} // namespace detail

/// Turns `file` into its state after a power loss in which no unsynced write reached the disk
/// (see the header comment), then syncs it and removes its journal (FILE.unsynced). No process
/// may have the file open. Throws std::runtime_error when a file cannot be read or written or
/// the journal is not one (a programming error of the shim, never expected).
inline rollback_summary roll_back_unsynced(const std::string& file) {
  rollback_summary out;
  auto journal_path = file + journal_suffix;
  auto journal = detail::read_whole(journal_path, out.journal_found);
  struct record {
    journal_record header;
    size_t data; // position of the bytes in `journal`
  };
  std::vector<record> records;
  for (size_t at = 0; at < journal.size();) {
    journal_record h;
    if (journal.size() - at < sizeof h) {
      out.torn_tail = true;
      break;
    }
    std::memcpy(&h, journal.data() + at, sizeof h);
    if (h.magic != record_magic || (h.kind != undo && h.kind != redo))
      throw std::runtime_error("not a power-loss journal record at byte " + std::to_string(at) +
                               " of " + journal_path);
    if (journal.size() - at - sizeof h < h.length) {
      out.torn_tail = true;
      break;
    }
    records.push_back({h, at + sizeof h});
    at += sizeof h + h.length;
  }
  if (records.empty()) {
    if (out.journal_found && ::unlink(journal_path.c_str()) != 0)
      throw detail::failure("cannot remove", journal_path);
    return out;
  }
  int fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0)
    throw detail::failure("cannot open", file);
  try {
    // Newest first: each step gives back the file as it was just before that change.
    for (auto r = records.rbegin(); r != records.rend(); ++r) {
      if (r->header.kind != undo)
        continue;
      detail::write_all(fd, journal.data() + r->data, r->header.length, r->header.offset, file);
      if (::ftruncate(fd, static_cast<off_t>(r->header.size_before)) != 0)
        throw detail::failure("cannot truncate", file);
      ++out.undone;
      out.bytes_undone += r->header.length;
    }
    // Oldest first: the durable writes, as the disk kept them.
    for (auto& r : records) {
      if (r.header.kind != redo)
        continue;
      detail::write_all(fd, journal.data() + r.data, r.header.length, r.header.offset, file);
      ++out.redone;
    }
    if (::fsync(fd) != 0)
      throw detail::failure("cannot sync", file);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  if (::unlink(journal_path.c_str()) != 0)
    throw detail::failure("cannot remove", journal_path);
  return out;
}

} // namespace debros::test::power_loss
