// The VFS that writes a commit's WAL frames out in one call
// (fhirbridge/storage/detail/wal_write_coalescing.hpp), driven through
// SQLite itself; every store test runs over it too (sqlite::Database::open).
#include <sqlite3.h>
#include <sys/resource.h>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/test_support.hpp"
#include "fhirbridge/storage/detail/wal_write_coalescing.hpp"

using fhirbridge::storage::sqlite::detail::wal_index_header;
using fhirbridge::storage::sqlite::detail::wal_write_coalescing_vfs;
using fhirbridge::test::TempDir;

namespace {

// One connection; `vfs` nullptr: SQLite's default (another process's view).
struct Connection {
  sqlite3* db = nullptr;
  Connection(const std::filesystem::path& file, const char* vfs) {
    BOOST_REQUIRE(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                  vfs) == SQLITE_OK);
  }
  ~Connection() { sqlite3_close_v2(db); }
  int exec(const std::string& sql) {
    return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  }
  std::string text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    BOOST_REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(stmt) == SQLITE_ROW)
      if (const auto* t = sqlite3_column_text(stmt, 0)) out = reinterpret_cast<const char*>(t);
    sqlite3_finalize(stmt);
    return out;
  }
};

// Rows first..last of 400 random bytes each, inserted in one statement.
std::string insert_rows(int first, int last) {
  return "WITH RECURSIVE k(i) AS (SELECT " + std::to_string(first) +
         " UNION ALL SELECT i + 1 FROM k WHERE i < " + std::to_string(last) +
         ") INSERT INTO t(id, v) SELECT i, randomblob(400) FROM k";
}

// The process may write no file past `bytes` while it lives (EFBIG instead
// of SIGXFSZ): a disk that fills up in the middle of a commit.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &previous_);
    rlimit limit = previous_;
    limit.rlim_cur = bytes;
    BOOST_REQUIRE(setrlimit(RLIMIT_FSIZE, &limit) == 0);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &previous_);
    std::signal(SIGXFSZ, previous_handler_);
  }

 private:
  rlimit previous_{};
  void (*previous_handler_)(int) = nullptr;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(wal_write_coalescing)

// A transaction larger than the page cache spills frames to the WAL before
// its commit, writes some pages again (SQLite rewrites their frames in
// place: writes that are not contiguous) and reads spilled pages back. What
// another connection then reads, through SQLite's own VFS, is what was
// written, and the file is sound.
BOOST_AUTO_TEST_CASE(spilled_rewritten_and_read_back_frames_commit_as_written) {
  TempDir dir;
  const auto file = dir.path() / "spill.db";
  BOOST_REQUIRE(wal_write_coalescing_vfs() != nullptr);
  Connection writer(file, wal_write_coalescing_vfs());
  BOOST_REQUIRE(
      writer.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = 8; "
                  "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)") == SQLITE_OK);
  BOOST_REQUIRE(writer.exec("BEGIN") == SQLITE_OK);
  BOOST_REQUIRE(writer.exec(insert_rows(1, 3000)) == SQLITE_OK);  // ~1.2 MB: spills
  BOOST_REQUIRE(writer.exec("UPDATE t SET v = zeroblob(400) WHERE id % 7 = 0") == SQLITE_OK);
  BOOST_TEST(writer.text("SELECT count(*) FROM t WHERE v = zeroblob(400)") == "428");
  BOOST_REQUIRE(writer.exec("UPDATE t SET v = randomblob(300) WHERE id % 5 = 0") == SQLITE_OK);
  const std::string sum = writer.text("SELECT sum(length(v)) FROM t");
  BOOST_REQUIRE(writer.exec("COMMIT") == SQLITE_OK);

  Connection reader(file, nullptr);
  BOOST_TEST(reader.text("SELECT count(*) FROM t") == "3000");
  BOOST_TEST(reader.text("SELECT sum(length(v)) FROM t") == sum);
  BOOST_TEST(reader.text("SELECT count(*) FROM t WHERE v = zeroblob(400)") == "343");
  BOOST_TEST(reader.text("PRAGMA integrity_check") == "ok");
  // Small commits after the big one, read at once by the other connection.
  for (int i = 3001; i <= 3020; ++i) {
    BOOST_REQUIRE(writer.exec(insert_rows(i, i)) == SQLITE_OK);
    BOOST_TEST(reader.text("SELECT max(id) FROM t") == std::to_string(i));
  }
}

// The disk fills up while a commit's frames are written out: the commit
// fails as SQLITE_FULL (the VFS reports EFBIG as SQLite reports ENOSPC; the
// store answers it 507), nothing of it is visible to anyone, the file is
// sound, and the connection commits again once there is room.
BOOST_AUTO_TEST_CASE(a_commit_whose_frames_cannot_be_written_fails_and_shows_nothing) {
  TempDir dir;
  const auto file = dir.path() / "full.db";
  Connection writer(file, wal_write_coalescing_vfs());
  BOOST_REQUIRE(
      writer.exec(
          "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0; "
          "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)") == SQLITE_OK);
  BOOST_REQUIRE(writer.exec(insert_rows(1, 100)) == SQLITE_OK);
  const auto wal = std::filesystem::path(file.string() + "-wal");
  {
    const FileSizeLimit limit(std::filesystem::file_size(wal) + 20000);
    BOOST_TEST((writer.exec("BEGIN; " + insert_rows(101, 600) + "; COMMIT") & 0xff) == SQLITE_FULL);
    writer.exec("ROLLBACK");
    Connection other(file, nullptr);
    BOOST_TEST(other.text("SELECT count(*) FROM t") == "100");
  }
  Connection reader(file, nullptr);
  BOOST_TEST(reader.text("SELECT count(*) FROM t") == "100");
  BOOST_TEST(reader.text("PRAGMA integrity_check") == "ok");
  BOOST_REQUIRE(writer.exec(insert_rows(101, 600)) == SQLITE_OK);
  BOOST_TEST(reader.text("SELECT count(*) FROM t") == "600");
  BOOST_TEST(reader.text("PRAGMA integrity_check") == "ok");
}

// wal_index_header(): what a reader may compare instead of running PRAGMA
// data_version. Nothing before the connection has read the file in WAL mode,
// or on another VFS, or in memory; then the same value across reads, a rolled
// back write and any connection's view, and a new value after every commit,
// by this connection, another one (SQLite's own VFS: another process's view),
// and after a checkpoint restarted the WAL.
BOOST_AUTO_TEST_CASE(the_wal_index_header_moves_with_every_commit_and_only_then) {
  TempDir dir;
  const auto file = dir.path() / "header.db";
  Connection writer(file, wal_write_coalescing_vfs());
  BOOST_TEST(!wal_index_header(writer.db).has_value());  // nothing read yet
  BOOST_REQUIRE(writer.exec("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; "
                            "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)") == SQLITE_OK);
  Connection reader(file, wal_write_coalescing_vfs());
  BOOST_TEST(reader.text("SELECT count(*) FROM t") == "0");
  const auto at_start = wal_index_header(reader.db);
  BOOST_REQUIRE(at_start.has_value());
  BOOST_TEST((wal_index_header(writer.db) == at_start));
  BOOST_TEST(reader.text("SELECT count(*) FROM t") == "0");
  BOOST_TEST((wal_index_header(reader.db) == at_start));
  BOOST_REQUIRE(writer.exec("BEGIN; " + insert_rows(1, 10) + "; ROLLBACK") == SQLITE_OK);
  BOOST_TEST((wal_index_header(reader.db) == at_start));

  std::vector<std::optional<fhirbridge::storage::sqlite::detail::WalIndexHeader>> seen{at_start};
  auto is_new = [&](const auto& header) {
    BOOST_REQUIRE(header.has_value());
    const bool fresh = std::find(seen.begin(), seen.end(), header) == seen.end();
    seen.push_back(header);
    return fresh;
  };
  BOOST_REQUIRE(writer.exec(insert_rows(1, 1)) == SQLITE_OK);  // no read by the reader between
  BOOST_TEST(is_new(wal_index_header(reader.db)));
  BOOST_TEST((wal_index_header(writer.db) == seen.back()));
  BOOST_REQUIRE(writer.exec("UPDATE t SET v = zeroblob(10) WHERE id = 1") == SQLITE_OK);
  BOOST_TEST(is_new(wal_index_header(reader.db)));
  {
    Connection other(file, nullptr);
    BOOST_TEST(!wal_index_header(other.db).has_value());  // not on this VFS
    BOOST_REQUIRE(other.exec(insert_rows(2, 2)) == SQLITE_OK);
  }
  BOOST_TEST(is_new(wal_index_header(reader.db)));
  BOOST_REQUIRE(writer.exec("PRAGMA wal_checkpoint(TRUNCATE)") == SQLITE_OK);
  BOOST_REQUIRE(writer.exec(insert_rows(3, 3)) == SQLITE_OK);  // restarts the WAL (a new salt)
  BOOST_TEST(is_new(wal_index_header(reader.db)));
  BOOST_TEST(reader.text("SELECT count(*) FROM t") == "3");
  BOOST_TEST((wal_index_header(reader.db) == seen.back()));

  Connection memory(":memory:", wal_write_coalescing_vfs());
  BOOST_REQUIRE(memory.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)") == SQLITE_OK);
  BOOST_TEST(!wal_index_header(memory.db).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
