// A real HttpServer on 127.0.0.1 (ephemeral port) driven by a Beast client
// over one keep-alive connection: the tutorial's whole flow, field by field.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "fhirbridge/server/http_server.hpp"
#include "server_fixture.hpp"
#include "storage/faulty_store.hpp"

using namespace fhirbridge;
using namespace fhirbridge::test;
namespace json = boost::json;
namespace asio = boost::asio;
namespace beast = boost::beast;
using http::verb;

namespace {

class Client {
 public:
  explicit Client(unsigned short port) : stream_(ioc_) {
    stream_.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  server::Response send(verb method, const std::string& target, const std::string& auth,
                        const std::string& body = {},
                        const std::string& content_type = "application/json") {
    server::Request req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::accept, "application/json");
    if (!auth.empty()) req.set(http::field::authorization, auth);
    if (!body.empty()) {
      req.set(http::field::content_type, content_type);
      req.body() = body;
    }
    req.keep_alive(true);
    req.prepare_payload();
    http::write(stream_, req);
    server::Response res;
    http::read(stream_, buffer_, res);
    return res;
  }

 private:
  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

struct RunningServer {
  explicit RunningServer(ServerFixture& f) : http(*f.ctx, options()) {
    BOOST_REQUIRE(http.start().ok());
  }
  static server::HttpServerOptions options() {
    server::HttpServerOptions o;
    o.port = 0;
    o.threads = 2;
    o.access_log = false;
    return o;
  }
  server::HttpServer http;
};

const std::string kBase = "/rest/fhir/r4";

// A server on `f`'s store whose first write waits in the store until
// release(): a write pool busy with a slow write.
class FirstWriteHeld {
 public:
  FirstWriteHeld(ServerFixture& f, unsigned write_threads)
      : gated_(*f.store), ctx_(gated_, f.keychain, settings()), http(ctx_, options(write_threads)) {
    gated_.before_each_write = [this] {
      if (first_.exchange(false)) {
        entered_.set_value();
        released_.wait();
      }
    };
    BOOST_REQUIRE(http.start().ok());
  }
  ~FirstWriteHeld() { release(); }  // a failed test must not leave the write waiting
  void wait_until_held() { entered_.get_future().wait(); }
  void release() {
    if (!released_once_.exchange(true)) release_.set_value();
  }

 private:
  static server::ServerSettings settings() {
    server::ServerSettings s;
    s.public_base_url = "http://fhir.test";
    return s;
  }
  static server::HttpServerOptions options(unsigned write_threads) {
    server::HttpServerOptions o = RunningServer::options();
    o.write_threads = write_threads;
    return o;
  }
  FaultyStore gated_;
  std::promise<void> entered_, release_;
  std::shared_future<void> released_ = release_.get_future().share();
  std::atomic<bool> first_{true}, released_once_{false};
  server::ServerContext ctx_;

 public:
  server::HttpServer http;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(server_socket)

BOOST_AUTO_TEST_CASE(the_tutorial_flow_over_http) {
  ServerFixture f({}, /*post_keys=*/false);
  RunningServer server(f);
  Client client(server.http.port());
  const std::string auth = f.alice.auth();

  // 1. keychain
  auto key = client.send(verb::post, "/rest/icdx/v1/keychain/" + f.alice.hcp_id, auth,
                         json::serialize(json::object{{"key", f.alice.private_key_hex}}));
  BOOST_TEST(key.result_int() == 200u);
  BOOST_TEST(json::parse(key.body()) == json::value(true));

  // 2. create pat1
  auto created =
      client.send(verb::post, kBase + "/Patient", auth, json::serialize(seed("patient-pat1.json")));
  BOOST_REQUIRE_EQUAL(created.result_int(), 201u);
  auto patient = body_json(created);
  const std::string pat1 = str(patient, {"id"});
  BOOST_TEST(pat1.size() == 36u);  // a store UUID, not "pat1"
  BOOST_TEST(str(patient, {"resourceType"}) == "Patient");
  BOOST_TEST(str(patient, {"meta", "versionId"}) == "1");
  BOOST_TEST(!str(patient, {"meta", "lastUpdated"}).empty());
  BOOST_TEST(str(patient, {"gender"}) == "male");
  BOOST_TEST(patient.at("name").at(0).at("family").as_string() == "Donald");
  BOOST_TEST(patient.at("name").at(0).at("given").at(0).as_string() == "Duck");
  BOOST_TEST(patient.at("active").as_bool());
  BOOST_TEST(created[http::field::etag] == "W/\"1\"");
  BOOST_TEST(created[http::field::location] ==
             "http://fhir.test/rest/fhir/r4/Patient/" + pat1 + "/_history/1");

  // 3. read it by FHIR id and by store id
  for (const std::string& id : {std::string("pat1"), pat1}) {
    auto read = client.send(verb::get, kBase + "/Patient/" + id, auth);
    BOOST_TEST_INFO(id);
    BOOST_REQUIRE_EQUAL(read.result_int(), 200u);
    BOOST_TEST(std::string(read[http::field::content_type]).starts_with("application/json"));
    auto fetched = body_json(read);
    BOOST_TEST(str(fetched, {"id"}) == pat1);
    BOOST_TEST(fetched.at("identifier") == patient.at("identifier"));
    BOOST_TEST(fetched.at("photo") == patient.at("photo"));
  }

  // 4. create the observation with the new patient as subject, read it
  auto obs_res = client.send(verb::post, kBase + "/Observation", auth,
                             json::serialize(with_subject(seed("observation-f001.json"), pat1)));
  BOOST_REQUIRE_EQUAL(obs_res.result_int(), 201u);
  auto obs = body_json(obs_res);
  const std::string f001 = str(obs, {"id"});
  BOOST_TEST(str(obs, {"subject", "reference"}) == "Patient/" + pat1);
  BOOST_TEST(str(obs, {"status"}) == "final");
  BOOST_TEST(obs.at("code").at("coding").at(0).at("code").as_string() == "15074-8");
  BOOST_TEST(obs.at("valueQuantity").at("value").to_number<double>() == 6.3);
  auto obs_read = client.send(verb::get, kBase + "/Observation/f001", auth);
  BOOST_REQUIRE_EQUAL(obs_read.result_int(), 200u);
  BOOST_TEST(str(body_json(obs_read), {"id"}) == f001);
  BOOST_TEST(body_json(obs_read).at("valueQuantity") == obs.at("valueQuantity"));

  // 5. the tutorial's bundle (its observation's subject: the bundle's patient)
  json::value bundle = seed("bundle-transaction.json");
  auto& entries = bundle.as_object()["entry"].as_array();
  entries[1].as_object()["resource"] = with_subject(entries[1].at("resource"), "Patient/pat2");
  auto tx = client.send(verb::post, kBase, auth, json::serialize(bundle));
  BOOST_REQUIRE_EQUAL(tx.result_int(), 200u);
  auto txb = body_json(tx);
  BOOST_TEST(str(txb, {"type"}) == "transaction-response");
  const auto& te = txb.at("entry").as_array();
  BOOST_REQUIRE_EQUAL(te.size(), 2u);
  const std::string pat2 = str(te[0], {"resource", "id"});
  BOOST_TEST(str(te[0], {"response", "status"}) == "201 Created");
  BOOST_TEST(str(te[1], {"response", "status"}) == "201 Created");
  BOOST_TEST(str(te[1], {"resource", "subject", "reference"}) == "Patient/" + pat2);
  BOOST_TEST(str(te[0], {"resource", "gender"}) == "other");

  // 6. search both ways (the tutorial's query, and a form POST)
  auto searched = client.send(verb::get, kBase + "/Patient?_id=pat2&name=Donald&", auth);
  BOOST_REQUIRE_EQUAL(searched.result_int(), 200u);
  auto sb = body_json(searched);
  BOOST_TEST(str(sb, {"type"}) == "searchset");
  BOOST_TEST(sb.at("total").as_int64() == 1);
  auto form = client.send(verb::post, kBase + "/Patient/_search", auth, "name=Donald",
                          "application/x-www-form-urlencoded");
  BOOST_TEST(body_json(form).at("total").as_int64() == 2);
  auto observations = client.send(verb::get, kBase + "/Observation?", auth);
  BOOST_TEST(body_json(observations).at("total").as_int64() == 2);

  // 7. the tutorial's "delete" (a GET) is a search; a real conditional delete
  BOOST_TEST(client.send(verb::get, kBase + "/Patient?name=Donald", auth).result_int() == 200u);
  auto del = client.send(verb::delete_, kBase + "/Patient?name=Donald", auth);
  BOOST_TEST(del.result_int() == 200u);
  BOOST_TEST(issue_field(del, "severity") == "information");
  auto gone = client.send(verb::get, kBase + "/Patient/" + pat1, auth);
  BOOST_TEST((gone.result_int() == 404u || gone.result_int() == 410u));
  BOOST_TEST(body_json(client.send(verb::get, kBase + "/Patient?name=Donald", auth))
                 .at("total")
                 .as_int64() == 0);

  // Auth over the wire.
  auto anonymous = client.send(verb::get, kBase + "/Patient/pat1", "");
  BOOST_TEST(anonymous.result_int() == 401u);
  BOOST_TEST(anonymous[http::field::www_authenticate] == "Basic realm=\"fhirbridge\"");
  server.http.stop();
  server.http.wait();
}

BOOST_AUTO_TEST_CASE(body_over_the_limit_is_413_and_stop_is_graceful) {
  server::ServerSettings small;
  small.body_limit = 512;
  ServerFixture f(small);
  RunningServer server(f);
  Client client(server.http.port());
  auto res =
      client.send(verb::post, kBase + "/Patient", f.alice.auth(), std::string(2000, ' ') + "{}");
  BOOST_TEST(res.result_int() == 413u);
  BOOST_TEST(issue_field(res, "code") == "too-costly");
  Client idle(server.http.port());  // an idle keep-alive connection must not block the stop
  BOOST_TEST(idle.send(verb::get, kBase + "/metadata", "").result_int() == 200u);
  server.http.stop();
  server.http.wait();
}

// Writes run on the write pool (HttpServerOptions::write_threads): reads are
// served while one waits on the store, and a stop while it is in flight still
// answers it (then closes the connection).
BOOST_AUTO_TEST_CASE(a_write_in_flight_on_the_write_pool_is_answered_across_a_stop) {
  ServerFixture f;
  FirstWriteHeld held(f, /*write_threads=*/2);
  server::HttpServer& http = held.http;

  server::Response created;
  std::thread writer([&] {
    Client client(http.port());
    created = client.send(verb::post, kBase + "/Patient", f.alice.auth(),
                          json::serialize(seed("patient-pat1.json")));
  });
  held.wait_until_held();
  Client reader(http.port());
  BOOST_TEST(reader.send(verb::get, kBase + "/metadata", "").result_int() == 200u);
  http.stop();
  held.release();
  writer.join();
  BOOST_TEST(created.result_int() == 201u);
  BOOST_TEST(!created.keep_alive());
  http.wait();
  BOOST_TEST(f.store->find_patients({f.alice.hcp_id, ""}, {})->total == 1);
}

// "Expect: 100-continue" with credentials the server remembers gets its 100
// from the I/O thread, while the only write thread is held by another write;
// credentials seen for the first time are checked on the pool (they hash).
BOOST_AUTO_TEST_CASE(remembered_credentials_get_their_100_while_the_write_pool_is_busy) {
  ServerFixture f;
  FirstWriteHeld held(f, /*write_threads=*/1);
  server::HttpServer& http = held.http;

  json::value patient = seed("patient-pat1.json");
  patient.as_object().erase("id");  // two creates of it
  const std::string body = json::serialize(patient);
  server::Response first_write;
  std::thread writer([&] {
    Client client(http.port());
    first_write = client.send(verb::post, kBase + "/Patient", f.alice.auth(), body);
  });
  held.wait_until_held();  // the pool's one thread waits in the store; alice is remembered

  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), http.port()});
  const std::string header = "POST " + kBase +
                             "/Patient HTTP/1.1\r\nHost: x\r\nAuthorization: " + f.alice.auth() +
                             "\r\nContent-Type: application/fhir+json\r\nExpect: 100-continue\r\n"
                             "Content-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n";
  asio::write(socket, asio::buffer(header));
  beast::flat_buffer buffer;
  http::response_parser<http::empty_body> interim;
  beast::error_code ec;
  // The pool stays held until the 100 came or 5 s passed (a 100 that waited
  // for the pool would come only once it is released).
  auto interim_read =
      std::async(std::launch::async, [&] { http::read_header(socket, buffer, interim, ec); });
  BOOST_TEST((interim_read.wait_for(std::chrono::seconds(5)) == std::future_status::ready));
  held.release();
  interim_read.wait();
  BOOST_TEST(ec.message() == beast::error_code().message());
  BOOST_TEST(interim.get().result_int() == 100u);
  writer.join();
  BOOST_TEST(first_write.result_int() == 201u);
  asio::write(socket, asio::buffer(body));  // and the request goes on as usual
  http::response<http::string_body> created;
  http::read(socket, buffer, created, ec);
  BOOST_TEST(ec.message() == beast::error_code().message());
  BOOST_TEST(created.result_int() == 201u);
  http.stop();
  http.wait();
}

// Many clients writing at once through the pool: every write is answered and
// stored once, and concurrent writes share commits.
BOOST_AUTO_TEST_CASE(concurrent_writes_through_the_write_pool) {
  ServerFixture f;
  RunningServer server(f);
  constexpr int kClients = 8, kEach = 5;
  json::value patient = seed("patient-pat1.json");
  patient.as_object().erase("id");  // else the second create conflicts on the FHIR id
  const std::string body = json::serialize(patient);
  std::atomic<int> created{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c)
    clients.emplace_back([&] {
      Client client(server.http.port());
      for (int i = 0; i < kEach; ++i)
        if (client.send(verb::post, kBase + "/Patient", f.alice.auth(), body).result_int() == 201u)
          ++created;
    });
  for (auto& t : clients) t.join();
  BOOST_TEST(created.load() == kClients * kEach);
  BOOST_TEST(f.store->find_patients({f.alice.hcp_id, ""}, {})->total == kClients * kEach);
  server.http.stop();
  server.http.wait();
}

// How connections share the I/O threads (HttpServerOptions::io_model,
// docs/server.md "I/O threads"). Pinned: every request of a connection runs on
// one thread, and connections go round-robin over every thread. Shared: any
// free thread runs a request. Either way all are answered and the stop ends
// every thread. (No write pool: a create runs on its connection's I/O thread,
// where the store's hook sees it.)
BOOST_AUTO_TEST_CASE(connections_stay_on_one_io_thread_each_when_pinned) {
  using IoModel = server::HttpServerOptions::IoModel;
  for (const IoModel model : {IoModel::pinned, IoModel::shared}) {
    BOOST_TEST_CONTEXT((model == IoModel::pinned ? "pinned" : "shared")) {
      ServerFixture f;
      FaultyStore recorded(*f.store);
      std::mutex mutex;
      std::thread::id last_writer;
      recorded.before_each_write = [&] {
        std::lock_guard lock(mutex);
        last_writer = std::this_thread::get_id();
      };
      server::ServerContext ctx(recorded, f.keychain, {});
      server::HttpServerOptions options = RunningServer::options();
      options.threads = 3;
      options.write_threads = 0;
      options.io_model = model;
      server::HttpServer http(ctx, options);
      BOOST_REQUIRE(http.start().ok());

      json::value patient = seed("patient-pat1.json");
      patient.as_object().erase("id");  // created many times
      const std::string body = json::serialize(patient);
      constexpr int kClients = 6, kRounds = 3;
      std::vector<std::unique_ptr<Client>> clients;
      for (int c = 0; c < kClients; ++c) clients.push_back(std::make_unique<Client>(http.port()));
      std::vector<std::set<std::thread::id>> threads_of(kClients);
      int created = 0;
      for (int round = 0; round < kRounds; ++round)
        for (int c = 0; c < kClients; ++c) {  // one request at a time: the hook's last thread
          if (clients[c]->send(verb::post, kBase + "/Patient", f.alice.auth(), body).result_int() ==
              201u)
            ++created;
          std::lock_guard lock(mutex);
          threads_of[c].insert(last_writer);
        }
      BOOST_TEST(created == kClients * kRounds);
      if (model == IoModel::pinned) {
        std::set<std::thread::id> all;
        for (int c = 0; c < kClients; ++c) {
          BOOST_TEST(threads_of[c].size() == 1u);
          all.insert(threads_of[c].begin(), threads_of[c].end());
          BOOST_TEST((threads_of[c] == threads_of[(c + 3) % kClients]));  // round-robin
        }
        BOOST_TEST(all.size() == 3u);
      }
      http.stop();
      http.wait();
    }
  }
}

// Pinned: a new connection goes to the thread with the fewest open
// connections, so that connections that closed unevenly do not leave one
// thread with most of the load (round-robin would alternate regardless).
BOOST_AUTO_TEST_CASE(a_new_connection_goes_to_the_io_thread_with_the_fewest) {
  ServerFixture f;
  RunningServer server(f);  // 2 threads, pinned
  auto connect = [&] {
    auto client = std::make_unique<Client>(server.http.port());
    BOOST_TEST(client->send(verb::get, kBase + "/metadata", "").result_int() == 200u);
    return client;  // answered: the server has accepted it
  };
  auto counts_become = [&](std::vector<std::size_t> expected) {
    for (int i = 0; i < 500 && server.http.connections_per_loop() != expected; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return server.http.connections_per_loop() == expected;
  };
  auto a = connect(), b = connect(), c = connect(), d = connect();
  BOOST_TEST(counts_become({2, 2}));
  b.reset();  // the second thread's two connections close
  d.reset();
  BOOST_TEST(counts_become({2, 0}));
  auto e = connect(), g = connect();
  BOOST_TEST(counts_become({2, 2}));  // round-robin would give {3, 1}
  server.http.stop();
  server.http.wait();
  BOOST_TEST(counts_become({0, 0}));
}

// A pinned I/O thread that never got a connection does not hold the stop
// (its loop is kept running by a guard until then).
BOOST_AUTO_TEST_CASE(a_pinned_io_thread_without_connections_does_not_hold_the_stop) {
  ServerFixture f;
  server::HttpServerOptions options = RunningServer::options();
  options.threads = 4;
  server::HttpServer http(*f.ctx, options);
  BOOST_REQUIRE(http.start().ok());
  Client client(http.port());  // one connection: three threads have none
  BOOST_TEST(client.send(verb::get, kBase + "/metadata", "").result_int() == 200u);
  auto stopped = std::async(std::launch::async, [&] {
    http.stop();
    http.wait();
  });
  BOOST_TEST((stopped.wait_for(std::chrono::seconds(10)) == std::future_status::ready));
}

BOOST_AUTO_TEST_SUITE_END()
