// The record format of the power-loss shim's side journal (FILE.unsynced), shared by the shim
// (tests/support/power_loss_shim.cpp) that appends records and the rollback
// (tests/support/power_loss.hpp) that applies them. Plain C layout, host byte order: the
// journal never leaves the machine that wrote it.
//
// A journal is a sequence of records, each a journal_record header followed by `length` bytes.
// Only the last record can be short (the process was killed while appending it); a reader
// stops there. The journal holds exactly the writes since the last sync of the file: the shim
// empties it after every fsync or fdatasync.
#pragma once

#include <cstdint>

namespace debros::test::power_loss {

/// "DPLJ": every record starts with it, so a reader notices a journal that is not one.
constexpr uint32_t record_magic = 0x4a4c5044;

enum record_kind : uint32_t {
  /// The pre-image of a range about to be written or cut off: the `length` bytes the file held
  /// at `offset` (only the part below `size_before`), and the file's size before the change.
  /// Appended BEFORE the write it undoes.
  undo = 1,
  /// A write that was durable when it returned (an fd opened with O_SYNC or O_DSYNC): the
  /// `length` bytes written at `offset`. Appended AFTER the write returned, with what the
  /// kernel reported as written.
  redo = 2,
};

struct journal_record {
  uint32_t magic;
  uint32_t kind;
  uint64_t offset;
  uint64_t length;
  /// undo: the file's size before the change; redo: 0.
  uint64_t size_before;
};
static_assert(sizeof(journal_record) == 32, "the journal layout is fixed");

/// The journal of a tracked file: the file's path with this suffix.
constexpr const char* journal_suffix = ".unsynced";

/// Environment variables read by the shim. FILES: comma-separated file names (a path is tracked
/// when it ends with "/NAME" or is NAME); unset means "data.mdb", empty means none. LOG: when
/// "1", the shim prints to stderr the first use of each intercepted call on a tracked file.
/// SYNC: when "ignore", the shim treats fsync, fdatasync, sync, syncfs and O_DSYNC as if they
/// had not happened (a disk that loses what it promised to keep, or a program whose syncs were
/// all removed): a negative control for a program that cannot be told to skip its syncs. When
/// "slow:N", every sync of a tracked file first waits N milliseconds (a slow disk).
constexpr const char* files_variable = "DEBROS_POWER_LOSS_FILES";
constexpr const char* log_variable = "DEBROS_POWER_LOSS_LOG";
constexpr const char* sync_variable = "DEBROS_POWER_LOSS_SYNC";

} // namespace debros::test::power_loss
