// Crash safety of the real `fhirbridge serve` binary: stream creates and
// transactions, SIGKILL the process with a transaction in flight, restart on
// the same database, and check that every acknowledged (201/200) write is
// there, no transaction is half visible, and SQLite's integrity_check is ok.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "hostile_support.hpp"

using namespace fhirbridge;
using namespace fhirbridge::test;
namespace json = boost::json;

namespace {

const std::string kBase = "/rest/fhir/r4";

std::filesystem::path fhirbridge_binary() {
  return std::filesystem::path(FHIRBRIDGE_BINARY_DIR) / "server/fhirbridge";
}

std::string after(const std::string& line, const std::string& prefix) {
  const auto at = line.find(prefix);
  if (at == std::string::npos) return {};
  std::string rest = line.substr(at + prefix.size());
  while (!rest.empty() && (rest.front() == ' ')) rest.erase(0, 1);
  while (!rest.empty() && (rest.back() == '\n' || rest.back() == '\r' || rest.back() == ' '))
    rest.pop_back();
  return rest;
}

// `fhirbridge serve --demo` on a port of its own; stdout is read until it
// says where it listens (and, on first start, the demo credentials).
class ServeProcess {
 public:
  ServeProcess(const std::filesystem::path& db, std::map<std::string, std::string>& creds) {
    int fds[2];
    BOOST_REQUIRE(pipe(fds) == 0);
    pid_ = fork();
    BOOST_REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
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

}  // namespace

BOOST_AUTO_TEST_SUITE(crash_safety)

BOOST_AUTO_TEST_CASE(sigkill_mid_stream_loses_no_acknowledged_write) {
  if (!std::filesystem::exists(fhirbridge_binary())) {
    BOOST_TEST_MESSAGE("skipped: " << fhirbridge_binary() << " is not built");
    return;
  }
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

BOOST_AUTO_TEST_SUITE_END()
