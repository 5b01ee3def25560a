// Crash safety of the real `fhirbridge serve` binary: stream creates and
// transactions, SIGKILL the process with a transaction in flight, restart on
// the same database, and check that every acknowledged (201/200) write is
// there, no transaction is half visible, and SQLite's integrity_check is ok.
// The same for `fhirbridge import`: SIGKILL mid-import, every batch it
// reported stored is there, no partial batch, and a re-run completes the
// import without duplicates; the search indexes it deferred are back.
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "fhirbridge/crypto/keychain.hpp"
#include "fhirbridge/server/bulk.hpp"
#include "fhirbridge/storage/sqlite_store.hpp"
#include "hostile_support.hpp"

using namespace fhirbridge;
using namespace fhirbridge::test;
namespace json = boost::json;

namespace {

const std::string kBase = "/rest/fhir/r4";

std::string after(const std::string& line, const std::string& prefix) {
  const auto at = line.find(prefix);
  if (at == std::string::npos) return {};
  std::string rest = line.substr(at + prefix.size());
  while (!rest.empty() && (rest.front() == ' ')) rest.erase(0, 1);
  while (!rest.empty() && (rest.back() == '\n' || rest.back() == '\r' || rest.back() == ' '))
    rest.pop_back();
  return rest;
}

// `fhirbridge serve --demo` on a port of its own; its stdout and stderr are
// read until it says where it listens (and, on first start, the demo
// credentials); the rest once it has stopped (rest_of_output).
class ServeProcess {
 public:
  // `file_size_limit` (bytes, 0: none): no file of the server may grow past
  // it (RLIMIT_FSIZE; writes past it fail with EFBIG): a disk that is full.
  ServeProcess(const std::filesystem::path& db, std::map<std::string, std::string>& creds,
               rlim_t file_size_limit = 0) {
    int fds[2];
    BOOST_REQUIRE(pipe(fds) == 0);
    pid_ = fork();
    BOOST_REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      dup2(fds[1], STDERR_FILENO);
      close(fds[0]);
      close(fds[1]);
      if (file_size_limit != 0) {
        signal(SIGXFSZ, SIG_IGN);  // stays ignored across exec: EFBIG instead of a kill
        rlimit limit{};
        getrlimit(RLIMIT_FSIZE, &limit);
        limit.rlim_cur = file_size_limit;
        if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(126);
      }
      const std::string bin = fhirbridge_binary().string(), db_arg = db.string();
      execl(bin.c_str(), bin.c_str(), "serve", "--db", db_arg.c_str(), "--listen", "127.0.0.1:0",
            "--demo", "--no-access-log", "--threads", "2", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    out_ = fdopen(fds[0], "r");
    char buf[4096];
    while (fgets(buf, sizeof buf, out_)) {
      const std::string line = buf;
      for (const std::string key : {"password:", "hcp id:", "private key:"})
        if (auto v = after(line, key); !v.empty() && line.find(key) < 4) creds[key] = v;
      if (auto url = after(line, "listening on http://127.0.0.1:"); !url.empty()) {
        port_ = static_cast<unsigned short>(std::stoi(url));
        break;
      }
    }
    BOOST_REQUIRE_MESSAGE(port_ != 0,
                          "fhirbridge serve did not start (" << fhirbridge_binary() << ")");
  }
  ~ServeProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      wait_exit();
    }
    if (out_) fclose(out_);
  }
  unsigned short port() const { return port_; }
  void sigkill() {
    kill(pid_, SIGKILL);
    wait_exit();
  }
  int terminate() {  // graceful (SIGTERM): returns the exit status
    kill(pid_, SIGTERM);
    return wait_exit();
  }
  // What the server wrote after its "listening on" line, to its end (call
  // once it has exited).
  std::string rest_of_output() {
    std::string rest;
    char buf[4096];
    while (fgets(buf, sizeof buf, out_)) rest += buf;
    return rest;
  }

 private:
  int wait_exit() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  unsigned short port_ = 0;
};

json::object patient_named(const std::string& family, std::size_t i) {
  return {{"resourceType", "Patient"},
          {"name", json::array{json::object{{"family", family},
                                            {"given", json::array{std::to_string(i)}}}}}};
}

std::string transaction_of(const std::string& family, std::size_t n) {
  json::array entries;
  for (std::size_t i = 0; i < n; ++i)
    entries.push_back(
        json::object{{"resource", patient_named(family, i)},
                     {"request", json::object{{"method", "POST"}, {"url", "Patient"}}}});
  return json::serialize(
      json::object{{"resourceType", "Bundle"}, {"type", "transaction"}, {"entry", entries}});
}

void post_key(RawClient& client, const std::string& auth,
              std::map<std::string, std::string>& creds) {
  std::string req = raw_request("POST", "/rest/icdx/v1/keychain/" + creds["hcp id:"], auth,
                                "{\"key\":\"" + creds["private key:"] + "\"}");
  const auto ct = req.find("application/fhir+json");
  req.replace(ct, std::string("application/fhir+json").size(), "application/json");
  auto res = client.exchange(req);
  BOOST_REQUIRE(res.has_value());
  BOOST_REQUIRE_EQUAL(res->result_int(), 200u);
}

std::size_t count(RawClient& client, const std::string& auth, const std::string& family) {
  auto res = client.exchange(
      raw_request("GET", kBase + "/Patient?_summary=count&family:exact=" + family, auth));
  BOOST_REQUIRE(res.has_value());
  BOOST_REQUIRE_EQUAL(res->result_int(), 200u);
  return static_cast<std::size_t>(body_json(*res).at("total").to_number<double>());
}

std::string integrity_check(const std::filesystem::path& db) {
  sqlite3* handle = nullptr;
  if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(handle);
    return "cannot open";
  }
  std::string result;
  sqlite3_exec(
      handle, "PRAGMA integrity_check",
      [](void* out, int, char** values, char**) {
        *static_cast<std::string*>(out) += values[0] ? values[0] : "null";
        return 0;
      },
      &result, nullptr);
  sqlite3_close(handle);
  return result;
}

// One integer from a SQL query (-1 on error).
long long sql_count(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* handle = nullptr;
  long long out = -1;
  if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(handle, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW)
      out = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
  }
  sqlite3_close(handle);
  return out;
}

// Runs the fhirbridge binary to completion; returns its exit status (-1 if it
// did not exit normally). stdout goes to `out` when given.
int run_fhirbridge(const std::vector<std::string>& args, const std::filesystem::path& out = {}) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (!out.empty()) {
      const int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(fd, STDOUT_FILENO);
      close(fd);
    }
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, STDERR_FILENO);
    std::vector<char*> argv;
    const std::string bin = fhirbridge_binary().string();
    argv.push_back(const_cast<char*>(bin.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// What the store holds of an import: rows, and distinct FHIR ids (the
// importer keeps each resource's id as an identifier: a duplicate would show).
struct Stored {
  long long patients, patient_ids, contacts, observation_ids;
};
Stored stored_in(const std::filesystem::path& db) {
  const std::string system = "'https://dxm.icure.dev'";
  return {sql_count(db, "SELECT count(*) FROM patient"),
          sql_count(
              db, "SELECT count(DISTINCT value) FROM patient_identifier WHERE system = " + system),
          sql_count(db, "SELECT count(*) FROM contact"),
          sql_count(
              db, "SELECT count(DISTINCT value) FROM service_identifier WHERE system = " + system)};
}

// These tests run the real binary: without it (a library-only build) they
// say so and pass.
bool binary_missing() {
  if (std::filesystem::exists(fhirbridge_binary())) return false;
  BOOST_TEST_MESSAGE("skipped: " << fhirbridge_binary() << " is not built");
  return true;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crash_safety)

BOOST_AUTO_TEST_CASE(sigkill_mid_stream_loses_no_acknowledged_write) {
  if (binary_missing()) return;
  TempDir dir;
  const auto db = dir.path() / "crash.db";
  std::map<std::string, std::string> creds;
  std::vector<std::string> acknowledged;                       // ids answered 201
  std::map<std::string, std::size_t> transactions;             // family -> entries (answered 200)
  std::vector<std::pair<std::string, std::size_t>> in_flight;  // killed before the answer

  for (int round = 0; round < 2; ++round) {
    ServeProcess server(db, creds);
    BOOST_REQUIRE(!creds["password:"].empty());
    const std::string auth = basic_auth("demo", creds["password:"]);
    RawClient client(server.port());
    post_key(client, auth, creds);
    for (std::size_t i = 0; i < 60; ++i) {
      if (i % 20 == 19) {
        const std::string family = "Txn" + std::to_string(round) + "x" + std::to_string(i);
        auto res = client.exchange(raw_request("POST", kBase, auth, transaction_of(family, 25)));
        BOOST_REQUIRE(res.has_value());
        BOOST_REQUIRE_EQUAL(res->result_int(), 200u);
        transactions[family] = 25;
        continue;
      }
      auto res = client.exchange(raw_request("POST", kBase + "/Patient", auth,
                                             json::serialize(patient_named("Crash", i))));
      BOOST_REQUIRE(res.has_value());
      BOOST_REQUIRE_EQUAL(res->result_int(), 201u);
      acknowledged.push_back(str(body_json(*res), {"id"}));
    }
    // A big transaction and a create in flight on two connections, then SIGKILL.
    const std::string family = "Flight" + std::to_string(round);
    RawClient bulk(server.port());
    bulk.write(raw_request("POST", kBase, auth, transaction_of(family, 400)));
    client.write(
        raw_request("POST", kBase + "/Patient", auth, json::serialize(patient_named("Flight", 0))));
    in_flight.emplace_back(family, 400);
    server.sigkill();
  }

  ServeProcess server(db, creds);
  const std::string auth = basic_auth("demo", creds["password:"]);
  RawClient client(server.port());
  post_key(client, auth, creds);  // keys live in memory only: post again after a restart
  for (const auto& id : acknowledged) {
    auto res = client.exchange(raw_request("GET", kBase + "/Patient/" + id, auth));
    BOOST_REQUIRE(res.has_value());
    BOOST_TEST_INFO("acknowledged patient " << id);
    BOOST_TEST(res->result_int() == 200u);
  }
  for (const auto& [family, n] : transactions) {
    BOOST_TEST_INFO(family);
    BOOST_TEST(count(client, auth, family) == n);
  }
  for (const auto& [family, n] : in_flight) {
    const auto seen = count(client, auth, family);
    BOOST_TEST_INFO(family << ": " << seen << " of " << n);
    BOOST_TEST((seen == 0 || seen == n));  // all or nothing
  }
  BOOST_TEST(server.terminate() == 0);
  BOOST_TEST(integrity_check(db) == "ok");
}

// The disk fills up under a running server: creates are refused with an
// OperationOutcome, reads go on, the process stays up, and after a restart
// with room again every acknowledged write is there and new ones work.
BOOST_AUTO_TEST_CASE(a_full_disk_refuses_creates_and_keeps_what_was_stored) {
  if (binary_missing()) return;
  TempDir dir;
  const auto db = dir.path() / "full.db";
  std::map<std::string, std::string> creds;
  std::vector<std::string> acknowledged;
  auto create = [&](RawClient& client, const std::string& auth, std::size_t i) {
    auto res = client.exchange(
        raw_request("POST", kBase + "/Patient", auth, json::serialize(patient_named("Full", i))));
    BOOST_REQUIRE(res.has_value());
    if (res->result_int() == 201u) acknowledged.push_back(str(body_json(*res), {"id"}));
    return *res;
  };
  {
    ServeProcess server(db, creds);
    const std::string auth = basic_auth("demo", creds["password:"]);
    RawClient client(server.port());
    post_key(client, auth, creds);
    for (std::size_t i = 0; i < 3; ++i)
      BOOST_REQUIRE_EQUAL(create(client, auth, i).result_int(), 201u);
    BOOST_REQUIRE_EQUAL(server.terminate(), 0);  // the WAL is emptied into the file
  }
  {
    // Room for a WAL of ~2 creates (~30 pages of 4 KiB each), not for 40.
    ServeProcess server(db, creds, std::filesystem::file_size(db) + 256 * 1024);
    const std::string auth = basic_auth("demo", creds["password:"]);
    RawClient client(server.port());
    post_key(client, auth, creds);
    std::size_t refused = 0;
    for (std::size_t i = 3; i < 40 && refused < 3; ++i) {
      const auto res = create(client, auth, i);
      if (res.result_int() == 201u) continue;
      ++refused;
      BOOST_TEST_INFO("create " << i << ": " << res.body());
      BOOST_TEST(res.result_int() == 507u);
      const auto outcome = body_json(res);
      BOOST_TEST(str(outcome, {"resourceType"}) == "OperationOutcome");
      BOOST_TEST(issue_field(res, "code") == "no-store");
    }
    BOOST_TEST(refused == 3u);  // the disk did fill up
    // Reads go on, on the same connection and process.
    auto read =
        client.exchange(raw_request("GET", kBase + "/Patient/" + acknowledged.front(), auth));
    BOOST_REQUIRE(read.has_value());
    BOOST_TEST(read->result_int() == 200u);
    BOOST_TEST(count(client, auth, "Full") == acknowledged.size());
    const int status = server.terminate();
    BOOST_TEST(WIFEXITED(status));  // not killed by a signal, whatever the exit code
  }
  ServeProcess server(db, creds);
  const std::string auth = basic_auth("demo", creds["password:"]);
  RawClient client(server.port());
  post_key(client, auth, creds);
  for (const auto& id : acknowledged) {
    auto res = client.exchange(raw_request("GET", kBase + "/Patient/" + id, auth));
    BOOST_REQUIRE(res.has_value());
    BOOST_TEST_INFO("acknowledged patient " << id);
    BOOST_TEST(res->result_int() == 200u);
  }
  BOOST_TEST(count(client, auth, "Full") == acknowledged.size());  // no refused one half-stored
  BOOST_TEST(create(client, auth, 100).result_int() == 201u);
  BOOST_TEST(server.terminate() == 0);
  BOOST_TEST(integrity_check(db) == "ok");
}

// A graceful stop says how the writes shared commits (group commit) and how
// long the writer ran them: the figures benchmarks/http/cpu_per_request.sh reads.
BOOST_AUTO_TEST_CASE(a_graceful_stop_reports_its_writes_and_commits) {
  if (binary_missing()) return;
  TempDir dir;
  const auto db = dir.path() / "stats.db";
  std::map<std::string, std::string> creds;
  struct StopLine {
    unsigned long long writes = 0, commits = 0;
    double seconds_in_groups = -1;
    unsigned long long searches_answered = 0, searches_looked_up = 0;
  };
  // "fhirbridge: stopped (W writes in C commits, S s in write groups)" in what
  // `server` wrote as it stopped.
  auto stop_line = [](ServeProcess& server) {
    StopLine line;
    BOOST_REQUIRE_EQUAL(server.terminate(), 0);
    const std::string rest = server.rest_of_output();
    BOOST_TEST_INFO(rest);
    const auto at = rest.find("fhirbridge: stopped (");
    BOOST_REQUIRE(at != std::string::npos);
    BOOST_REQUIRE(std::sscanf(rest.c_str() + at,
                              "fhirbridge: stopped (%llu writes in %llu commits, %lf s in write "
                              "groups)",
                              &line.writes, &line.commits, &line.seconds_in_groups) == 3);
    // "fhirbridge: the search cache answered A of L searches", just before.
    const auto cache = rest.find("fhirbridge: the search cache answered ");
    BOOST_REQUIRE(cache != std::string::npos);
    BOOST_REQUIRE(cache < at);
    BOOST_REQUIRE(std::sscanf(rest.c_str() + cache,
                              "fhirbridge: the search cache answered %llu of %llu searches",
                              &line.searches_answered, &line.searches_looked_up) == 2);
    return line;
  };
  {
    ServeProcess server(db, creds);  // creates the demo account: its own writes
    const StopLine first = stop_line(server);
    BOOST_TEST(first.writes >= 1u);
  }
  const auto started = std::chrono::steady_clock::now();
  ServeProcess server(db, creds);
  const std::string auth = basic_auth("demo", creds["password:"]);
  RawClient client(server.port());
  post_key(client, auth, creds);
  for (std::size_t i = 0; i < 3; ++i) {
    auto created = client.exchange(
        raw_request("POST", kBase + "/Patient", auth, json::serialize(patient_named("Stats", i))));
    BOOST_REQUIRE(created.has_value());
    BOOST_TEST(created->result_int() == 201u);
  }
  auto res = client.exchange(raw_request("POST", kBase, auth, transaction_of("Stats", 5)));
  BOOST_REQUIRE(res.has_value());
  BOOST_TEST(res->result_int() == 200u);
  // The same search three times with no write between: the search cache
  // answers the repeats (a read connection's first look may move the change
  // epoch once more), and says so as the server stops.
  for (int i = 0; i < 3; ++i) {
    auto found = client.exchange(raw_request("GET", kBase + "/Patient?name=stats", auth));
    BOOST_REQUIRE(found.has_value());
    BOOST_TEST(found->result_int() == 200u);
    BOOST_TEST(json::parse(found->body()).at("total").as_int64() == 8);
  }
  const StopLine second = stop_line(server);
  BOOST_TEST(second.searches_looked_up == 3u);
  BOOST_TEST(second.searches_answered >= 1u);
  BOOST_TEST(second.searches_answered <= 2u);
  const double lifetime =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  BOOST_TEST(second.writes == 4u);  // three creates and one transaction (one write for its entries)
  BOOST_TEST(second.commits >= 1u);
  BOOST_TEST(second.commits <= second.writes);
  // Printed to the microsecond: four writes show.
  BOOST_TEST(second.seconds_in_groups > 0.0);
  BOOST_TEST(second.seconds_in_groups < lifetime);
}

// A repeated read and a repeated search are answered from memory (the read
// connection's remembered row, the search cache) while the store's WAL index
// header reads the same, with no transaction. That header lives in memory the
// processes on the file share: what another process (this test, on its own
// connection) commits is what the server's very next read and search answer.
BOOST_AUTO_TEST_CASE(reads_answered_from_memory_see_what_another_process_commits) {
  if (binary_missing()) return;
  TempDir dir;
  const auto db = dir.path() / "shared.db";
  std::map<std::string, std::string> creds;
  ServeProcess server(db, creds);
  const std::string auth = basic_auth("demo", creds["password:"]);
  RawClient client(server.port());
  post_key(client, auth, creds);
  auto created = client.exchange(raw_request("POST", kBase + "/Patient", auth,
                                             json::serialize(patient_named("Elsewhere", 0))));
  BOOST_REQUIRE(created.has_value());
  BOOST_REQUIRE_EQUAL(created->result_int(), 201u);
  const std::string id(json::parse(created->body()).at("id").as_string());
  auto read = [&] {
    auto res = client.exchange(raw_request("GET", kBase + "/Patient/" + id, auth));
    BOOST_REQUIRE(res.has_value());
    return *res;
  };
  auto gender = [&] {
    auto res = read();
    BOOST_REQUIRE_EQUAL(res.result_int(), 200u);
    const auto body = json::parse(res.body()).as_object();
    return body.contains("gender") ? std::string(body.at("gender").as_string()) : "";
  };
  auto total = [&](const std::string& query) {
    auto res = client.exchange(raw_request("GET", kBase + "/Patient?" + query, auth));
    BOOST_REQUIRE(res.has_value());
    BOOST_REQUIRE_EQUAL(res->result_int(), 200u);
    return json::parse(res->body()).at("total").as_int64();
  };
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST(gender() == "");
    BOOST_TEST(total("family:exact=Elsewhere&gender=female") == 0);
  }

  crypto::Keychain keychain;
  auto opened = storage::SqliteStore::open(db, keychain);
  BOOST_REQUIRE_MESSAGE(opened.ok(), opened.status().to_string());
  std::unique_ptr<storage::SqliteStore> other = std::move(*opened);
  auto who = server::bulk::unlock_principal(*other, keychain, "demo", creds["password:"],
                                            creds["private key:"]);
  BOOST_REQUIRE_MESSAGE(who.ok(), who.status().to_string());
  auto patient = other->get_patient(*who, id);
  BOOST_REQUIRE_MESSAGE(patient.ok(), patient.status().to_string());
  patient->gender = "female";
  BOOST_REQUIRE(other->update_patient(*who, *patient).ok());
  for (int i = 0; i < 2; ++i) {
    BOOST_TEST(gender() == "female");
    BOOST_TEST(total("family:exact=Elsewhere&gender=female") == 1);
  }

  BOOST_REQUIRE(other->delete_patient(*who, id, std::nullopt).ok());
  for (int i = 0; i < 2; ++i) {
    BOOST_TEST(read().result_int() == 410u);  // deleted (docs/server.md)
    BOOST_TEST(total("family:exact=Elsewhere") == 0);
  }
}

BOOST_AUTO_TEST_CASE(sigkill_mid_import_keeps_every_reported_batch_and_no_partial_one) {
  if (binary_missing()) return;
  TempDir dir;
  const auto db = dir.path() / "import.db", pw = dir.path() / "pw.txt",
             account = dir.path() / "account.txt", data = dir.path() / "synth.ndjson";
  std::ofstream(pw) << "import-password\n";
  BOOST_REQUIRE_EQUAL(run_fhirbridge({"user", "add", "--login", "importer", "--password-file",
                                      pw.string(), "--db", db.string()},
                                     account),
                      0);
  constexpr long long kPatients = 1000, kPerPatient = 4, kBatch = 100;
  BOOST_REQUIRE_EQUAL(
      run_fhirbridge({"generate", "--patients", std::to_string(kPatients),
                      "--observations-per-patient", std::to_string(kPerPatient), "--seed", "7"},
                     data),
      0);
  const std::vector<std::string> import_args = {"import",
                                                "--db",
                                                db.string(),
                                                "--login",
                                                "importer",
                                                "--password-file",
                                                pw.string(),
                                                "--key-file",
                                                account.string(),
                                                "--batch-size",
                                                std::to_string(kBatch),
                                                "--defer-indexes",
                                                "yes",
                                                data.string()};
  // The search-only indexes it drops first (SqliteStore::defer_search_indexes).
  std::string deferred_indexes_present =
      "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name IN (''";
  for (const auto& name : storage::SqliteStore::deferrable_search_indexes())
    deferred_indexes_present += ", '" + name + "'";
  deferred_indexes_present += ")";

  // The importer on a pseudo-terminal: it then redraws its progress ("N
  // stored", counted after each committed batch) every 0.2 s. Killed once it
  // has reported at least three batches.
  int master = -1;
  const pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  BOOST_REQUIRE(pid >= 0);
  if (pid == 0) {
    std::vector<char*> argv;
    const std::string bin = fhirbridge_binary().string();
    argv.push_back(const_cast<char*>(bin.c_str()));
    for (const auto& a : import_args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  const std::regex stored_re(R"(([0-9]+) stored)");
  long long acknowledged = 0;
  bool killed = false;
  std::string seen;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) break;  // EIO: the importer finished (and closed the terminal)
    seen.append(buf, static_cast<std::size_t>(n));
    for (std::sregex_iterator it(seen.begin(), seen.end(), stored_re), end; it != end; ++it)
      acknowledged = std::max(acknowledged, std::stoll((*it)[1]));
    if (seen.size() > 8192) seen.erase(0, seen.size() - 256);  // keep a partial match
    if (acknowledged >= 3 * kBatch) {
      kill(pid, SIGKILL);
      killed = true;
      break;
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  close(master);
  BOOST_TEST_MESSAGE("importer " << (killed ? "killed" : "finished") << " after " << acknowledged
                                 << " resources reported stored");
  BOOST_TEST_INFO("a fast machine may finish before the kill; the checks still hold");

  BOOST_TEST(integrity_check(db) == "ok");
  const Stored after_kill = stored_in(db);
  const long long total = after_kill.patients + after_kill.contacts;
  BOOST_TEST_INFO("after SIGKILL: " << after_kill.patients << " patients, " << after_kill.contacts
                                    << " observations; acknowledged " << acknowledged);
  BOOST_TEST(total >= acknowledged);            // every reported batch is there
  if (killed) BOOST_TEST(total % kBatch == 0);  // whole batches only (all are full here)
  BOOST_TEST(after_kill.patient_ids == after_kill.patients);  // nothing twice
  BOOST_TEST(after_kill.observation_ids == after_kill.contacts);
  // Killed, it could not build them again; whoever opens the store next does.
  if (killed) BOOST_TEST(sql_count(db, deferred_indexes_present) == 0);

  // Re-running the same import completes it: what is there is skipped.
  BOOST_TEST(run_fhirbridge([&] {
               auto args = import_args;
               args.insert(args.begin() + 1, "--quiet");
               return args;
             }()) == 0);
  const Stored done = stored_in(db);
  BOOST_TEST(done.patients == kPatients);
  BOOST_TEST(done.patient_ids == kPatients);
  BOOST_TEST(done.contacts == kPatients * kPerPatient);
  BOOST_TEST(done.observation_ids == kPatients * kPerPatient);
  BOOST_TEST(sql_count(db, deferred_indexes_present) == 6);
  BOOST_TEST(integrity_check(db) == "ok");
}

BOOST_AUTO_TEST_SUITE_END()
