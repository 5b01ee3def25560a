// handle_request called directly (no sockets): routing, auth, errors,
// versioning, Prefer, transactions and batches against a real SqliteStore.
#include <boost/test/unit_test.hpp>

#include <ctime>
#include <set>
#include <vector>

#include "fhirbridge/crypto/primitives.hpp"
#include "server_fixture.hpp"
#include "storage/faulty_store.hpp"

using namespace fhirbridge;
using namespace fhirbridge::test;
namespace json = boost::json;
using http::verb;

namespace {
const std::string kBase = "/rest/fhir/r4";

std::string create_pat1(ServerFixture& f, const Account* who = nullptr) {
  auto res = f.post(kBase + "/Patient", seed("patient-pat1.json"), who);
  BOOST_REQUIRE_EQUAL(res.result_int(), 201u);
  return str(body_json(res), {"id"});
}

json::object patient_search(ServerFixture& f, const std::string& query,
                            const Account* who = nullptr) {
  auto res = f.get(kBase + "/Patient?" + query, who);
  BOOST_REQUIRE_EQUAL(res.result_int(), 200u);
  return body_json(res).as_object();
}
}  // namespace

BOOST_AUTO_TEST_SUITE(server_handle_request)

BOOST_AUTO_TEST_CASE(metadata_is_public_and_lists_what_is_supported) {
  ServerFixture f;
  auto res = f.call(verb::get, kBase + "/metadata", nullptr);
  BOOST_TEST(res.result_int() == 200u);
  BOOST_TEST(std::string(res[http::field::content_type]).starts_with("application/fhir+json"));
  auto cs = body_json(res);
  BOOST_TEST(str(cs, {"resourceType"}) == "CapabilityStatement");
  BOOST_TEST(str(cs, {"fhirVersion"}) == "4.0.1");
  const auto& resources = cs.at("rest").at(0).at("resource").as_array();
  BOOST_REQUIRE_EQUAL(resources.size(), 2u);
  BOOST_TEST(resources[0].at("type").as_string() == "Patient");
  BOOST_TEST(resources[1].at("type").as_string() == "Observation");
  BOOST_TEST(!resources[0].at("searchParam").as_array().empty());
  for (const auto& resource : resources) {
    std::set<std::string> interactions;
    for (const auto& i : resource.at("interaction").as_array())
      interactions.insert(str(i, {"code"}));
    BOOST_TEST(interactions.count("history-instance") == 1u);
    BOOST_TEST(interactions.count("history-type") == 1u);
  }
  std::set<std::string> system_interactions;
  for (const auto& i : cs.at("rest").at(0).at("interaction").as_array())
    system_interactions.insert(str(i, {"code"}));
  BOOST_TEST(
      (system_interactions == std::set<std::string>{"transaction", "batch", "history-system"}));
  auto operations = [](const json::value& resource) {
    std::set<std::string> names;
    for (const auto& op : resource.at("operation").as_array()) names.insert(str(op, {"name"}));
    return names;
  };
  BOOST_TEST((operations(resources[0]) == std::set<std::string>{"everything", "validate"}));
  BOOST_TEST((operations(resources[1]) == std::set<std::string>{"validate"}));
  BOOST_TEST(str(cs.at("rest").at(0).at("compartment").at(0), {}) ==
             "http://hl7.org/fhir/CompartmentDefinition/patient");
  // Also under /fhir/r4 and with a trailing slash.
  BOOST_TEST(f.call(verb::get, "/fhir/r4/metadata", nullptr).result_int() == 200u);
  BOOST_TEST(f.call(verb::get, "/fhir/r4/metadata/", nullptr).result_int() == 200u);
}

BOOST_AUTO_TEST_CASE(missing_or_wrong_credentials_are_401_with_a_challenge) {
  ServerFixture f;
  auto none = f.call(verb::get, kBase + "/Patient/x", nullptr);
  BOOST_TEST(none.result_int() == 401u);
  BOOST_TEST(none[http::field::www_authenticate] == "Basic realm=\"fhirbridge\"");
  BOOST_TEST(issue_field(none, "code") == "login");
  Account wrong = f.alice;
  wrong.password = "nope";
  BOOST_TEST(f.call(verb::get, kBase + "/Patient/x", &wrong).result_int() == 401u);
  Account unknown = f.alice;
  unknown.login = "mallory";
  BOOST_TEST(f.call(verb::get, kBase + "/Patient/x", &unknown).result_int() == 401u);
  // Garbage in the header is 401 too, not a crash.
  auto garbage = f.call(verb::get, kBase + "/Patient/x", nullptr, {}, {},
                        {{http::field::authorization, "Basic %%%"}});
  BOOST_TEST(garbage.result_int() == 401u);
  BOOST_TEST(f.call(verb::get, kBase + "/Patient/x", &f.alice).result_int() == 404u);
}

// What the HTTP server asks before "100 Continue": the refusal a request gets
// from its header alone, in the format of the API it is for.
BOOST_AUTO_TEST_CASE(a_header_alone_tells_refused_credentials) {
  ServerFixture f;
  auto header = [&](verb method, const std::string& target, const std::string& auth) {
    server::Request req{method, target, 11};
    req.set(http::field::host, "fhir.test");
    if (!auth.empty()) req.set(http::field::authorization, auth);
    req.set(http::field::content_length, "1000");
    return req;
  };
  const std::string wrong = basic_auth(f.alice.login, "nope");
  auto refused = server::answer_before_body(header(verb::post, kBase + "/Patient", wrong), *f.ctx);
  BOOST_REQUIRE(refused.has_value());
  BOOST_TEST(refused->result_int() == 401u);
  BOOST_TEST((*refused)[http::field::www_authenticate] == "Basic realm=\"fhirbridge\"");
  BOOST_TEST(issue_field(*refused, "code") == "login");
  auto none = server::answer_before_body(header(verb::put, kBase + "/Patient/x", ""), *f.ctx);
  BOOST_REQUIRE(none.has_value());
  BOOST_TEST(none->result_int() == 401u);
  auto keychain = server::answer_before_body(
      header(verb::post, "/rest/icdx/v1/keychain/" + f.alice.hcp_id, wrong), *f.ctx);
  BOOST_REQUIRE(keychain.has_value());
  BOOST_TEST(keychain->result_int() == 401u);
  f.ctx->attach_sealed_store(f.store.get());  // serve the iCure REST subset too
  auto icure = server::answer_before_body(header(verb::post, "/rest/v1/patient", wrong), *f.ctx);
  BOOST_REQUIRE(icure.has_value());
  BOOST_TEST(icure->result_int() == 401u);
  BOOST_TEST(json::parse(icure->body()).at("error").as_string() == "Unauthorized");
  // Good credentials, the public CapabilityStatement and unknown paths need the body (or
  // the whole request) to be answered.
  BOOST_TEST(
      !server::answer_before_body(header(verb::post, kBase + "/Patient", f.alice.auth()), *f.ctx));
  BOOST_TEST(!server::answer_before_body(header(verb::post, kBase + "/metadata", ""), *f.ctx));
  BOOST_TEST(!server::answer_before_body(header(verb::post, "/elsewhere", ""), *f.ctx));
}

// Which header checks hash a password (and so run on the HTTP server's write
// pool): only credentials not remembered from an earlier request.
BOOST_AUTO_TEST_CASE(a_header_check_hashes_only_credentials_not_seen_before) {
  ServerFixture f;
  auto header = [&](const std::string& target, const std::string& auth,
                    const std::string& expect = "100-continue") {
    server::Request req{verb::post, target, 11};
    req.set(http::field::host, "fhir.test");
    if (!auth.empty()) req.set(http::field::authorization, auth);
    req.set(http::field::expect, expect);
    req.set(http::field::content_length, "1000");
    return req;
  };
  auto hashes = [&](const server::Request& req) {
    return server::answer_before_body_hashes(req, *f.ctx);
  };
  const std::string wrong = basic_auth(f.alice.login, "nope");
  BOOST_TEST(hashes(header(kBase + "/Patient", f.alice.auth())));  // not seen yet
  BOOST_TEST(hashes(header(kBase + "/Patient", wrong)));
  BOOST_TEST(!hashes(header(kBase + "/Patient", "")));  // refused without hashing
  BOOST_TEST(!hashes(header(kBase + "/Patient", "Bearer abc")));
  BOOST_TEST(!hashes(header(kBase + "/metadata", f.alice.auth())));  // needs none
  BOOST_TEST(!hashes(header("/elsewhere", f.alice.auth())));
  BOOST_TEST(!hashes(header(kBase + "/Patient", f.alice.auth(), "200-ok")));  // 417 first
  BOOST_TEST(f.call(verb::get, kBase + "/Patient/x", &f.alice).result_int() == 404u);
  BOOST_TEST(!hashes(header(kBase + "/Patient", f.alice.auth())));  // remembered now
  BOOST_TEST(!server::answer_before_body(header(kBase + "/Patient", f.alice.auth()), *f.ctx));
  BOOST_TEST(hashes(header(kBase + "/Patient", wrong)));  // a wrong password never is
}

// RFC 9110 10.1.1: an HTTP/1.1 expectation other than 100-continue gets 417,
// from the header alone and from the whole request, in the API's error format.
BOOST_AUTO_TEST_CASE(an_unknown_expectation_is_417) {
  ServerFixture f;
  f.ctx->attach_sealed_store(f.store.get());  // serve the iCure REST subset too
  auto header = [&](const std::string& target, const std::string& expect, unsigned version = 11) {
    server::Request req{verb::post, target, version};
    req.set(http::field::host, "fhir.test");
    req.set(http::field::authorization, f.alice.auth());
    req.set(http::field::expect, expect);
    req.set(http::field::content_length, "1000");
    return req;
  };
  auto fhir = server::answer_before_body(header(kBase + "/Patient", "200-ok"), *f.ctx);
  BOOST_REQUIRE(fhir.has_value());
  BOOST_TEST(fhir->result_int() == 417u);
  BOOST_TEST(issue_field(*fhir, "code") == "not-supported");
  BOOST_TEST(issue_field(*fhir, "diagnostics").find("'200-ok'") != std::string::npos);
  auto icure = server::answer_before_body(header("/rest/v1/patient", "200-ok"), *f.ctx);
  BOOST_REQUIRE(icure.has_value());
  BOOST_TEST(icure->result_int() == 417u);
  BOOST_TEST(json::parse(icure->body()).as_object().contains("error"));
  // Before the credentials: none at all still gets 417, not 401.
  auto anonymous = header(kBase + "/Patient", "x");
  anonymous.erase(http::field::authorization);
  BOOST_TEST(server::answer_before_body(anonymous, *f.ctx)->result_int() == 417u);
  // 100-continue in any letter case, and HTTP/1.0 (expectations ignored), need the body.
  BOOST_TEST(!server::answer_before_body(header(kBase + "/Patient", "100-Continue"), *f.ctx));
  BOOST_TEST(!server::answer_before_body(header(kBase + "/Patient", "200-ok", 10), *f.ctx));
  // The whole request: a read with an expectation gets 417 too.
  BOOST_TEST(
      f.call(verb::get, kBase + "/Patient/x", &f.alice, {}, {}, {{http::field::expect, "200-ok"}})
          .result_int() == 417u);
  BOOST_TEST(f.call(verb::get, kBase + "/Patient/x", &f.alice, {}, {},
                    {{http::field::expect, "100-continue"}})
                 .result_int() == 404u);
}

BOOST_AUTO_TEST_CASE(basic_credentials_of_any_length_and_scheme_case) {
  ServerFixture f;
  // Credentials up to 1 KB encoded are decoded on the stack, longer ones on the
  // heap: both sides of that line, and its edge, log in; a wrong password does not.
  for (std::size_t length : {8u, 760u, 762u, 763u, 766u, 2000u}) {
    const std::string login = "user" + std::to_string(length);
    const std::string password(length, 'p');
    auto made = storage::create_user(*f.store, {login, password, login}, f.rng);
    BOOST_REQUIRE_MESSAGE(made.ok(), made.status().to_string());
    Account user{login, password, *made->hcp.id, made->private_key_hex, *made->hcp.publicKey};
    BOOST_TEST_INFO("password of " << length << " bytes, encoded " << user.auth().size() - 6);
    BOOST_TEST(f.call(verb::get, kBase + "/Patient/x", &user).result_int() == 404u);
    Account wrong = user;
    wrong.password.back() = 'q';
    BOOST_TEST(f.call(verb::get, kBase + "/Patient/x", &wrong).result_int() == 401u);
  }
  // The scheme's letter case does not matter (RFC 7235).
  std::string auth = f.alice.auth();
  auth.replace(0, 6, "bAsIc ");
  BOOST_TEST(
      f.call(verb::get, kBase + "/Patient/x", nullptr, {}, {}, {{http::field::authorization, auth}})
          .result_int() == 404u);
}

BOOST_AUTO_TEST_CASE(routing_errors_are_operation_outcomes) {
  ServerFixture f;
  auto unknown = f.get("/nowhere");
  BOOST_TEST(unknown.result_int() == 404u);
  BOOST_TEST(issue_field(unknown, "code") == "not-found");
  BOOST_TEST(f.get(kBase + "/Encounter/1").result_int() == 404u);
  auto post_instance = f.call(verb::post, kBase + "/Patient/x", &f.alice, "{}");
  BOOST_TEST(post_instance.result_int() == 405u);
  BOOST_TEST(post_instance[http::field::allow] == "GET, PUT, PATCH, DELETE");
  // PATCH takes a JSON Patch only (FHIRPath Patch is a Parameters resource).
  auto fhirpath_patch = f.call(verb::patch, kBase + "/Patient/x", &f.alice, "{}");
  BOOST_TEST(fhirpath_patch.result_int() == 415u);
  // PUT on the type is a conditional update: without criteria it is a 400.
  auto put_type =
      f.call(verb::put, kBase + "/Patient", &f.alice, "{\"resourceType\": \"Patient\"}");
  BOOST_TEST(put_type.result_int() == 400u);
  BOOST_TEST(issue_field(put_type, "expression") == "query");
  // PATCH on the type is a conditional patch: a JSON Patch, and criteria.
  auto patch_type = f.call(verb::patch, kBase + "/Patient", &f.alice, "{}");
  BOOST_TEST(patch_type.result_int() == 415u);
  auto patch_type_no_criteria =
      f.call(verb::patch, kBase + "/Patient", &f.alice, "[]", "application/json-patch+json");
  BOOST_TEST(patch_type_no_criteria.result_int() == 400u);
  auto trace_type = f.call(verb::trace, kBase + "/Patient", &f.alice);
  BOOST_TEST(trace_type.result_int() == 405u);
  BOOST_TEST(trace_type[http::field::allow] == "GET, POST, PUT, PATCH, DELETE");
}

BOOST_AUTO_TEST_CASE(bad_bodies_are_4xx_with_the_offending_path) {
  server::ServerSettings small;
  small.body_limit = 1024;
  ServerFixture f(small);
  auto text = f.call(verb::post, kBase + "/Patient", &f.alice, "hello", "text/plain");
  BOOST_TEST(text.result_int() == 415u);
  auto malformed = f.call(verb::post, kBase + "/Patient", &f.alice, "{\"resourceType\": ");
  BOOST_TEST(malformed.result_int() == 400u);
  BOOST_TEST(issue_field(malformed, "code") == "structure");
  // A UTF-8 byte order mark before the JSON is ignored; anywhere else it is not JSON.
  const std::string bom = "\xEF\xBB\xBF";
  const std::string patient = R"({"resourceType":"Patient","name":[{"family":"Bom"}]})";
  BOOST_TEST(f.call(verb::post, kBase + "/Patient", &f.alice, bom + patient).result_int() == 201u);
  BOOST_TEST(f.call(verb::post, kBase + "/Patient", &f.alice, " " + bom + patient).result_int() ==
             400u);
  auto wrong_type = f.post(kBase + "/Patient",
                           json::object{{"resourceType", "Observation"}, {"status", "final"}});
  BOOST_TEST(wrong_type.result_int() == 400u);
  BOOST_TEST(issue_field(wrong_type, "expression") == "resourceType");
  auto too_big =
      f.post(kBase + "/Patient", seed("patient-pat1.json"));  // the photo makes it > 1 KiB
  BOOST_TEST(too_big.result_int() == 413u);
  json::value bad_date = seed("patient-pat1.json");
  bad_date.as_object().erase("photo");
  bad_date.as_object().erase("text");
  bad_date.as_object().erase("id");
  bad_date.as_object()["birthDate"] = "1974-13";
  auto invalid = f.post(kBase + "/Patient", bad_date);
  BOOST_TEST(invalid.result_int() == 400u);
  BOOST_TEST(issue_field(invalid, "expression") == "Patient.birthDate");
  BOOST_TEST(f.call(verb::get, kBase + "/Patient?_format=xml", &f.alice).result_int() == 406u);
  auto bad_search = f.get(kBase + "/Patient?birthdate=nope");
  BOOST_TEST(bad_search.result_int() == 400u);
  BOOST_TEST(issue_field(bad_search, "code") == "invalid");
  BOOST_TEST(issue_field(bad_search, "expression") == "birthdate");
  BOOST_TEST(issue_field(bad_search, "diagnostics").find("'nope' does not start with a date") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(create_read_update_delete_with_versions) {
  ServerFixture f;
  const std::string id = create_pat1(f);
  BOOST_TEST(id != "pat1");
  auto by_fhir_id = f.get(kBase + "/Patient/pat1");
  BOOST_TEST(by_fhir_id.result_int() == 200u);
  BOOST_TEST(by_fhir_id[http::field::etag] == "W/\"1\"");
  BOOST_TEST(str(body_json(by_fhir_id), {"id"}) == id);
  BOOST_TEST(str(body_json(by_fhir_id), {"meta", "versionId"}) == "1");
  BOOST_TEST(f.get(kBase + "/Patient/" + id).result_int() == 200u);
  BOOST_TEST(f.get(kBase + "/Patient/" + id + "/_history/1").result_int() == 200u);
  BOOST_TEST(f.get(kBase + "/Patient/" + id + "/_history/7").result_int() == 404u);
  // Instance history (docs/server.md), also as a batch entry.
  BOOST_TEST(str(body_json(f.get(kBase + "/Patient/" + id + "/_history")), {"type"}) == "history");
  json::object history_batch{
      {"resourceType", "Bundle"},
      {"type", "batch"},
      {"entry", json::array{json::object{
                    {"request", {{"method", "GET"}, {"url", "Patient/" + id + "/_history"}}}}}}};
  const json::value batch_answer =
      body_json(f.call(verb::post, kBase, &f.alice, json::serialize(history_batch)));
  BOOST_TEST(str(batch_answer.at("entry").at(0), {"resource", "type"}) == "history");

  // Duplicate FHIR id.
  auto dup = f.post(kBase + "/Patient", seed("patient-pat1.json"));
  BOOST_TEST(dup.result_int() == 409u);
  BOOST_TEST(issue_field(dup, "expression") == "Patient.id");

  json::value update = body_json(by_fhir_id);
  update.as_object()["gender"] = "female";
  const std::string body = json::serialize(update);
  auto stale = f.call(verb::put, kBase + "/Patient/" + id, &f.alice, body, "application/fhir+json",
                      {{http::field::if_match, "W/\"9\""}});
  BOOST_TEST(stale.result_int() == 412u);
  auto updated = f.call(verb::put, kBase + "/Patient/" + id, &f.alice, body,
                        "application/fhir+json", {{http::field::if_match, "W/\"1\""}});
  BOOST_REQUIRE_EQUAL(updated.result_int(), 200u);
  BOOST_TEST(updated[http::field::etag] == "W/\"2\"");
  BOOST_TEST(str(body_json(updated), {"gender"}) == "female");
  BOOST_TEST(str(body_json(updated), {"meta", "versionId"}) == "2");
  // The FHIR id survives the update.
  BOOST_TEST(str(body_json(f.get(kBase + "/Patient/pat1")), {"gender"}) == "female");

  update.as_object()["id"] = "someone-else";
  auto mismatch = f.call(verb::put, kBase + "/Patient/" + id, &f.alice, json::serialize(update));
  BOOST_TEST(mismatch.result_int() == 400u);
  BOOST_TEST(issue_field(mismatch, "expression") == "Patient.id");

  auto deleted = f.call(verb::delete_, kBase + "/Patient/pat1", &f.alice);
  BOOST_TEST(deleted.result_int() == 200u);
  // Gone, by either id (HAPI answers 410 for a deleted resource too).
  BOOST_TEST(f.get(kBase + "/Patient/" + id).result_int() == 410u);
  BOOST_TEST(f.get(kBase + "/Patient/pat1").result_int() == 410u);
}

// The tutorial's patient posted twice with If-None-Exist on its MRN: found, not a 409,
// then patched and read conditionally, as the README's quick start does.
BOOST_AUTO_TEST_CASE(tutorial_patient_conditional_create_and_patch) {
  ServerFixture f;
  const std::string id = create_pat1(f);
  const std::string mrn = "identifier=urn:oid:0.1.2.3.4.5.6.7|654321";
  auto again =
      f.call(verb::post, kBase + "/Patient", &f.alice, json::serialize(seed("patient-pat1.json")),
             "application/fhir+json", {{"If-None-Exist", mrn}});
  BOOST_TEST(again.result_int() == 200u);
  BOOST_TEST(str(body_json(again), {"id"}) == id);
  BOOST_TEST(f.post(kBase + "/Patient", seed("patient-pat1.json")).result_int() == 409u);
  auto patched = f.call(verb::patch, kBase + "/Patient/pat1", &f.alice,
                        R"([{"op":"replace","path":"/gender","value":"female"}])",
                        "application/json-patch+json");
  BOOST_TEST(patched.result_int() == 200u);
  BOOST_TEST(str(body_json(patched), {"gender"}) == "female");
  BOOST_TEST(f.call(verb::get, kBase + "/Patient/pat1", &f.alice, {}, "application/fhir+json",
                    {{http::field::if_none_match, "W/\"2\""}})
                 .result_int() == 304u);
}

// Last-Modified is meta.lastUpdated as an HTTP date (RFC 9110 IMF-fixdate),
// checked against the C library's formatting of the same instant; JSON asked
// for in any case gets application/json, FHIR JSON in any case the FHIR type.
BOOST_AUTO_TEST_CASE(last_modified_is_last_updated_as_an_http_date) {
  ServerFixture f;
  const std::string id = create_pat1(f);
  for (int read = 0; read < 2; ++read) {  // rendered, then from the read cache
    auto res = f.get(kBase + "/Patient/" + id);
    BOOST_REQUIRE_EQUAL(res.result_int(), 200u);
    const std::string updated(body_json(res).at("meta").at("lastUpdated").as_string());
    std::tm tm{};
    BOOST_REQUIRE(strptime(updated.c_str(), "%Y-%m-%dT%H:%M:%S", &tm));
    const std::time_t t = timegm(&tm);
    std::tm gmt{};
    gmtime_r(&t, &gmt);
    char expected[64];
    std::strftime(expected, sizeof expected, "%a, %d %b %Y %H:%M:%S GMT", &gmt);
    BOOST_TEST(res[http::field::last_modified] == expected);
  }
  auto as_json = f.call(http::verb::get, kBase + "/Patient/" + id, &f.alice, {}, {},
                        {{http::field::accept, "Application/JSON"}});
  BOOST_TEST(as_json[http::field::content_type] == "application/json; charset=utf-8");
  auto as_fhir = f.call(http::verb::get, kBase + "/Patient/" + id, &f.alice, {}, {},
                        {{http::field::accept, "application/FHIR+json, Application/JSON"}});
  BOOST_TEST(as_fhir[http::field::content_type] == "application/fhir+json; charset=utf-8");
  auto as_xml = f.call(http::verb::get, kBase + "/Patient/" + id, &f.alice, {}, {},
                       {{http::field::accept, "Application/FHIR+XML"}});
  BOOST_TEST(as_xml.result_int() == 406u);
}

// A repeated read of an unchanged version is served from the read cache
// (docs/server.md): byte for byte what the mapping gives (a batch entry, which
// bypasses the cache, says the same), and every change or access rule still
// decides first.
BOOST_AUTO_TEST_CASE(repeated_reads_come_from_the_read_cache_and_follow_every_change) {
  ServerFixture f;
  const std::string id = create_pat1(f);
  const std::string url = kBase + "/Patient/" + id;
  auto first = f.get(url);
  auto second = f.get(url);
  BOOST_REQUIRE_EQUAL(second.result_int(), 200u);
  BOOST_TEST(second.body() == first.body());
  BOOST_TEST(second[http::field::etag] == "W/\"1\"");
  BOOST_TEST(second[http::field::content_type] == first[http::field::content_type]);
  BOOST_TEST(second[http::field::last_modified] == first[http::field::last_modified]);
  BOOST_TEST(second[http::field::content_length] == std::to_string(second.body().size()));
  json::object batch{
      {"resourceType", "Bundle"},
      {"type", "batch"},
      {"entry",
       json::array{json::object{{"request", {{"method", "GET"}, {"url", "Patient/" + id}}}}}}};
  const json::value entry =
      body_json(f.call(verb::post, kBase, &f.alice, json::serialize(batch))).at("entry").at(0);
  BOOST_TEST(entry.at("resource") == body_json(second));
  // Subsetting and conditional reads still apply.
  BOOST_TEST(!body_json(f.get(url + "?_elements=gender")).as_object().contains("name"));
  BOOST_TEST(f.call(verb::get, url, &f.alice, {}, "application/fhir+json",
                    {{http::field::if_none_match, "W/\"1\""}})
                 .result_int() == 304u);
  // Another party does not see it, though it was just rendered for alice.
  BOOST_TEST(f.get(url, &f.bob).result_int() == 404u);

  auto patched =
      f.call(verb::patch, url, &f.alice, R"([{"op":"replace","path":"/gender","value":"female"}])",
             "application/json-patch+json");
  BOOST_REQUIRE_EQUAL(patched.result_int(), 200u);
  auto after = f.get(url);
  BOOST_TEST(str(body_json(after), {"gender"}) == "female");
  BOOST_TEST(after[http::field::etag] == "W/\"2\"");
  BOOST_TEST(str(body_json(f.get(kBase + "/Patient/pat1")), {"gender"}) == "female");

  // Observations too.
  auto obs =
      f.post(kBase + "/Observation", with_subject(seed("observation-f001.json"), "Patient/pat1"));
  BOOST_REQUIRE_EQUAL(obs.result_int(), 201u);
  const std::string obs_url = kBase + "/Observation/" + str(body_json(obs), {"id"});
  BOOST_TEST(f.get(obs_url).body() == f.get(obs_url).body());
  json::value changed = body_json(f.get(obs_url));
  changed.as_object()["status"] = "amended";
  BOOST_REQUIRE_EQUAL(f.call(verb::put, obs_url, &f.alice, json::serialize(changed)).result_int(),
                      200u);
  BOOST_TEST(str(body_json(f.get(obs_url)), {"status"}) == "amended");

  BOOST_REQUIRE_EQUAL(f.call(verb::delete_, url, &f.alice).result_int(), 200u);
  BOOST_TEST(f.get(url).result_int() == 410u);
}

BOOST_AUTO_TEST_CASE(reads_without_the_read_cache) {
  server::ServerSettings settings;
  settings.read_cache_entries = 0;
  ServerFixture f(settings);
  const std::string id = create_pat1(f);
  auto read = f.get(kBase + "/Patient/" + id);
  BOOST_REQUIRE_EQUAL(read.result_int(), 200u);
  BOOST_TEST(read.body() == f.get(kBase + "/Patient/" + id).body());
  BOOST_TEST(read[http::field::etag] == "W/\"1\"");
}

// A search answered over HTTP splices each match's resource as the read cache
// keeps it (docs/server.md, "Read cache"): the Bundle is the one a batch entry's
// search builds as JSON (that path never splices), each resource is byte for
// byte what a read returns, and an update or another reader is never served
// an entry kept for someone else.
BOOST_AUTO_TEST_CASE(searches_splice_what_reads_keep_and_say_the_same) {
  ServerFixture f;
  const std::string id = create_pat1(f);
  json::value second = seed("patient-pat1.json");
  second.as_object()["id"] = "pat2";
  second.as_object()["gender"] = "female";
  BOOST_REQUIRE_EQUAL(f.post(kBase + "/Patient", second).result_int(), 201u);
  auto obs =
      f.post(kBase + "/Observation", with_subject(seed("observation-f001.json"), "Patient/pat1"));
  BOOST_REQUIRE_EQUAL(obs.result_int(), 201u);
  const std::string read_body = f.get(kBase + "/Patient/" + id).body();  // now kept

  auto without_id = [](json::value bundle) {
    if (bundle.is_object()) bundle.as_object().erase("id");  // a new id per Bundle
    return bundle;
  };
  for (const std::string query :
       {"Patient?name=donald", "Patient?name=donald&_count=1", "Patient?name=nobody",
        "Patient?family=donald&unknown-parameter=1", "Patient?_revinclude=Observation:subject",
        "Patient?_elements=gender", "Patient?_summary=true", "Patient?_summary=count",
        "Patient?_sort=-gender&_total=accurate", "Observation?subject=Patient/pat1",
        "Observation?_include=Observation:subject", "Patient/pat1/Observation"}) {
    BOOST_TEST_CONTEXT(query) {
      auto direct = f.get(kBase + "/" + query);
      BOOST_REQUIRE_EQUAL(direct.result_int(), 200u);
      json::object batch{
          {"resourceType", "Bundle"},
          {"type", "batch"},
          {"entry", json::array{json::object{{"request", {{"method", "GET"}, {"url", query}}}}}}};
      auto batched = f.call(verb::post, kBase, &f.alice, json::serialize(batch));
      BOOST_REQUIRE_EQUAL(batched.result_int(), 200u);
      const json::value batched_json = body_json(batched);
      const json::value& entry = batched_json.at("entry").at(0);
      BOOST_TEST(str(entry, {"response", "status"}).rfind("200", 0) == 0u);
      BOOST_TEST(without_id(body_json(direct)) == without_id(entry.at("resource")));
    }
  }
  // The match is the read's text itself, and a search keeps what a read then serves.
  auto found = f.get(kBase + "/Patient?name=donald&gender=male");
  BOOST_TEST(found.body().find(R"("resource":)" + read_body + ",") != std::string::npos);
  const json::value females = body_json(f.get(kBase + "/Patient?gender=female"));
  const json::value& pat2 = females.at("entry").at(0);
  const std::string pat2_read = f.get(kBase + "/Patient/" + str(pat2, {"resource", "id"})).body();
  BOOST_TEST(json::parse(pat2_read) == pat2.at("resource"));

  // An update is searched as its new version; another party sees none of them.
  auto patched = f.call(verb::patch, kBase + "/Patient/" + id, &f.alice,
                        R"([{"op":"replace","path":"/gender","value":"other"}])",
                        "application/json-patch+json");
  BOOST_REQUIRE_EQUAL(patched.result_int(), 200u);
  json::object after = patient_search(f, "gender=other");
  BOOST_REQUIRE_EQUAL(after.at("entry").as_array().size(), 1u);
  BOOST_TEST(str(after.at("entry").at(0), {"resource", "meta", "versionId"}) == "2");
  BOOST_TEST(str(after.at("entry").at(0), {"resource", "gender"}) == "other");
  BOOST_TEST(!patient_search(f, "name=donald", &f.bob).contains("entry"));
}

// The search cache (docs/server.md, "Search cache"): a repeated search is
// answered without reaching the store's search while nothing is committed,
// with a Bundle.id of its own and otherwise the same bytes; another order of
// the parameters, another reader or another base URL is another entry; a
// commit through the server, or by another connection to the same file (as
// another process would write), is seen by the next search; a reader whose
// key left the keychain gets the store's own answer.
BOOST_AUTO_TEST_CASE(a_repeated_search_is_answered_from_the_cache_until_a_commit) {
  ServerFixture f;
  FaultyStore counting(*f.store);
  counting.forward_change_epoch = true;
  server::ServerSettings settings;
  settings.public_base_url = "http://fhir.test";
  f.ctx = std::make_unique<server::ServerContext>(counting, f.keychain, settings);
  create_pat1(f);
  auto bundle_id = [](const json::object& bundle) { return str(bundle, {"id"}); };
  auto without_id = [](json::object bundle) {
    bundle.erase("id");
    return bundle;
  };

  const int before = counting.searches;
  const std::string query = kBase + "/Patient?name=donald&_count=1";
  auto first = f.get(query);
  auto second = f.get(query);
  BOOST_REQUIRE_EQUAL(first.result_int(), 200u);
  BOOST_REQUIRE_EQUAL(second.result_int(), 200u);
  BOOST_TEST(counting.searches == before + 1);
  const json::object one = body_json(first).as_object(), two = body_json(second).as_object();
  BOOST_TEST(!bundle_id(one).empty());
  BOOST_TEST(bundle_id(one) != bundle_id(two));
  BOOST_TEST(without_id(one) == without_id(two));
  BOOST_TEST(one.at("total").as_int64() == 1);
  BOOST_TEST(first.body().size() == second.body().size());  // the ids have one length
  BOOST_TEST(second[http::field::content_type] == first[http::field::content_type]);

  BOOST_TEST(f.get(kBase + "/Patient?_count=1&name=donald").result_int() == 200u);
  BOOST_TEST(counting.searches == before + 2);  // another order: another entry
  BOOST_TEST(!patient_search(f, "name=donald&_count=1", &f.bob).contains("entry"));
  BOOST_TEST(counting.searches == before + 3);  // another reader: its own search
  server::Request other_host{verb::get, query, 11};
  other_host.set(http::field::authorization, f.alice.auth());
  other_host.set(http::field::host, "elsewhere.test");
  BOOST_TEST(server::handle_request(std::move(other_host), *f.ctx).result_int() == 200u);
  BOOST_TEST(counting.searches == before + 3);  // the public base URL is the server's own
  // Warnings are answered again with the Bundle they came with.
  auto warned = f.get(kBase + "/Patient?name=donald&unknown-parameter=1");
  auto warned_again = f.get(kBase + "/Patient?name=donald&unknown-parameter=1");
  BOOST_TEST(counting.searches == before + 4);
  BOOST_TEST(warned_again[http::field::warning] == warned[http::field::warning]);
  BOOST_TEST(!warned[http::field::warning].empty());

  // A commit through the server: the next search sees it.
  json::value second_donald = seed("patient-pat1.json");
  second_donald.as_object()["id"] = "pat2";
  BOOST_REQUIRE_EQUAL(f.post(kBase + "/Patient", second_donald).result_int(), 201u);
  BOOST_TEST(patient_search(f, "name=donald&_count=1").at("total").as_int64() == 2);

  {  // A commit by another connection to the same file.
    crypto::Keychain other_keychain;
    auto other = storage::SqliteStore::open(f.dir.path() / "fhirbridge.db", other_keychain);
    BOOST_REQUIRE(other.ok());
    BOOST_REQUIRE(
        other_keychain.put(f.alice.hcp_id, f.alice.private_key_hex, f.alice.public_key_hex).ok());
    server::ServerContext other_ctx(**other, other_keychain, settings);
    server::Request create{verb::post, kBase + "/Patient", 11};
    create.set(http::field::host, "fhir.test");
    create.set(http::field::authorization, f.alice.auth());
    create.set(http::field::content_type, "application/fhir+json");
    json::value third_donald = seed("patient-pat1.json");
    third_donald.as_object()["id"] = "pat3";
    create.body() = json::serialize(third_donald);
    create.prepare_payload();
    BOOST_REQUIRE_EQUAL(server::handle_request(std::move(create), other_ctx).result_int(), 201u);
  }
  const int searched = counting.searches;
  BOOST_TEST(patient_search(f, "name=donald&_count=1").at("total").as_int64() == 3);
  BOOST_TEST(counting.searches == searched + 1);

  // Without the reader's key the cache is not asked: the store answers as it would.
  f.keychain.drop(f.alice.hcp_id);
  auto keyless = f.get(query);
  BOOST_TEST(keyless.result_int() == 403u);
  BOOST_TEST(counting.searches == searched + 2);
  f.ctx.reset();  // before `counting`, which it uses
}

// A store that cannot tell whether anything changed (Store's default
// change_epoch), or a server with the cache off, searches every time.
BOOST_AUTO_TEST_CASE(searches_are_not_kept_without_a_change_epoch_or_with_the_cache_off) {
  for (const bool forward : {false, true}) {
    BOOST_TEST_CONTEXT("change epoch forwarded: " << forward) {
      ServerFixture f;
      FaultyStore counting(*f.store);
      counting.forward_change_epoch = forward;
      server::ServerSettings settings;
      settings.public_base_url = "http://fhir.test";
      if (forward) settings.search_cache_entries = 0;
      f.ctx = std::make_unique<server::ServerContext>(counting, f.keychain, settings);
      create_pat1(f);
      const int before = counting.searches;
      const std::string first = f.get(kBase + "/Patient?name=donald").body();
      const std::string second = f.get(kBase + "/Patient?name=donald").body();
      BOOST_TEST(counting.searches == before + 2);
      BOOST_TEST(json::parse(first).at("total") == json::parse(second).at("total"));
      f.ctx.reset();
    }
  }
}

// Conditional read: If-None-Match / If-Modified-Since answer 304 without a body.
BOOST_AUTO_TEST_CASE(conditional_read_answers_304) {
  ServerFixture f;
  const std::string id = create_pat1(f);
  const std::string url = kBase + "/Patient/" + id;
  auto read_with = [&](http::field field, const std::string& value) {
    return f.call(verb::get, url, &f.alice, {}, "application/fhir+json", {{field, value}});
  };
  for (const char* tag : {"W/\"1\"", "\"1\"", "W/\"7\", W/\"1\"", "*"}) {
    auto same = read_with(http::field::if_none_match, tag);
    BOOST_TEST_INFO(tag);
    BOOST_TEST(same.result_int() == 304u);
    BOOST_TEST(same.body().empty());
    BOOST_TEST(same[http::field::etag] == "W/\"1\"");
    BOOST_TEST(same.count(http::field::content_length) == 0u);
  }
  BOOST_TEST(read_with(http::field::if_none_match, "W/\"2\"").result_int() == 200u);
  BOOST_TEST(
      read_with(http::field::if_modified_since, "Fri, 01 Jan 2100 00:00:00 GMT").result_int() ==
      304u);
  auto changed = read_with(http::field::if_modified_since, "Sat, 01 Jan 2000 00:00:00 GMT");
  BOOST_TEST(changed.result_int() == 200u);
  BOOST_TEST(str(body_json(changed), {"id"}) == id);
  // If-None-Match wins over If-Modified-Since; searches have no ETag.
  BOOST_TEST(f.call(verb::get, url, &f.alice, {}, "application/fhir+json",
                    {{http::field::if_none_match, "W/\"2\""},
                     {http::field::if_modified_since, "Fri, 01 Jan 2100 00:00:00 GMT"}})
                 .result_int() == 200u);
  BOOST_TEST(f.call(verb::get, kBase + "/Patient?name=Donald", &f.alice, {},
                    "application/fhir+json", {{http::field::if_none_match, "*"}})
                 .result_int() == 200u);
  BOOST_TEST(read_with(http::field::if_modified_since, "yesterday").result_int() == 200u);
}

// _summary=true keeps R4's summary elements, text the narrative and the
// mandatory ones, data all but the narrative; each marks SUBSETTED. On the
// tutorial's resources, which have elements of every kind.
BOOST_AUTO_TEST_CASE(summary_modes_subset_the_resources) {
  ServerFixture f;
  create_pat1(f);
  BOOST_REQUIRE_EQUAL(
      f.post(kBase + "/Observation", with_subject(seed("observation-f001.json"), "Patient/pat1"))
          .result_int(),
      201u);
  using Keys = std::set<std::string>;
  auto kept = [&](const std::string& query) {
    auto res = f.get(kBase + "/" + query, &f.alice);
    BOOST_REQUIRE_EQUAL(res.result_int(), 200u);
    const json::value bundle = body_json(res);
    const auto& r = bundle.at("entry").at(0).at("resource").as_object();
    Keys keys;
    for (const auto& [key, value] : r) keys.insert(std::string(key));
    const bool subsetted = json::serialize(r.at("meta")).find("SUBSETTED") != std::string::npos;
    BOOST_TEST(subsetted == (query.find("_summary=false") == std::string::npos), query);
    return keys;
  };
  BOOST_TEST(kept("Patient?_summary=true") ==
             (Keys{"resourceType", "id", "meta", "identifier", "active", "name", "gender",
                   "managingOrganization", "link"}));
  BOOST_TEST(kept("Patient?_summary=text") == (Keys{"resourceType", "id", "meta", "text"}));
  const Keys full = kept("Patient?_summary=false");
  BOOST_TEST(full.count("photo") == 1u);
  BOOST_TEST(full.count("contact") == 1u);
  Keys data = full;
  data.erase("text");
  BOOST_TEST(kept("Patient?_summary=data") == data);
  BOOST_TEST(kept("Observation?_summary=true") ==
             (Keys{"resourceType", "id", "meta", "identifier", "status", "code", "subject",
                   "effectivePeriod", "issued", "performer", "valueQuantity"}));
  BOOST_TEST(kept("Observation?_summary=text") ==
             (Keys{"resourceType", "id", "meta", "text", "status", "code"}));
  // _elements wins over _summary; an included patient is summarised as a Patient.
  BOOST_TEST(kept("Observation?_summary=true&_elements=interpretation") ==
             (Keys{"resourceType", "id", "meta", "interpretation"}));
  auto with_patient = f.get(kBase + "/Observation?_summary=true&_include=Observation:subject");
  BOOST_REQUIRE_EQUAL(with_patient.result_int(), 200u);
  const json::value with_patient_bundle = body_json(with_patient);
  const auto& included = with_patient_bundle.at("entry").at(1).at("resource").as_object();
  BOOST_TEST(included.at("resourceType").as_string() == "Patient");
  BOOST_TEST(included.contains("name"));
  BOOST_TEST(!included.contains("photo"));

  // Reads take _summary and _elements too (as HAPI); the version is the same.
  auto read_keys = [&](const std::string& target) {
    auto res = f.get(kBase + target);
    BOOST_REQUIRE_EQUAL(res.result_int(), 200u);
    BOOST_TEST(res[http::field::etag] == "W/\"1\"");
    Keys keys;
    const json::value resource = body_json(res);
    for (const auto& [key, value] : resource.as_object()) keys.insert(std::string(key));
    return keys;
  };
  BOOST_TEST(read_keys("/Patient/pat1?_summary=true") == kept("Patient?_summary=true"));
  BOOST_TEST(read_keys("/Patient/pat1?_elements=gender,photo") ==
             (Keys{"resourceType", "id", "meta", "gender", "photo"}));
  BOOST_TEST(read_keys("/Patient/pat1/_history/1?_summary=text") ==
             (Keys{"resourceType", "id", "meta", "text"}));
  BOOST_TEST(read_keys("/Patient/pat1?_summary=false").count("photo") == 1u);
  BOOST_TEST(f.get(kBase + "/Patient/pat1?_summary=count").result_int() == 400u);
}

// A code search of few matches pages on the index's keys (docs/search.md):
// its next link goes on where the page stopped, and a cursor it did not hand
// out (garbage, cut short, keys of the wrong types, another order's) is a 400
// naming _cursor, not a page from somewhere else.
BOOST_AUTO_TEST_CASE(a_keyed_code_search_refuses_cursors_it_did_not_hand_out) {
  ServerFixture f;
  BOOST_REQUIRE_EQUAL(f.post(kBase + "/Patient", seed("patient-pat1.json")).result_int(), 201u);
  for (const char* id : {"o1", "o2", "o3"}) {
    json::value obs = with_subject(seed("observation-f001.json"), "Patient/pat1");
    obs.as_object()["id"] = id;
    BOOST_REQUIRE_EQUAL(f.post(kBase + "/Observation", obs).result_int(), 201u);
  }
  auto next_cursor = [&](const std::string& target) {
    auto res = f.get(target);
    BOOST_TEST_INFO(target << ": " << res.body());
    BOOST_REQUIRE_EQUAL(res.result_int(), 200u);
    const json::value bundle = body_json(res);
    for (const auto& link : bundle.at("link").as_array())
      if (str(link, {"relation"}) == "next") {
        const std::string url = str(link, {"url"});
        return url.substr(url.find("_cursor=") + 8,
                          url.find('&', url.find("_cursor=")) - url.find("_cursor=") - 8);
      }
    return std::string();
  };
  const std::string search = kBase + "/Observation?code=http://loinc.org|15074-8&_count=2";
  const std::string cursor = next_cursor(search);
  BOOST_REQUIRE(!cursor.empty());
  auto second = f.get(search + "&_cursor=" + cursor);
  BOOST_REQUIRE_EQUAL(second.result_int(), 200u);
  BOOST_TEST(body_json(second).at("entry").as_array().size() == 1u);
  BOOST_TEST(body_json(second).at("total").as_int64() == 3);

  // The genuine cursor (hex of {"s": sort, "k": keys}) with keys of the wrong types.
  auto text = crypto::from_hex(cursor);
  BOOST_REQUIRE(text.ok());
  json::value decoded = json::parse(std::string(text->begin(), text->end()));
  decoded.as_object()["k"] = json::array{"x", 1};
  const std::string wrong_keys = json::serialize(decoded);
  const std::string wrong_types =
      crypto::to_hex(reinterpret_cast<const std::uint8_t*>(wrong_keys.data()), wrong_keys.size());
  for (const std::string& forged :
       {std::string("garbage"), cursor.substr(0, cursor.size() - 2),
        std::string(cursor.size(), '0'), wrong_types,
        next_cursor(kBase + "/Observation?_count=2&_sort=-_lastUpdated")}) {
    BOOST_TEST_CONTEXT("_cursor=" << forged) {
      auto res = f.get(search + "&_cursor=" + forged);
      BOOST_TEST(res.result_int() == 400u);
      BOOST_TEST(issue_field(res, "expression") == "_cursor");
    }
  }
}

// Patient/{id}/$everything: the patient first, then its observations, paged as a search.
BOOST_AUTO_TEST_CASE(patient_everything_pages_the_patient_and_its_observations) {
  ServerFixture f;
  BOOST_REQUIRE_EQUAL(f.post(kBase + "/Patient", seed("patient-pat1.json")).result_int(), 201u);
  json::value other = seed("patient-pat1.json");
  other.as_object()["id"] = "other";
  BOOST_REQUIRE_EQUAL(f.post(kBase + "/Patient", other).result_int(), 201u);
  auto observe = [&](const std::string& fhir_id, const std::string& subject) {
    json::value obs = with_subject(seed("observation-f001.json"), subject);
    obs.as_object()["id"] = fhir_id;
    BOOST_REQUIRE_EQUAL(f.post(kBase + "/Observation", obs).result_int(), 201u);
  };
  for (const char* id : {"o1", "o2", "o3"}) observe(id, "Patient/pat1");
  observe("o4", "Patient/other");

  auto everything = [&](const std::string& target, unsigned status = 200) {
    auto res = f.get(target.starts_with("http") ? target.substr(target.find(kBase)) : target);
    BOOST_TEST_INFO(target << ": " << res.body());
    BOOST_REQUIRE_EQUAL(res.result_int(), status);
    return body_json(res);
  };
  auto types = [](const json::value& bundle) {
    std::vector<std::string> out;
    if (const auto* entries = bundle.as_object().if_contains("entry"))
      for (const auto& e : entries->as_array()) out.push_back(str(e, {"resource", "resourceType"}));
    return out;
  };
  using Types = std::vector<std::string>;
  const json::value first = everything(kBase + "/Patient/pat1/$everything?_count=2");
  BOOST_TEST(str(first, {"type"}) == "searchset");
  BOOST_TEST(first.at("total").as_int64() == 4);
  BOOST_TEST(types(first) == (Types{"Patient", "Observation", "Observation"}));
  std::string next;
  for (const auto& link : first.at("link").as_array())
    if (str(link, {"relation"}) == "next") next = str(link, {"url"});
  BOOST_TEST(next.find("/Patient/pat1/$everything?") != std::string::npos);
  BOOST_TEST(next.find("_cursor=") != std::string::npos);
  const json::value second = everything(next);
  BOOST_TEST(second.at("total").as_int64() == 4);
  BOOST_TEST(types(second) == (Types{"Observation"}));

  BOOST_TEST(types(everything(kBase + "/Patient/pat1/$everything?_type=Patient")) ==
             (Types{"Patient"}));
  const json::value observations =
      everything(kBase + "/Patient/pat1/$everything?_type=Observation,Condition");
  BOOST_TEST(observations.at("total").as_int64() == 3);
  BOOST_TEST(types(observations) == (Types{"Observation", "Observation", "Observation"}));
  const json::value later = everything(kBase + "/Patient/pat1/$everything?_since=2999-01-01");
  BOOST_TEST(later.at("total").as_int64() == 0);
  BOOST_TEST(!later.as_object().contains("entry"));
  // The seed observation is dated 2013: a later care period keeps only the patient.
  BOOST_TEST(types(everything(kBase + "/Patient/pat1/$everything?start=2014-01-01")) ==
             (Types{"Patient"}));
  BOOST_TEST(
      everything(kBase + "/Patient/pat1/$everything?start=2013&end=2013").at("total").as_int64() ==
      4);
  everything(kBase + "/Patient/pat1/$everything?start=13-2013", 400);
  // _elements subsets every resource, the patient too.
  const json::value subset = everything(kBase + "/Patient/pat1/$everything?_elements=status");
  BOOST_TEST(!subset.at("entry").at(0).at("resource").as_object().contains("name"));
  BOOST_TEST(str(subset.at("entry").at(1), {"resource", "status"}) == "final");
  BOOST_TEST(!subset.at("entry").at(1).at("resource").as_object().contains("code"));
  everything(kBase + "/Patient/pat1/$everything?_summary=count", 400);
  // An unknown parameter: ignored with a warning, 400 when the client asks for strictness.
  auto lenient = f.get(kBase + "/Patient/pat1/$everything?_foo=id");
  BOOST_TEST(lenient.result_int() == 200u);
  BOOST_TEST(std::string(lenient[http::field::warning]).find("_foo") != std::string::npos);
  BOOST_TEST(f.call(verb::get, kBase + "/Patient/pat1/$everything?_foo=id", &f.alice, {}, {},
                    {{http::field::prefer, "handling=strict"}})
                 .result_int() == 400u);
  everything(kBase + "/Patient/nobody/$everything", 404);
  BOOST_TEST(f.get(kBase + "/Patient/pat1/$everything", &f.bob).result_int() == 404u);
  BOOST_TEST(f.get(kBase + "/Observation/o1/$everything").result_int() == 404u);
  // POST takes a Parameters body (the query's parameters come first).
  json::object parameters{
      {"resourceType", "Parameters"},
      {"parameter", json::array{json::object{{"name", "_type"}, {"valueCode", "Patient"}}}}};
  const json::value posted = body_json(f.post(kBase + "/Patient/pat1/$everything", parameters));
  BOOST_TEST(types(posted) == (Types{"Patient"}));
  BOOST_TEST(f.post(kBase + "/Patient/pat1/$everything", json::object{{"resourceType", "Patient"}})
                 .result_int() == 400u);
  parameters["parameter"].as_array()[0].as_object().erase("valueCode");
  BOOST_TEST(f.post(kBase + "/Patient/pat1/$everything", parameters).result_int() == 400u);
  BOOST_TEST(f.call(verb::delete_, kBase + "/Patient/pat1/$everything", &f.alice).result_int() ==
             405u);
}

// Parameters on elements only the sealed content holds (component, value[x]
// other than Quantity, references other than subject): filtered after decryption.
BOOST_AUTO_TEST_CASE(element_filters_search_what_only_the_content_holds) {
  ServerFixture f;
  create_pat1(f);
  auto hl7 = [](const std::string& name) {
    return with_subject(read_json(shared_dir() / "fixtures/hl7" / name), "Patient/pat1");
  };
  std::map<std::string, std::string> fhir_id_of;  // store id -> the id the test gave
  auto add = [&](json::value obs) {
    auto res = f.post(kBase + "/Observation", obs);
    BOOST_TEST_INFO(res.body());
    BOOST_REQUIRE_EQUAL(res.result_int(), 201u);
    fhir_id_of[str(body_json(res), {"id"})] = str(obs, {"id"});
  };
  add(hl7("Observation-blood-pressure.json"));  // components 8480-6, 8462-4; Practitioner/example
  add(hl7("Observation-example.json"));         // Encounter/example
  add(with_subject(seed("observation-f001.json"), "Patient/pat1"));  // Practitioner/f005
  json::value coded = with_subject(seed("observation-f001.json"), "Patient/pat1");
  coded.as_object()["id"] = "concept";
  coded.as_object().erase("valueQuantity");
  coded.as_object()["valueCodeableConcept"] =
      json::object{{"coding", json::array{json::object{{"system", "http://snomed.info/sct"},
                                                       {"code", "260385009"},
                                                       {"display", "Negative"}}}}};
  add(coded);
  json::value text = coded;
  text.as_object()["id"] = "text";
  text.as_object().erase("valueCodeableConcept");
  text.as_object()["valueString"] = "Positive for influenza A";
  add(text);
  json::value dated = text;
  dated.as_object()["id"] = "dated";
  dated.as_object().erase("valueString");
  dated.as_object()["valueDateTime"] = "2021-05-06T10:00:00+02:00";
  add(dated);

  auto ids = [&](const std::string& query, unsigned status = 200) {
    auto res = f.get(kBase + "/Observation?" + query + "&_sort=_id");
    BOOST_TEST_INFO(query << ": " << res.body());
    BOOST_REQUIRE_EQUAL(res.result_int(), status);
    std::set<std::string> out;
    const json::value bundle = body_json(res);
    if (status != 200) return out;
    if (const auto* entries = bundle.as_object().if_contains("entry"))
      for (const auto& e : entries->as_array()) out.insert(fhir_id_of[str(e, {"resource", "id"})]);
    return out;
  };
  using Ids = std::set<std::string>;
  BOOST_TEST(ids("component-code=http://loinc.org|8480-6") == (Ids{"blood-pressure"}));
  BOOST_TEST(ids("component-code=85354-9").empty());  // the panel's own code is not a component
  BOOST_TEST(ids("combo-code=85354-9") == (Ids{"blood-pressure"}));
  BOOST_TEST(ids("combo-code=8462-4,15074-8") ==
             (Ids{"blood-pressure", "f001", "concept", "text", "dated"}));
  BOOST_TEST(ids("value-concept=http://snomed.info/sct|260385009") == (Ids{"concept"}));
  BOOST_TEST(ids("value-concept=http://loinc.org|260385009").empty());
  BOOST_TEST(ids("value-concept:text=negat") == (Ids{"concept"}));
  BOOST_TEST(ids("value-concept:not=260385009") ==
             (Ids{"blood-pressure", "example", "f001", "text", "dated"}));
  BOOST_TEST(ids("value-string=positive") == (Ids{"text"}));
  BOOST_TEST(ids("value-date=2021-05") == (Ids{"dated"}));
  BOOST_TEST(ids("value-date=ge2021-05-06T10:00") == (Ids{"dated"}));  // wall-clock time
  BOOST_TEST(ids("value-date=gt2021-05-06T10:00").empty());            // after the whole minute
  BOOST_TEST(ids("value-date=lt2021").empty());
  BOOST_TEST(ids("value-string:contains=INFLUENZA") == (Ids{"text"}));
  BOOST_TEST(ids("value-string:exact=positive for influenza A").empty());
  BOOST_TEST(ids("value-string:exact=Positive for influenza A") == (Ids{"text"}));
  BOOST_TEST(ids("performer=Practitioner/f005") == (Ids{"f001", "concept", "text", "dated"}));
  BOOST_TEST(ids("performer=example") == (Ids{"blood-pressure"}));
  BOOST_TEST(ids("performer:Practitioner=example") == (Ids{"blood-pressure"}));
  BOOST_TEST(ids("performer=http://elsewhere.org/fhir/Practitioner/example") ==
             (Ids{"blood-pressure"}));
  BOOST_TEST(ids("performer=Organization/example").empty());
  BOOST_TEST(ids("encounter=Encounter/example") == (Ids{"example"}));
  BOOST_TEST(ids("based-on:identifier=https://acme.org/identifiers|1234") ==
             (Ids{"blood-pressure"}));
  BOOST_TEST(ids("based-on:identifier=1234") == (Ids{"blood-pressure"}));
  BOOST_TEST(ids("based-on:identifier=https://elsewhere.org|1234").empty());
  // :missing, also on the indexed category (its tag index is shared with status and meta.tag).
  BOOST_TEST(ids("category:missing=true") == (Ids{"f001", "concept", "text", "dated"}));
  BOOST_TEST(ids("category:missing=false") == (Ids{"blood-pressure", "example"}));
  BOOST_TEST(ids("status:missing=true").empty());
  BOOST_TEST(ids("encounter:missing=false") == (Ids{"example"}));
  // With an indexed parameter, and inside _has.
  BOOST_TEST(ids("code=http://loinc.org|15074-8&value-concept:missing=true") ==
             (Ids{"f001", "text", "dated"}));
  auto patients =
      body_json(f.get(kBase + "/Patient?_has:Observation:patient:component-code=8480-6"));
  BOOST_TEST(patients.at("total").as_int64() == 1);
  // Quantities in components, and composites: code$value of the same Observation or component
  // (blood pressure: 8480-6 107 mmHg, 8462-4 60 mmHg; f001 15074-8 6.3; example 29463-7 185).
  BOOST_TEST(ids("component-value-quantity=107") == (Ids{"blood-pressure"}));
  BOOST_TEST(ids("component-value-quantity=6.3").empty());
  BOOST_TEST(ids("combo-value-quantity=gt100") == (Ids{"blood-pressure", "example"}));
  BOOST_TEST(ids("combo-value-quantity=6.3|http://unitsofmeasure.org|mmol/L") == (Ids{"f001"}));
  BOOST_TEST(ids("component-value-quantity:missing=false") == (Ids{"blood-pressure"}));
  BOOST_TEST(ids("component-code-value-quantity=http://loinc.org|8480-6$gt100") ==
             (Ids{"blood-pressure"}));
  // The pairs are not crossed: the diastolic component is 60, not 107.
  BOOST_TEST(ids("component-code-value-quantity=http://loinc.org|8462-4$gt100").empty());
  BOOST_TEST(ids("component-code-value-quantity=8462-4$lt61") == (Ids{"blood-pressure"}));
  BOOST_TEST(ids("component-code-value-quantity=85354-9$107").empty());  // the panel's own code
  BOOST_TEST(ids("code-value-quantity=http://loinc.org|15074-8$6.3") == (Ids{"f001"}));
  BOOST_TEST(ids("code-value-quantity=http://loinc.org|15074-8$gt7").empty());
  BOOST_TEST(ids("code-value-quantity=http://loinc.org|29463-7$gt7,http://loinc.org|15074-8$lt7") ==
             (Ids{"example", "f001"}));
  BOOST_TEST(ids("code-value-quantity=29463-7$6.3").empty());  // each pair as written
  BOOST_TEST(ids("combo-code-value-quantity=8480-6$107,15074-8$lt7") ==
             (Ids{"blood-pressure", "f001"}));
  BOOST_TEST(ids("code-value-concept=15074-8$http://snomed.info/sct|260385009") ==
             (Ids{"concept"}));
  BOOST_TEST(ids("combo-code-value-concept=15074-8$260385009") == (Ids{"concept"}));
  BOOST_TEST(ids("code-value-string=http://loinc.org|15074-8$positive") == (Ids{"text"}));
  BOOST_TEST(ids("code-value-date=15074-8$2021-05") == (Ids{"dated"}));
  BOOST_TEST(ids("code-value-date=15074-8$2020,15074-8$2021") == (Ids{"dated"}));
  BOOST_TEST(ids("value-date=2020,2021") == (Ids{"dated"}));  // OR of filtered dates
  // :text and :not on the indexed code and category: filtered after decryption.
  BOOST_TEST(ids("code:text=glucose") == (Ids{"f001", "concept", "text", "dated"}));
  BOOST_TEST(ids("code:text=blood pressure systolic") == (Ids{"blood-pressure"}));  // code.text
  BOOST_TEST(ids("code:not=http://loinc.org|15074-8") == (Ids{"blood-pressure", "example"}));
  BOOST_TEST(ids("category:text=vital") == (Ids{"blood-pressure", "example"}));
  BOOST_TEST(ids("category:not=vital-signs") == (Ids{"f001", "concept", "text", "dated"}));
  BOOST_TEST(ids("code=15074-8&code:not=15074-8").empty());
  ids("code:above=15074-8", 400);
  // As the indexed code and value-quantity together, and inside _has.
  BOOST_TEST(ids("code-value-quantity=15074-8$le6.3") == ids("code=15074-8&value-quantity=le6.3"));
  auto by_pressure = body_json(f.get(
      kBase + "/Patient?_has:Observation:patient:component-code-value-quantity=8480-6$gt100"));
  BOOST_TEST(by_pressure.at("total").as_int64() == 1);
  // Malformed: 400 at the parameter.
  ids("value-string:below=x", 400);
  ids("performer:above=x", 400);
  ids("value-concept:missing=maybe", 400);
  ids("code-value-quantity=15074-8", 400);  // no $value
  ids("code-value-quantity=$6.3", 400);     // no code
  ids("code-value-quantity=15074-8$abc", 400);
  ids("code-value-quantity:missing=true", 400);
  ids("component-code-value-concept:text=x$y", 400);
  ids("combo-value-quantity:exact=5", 400);
  auto bad = f.get(kBase + "/Observation?code-value-quantity=15074-8");
  BOOST_TEST(issue_field(bad, "expression") == "code-value-quantity");
}

// Patient parameters on what the mapping keeps sealed (telecom, address,
// references): filtered after decryption, also in chains and conditional deletes.
BOOST_AUTO_TEST_CASE(patient_element_filters_search_telecom_address_and_references) {
  ServerFixture f;
  std::map<std::string, std::string> name_of;  // store id -> fixture
  for (const std::string name : {"example", "f001", "pat1", "f201"}) {
    auto res = f.post(kBase + "/Patient",
                      read_json(shared_dir() / "fixtures/hl7" / ("Patient-" + name + ".json")));
    BOOST_TEST_INFO(name << ": " << res.body());
    BOOST_REQUIRE_EQUAL(res.result_int(), 201u);
    name_of[str(body_json(res), {"id"})] = name;
  }
  auto names = [&](const std::string& query, unsigned status = 200) {
    auto res = f.get(kBase + "/Patient?" + query);
    BOOST_TEST_INFO(query << ": " << res.body());
    BOOST_REQUIRE_EQUAL(res.result_int(), status);
    std::set<std::string> out;
    if (status != 200) return out;
    const json::value bundle = body_json(res);
    if (const auto* entries = bundle.as_object().if_contains("entry"))
      for (const auto& e : entries->as_array())
        if (str(e, {"search", "mode"}) == "match") out.insert(name_of[str(e, {"resource", "id"})]);
    return out;
  };
  using Names = std::set<std::string>;
  BOOST_TEST(names("phone=0648352638") == (Names{"f001"}));
  BOOST_TEST(names("telecom=phone|0648352638") == (Names{"f001"}));
  BOOST_TEST(names("telecom=email|0648352638").empty());
  BOOST_TEST(names("email=p.heuvel@gmail.com") == (Names{"f001"}));
  BOOST_TEST(names("phone=p.heuvel@gmail.com").empty());  // an email is not a phone
  BOOST_TEST(names("address-city=amster") == (Names{"f001", "f201"}));
  BOOST_TEST(names("address-city:exact=Amsterdam&address-postalcode=1055") == (Names{"f201"}));
  BOOST_TEST(names("address=pleasant") == (Names{"example"}));
  BOOST_TEST(names("address:contains=ville") == (Names{"example"}));
  BOOST_TEST(names("address-use=home") == (Names{"example", "f001", "f201"}));
  BOOST_TEST(names("address:missing=true") == (Names{"pat1"}));
  BOOST_TEST(names("organization=Organization/1") == (Names{"example", "pat1"}));
  BOOST_TEST(names("organization:Organization=f201") == (Names{"f201"}));
  BOOST_TEST(names("link=Patient/pat2") == (Names{"pat1"}));
  BOOST_TEST(names("language=urn:ietf:bcp:47|nl") == (Names{"f001"}));
  BOOST_TEST(names("telecom:missing=false&address-city=Amsterdam") == (Names{"f001", "f201"}));
  // Paged in memory, with a total and a next link.
  auto first = body_json(f.get(kBase + "/Patient?address-use=home&_count=2&_sort=_id"));
  BOOST_TEST(first.at("total").as_int64() == 3);
  BOOST_TEST(first.at("entry").as_array().size() == 2u);
  std::string next;
  for (const auto& link : first.at("link").as_array())
    if (str(link, {"relation"}) == "next") next = str(link, {"url"});
  BOOST_REQUIRE(!next.empty());
  auto second = body_json(f.get(next.substr(next.find(kBase))));
  BOOST_TEST(second.at("entry").as_array().size() == 1u);
  // Chained from Observation, and as a conditional delete's criteria.
  BOOST_REQUIRE_EQUAL(
      f.post(kBase + "/Observation", with_subject(seed("observation-f001.json"), "Patient/f001"))
          .result_int(),
      201u);
  BOOST_TEST(body_json(f.get(kBase + "/Observation?subject:Patient.phone=0648352638"))
                 .at("total")
                 .as_int64() == 1);
  BOOST_TEST(
      body_json(f.get(kBase + "/Observation?subject:Patient.phone=0612")).at("total").as_int64() ==
      0);
  BOOST_TEST(
      f.call(verb::delete_, kBase + "/Patient?email=p.heuvel@gmail.com", &f.alice).result_int() ==
      200u);
  BOOST_TEST(names("address-city=amster") == (Names{"f201"}));
  // deceased: deceasedBoolean true or any deceasedDateTime.
  json::value died = read_json(shared_dir() / "fixtures/hl7/Patient-pat1.json");
  died.as_object()["id"] = "died";
  died.as_object()["deceasedDateTime"] = "2020-02-03";
  auto made = f.post(kBase + "/Patient", died);
  BOOST_REQUIRE_EQUAL(made.result_int(), 201u);
  name_of[str(body_json(made), {"id"})] = "died";
  BOOST_TEST(names("deceased=true") == (Names{"died"}));
  BOOST_TEST(names("deceased=false") == (Names{"example", "pat1", "f201"}));
  BOOST_TEST(names("deceased:missing=true") == (Names{"pat1"}));
  BOOST_TEST(names("death-date=2020") == (Names{"died"}));
  BOOST_TEST(names("death-date=ge2020-02-03&death-date=lt2020-02-04") == (Names{"died"}));
  BOOST_TEST(names("death-date=lt2020").empty());
  names("death-date=2020-13", 400);
  names("deceased=maybe", 400);
  names("phone:exact=1", 400);
  names("address:text=x", 400);
}

// Type and system history: what changed, newest first, each resource once
// (its current version or its delete), paged with a cursor over every stream.
BOOST_AUTO_TEST_CASE(type_history_lists_changes_and_deletes_newest_first) {
  ServerFixture f;
  const std::string a = create_pat1(f);
  json::value other = seed("patient-pat1.json");
  other.as_object()["id"] = "other";
  auto made = f.post(kBase + "/Patient", other);
  BOOST_REQUIRE_EQUAL(made.result_int(), 201u);
  json::value b_resource = body_json(made);
  const std::string b = str(b_resource, {"id"});
  std::vector<std::string> observations;
  for (const char* id : {"o1", "o2", "o3"}) {
    json::value obs = with_subject(seed("observation-f001.json"), "Patient/pat1");
    obs.as_object()["id"] = id;
    auto res = f.post(kBase + "/Observation", obs);
    BOOST_REQUIRE_EQUAL(res.result_int(), 201u);
    observations.push_back(str(body_json(res), {"id"}));
  }
  b_resource.as_object()["gender"] = "female";
  BOOST_REQUIRE_EQUAL(
      f.call(verb::put, kBase + "/Patient/" + b, &f.alice, json::serialize(b_resource))
          .result_int(),
      200u);
  BOOST_REQUIRE_EQUAL(
      f.call(verb::delete_, kBase + "/Observation/" + observations[0], &f.alice).result_int(),
      200u);

  struct Row {
    std::string url, method, last_modified;
  };
  auto rows_of = [](const json::value& bundle) {
    std::vector<Row> rows;
    if (const auto* entries = bundle.as_object().if_contains("entry"))
      for (const auto& e : entries->as_array())
        rows.push_back(
            Row{str(e, {"fullUrl"}).substr(str(e, {"fullUrl"}).find(kBase) + kBase.size() + 1),
                str(e, {"request", "method"}), str(e, {"response", "lastModified"})});
    return rows;
  };
  auto history = [&](const std::string& target, unsigned status = 200) {
    auto res =
        f.get(target.starts_with("http") ? target.substr(target.find(kBase)) : kBase + target);
    BOOST_TEST_INFO(target << ": " << res.body());
    BOOST_REQUIRE_EQUAL(res.result_int(), status);
    return body_json(res);
  };
  // Every page of a history, following next links.
  auto walk = [&](const std::string& first) {
    std::vector<Row> rows;
    std::string target = first;
    for (int pages = 0; pages < 20 && !target.empty(); ++pages) {
      const json::value bundle = history(target);
      BOOST_TEST(str(bundle, {"type"}) == "history");
      for (auto& r : rows_of(bundle)) rows.push_back(std::move(r));
      target.clear();
      for (const auto& link : bundle.at("link").as_array())
        if (str(link, {"relation"}) == "next") target = str(link, {"url"});
    }
    return rows;
  };
  auto summary = [](const std::vector<Row>& rows) {
    std::set<std::string> out;
    for (const auto& r : rows) out.insert(r.method + " " + r.url);
    return out;
  };
  using Set = std::set<std::string>;
  const auto patients = walk("/Patient/_history");
  // Every kept version: b's update and the version it replaced.
  BOOST_TEST(summary(patients) ==
             (Set{"POST Patient/" + a, "PUT Patient/" + b, "POST Patient/" + b}));
  BOOST_TEST(patients.size() == 3u);
  const auto obs = walk("/Observation/_history");
  BOOST_TEST(summary(obs) ==
             (Set{"DELETE Observation/" + observations[0], "POST Observation/" + observations[1],
                  "POST Observation/" + observations[2]}));
  const auto all = walk("/_history");
  BOOST_TEST(all.size() == 6u);
  // The delete is the last change (others may share its millisecond).
  for (const auto& row : all)
    if (row.method == "DELETE") BOOST_TEST(row.last_modified == all.front().last_modified);
  for (std::size_t i = 1; i < all.size(); ++i)
    BOOST_TEST(all[i - 1].last_modified >= all[i].last_modified);  // newest first
  // One at a time: the same sequence through the cursors.
  const auto paged = walk("/_history?_count=1");
  BOOST_REQUIRE_EQUAL(paged.size(), all.size());
  for (std::size_t i = 0; i < all.size(); ++i) BOOST_TEST(paged[i].url == all[i].url);
  BOOST_TEST(walk("/Observation/_history?_count=2").size() == 3u);
  // _since: nothing after the future; everything after the past.
  BOOST_TEST(walk("/_history?_since=2999-01-01").empty());
  BOOST_TEST(walk("/_history?_since=2000-01-01T00:00:00Z").size() == 6u);
  // Bob sees none of it; errors.
  BOOST_TEST(!body_json(f.get(kBase + "/_history", &f.bob)).as_object().contains("entry"));
  history("/Patient/_history?_at=2020", 400);
  history("/Patient/_history?_since=yesterday", 400);
  history("/_history?_cursor=garbage", 400);
  history("/_history?_cursor=h!!", 400);  // three positions for six streams
  history("/Patient/_history?_cursor=h!12:", 400);
  history("/Patient/_history?_cursor=h!!1:x", 400);  // an old version's position is ms:gen:id
  history("/Patient/_history?_cursor=h!!x:1:id", 400);
  BOOST_TEST(f.call(verb::post, kBase + "/Patient/_history", &f.alice, "{}").result_int() == 405u);
  BOOST_TEST(f.get(kBase + "/_history/x").result_int() == 404u);
}

// Patient/{id}/Observation: the Patient compartment, as an Observation?subject= search.
BOOST_AUTO_TEST_CASE(patient_compartment_search_is_a_subject_search) {
  ServerFixture f;
  const std::string pat1 = create_pat1(f);
  json::value other = seed("patient-pat1.json");
  other.as_object()["id"] = "other";
  BOOST_REQUIRE_EQUAL(f.post(kBase + "/Patient", other).result_int(), 201u);
  for (const auto& [id, subject] : std::vector<std::pair<std::string, std::string>>{
           {"o1", "Patient/pat1"}, {"o2", "Patient/pat1"}, {"o3", "Patient/other"}}) {
    json::value obs = with_subject(seed("observation-f001.json"), subject);
    obs.as_object()["id"] = id;
    BOOST_REQUIRE_EQUAL(f.post(kBase + "/Observation", obs).result_int(), 201u);
  }
  auto total = [&](const std::string& target) {
    auto res = f.get(kBase + target);
    BOOST_TEST_INFO(target << ": " << res.body());
    BOOST_REQUIRE_EQUAL(res.result_int(), 200u);
    const json::value bundle = body_json(res);
    BOOST_REQUIRE_EQUAL(str(bundle, {"type"}), "searchset");
    return bundle.at("total").as_int64();
  };
  BOOST_TEST(total("/Patient/pat1/Observation") == 2);          // by FHIR id
  BOOST_TEST(total("/Patient/" + pat1 + "/Observation") == 2);  // by store id
  BOOST_TEST(total("/Patient/other/Observation") == 1);
  BOOST_TEST(total("/Patient/nobody/Observation") == 0);
  BOOST_TEST(total("/Patient/pat1/Observation?_id=o1") == 1);
  BOOST_TEST(total("/Patient/pat1/Observation?_id=o3") == 0);  // o3 is another patient's
  BOOST_TEST(total("/Patient/pat1/Observation?code=http://loinc.org|15074-8") == 2);
  // Paging follows the search's next link.
  const json::value page = body_json(f.get(kBase + "/Patient/pat1/Observation?_count=1"));
  BOOST_TEST(page.at("entry").as_array().size() == 1u);
  bool has_next = false;
  for (const auto& link : page.at("link").as_array())
    has_next = has_next || str(link, {"relation"}) == "next";
  BOOST_TEST(has_next);
  // POST .../_search with a form body.
  auto posted = f.call(verb::post, kBase + "/Patient/pat1/Observation/_search", &f.alice, "_id=o2",
                       "application/x-www-form-urlencoded");
  BOOST_TEST(posted.result_int() == 200u);
  BOOST_TEST(body_json(posted).at("total").as_int64() == 1);
  // Bob sees none of alice's observations.
  BOOST_TEST(body_json(f.get(kBase + "/Patient/pat1/Observation", &f.bob)).at("total").as_int64() ==
             0);
  BOOST_TEST(f.get(kBase + "/Patient/pat1/Condition").result_int() == 404u);
  BOOST_TEST(f.call(verb::post, kBase + "/Patient/pat1/Observation", &f.alice, "{}").result_int() ==
             405u);
  BOOST_TEST(f.get(kBase + "/Observation/o1/Patient").result_int() == 404u);
}

// <Type>/$validate: an OperationOutcome says whether the resource would be
// accepted (in general, or as a create / update / delete); nothing is stored.
BOOST_AUTO_TEST_CASE(validate_says_what_a_write_would_say_and_stores_nothing) {
  ServerFixture f;
  auto validate = [&](const std::string& target, const json::value& body, unsigned status = 200,
                      const std::string& if_match = {}) {
    auto res = if_match.empty()
                   ? f.call(verb::post, kBase + target, &f.alice, json::serialize(body))
                   : f.call(verb::post, kBase + target, &f.alice, json::serialize(body),
                            "application/fhir+json", {{http::field::if_match, if_match}});
    BOOST_TEST_INFO(target << ": " << res.body());
    BOOST_REQUIRE_EQUAL(res.result_int(), status);
    json::value outcome = body_json(res);
    BOOST_REQUIRE_EQUAL(str(outcome, {"resourceType"}), "OperationOutcome");
    return outcome;
  };
  auto severity = [](const json::value& outcome) {
    return str(outcome.at("issue").at(0), {"severity"});
  };
  auto expression = [](const json::value& outcome) {
    return std::string(outcome.at("issue").at(0).at("expression").at(0).as_string());
  };
  auto parameters = [](json::array list) {
    return json::value{{"resourceType", "Parameters"}, {"parameter", std::move(list)}};
  };
  const json::value pat1 = seed("patient-pat1.json");

  // General validation: the resource itself, or a Parameters with `resource`.
  BOOST_TEST(severity(validate("/Patient/$validate", pat1)) == "information");
  BOOST_TEST(
      severity(validate("/Patient/$validate",
                        parameters({json::object{{"name", "resource"}, {"resource", pat1}}}))) ==
      "information");
  json::value bad = pat1;
  bad.as_object()["birthDate"] = "13-2013";
  const json::value failed = validate("/Patient/$validate", bad);
  BOOST_TEST(severity(failed) == "error");
  BOOST_TEST(expression(failed) == "Patient.birthDate");
  BOOST_TEST(expression(validate("/Patient/$validate", seed("observation-f001.json"))) ==
             "resourceType");
  // Nothing was stored.
  BOOST_TEST(body_json(f.get(kBase + "/Patient?_summary=count")).at("total").as_int64() == 0);

  // mode=create: the checks of a POST (a taken FHIR id, an unknown subject).
  BOOST_TEST(severity(validate("/Patient/$validate?mode=create", pat1)) == "information");
  BOOST_REQUIRE_EQUAL(f.post(kBase + "/Patient", pat1).result_int(), 201u);
  const json::value taken = validate(
      "/Patient/$validate", parameters({json::object{{"name", "resource"}, {"resource", pat1}},
                                        json::object{{"name", "mode"}, {"valueCode", "create"}}}));
  BOOST_TEST(str(taken.at("issue").at(0), {"code"}) == "duplicate");
  BOOST_TEST(expression(taken) == "Patient.id");
  json::value obs = with_subject(seed("observation-f001.json"), "Patient/pat1");
  BOOST_TEST(severity(validate("/Observation/$validate?mode=create", obs)) == "information");
  BOOST_TEST(expression(validate("/Observation/$validate?mode=create",
                                 with_subject(obs, "Patient/nobody"))) == "Observation.subject");
  // In general, a reference is not looked up.
  BOOST_TEST(severity(validate("/Observation/$validate", with_subject(obs, "Patient/nobody"))) ==
             "information");

  // mode=update on the instance: the id must match, If-Match must name the version.
  BOOST_TEST(severity(validate("/Patient/pat1/$validate?mode=update", pat1)) == "information");
  json::value renamed = pat1;
  renamed.as_object()["id"] = "pat2";
  BOOST_TEST(expression(validate("/Patient/pat1/$validate?mode=update", renamed)) == "Patient.id");
  BOOST_TEST(
      str(validate("/Patient/pat1/$validate?mode=update", pat1, 200, "W/\"7\"").at("issue").at(0),
          {"severity"}) == "error");
  // An unknown id is an update-as-create.
  BOOST_TEST(severity(validate("/Patient/pat2/$validate?mode=update", renamed)) == "information");

  // mode=delete needs no resource; an unknown id is a finding.
  BOOST_TEST(
      severity(validate("/Patient/pat1/$validate",
                        parameters({json::object{{"name", "mode"}, {"valueCode", "delete"}}}))) ==
      "information");
  BOOST_TEST(
      str(validate("/Patient/nobody/$validate?mode=delete", json::object{}).at("issue").at(0),
          {"code"}) == "not-found");
  BOOST_TEST(f.get(kBase + "/Patient/pat1").result_int() == 200u);  // still there

  // Requests that cannot be validated: 400.
  validate("/Patient/$validate?mode=sideways", pat1, 400);
  validate("/Patient/$validate?mode=update", pat1, 400);  // an update needs the id
  validate("/Patient/$validate", parameters({}), 400);    // no resource
  validate("/Patient/$validate?profile=http://example.org/StructureDefinition/mine", pat1, 400);
  BOOST_TEST(severity(validate(
                 "/Patient/$validate?profile=http://hl7.org/fhir/StructureDefinition/Patient",
                 pat1)) == "information");
  BOOST_TEST(f.call(verb::get, kBase + "/Patient/$validate", &f.alice).result_int() == 405u);
  BOOST_TEST(f.call(verb::post, kBase + "/Patient/$validate", nullptr, json::serialize(pat1),
                    "application/fhir+json")
                 .result_int() == 401u);
}

// HEAD is GET without the body: same status and headers, Content-Length of the GET's body.
BOOST_AUTO_TEST_CASE(head_is_get_without_the_body) {
  ServerFixture f;
  const std::string id = create_pat1(f);
  for (const std::string& target :
       std::vector<std::string>{"/Patient/" + id, "/Patient?name=Donald", "/metadata"}) {
    BOOST_TEST_CONTEXT(target) {
      auto get = f.call(verb::get, kBase + target, &f.alice);
      auto head = f.call(verb::head, kBase + target, &f.alice);
      BOOST_TEST(head.result_int() == 200u);
      BOOST_TEST(head.body().empty());
      BOOST_TEST(head[http::field::content_type] == get[http::field::content_type]);
      BOOST_TEST(head[http::field::etag] == get[http::field::etag]);
      if (target != "/Patient?name=Donald")  // a searchset carries a fresh id and timestamp
        BOOST_TEST(head[http::field::content_length] == std::to_string(get.body().size()));
      else
        BOOST_TEST(!head[http::field::content_length].empty());
    }
  }
  BOOST_TEST(f.call(verb::head, kBase + "/Patient/nobody", &f.alice).result_int() == 404u);
  BOOST_TEST(f.call(verb::head, kBase + "/Patient/" + id, nullptr).result_int() == 401u);
}

// request.ifNoneMatch / ifModifiedSince on a Bundle's GET entries: the same
// conditional read, a 304 entry without the resource.
BOOST_AUTO_TEST_CASE(conditional_read_in_bundle_entries) {
  ServerFixture f;
  const std::string id = create_pat1(f);
  auto read = f.call(verb::get, kBase + "/Patient/" + id, &f.alice);
  const std::string last_updated = str(body_json(read), {"meta", "lastUpdated"});
  auto get_entry = [&](json::object conditions) {
    conditions["method"] = "GET";
    conditions["url"] = "Patient/" + id;
    return json::object{{"request", std::move(conditions)}};
  };
  for (const char* type : {"batch", "transaction"}) {
    BOOST_TEST_CONTEXT(type) {
      json::object bundle{
          {"resourceType", "Bundle"},
          {"type", type},
          {"entry",
           json::array{
               get_entry({{"ifNoneMatch", "W/\"1\""}}), get_entry({{"ifNoneMatch", "W/\"2\""}}),
               get_entry({{"ifModifiedSince", last_updated}}),
               get_entry({{"ifModifiedSince", "2000-01-01T00:00:00Z"}}),
               get_entry(
                   {{"ifNoneMatch", "W/\"2\""}, {"ifModifiedSince", "2100-01-01T00:00:00+01:00"}}),
               json::object{
                   {"request",
                    {{"method", "GET"}, {"url", "Patient?name=Donald"}, {"ifNoneMatch", "*"}}}}}}};
      auto res = f.call(verb::post, kBase, &f.alice, json::serialize(bundle));
      BOOST_REQUIRE_EQUAL(res.result_int(), 200u);
      const auto entries = body_json(res).at("entry").as_array();
      BOOST_REQUIRE_EQUAL(entries.size(), 6u);
      auto status = [&](std::size_t i) {
        return std::string(entries[i].at("response").at("status").as_string());
      };
      BOOST_TEST(status(0) == "304 Not Modified");
      BOOST_TEST(!entries[0].as_object().contains("resource"));
      BOOST_TEST(entries[0].at("response").at("etag").as_string() == "W/\"1\"");
      BOOST_TEST(status(1) == "200 OK");
      BOOST_TEST(entries[1].at("resource").at("id").as_string() == id);
      BOOST_TEST(status(2) == "304 Not Modified");  // lastUpdated as given back: not after it
      BOOST_TEST(status(3) == "200 OK");
      BOOST_TEST(status(4) == "200 OK");  // ifNoneMatch wins, as over HTTP
      BOOST_TEST(status(5) == "200 OK");  // a search has no version
    }
  }
  // Not an instant: the whole Bundle is refused, naming the field.
  json::object bad{{"resourceType", "Bundle"},
                   {"type", "batch"},
                   {"entry", json::array{get_entry({{"ifModifiedSince", "2026-12-03"}})}}};
  auto refused = f.call(verb::post, kBase, &f.alice, json::serialize(bad));
  BOOST_TEST(refused.result_int() == 400u);
  BOOST_TEST(refused.body().find("Bundle.entry[0].request.ifModifiedSince") != std::string::npos,
             refused.body());
}

BOOST_AUTO_TEST_CASE(update_of_an_id_that_names_nothing_creates_it) {
  ServerFixture f;
  const std::string pat1 = json::serialize(seed("patient-pat1.json"));  // id "pat1"
  auto put = [&](const std::string& url, const std::string& body, const Account* who) {
    return f.call(verb::put, kBase + url, who, body, "application/fhir+json");
  };
  // An If-Match cannot match a resource that does not exist; the body must
  // carry the URL id. Neither stores anything.
  auto guarded = f.call(verb::put, kBase + "/Patient/pat1", &f.alice, pat1, "application/fhir+json",
                        {{http::field::if_match, "W/\"1\""}});
  BOOST_TEST(guarded.result_int() == 412u);
  auto elsewhere = put("/Patient/pat2", pat1, &f.alice);
  BOOST_TEST(elsewhere.result_int() == 400u);
  BOOST_TEST(issue_field(elsewhere, "expression") == "Patient.id");
  BOOST_TEST(patient_search(f, "name=Donald").at("total").as_int64() == 0);

  auto created = put("/Patient/pat1", pat1, &f.alice);
  BOOST_REQUIRE_EQUAL(created.result_int(), 201u);
  const std::string id = str(body_json(created), {"id"});
  BOOST_TEST(
      std::string(created[http::field::location]).ends_with("/Patient/" + id + "/_history/1"));
  BOOST_TEST(str(body_json(f.get(kBase + "/Patient/pat1")), {"id"}) == id);
  // The same PUT again is an update of what it created.
  auto again = put("/Patient/pat1", pat1, &f.alice);
  BOOST_REQUIRE_EQUAL(again.result_int(), 200u);
  BOOST_TEST(str(body_json(again), {"id"}) == id);
  BOOST_TEST(str(body_json(again), {"meta", "versionId"}) == "2");

  // Observations too, with their subject resolved as on create.
  const std::string obs =
      json::serialize(with_subject(seed("observation-f001.json"), "Patient/pat1"));  // id "f001"
  auto obs_created = put("/Observation/f001", obs, &f.alice);
  BOOST_REQUIRE_EQUAL(obs_created.result_int(), 201u);
  BOOST_TEST(str(body_json(obs_created), {"subject", "reference"}) == "Patient/" + id);
  BOOST_TEST(f.get(kBase + "/Observation/f001").result_int() == 200u);

  // Bob's PUT of pat1 creates his own; Alice's is untouched.
  auto bobs = put("/Patient/pat1", pat1, &f.bob);
  BOOST_REQUIRE_EQUAL(bobs.result_int(), 201u);
  BOOST_TEST(str(body_json(bobs), {"id"}) != id);
  BOOST_TEST(str(body_json(f.get(kBase + "/Patient/pat1")), {"id"}) == id);

  // A deleted resource's id is created afresh (version 1 of a new resource).
  BOOST_TEST(f.call(verb::delete_, kBase + "/Observation/f001", &f.alice).result_int() == 200u);
  BOOST_TEST(f.get(kBase + "/Observation/f001").result_int() == 410u);
  BOOST_TEST(f.get(kBase + "/Observation/" + str(body_json(obs_created), {"id"})).result_int() ==
             410u);
  auto recreated = put("/Observation/f001", obs, &f.alice);
  BOOST_REQUIRE_EQUAL(recreated.result_int(), 201u);
  BOOST_TEST(str(body_json(recreated), {"meta", "versionId"}) == "1");
}

BOOST_AUTO_TEST_CASE(transaction_put_of_new_ids_creates_them) {
  ServerFixture f;
  json::value pat = seed("patient-pat1.json");
  json::value obs = with_subject(seed("observation-f001.json"), "Patient/pat1");
  json::object bundle{
      {"resourceType", "Bundle"},
      {"type", "transaction"},
      {"entry",
       json::array{json::object{{"resource", obs},
                                {"request", {{"method", "PUT"}, {"url", "Observation/f001"}}}},
                   json::object{{"resource", pat},
                                {"request", {{"method", "PUT"}, {"url", "Patient/pat1"}}}}}}};
  auto first = f.post(kBase, bundle);
  BOOST_REQUIRE_EQUAL(first.result_int(), 200u);
  auto out = body_json(first);
  const auto& e = out.at("entry").as_array();
  BOOST_TEST(str(e[0], {"response", "status"}) == "201 Created");
  BOOST_TEST(str(e[1], {"response", "status"}) == "201 Created");
  // The patient PUT in the same bundle is the observation's subject.
  BOOST_TEST(str(e[0], {"resource", "subject", "reference"}) ==
             "Patient/" + str(e[1], {"resource", "id"}));
  // Replayed: both are updates now.
  auto second = f.post(kBase, bundle);
  BOOST_REQUIRE_EQUAL(second.result_int(), 200u);
  auto out2 = body_json(second);
  BOOST_TEST(str(out2.at("entry").at(0), {"response", "status"}) == "200 OK");
  BOOST_TEST(str(out2.at("entry").at(1), {"response", "status"}) == "200 OK");
  BOOST_TEST(patient_search(f, "name=Donald").at("total").as_int64() == 1);
  // If-Match on a PUT of a new id fails the whole transaction.
  json::value guarded = bundle;
  auto& entries = guarded.at("entry").as_array();
  entries[1].as_object()["resource"].as_object()["id"] = "pat3";
  entries[1].as_object()["request"] =
      json::object{{"method", "PUT"}, {"url", "Patient/pat3"}, {"ifMatch", "W/\"1\""}};
  BOOST_TEST(f.post(kBase, guarded).result_int() == 412u);
  BOOST_TEST(f.get(kBase + "/Patient/pat3").result_int() == 404u);
}

BOOST_AUTO_TEST_CASE(prefer_return_is_honoured) {
  ServerFixture f;
  auto minimal =
      f.call(verb::post, kBase + "/Patient", &f.alice, json::serialize(seed("patient-pat1.json")),
             "application/json", {{http::field::prefer, "return=minimal"}});
  BOOST_TEST(minimal.result_int() == 201u);
  BOOST_TEST(minimal.body().empty());
  BOOST_TEST(std::string(minimal[http::field::location])
                 .starts_with("http://fhir.test/rest/fhir/r4/Patient/"));
  BOOST_TEST(std::string(minimal[http::field::location]).ends_with("/_history/1"));
  json::value pat = seed("patient-pat1.json");
  pat.as_object()["id"] = "pat9";
  auto outcome = f.call(verb::post, kBase + "/Patient", &f.alice, json::serialize(pat),
                        "application/json", {{http::field::prefer, "return=OperationOutcome"}});
  BOOST_TEST(outcome.result_int() == 201u);
  BOOST_TEST(issue_field(outcome, "severity") == "information");
}

BOOST_AUTO_TEST_CASE(observation_subject_must_resolve) {
  ServerFixture f;
  const std::string patient_id = create_pat1(f);
  auto unknown = f.post(kBase + "/Observation", seed("observation-f001.json"));  // bare unknown id
  BOOST_TEST(unknown.result_int() == 400u);
  BOOST_TEST(issue_field(unknown, "expression") == "Observation.subject");
  for (const std::string& ref :
       {std::string("Patient/pat1"), patient_id, "Patient/" + patient_id, std::string("pat1")}) {
    json::value obs = with_subject(seed("observation-f001.json"), ref);
    obs.as_object().erase("id");
    auto created = f.post(kBase + "/Observation", obs);
    BOOST_TEST_INFO(ref);
    BOOST_TEST(created.result_int() == 201u);
    BOOST_TEST(str(body_json(created), {"subject", "reference"}) == "Patient/" + patient_id);
  }
}

BOOST_AUTO_TEST_CASE(another_users_patient_is_not_found) {
  ServerFixture f;
  const std::string id = create_pat1(f, &f.alice);
  BOOST_TEST(f.get(kBase + "/Patient/" + id, &f.bob).result_int() == 404u);
  BOOST_TEST(f.get(kBase + "/Patient/pat1", &f.bob).result_int() == 404u);
  BOOST_TEST(f.call(verb::delete_, kBase + "/Patient/" + id, &f.bob).result_int() == 404u);
  auto bobs = patient_search(f, "name=Donald", &f.bob);
  BOOST_TEST(bobs.at("total").as_int64() == 0);
  // Bob may create his own pat1.
  BOOST_TEST(f.post(kBase + "/Patient", seed("patient-pat1.json"), &f.bob).result_int() == 201u);
  BOOST_TEST(f.get(kBase + "/Patient/" + id, &f.alice).result_int() == 200u);
}

BOOST_AUTO_TEST_CASE(keychain_endpoint) {
  ServerFixture f({}, /*post_keys=*/false);
  const std::string path = "/rest/icdx/v1/keychain/";
  auto wrong_owner =
      f.call(verb::post, path + f.bob.hcp_id, &f.alice,
             json::serialize(json::object{{"key", f.bob.private_key_hex}}), "application/json");
  BOOST_TEST(wrong_owner.result_int() == 403u);
  auto mismatch =
      f.call(verb::post, path + f.alice.hcp_id, &f.alice,
             json::serialize(json::object{{"key", f.bob.private_key_hex}}), "application/json");
  BOOST_TEST(mismatch.result_int() == 400u);
  auto no_key = f.call(verb::post, path + f.alice.hcp_id, &f.alice, "{}", "application/json");
  BOOST_TEST(no_key.result_int() == 400u);
  BOOST_TEST(issue_field(no_key, "expression") == "key");
  BOOST_TEST(
      f.call(verb::post, path + f.alice.hcp_id, nullptr, "{}", "application/json").result_int() ==
      401u);

  // Before the key is posted, reading needs it: the error says which call to make.
  const auto create = f.post(kBase + "/Patient", seed("patient-pat1.json"));
  if (create.result_int() == 201u) {
    auto read = f.get(kBase + "/Patient/" + str(body_json(create), {"id"}));
    BOOST_TEST(read.result_int() == 403u);
    BOOST_TEST(issue_field(read, "diagnostics").find("/rest/icdx/v1/keychain/" + f.alice.hcp_id) !=
               std::string::npos);
  } else {
    BOOST_TEST(create.result_int() == 403u);
    BOOST_TEST(
        issue_field(create, "diagnostics").find("/rest/icdx/v1/keychain/" + f.alice.hcp_id) !=
        std::string::npos);
  }

  auto ok =
      f.call(verb::post, path + f.alice.hcp_id, &f.alice,
             json::serialize(json::object{{"key", f.alice.private_key_hex}}), "application/json");
  BOOST_TEST(ok.result_int() == 200u);
  BOOST_TEST(ok.body() == "true");
  BOOST_TEST(f.keychain.contains(f.alice.hcp_id));
}

// DELETE forgets the caller's key before its TTL; reads that had been served (and cached
// unsealed) need the key again at once.
BOOST_AUTO_TEST_CASE(keychain_delete_forgets_the_key) {
  ServerFixture f;
  const std::string path = "/rest/icdx/v1/keychain/";
  const std::string id = create_pat1(f);
  BOOST_TEST(f.get(kBase + "/Patient/" + id).result_int() == 200u);
  BOOST_TEST(f.call(verb::delete_, path + f.alice.hcp_id, nullptr).result_int() == 401u);
  BOOST_TEST(f.call(verb::delete_, path + f.alice.hcp_id, &f.bob).result_int() == 403u);
  BOOST_TEST(f.keychain.contains(f.alice.hcp_id));

  auto forgot = f.call(verb::delete_, path + f.alice.hcp_id, &f.alice);
  BOOST_TEST(forgot.result_int() == 204u);
  BOOST_TEST(forgot.body().empty());
  BOOST_TEST(!f.keychain.contains(f.alice.hcp_id));
  BOOST_TEST(f.keychain.contains(f.bob.hcp_id));
  auto read = f.get(kBase + "/Patient/" + id);
  BOOST_TEST(read.result_int() == 403u);
  BOOST_TEST(issue_field(read, "diagnostics").find(path + f.alice.hcp_id) != std::string::npos);
  auto search = f.get(kBase + "/Patient?name=Donald");
  BOOST_TEST(search.result_int() == 403u);
  BOOST_TEST(f.call(verb::delete_, path + f.alice.hcp_id, &f.alice).result_int() == 204u);

  auto put = f.call(verb::put, path + f.alice.hcp_id, &f.alice, "{}", "application/json");
  BOOST_TEST(put.result_int() == 405u);
  BOOST_TEST(put[http::field::allow] == "POST, DELETE");
  auto again =
      f.call(verb::post, path + f.alice.hcp_id, &f.alice,
             json::serialize(json::object{{"key", f.alice.private_key_hex}}), "application/json");
  BOOST_TEST(again.result_int() == 200u);
  BOOST_TEST(f.get(kBase + "/Patient/" + id).result_int() == 200u);
}

BOOST_AUTO_TEST_CASE(a_transaction_is_all_or_nothing) {
  ServerFixture f;
  json::value bundle = seed("bundle-transaction.json");
  auto& entries = bundle.as_object()["entry"].as_array();
  // Last entry invalid: its subject names nobody.
  auto res = f.post(kBase, bundle);
  BOOST_TEST(res.result_int() == 400u);
  BOOST_TEST(issue_field(res, "expression") == "Observation.subject");
  BOOST_TEST(issue_field(res, "diagnostics").find("Bundle.entry[1]") != std::string::npos);
  BOOST_TEST(patient_search(f, "name=Donald").at("total").as_int64() == 0);

  // Last entry invalid in its content: same.
  entries[1] = json::object{{"resource", with_subject(entries[1].at("resource"), "Patient/pat2")}};
  json::value broken = bundle;
  broken.at("entry").at(1).at("resource").as_object()["status"] = 42;
  BOOST_TEST(f.post(kBase, broken).result_int() == 400u);
  BOOST_TEST(patient_search(f, "name=Donald").at("total").as_int64() == 0);

  // Fixed: both stored, observation linked to the new patient.
  auto ok = f.post(kBase + "/", bundle);
  BOOST_REQUIRE_EQUAL(ok.result_int(), 200u);
  auto out = body_json(ok);
  BOOST_TEST(str(out, {"type"}) == "transaction-response");
  const auto& rentries = out.at("entry").as_array();
  BOOST_REQUIRE_EQUAL(rentries.size(), 2u);
  BOOST_TEST(str(rentries[0], {"response", "status"}) == "201 Created");
  BOOST_TEST(str(rentries[1], {"response", "status"}) == "201 Created");
  BOOST_TEST(str(rentries[0], {"response", "etag"}) == "W/\"1\"");
  const std::string pat2 = str(rentries[0], {"resource", "id"});
  BOOST_TEST(str(rentries[0], {"response", "location"}) == "Patient/" + pat2 + "/_history/1");
  BOOST_TEST(str(rentries[1], {"resource", "subject", "reference"}) == "Patient/" + pat2);
  BOOST_TEST(patient_search(f, "name=Donald").at("total").as_int64() == 1);
}

BOOST_AUTO_TEST_CASE(transaction_resolves_urn_uuid_references_whatever_the_order) {
  ServerFixture f;
  json::value obs =
      with_subject(seed("observation-f001.json"), "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a");
  json::value pat = seed("patient-pat1.json");
  json::object bundle{
      {"resourceType", "Bundle"},
      {"type", "transaction"},
      {"entry",
       json::array{json::object{{"resource", obs},
                                {"request", {{"method", "POST"}, {"url", "Observation"}}}},
                   json::object{{"fullUrl", "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"},
                                {"resource", pat},
                                {"request", {{"method", "POST"}, {"url", "Patient"}}}}}}};
  auto res = f.post(kBase, bundle);
  BOOST_REQUIRE_EQUAL(res.result_int(), 200u);
  auto out = body_json(res);
  const auto& e = out.at("entry").as_array();
  // Response entries keep the request order.
  BOOST_TEST(str(e[0], {"resource", "resourceType"}) == "Observation");
  BOOST_TEST(str(e[1], {"fullUrl"}) == "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a");
  BOOST_TEST(str(e[0], {"resource", "subject", "reference"}) ==
             "Patient/" + str(e[1], {"resource", "id"}));
}

// A batch's entries are independent (FHIR http.html#brules): an urn:uuid
// reference to another entry is that entry's 400, which says why; the patient
// is stored all the same.
BOOST_AUTO_TEST_CASE(a_batch_does_not_resolve_urn_uuid_references_between_its_entries) {
  ServerFixture f;
  const std::string urn = "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a";
  json::object bundle{
      {"resourceType", "Bundle"},
      {"type", "batch"},
      {"entry",
       json::array{json::object{{"fullUrl", urn},
                                {"resource", seed("patient-pat1.json")},
                                {"request", {{"method", "POST"}, {"url", "Patient"}}}},
                   json::object{{"resource", with_subject(seed("observation-f001.json"), urn)},
                                {"request", {{"method", "POST"}, {"url", "Observation"}}}}}}};
  auto res = f.post(kBase, bundle);
  BOOST_REQUIRE_EQUAL(res.result_int(), 200u);
  const auto out = body_json(res);
  const auto& e = out.at("entry").as_array();
  BOOST_REQUIRE_EQUAL(e.size(), 2u);
  BOOST_TEST(str(e[0], {"response", "status"}) == "201 Created");
  BOOST_TEST(str(e[1], {"response", "status"}) == "400 Bad Request");
  const auto& issue = e[1].at("response").at("outcome").at("issue").at(0);
  BOOST_TEST(str(issue, {"diagnostics"}).find("only between the entries of one transaction") !=
             std::string::npos);
  BOOST_TEST(issue.at("expression").at(0).as_string() == "Observation.subject");
  BOOST_TEST(patient_search(f, "name=Donald").at("total").as_int64() == 1);
}

BOOST_AUTO_TEST_CASE(a_batch_answers_each_entry) {
  ServerFixture f;
  json::object bundle{
      {"resourceType", "Bundle"},
      {"type", "batch"},
      {"entry",
       json::array{json::object{{"resource", seed("patient-pat1.json")},
                                {"request", {{"method", "POST"}, {"url", "Patient"}}}},
                   json::object{{"resource", seed("observation-f001.json")},
                                {"request", {{"method", "POST"}, {"url", "Observation"}}}},
                   json::object{{"request", {{"method", "GET"}, {"url", "Patient/pat1"}}}}}}};
  auto res = f.post(kBase, bundle);
  BOOST_REQUIRE_EQUAL(res.result_int(), 200u);
  auto out = body_json(res);
  BOOST_TEST(str(out, {"type"}) == "batch-response");
  const auto& e = out.at("entry").as_array();
  BOOST_TEST(str(e[0], {"response", "status"}) == "201 Created");
  BOOST_TEST(str(e[1], {"response", "status"}) == "400 Bad Request");
  BOOST_TEST(str(e[1], {"response", "outcome", "resourceType"}) == "OperationOutcome");
  BOOST_TEST(str(e[2], {"response", "status"}) == "200 OK");
  BOOST_TEST(str(e[2], {"resource", "id"}) == str(e[0], {"resource", "id"}));
}

BOOST_AUTO_TEST_CASE(conditional_delete_and_form_search) {
  ServerFixture f;
  create_pat1(f);
  auto form = f.call(verb::post, kBase + "/Patient/_search", &f.alice, "name=Donald",
                     "application/x-www-form-urlencoded");
  BOOST_TEST(form.result_int() == 200u);
  BOOST_TEST(body_json(form).at("total").as_int64() == 1);
  // The tutorial's "delete" is a GET: served as a search.
  BOOST_TEST(patient_search(f, "name=Donald").at("total").as_int64() == 1);
  BOOST_TEST(f.call(verb::delete_, kBase + "/Patient", &f.alice).result_int() ==
             400u);  // no criteria
  auto del = f.call(verb::delete_, kBase + "/Patient?name=Donald", &f.alice);
  BOOST_TEST(del.result_int() == 200u);
  BOOST_TEST(patient_search(f, "name=Donald").at("total").as_int64() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
