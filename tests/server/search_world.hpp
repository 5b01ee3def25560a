// Shared FHIR search scenario: four patients and four observations created
// through the mappings into any Store, and the checks every store must pass.
#pragma once

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "fhirbridge/mapping/context.hpp"
#include "fhirbridge/mapping/observation.hpp"
#include "fhirbridge/mapping/patient.hpp"
#include "fhirbridge/server/search.hpp"
#include "fhirbridge/storage/store.hpp"

namespace fhirbridge::test {

using Ids = std::vector<std::string>;

struct SearchWorld {
  storage::Store& store;
  storage::Principal who{"hcp-1", "user-1"};
  mapping::MappingContext ctx = mapping::make_fixed_context();
  server::SearchOptions options;
  std::map<std::string, std::string> fhir_id_of;   // store id -> FHIR id
  std::map<std::string, std::string> store_id_of;  // FHIR id -> store id

  explicit SearchWorld(storage::Store& s) : store(s) {
    options.base_url = "http://localhost/rest/fhir/r4";
  }

  static boost::json::object parse(std::string_view text) {
    return boost::json::parse(text).as_object();
  }

  void add_patient(const boost::json::object& fhir) {
    auto mapped = mapping::fhir_patient_to_icure(fhir, ctx);
    BOOST_REQUIRE_MESSAGE(mapped.ok(), mapped.status().to_string());
    auto created = store.create_patient(who, *mapped);
    BOOST_REQUIRE_MESSAGE(created.ok(), created.status().to_string());
    std::string fhir_id(fhir.at("id").as_string());
    fhir_id_of[*created->id] = fhir_id;
    store_id_of[fhir_id] = *created->id;
  }

  void add_observation(const boost::json::object& fhir, const std::string& patient_fhir_id) {
    auto mapped = mapping::fhir_observation_to_icure(fhir, ctx);
    BOOST_REQUIRE_MESSAGE(mapped.ok(), mapped.status().to_string());
    auto created = store.create_contact(who, mapped->contact, store_id_of.at(patient_fhir_id));
    BOOST_REQUIRE_MESSAGE(created.ok(), created.status().to_string());
    std::string fhir_id(fhir.at("id").as_string());
    fhir_id_of[*created->contact.id] = fhir_id;
    store_id_of[fhir_id] = *created->contact.id;
  }

  void populate() {
    add_patient(parse(R"({"resourceType":"Patient","id":"pat1","active":true,"gender":"male",
      "birthDate":"1974-12-25","identifier":[{"system":"urn:oid:mr","value":"123456"}],
      "name":[{"use":"official","family":"Duck","given":["Donald","D"]}]})"));
    add_patient(parse(R"({"resourceType":"Patient","id":"pat2","active":true,"gender":"female",
      "birthDate":"1980-03","identifier":[{"system":"urn:oid:mr","value":"654321"}],
      "name":[{"family":"Duck","given":["Daisy"]}]})"));
    add_patient(parse(R"({"resourceType":"Patient","id":"pat3","active":false,"gender":"male",
      "birthDate":"1928","name":[{"family":"Mouse","given":["Mickey"]}]})"));
    add_patient(parse(R"({"resourceType":"Patient","id":"pat4","gender":"other","active":true,
      "name":[{"family":"Goofy"}]})"));

    add_observation(parse(R"({"resourceType":"Observation","id":"f001","status":"final",
      "meta":{"tag":[{"system":"urn:tags","code":"vip"}]},
      "identifier":[{"use":"official","system":"urn:lab","value":"6323"}],
      "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
      "code":{"coding":[{"system":"http://loinc.org","code":"15074-8"}]},
      "subject":{"reference":"Patient/pat1"},
      "effectiveDateTime":"2013-04-02T09:30:10+01:00",
      "valueQuantity":{"value":6.3,"unit":"mmol/l","system":"http://unitsofmeasure.org","code":"mmol/L"}})"),
                    "pat1");
    add_observation(parse(R"({"resourceType":"Observation","id":"f002","status":"preliminary",
      "code":{"coding":[{"system":"http://loinc.org","code":"2339-0"}]},
      "subject":{"reference":"Patient/pat1"},"effectiveDateTime":"2014-01-01",
      "valueQuantity":{"value":4.1,"unit":"mmol/l","system":"http://unitsofmeasure.org","code":"mmol/L"}})"),
                    "pat1");
    add_observation(parse(R"({"resourceType":"Observation","id":"f003","status":"final",
      "code":{"coding":[{"system":"http://loinc.org","code":"15074-8"}]},
      "subject":{"reference":"Patient/pat2"},
      "effectivePeriod":{"start":"2015-06-01T00:00:00Z"},
      "valueQuantity":{"value":7.5,"unit":"mmol/l","system":"http://unitsofmeasure.org","code":"mmol/L"}})"),
                    "pat2");
    add_observation(parse(R"({"resourceType":"Observation","id":"f004","status":"amended",
      "code":{"coding":[{"system":"http://snomed.info/sct","code":"1234"}]},
      "subject":{"reference":"Patient/pat3"}})"),
                    "pat3");
  }

  // ---- running searches ------------------------------------------------------

  Result<server::SearchOutcome> run(std::string_view type, std::string_view query,
                                    bool strict = false) {
    auto params = server::parse_query(query);
    BOOST_REQUIRE_MESSAGE(params.ok(), params.status().to_string());
    server::SearchOptions o = options;
    o.strict = strict;
    return server::search(store, who, type, *params, o, ctx);
  }

  boost::json::object bundle(std::string_view type, std::string_view query) {
    auto out = run(type, query);
    BOOST_REQUIRE_MESSAGE(out.ok(), std::string(query) + ": " + out.status().to_string());
    return out->bundle;
  }

  // FHIR ids of the matches, in bundle order.
  Ids ordered(const boost::json::object& b) {
    Ids ids;
    if (auto* entries = b.if_contains("entry")) {
      for (const auto& e : entries->as_array()) {
        const auto& entry = e.as_object();
        if (entry.at("search").at("mode") != "match") continue;
        std::string id(entry.at("resource").at("id").as_string());
        BOOST_REQUIRE_MESSAGE(fhir_id_of.count(id), "unknown id in bundle: " + id);
        ids.push_back(fhir_id_of.at(id));
      }
    }
    return ids;
  }

  Ids fhir_ids(std::string_view type, std::string_view query) {
    Ids ids = ordered(bundle(type, query));
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  static std::int64_t total(const boost::json::object& b) { return b.at("total").as_int64(); }

  static std::optional<std::string> link(const boost::json::object& b, std::string_view relation) {
    for (const auto& l : b.at("link").as_array())
      if (l.at("relation").as_string() == relation) return std::string(l.at("url").as_string());
    return std::nullopt;
  }

  // Follows `next` links from a first query; returns every page's FHIR ids.
  std::vector<Ids> all_pages(std::string_view type, std::string_view query) {
    std::vector<Ids> pages;
    auto b = bundle(type, query);
    std::int64_t first_total = b.contains("total") ? total(b) : -1;
    for (int guard = 0; guard < 50; ++guard) {
      pages.push_back(ordered(b));
      if (b.contains("total")) BOOST_TEST(total(b) == first_total);
      auto next = link(b, "next");
      if (!next) break;
      std::string prefix = options.base_url + "/" + std::string(type) + "?";
      BOOST_REQUIRE(next->rfind(prefix, 0) == 0);
      b = bundle(type, next->substr(prefix.size()));
    }
    return pages;
  }

  // ---- checks ----------------------------------------------------------------

  void check(std::string_view type, std::string_view query, Ids expected) {
    std::sort(expected.begin(), expected.end());
    BOOST_TEST_CONTEXT(type << "?" << query) {
      BOOST_TEST(fhir_ids(type, query) == expected);
    }
  }

  void check_patient_parameters() {
    check("Patient", "", {"pat1", "pat2", "pat3", "pat4"});
    // The tutorial: _id is the FHIR id (or the store id), AND name.
    check("Patient", "_id=pat1&name=Donald&", {"pat1"});
    check("Patient", "_id=pat2&name=Donald&", {});
    check("Patient", "_id=" + store_id_of["pat2"], {"pat2"});
    check("Patient", "_id=pat1,pat3", {"pat1", "pat3"});
    check("Patient", "_id=nope", {});
    // identifier tokens
    check("Patient", "identifier=urn:oid:mr|123456", {"pat1"});
    check("Patient", "identifier=654321", {"pat2"});
    check("Patient", "identifier=urn:oid:mr|", {"pat1", "pat2"});
    check("Patient", "identifier=urn:other|123456", {});
    // strings: prefix by default, case-insensitive, :exact, :contains, OR, AND
    check("Patient", "name=du", {"pat1", "pat2"});
    // three characters or more: the SQLite store reads its name head rows (docs/search.md)
    check("Patient", "name=DUC", {"pat1", "pat2"});
    check("Patient", "name=duc&gender=female", {"pat2"});
    check("Patient", "name=duck&given=dai", {"pat2"});
    check("Patient", "given=duc", {});
    check("Patient", "name=DONALD", {"pat1"});
    check("Patient", "family=Duck", {"pat1", "pat2"});
    check("Patient", "family:exact=Duc", {});
    check("Patient", "family:exact=Duck", {"pat1", "pat2"});
    check("Patient", "given:contains=ais", {"pat2"});
    check("Patient", "given=Donald,Mickey", {"pat1", "pat3"});
    check("Patient", "name=Duck&name=Daisy", {"pat2"});
    check("Patient", "name=Donald+Duck", {});  // one value, not two words
    // gender (iCure values), :not
    check("Patient", "gender=male", {"pat1", "pat3"});
    check("Patient", "gender=female,other", {"pat2", "pat4"});
    check("Patient", "gender=http://hl7.org/fhir/administrative-gender|female", {"pat2"});
    check("Patient", "gender:not=male", {"pat2", "pat4"});
    // birthdate: partial dates and prefixes
    check("Patient", "birthdate=1974", {"pat1"});
    check("Patient", "birthdate=1974-12", {"pat1"});
    check("Patient", "birthdate=1974-12-25", {"pat1"});
    check("Patient", "birthdate=1974-12-24", {});
    check("Patient", "birthdate=1980-03", {"pat2"});
    check("Patient", "birthdate=ne1974", {"pat2", "pat3"});
    check("Patient", "birthdate=lt1974-12-25", {"pat3"});
    check("Patient", "birthdate=le1974-12-25", {"pat1", "pat3"});
    check("Patient", "birthdate=gt1974-12-25", {"pat2"});
    check("Patient", "birthdate=ge1974-12-25", {"pat1", "pat2"});
    check("Patient", "birthdate=sa1974", {"pat2"});
    check("Patient", "birthdate=eb1974", {"pat3"});
    check("Patient", "birthdate=ge1970&birthdate=lt1980", {"pat1"});
    // A comma list is an OR of dates, each with its own prefix; repeats AND them.
    check("Patient", "birthdate=1974,1980-03", {"pat1", "pat2"});
    check("Patient", "birthdate=1974,1974-12", {"pat1"});
    check("Patient", "birthdate=lt1974-12-25,gt1974-12-25", {"pat2", "pat3"});
    check("Patient", "birthdate=1974,1980-03&birthdate=ge1975", {"pat2"});
    check("Patient", "birthdate=1974,ne1974", {"pat1", "pat2", "pat3"});
    check("Patient", "_lastUpdated=lt2000-01-01,ge2000-01-01&gender=female", {"pat2"});
    // active
    check("Patient", "active=true", {"pat1", "pat2", "pat4"});
    check("Patient", "active=false", {"pat3"});
    check("Patient", "active=true&gender=female", {"pat2"});
    // :missing (the FHIR id, an identifier in iCure, does not count as one)
    check("Patient", "birthdate:missing=true", {"pat4"});
    check("Patient", "birthdate:missing=false", {"pat1", "pat2", "pat3"});
    check("Patient", "identifier:missing=true", {"pat3", "pat4"});
    check("Patient", "identifier:missing=false&gender:missing=false", {"pat1", "pat2"});
    check("Patient", "given:missing=true", {"pat4"});
    check("Patient", "family:missing=true", {});
    check("Patient", "name:missing=false", {"pat1", "pat2", "pat3", "pat4"});
    check("Patient", "gender:missing=true", {});
  }

  void check_patient_has() {
    check("Patient", "_has:Observation:patient:code=http://loinc.org|15074-8", {"pat1", "pat2"});
    check("Patient", "_has%3AObservation%3Apatient%3Acode=http%3A%2F%2Floinc.org%7C2339-0",
          {"pat1"});
    check("Patient", "_has:Observation:subject:code=1234", {"pat3"});
    check("Patient", "_has:Observation:code=15074-8", {"pat1", "pat2"});
    check("Patient", "_has:Observation:_tag=urn:tags|vip", {"pat1"});
    check("Patient", "_has:Observation:patient:status=amended", {"pat3"});
    check("Patient", "_has:Observation:patient:date=ge2014", {"pat1", "pat2"});
    check("Patient", "_has:Observation:patient:value-quantity=gt7", {"pat2"});
    // AND of two _has, and with other parameters
    check("Patient",
          "_has:Observation:patient:code=15074-8&_has:Observation:patient:status=preliminary",
          {"pat1"});
    check("Patient", "_has:Observation:patient:code=15074-8&gender=female", {"pat2"});
    // An empty inner result is an empty outer result, not "no filter".
    check("Patient", "_has:Observation:patient:code=nothing", {});
  }

  void check_patient_paging() {
    auto pages = all_pages("Patient", "_count=1&_sort=family,given");
    BOOST_TEST(pages == (std::vector<Ids>{{"pat2"}, {"pat1"}, {"pat4"}, {"pat3"}}));
    pages = all_pages("Patient", "_count=3&_sort=-birthdate&birthdate=ge1900");
    BOOST_TEST(pages == (std::vector<Ids>{{"pat2", "pat1", "pat3"}}));
    pages = all_pages("Patient", "_count=2&_sort=-family,given&gender=male,female");
    BOOST_TEST(pages == (std::vector<Ids>{{"pat3", "pat2"}, {"pat1"}}));
    auto b = bundle("Patient", "_count=2&name=Du");
    BOOST_TEST(total(b) == 2);
    BOOST_TEST(!link(b, "next"));
  }

  void check_observation_parameters() {
    check("Observation", "", {"f001", "f002", "f003", "f004"});
    check("Observation", "_id=f001", {"f001"});
    check("Observation", "_id=" + store_id_of["f002"] + ",f003", {"f002", "f003"});
    check("Observation", "identifier=urn:lab|6323", {"f001"});
    check("Observation", "identifier=6323", {"f001"});
    // code tokens: system|code, code, system|
    check("Observation", "code=http://loinc.org|15074-8", {"f001", "f003"});
    check("Observation", "code=15074-8", {"f001", "f003"});
    check("Observation", "code=http://loinc.org|", {"f001", "f002", "f003"});
    check("Observation", "code=http://snomed.info/sct|1234,http://loinc.org|2339-0",
          {"f002", "f004"});
    check("Observation", "code=http://snomed.info/sct|15074-8", {});
    check("Observation", "code=15074-8&code=http://loinc.org|", {"f001", "f003"});
    check("Observation", "date:missing=true", {"f004"});
    check("Observation", "identifier:missing=true&date:missing=false", {"f002", "f003"});
    check("Observation", "code:missing=true", {});
    check("Observation", "subject:Patient.birthdate:missing=true", {});
    check("Observation", "subject:Patient.identifier:missing=true", {"f004"});
    // status / category / _tag
    check("Observation", "status=final", {"f001", "f003"});
    check("Observation", "status=final,amended", {"f001", "f003", "f004"});
    check("Observation", "status:not=final", {"f002", "f004"});
    check("Observation", "category=laboratory", {"f001"});
    check("Observation",
          "category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory",
          {"f001"});
    check("Observation", "_tag=urn:tags|vip", {"f001"});
    check("Observation", "_tag=urn:tags|", {"f001"});
    // date: effectiveDateTime (wall clock as written) and effectivePeriod.start
    check("Observation", "date=2013", {"f001"});
    check("Observation", "date=2013-04-02", {"f001"});
    check("Observation", "date=2013-04-02T09:30:10%2B01:00", {"f001"});
    check("Observation", "date=ge2014", {"f002", "f003"});
    check("Observation", "date=lt2014-01-01", {"f001"});
    check("Observation", "date=le2014-01-01", {"f001", "f002"});
    check("Observation", "date=gt2014-01-01", {"f003"});
    check("Observation", "date=2015-06", {"f003"});
    check("Observation", "date=ne2013", {"f002", "f003"});
    check("Observation", "date=ge2013&date=lt2015", {"f001", "f002"});
    check("Observation", "date=2013,2015-06", {"f001", "f003"});
    check("Observation", "date=2013,ne2014", {"f001", "f003"});
    check("Observation", "date=2013,2015-06&date=ge2014", {"f003"});
  }

  void check_observation_subject() {
    check("Observation", "subject=Patient/pat1", {"f001", "f002"});
    check("Observation", "subject=pat1", {"f001", "f002"});
    check("Observation", "subject=" + store_id_of["pat1"], {"f001", "f002"});
    check("Observation", "subject=Patient/" + store_id_of["pat2"], {"f003"});
    check("Observation", "patient=pat2,pat3", {"f003", "f004"});
    check("Observation", "subject=http://localhost/rest/fhir/r4/Patient/pat3", {"f004"});
    check("Observation", "subject=Group/pat1", {});
    check("Observation", "subject=nobody", {});
    // chaining
    check("Observation", "subject:Patient.name=Daisy", {"f003"});
    check("Observation", "subject.name=Mouse", {"f004"});
    check("Observation", "patient:Patient.family=Duck", {"f001", "f002", "f003"});
    check("Observation", "subject:Patient.family:exact=Duc", {});
    check("Observation", "subject:Patient.gender=male&code=15074-8", {"f001"});
    check("Observation", "subject:Patient.birthdate=lt1950", {"f004"});
    check("Observation", "subject:Patient._id=pat2", {"f003"});
    check("Observation", "subject:identifier=urn:oid:mr|123456", {"f001", "f002"});
    check("Observation", "subject:Patient.name=Nobody", {});
    check("Observation", "subject=pat1&subject:Patient.name=Daisy", {});
  }

  void check_value_quantity() {
    check("Observation", "value-quantity=6.3", {"f001"});
    check("Observation", "value-quantity=6.3|http://unitsofmeasure.org|mmol/L", {"f001"});
    check("Observation", "value-quantity=6.3||mmol/l", {"f001"});
    check("Observation", "value-quantity=6.3|http://unitsofmeasure.org|mg", {});
    check("Observation", "value-quantity=gt5", {"f001", "f003"});
    check("Observation", "value-quantity=lt5,gt7", {"f002", "f003"});
    check("Observation", "value-quantity=ge4.1&value-quantity=le6.3", {"f001", "f002"});
    check("Observation", "value-quantity=gt5&subject=pat1", {"f001"});
    // Filtered in memory: paging still walks every match once, total counts matches.
    auto pages = all_pages("Observation", "value-quantity=gt1&_count=2&_sort=date");
    BOOST_REQUIRE_EQUAL(pages.size(), 2u);
    BOOST_TEST(pages[0] == (Ids{"f001", "f002"}));
    BOOST_TEST(pages[1] == (Ids{"f003"}));
    auto b = bundle("Observation", "value-quantity=gt1&_count=1");
    BOOST_TEST(total(b) == 3);
    BOOST_TEST(link(b, "next")->find("_cursor=mem") != std::string::npos);
    auto count = bundle("Observation", "value-quantity=gt5&_summary=count");
    BOOST_TEST(total(count) == 2);
    BOOST_TEST(!count.contains("entry"));
  }

  void check_bundle_shape() {
    auto b = bundle("Patient", "name=Duck&_count=1&_format=json");
    BOOST_TEST(b.at("resourceType") == "Bundle");
    BOOST_TEST(b.at("type") == "searchset");
    BOOST_TEST(total(b) == 2);
    const auto& entry = b.at("entry").as_array().at(0).as_object();
    std::string id(entry.at("resource").at("id").as_string());
    BOOST_TEST(entry.at("fullUrl").as_string() == options.base_url + "/Patient/" + id);
    BOOST_TEST(entry.at("search").at("mode") == "match");
    BOOST_TEST(entry.at("resource").at("resourceType") == "Patient");
    auto self = link(b, "self");
    auto next = link(b, "next");
    BOOST_REQUIRE(self && next);
    BOOST_TEST(*self == options.base_url + "/Patient?name=Duck&_count=1&_format=json");
    BOOST_TEST(next->find("name=Duck&_count=1&_format=json&_cursor=") != std::string::npos);
    // The last page has no next link.
    auto pages = all_pages("Patient", "name=Duck&_count=1");
    BOOST_TEST(pages.size() == 2u);

    // _summary=count and _count=0: total only
    for (std::string_view q : {"_summary=count", "_count=0", "gender=male&_summary=count"}) {
      auto c = bundle("Patient", q);
      BOOST_TEST(!c.contains("entry"));
      BOOST_TEST(!link(c, "next"));
    }
    BOOST_TEST(total(bundle("Patient", "_summary=count")) == 4);
    BOOST_TEST(total(bundle("Observation", "code=15074-8&_count=0")) == 2);
    // _total=none omits the total
    BOOST_TEST(!bundle("Patient", "_total=none").contains("total"));
    // _elements keeps the mandatory elements and marks the resource SUBSETTED
    auto e = bundle("Patient", "_id=pat1&_elements=gender");
    const auto& resource = e.at("entry").as_array().at(0).at("resource").as_object();
    BOOST_TEST(resource.contains("gender"));
    BOOST_TEST(!resource.contains("name"));
    BOOST_TEST(resource.contains("id"));
    BOOST_TEST(boost::json::serialize(resource.at("meta")).find("SUBSETTED") != std::string::npos);
    // Observation entries map back with the subject.
    auto o = bundle("Observation", "_id=f001");
    const auto& obs = o.at("entry").as_array().at(0).at("resource").as_object();
    BOOST_TEST(obs.at("subject").at("reference").as_string() == "Patient/" + store_id_of["pat1"]);
    BOOST_TEST(obs.at("status") == "final");
  }

  void check_errors() {
    // Lenient: unknown parameters ignored, warned, and reported in the bundle.
    auto lenient = run("Patient", "name=Duck&shoe=42");
    BOOST_REQUIRE(lenient.ok());
    BOOST_TEST(lenient->warnings.size() == 1u);
    Ids ids = ordered(lenient->bundle);
    BOOST_TEST(ids.size() == 2u);
    const auto& first = lenient->bundle.at("entry").as_array().at(0).as_object();
    BOOST_TEST(first.at("search").at("mode") == "outcome");
    BOOST_TEST(first.at("resource").at("resourceType") == "OperationOutcome");
    BOOST_TEST(first.at("resource").at("issue").at(0).at("expression").at(0) == "shoe");
    // The self link shows the parameters actually used (FHIR): not the ignored one.
    BOOST_TEST(*link(lenient->bundle, "self") == options.base_url + "/Patient?name=Duck");
    auto sorted = bundle("Patient", "_sort=shoe,-family,given&_count=2");
    BOOST_TEST(*link(sorted, "self") == options.base_url + "/Patient?_sort=-family,given&_count=2");
    BOOST_TEST(*link(bundle("Patient", "_sort=shoe"), "self") == options.base_url + "/Patient");
    // Strict: invalid, naming the parameter.
    auto strict = run("Patient", "name=Duck&shoe=42", true);
    BOOST_REQUIRE(!strict.ok());
    BOOST_TEST((strict.status().code() == StatusCode::invalid));
    BOOST_TEST(strict.status().path() == "shoe");
    BOOST_TEST(run("Observation", "interpretation=x", true).status().path() == "interpretation");
    // Malformed values are invalid in both modes.
    auto bad = run("Patient", "birthdate=1974-13");
    BOOST_REQUIRE(!bad.ok());
    BOOST_TEST((bad.status().code() == StatusCode::invalid));
    BOOST_TEST(bad.status().path() == "birthdate");
    BOOST_TEST(run("Observation", "date=2013-02-30").status().path() == "date");
    BOOST_TEST(run("Observation", "value-quantity=x").status().path() == "value-quantity");
    BOOST_TEST(run("Observation", "status:missing=yes").status().path() == "status:missing");
    BOOST_TEST(run("Observation", "identifier:missing=yes").status().path() ==
               "identifier:missing");
    BOOST_TEST(run("Observation", "performer:below=x").status().path() == "performer:below");
    BOOST_TEST(run("Observation", "value-quantity=gt1&_cursor=garbage").status().path() ==
               "_cursor");
    BOOST_TEST((run("Encounter", "").status().code() == StatusCode::not_supported));
  }

  void check_search_ids() {
    auto q = [](std::string_view raw) { return *server::parse_query(raw); };
    auto ids = server::search_ids(store, who, "Patient", q("name=Duck"), options, ctx);
    BOOST_REQUIRE(ids.ok());
    std::set<std::string> got(ids->begin(), ids->end());
    BOOST_TEST(got == (std::set<std::string>{store_id_of["pat1"], store_id_of["pat2"]}));
    // The tutorial's conditional delete.
    auto donald = server::search_ids(store, who, "Patient", q("name=Donald"), options);
    BOOST_REQUIRE(donald.ok());
    BOOST_TEST(*donald == Ids{store_id_of["pat1"]});
    // Unknown parameters are errors even when lenient: never widen a delete.
    auto unknown = server::search_ids(store, who, "Patient", q("nmae=Donald"), options, ctx);
    BOOST_REQUIRE(!unknown.ok());
    BOOST_TEST(unknown.status().path() == "nmae");
    auto obs = server::search_ids(store, who, "Observation", q("value-quantity=gt5&subject=pat1"),
                                  options, ctx);
    BOOST_REQUIRE(obs.ok());
    BOOST_TEST(*obs == Ids{store_id_of["f001"]});
    // Not paged: more than a page of matches comes back whole.
    server::SearchOptions small = options;
    small.default_count = 1;
    auto all = server::search_ids(store, who, "Observation", {}, small, ctx);
    BOOST_TEST(all->size() == 4u);
  }
};

}  // namespace fhirbridge::test
