// The LMDB environment of one data directory: tables, transactions, map growth.
//
// Thread rules (the environment is opened with MDB_NOTLS):
// - `read()` may be called from any thread. A read_txn is used by one thread at a time and must
//   not outlive the message handler or function that opened it: while it is open the map cannot
//   grow, so a long-lived reader stalls every writer.
// - Write transactions (`begin_write`) are for the group-commit writer (storage/writer.hpp) and
//   for single-threaded setup code. LMDB serializes them; a thread must never hold a read_txn
//   while it waits for a write to be acknowledged.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <lmdb.h>

#include "caf/error.hpp"
#include "caf/expected.hpp"

namespace debros::storage {

/// Maps an LMDB or errno return code to a Debros error whose message names `what` (the
/// operation) and LMDB's own description. The one place LMDB codes are interpreted:
/// MDB_NOTFOUND -> not_found, MDB_KEYEXIST -> conflict, MDB_MAP_FULL/ENOSPC -> storage_full,
/// MDB_BAD_VALSIZE/MDB_TXN_FULL -> too_large, MDB_CORRUPTED/MDB_PAGE_NOTFOUND/MDB_INVALID/
/// MDB_VERSION_MISMATCH/MDB_PANIC -> corruption, MDB_READERS_FULL -> unavailable,
/// other errno values -> io_error, other LMDB codes -> internal.
caf::error from_mdb(int rc, std::string_view what);

/// A named table (an LMDB named database). Cheap to copy; valid while its environment is open.
struct table {
  MDB_dbi dbi = 0;
};

/// How commits reach the disk.
enum class durability : uint8_t {
  /// Every commit is fsync'd before it is acknowledged (the default).
  full,
  /// MDB_NOSYNC: commits survive a crash of the process but not of the machine. Tests and
  /// benchmarks that measure something other than the disk use it; never the node by default.
  process,
};

struct env_options {
  /// The data directory; created if missing. The store lives in `path/data.mdb`.
  std::string path;
  /// Tables to open (created when missing). At most 64.
  std::vector<std::string> tables;
  /// Map size at open. When a write finds the map full, the map doubles (steps of at most
  /// `max_growth_bytes`) and the write is retried, until the disk itself is full.
  size_t initial_map_bytes = size_t{256} << 20;
  size_t max_growth_bytes = size_t{8} << 30;
  /// Concurrent read transactions (LMDB reader slots).
  unsigned max_readers = 1024;
  durability sync = durability::full;
};

class environment;
class cursor;

/// A read-only snapshot. Movable, not copyable; returns its LMDB transaction to the
/// environment's pool on destruction.
class read_txn {
public:
  read_txn(read_txn&& other) noexcept;
  read_txn& operator=(read_txn&&) = delete;
  ~read_txn();

  /// The value of `key`, std::nullopt when absent. The view stays valid until the transaction
  /// ends. Errors: see from_mdb.
  caf::expected<std::optional<std::string_view>> get(table t, std::string_view key) const;

  /// A cursor over `t`, valid until the transaction ends.
  caf::expected<cursor> open_cursor(table t) const;

  /// Number of entries in `t`.
  caf::expected<size_t> count(table t) const;

  MDB_txn* handle() const noexcept { return txn_; }

private:
  friend class environment;
  read_txn(environment* env, MDB_txn* txn) noexcept : env_(env), txn_(txn) {}

  environment* env_;
  MDB_txn* txn_;
};

/// A write transaction. Records the first LMDB failure (other than not-found and key-exists):
/// after one, `broken()` is true and the transaction can only be aborted. Counts mutations so
/// the writer can tell whether a failed request changed anything. Both cover the transaction's
/// cursors too (cursor::put_current, cursor::del_current, failed moves).
class write_txn {
public:
  write_txn(write_txn&& other) noexcept;
  write_txn& operator=(write_txn&&) = delete;
  /// Aborts when neither committed nor aborted.
  ~write_txn();

  caf::expected<std::optional<std::string_view>> get(table t, std::string_view key) const;

  /// Stores `val` under `key`. `flags` are LMDB put flags (MDB_NOOVERWRITE returns conflict
  /// when the key exists, without breaking the transaction).
  caf::error put(table t, std::string_view key, std::string_view val, unsigned flags = 0);

  /// Removes `key`. Returns whether it existed.
  caf::expected<bool> del(table t, std::string_view key);

  /// A cursor over `t` whose changes and failures count as this transaction's. The transaction
  /// must not be moved while the cursor lives (the cursor refers to it).
  caf::expected<cursor> open_cursor(table t) const;

  /// Makes the transaction durable (per env_options::sync). The transaction ends either way.
  caf::error commit();
  void abort() noexcept;

  bool broken() const noexcept { return rc_ != 0; }
  /// The LMDB code that broke the transaction (0 when not broken).
  int broken_rc() const noexcept { return rc_; }
  uint64_t mutations() const noexcept { return mutations_; }
  MDB_txn* handle() const noexcept { return txn_; }

private:
  friend class environment;
  friend class cursor;
  explicit write_txn(MDB_txn* txn) noexcept : txn_(txn) {}
  caf::error fail(int rc, std::string_view what) const;
  // Const like fail(): a cursor of a const transaction still writes through the LMDB handle.
  void count_mutation() const noexcept { ++mutations_; }

  MDB_txn* txn_;
  mutable int rc_ = 0;
  mutable uint64_t mutations_ = 0;
};

/// A cursor positioned on an entry or unpositioned (`valid()` false). Moves return whether the
/// cursor is on an entry afterwards; errors other than "no more entries" are kept in `error()`.
/// Lifetime: destroy a cursor before its transaction commits, aborts or is destroyed; the key and
/// value views are valid until the next move or the end of the transaction.
class cursor {
public:
  cursor(cursor&& other) noexcept;
  cursor& operator=(cursor&& other) noexcept;
  ~cursor();

  bool first();
  bool last();
  bool next();
  bool prev();
  /// The first entry with key >= `key`.
  bool seek(std::string_view key);
  /// The last entry with key < `key` (or the last entry when none is >= `key`).
  bool seek_before(std::string_view key);

  bool valid() const noexcept { return valid_; }
  std::string_view key() const noexcept { return key_; }
  std::string_view val() const noexcept { return val_; }
  /// The first error other than MDB_NOTFOUND, or none.
  const caf::error& error() const noexcept { return err_; }

  /// Replaces the value of the current entry (write transactions only). Counts as a mutation of
  /// the transaction; a failure breaks it as write_txn::put does.
  caf::error put_current(std::string_view val);
  /// Deletes the current entry (write transactions only); the cursor moves to the next one (or
  /// becomes unpositioned when there is none). Counts as a mutation of the transaction; a
  /// failure (such as storage_full) breaks it as write_txn::del does.
  caf::error del_current();

private:
  friend class read_txn;
  friend class write_txn;
  cursor(MDB_cursor* c, const write_txn* txn) noexcept : c_(c), txn_(txn) {}
  bool move(MDB_cursor_op op, std::string_view key = {});
  caf::error fail(int rc, std::string_view what) const;

  MDB_cursor* c_ = nullptr;
  // The write transaction the cursor belongs to (nullptr for a read cursor): its mutations and
  // failures are the transaction's, so the writer sees them.
  const write_txn* txn_ = nullptr;
  bool valid_ = false;
  std::string_view key_;
  std::string_view val_;
  caf::error err_;
};

/// Size and activity figures of an environment.
/// Longest key LMDB stores (its compile-time MDB_MAXKEYSIZE, 511 in Debian's liblmdb; checked
/// when an environment opens). Writers check derived keys against it before acknowledging.
constexpr size_t key_bytes_max = 511;

struct env_stats {
  size_t map_bytes = 0;
  size_t used_bytes = 0; // last used page * page size
  size_t page_bytes = 0;
  uint64_t growths = 0;
};

class environment {
public:
  /// Opens (creating if needed) the store in `opts.path`. Errors: io_error when the directory
  /// cannot be created or opened, corruption when the file is not an LMDB store, unavailable
  /// when another process (or another environment of this one) has the directory open: its
  /// pid is in DATA_DIR/debros.lock, which it holds with an exclusive flock.
  static caf::expected<std::unique_ptr<environment>> open(env_options opts);

  ~environment();
  environment(const environment&) = delete;
  environment& operator=(const environment&) = delete;

  /// The table named `name`, which must be one of env_options::tables (anything else is a
  /// programming error: returns std::nullopt).
  std::optional<table> find_table(std::string_view name) const noexcept;
  /// As find_table, for names known to exist (aborts on a typo, at startup).
  table get_table(std::string_view name) const;

  /// Starts a read snapshot. Errors: unavailable when all reader slots are taken.
  caf::expected<read_txn> read();

  /// Starts a write transaction; blocks while another one is open.
  caf::expected<write_txn> begin_write();

  /// Doubles the map (at most max_growth_bytes more). Waits until no read transaction is open
  /// and blocks new ones meanwhile. The caller must not hold any transaction.
  caf::error grow();

  /// Flushes everything committed to disk (for durability::process at shutdown).
  caf::error sync();

  env_stats stats() const;
  const env_options& options() const noexcept { return opts_; }
  MDB_env* handle() const noexcept { return env_; }

private:
  friend class read_txn;
  environment(env_options opts, MDB_env* env) : opts_(std::move(opts)), env_(env) {}
  void release(MDB_txn* txn) noexcept;
  void enter_reader() const;
  void leave_reader() const noexcept;

  env_options opts_;
  MDB_env* env_;
  std::vector<std::pair<std::string, table>> tables_;

  // Reset read transactions ready for mdb_txn_renew.
  std::mutex pool_mtx_;
  std::vector<MDB_txn*> pool_;

  // The resize gate: readers count themselves in; grow() raises `resizing_` and waits for the
  // count to drop to zero. seq_cst on both atomics keeps the Dekker-style handshake correct.
  // Mutable: stats() (const) passes the gate too, since it reads LMDB's map.
  mutable std::atomic<int> readers_{0};
  std::atomic<bool> resizing_{false};
  mutable std::mutex gate_mtx_;
  mutable std::condition_variable gate_cv_;
  std::atomic<uint64_t> growths_{0};
  std::atomic<size_t> map_bytes_{0};
  // The exclusive lock on the data directory (DATA_DIR/debros.lock), released after the store
  // is closed (members are destroyed after the destructor's body).
  std::shared_ptr<void> lock_;
};

} // namespace debros::storage
