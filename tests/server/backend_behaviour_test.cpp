// ONE behavioural suite of FHIR API interactions, run against both backends
// (backend_world.hpp): the SQLite store, and the remote store talking over
// real HTTP to a second fhirbridge serving the iCure REST subset.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>
#include <vector>

#include "fhirbridge/crypto/primitives.hpp"
#include "server/backend_world.hpp"

namespace fhirbridge::test {
namespace {

namespace json = boost::json;
using http::verb;
const std::string kBase = "/rest/fhir/r4";

// Registers `name` twice: once per backend.
#define BEHAVIOUR_CASE(name)               \
  void name(World& w);                     \
  BOOST_AUTO_TEST_CASE(name##_on_sqlite) { \
    SqliteWorld w;                         \
    name(w);                               \
  }                                        \
  BOOST_AUTO_TEST_CASE(name##_on_remote) { \
    RemoteWorld w;                         \
    name(w);                               \
  }                                        \
  void name(World& w)

json::value patient(const std::string& fhir_id, const std::string& family, const std::string& given,
                    const std::string& birth_date, const std::string& mrn) {
  json::object p{
      {"resourceType", "Patient"},
      {"name",
       json::array{json::object{{"family", family}, {"given", json::array{json::string(given)}}}}},
      {"gender", "female"},
      {"birthDate", birth_date},
      {"identifier", json::array{json::object{{"system", "urn:oid:1.2.3"}, {"value", mrn}}}}};
  if (!fhir_id.empty()) p["id"] = fhir_id;
  return p;
}

std::string create(World& w, const json::value& resource, const Account& who) {
  auto res =
      w.post(kBase + "/" + std::string(resource.at("resourceType").as_string()), resource, &who);
  BOOST_TEST_INFO(w.name() << ": " << res.body());
  BOOST_REQUIRE_EQUAL(res.result_int(), 201u);
  return str(body_json(res), {"id"});
}

json::object search(World& w, const std::string& query, const Account& who) {
  auto res = w.get(kBase + "/" + query, &who);
  BOOST_TEST_INFO(w.name() << " " << query << ": " << res.body());
  BOOST_REQUIRE_EQUAL(res.result_int(), 200u);
  return body_json(res).as_object();
}

std::int64_t total(World& w, const std::string& query, const Account& who) {
  auto bundle = search(w, query, who);
  const auto* t = bundle.if_contains("total");
  return t && t->is_int64() ? t->as_int64() : -1;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(backend_behaviour)

BEHAVIOUR_CASE(create_read_vread_update_delete) {
  const std::string id = create(w, seed("patient-pat1.json"), w.alice);
  BOOST_TEST(id != "pat1");
  auto read = w.get(kBase + "/Patient/" + id, &w.alice);
  BOOST_REQUIRE_EQUAL(read.result_int(), 200u);
  BOOST_TEST(read[http::field::etag] == "W/\"1\"");
  BOOST_TEST(body_json(read).at("name").at(0).at("family").as_string() == "Donald");
  BOOST_TEST(w.get(kBase + "/Patient/" + id + "/_history/1", &w.alice).result_int() == 200u);
  BOOST_TEST(w.get(kBase + "/Patient/" + id + "/_history/7", &w.alice).result_int() == 404u);

  json::value update = body_json(read);
  update.as_object()["gender"] = "female";
  const std::string body = json::serialize(update);
  auto stale = w.call(verb::put, kBase + "/Patient/" + id, &w.alice, body, "application/fhir+json",
                      {{http::field::if_match, "W/\"9\""}});
  BOOST_TEST(stale.result_int() == 412u);
  auto updated = w.call(verb::put, kBase + "/Patient/" + id, &w.alice, body,
                        "application/fhir+json", {{http::field::if_match, "W/\"1\""}});
  BOOST_TEST_INFO(updated.body());
  BOOST_REQUIRE_EQUAL(updated.result_int(), 200u);
  BOOST_TEST(updated[http::field::etag] == "W/\"2\"");
  BOOST_TEST(str(body_json(w.get(kBase + "/Patient/" + id, &w.alice)), {"gender"}) == "female");
  // The sealed content (the photo, kept in the sealed residual) survives.
  BOOST_TEST(body_json(w.get(kBase + "/Patient/" + id, &w.alice)).as_object().contains("photo"));

  BOOST_TEST(w.call(verb::delete_, kBase + "/Patient/" + id, &w.alice).result_int() == 200u);
  BOOST_TEST(w.get(kBase + "/Patient/" + id, &w.alice).result_int() == 410u);
  // By its FHIR id: the SQLite store keeps the FHIR ids of what it deleted
  // (410); iCure's identifier filters do not return deleted patients (404).
  const unsigned gone = std::string(w.name()) == "remote" ? 404u : 410u;
  BOOST_TEST(w.get(kBase + "/Patient/pat1", &w.alice).result_int() == gone);
}

BEHAVIOUR_CASE(instance_history_shows_the_kept_versions_or_the_delete) {
  const std::string id = create(w, seed("patient-pat1.json"), w.alice);
  auto history = [&](const std::string& target, const Account& who, unsigned status = 200) {
    auto res = w.get(kBase + "/" + target, &who);
    BOOST_TEST_INFO(w.name() << " " << target << ": " << res.body());
    BOOST_REQUIRE_EQUAL(res.result_int(), status);
    return body_json(res);
  };
  const json::value created = history("Patient/" + id + "/_history", w.alice);
  BOOST_TEST(str(created, {"type"}) == "history");
  BOOST_TEST(created.at("total").as_int64() == 1);
  const json::value& first = created.at("entry").at(0);
  BOOST_TEST(str(first, {"request", "method"}) == "POST");
  BOOST_TEST(str(first, {"request", "url"}) == "Patient");
  BOOST_TEST(str(first, {"response", "status"}) == "201 Created");
  BOOST_TEST(str(first, {"response", "etag"}) == "W/\"1\"");
  BOOST_TEST(str(first, {"resource", "id"}) == id);
  BOOST_TEST(str(first, {"fullUrl"}).ends_with("/Patient/" + id));
  // By the FHIR id too; _since / _at that exclude the one version kept: empty.
  BOOST_TEST(history("Patient/pat1/_history", w.alice).at("total").as_int64() == 1);
  const json::value later = history("Patient/" + id + "/_history?_since=2999-01-01", w.alice);
  BOOST_TEST(later.at("total").as_int64() == 0);
  BOOST_TEST(!later.as_object().contains("entry"));
  BOOST_TEST(history("Patient/" + id + "/_history?_at=2001", w.alice).at("total").as_int64() == 0);
  BOOST_TEST(history("Patient/" + id + "/_history?_since=2001-01-01T00:00:00Z&_count=5", w.alice)
                 .at("total")
                 .as_int64() == 1);
  history("Patient/" + id + "/_history?_since=yesterday", w.alice, 400);
  history("Patient/" + id + "/_history", w.bob, 404);  // not shared with bob
  history("Patient/no-such-patient/_history", w.alice, 404);
  BOOST_TEST(w.post(kBase + "/Patient/" + id + "/_history", seed("patient-pat1.json"), &w.alice)
                 .result_int() == 405u);

  json::value update = first.at("resource");
  update.as_object()["gender"] = "female";
  BOOST_REQUIRE_EQUAL(w.call(verb::put, kBase + "/Patient/" + id, &w.alice, json::serialize(update),
                             "application/fhir+json")
                          .result_int(),
                      200u);
  const json::value updated = history("Patient/" + id + "/_history", w.alice);
  const json::value& second = updated.at("entry").at(0);
  BOOST_TEST(str(second, {"request", "method"}) == "PUT");
  BOOST_TEST(str(second, {"request", "url"}) == "Patient/" + id);
  BOOST_TEST(str(second, {"resource", "gender"}) == "female");
  // SQLite keeps the replaced version until the delete (vread, history); iCure's REST
  // subset keeps the current one only (docs/remote.md).
  const bool keeps_versions = std::string(w.name()) == "sqlite";
  BOOST_TEST(updated.at("total").as_int64() == (keeps_versions ? 2 : 1));
  auto version1 = w.get(kBase + "/Patient/" + id + "/_history/1", &w.alice);
  BOOST_TEST(version1.result_int() == (keeps_versions ? 200u : 404u));
  const json::value metadata = body_json(w.get(kBase + "/metadata", &w.alice));
  for (const auto& resource : metadata.at("rest").at(0).at("resource").as_array())
    BOOST_TEST(resource.at("readHistory").as_bool() == keeps_versions);
  if (keeps_versions) {
    const json::value& older = updated.at("entry").at(1);
    BOOST_TEST(str(older, {"request", "method"}) == "POST");
    BOOST_TEST(str(older, {"resource", "gender"}) == "male");
    BOOST_TEST(str(older, {"resource", "meta", "versionId"}) == "1");
    BOOST_TEST(version1[http::field::etag] == "W/\"1\"");
    BOOST_TEST(str(body_json(version1), {"gender"}) == "male");
    BOOST_TEST(str(body_json(w.get(kBase + "/Patient/pat1/_history/1", &w.alice)), {"id"}) == id);
    const json::value at = history("Patient/" + id + "/_history?_at=2999", w.alice);
    BOOST_TEST(at.at("total").as_int64() == 1);  // the version current then: the newest
    BOOST_TEST(str(at.at("entry").at(0), {"resource", "gender"}) == "female");
    BOOST_TEST(
        history("Patient/" + id + "/_history?_count=1", w.alice).at("entry").as_array().size() ==
        1u);
  }
  auto version2 = w.get(kBase + "/Patient/" + id + "/_history/2", &w.alice);
  BOOST_REQUIRE_EQUAL(version2.result_int(), 200u);
  BOOST_TEST(str(body_json(version2), {"gender"}) == "female");
  BOOST_TEST(w.get(kBase + "/Patient/" + id + "/_history/3", &w.alice).result_int() == 404u);
  BOOST_TEST(w.get(kBase + "/Patient/" + id + "/_history/x", &w.alice).result_int() == 404u);
  BOOST_TEST(w.get(kBase + "/Patient/" + id + "/_history/1", &w.bob).result_int() == 404u);

  BOOST_TEST(w.call(verb::delete_, kBase + "/Patient/" + id, &w.alice).result_int() == 200u);
  const json::value deleted = history("Patient/" + id + "/_history", w.alice);
  const json::value& gone = deleted.at("entry").at(0);
  BOOST_TEST(str(gone, {"request", "method"}) == "DELETE");
  BOOST_TEST(str(gone, {"request", "url"}) == "Patient/" + id);
  BOOST_TEST(str(gone, {"response", "etag"}) == "W/\"3\"");
  BOOST_TEST(!str(gone, {"response", "lastModified"}).empty());
  BOOST_TEST(!gone.as_object().contains("resource"));
  history("Patient/" + id + "/_history", w.bob, 404);  // bob never read it

  const std::string other = create(w, patient("", "Other", "Ann", "1980-02-03", "mrn-h"), w.alice);
  const std::string obs =
      create(w, with_subject(seed("observation-f001.json"), "Patient/" + other), w.alice);
  auto method_of = [&](const std::string& target) {
    const json::value bundle = history(target, w.alice);
    return str(bundle.at("entry").at(0), {"request", "method"});
  };
  BOOST_TEST(method_of("Observation/" + obs + "/_history") == "POST");
  BOOST_TEST(w.call(verb::delete_, kBase + "/Observation/" + obs, &w.alice).result_int() == 200u);
  BOOST_TEST(method_of("Observation/" + obs + "/_history") == "DELETE");
}

BEHAVIOUR_CASE(type_history_pages_what_changed) {
  std::vector<std::string> ids;
  for (const char* mrn : {"mrn-t1", "mrn-t2", "mrn-t3"})
    ids.push_back(create(w, patient("", "Hist", "Ory", "1980-02-03", mrn), w.alice));
  BOOST_TEST(w.call(verb::delete_, kBase + "/Patient/" + ids[0], &w.alice).result_int() == 200u);
  json::value changed = body_json(w.get(kBase + "/Patient/" + ids[1], &w.alice));
  changed.as_object()["gender"] = "female";
  BOOST_REQUIRE_EQUAL(w.call(verb::put, kBase + "/Patient/" + ids[1], &w.alice,
                             json::serialize(changed), "application/fhir+json")
                          .result_int(),
                      200u);
  std::vector<std::string> seen;
  std::string target = kBase + "/Patient/_history?_count=1";
  for (int pages = 0; pages < 10 && !target.empty(); ++pages) {
    const json::object bundle =
        search(w, target.substr(target.find(kBase) + kBase.size() + 1), w.alice);
    if (const auto* entries = bundle.if_contains("entry"))
      for (const auto& e : entries->as_array())
        seen.push_back(str(e, {"request", "method"}) + " " +
                       str(e, {"fullUrl"}).substr(str(e, {"fullUrl"}).rfind('/') + 1));
    target.clear();
    for (const auto& link : bundle.at("link").as_array())
      if (str(link, {"relation"}) == "next") target = str(link, {"url"});
  }
  std::set<std::string> expected{"PUT " + ids[1], "POST " + ids[2]};
  // SQLite lists its deletes and the version an update replaced; iCure's REST subset lists
  // no deleted entities and keeps no old versions (docs/remote.md).
  if (std::string(w.name()) == "sqlite") {
    expected.insert("DELETE " + ids[0]);
    expected.insert("POST " + ids[1]);
  }
  BOOST_TEST(std::set<std::string>(seen.begin(), seen.end()) == expected);
  BOOST_TEST(seen.size() == expected.size());
  const json::object none = search(w, "Patient/_history", w.bob);
  BOOST_TEST(!none.contains("entry"));
}

// pat1 with one observation, and another patient with one of its own.
struct PatientWithObservation {
  std::string id, obs;
};
PatientWithObservation pat1_and_another(World& w) {
  const std::string id = create(w, seed("patient-pat1.json"), w.alice);
  const std::string other = create(w, patient("", "Other", "Ann", "1980-02-03", "mrn-e"), w.alice);
  const std::string obs =
      create(w, with_subject(seed("observation-f001.json"), "Patient/pat1"), w.alice);
  json::value unrelated = with_subject(seed("observation-f001.json"), "Patient/" + other);
  unrelated.as_object().erase("id");
  create(w, unrelated, w.alice);
  return {id, obs};
}

BEHAVIOUR_CASE(patient_everything_returns_the_patient_and_its_observations) {
  const auto [id, obs] = pat1_and_another(w);
  const json::object bundle = search(w, "Patient/pat1/$everything", w.alice);
  BOOST_TEST(bundle.at("total").as_int64() == 2);
  const auto& entries = bundle.at("entry").as_array();
  BOOST_REQUIRE_EQUAL(entries.size(), 2u);
  BOOST_TEST(str(entries[0], {"resource", "id"}) == id);
  BOOST_TEST(str(entries[1], {"resource", "id"}) == obs);
  BOOST_TEST(w.get(kBase + "/Patient/" + id + "/$everything", &w.bob).result_int() == 404u);
}

BEHAVIOUR_CASE(patient_compartment_search_finds_the_patients_observations) {
  const auto [id, obs] = pat1_and_another(w);
  for (const std::string& patient_id : {std::string("pat1"), id}) {
    const json::object bundle = search(w, "Patient/" + patient_id + "/Observation", w.alice);
    BOOST_TEST(bundle.at("total").as_int64() == 1);
    BOOST_TEST(str(bundle.at("entry").at(0), {"resource", "id"}) == obs);
  }
  BOOST_TEST(search(w, "Patient/" + id + "/Observation", w.bob).at("total").as_int64() == 0);
}

BEHAVIOUR_CASE(element_filters_match_after_decryption) {
  create(w, seed("patient-pat1.json"), w.alice);
  json::value bp = read_json(shared_dir() / "fixtures/hl7/Observation-blood-pressure.json");
  const std::string pressure = create(w, with_subject(bp, "Patient/pat1"), w.alice);
  create(w, with_subject(seed("observation-f001.json"), "Patient/pat1"), w.alice);
  const json::object found =
      search(w, "Observation?component-code=http://loinc.org|8480-6&performer=Practitioner/example",
             w.alice);
  BOOST_TEST(found.at("total").as_int64() == 1);
  BOOST_TEST(str(found.at("entry").at(0), {"resource", "id"}) == pressure);
  BOOST_TEST(total(w, "Observation?category:missing=true", w.alice) == 1);
  BOOST_TEST(total(w, "Observation?component-code-value-quantity=8480-6$gt100", w.alice) == 1);
  BOOST_TEST(total(w, "Observation?component-code-value-quantity=8462-4$gt100", w.alice) == 0);
  BOOST_TEST(total(w, "Observation?code-value-quantity=15074-8$6.3", w.alice) == 1);
  BOOST_TEST(total(w, "Observation?code-value-quantity=15074-8$6.3", w.bob) == 0);
  BOOST_TEST(total(w, "Observation?component-code=8480-6", w.bob) == 0);
  const std::string f001 =
      create(w, read_json(shared_dir() / "fixtures/hl7/Patient-f001.json"), w.alice);
  const json::object by_phone = search(w, "Patient?phone=0648352638&address-city=amster", w.alice);
  BOOST_TEST(by_phone.at("total").as_int64() == 1);
  BOOST_TEST(str(by_phone.at("entry").at(0), {"resource", "id"}) == f001);
  BOOST_TEST(total(w, "Patient?phone=0648352638", w.bob) == 0);
}

BEHAVIOUR_CASE(validate_checks_as_the_write_would_and_stores_nothing) {
  auto outcome = [&](const std::string& target, const json::value& body) {
    auto res = w.post(kBase + target, body, &w.alice);
    BOOST_TEST_INFO(target << ": " << res.body());
    BOOST_REQUIRE_EQUAL(res.result_int(), 200u);
    const json::value parsed = body_json(res);
    return str(parsed.at("issue").at(0), {"code"});
  };
  const json::value pat1 = seed("patient-pat1.json");
  BOOST_TEST(outcome("/Patient/$validate?mode=create", pat1) == "informational");
  const std::string id = create(w, pat1, w.alice);
  BOOST_TEST(outcome("/Patient/$validate?mode=create", pat1) == "duplicate");
  BOOST_TEST(outcome("/Patient/" + id + "/$validate?mode=delete", json::object{}) ==
             "informational");
  const json::value obs = with_subject(seed("observation-f001.json"), "Patient/pat1");
  BOOST_TEST(outcome("/Observation/$validate?mode=create", obs) == "informational");
  BOOST_TEST(w.get(kBase + "/Observation/f001", &w.alice).result_int() == 404u);
}

BEHAVIOUR_CASE(fhir_ids_are_read_back_and_unique) {
  const std::string id = create(w, seed("patient-pat1.json"), w.alice);
  auto by_fhir_id = w.get(kBase + "/Patient/pat1", &w.alice);
  BOOST_REQUIRE_EQUAL(by_fhir_id.result_int(), 200u);
  BOOST_TEST(str(body_json(by_fhir_id), {"id"}) == id);
  auto dup = w.post(kBase + "/Patient", seed("patient-pat1.json"), &w.alice);
  BOOST_TEST(dup.result_int() == 409u);
  BOOST_TEST(issue_field(dup, "expression") == "Patient.id");

  const std::string obs =
      create(w, with_subject(seed("observation-f001.json"), "Patient/pat1"), w.alice);
  auto by_obs_fhir_id = w.get(kBase + "/Observation/f001", &w.alice);
  BOOST_REQUIRE_EQUAL(by_obs_fhir_id.result_int(), 200u);
  BOOST_TEST(str(body_json(by_obs_fhir_id), {"id"}) == obs);
  BOOST_TEST(str(body_json(by_obs_fhir_id), {"subject", "reference"}) == "Patient/" + id);
  auto dup_obs = w.post(kBase + "/Observation",
                        with_subject(seed("observation-f001.json"), "Patient/pat1"), &w.alice);
  BOOST_TEST(dup_obs.result_int() == 409u);

  // Observations: update with If-Match, then delete -> 410.
  auto read = w.get(kBase + "/Observation/" + obs, &w.alice);
  BOOST_REQUIRE_EQUAL(read.result_int(), 200u);
  json::value changed = body_json(read);
  changed.as_object()["status"] = "amended";
  auto updated =
      w.call(verb::put, kBase + "/Observation/" + obs, &w.alice, json::serialize(changed),
             "application/fhir+json", {{http::field::if_match, "W/\"1\""}});
  BOOST_TEST_INFO(updated.body());
  BOOST_TEST(updated.result_int() == 200u);
  BOOST_TEST(str(body_json(w.get(kBase + "/Observation/" + obs, &w.alice)), {"status"}) ==
             "amended");
  BOOST_TEST(w.call(verb::delete_, kBase + "/Observation/" + obs, &w.alice).result_int() == 200u);
  BOOST_TEST(w.get(kBase + "/Observation/" + obs, &w.alice).result_int() == 410u);
}

BEHAVIOUR_CASE(search_by_name_identifier_birthdate_code_and_patient) {
  const std::string a = create(w, patient("", "Lefèvre", "Élodie", "1980-04-02", "A1"), w.alice);
  const std::string b = create(w, patient("", "Lefort", "Marc", "1991-12-24", "B2"), w.alice);
  create(w, patient("", "Martin", "Anne", "2001-06-30", "C3"), w.alice);

  BOOST_TEST(total(w, "Patient?name=lefe", w.alice) == 1);
  BOOST_TEST(total(w, "Patient?family=lef", w.alice) == 2);
  BOOST_TEST(total(w, "Patient?given=elodie", w.alice) == 1);
  BOOST_TEST(total(w, "Patient?identifier=urn:oid:1.2.3|B2", w.alice) == 1);
  BOOST_TEST(total(w, "Patient?identifier=B2", w.alice) == 1);
  BOOST_TEST(total(w, "Patient?birthdate=ge1990-01-01", w.alice) == 2);
  BOOST_TEST(total(w, "Patient?birthdate=lt1990&family=lef", w.alice) == 1);
  BOOST_TEST(total(w, "Patient?birthdate=1980,2001-06", w.alice) == 2);  // OR
  BOOST_TEST(total(w, "Patient?birthdate=1980,2001-06&birthdate=ge1990", w.alice) == 1);
  BOOST_TEST(total(w, "Patient?gender=male", w.alice) == 0);
  BOOST_TEST(total(w, "Patient", w.alice) == 3);

  // Sorted, paged: same order and links on both backends.
  auto page1 = search(w, "Patient?_sort=-birthdate&_count=2", w.alice);
  BOOST_REQUIRE_EQUAL(page1.at("entry").as_array().size(), 2u);
  BOOST_TEST(page1.at("entry").at(1).at("resource").at("id").as_string() == b);
  std::string next;
  for (const auto& link : page1.at("link").as_array())
    if (link.at("relation").as_string() == "next") next = std::string(link.at("url").as_string());
  BOOST_REQUIRE(!next.empty());
  auto page2 = w.get(next.substr(next.find("/rest/fhir/r4")), &w.alice);
  BOOST_REQUIRE_EQUAL(page2.result_int(), 200u);
  BOOST_REQUIRE_EQUAL(body_json(page2).at("entry").as_array().size(), 1u);
  BOOST_TEST(body_json(page2).at("entry").at(0).at("resource").at("id").as_string() == a);

  json::value obs = with_subject(seed("observation-f001.json"), "Patient/" + a);
  obs.as_object().erase("id");
  create(w, obs, w.alice);
  json::value other = obs;
  other.as_object()["code"] = json::object{
      {"coding", json::array{json::object{{"system", "http://loinc.org"}, {"code", "8867-4"}}}}};
  other.as_object()["subject"] = json::object{{"reference", "Patient/" + b}};
  create(w, other, w.alice);

  BOOST_TEST(total(w, "Observation?code=http://loinc.org|15074-8", w.alice) == 1);
  BOOST_TEST(total(w, "Observation?code=8867-4", w.alice) == 1);
  BOOST_TEST(total(w, "Observation?date=1999,2013-04", w.alice) == 2);  // f001's date, both
  BOOST_TEST(total(w, "Observation?date=1999,ne2013", w.alice) == 0);
  BOOST_TEST(total(w, "Observation?patient=" + a, w.alice) == 1);
  BOOST_TEST(total(w, "Observation?subject=Patient/" + b + "&code=8867-4", w.alice) == 1);
  BOOST_TEST(total(w, "Observation?subject=Patient/" + b + "&code=15074-8", w.alice) == 0);
  BOOST_TEST(total(w, "Observation", w.alice) == 2);
}

BEHAVIOUR_CASE(search_by_last_updated) {
  auto last_updated = [&](const std::string& path) {
    auto res = w.get(kBase + "/" + path, &w.alice);
    BOOST_REQUIRE_EQUAL(res.result_int(), 200u);
    return std::string(body_json(res).at("meta").at("lastUpdated").as_string());
  };
  const std::string a = create(w, patient("", "Lastupdated", "Anna", "1980-04-02", "LU1"), w.alice);
  // Millisecond timestamps: a pause makes the second create strictly later.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const std::string b = create(w, patient("", "Lastupdated", "Bert", "1981-04-02", "LU2"), w.alice);
  const std::string at_a = last_updated("Patient/" + a), at_b = last_updated("Patient/" + b);
  BOOST_REQUIRE(at_a < at_b);
  auto ids = [&](const std::string& query) {
    std::vector<std::string> out;
    auto bundle = search(w, query, w.alice);
    if (const auto* e = bundle.if_contains("entry"))
      for (const auto& entry : e->as_array())
        out.emplace_back(entry.at("resource").at("id").as_string());
    std::sort(out.begin(), out.end());
    return out;
  };
  using Ids = std::vector<std::string>;
  const Ids both = [&] {
    Ids v{a, b};
    std::sort(v.begin(), v.end());
    return v;
  }();
  BOOST_TEST(ids("Patient?_lastUpdated=" + at_a) == Ids{a});
  BOOST_TEST(ids("Patient?_lastUpdated=gt" + at_a) == Ids{b});
  BOOST_TEST(ids("Patient?_lastUpdated=le" + at_a) == Ids{a});
  BOOST_TEST(ids("Patient?_lastUpdated=ge" + at_a + "&_lastUpdated=lt" + at_b) == Ids{a});
  BOOST_TEST(ids("Patient?_lastUpdated=ne" + at_a) == Ids{b});
  BOOST_TEST(ids("Patient?_lastUpdated=ge2000&family=lastupdated") == both);
  BOOST_TEST(ids("Patient?_lastUpdated=lt2000-01-01") == Ids{});
  // The same instant written in another zone.
  const std::string a_plus_one_hour =
      at_a.substr(0, 11) + std::to_string(std::stoi(at_a.substr(11, 2)) + 1 + 100).substr(1) +
      at_a.substr(13, 10) + "%2B01:00";
  if (at_a.substr(11, 2) != "23")
    BOOST_TEST(ids("Patient?_lastUpdated=" + a_plus_one_hour) == Ids{a});
  // Sorted newest first, as a sync client asks for changes.
  auto newest = search(w, "Patient?_lastUpdated=ge" + at_a + "&_sort=-_lastUpdated", w.alice);
  BOOST_TEST(newest.at("entry").at(0).at("resource").at("id").as_string() == b);

  // An update moves the patient past the other one.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto read = w.get(kBase + "/Patient/" + a, &w.alice);
  json::value changed = body_json(read);
  changed.as_object()["gender"] = "male";
  BOOST_REQUIRE_EQUAL(
      w.call(verb::put, kBase + "/Patient/" + a, &w.alice, json::serialize(changed)).result_int(),
      200u);
  BOOST_TEST(ids("Patient?_lastUpdated=gt" + at_b) == Ids{a});

  // Observations: the contact's modified time.
  json::value obs = with_subject(seed("observation-f001.json"), "Patient/" + a);
  obs.as_object().erase("id");
  const std::string o1 = create(w, obs, w.alice);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const std::string o2 = create(w, obs, w.alice);
  const std::string at_o1 = last_updated("Observation/" + o1);
  BOOST_TEST(ids("Observation?_lastUpdated=gt" + at_o1) == Ids{o2});
  BOOST_TEST(ids("Observation?_lastUpdated=le" + at_o1 + "&patient=" + a) == Ids{o1});

  auto bad = w.get(kBase + "/Patient?_lastUpdated=2026-13", &w.alice);
  BOOST_TEST(bad.result_int() == 400u);
  BOOST_TEST(bad.body().find("_lastUpdated") != std::string::npos);
}

// :missing, evaluated by each backend (SQLite's index tables, the remote's
// decrypted entities).
BEHAVIOUR_CASE(search_by_missing_elements) {
  const std::string full = create(w, patient("", "Present", "Paula", "1970-01-01", "PR1"), w.alice);
  const std::string bare =
      create(w, json::object{{"resourceType", "Patient"}, {"id", "bare-1"}}, w.alice);
  BOOST_TEST(total(w, "Patient?birthdate:missing=true", w.alice) == 1);
  BOOST_TEST(total(w, "Patient?identifier:missing=true", w.alice) == 1);  // the FHIR id is not one
  BOOST_TEST(total(w, "Patient?name:missing=false&gender:missing=false", w.alice) == 1);
  BOOST_TEST(search(w, "Patient?family:missing=true", w.alice)
                 .at("entry")
                 .at(0)
                 .at("resource")
                 .at("id")
                 .as_string() == bare);
  json::value obs = with_subject(seed("observation-f001.json"), "Patient/" + full);
  obs.as_object().erase("id");
  obs.as_object().erase("effectivePeriod");
  create(w, obs, w.alice);
  BOOST_TEST(total(w, "Observation?date:missing=true", w.alice) == 1);
  BOOST_TEST(total(w, "Observation?identifier:missing=false&code:missing=false", w.alice) == 1);
  BOOST_TEST(total(w, "Observation?subject:Patient.birthdate:missing=false", w.alice) == 1);
  // value-quantity:missing filters decrypted content (the seed has a valueQuantity).
  json::value coded = with_subject(seed("observation-f001.json"), "Patient/" + full);
  coded.as_object().erase("id");
  coded.as_object().erase("valueQuantity");
  coded.as_object()["valueString"] = "not measured";
  const std::string unmeasured = create(w, coded, w.alice);
  BOOST_TEST(total(w, "Observation?value-quantity:missing=false", w.alice) == 1);
  const json::object none = search(w, "Observation?value-quantity:missing=true", w.alice);
  BOOST_TEST(none.at("total").as_int64() == 1);
  BOOST_TEST(none.at("entry").at(0).at("resource").at("id").as_string() == unmeasured);
  BOOST_TEST(total(w, "Observation?value-quantity:missing=true&value-quantity:missing=false",
                   w.alice) == 0);
  BOOST_TEST(total(w, "Patient?_has:Observation:patient:value-quantity:missing=true", w.alice) ==
             1);
  BOOST_TEST(w.get(kBase + "/Observation?value-quantity:missing=maybe", &w.alice).result_int() ==
             400u);
}

BEHAVIOUR_CASE(a_transaction_is_all_or_nothing) {
  create(w, seed("patient-pat1.json"), w.alice);
  // A new patient, then one whose FHIR id exists: nothing is stored.
  json::object bundle{
      {"resourceType", "Bundle"},
      {"type", "transaction"},
      {"entry", json::array{json::object{{"resource", patient("newcomer", "Nouveau", "Jean",
                                                              "1970-01-01", "N1")},
                                         {"request", {{"method", "POST"}, {"url", "Patient"}}}},
                            json::object{{"resource", seed("patient-pat1.json")},
                                         {"request", {{"method", "POST"}, {"url", "Patient"}}}}}}};
  auto failed = w.post(kBase, bundle, &w.alice);
  BOOST_TEST_INFO(failed.body());
  BOOST_TEST(failed.result_int() == 409u);
  BOOST_TEST(total(w, "Patient?family=nouveau", w.alice) == 0);
  BOOST_TEST(w.get(kBase + "/Patient/newcomer", &w.alice).result_int() == 404u);

  // The tutorial's transaction goes through whole.
  json::value tutorial = seed("bundle-transaction.json");
  auto& entries = tutorial.as_object()["entry"].as_array();
  entries[1] = json::object{{"resource", with_subject(entries[1].at("resource"), "Patient/pat2")}};
  auto ok = w.post(kBase, tutorial, &w.alice);
  BOOST_TEST_INFO(ok.body());
  BOOST_REQUIRE_EQUAL(ok.result_int(), 200u);
  const auto out = body_json(ok);
  BOOST_REQUIRE_EQUAL(out.at("entry").as_array().size(), 2u);
  const std::string pat2 = str(out.at("entry").at(0), {"resource", "id"});
  BOOST_TEST(str(out.at("entry").at(1), {"resource", "subject", "reference"}) == "Patient/" + pat2);
  BOOST_TEST(total(w, "Observation?patient=" + pat2, w.alice) == 1);
}

// Conditional create (If-None-Exist) and conditional update (PUT Type?criteria),
// FHIR R4 http.html#ccreate / #cond-update, as HAPI FHIR and Medplum answer them.
BEHAVIOUR_CASE(conditional_create_and_update) {
  const std::string criteria = "identifier=urn:oid:1.2.3|mrn-7";
  const std::string marie = json::serialize(patient("", "Curie", "Marie", "1867-11-07", "mrn-7"));
  auto post_if_none = [&](const std::string& condition, const Account& who) {
    return w.call(verb::post, kBase + "/Patient", &who, marie, "application/fhir+json",
                  {{"If-None-Exist", condition}});
  };
  auto first = post_if_none(criteria, w.alice);
  BOOST_TEST_INFO(w.name() << ": " << first.body());
  BOOST_REQUIRE_EQUAL(first.result_int(), 201u);
  const std::string id = str(body_json(first), {"id"});
  for (const std::string& condition : {criteria, "Patient?" + criteria}) {
    auto again = post_if_none(condition, w.alice);
    BOOST_TEST_INFO(w.name() << " " << condition << ": " << again.body());
    BOOST_TEST(again.result_int() == 200u);
    BOOST_TEST(str(body_json(again), {"id"}) == id);
    BOOST_TEST(
        std::string(again[http::field::location]).ends_with("/Patient/" + id + "/_history/1"));
  }
  BOOST_TEST(total(w, "Patient?" + criteria, w.alice) == 1);
  BOOST_TEST(post_if_none(criteria, w.bob).result_int() == 201u);  // Bob cannot see Alice's

  const std::string irene =
      create(w, patient("", "Curie", "Irene", "1897-09-12", "mrn-8"), w.alice);
  auto two = post_if_none("family=Curie", w.alice);
  BOOST_TEST(two.result_int() == 412u);
  BOOST_TEST(issue_field(two, "code") == "multiple-matches");
  BOOST_TEST(post_if_none("colour=blue", w.alice).result_int() == 400u);  // never widened
  BOOST_TEST(post_if_none("Observation?code=x", w.alice).result_int() == 400u);
  BOOST_TEST(total(w, "Patient?family=Curie", w.alice) == 2);

  // One match: updated, with or without the id in the body; another id is 400.
  json::value changed = patient("", "Curie", "Marie", "1867-11-07", "mrn-7");
  changed.as_object()["gender"] = "other";
  auto put = [&](const std::string& query, const json::value& body) {
    return w.call(verb::put, kBase + "/Patient" + query, &w.alice, json::serialize(body));
  };
  auto updated = put("?" + criteria, changed);
  BOOST_TEST_INFO(w.name() << ": " << updated.body());
  BOOST_REQUIRE_EQUAL(updated.result_int(), 200u);
  BOOST_TEST(str(body_json(updated), {"id"}) == id);
  BOOST_TEST(str(body_json(updated), {"meta", "versionId"}) == "2");
  BOOST_TEST(str(body_json(updated), {"gender"}) == "other");
  changed.as_object()["id"] = id;
  BOOST_TEST(put("?" + criteria, changed).result_int() == 200u);
  changed.as_object()["id"] = irene;
  auto elsewhere = put("?" + criteria, changed);
  BOOST_TEST(elsewhere.result_int() == 400u);
  BOOST_TEST(issue_field(elsewhere, "expression") == "Patient.id");
  BOOST_TEST(str(body_json(w.get(kBase + "/Patient/" + id, &w.alice)), {"meta", "versionId"}) ==
             "3");

  // No match: created; several: 412; no criteria: 400.
  auto fresh = put("?identifier=urn:oid:1.2.3|mrn-9",
                   patient("", "Sklodowska", "Bronislawa", "1865-04-28", "mrn-9"));
  BOOST_TEST(fresh.result_int() == 201u);
  BOOST_TEST(put("?identifier=urn:oid:1.2.3|mrn-9",
                 patient("", "Sklodowska", "Bronislawa", "1865-04-28", "mrn-9"))
                 .result_int() == 200u);
  BOOST_TEST(total(w, "Patient?family=Sklodowska", w.alice) == 1);
  BOOST_TEST(put("?family=Curie", changed).result_int() == 412u);
  BOOST_TEST(w.call(verb::put, kBase + "/Patient?identifier=urn:oid:1.2.3|mrn-404", &w.alice,
                    json::serialize(patient("", "Nobody", "No", "1900-01-01", "mrn-404")),
                    "application/fhir+json", {{http::field::if_match, "W/\"1\""}})
                 .result_int() == 412u);
  BOOST_TEST(total(w, "Patient?family=Nobody", w.alice) == 0);
  BOOST_TEST(put("", changed).result_int() == 400u);
}

// The same in a transaction (the HL7 example Bundle has both): a found
// patient's fullUrl names it for the observations of the same Bundle.
BEHAVIOUR_CASE(conditional_entries_in_a_transaction) {
  const std::string marie =
      create(w, patient("", "Curie", "Marie", "1867-11-07", "mrn-7"), w.alice);
  auto observation_of = [](const std::string& reference) {
    json::value obs = with_subject(seed("observation-f001.json"), reference);
    obs.as_object().erase("id");
    return obs;
  };
  auto conditional_post = [](const std::string& full_url, json::value resource,
                             const std::string& criteria) {
    return json::object{
        {"fullUrl", full_url},
        {"resource", std::move(resource)},
        {"request", {{"method", "POST"}, {"url", "Patient"}, {"ifNoneExist", criteria}}}};
  };
  auto post = [](json::value resource) {
    return json::object{{"resource", std::move(resource)},
                        {"request", {{"method", "POST"}, {"url", "Observation"}}}};
  };
  json::value updated_marie = patient("", "Curie", "Marie", "1867-11-07", "mrn-7");
  updated_marie.as_object()["gender"] = "other";
  json::object bundle{
      {"resourceType", "Bundle"},
      {"type", "transaction"},
      {"entry",
       json::array{
           conditional_post("urn:uuid:0c3e0d3a-0000-4000-8000-000000000001",
                            patient("", "Curie", "Marie", "1867-11-07", "mrn-7"),
                            "identifier=urn:oid:1.2.3|mrn-7"),
           conditional_post("urn:uuid:0c3e0d3a-0000-4000-8000-000000000002",
                            patient("", "Joliot", "Frederic", "1900-03-19", "mrn-10"),
                            "identifier=urn:oid:1.2.3|mrn-10"),
           json::object{
               {"resource", updated_marie},
               {"request", {{"method", "PUT"}, {"url", "Patient?identifier=urn:oid:1.2.3|mrn-7"}}}},
           post(observation_of("urn:uuid:0c3e0d3a-0000-4000-8000-000000000001")),
           post(observation_of("urn:uuid:0c3e0d3a-0000-4000-8000-000000000002")),
           post(observation_of("Patient?identifier=urn:oid:1.2.3|mrn-7"))}}};
  auto ok = w.post(kBase, bundle, &w.alice);
  BOOST_TEST_INFO(w.name() << ": " << ok.body());
  BOOST_REQUIRE_EQUAL(ok.result_int(), 200u);
  const auto out = body_json(ok);
  const auto& entries = out.at("entry").as_array();
  BOOST_REQUIRE_EQUAL(entries.size(), 6u);
  BOOST_TEST(str(entries[0], {"response", "status"}) == "200 OK");
  BOOST_TEST(str(entries[0], {"resource", "id"}) == marie);
  BOOST_TEST(str(entries[1], {"response", "status"}) == "201 Created");
  const std::string frederic = str(entries[1], {"resource", "id"});
  BOOST_TEST(str(entries[2], {"response", "status"}) == "200 OK");
  BOOST_TEST(str(entries[2], {"resource", "id"}) == marie);
  BOOST_TEST(str(entries[2], {"resource", "gender"}) == "other");
  BOOST_TEST(str(entries[3], {"resource", "subject", "reference"}) == "Patient/" + marie);
  BOOST_TEST(str(entries[4], {"resource", "subject", "reference"}) == "Patient/" + frederic);
  // A conditional reference names the one patient its criteria match.
  BOOST_TEST(str(entries[5], {"resource", "subject", "reference"}) == "Patient/" + marie);
  BOOST_TEST(total(w, "Patient?family=Curie", w.alice) == 1);
  BOOST_TEST(total(w, "Observation?patient=" + marie, w.alice) == 2);

  // Outside transactions too; none or several matches are refused.
  auto conditional_subject = w.post(
      kBase + "/Observation", observation_of("Patient?identifier=urn:oid:1.2.3|mrn-10"), &w.alice);
  BOOST_TEST(conditional_subject.result_int() == 201u);
  BOOST_TEST(str(body_json(conditional_subject), {"subject", "reference"}) ==
             "Patient/" + frederic);
  auto nobody = w.post(kBase + "/Observation",
                       observation_of("Patient?identifier=urn:oid:1.2.3|none"), &w.alice);
  BOOST_TEST(nobody.result_int() == 400u);
  BOOST_TEST(issue_field(nobody, "expression") == "Observation.subject");
  auto several =
      w.post(kBase + "/Observation", observation_of("Patient?birthdate=lt1950"), &w.alice);
  BOOST_TEST(several.result_int() == 412u);
  BOOST_TEST(w.post(kBase + "/Observation", observation_of("Patient?"), &w.alice).result_int() ==
             400u);
  BOOST_TEST(w.post(kBase + "/Observation", observation_of("Patient?colour=blue"), &w.alice)
                 .result_int() == 400u);

  // Two entries with the same criteria are one patient, which a conditional
  // reference with those criteria names too (the store does not have it yet).
  const std::string mrn20 = "identifier=urn:oid:1.2.3|mrn-20";
  json::object twice{
      {"resourceType", "Bundle"},
      {"type", "transaction"},
      {"entry",
       json::array{
           conditional_post("urn:uuid:0c3e0d3a-0000-4000-8000-000000000006",
                            patient("", "Becquerel", "Henri", "1852-12-15", "mrn-20"), mrn20),
           conditional_post("urn:uuid:0c3e0d3a-0000-4000-8000-000000000007",
                            patient("", "Becquerel", "Henri", "1852-12-15", "mrn-20"),
                            "Patient?" + mrn20),
           post(observation_of("urn:uuid:0c3e0d3a-0000-4000-8000-000000000007")),
           post(observation_of("Patient?" + mrn20))}}};
  auto once = w.post(kBase, twice, &w.alice);
  BOOST_TEST_INFO(w.name() << ": " << once.body());
  BOOST_REQUIRE_EQUAL(once.result_int(), 200u);
  const auto once_out = body_json(once);
  const auto& once_entries = once_out.at("entry").as_array();
  const std::string henri = str(once_entries[0], {"resource", "id"});
  BOOST_TEST(str(once_entries[0], {"response", "status"}) == "201 Created");
  BOOST_TEST(str(once_entries[1], {"response", "status"}) == "200 OK");
  BOOST_TEST(str(once_entries[1], {"resource", "id"}) == henri);
  BOOST_TEST(str(once_entries[2], {"resource", "subject", "reference"}) == "Patient/" + henri);
  BOOST_TEST(str(once_entries[3], {"resource", "subject", "reference"}) == "Patient/" + henri);
  BOOST_TEST(total(w, "Patient?" + mrn20, w.alice) == 1);

  // Criteria matching two: the whole transaction is refused, nothing written.
  json::object ambiguous{
      {"resourceType", "Bundle"},
      {"type", "transaction"},
      {"entry",
       json::array{json::object{{"resource", patient("", "Nouveau", "Jean", "1970-01-01", "N1")},
                                {"request", {{"method", "POST"}, {"url", "Patient"}}}},
                   conditional_post("urn:uuid:0c3e0d3a-0000-4000-8000-000000000003",
                                    patient("", "Curie", "Eve", "1904-12-06", "mrn-11"),
                                    "birthdate=lt1950")}}};
  auto refused = w.post(kBase, ambiguous, &w.alice);
  BOOST_TEST_INFO(w.name() << ": " << refused.body());
  BOOST_TEST(refused.result_int() == 412u);
  BOOST_TEST(issue_field(refused, "code") == "multiple-matches");
  BOOST_TEST(total(w, "Patient?family=nouveau", w.alice) == 0);

  // In a batch each conditional entry is answered on its own.
  json::object batch{
      {"resourceType", "Bundle"},
      {"type", "batch"},
      {"entry", json::array{conditional_post("urn:uuid:0c3e0d3a-0000-4000-8000-000000000004",
                                             patient("", "Curie", "Marie", "1867-11-07", "mrn-7"),
                                             "identifier=urn:oid:1.2.3|mrn-7"),
                            conditional_post("urn:uuid:0c3e0d3a-0000-4000-8000-000000000005",
                                             patient("", "Curie", "Eve", "1904-12-06", "mrn-11"),
                                             "birthdate=lt1950")}}};
  auto answered = w.post(kBase, batch, &w.alice);
  BOOST_REQUIRE_EQUAL(answered.result_int(), 200u);
  const auto batch_out = body_json(answered);
  BOOST_TEST(str(batch_out.at("entry").at(0), {"response", "status"}) == "200 OK");
  BOOST_TEST(str(batch_out.at("entry").at(1), {"response", "status"}) == "412 Precondition Failed");
}

// PATCH with a JSON Patch (RFC 6902), by store id or FHIR id, as fhir-kit-client sends it.
BEHAVIOUR_CASE(json_patch) {
  const std::string id =
      create(w, patient("kit-patch", "Curie", "Marie", "1867-11-07", "mrn-7"), w.alice);
  auto patch = [&](const std::string& target, const std::string& ops,
                   std::initializer_list<Header> headers = {}) {
    return w.call(verb::patch, kBase + target, &w.alice, ops, "application/json-patch+json",
                  headers);
  };
  auto version = [&] {
    return str(body_json(w.get(kBase + "/Patient/" + id, &w.alice)), {"meta", "versionId"});
  };
  auto changed = patch("/Patient/" + id, R"([{"op":"replace","path":"/gender","value":"other"},
                                             {"op":"add","path":"/name/0/given/-","value":"Salomea"}])");
  BOOST_TEST_INFO(w.name() << ": " << changed.body());
  BOOST_REQUIRE_EQUAL(changed.result_int(), 200u);
  const auto body = body_json(changed);
  BOOST_TEST(str(body, {"id"}) == id);
  BOOST_TEST(str(body, {"meta", "versionId"}) == "2");
  BOOST_TEST(changed[http::field::etag] == "W/\"2\"");
  BOOST_TEST(str(body, {"gender"}) == "other");
  BOOST_TEST(body.at("name").at(0).at("given").as_array().size() == 2u);
  auto by_fhir_id = patch("/Patient/kit-patch", R"([{"op":"test","path":"/gender","value":"other"},
                                                    {"op":"remove","path":"/name/0/given/1"}])");
  BOOST_TEST(by_fhir_id.result_int() == 200u);
  BOOST_TEST(version() == "3");

  // Refused, and nothing stored: a failed test, a stale If-Match, another id,
  // a patch that breaks the resource, the wrong Content-Type.
  auto failed = patch("/Patient/" + id, R"([{"op":"test","path":"/gender","value":"male"},
                                            {"op":"replace","path":"/gender","value":"male"}])");
  BOOST_TEST(failed.result_int() == 400u);
  BOOST_TEST(issue_field(failed, "expression") == "patch[0].value");
  auto stale = patch("/Patient/" + id, R"([{"op":"replace","path":"/gender","value":"male"}])",
                     {{http::field::if_match, "W/\"1\""}});
  BOOST_TEST(stale.result_int() == 412u);
  auto other_id = patch("/Patient/" + id, R"([{"op":"replace","path":"/id","value":"someone"}])");
  BOOST_TEST(other_id.result_int() == 400u);
  BOOST_TEST(issue_field(other_id, "expression") == "Patient.id");
  auto broken =
      patch("/Patient/" + id, R"([{"op":"replace","path":"/birthDate","value":"1867-13"}])");
  BOOST_TEST(broken.result_int() == 400u);
  BOOST_TEST(issue_field(broken, "expression") == "Patient.birthDate");
  BOOST_TEST(w.call(verb::patch, kBase + "/Patient/" + id, &w.alice,
                    R"([{"op":"remove","path":"/gender"}])", "application/fhir+json")
                 .result_int() == 415u);
  BOOST_TEST(version() == "3");
  BOOST_TEST(patch("/Patient/nobody", "[]").result_int() == 404u);
  BOOST_TEST(
      w.call(verb::patch, kBase + "/Patient/" + id, &w.bob, "[]", "application/json-patch+json")
          .result_int() == 404u);

  json::value obs = with_subject(seed("observation-f001.json"), "Patient/" + id);
  const std::string observation = create(w, obs, w.alice);
  auto value = patch("/Observation/" + observation,
                     R"([{"op":"replace","path":"/valueQuantity/value","value":7.1}])");
  BOOST_TEST_INFO(w.name() << ": " << value.body());
  BOOST_REQUIRE_EQUAL(value.result_int(), 200u);
  BOOST_TEST(body_json(value).at("valueQuantity").at("value").to_number<double>() == 7.1);
  BOOST_TEST(str(body_json(value), {"meta", "versionId"}) == "2");
}

// PATCH <Type>?criteria, and PATCH entries in Bundles: a Binary holding the
// JSON Patch (contentType application/json-patch+json, base64 data).
BEHAVIOUR_CASE(conditional_patch_and_patch_entries) {
  const std::string id =
      create(w, patient("", "Noether", "Emmy", "1882-03-23", "mrn-noether"), w.alice);
  const std::string criteria = "/Patient?identifier=urn:oid:1.2.3|mrn-noether";
  auto patch = [&](const std::string& target, const std::string& ops) {
    return w.call(verb::patch, kBase + target, &w.alice, ops, "application/json-patch+json");
  };
  auto gender = [&] {
    return str(body_json(w.get(kBase + "/Patient/" + id, &w.alice)), {"gender"});
  };
  auto by_criteria = patch(criteria, R"([{"op":"replace","path":"/gender","value":"other"}])");
  BOOST_TEST_INFO(w.name() << ": " << by_criteria.body());
  BOOST_REQUIRE_EQUAL(by_criteria.result_int(), 200u);
  BOOST_TEST(str(body_json(by_criteria), {"id"}) == id);
  BOOST_TEST(gender() == "other");
  BOOST_TEST(patch("/Patient?identifier=urn:oid:1.2.3|nobody", "[]").result_int() == 404u);
  create(w, patient("", "Noether", "Fritz", "1884-10-07", "mrn-fritz"), w.alice);
  BOOST_TEST(patch("/Patient?family=noether", "[]").result_int() == 412u);
  BOOST_TEST(patch("/Patient?unknown=1", "[]").result_int() == 400u);

  auto binary = [](const std::string& ops) {
    const std::string data =
        crypto::to_base64(reinterpret_cast<const std::uint8_t*>(ops.data()), ops.size());
    return json::object{
        {"resourceType", "Binary"}, {"contentType", "application/json-patch+json"}, {"data", data}};
  };
  auto patch_entry = [&](const std::string& url, const std::string& ops) {
    return json::object{{"resource", binary(ops)},
                        {"request", {{"method", "PATCH"}, {"url", url}}}};
  };
  for (const char* type : {"transaction", "batch"}) {
    const std::string value = std::string(type) == "batch" ? "female" : "male";
    json::object bundle{
        {"resourceType", "Bundle"},
        {"type", type},
        {"entry",
         json::array{patch_entry("Patient/" + id, R"([{"op":"replace","path":"/gender","value":")" +
                                                      value + R"("}])"),
                     patch_entry("Patient?identifier=urn:oid:1.2.3|mrn-fritz",
                                 R"([{"op":"add","path":"/active","value":false}])")}}};
    auto res = w.post(kBase, bundle, &w.alice);
    BOOST_TEST_INFO(w.name() << " " << type << ": " << res.body());
    BOOST_REQUIRE_EQUAL(res.result_int(), 200u);
    const json::value answer = body_json(res);
    for (std::size_t i = 0; i < 2; ++i)
      BOOST_TEST(answer.at("entry").at(i).at("response").at("status").as_string() == "200 OK");
    BOOST_TEST(gender() == value);
  }
  // A transaction with a bad patch writes nothing; a batch fails that entry only.
  json::object bad{
      {"resourceType", "Bundle"},
      {"type", "transaction"},
      {"entry",
       json::array{
           patch_entry("Patient/" + id, R"([{"op":"replace","path":"/gender","value":"unknown"}])"),
           patch_entry("Patient/" + id, R"([{"op":"test","path":"/gender","value":"male"}])")}}};
  auto refused = w.post(kBase, bad, &w.alice);
  BOOST_TEST(refused.result_int() == 400u);
  BOOST_TEST(refused.body().find("Bundle.entry[1]") != std::string::npos, refused.body());
  BOOST_TEST(gender() == "female");
  // Two entries that change the same resource: neither overwrites the other.
  json::object twice{
      {"resourceType", "Bundle"},
      {"type", "transaction"},
      {"entry",
       json::array{
           patch_entry("Patient/" + id, R"([{"op":"replace","path":"/gender","value":"male"}])"),
           patch_entry("Patient/" + id, R"([{"op":"add","path":"/active","value":false}])")}}};
  auto conflicting = w.post(kBase, twice, &w.alice);
  BOOST_TEST(conflicting.result_int() == 412u, conflicting.body());
  BOOST_TEST(gender() == "female");
  bad["type"] = "batch";
  json::array& entries = bad["entry"].as_array();
  entries[1].as_object()["resource"] = json::object{{"resourceType", "Parameters"}};
  auto partial = w.post(kBase, bad, &w.alice);
  BOOST_REQUIRE_EQUAL(partial.result_int(), 200u);
  const json::value partial_answer = body_json(partial);
  BOOST_TEST(partial_answer.at("entry").at(0).at("response").at("status").as_string() == "200 OK");
  const auto& fhirpath = partial_answer.at("entry").at(1).at("response");
  BOOST_TEST(fhirpath.at("status").as_string() == "400 Bad Request");
  BOOST_TEST(fhirpath.at("outcome").at("issue").at(0).at("code").as_string() == "not-supported");
  BOOST_TEST(gender() == "unknown");
}

// _include=Observation:subject and _revinclude=Observation:subject: the
// included resources come once each, with search.mode "include", outside total.
BEHAVIOUR_CASE(include_and_revinclude_the_subject) {
  const std::string marie =
      create(w, patient("", "Curie", "Marie", "1867-11-07", "mrn-7"), w.alice);
  const std::string irene =
      create(w, patient("", "Curie", "Irene", "1897-09-12", "mrn-8"), w.alice);
  create(w, patient("", "Joliot", "Frederic", "1900-03-19", "mrn-10"), w.alice);  // no observation
  for (const std::string& subject : {marie, marie, irene}) {
    json::value obs = with_subject(seed("observation-f001.json"), "Patient/" + subject);
    obs.as_object().erase("id");
    create(w, obs, w.alice);
  }
  // "Observation/3, Patient/2": the entries by search mode.
  auto modes = [](const json::object& bundle) {
    std::map<std::string, std::vector<std::string>> out;
    if (const auto* entries = bundle.if_contains("entry"))
      for (const auto& e : entries->as_array())
        out[str(e, {"search", "mode"})].push_back(str(e, {"resource", "resourceType"}) + "/" +
                                                  str(e, {"resource", "id"}));
    return out;
  };
  auto all = search(w, "Observation?_include=Observation:subject", w.alice);
  BOOST_TEST(all.at("total").as_int64() == 3);
  auto by_mode = modes(all);
  BOOST_TEST(by_mode["match"].size() == 3u);
  std::vector<std::string> included = by_mode["include"];
  std::sort(included.begin(), included.end());
  std::vector<std::string> expected{"Patient/" + marie, "Patient/" + irene};
  std::sort(expected.begin(), expected.end());
  BOOST_TEST(included == expected, boost::test_tools::per_element());
  BOOST_TEST(std::string(all.at("link").at(0).at("url").as_string()).find("_include=") !=
             std::string::npos);

  auto marie_only =
      modes(search(w, "Observation?patient=" + marie + "&_include=Observation:patient", w.alice));
  BOOST_TEST(marie_only["match"].size() == 2u);
  BOOST_TEST(marie_only["include"] == std::vector<std::string>{"Patient/" + marie},
             boost::test_tools::per_element());
  auto one_page = modes(search(w, "Observation?_include=Observation:subject&_count=1", w.alice));
  BOOST_TEST(one_page["match"].size() == 1u);
  BOOST_TEST(one_page["include"].size() == 1u);

  auto rev = search(w, "Patient?_revinclude=Observation:subject&_sort=birthdate", w.alice);
  BOOST_TEST(rev.at("total").as_int64() == 3);
  auto rev_modes = modes(rev);
  BOOST_TEST(rev_modes["match"].size() == 3u);
  BOOST_TEST(rev_modes["include"].size() == 3u);
  BOOST_TEST(
      modes(search(w, "Patient?family=Joliot&_revinclude=Observation:patient", w.alice))["include"]
          .empty());
  BOOST_TEST(search(w, "Patient?_summary=count&_revinclude=Observation:subject", w.alice)
                 .contains("entry") == false);

  // What we cannot follow: a warning when lenient, 400 when strict.
  auto lenient = search(w, "Patient?_include=Patient:general-practitioner", w.alice);
  BOOST_TEST(modes(lenient)["outcome"].size() == 1u);
  BOOST_TEST(modes(lenient)["match"].size() == 3u);
  auto strict = w.call(verb::get, kBase + "/Observation?_revinclude=Observation:subject", &w.alice,
                       {}, "application/fhir+json", {{http::field::prefer, "handling=strict"}});
  BOOST_TEST(strict.result_int() == 400u);
  BOOST_TEST(issue_field(strict, "expression") == "_revinclude");
  // Bob sees none of it.
  BOOST_TEST(modes(search(w, "Observation?_include=Observation:subject", w.bob)).empty());
}

BEHAVIOUR_CASE(users_are_isolated) {
  const std::string id = create(w, seed("patient-pat1.json"), w.alice);
  BOOST_TEST(w.get(kBase + "/Patient/" + id, &w.bob).result_int() == 404u);
  BOOST_TEST(w.get(kBase + "/Patient/pat1", &w.bob).result_int() == 404u);
  BOOST_TEST(w.call(verb::delete_, kBase + "/Patient/" + id, &w.bob).result_int() == 404u);
  BOOST_TEST(total(w, "Patient?name=Donald", w.bob) == 0);
  BOOST_TEST(total(w, "Patient", w.bob) == 0);
  // Bob may create his own pat1.
  BOOST_TEST(w.post(kBase + "/Patient", seed("patient-pat1.json"), &w.bob).result_int() == 201u);
  BOOST_TEST(w.get(kBase + "/Patient/" + id, &w.alice).result_int() == 200u);
  BOOST_TEST(total(w, "Patient", w.alice) == 1);

  BOOST_TEST(w.get(kBase + "/Patient", nullptr).result_int() == 401u);
  Account wrong = w.alice;
  wrong.password = "not-the-password";
  BOOST_TEST(w.get(kBase + "/Patient", &wrong).result_int() == 401u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace fhirbridge::test
