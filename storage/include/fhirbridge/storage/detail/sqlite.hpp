// Thin RAII over the SQLite C API, in the style of SQLiteCpp but with errors
// as values: every sqlite3_* return code goes through ONE function, check(),
// which turns it into a Status naming what was being done.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "fhirbridge/status.hpp"

namespace fhirbridge::storage::sqlite {

// SQLITE_OK / SQLITE_ROW / SQLITE_DONE -> ok. Otherwise: constraint -> conflict,
// busy/locked -> unavailable, everything else -> internal; the message holds
// `what` and SQLite's own message.
Status check(int rc, sqlite3* db, std::string_view what);

// A value bound to a `?` parameter.
using Value = std::variant<std::nullptr_t, std::int64_t, std::string>;

class Statement {
 public:
  Statement() = default;
  // `owned`: finalize on destruction; otherwise (a cached statement) reset and
  // clear the bindings so the next user starts clean, and clear `*lease` (the
  // cache's "in use" flag, so that a nested user of the same SQL gets its own
  // statement instead of this one).
  Statement(sqlite3* db, sqlite3_stmt* stmt, bool owned, bool* lease = nullptr)
      : db_(db), stmt_(stmt), owned_(owned), lease_(lease) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // 1-based like SQLite. A failing bind is remembered and reported by step().
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Statement& bind(int index, const std::string& text) {
    return bind(index, std::string_view(text));
  }
  // Without SQLite's copy: `text` must stay alive and unchanged until the
  // statement has run (big documents).
  Statement& bind_static(int index, std::string_view text);
  Statement& bind(int index, std::int64_t number);
  Statement& bind(int index, int number) { return bind(index, static_cast<std::int64_t>(number)); }
  Statement& bind(int index, bool flag) { return bind(index, static_cast<std::int64_t>(flag)); }
  Statement& bind(int index, std::nullptr_t);
  Statement& bind(int index, const Value& value);
  template <typename T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind(index, nullptr);
  }
  // Binds values to ?1..?n in order.
  Statement& bind_all(const std::vector<Value>& values);

  // true = a row is available, false = done.
  Result<bool> step();
  // Steps to completion (for statements that return no rows).
  Status run();

  bool is_null(int column) const;
  std::int64_t int64(int column) const;
  std::string text(int column) const;
  // The column's text in SQLite's buffer: valid until the next step, reset
  // or a conversion of that column to another type.
  std::string_view text_view(int column) const;
  std::optional<std::string> optional_text(int column) const;
  Value value(int column) const;

  // Hands the statement over (to a cache); this Statement becomes empty.
  sqlite3_stmt* detach() noexcept;

 private:
  void release() noexcept;
  // Remembers the first failing bind's error (reported by step()).
  void note_bind(int rc, int index);
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  bool owned_ = true;
  bool* lease_ = nullptr;
  Status bind_error_;
};

class Database {
 public:
  // Opens (creating when absent) a read-write database file.
  static Result<Database> open(const std::filesystem::path& file);
  // Opens an existing file; `read_only` connections also refuse writes
  // (PRAGMA query_only) but still share the WAL index with the writer.
  static Result<Database> open_existing(const std::filesystem::path& file, bool read_only);
  // Takes ownership of an open handle.
  static Database adopt(sqlite3* handle);
  Database() = default;
  ~Database();
  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  sqlite3* handle() const { return db_; }
  // Runs one or more statements that return no rows we need.
  Status exec(const std::string& sql);
  // A fresh statement, finalized when the Statement dies (dynamic SQL).
  Result<Statement> prepare(std::string_view sql);
  // A statement prepared once and reused: the returned Statement only resets it.
  // Looked up by a view: a literal's SQL is not copied into a string per call.
  Result<Statement> cached(std::string_view sql);
  // The same for dynamic SQL (searches): kept in a small LRU keyed by the SQL
  // text, since the same query shapes recur with different bound values.
  Result<Statement> cached_dynamic(const std::string& sql);
  // cached(sql) run to completion (BEGIN / COMMIT / SAVEPOINT ...).
  Status run_cached(std::string_view sql);
  // The first column of the first row, as an integer (for PRAGMAs, COUNT).
  Result<std::int64_t> query_int(const std::string& sql);
  bool in_transaction() const { return db_ && !sqlite3_get_autocommit(db_); }

 private:
  struct CachedStatement {
    sqlite3_stmt* stmt = nullptr;
    bool leased = false;  // a live Statement uses it
  };
  Result<Statement> lease(CachedStatement& entry, std::string_view sql);
  void close() noexcept;
  sqlite3* db_ = nullptr;
  // std::map / std::list nodes never move, so Statements may point at `leased`.
  std::map<std::string, CachedStatement, std::less<>> cache_;
  static constexpr std::size_t kDynamicCacheSize = 64;
  std::list<std::pair<std::string, CachedStatement>> dynamic_;  // most recent first
  std::unordered_map<std::string_view, decltype(dynamic_)::iterator> dynamic_index_;
};

// BEGIN on construction (IMMEDIATE for writers, so two writers never deadlock
// upgrading a read lock), ROLLBACK in the destructor unless commit() succeeded.
// The three statements are cached on the connection (no re-parse per call).
class Transaction {
 public:
  enum class Mode { deferred, immediate };
  static Result<Transaction> begin(Database& db, Mode mode);
  ~Transaction();
  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Status commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_ = nullptr;  // null once committed / rolled back
};

}  // namespace fhirbridge::storage::sqlite
