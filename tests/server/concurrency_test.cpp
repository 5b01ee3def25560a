// 64 concurrent clients against a real HttpServer on 127.0.0.1, each on its
// own keep-alive connection, mixing creates, reads, searches and transactions
// for a bounded number of rounds: zero errors, zero lost writes (counted
// afterwards with _summary=count), and memory that does not keep growing.
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <thread>

#include "fhirbridge/server/http_server.hpp"
#include "hostile_support.hpp"
#include "server_fixture.hpp"

using namespace fhirbridge;
using namespace fhirbridge::test;
namespace json = boost::json;

namespace {

const std::string kBase = "/rest/fhir/r4";
const std::string kFamily = "Concurrency";
constexpr int kClients = 64;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

// Resident set size in MiB (Linux /proc).
long rss_mib() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024) / 1024;
}

std::string patient(const std::string& given) {
  return json::serialize(json::object{
      {"resourceType", "Patient"},
      {"name", json::array{json::object{{"family", kFamily}, {"given", json::array{given}}}}},
      {"gender", "female"},
      {"birthDate", "1980-02-03"}});
}

std::string observation(const std::string& patient_id, int value) {
  return json::serialize(json::object{
      {"resourceType", "Observation"},
      {"status", "final"},
      {"code", json::object{{"coding", json::array{json::object{{"system", "http://loinc.org"},
                                                                {"code", "8867-4"}}}}}},
      {"subject", json::object{{"reference", "Patient/" + patient_id}}},
      {"effectiveDateTime", "2024-05-06T07:08:09Z"},
      {"valueQuantity", json::object{{"value", value},
                                     {"unit", "/min"},
                                     {"system", "http://unitsofmeasure.org"},
                                     {"code", "/min"}}}});
}

std::string transaction(const std::string& tag, int n) {
  json::array entries;
  for (int i = 0; i < n; ++i)
    entries.push_back(
        json::object{{"resource", json::parse(patient(tag + "-" + std::to_string(i)))},
                     {"request", json::object{{"method", "POST"}, {"url", "Patient"}}}});
  return json::serialize(
      json::object{{"resourceType", "Bundle"}, {"type", "transaction"}, {"entry", entries}});
}

// What one client did, and what went wrong (kept short for the report).
struct ClientLog {
  std::string anchor_id;  // the patient its observations point at
  long patients_acknowledged = 0, observations_acknowledged = 0, requests = 0;
  std::vector<std::string> errors;
};

void run_client(unsigned short port, const std::string& auth, int client, int rounds,
                ClientLog& log) {
  try {
    RawClient http(port);
    auto call = [&](const std::string& method, const std::string& target, const std::string& body,
                    unsigned expected) -> json::value {
      ++log.requests;
      auto res = http.exchange(raw_request(method, target, auth, body));
      if (!res) {
        log.errors.push_back(method + " " + target + ": connection lost");
        throw std::runtime_error("connection lost");
      }
      if (res->result_int() != expected) {
        log.errors.push_back(method + " " + target + ": " + std::to_string(res->result_int()) +
                             " " + res->body().substr(0, 200));
        return {};
      }
      return body_json(*res);
    };
    const std::string tag = "c" + std::to_string(client);
    json::value anchor = call("POST", kBase + "/Patient", patient(tag + "-anchor"), 201);
    log.anchor_id = str(anchor, {"id"});
    if (log.anchor_id.empty()) return;
    ++log.patients_acknowledged;
    std::vector<std::string> mine{log.anchor_id};
    for (int round = 0; round < rounds; ++round) {
      switch ((round + client) % 5) {
        case 0: {  // create
          auto created =
              call("POST", kBase + "/Patient", patient(tag + "-" + std::to_string(round)), 201);
          if (auto id = str(created, {"id"}); !id.empty()) {
            ++log.patients_acknowledged;
            mine.push_back(id);
          }
          break;
        }
        case 1: {  // read one of ours
          const std::string& id = mine[static_cast<std::size_t>(round) % mine.size()];
          auto read = call("GET", kBase + "/Patient/" + id, {}, 200);
          if (!read.is_null() && str(read, {"id"}) != id)
            log.errors.push_back("read " + id + " returned " + str(read, {"id"}));
          break;
        }
        case 2:  // search
          call("GET", kBase + "/Patient?family=" + kFamily + "&_count=5", {}, 200);
          break;
        case 3: {  // transaction
          auto bundle =
              call("POST", kBase, transaction(tag + "-t" + std::to_string(round), 3), 200);
          if (!bundle.is_null()) log.patients_acknowledged += 3;
          break;
        }
        case 4: {  // observation on our anchor patient
          auto created =
              call("POST", kBase + "/Observation", observation(log.anchor_id, 60 + round), 201);
          if (!created.is_null()) ++log.observations_acknowledged;
          break;
        }
      }
    }
  } catch (const std::exception& e) {
    log.errors.push_back(std::string("client stopped: ") + e.what());
  }
}

// Runs `kClients` clients at once; returns their logs.
std::vector<ClientLog> run_clients(unsigned short port, const std::string& auth, int rounds) {
  std::vector<ClientLog> logs(kClients);
  std::vector<std::thread> threads;
  threads.reserve(kClients);
  for (int c = 0; c < kClients; ++c)
    threads.emplace_back(run_client, port, auth, c, rounds, std::ref(logs[c]));
  for (auto& t : threads) t.join();
  return logs;
}

long count(RawClient& client, const std::string& auth, const std::string& query) {
  auto res = client.exchange(raw_request("GET", kBase + query, auth));
  if (!res || res->result_int() != 200) return -1;
  const auto body = body_json(*res);  // keep it alive: `total` points into it
  auto total = body.as_object().if_contains("total");
  return total ? static_cast<long>(total->to_number<double>()) : -1;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(concurrency)

BOOST_AUTO_TEST_CASE(sixty_four_clients_mixing_writes_reads_and_searches) {
  ServerFixture f;
  server::HttpServerOptions options;
  options.port = 0;
  options.threads = 4;
  options.access_log = false;
  server::HttpServer http(*f.ctx, options);
  BOOST_REQUIRE(http.start().ok());
  const std::string auth = f.alice.auth();
  // One Argon2 check up front; 64 clients then hit the login cache instead of
  // running 64 Argon2 checks (19 MiB each) at once.
  BOOST_REQUIRE(f.ctx->authenticate(f.alice.login, f.alice.password).ok());

  const int rounds = kSanitized ? 8 : 20;
  // Warm-up pass: allocator pools, SQLite page cache, thread stacks.
  auto warmup = run_clients(http.port(), auth, rounds);
  const long rss_before = rss_mib();
  auto logs = run_clients(http.port(), auth, rounds);
  const long rss_after = rss_mib();

  long patients = 0, requests = 0, errors = 0;
  for (const auto* batch : {&warmup, &logs})
    for (const auto& log : *batch) {
      patients += log.patients_acknowledged;
      requests += log.requests;
      errors += static_cast<long>(log.errors.size());
      for (std::size_t i = 0; i < std::min<std::size_t>(log.errors.size(), 3); ++i)
        BOOST_TEST_MESSAGE("error: " << log.errors[i]);
    }
  BOOST_TEST_MESSAGE(requests << " requests by " << kClients << " clients (twice); RSS "
                              << rss_before << " -> " << rss_after << " MiB");
  BOOST_TEST(errors == 0);

  // Zero lost writes: every acknowledged patient and observation is counted.
  RawClient client(http.port());
  BOOST_TEST(count(client, auth, "/Patient?family:exact=" + kFamily + "&_summary=count") ==
             patients);
  for (const auto* batch : {&warmup, &logs})
    for (const auto& log : *batch) {
      if (log.anchor_id.empty()) continue;
      BOOST_TEST_INFO("observations of " << log.anchor_id);
      BOOST_TEST(count(client, auth,
                       "/Observation?subject=Patient/" + log.anchor_id + "&_summary=count") ==
                 log.observations_acknowledged);
    }

  // Memory stable: a second identical pass must not grow the process much
  // (generous: ASan's quarantine alone may hold 256 MiB).
  const long allowed_growth = kSanitized ? 768 : 128;
  BOOST_TEST(rss_after - rss_before < allowed_growth);
}

BOOST_AUTO_TEST_SUITE_END()
