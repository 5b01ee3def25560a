#include "fhirbridge/storage/detail/sqlite.hpp"

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
  }
  stmt_ = nullptr;
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      stmt_(other.stmt_),
      owned_(other.owned_),
      bind_error_(std::move(other.bind_error_)) {
  other.stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    release();
    db_ = other.db_;
    stmt_ = other.stmt_;
    owned_ = other.owned_;
    bind_error_ = std::move(other.bind_error_);
    other.stmt_ = nullptr;
  }
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  int rc =
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (bind_error_.ok()) bind_error_ = check(rc, db_, "bind ?" + std::to_string(index));
  return *this;
}

Statement& Statement::bind(int index, std::int64_t number) {
  int rc = sqlite3_bind_int64(stmt_, index, number);
  if (bind_error_.ok()) bind_error_ = check(rc, db_, "bind ?" + std::to_string(index));
  return *this;
}

Statement& Statement::bind(int index, std::nullptr_t) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (bind_error_.ok()) bind_error_ = check(rc, db_, "bind ?" + std::to_string(index));
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

Result<Database> Database::open(const std::filesystem::path& file) {
  Database db;
  int rc =
      sqlite3_open_v2(file.c_str(), &db.db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status status = check(rc, db.db_, "open " + file.string());
    return status.ok() ? Status::Internal("open " + file.string()) : status;
  }
  sqlite3_extended_result_codes(db.db_, 1);
  return db;
}

Database::~Database() {
  close();
}

void Database::close() noexcept {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  cache_.clear();
  if (db_) sqlite3_close_v2(db_);
  db_ = nullptr;
}

Database::Database(Database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), cache_(std::move(other.cache_)) {
  other.cache_.clear();
}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    close();
    db_ = std::exchange(other.db_, nullptr);
    cache_ = std::move(other.cache_);
    other.cache_.clear();
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

Result<Statement> Database::cached(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(stmt);
      return check(rc, db_, "prepare '" + sql.substr(0, 200) + "'");
    }
    it = cache_.emplace(sql, stmt).first;
  }
  return Statement(db_, it->second, /*owned=*/false);
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
  Status status = db.exec(mode == Mode::immediate ? "BEGIN IMMEDIATE" : "BEGIN");
  if (!status.ok()) return status;
  return Transaction(&db);
}

Transaction::~Transaction() {
  // Never throws; a failed rollback leaves the connection to SQLite's own
  // automatic rollback on the next statement.
  if (db_ && db_->in_transaction()) db_->exec("ROLLBACK");
}

Status Transaction::commit() {
  if (!db_) return Status::Internal("commit of a finished transaction");
  Status status = db_->exec("COMMIT");
  if (status.ok()) db_ = nullptr;
  return status;
}

}  // namespace fhirbridge::storage::sqlite
