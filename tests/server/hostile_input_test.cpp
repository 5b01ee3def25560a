// Hostile input against handle_request and against a real HttpServer on
// 127.0.0.1: every bad request gets a 4xx OperationOutcome (never a 5xx, a
// crash or a hang), and the server still answers afterwards.
#include <boost/test/unit_test.hpp>

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fhirbridge/server/http_server.hpp"
#include "hostile_support.hpp"

using namespace fhirbridge;
using namespace fhirbridge::test;
namespace json = boost::json;
using http::verb;

namespace {

const std::string kBase = "/rest/fhir/r4";

// The tutorial's patient without its FHIR id (a second create with "pat1" is a 409).
std::string patient_text() {
  json::value p = seed("patient-pat1.json");
  p.as_object().erase("id");
  return json::serialize(p);
}

// The server still works: metadata answers and a valid create succeeds.
void expect_still_serving(ServerFixture& f) {
  BOOST_TEST(f.call(verb::get, kBase + "/metadata", nullptr).result_int() == 200u);
  BOOST_TEST(f.call(verb::post, kBase + "/Patient", &f.alice, patient_text()).result_int() == 201u);
}

std::size_t count_patients(ServerFixture& f, const std::string& query) {
  auto res = f.get(kBase + "/Patient?_summary=count&" + query);
  BOOST_REQUIRE_EQUAL(res.result_int(), 200u);
  return static_cast<std::size_t>(body_json(res).at("total").to_number<double>());
}

// Every JSON path of `v` (objects and arrays), for type-swapping.
void collect_paths(const json::value& v, std::vector<std::vector<json::string>>& out,
                   std::vector<json::string>& path) {
  if (!path.empty()) out.push_back(path);
  if (v.is_object()) {
    for (const auto& kv : v.as_object()) {
      path.emplace_back(kv.key());
      collect_paths(kv.value(), out, path);
      path.pop_back();
    }
  } else if (v.is_array()) {
    for (std::size_t i = 0; i < v.as_array().size(); ++i) {
      path.emplace_back(std::to_string(i));
      collect_paths(v.as_array()[i], out, path);
      path.pop_back();
    }
  }
}
json::value* at_path(json::value& v, const std::vector<json::string>& path) {
  json::value* cur = &v;
  for (const auto& key : path)
    cur =
        cur->is_object() ? &cur->as_object()[key] : &cur->as_array()[std::stoul(std::string(key))];
  return cur;
}
std::string path_text(const std::vector<json::string>& path) {
  std::string out;
  for (const auto& k : path) out += "/" + std::string(k);
  return out;
}

struct RunningServer {
  explicit RunningServer(ServerFixture& f,
                         std::chrono::seconds read_timeout = std::chrono::seconds(30))
      : http(*f.ctx, options(read_timeout)) {
    BOOST_REQUIRE(http.start().ok());
  }
  static server::HttpServerOptions options(std::chrono::seconds read_timeout) {
    server::HttpServerOptions o;
    o.port = 0;
    o.threads = 2;
    o.access_log = false;
    o.read_timeout = read_timeout;
    return o;
  }
  server::HttpServer http;
};

void expect_socket_still_serving(ServerFixture& f, unsigned short port) {
  RawClient client(port);
  auto res =
      client.exchange(raw_request("POST", kBase + "/Patient", f.alice.auth(), patient_text()));
  BOOST_REQUIRE(res.has_value());
  BOOST_TEST(res->result_int() == 201u);
}

}  // namespace

namespace {
// The header of a POST Patient announcing `content_length` bytes of body (not sent).
std::string post_patient_header(const std::string& auth, std::uint64_t content_length,
                                const std::string& extra_headers = "") {
  return "POST " + kBase + "/Patient HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth +
         "\r\nContent-Type: application/fhir+json\r\n" + extra_headers +
         "Content-Length: " + std::to_string(content_length) + "\r\n\r\n";
}

// A server on 127.0.0.1 whose body limit is 64 KiB.
struct SmallBodyLimitServer {
  static server::ServerSettings small() {
    server::ServerSettings settings;
    settings.body_limit = 64 * 1024;
    return settings;
  }
  ServerFixture f{small()};
  RunningServer server{f};
};
}  // namespace

BOOST_AUTO_TEST_SUITE(hostile_input)

BOOST_AUTO_TEST_CASE(malformed_and_truncated_json) {
  ServerFixture f;
  std::vector<std::string> bodies = {"{",
                                     "}",
                                     "[",
                                     "nul",
                                     "{\"resourceType\":\"Patient\"",
                                     "{\"a\":}",
                                     "{\"resourceType\":\"Patient\",}",
                                     "'single'",
                                     "{\"resourceType\":Patient}",
                                     "{\"resourceType\":\"Patient\"} trailing",
                                     "\x01\x02\x03",
                                     " "};
  const std::string full = patient_text();
  for (std::size_t cut = 1; cut < full.size(); cut += 41) bodies.push_back(full.substr(0, cut));
  for (const auto& body : bodies) {
    expect_4xx_outcome(f.call(verb::post, kBase + "/Patient", &f.alice, body),
                       "Patient <- " + body.substr(0, 60));
    expect_4xx_outcome(f.call(verb::post, kBase, &f.alice, body),
                       "transaction <- " + body.substr(0, 60));
  }
  expect_still_serving(f);
}

BOOST_AUTO_TEST_CASE(wrong_json_types_everywhere) {
  ServerFixture f;
  for (const std::string& name : std::vector<std::string>{
           "patient-pat1.json", "observation-f001.json", "bundle-transaction.json"}) {
    const json::value original = seed(name);
    std::vector<std::vector<json::string>> paths;
    std::vector<json::string> scratch;
    collect_paths(original, paths, scratch);
    const std::string target = name.starts_with("patient")       ? kBase + "/Patient"
                               : name.starts_with("observation") ? kBase + "/Observation"
                                                                 : kBase;
    for (const auto& path : paths) {
      for (const json::value& replacement :
           {json::value(42.5), json::value("x"), json::value(json::object{}),
            json::value(json::array{json::value(true)})}) {
        json::value mutated = original;
        *at_path(mutated, path) = replacement;
        expect_not_5xx(f.call(verb::post, target, &f.alice, json::serialize(mutated)),
                       name + path_text(path) + " := " + json::serialize(replacement));
      }
    }
  }
  // Whole-body type errors are always 4xx.
  for (const std::string& body :
       std::vector<std::string>{"42", "\"Patient\"", "[]", "null", "true", "{\"resourceType\":42}"})
    expect_4xx_outcome(f.call(verb::post, kBase + "/Patient", &f.alice, body), body);
  expect_still_serving(f);
}

BOOST_AUTO_TEST_CASE(ten_thousand_deep_nesting) {
  ServerFixture f;
  const std::string arrays = std::string(10000, '[') + std::string(10000, ']');
  std::string objects;
  for (int i = 0; i < 10000; ++i) objects += "{\"a\":";
  objects += "1" + std::string(10000, '}');
  for (const auto& deep : {arrays, objects}) {
    expect_4xx_outcome(f.call(verb::post, kBase + "/Patient", &f.alice, deep), "deep body");
    expect_4xx_outcome(f.call(verb::post, kBase + "/Patient", &f.alice,
                              "{\"resourceType\":\"Patient\",\"extension\":" + deep + "}"),
                       "deep extension");
    expect_4xx_outcome(
        f.call(verb::post, kBase, &f.alice, "{\"resourceType\":\"Bundle\",\"entry\":" + deep + "}"),
        "deep bundle");
  }
  expect_still_serving(f);
}

BOOST_AUTO_TEST_CASE(body_over_the_limit_is_413) {
  server::ServerSettings settings;
  settings.body_limit = 64 * 1024;
  ServerFixture f(settings);
  const std::string big =
      "{\"resourceType\":\"Patient\",\"gender\":\"" + std::string(100 * 1024, 'm') + "\"}";
  auto direct = f.call(verb::post, kBase + "/Patient", &f.alice, big);
  BOOST_TEST(direct.result_int() == 413u);
  BOOST_TEST(str(body_json(direct), {"resourceType"}) == "OperationOutcome");

  RunningServer server(f);
  {
    RawClient client(server.http.port());
    auto res = client.exchange(raw_request("POST", kBase + "/Patient", f.alice.auth(), big));
    BOOST_REQUIRE(res.has_value());
    BOOST_TEST(res->result_int() == 413u);
    BOOST_TEST(str(body_json(*res), {"resourceType"}) == "OperationOutcome");
  }
  {  // a Content-Length far over the limit, body never sent: answered at once
    RawClient client(server.http.port());
    auto res = client.exchange(post_patient_header(f.alice.auth(), 99999999999) + "{");
    BOOST_REQUIRE(res.has_value());
    BOOST_TEST(res->result_int() == 413u);
  }
  expect_socket_still_serving(f, server.http.port());
}

// The answer to a body over the limit reaches a client that is still sending
// that body, and the client may go on sending it: the server drains the rest
// for a while (a lingering close) instead of closing with unread data, which
// makes the kernel reset the connection (the client's writes then fail, and
// the reset may discard the answer before the client reads it).
BOOST_FIXTURE_TEST_CASE(a_client_still_sending_an_oversized_body_gets_the_413_without_a_reset,
                        SmallBodyLimitServer) {
  const std::string chunk(64 * 1024, 'm');
  RawClient client(server.http.port());
  const std::string head = post_patient_header(f.alice.auth(), 20 * chunk.size());
  BOOST_REQUIRE(!client.write(head + chunk + chunk));  // answered after the header already
  boost::system::error_code ec;
  auto res = client.read(ec);
  BOOST_REQUIRE_MESSAGE(res.has_value(), ec.message());
  BOOST_TEST(res->result_int() == 413u);
  for (int i = 0; i < 8; ++i) {  // the rest of the body, as a client unaware of the answer sends it
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    BOOST_TEST_INFO("chunk " << i);
    BOOST_TEST(client.write(chunk).message() == boost::system::error_code().message());
  }
  expect_socket_still_serving(f, server.http.port());
}

// "Expect: 100-continue" (curl sends it above 1 MiB and, without an answer,
// waits a second before sending the body anyway): the server says "100
// Continue" once the header is acceptable, then answers the request; a body
// announced over the limit gets its 413 at once, without the 100.
BOOST_FIXTURE_TEST_CASE(expect_100_continue_is_answered_before_the_body, SmallBodyLimitServer) {
  const std::string body = R"({"resourceType":"Patient","name":[{"family":"Continue"}]})";
  auto head = [&](std::size_t length) {
    return post_patient_header(f.alice.auth(), length, "Expect: 100-continue\r\n");
  };
  {
    RawClient client(server.http.port(), std::chrono::seconds(10));
    BOOST_REQUIRE(!client.write(head(body.size())));
    boost::system::error_code ec;
    auto interim = client.read(ec);  // before any byte of the body was sent
    BOOST_REQUIRE_MESSAGE(interim.has_value(), ec.message());
    BOOST_TEST(interim->result_int() == 100u);
    BOOST_REQUIRE(!client.write(body));
    auto created = client.read(ec);
    BOOST_REQUIRE_MESSAGE(created.has_value(), ec.message());
    BOOST_TEST(created->result_int() == 201u);
  }
  {
    RawClient client(server.http.port(), std::chrono::seconds(10));
    BOOST_REQUIRE(!client.write(head(10 * 64 * 1024)));
    boost::system::error_code ec;
    auto refused = client.read(ec);
    BOOST_REQUIRE_MESSAGE(refused.has_value(), ec.message());
    BOOST_TEST(refused->result_int() == 413u);
  }
  {  // without the header nothing changes: no interim answer
    RawClient client(server.http.port(), std::chrono::seconds(10));
    auto res = client.exchange(raw_request("POST", kBase + "/Patient", f.alice.auth(), body));
    BOOST_REQUIRE(res.has_value());
    BOOST_TEST(res->result_int() == 201u);
  }
  expect_socket_still_serving(f, server.http.port());
}

// Credentials are checked before "100 Continue": a client with a wrong
// password (or none) is refused before it uploads its body, on each API in
// that API's own error format.
BOOST_FIXTURE_TEST_CASE(wrong_credentials_are_refused_instead_of_100_continue,
                        SmallBodyLimitServer) {
  const std::string wrong = basic_auth(f.alice.login, "not-her-password");
  auto refused_before_the_body = [&](const std::string& header) {
    RawClient client(server.http.port(), std::chrono::seconds(10));
    BOOST_REQUIRE(!client.write(header));
    boost::system::error_code ec;
    auto res = client.read(ec);  // no byte of the body was sent
    BOOST_REQUIRE_MESSAGE(res.has_value(), ec.message());
    BOOST_TEST(res->result_int() == 401u);
    BOOST_TEST(!res->keep_alive());
    BOOST_TEST(res->count(http::field::www_authenticate) == 1u);
    return json::parse(res->body());
  };
  const std::string expect = "Expect: 100-continue\r\n";
  auto outcome = refused_before_the_body(post_patient_header(wrong, 1000, expect));
  BOOST_TEST(outcome.at("resourceType").as_string() == "OperationOutcome");
  auto no_credentials = refused_before_the_body(
      "POST " + kBase + "/Patient HTTP/1.1\r\nHost: x\r\n" + expect +
      "Content-Type: application/fhir+json\r\nContent-Length: 1000\r\n\r\n");
  BOOST_TEST(no_credentials.at("resourceType").as_string() == "OperationOutcome");
  f.ctx->attach_sealed_store(f.store.get());  // serve the iCure REST subset too
  auto icure = refused_before_the_body("POST /rest/v1/patient HTTP/1.1\r\nHost: x\r\n" + expect +
                                       "Authorization: " + wrong +
                                       "\r\nContent-Type: application/json\r\n"
                                       "Content-Length: 1000\r\n\r\n");
  BOOST_TEST(icure.at("error").as_string() == "Unauthorized");
  {  // the public CapabilityStatement needs none: it gets its 100
    RawClient client(server.http.port(), std::chrono::seconds(10));
    BOOST_REQUIRE(!client.write("POST " + kBase + "/metadata HTTP/1.1\r\nHost: x\r\n" + expect +
                                "Content-Length: 2\r\n\r\n"));
    boost::system::error_code ec;
    auto interim = client.read(ec);
    BOOST_REQUIRE_MESSAGE(interim.has_value(), ec.message());
    BOOST_TEST(interim->result_int() == 100u);
  }
  expect_socket_still_serving(f, server.http.port());
}

// An expectation other than 100-continue cannot be met (RFC 9110 10.1.1): 417
// before any byte of the body, with or without credentials, and for a request
// without a body too, as Jetty (HAPI) and Node (Medplum) answer. HTTP/1.0
// expectations are ignored. The server kept reading such a body and served it.
BOOST_FIXTURE_TEST_CASE(an_unknown_expectation_is_417_before_the_body, SmallBodyLimitServer) {
  auto expectation_failed = [&](const std::string& header) {
    RawClient client(server.http.port(), std::chrono::seconds(10));
    BOOST_REQUIRE(!client.write(header));
    boost::system::error_code ec;
    auto res = client.read(ec);
    BOOST_REQUIRE_MESSAGE(res.has_value(), ec.message());
    BOOST_TEST(res->result_int() == 417u);
    return *res;
  };
  auto refused =
      expectation_failed(post_patient_header(f.alice.auth(), 1000, "Expect: 200-ok\r\n"));
  BOOST_TEST(!refused.keep_alive());  // its body was not read
  BOOST_TEST(issue_field(refused, "code") == "not-supported");
  BOOST_TEST(issue_field(refused, "diagnostics").find("200-ok") != std::string::npos);
  expectation_failed(post_patient_header("", 1000, "Expect: 100-continue, 200-ok\r\n"));
  auto read = expectation_failed(
      raw_request("GET", kBase + "/Patient?name=x", f.alice.auth(), {}, "Expect: whatever\r\n"));
  BOOST_TEST(read.keep_alive());  // nothing left unread
  {
    RawClient client(server.http.port(), std::chrono::seconds(10));
    std::string old = raw_request("POST", kBase + "/Patient", f.alice.auth(),
                                  R"({"resourceType":"Patient"})", "Expect: 200-ok\r\n");
    old.replace(old.find("HTTP/1.1"), 8, "HTTP/1.0");
    auto res = client.exchange(old);
    BOOST_REQUIRE(res.has_value());
    BOOST_TEST(res->result_int() == 201u);
  }
  expect_socket_still_serving(f, server.http.port());
}

// The tutorial's requests as a client may send them: the files as saved (here
// with a byte order mark in front, as Windows tools write them), each with
// "Expect: 100-continue" (curl sends it for large bodies). Right credentials
// get the 100 and then the tutorial's answers; wrong ones their 401 first.
BOOST_FIXTURE_TEST_CASE(the_tutorials_requests_with_a_byte_order_mark_and_expect_100_continue,
                        SmallBodyLimitServer) {
  const std::string bom = "\xEF\xBB\xBF";
  auto exchange = [&](const std::string& target, const std::string& auth,
                      const std::string& body) -> std::optional<server::Response> {
    RawClient client(server.http.port(), std::chrono::seconds(10));
    BOOST_REQUIRE(!client.write(
        "POST " + target + " HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth +
        "\r\nContent-Type: application/fhir+json\r\n" +
        "Expect: 100-continue\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
    boost::system::error_code ec;
    auto first = client.read(ec);
    BOOST_REQUIRE_MESSAGE(first.has_value(), ec.message());
    if (first->result_int() != 100u) return first;  // answered before the body
    BOOST_REQUIRE(!client.write(body));
    auto answer = client.read(ec);
    BOOST_REQUIRE_MESSAGE(answer.has_value(), ec.message());
    return answer;
  };
  const std::string pat1 = bom + read_file(shared_dir() / "fixtures/seed/patient-pat1.json");
  auto refused = exchange(kBase + "/Patient", basic_auth(f.alice.login, "wrong"), pat1);
  BOOST_TEST(refused->result_int() == 401u);
  auto created = exchange(kBase + "/Patient", f.alice.auth(), pat1);
  BOOST_TEST(created->result_int() == 201u);
  BOOST_TEST(body_json(*created).at("name") == seed("patient-pat1.json").at("name"));

  json::value bundle = seed("bundle-transaction.json");
  auto& entries = bundle.as_object()["entry"].as_array();
  entries[1].as_object()["resource"] = with_subject(entries[1].at("resource"), "Patient/pat2");
  auto tx = exchange(kBase, f.alice.auth(), bom + pretty(bundle));
  BOOST_TEST(tx->result_int() == 200u);
  const auto answer = body_json(*tx);
  BOOST_TEST(str(answer, {"type"}) == "transaction-response");
  BOOST_TEST(answer.at("entry").as_array().size() == 2u);

  // The same Bundle with an expectation the server cannot meet: 417 before
  // its body, and nothing of it is stored.
  const auto stored = f.store->find_patients({f.alice.hcp_id, ""}, {})->total;
  const std::string tx_body = pretty(bundle);
  RawClient client(server.http.port(), std::chrono::seconds(10));
  BOOST_REQUIRE(!client.write("POST " + kBase +
                              " HTTP/1.1\r\nHost: x\r\nAuthorization: " + f.alice.auth() +
                              "\r\nContent-Type: application/fhir+json\r\nExpect: 200-ok\r\n"
                              "Content-Length: " +
                              std::to_string(tx_body.size()) + "\r\n\r\n"));
  boost::system::error_code ec;
  auto failed = client.read(ec);
  BOOST_REQUIRE_MESSAGE(failed.has_value(), ec.message());
  BOOST_TEST(failed->result_int() == 417u);
  BOOST_TEST(issue_field(*failed, "expression") == "Expect");
  BOOST_TEST(f.store->find_patients({f.alice.hcp_id, ""}, {})->total == stored);
}

BOOST_AUTO_TEST_CASE(huge_strings_and_arrays) {
  ServerFixture f;
  json::value huge_name = seed("patient-pat1.json");
  huge_name.as_object()["name"].as_array()[0].as_object()["family"] =
      std::string(3 * 1024 * 1024, 'x');
  expect_not_5xx(f.call(verb::post, kBase + "/Patient", &f.alice, json::serialize(huge_name)),
                 "3 MB family");

  json::array many_given;
  for (int i = 0; i < 200000; ++i) many_given.emplace_back("g");
  json::value huge_array = seed("patient-pat1.json");
  huge_array.as_object()["name"].as_array()[0].as_object()["given"] = many_given;
  expect_not_5xx(f.call(verb::post, kBase + "/Patient", &f.alice, json::serialize(huge_array)),
                 "200k given");

  json::array many_numbers;
  for (int i = 0; i < 200000; ++i) many_numbers.emplace_back(i);
  json::value wrong_array = seed("patient-pat1.json");
  wrong_array.as_object()["identifier"] = many_numbers;
  expect_4xx_outcome(f.call(verb::post, kBase + "/Patient", &f.alice, json::serialize(wrong_array)),
                     "200k numbers as identifier");
  expect_4xx_outcome(f.get(kBase + "/Patient?name=" + std::string(200000, 'a') + "&_count=abc"),
                     "huge query");
  expect_still_serving(f);
}

BOOST_AUTO_TEST_CASE(invalid_utf8) {
  ServerFixture f;
  for (const std::string& bad : std::vector<std::string>{"\xff\xfe", "\xc3\x28", "\xed\xa0\x80",
                                                         "\xf4\x90\x80\x80", "abc\xc3"}) {
    std::string body = "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"" + bad + "\"}]}";
    expect_4xx_outcome(f.call(verb::post, kBase + "/Patient", &f.alice, body), "utf8 in value");
    body = "{\"resourceType\":\"Patient\",\"" + bad + "\":1}";
    expect_4xx_outcome(f.call(verb::post, kBase + "/Patient", &f.alice, body), "utf8 in key");
    expect_not_5xx(f.get(kBase + "/Patient?name=" + bad), "utf8 in query");
    // (invalid UTF-8 in the path: hostile_regressions/invalid_utf8_in_the_path_gives_valid_json)
  }
  expect_still_serving(f);
}

BOOST_AUTO_TEST_CASE(invalid_dates_and_numbers) {
  ServerFixture f;
  for (const json::value& date : std::vector<json::value>{
           json::value("1974-13-01"), json::value("2020-02-30"), json::value("abc"),
           json::value("1974-12-25T25:00:00Z"), json::value(1974), json::value("")}) {
    json::value p = seed("patient-pat1.json");
    p.as_object()["birthDate"] = date;
    expect_4xx_outcome(f.call(verb::post, kBase + "/Patient", &f.alice, json::serialize(p)),
                       "birthDate " + json::serialize(date));
  }
  auto pat = f.call(verb::post, kBase + "/Patient", &f.alice, patient_text());
  BOOST_REQUIRE_EQUAL(pat.result_int(), 201u);
  const std::string pat_id = str(body_json(pat), {"id"});
  for (const std::string& value : std::vector<std::string>{"\"12\"", "true", "{}", "[]"}) {
    json::value o = with_subject(seed("observation-f001.json"), "Patient/" + pat_id);
    o.as_object()["valueQuantity"].as_object()["value"] = 987654321;  // a marker, swapped as text
    std::string body = json::serialize(o);
    const auto at = body.find("987654321");
    BOOST_REQUIRE(at != std::string::npos);
    body.replace(at, std::string("987654321").size(), value);
    expect_4xx_outcome(f.call(verb::post, kBase + "/Observation", &f.alice, body),
                       "valueQuantity.value " + value);
  }
  for (const std::string& q : std::vector<std::string>{
           "birthdate=1974-13", "birthdate=gt", "birthdate=xx2000", "_count=-1", "_count=1e99",
           "value-quantity=abc", "value-quantity=gt1e999", "date=2013-02-30"})
    expect_4xx_outcome(
        f.get(kBase +
              (q.starts_with("value") || q.starts_with("date") ? "/Observation?" : "/Patient?") +
              q),
        q);
  expect_still_serving(f);
}

BOOST_AUTO_TEST_CASE(unknown_resource_type) {
  ServerFixture f;
  expect_4xx_outcome(
      f.call(verb::post, kBase + "/Patient", &f.alice, "{\"resourceType\":\"Hacker\"}"),
      "Hacker body");
  expect_4xx_outcome(
      f.call(verb::post, kBase + "/Patient", &f.alice, "{\"resourceType\":\"Observation\"}"),
      "Observation body to /Patient");
  expect_4xx_outcome(
      f.call(verb::post, kBase + "/Hacker", &f.alice, "{\"resourceType\":\"Hacker\"}"),
      "POST /Hacker");
  expect_4xx_outcome(f.get(kBase + "/Hacker/1"), "GET /Hacker/1");
  expect_4xx_outcome(f.get(kBase + "/Hacker?name=x"), "search /Hacker");
  expect_4xx_outcome(
      f.call(
          verb::post, kBase, &f.alice,
          "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[{\"resource\":"
          "{\"resourceType\":\"Hacker\"},\"request\":{\"method\":\"POST\",\"url\":\"Hacker\"}}]}"),
      "Hacker in a transaction");
  expect_still_serving(f);
}

BOOST_AUTO_TEST_CASE(references_to_missing_or_foreign_patients) {
  ServerFixture f;
  auto bobs = f.call(verb::post, kBase + "/Patient", &f.bob, patient_text());
  BOOST_REQUIRE_EQUAL(bobs.result_int(), 201u);
  const std::string bob_patient = str(body_json(bobs), {"id"});
  for (const std::string& ref : std::vector<std::string>{
           std::string("Patient/does-not-exist"), std::string("Patient/"), std::string("Patient"),
           std::string("Organization/1"), std::string("urn:uuid:nowhere"), "Patient/" + bob_patient,
           bob_patient, std::string("Patient/../Patient/x"),
           std::string("http://evil/Patient/1")}) {
    expect_4xx_outcome(f.call(verb::post, kBase + "/Observation", &f.alice,
                              json::serialize(with_subject(seed("observation-f001.json"), ref))),
                       "subject " + ref);
  }
  // Bob's patient does not exist for Alice.
  expect_4xx_outcome(f.get(kBase + "/Patient/" + bob_patient), "read foreign patient");
  BOOST_TEST(count_patients(f, "_id=" + bob_patient) == 0u);
  expect_4xx_outcome(f.call(verb::put, kBase + "/Patient/" + bob_patient, &f.alice, patient_text()),
                     "update foreign patient");
  expect_4xx_outcome(f.call(verb::delete_, kBase + "/Patient/" + bob_patient, &f.alice),
                     "delete foreign patient");
  BOOST_TEST(f.get(kBase + "/Patient/" + bob_patient, &f.bob).result_int() == 200u);
  expect_still_serving(f);
}

BOOST_AUTO_TEST_CASE(transaction_with_ten_thousand_entries_is_atomic) {
  ServerFixture f;
  auto bundle_of = [](const std::string& family, std::size_t n, bool poison_last) {
    json::array entries;
    for (std::size_t i = 0; i < n; ++i) {
      json::object patient{
          {"resourceType", "Patient"},
          {"name", json::array{json::object{{"family", family},
                                            {"given", json::array{std::to_string(i)}}}}}};
      if (poison_last && i + 1 == n) patient["birthDate"] = "not-a-date";
      entries.push_back(json::object{
          {"fullUrl", "urn:uuid:00000000-0000-4000-8000-" + std::to_string(100000000000 + i)},
          {"resource", patient},
          {"request", json::object{{"method", "POST"}, {"url", "Patient"}}}});
    }
    return json::serialize(
        json::object{{"resourceType", "Bundle"}, {"type", "transaction"}, {"entry", entries}});
  };
  // The last entry is bad: nothing of the other 9,999 may be visible.
  expect_4xx_outcome(f.call(verb::post, kBase, &f.alice, bundle_of("Poisoned", 10000, true)),
                     "poisoned transaction");
  BOOST_TEST(count_patients(f, "family=Poisoned") == 0u);
  // All good: all 10,000 are there, in one answer.
  auto ok = f.call(verb::post, kBase, &f.alice, bundle_of("Tenthousand", 10000, false));
  BOOST_REQUIRE_EQUAL(ok.result_int(), 200u);
  BOOST_TEST(body_json(ok).at("entry").as_array().size() == 10000u);
  BOOST_TEST(count_patients(f, "family=Tenthousand") == 10000u);
  expect_still_serving(f);
}

BOOST_AUTO_TEST_CASE(keychain_keys_that_are_not_pkcs8_or_not_yours) {
  ServerFixture f({}, /*post_keys=*/false);
  const std::string url = "/rest/icdx/v1/keychain/" + f.alice.hcp_id;
  auto post_key = [&](const std::string& body, const Account* who) {
    return f.call(verb::post, url, who, body, "application/json");
  };
  for (const std::string& body : std::vector<std::string>{
           "{\"key\":\"\"}", "{\"key\":\"zz\"}", "{\"key\":\"abc\"}", "{\"key\":\"00ff00ff\"}",
           "{\"key\":42}", "{\"key\":null}", "{}", "[]", "\"key\"",
           "{\"key\":\"" + std::string(4096, 'a') + "\"}",
           // a valid public key (SPKI), not a private key
           "{\"key\":\"" + f.alice.public_key_hex + "\"}",
           // a truncated real key
           "{\"key\":\"" + f.alice.private_key_hex.substr(0, f.alice.private_key_hex.size() / 2) +
               "\"}"})
    expect_4xx_outcome(post_key(body, &f.alice), "keychain <- " + body.substr(0, 60));
  // Bob's (valid PKCS#8) key for Alice's party: it does not match her public key.
  expect_4xx_outcome(post_key("{\"key\":\"" + f.bob.private_key_hex + "\"}", &f.alice),
                     "someone else's key");
  // Bob posting to Alice's party, even with Alice's key.
  expect_4xx_outcome(post_key("{\"key\":\"" + f.alice.private_key_hex + "\"}", &f.bob),
                     "other party's url");
  expect_4xx_outcome(post_key("{\"key\":\"" + f.alice.private_key_hex + "\"}", nullptr),
                     "no credentials");
  // No key accepted: Alice still cannot create.
  BOOST_TEST(f.call(verb::post, kBase + "/Patient", &f.alice, patient_text()).result_int() >= 400u);
  BOOST_TEST(post_key("{\"key\":\"" + f.alice.private_key_hex + "\"}", &f.alice).result_int() ==
             200u);
  expect_still_serving(f);
}

BOOST_AUTO_TEST_CASE(path_and_header_tricks_direct) {
  ServerFixture f;
  for (const std::string& target : std::vector<std::string>{
           kBase + "/../../etc/passwd", kBase + "/Patient/../../../etc/passwd",
           kBase + "/Patient/..%2F..%2Fetc", kBase + "/Patient/%00", kBase + "/Patient/abc%00def",
           kBase + "/Patient/%2e%2e", kBase + "/Patient/%", kBase + "/Patient/%zz",
           kBase + "/Patient?name=%00", kBase + "//Patient", kBase + "/Patient/1/2/3/4/5",
           kBase + "/Patient/" + std::string(100000, 'a'),
           kBase + "/Patient?" + std::string(100000, '&'),
           std::string("/rest/icdx/v1/keychain/../../fhir/r4/Patient"), std::string("*"),
           std::string("")})
    expect_not_5xx(f.call(verb::get, target, &f.alice), "GET " + target.substr(0, 80));
  expect_4xx_outcome(f.get(kBase + "/Patient/%00"), "%00 id");
  expect_4xx_outcome(f.get(kBase + "/Patient/" + std::string(100000, 'a')), "100k id");

  // Two Authorization headers (Alice's, then Bob's): never someone's data by accident.
  server::Request req{verb::get, kBase + "/Patient", 11};
  req.set(http::field::host, "fhir.test");
  req.insert(http::field::authorization, f.alice.auth());
  req.insert(http::field::authorization, f.bob.auth());
  auto res = server::handle_request(std::move(req), *f.ctx);
  expect_not_5xx(res, "duplicate Authorization");
  // Garbage credentials.
  for (const std::string& auth : std::vector<std::string>{
           "Basic", "Basic !!!", "Basic " + std::string(10000, 'A'), "Bearer x",
           "Basic Og==", basic_auth("alice", ""), basic_auth("", "alice-password"),
           basic_auth(std::string("alice\0x", 7), "alice-password")}) {
    server::Request r{verb::get, kBase + "/Patient", 11};
    r.set(http::field::authorization, auth);
    auto answer = server::handle_request(std::move(r), *f.ctx);
    BOOST_TEST_INFO(auth.substr(0, 40));
    BOOST_TEST(answer.result_int() == 401u);
  }
  expect_still_serving(f);
}

BOOST_AUTO_TEST_CASE(path_and_header_tricks_over_a_socket) {
  ServerFixture f;
  RunningServer server(f);
  const auto port = server.http.port();
  const std::string auth = f.alice.auth();
  const std::vector<std::string> hostile = {
      "GET " + kBase + "/Patient/" + std::string(64 * 1024, 'a') +
          " HTTP/1.1\r\nHost: x\r\n\r\n",  // very long URL
      "GET " + kBase + "/Patient/%00 HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth + "\r\n\r\n",
      "GET /../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
      "POST " + kBase + "/Patient HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth +
          "\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n{}{}{}{",  // duplicate, conflicting
                                                                        // lengths
      "POST " + kBase +
          "/Patient HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: "
          "chunked\r\n\r\n{}",
      "GET " + kBase + "/Patient HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'h') +
          "\r\n\r\n",
      "GET " + kBase + "/Patient HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
      "GARBAGE\r\n\r\n",
      "GET / HTTP/9.9\r\n\r\n",
      "POST " + kBase + "/Patient HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      std::string("\0\0\0\0\r\n\r\n", 8),
  };
  for (const auto& bytes : hostile) {
    RawClient client(port);
    boost::system::error_code ec;
    client.write(bytes);
    auto res = client.read(ec);
    BOOST_TEST_INFO(bytes.substr(0, 60));
    // A 4xx answer, or the connection closed on us: both fine, no 5xx, no hang.
    if (res) BOOST_TEST((res->result_int() >= 400 && res->result_int() < 500));
  }
  expect_socket_still_serving(f, port);
}

BOOST_AUTO_TEST_CASE(slow_client_is_dropped_and_others_are_served) {
  ServerFixture f;
  RunningServer server(f, std::chrono::seconds(1));
  const auto port = server.http.port();
  RawClient slow(port);
  BOOST_REQUIRE(!slow.write("GET " + kBase + "/metadata HTTP/1.1\r\nHo"));  // and then nothing
  expect_socket_still_serving(f, port);  // others are served meanwhile
  boost::system::error_code ec;
  auto res =
      slow.read(ec);  // the server's read timeout closes it (the client's own deadline is 60 s)
  BOOST_TEST(!res.has_value());
  BOOST_TEST((ec != beast::error::timeout));  // closed by the server, not by our deadline
  expect_socket_still_serving(f, port);
}

BOOST_AUTO_TEST_SUITE_END()
