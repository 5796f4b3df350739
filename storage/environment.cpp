#include "storage/environment.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "messages/assert.hpp"
#include "messages/errc.hpp"

namespace debros::storage {

// -- error mapping -----------------------------------------------------------------------------

caf::error from_mdb(int rc, std::string_view what) {
  std::string msg{what};
  msg += ": ";
  msg += mdb_strerror(rc);
  switch (rc) {
  case MDB_NOTFOUND:
    return make_error(errc::not_found, std::move(msg));
  case MDB_KEYEXIST:
    return make_error(errc::conflict, std::move(msg));
  case MDB_MAP_FULL:
  case ENOSPC:
    return make_error(errc::storage_full, std::move(msg));
  case MDB_BAD_VALSIZE:
  case MDB_TXN_FULL:
    return make_error(errc::too_large, std::move(msg));
  case MDB_CORRUPTED:
  case MDB_PAGE_NOTFOUND:
  case MDB_INVALID:
  case MDB_VERSION_MISMATCH:
  case MDB_PANIC:
    return make_error(errc::corruption, std::move(msg));
  case MDB_READERS_FULL:
    return make_error(errc::unavailable, std::move(msg));
  default:
    // Positive codes are errno values from the OS; LMDB's own codes are negative.
    if (rc > 0)
      return make_error(errc::io_error, std::move(msg));
    return make_error(errc::internal, std::move(msg));
  }
}

namespace {

MDB_val to_val(std::string_view s) noexcept {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}

std::string_view from_val(const MDB_val& v) noexcept {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

int do_get(MDB_txn* txn, table t, std::string_view key, std::string_view& out) noexcept {
  MDB_val k = to_val(key);
  MDB_val v;
  int rc = mdb_get(txn, t.dbi, &k, &v);
  if (rc == 0)
    out = from_val(v);
  return rc;
}

} // namespace

// -- read_txn ----------------------------------------------------------------------------------

read_txn::read_txn(read_txn&& other) noexcept : env_(other.env_), txn_(other.txn_) {
  other.env_ = nullptr;
  other.txn_ = nullptr;
}

read_txn::~read_txn() {
  if (env_ != nullptr)
    env_->release(txn_);
}

caf::expected<std::optional<std::string_view>> read_txn::get(table t, std::string_view key) const {
  DEBROS_ASSERT(txn_ != nullptr); // not moved from
  std::string_view out;
  int rc = do_get(txn_, t, key, out);
  if (rc == MDB_NOTFOUND)
    return std::optional<std::string_view>{};
  if (rc != 0)
    return from_mdb(rc, "read");
  return std::optional<std::string_view>{out};
}

caf::expected<cursor> read_txn::open_cursor(table t) const {
  DEBROS_ASSERT(txn_ != nullptr);
  MDB_cursor* c;
  if (int rc = mdb_cursor_open(txn_, t.dbi, &c); rc != 0)
    return from_mdb(rc, "open cursor");
  return cursor{c, nullptr};
}

caf::expected<size_t> read_txn::count(table t) const {
  MDB_stat st;
  if (int rc = mdb_stat(txn_, t.dbi, &st); rc != 0)
    return from_mdb(rc, "table stat");
  return st.ms_entries;
}

// -- write_txn ---------------------------------------------------------------------------------

write_txn::write_txn(write_txn&& other) noexcept
    : txn_(other.txn_), rc_(other.rc_), mutations_(other.mutations_) {
  other.txn_ = nullptr;
}

write_txn::~write_txn() {
  abort();
}

caf::error write_txn::fail(int rc, std::string_view what) const {
  // Only a failure breaks the transaction; rc 0 here would report an error and commit anyway.
  DEBROS_ASSERT(rc != 0);
  if (rc_ == 0)
    rc_ = rc;
  return from_mdb(rc, what);
}

caf::expected<std::optional<std::string_view>> write_txn::get(table t, std::string_view key) const {
  DEBROS_ASSERT(txn_ != nullptr); // not committed, aborted or moved from
  std::string_view out;
  int rc = do_get(txn_, t, key, out);
  if (rc == MDB_NOTFOUND)
    return std::optional<std::string_view>{};
  if (rc != 0)
    return fail(rc, "read");
  return std::optional<std::string_view>{out};
}

caf::error write_txn::put(table t, std::string_view key, std::string_view val, unsigned flags) {
  DEBROS_ASSERT(txn_ != nullptr);
  MDB_val k = to_val(key);
  MDB_val v = to_val(val);
  int rc = mdb_put(txn_, t.dbi, &k, &v, flags);
  if (rc == 0) {
    ++mutations_;
    return caf::none;
  }
  if (rc == MDB_KEYEXIST)
    return from_mdb(rc, "put");
  // An oversized key or value is rejected before LMDB touches the transaction: report it
  // without breaking the transaction, so only the offending request fails.
  if (rc == MDB_BAD_VALSIZE)
    return make_error(errc::too_large, "put: key of " + std::to_string(key.size()) +
                                           " bytes exceeds the store's key limit");
  return fail(rc, "put");
}

caf::expected<bool> write_txn::del(table t, std::string_view key) {
  DEBROS_ASSERT(txn_ != nullptr);
  MDB_val k = to_val(key);
  int rc = mdb_del(txn_, t.dbi, &k, nullptr);
  if (rc == 0) {
    ++mutations_;
    return true;
  }
  if (rc == MDB_NOTFOUND)
    return false;
  return fail(rc, "delete");
}

caf::expected<cursor> write_txn::open_cursor(table t) const {
  DEBROS_ASSERT(txn_ != nullptr);
  MDB_cursor* c;
  if (int rc = mdb_cursor_open(txn_, t.dbi, &c); rc != 0)
    return fail(rc, "open cursor");
  return cursor{c, this};
}

caf::error write_txn::commit() {
  if (txn_ == nullptr)
    return make_error(errc::internal, "commit of a finished transaction");
  if (rc_ != 0) {
    abort();
    return from_mdb(rc_, "commit of a failed transaction");
  }
  int rc = mdb_txn_commit(txn_);
  txn_ = nullptr;
  if (rc != 0) {
    rc_ = rc;
    return from_mdb(rc, "commit");
  }
  return caf::none;
}

void write_txn::abort() noexcept {
  if (txn_ != nullptr) {
    mdb_txn_abort(txn_);
    txn_ = nullptr;
  }
}

// -- cursor ------------------------------------------------------------------------------------

cursor::cursor(cursor&& other) noexcept
    : c_(other.c_), txn_(other.txn_), valid_(other.valid_), key_(other.key_), val_(other.val_),
      err_(std::move(other.err_)) {
  other.c_ = nullptr;
  other.valid_ = false;
}

cursor& cursor::operator=(cursor&& other) noexcept {
  if (this != &other) {
    if (c_ != nullptr)
      mdb_cursor_close(c_);
    c_ = other.c_;
    txn_ = other.txn_;
    valid_ = other.valid_;
    key_ = other.key_;
    val_ = other.val_;
    err_ = std::move(other.err_);
    other.c_ = nullptr;
    other.valid_ = false;
  }
  return *this;
}

cursor::~cursor() {
  // LMDB frees the cursors of a write transaction when it ends, so a cursor must be destroyed
  // before its transaction commits or aborts (see the class comment).
  if (c_ != nullptr)
    mdb_cursor_close(c_);
}

bool cursor::move(MDB_cursor_op op, std::string_view key) {
  DEBROS_ASSERT(c_ != nullptr); // not moved from
  MDB_val k = to_val(key);
  MDB_val v{0, nullptr};
  int rc = mdb_cursor_get(c_, &k, &v, op);
  if (rc == 0) {
    // After a read: LMDB stores no empty key, so every entry has one (callers parse it).
    DEBROS_ASSERT(k.mv_size > 0 && k.mv_data != nullptr);
    valid_ = true;
    key_ = from_val(k);
    val_ = from_val(v);
    return true;
  }
  valid_ = false;
  if (rc != MDB_NOTFOUND && !err_)
    err_ = fail(rc, "cursor move");
  return false;
}

caf::error cursor::fail(int rc, std::string_view what) const {
  // A bad seek key is refused before LMDB touches the transaction (as in write_txn::put); any
  // other failure of a write cursor is its transaction's.
  if (txn_ == nullptr || rc == MDB_BAD_VALSIZE)
    return from_mdb(rc, what);
  return txn_->fail(rc, what);
}

bool cursor::first() {
  return move(MDB_FIRST);
}

bool cursor::last() {
  return move(MDB_LAST);
}

bool cursor::next() {
  return move(MDB_NEXT);
}

bool cursor::prev() {
  return move(MDB_PREV);
}

bool cursor::seek(std::string_view key) {
  return move(MDB_SET_RANGE, key);
}

bool cursor::seek_before(std::string_view key) {
  if (seek(key))
    return prev();
  if (err_)
    return false;
  return last();
}

caf::error cursor::put_current(std::string_view val) {
  // Writes where the cursor stands: it must stand on an entry (key_ is that entry's key).
  DEBROS_ASSERT(c_ != nullptr && valid_);
  MDB_val k = to_val(key_);
  MDB_val v = to_val(val);
  if (int rc = mdb_cursor_put(c_, &k, &v, MDB_CURRENT); rc != 0)
    return fail(rc, "cursor put");
  if (txn_ != nullptr)
    txn_->count_mutation();
  return caf::none;
}

caf::error cursor::del_current() {
  DEBROS_ASSERT(c_ != nullptr && valid_);
  if (int rc = mdb_cursor_del(c_, 0); rc != 0)
    return fail(rc, "cursor delete");
  if (txn_ != nullptr)
    txn_->count_mutation();
  // After a delete LMDB leaves the cursor on the following entry; GET_CURRENT reads it. When
  // the delete emptied the table LMDB unpositions the cursor and GET_CURRENT answers EINVAL:
  // there is no next entry, which is not an error.
  MDB_val k{0, nullptr};
  MDB_val v{0, nullptr};
  int rc = mdb_cursor_get(c_, &k, &v, MDB_GET_CURRENT);
  valid_ = rc == 0;
  if (valid_) {
    key_ = from_val(k);
    val_ = from_val(v);
  } else if (rc != MDB_NOTFOUND && rc != EINVAL && !err_) {
    err_ = fail(rc, "cursor move");
  }
  return caf::none;
}

// -- environment -------------------------------------------------------------------------------

namespace {

// One process at a time opens a data directory: two writers on one store lose acknowledged
// writes (LMDB's own lock file serializes transactions, not two processes' caches and counters).
// The lock is an flock on DATA_DIR/debros.lock, which holds the holder's pid; the kernel drops
// it when the process ends, however it ends.
struct dir_lock {
  int fd = -1;
  dir_lock() = default;
  dir_lock(const dir_lock&) = delete;
  dir_lock& operator=(const dir_lock&) = delete;
  ~dir_lock() {
    if (fd >= 0)
      ::close(fd);
  }
};

caf::expected<std::shared_ptr<dir_lock>> lock_directory(const std::string& dir) {
  auto path = dir + "/debros.lock";
  auto lock = std::make_shared<dir_lock>();
  lock->fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock->fd < 0)
    return make_error(errc::io_error, "cannot open " + path + ": " + std::strerror(errno));
  if (::flock(lock->fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    if (e != EWOULDBLOCK)
      return make_error(errc::io_error, "cannot lock " + path + ": " + std::strerror(e));
    char buf[32] = {};
    auto n = ::pread(lock->fd, buf, sizeof buf - 1, 0);
    std::string holder = n > 0 ? std::string{buf, static_cast<size_t>(n)} : std::string{"?"};
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' '))
      holder.pop_back();
    return make_error(errc::unavailable, "the data directory " + dir +
                                             " is in use by another process (pid " + holder +
                                             ", lock " + path + ")");
  }
  auto pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock->fd, 0) != 0 ||
      ::pwrite(lock->fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
    return make_error(errc::io_error, "cannot write " + path + ": " + std::strerror(errno));
  return lock;
}

} // namespace

caf::expected<std::unique_ptr<environment>> environment::open(env_options opts) {
  std::error_code ec;
  std::filesystem::create_directories(opts.path, ec);
  if (ec)
    return make_error(errc::io_error,
                      "cannot create data directory " + opts.path + ": " + ec.message());
  if (opts.tables.size() > 64)
    return make_error(errc::invalid_argument, "at most 64 tables");
  auto lock = lock_directory(opts.path);
  if (!lock)
    return lock.error();
  MDB_env* env;
  if (int rc = mdb_env_create(&env); rc != 0)
    return from_mdb(rc, "create environment");
  auto close_on_error = [&](int rc, std::string what) {
    mdb_env_close(env);
    return from_mdb(rc, what + " " + opts.path);
  };
  if (int rc = mdb_env_set_maxdbs(env, static_cast<MDB_dbi>(opts.tables.size() + 1)); rc != 0)
    return close_on_error(rc, "set max tables for");
  if (int rc = mdb_env_set_maxreaders(env, opts.max_readers); rc != 0)
    return close_on_error(rc, "set max readers for");
  if (int rc = mdb_env_set_mapsize(env, opts.initial_map_bytes); rc != 0)
    return close_on_error(rc, "set map size for");
  unsigned flags = MDB_NOTLS;
  if (opts.sync == durability::process)
    flags |= MDB_NOSYNC;
  // The store holds every user's data: only the node's user may read it. Files an older
  // version created 0640 are narrowed before they are opened.
  for (auto name : {"/data.mdb", "/lock.mdb"}) {
    auto file = opts.path + name;
    auto st = std::filesystem::status(file, ec);
    if (ec || !std::filesystem::is_regular_file(st))
      continue;
    using std::filesystem::perms;
    if ((st.permissions() & (perms::group_all | perms::others_all)) == perms::none)
      continue;
    std::filesystem::permissions(file, perms::group_all | perms::others_all,
                                 std::filesystem::perm_options::remove, ec);
    if (ec) {
      mdb_env_close(env);
      return make_error(errc::io_error, "cannot make " + file + " private: " + ec.message());
    }
  }
  if (int rc = mdb_env_open(env, opts.path.c_str(), flags, 0600); rc != 0)
    return close_on_error(rc, "open store in");
  if (auto k = mdb_env_get_maxkeysize(env); k < 0 || static_cast<size_t>(k) < key_bytes_max) {
    mdb_env_close(env);
    return make_error(errc::internal, "this LMDB stores keys of at most " + std::to_string(k) +
                                          " bytes; Debros needs " + std::to_string(key_bytes_max));
  }
  std::unique_ptr<environment> self{new environment(std::move(opts), env)};
  self->lock_ = std::move(*lock);
  // A store that already grew past the initial size keeps its size.
  MDB_envinfo info;
  mdb_env_info(env, &info);
  self->map_bytes_ = info.me_mapsize;
  MDB_txn* txn;
  if (int rc = mdb_txn_begin(env, nullptr, 0, &txn); rc != 0)
    return from_mdb(rc, "open tables");
  for (auto& name : self->opts_.tables) {
    MDB_dbi dbi;
    if (int rc = mdb_dbi_open(txn, name.c_str(), MDB_CREATE, &dbi); rc != 0) {
      mdb_txn_abort(txn);
      return from_mdb(rc, "open table " + name);
    }
    self->tables_.emplace_back(name, table{dbi});
  }
  if (int rc = mdb_txn_commit(txn); rc != 0)
    return from_mdb(rc, "open tables");
  return self;
}

environment::~environment() {
  for (auto* txn : pool_)
    mdb_txn_abort(txn);
  pool_.clear();
  mdb_env_close(env_);
}

std::optional<table> environment::find_table(std::string_view name) const noexcept {
  for (auto& [n, t] : tables_)
    if (n == name)
      return t;
  return std::nullopt;
}

table environment::get_table(std::string_view name) const {
  if (auto t = find_table(name))
    return *t;
  std::fprintf(stderr, "debros: internal error: table '%.*s' was not declared\n",
               static_cast<int>(name.size()), name.data());
  std::abort();
}

void environment::enter_reader() const {
  for (;;) {
    readers_.fetch_add(1);
    if (!resizing_.load())
      return;
    // A resize is pending: step back out and wait for it to finish.
    leave_reader();
    std::unique_lock<std::mutex> guard{gate_mtx_};
    gate_cv_.wait(guard, [&] { return !resizing_.load(); });
  }
}

void environment::leave_reader() const noexcept {
  auto before = readers_.fetch_sub(1);
  // Every leave pairs with an enter: fewer would let grow() remap under an open reader.
  DEBROS_ASSERT(before > 0);
  if (before == 1 && resizing_.load()) {
    std::lock_guard<std::mutex> guard{gate_mtx_};
    gate_cv_.notify_all();
  }
}

caf::expected<read_txn> environment::read() {
  enter_reader();
  MDB_txn* txn = nullptr;
  {
    std::lock_guard<std::mutex> guard{pool_mtx_};
    if (!pool_.empty()) {
      txn = pool_.back();
      pool_.pop_back();
    }
  }
  int rc = txn != nullptr ? mdb_txn_renew(txn) : mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
  if (rc != 0) {
    if (txn != nullptr)
      mdb_txn_abort(txn);
    leave_reader();
    return from_mdb(rc, "begin read");
  }
  return read_txn{this, txn};
}

void environment::release(MDB_txn* txn) noexcept {
  DEBROS_ASSERT(txn != nullptr);
  mdb_txn_reset(txn);
  {
    std::lock_guard<std::mutex> guard{pool_mtx_};
    pool_.push_back(txn);
  }
  leave_reader();
}

caf::expected<write_txn> environment::begin_write() {
  MDB_txn* txn;
  if (int rc = mdb_txn_begin(env_, nullptr, 0, &txn); rc != 0)
    return from_mdb(rc, "begin write");
  return write_txn{txn};
}

caf::error environment::grow() {
  // Close the gate, then wait for every open reader to leave.
  resizing_.store(true);
  {
    std::unique_lock<std::mutex> guard{gate_mtx_};
    gate_cv_.wait(guard, [&] { return readers_.load() == 0; });
  }
  // Pooled transactions are reset, but free them so no handle refers to the old mapping.
  {
    std::lock_guard<std::mutex> guard{pool_mtx_};
    for (auto* txn : pool_)
      mdb_txn_abort(txn);
    pool_.clear();
  }
  size_t current = map_bytes_.load();
  size_t next = current + std::min(current, opts_.max_growth_bytes);
  int rc = mdb_env_set_mapsize(env_, next);
  if (rc == 0) {
    map_bytes_.store(next);
    growths_.fetch_add(1);
  }
  {
    std::lock_guard<std::mutex> guard{gate_mtx_};
    resizing_.store(false);
  }
  gate_cv_.notify_all();
  if (rc != 0)
    return from_mdb(rc, "grow map to " + std::to_string(next) + " bytes");
  return caf::none;
}

caf::error environment::sync() {
  if (int rc = mdb_env_sync(env_, 1); rc != 0)
    return from_mdb(rc, "sync");
  return caf::none;
}

env_stats environment::stats() const {
  env_stats out;
  MDB_envinfo info;
  MDB_stat st;
  // Both read the meta pages inside the map, which grow() unmaps and maps again: pass the
  // reader gate like every read transaction.
  enter_reader();
  mdb_env_info(env_, &info);
  mdb_env_stat(env_, &st);
  leave_reader();
  out.map_bytes = info.me_mapsize;
  out.page_bytes = st.ms_psize;
  out.used_bytes = (info.me_last_pgno + 1) * st.ms_psize;
  out.growths = growths_.load();
  return out;
}

} // namespace debros::storage
