// Replays every input saved by scripts/fuzz.sh in tests/fuzz/regressions/<target>/
// through the code path of its fuzz target, in the ordinary test build: none
// may crash, and HTTP inputs must never get a 5xx.
#include <boost/beast/http.hpp>
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fhirbridge/json_io.hpp"
#include "fhirbridge/mapping/bundle.hpp"
#include "fhirbridge/mapping/observation.hpp"
#include "fhirbridge/mapping/patient.hpp"
#include "fhirbridge/server/detail/search_plan.hpp"
#include "fhirbridge/server/search.hpp"
#include "server_fixture.hpp"

using namespace fhirbridge;
using namespace fhirbridge::test;
namespace json = boost::json;

namespace {

std::vector<std::pair<std::string, std::string>> regressions(const std::string& target) {
  std::vector<std::pair<std::string, std::string>> out;
  const auto dir = source_dir() / "tests/fuzz/regressions" / target;
  if (!std::filesystem::is_directory(dir)) return out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().extension() == ".md") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    out.emplace_back(entry.path().filename().string(), text.str());
  }
  return out;
}

std::optional<json::value> parse_deep(const std::string& text) {
  json::parse_options options;
  options.max_depth = 10000;
  boost::system::error_code ec;
  auto v = json::parse(text, ec, {}, options);
  if (ec) return std::nullopt;
  return v;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hostile_regressions)

BOOST_AUTO_TEST_CASE(engine_inputs_found_by_the_fuzzers) {
  const auto ctx = mapping::make_fixed_context();
  for (const auto& [name, text] : regressions("fhir_patient")) {
    BOOST_TEST_MESSAGE("fhir_patient/" << name);
    if (auto v = parse_deep(text))
      if (auto p = mapping::fhir_patient_to_icure(*v, ctx); p.ok())
        (void)mapping::icure_patient_to_fhir(*p, ctx);
  }
  for (const auto& [name, text] : regressions("fhir_observation")) {
    BOOST_TEST_MESSAGE("fhir_observation/" << name);
    if (auto v = parse_deep(text))
      if (auto o = mapping::fhir_observation_to_icure(*v, ctx); o.ok())
        (void)mapping::icure_observation_to_fhir(o->contact, std::string("p"), ctx);
  }
  for (const auto& [name, text] : regressions("fhir_bundle")) {
    BOOST_TEST_MESSAGE("fhir_bundle/" << name);
    if (auto v = parse_deep(text)) (void)mapping::parse_bundle(*v);
  }
  for (const auto& [name, text] : regressions("icure_json")) {
    BOOST_TEST_MESSAGE("icure_json/" << name);
    if (text.empty()) continue;
    const std::string_view body = std::string_view(text).substr(1);
    if (text[0] & 1) {
      if (auto c = json_io::parse<icure::Contact>(body, "Contact"); c.ok())
        (void)mapping::icure_observation_to_fhir(*c, std::nullopt, ctx);
    } else if (auto p = json_io::parse<icure::Patient>(body, "Patient"); p.ok()) {
      (void)mapping::icure_patient_to_fhir(*p, ctx);
    }
  }
  for (const auto& [name, text] : regressions("query_string")) {
    BOOST_TEST_MESSAGE("query_string/" << name);
    if (auto params = server::parse_query(text); params.ok()) {
      (void)server::detail::translate_patient_search(*params, {});
      (void)server::detail::translate_observation_search(*params, {});
    }
  }
  BOOST_TEST(true);  // reaching here without a crash is the test
}

BOOST_AUTO_TEST_CASE(http_inputs_found_by_the_fuzzers) {
  ServerFixture f;
  for (auto [name, raw] : regressions("http_request")) {
    BOOST_TEST_MESSAGE("http_request/" << name);
    for (const auto& [from, to] :
         {std::pair<std::string, std::string>{"@HCP@", f.alice.hcp_id},
          std::pair<std::string, std::string>{"@KEY@", f.alice.private_key_hex}})
      for (auto at = raw.find(from); at != std::string::npos; at = raw.find(from, at + to.size()))
        raw.replace(at, from.size(), to);
    http::request_parser<http::string_body> parser;
    parser.eager(true);
    parser.body_limit(f.ctx->settings().body_limit);
    boost::system::error_code ec;
    for (std::size_t offset = 0; !parser.is_done() && offset < raw.size();) {
      const auto used =
          parser.put(boost::asio::buffer(raw.data() + offset, raw.size() - offset), ec);
      if (ec || used == 0) break;
      offset += used;
    }
    if (ec == http::error::need_more) ec = {};
    if (!ec && !parser.is_done()) parser.put_eof(ec);
    if (ec || !parser.is_done()) continue;
    auto res = server::handle_request(parser.release(), *f.ctx);
    BOOST_TEST_INFO(name);
    BOOST_TEST(res.result_int() < 500);
  }
  BOOST_TEST(true);  // no input may crash; an empty regressions folder is fine
}

BOOST_AUTO_TEST_SUITE_END()

// Bugs found by tests/server/hostile_input_test.cpp (fixed since), kept as
// their own regression cases.
BOOST_AUTO_TEST_SUITE(hostile_found_bugs)

// Boost.JSON parses 1e999 as +inf and serializes it as `Infinity`, which it
// cannot parse back (also tests/fuzz/regressions/fhir_observation/): before the fix the sealed
// encryptedSelf becomes unreadable, the contact is lost, and every later Observation create that
// checks FHIR ids among the caller's contacts answers 500. Non-finite numbers must be a 400.
BOOST_AUTO_TEST_CASE(non_finite_number_is_rejected_not_stored) {
  ServerFixture f;
  auto pat =
      f.call(http::verb::post, "/rest/fhir/r4/Patient", &f.alice, R"({"resourceType":"Patient"})");
  BOOST_REQUIRE_EQUAL(pat.result_int(), 201u);
  json::value obs =
      with_subject(seed("observation-f001.json"), "Patient/" + str(body_json(pat), {"id"}));
  obs.as_object()["valueQuantity"].as_object()["value"] = 987654321;
  std::string body = json::serialize(obs);
  body.replace(body.find("987654321"), 9, "1e999");
  auto infinite = f.call(http::verb::post, "/rest/fhir/r4/Observation", &f.alice, body);
  BOOST_TEST_INFO(infinite.body().substr(0, 200));
  BOOST_TEST((infinite.result_int() >= 400 && infinite.result_int() < 500));
  // The same observation with a sane value must still be accepted afterwards.
  obs.as_object()["valueQuantity"].as_object()["value"] = 6.3;
  auto sane = f.call(http::verb::post, "/rest/fhir/r4/Observation", &f.alice, json::serialize(obs));
  BOOST_TEST_INFO(sane.body().substr(0, 200));
  BOOST_TEST(sane.result_int() != 500u);
  BOOST_TEST(f.get("/rest/fhir/r4/Observation?_count=100").result_int() == 200u);
}

// An OperationOutcome that echoes the client's bytes ("Patient/<id> not
// found") must still be valid UTF-8 JSON.
BOOST_AUTO_TEST_CASE(invalid_utf8_in_the_path_gives_valid_json) {
  ServerFixture f;
  auto res = f.get("/rest/fhir/r4/Patient/\xff\xfe");
  BOOST_TEST(res.result_int() == 404u);
  BOOST_TEST(str(body_json(res), {"resourceType"}) == "OperationOutcome");
}

BOOST_AUTO_TEST_SUITE_END()
