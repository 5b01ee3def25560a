#include "fhirbridge/storage/detail/sqlite.hpp"
#include "fhirbridge/storage/detail/wal_write_coalescing.hpp"

#include <iterator>
#include <utility>

namespace fhirbridge::storage::sqlite {

Status check(int rc, sqlite3* db, std::string_view what) {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return {};
  std::string message(what);
  message += ": ";
  // sqlite3_errmsg describes the LAST error on the connection, which is this one
  // when called right after the failing call; errstr is the generic fallback.
  message += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  message += " (sqlite " + std::to_string(rc) + ")";
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT: return Status(StatusCode::conflict, std::move(message));
    // A full disk, or a file size limit or quota reached (the store's VFS,
    // wal_write_coalescing.cpp, reports those as full too).
    case SQLITE_FULL: return Status(StatusCode::insufficient_storage, std::move(message));
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Status(StatusCode::unavailable, std::move(message));
    default: return Status(StatusCode::internal, std::move(message));
  }
}

// ---- Statement ---------------------------------------------------------------

Statement::~Statement() {
  release();
}

void Statement::release() noexcept {
  if (!stmt_) return;
  if (owned_) {
    sqlite3_finalize(stmt_);
  } else {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    if (lease_) *lease_ = false;
  }
  stmt_ = nullptr;
  lease_ = nullptr;
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      stmt_(other.stmt_),
      owned_(other.owned_),
      lease_(other.lease_),
      bind_error_(std::move(other.bind_error_)) {
  other.stmt_ = nullptr;
  other.lease_ = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    release();
    db_ = other.db_;
    stmt_ = other.stmt_;
    owned_ = other.owned_;
    lease_ = other.lease_;
    bind_error_ = std::move(other.bind_error_);
    other.stmt_ = nullptr;
    other.lease_ = nullptr;
  }
  return *this;
}

// The message is built only for a failing bind: a write binds ~40 values per
// resource, and building "bind ?N" for each was ~3% of an import.
void Statement::note_bind(int rc, int index) {
  if (rc != SQLITE_OK && bind_error_.ok())
    bind_error_ = check(rc, db_, "bind ?" + std::to_string(index));
}

Statement& Statement::bind_static(int index, std::string_view text) {
  int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
  note_bind(rc, index);
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  int rc =
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  note_bind(rc, index);
  return *this;
}

Statement& Statement::bind(int index, std::int64_t number) {
  int rc = sqlite3_bind_int64(stmt_, index, number);
  note_bind(rc, index);
  return *this;
}

Statement& Statement::bind(int index, std::nullptr_t) {
  int rc = sqlite3_bind_null(stmt_, index);
  note_bind(rc, index);
  return *this;
}

Statement& Statement::bind(int index, const Value& value) {
  return std::visit([&](const auto& v) -> Statement& { return bind(index, v); }, value);
}

Statement& Statement::bind_all(const std::vector<Value>& values) {
  for (std::size_t i = 0; i < values.size(); ++i) bind(static_cast<int>(i + 1), values[i]);
  return *this;
}

Result<bool> Statement::step() {
  if (!stmt_) return Status::Internal("step on an empty statement");
  if (!bind_error_.ok()) return bind_error_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Status status = check(rc, db_, std::string("step '") + sqlite3_sql(stmt_) + "'");
  sqlite3_reset(stmt_);
  return status;
}

Status Statement::run() {
  for (;;) {
    auto row = step();
    if (!row.ok()) return row.status();
    if (!*row) return {};
  }
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t Statement::int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string Statement::text(int column) const {
  const auto* data = sqlite3_column_text(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  return data ? std::string(reinterpret_cast<const char*>(data), static_cast<std::size_t>(size))
              : std::string();
}

std::string_view Statement::text_view(int column) const {
  const auto* data = sqlite3_column_text(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);
  return data
             ? std::string_view(reinterpret_cast<const char*>(data), static_cast<std::size_t>(size))
             : std::string_view();
}

std::optional<std::string> Statement::optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

Value Statement::value(int column) const {
  switch (sqlite3_column_type(stmt_, column)) {
    case SQLITE_NULL: return nullptr;
    case SQLITE_INTEGER: return int64(column);
    default: return text(column);
  }
}

// ---- Database ----------------------------------------------------------------

namespace {

// SQLite keeps process-wide allocation statistics under one global mutex,
// taken on every malloc and free of every connection (Debian builds it with
// SQLITE_DEFAULT_MEMSTATUS=1); nothing here reads them. sqlite3_config only
// works before SQLite initializes, i.e. before the first open: if someone
// opened a database first, it is refused, which is harmless.
void configure_sqlite_once() {
  static const int configured = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)configured;
}

Result<Database> open_with(const std::filesystem::path& file, int flags) {
  configure_sqlite_once();
  sqlite3* handle = nullptr;
  // WAL frames written out once per commit (detail/wal_write_coalescing.hpp).
  int rc = sqlite3_open_v2(file.c_str(), &handle, flags | SQLITE_OPEN_NOMUTEX,
                           detail::wal_write_coalescing_vfs());
  if (rc != SQLITE_OK) {
    Status status = check(rc, handle, "open " + file.string());
    sqlite3_close_v2(handle);
    return status.ok() ? Status::Internal("open " + file.string()) : status;
  }
  sqlite3_extended_result_codes(handle, 1);
  return Database::adopt(handle);
}

}  // namespace

Result<Database> Database::open(const std::filesystem::path& file) {
  return open_with(file, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
}

Result<Database> Database::open_existing(const std::filesystem::path& file, bool read_only) {
  auto db = open_with(file, SQLITE_OPEN_READWRITE);
  if (!db.ok()) return db;
  if (read_only) FHIRBRIDGE_RETURN_IF_ERROR(db->exec("PRAGMA query_only = 1"));
  return db;
}

Database Database::adopt(sqlite3* handle) {
  Database db;
  db.db_ = handle;
  return db;
}

Database::~Database() {
  close();
}

void Database::close() noexcept {
  for (auto& [sql, entry] : cache_) sqlite3_finalize(entry.stmt);
  cache_.clear();
  for (auto& [sql, entry] : dynamic_) sqlite3_finalize(entry.stmt);
  dynamic_index_.clear();
  dynamic_.clear();
  if (db_) sqlite3_close_v2(db_);
  db_ = nullptr;
}

Database::Database(Database&& other) noexcept {
  *this = std::move(other);
}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    close();
    db_ = std::exchange(other.db_, nullptr);
    // Moving the containers keeps their nodes (leases stay valid).
    cache_ = std::move(other.cache_);
    dynamic_ = std::move(other.dynamic_);
    dynamic_index_ = std::move(other.dynamic_index_);
    other.cache_.clear();
    other.dynamic_.clear();
    other.dynamic_index_.clear();
  }
  return *this;
}

Status Database::exec(const std::string& sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
  Status status;
  if (rc != SQLITE_OK) {
    status = check(rc, nullptr, "exec");
    status = Status(status.code(), "exec: " + std::string(error ? error : sqlite3_errstr(rc)) +
                                       " in '" + sql.substr(0, 80) + "'");
  }
  sqlite3_free(error);
  return status;
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return check(rc, db_, "prepare '" + std::string(sql.substr(0, 200)) + "'");
  }
  return Statement(db_, stmt, /*owned=*/true);
}

Result<Statement> Database::lease(CachedStatement& entry, std::string_view sql) {
  if (!entry.stmt) {
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &entry.stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(entry.stmt);
      entry.stmt = nullptr;
      return check(rc, db_, "prepare '" + std::string(sql.substr(0, 200)) + "'");
    }
  }
  // Already in use further up the stack: that user keeps it, this one gets its own.
  if (entry.leased) return prepare(sql);
  entry.leased = true;
  return Statement(db_, entry.stmt, /*owned=*/false, &entry.leased);
}

Result<Statement> Database::cached(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) it = cache_.emplace(std::string(sql), CachedStatement{}).first;
  return lease(it->second, sql);
}

Result<Statement> Database::cached_dynamic(const std::string& sql) {
  auto found = dynamic_index_.find(sql);
  if (found != dynamic_index_.end()) {
    dynamic_.splice(dynamic_.begin(), dynamic_, found->second);  // most recent first
    return lease(found->second->second, sql);
  }
  // Evict the least recent statement nobody holds (a held one is never freed).
  if (dynamic_.size() >= kDynamicCacheSize) {
    for (auto it = std::prev(dynamic_.end());; --it) {
      if (!it->second.leased) {
        sqlite3_finalize(it->second.stmt);
        dynamic_index_.erase(it->first);
        dynamic_.erase(it);
        break;
      }
      if (it == dynamic_.begin()) break;
    }
  }
  auto prepared = prepare(sql);  // not PERSISTENT: many of these come and go
  if (!prepared.ok()) return prepared.status();
  dynamic_.emplace_front(sql, CachedStatement{});
  dynamic_index_.emplace(dynamic_.front().first, dynamic_.begin());
  CachedStatement& entry = dynamic_.front().second;
  entry.stmt = prepared->detach();
  entry.leased = true;
  return Statement(db_, entry.stmt, /*owned=*/false, &entry.leased);
}

Status Database::run_cached(std::string_view sql) {
  auto stmt = cached(sql);
  if (!stmt.ok()) return stmt.status();
  return stmt->run();
}

sqlite3_stmt* Statement::detach() noexcept {
  lease_ = nullptr;
  return std::exchange(stmt_, nullptr);
}

Result<std::int64_t> Database::query_int(const std::string& sql) {
  auto stmt = prepare(sql);
  if (!stmt.ok()) return stmt.status();
  auto row = stmt->step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::Internal("no row from '" + sql + "'");
  return stmt->int64(0);
}

// ---- Transaction ---------------------------------------------------------------

Result<Transaction> Transaction::begin(Database& db, Mode mode) {
  Status status = db.run_cached(mode == Mode::immediate ? "BEGIN IMMEDIATE" : "BEGIN");
  if (!status.ok()) return status;
  return Transaction(&db);
}

Transaction::~Transaction() {
  // Never throws; a failed rollback leaves the connection to SQLite's own
  // automatic rollback on the next statement.
  if (db_ && db_->in_transaction()) db_->run_cached("ROLLBACK");
}

Status Transaction::commit() {
  if (!db_) return Status::Internal("commit of a finished transaction");
  Status status = db_->run_cached("COMMIT");
  if (status.ok()) db_ = nullptr;
  return status;
}

}  // namespace fhirbridge::storage::sqlite
