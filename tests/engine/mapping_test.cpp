// Unit tests of the Patient / Observation / Bundle mappings: the explicit
// field mappings, the errors (with their FHIR path) and robustness on bad input.
#include <boost/test/unit_test.hpp>

#include "common/test_support.hpp"
#include "fhirbridge/json_io.hpp"
#include "fhirbridge/mapping/bundle.hpp"
#include "fhirbridge/mapping/code_systems.hpp"
#include "fhirbridge/mapping/observation.hpp"
#include "fhirbridge/mapping/patient.hpp"
#include "fhirbridge/mapping/residual.hpp"

namespace json = boost::json;
using namespace fhirbridge;
using namespace fhirbridge::mapping;

namespace {

json::object parse(std::string_view text) {
  return json::parse(text).as_object();
}

std::string error_of(const json::value& fhir) {
  auto ctx = make_fixed_context();
  const json::value* rt =
      fhir.is_object() ? fhir.get_object().if_contains("resourceType") : nullptr;
  if (rt && *rt == "Observation") {
    auto r = fhir_observation_to_icure(fhir, ctx);
    return r.ok() ? "ok" : r.status().to_string();
  }
  auto r = fhir_patient_to_icure(fhir, ctx);
  return r.ok() ? "ok" : r.status().to_string();
}

json::object round_trip_patient(const json::object& in) {
  auto ctx = make_fixed_context();
  auto p = fhir_patient_to_icure(in, ctx);
  BOOST_REQUIRE_MESSAGE(p.ok(), p.status().to_string());
  auto back = icure_patient_to_fhir(*p, ctx);
  BOOST_REQUIRE(back.ok());
  json::object out = *back;
  out.erase("id");
  out.erase("meta");
  return out;
}

json::object round_trip_observation(const json::object& in) {
  auto ctx = make_fixed_context();
  auto o = fhir_observation_to_icure(in, ctx);
  BOOST_REQUIRE_MESSAGE(o.ok(), o.status().to_string());
  auto back = icure_observation_to_fhir(o->contact, std::string("p1"), ctx);
  BOOST_REQUIRE(back.ok());
  return *back;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(patient_mapping)

BOOST_AUTO_TEST_CASE(fhir_id_names_dates_gender) {
  auto ctx = make_fixed_context();
  auto in = parse(R"({"resourceType":"Patient","id":"pat1",
    "name":[{"use":"usual","family":"Nick","given":["N"]},
            {"use":"official","family":"Doe","given":["John","Paul"],"prefix":["Dr"],
             "period":{"start":"2001-02"}}],
    "gender":"other","birthDate":"1974-12","deceasedDateTime":"2020-05-06","active":false})");
  auto p = fhir_patient_to_icure(in, ctx);
  BOOST_REQUIRE_MESSAGE(p.ok(), p.status().to_string());
  BOOST_TEST(*p->id == "00000000-0000-4000-8000-000000000001");
  BOOST_REQUIRE(p->identifier->size() == 1u);
  BOOST_TEST(*p->identifier->at(0).system == "https://dxm.icure.dev");
  BOOST_TEST(*p->identifier->at(0).value == "pat1");
  BOOST_TEST(*p->lastName == "Doe");
  BOOST_TEST(*p->firstName == "John Paul");
  BOOST_TEST(p->names->size() == 2u);
  BOOST_TEST(*p->names->at(1).start == 20010200);
  BOOST_TEST(*p->gender == "indeterminate");
  BOOST_TEST(*p->dateOfBirth == 19741200);
  BOOST_TEST(*p->dateOfDeath == 20200506);
  BOOST_TEST(*p->deceased == true);
  BOOST_TEST(*p->active == false);
  BOOST_TEST(!p->properties.has_value());  // everything had an iCure home
  auto back = icure_patient_to_fhir(*p, ctx);
  BOOST_REQUIRE(back.ok());
  BOOST_TEST(back->at("id") == "00000000-0000-4000-8000-000000000001");
  BOOST_TEST(!back->contains("identifier"));  // the FHIR id is not echoed as an identifier
  BOOST_TEST(back->at("birthDate") == "1974-12");
  BOOST_TEST(back->at("gender") == "other");
  BOOST_TEST(back->at("meta").at("lastUpdated") == "2023-11-14T22:13:20.000Z");
}

BOOST_AUTO_TEST_CASE(telecoms_go_into_addresses_of_their_use) {
  auto in = parse(R"({"resourceType":"Patient",
    "address":[{"use":"home","line":["Main St 1","Floor 2"],"city":"Brussels","country":"BE"}],
    "telecom":[{"system":"phone","value":"02","use":"home"},{"system":"email","value":"a@b","use":"work"},
               {"system":"phone","value":"0475","use":"mobile"}],
    "communication":[{"language":{"coding":[{"system":"urn:ietf:bcp:47","code":"fr"}]}}],
    "generalPractitioner":[{"reference":"Practitioner/gp1"}],
    "link":[{"other":{"reference":"Patient/p2"},"type":"refer"}]})");
  auto ctx = make_fixed_context();
  auto p = fhir_patient_to_icure(in, ctx);
  BOOST_REQUIRE_MESSAGE(p.ok(), p.status().to_string());
  BOOST_REQUIRE(p->addresses->size() == 2u);
  const auto& home = p->addresses->at(0);
  BOOST_TEST(*home.addressType == "home");
  BOOST_TEST(*home.street == "Main St 1\nFloor 2");
  BOOST_REQUIRE(home.telecoms->size() == 2u);
  BOOST_TEST(*home.telecoms->at(1).telecomType == "mobile");
  BOOST_TEST(*p->addresses->at(1).addressType == "work");
  BOOST_TEST(p->languages->at(0) == "fr");
  BOOST_TEST(*p->patientHealthCareParties->at(0).healthcarePartyId == "gp1");
  BOOST_TEST(*p->partnerships->at(0).partnerId == "p2");
  // telecoms come back in address order: home, mobile, work; the residual restores the order
  std::string diff;
  BOOST_TEST(test::json_equivalent(in, round_trip_patient(in), diff), diff);
}

// The server resolves references the iCure side owns; the residual must not
// bring the client's original reference back.
BOOST_AUTO_TEST_CASE(resolved_links_win_over_the_residual) {
  auto in = parse(R"({"resourceType":"Patient",
    "link":[{"other":{"reference":"urn:uuid:6e1c","display":"twin"},"type":"seealso"}]})");
  auto ctx = make_fixed_context();
  auto p = fhir_patient_to_icure(in, ctx);
  BOOST_REQUIRE(p.ok());
  BOOST_TEST(*p->partnerships->at(0).partnerId == "urn:uuid:6e1c");
  p->partnerships->at(0).partnerId = "stored-id";
  auto back = icure_patient_to_fhir(*p, ctx);
  BOOST_REQUIRE(back.ok());
  BOOST_TEST(back->at("link").at(0).at("other").at("reference") == "Patient/stored-id");
  BOOST_TEST(back->at("link").at(0).at("other").at("display") == "twin");  // from the residual
}

// Edited through iCure after the FHIR create: the iCure fields win, element
// patches that no longer fit are dropped, nothing throws.
BOOST_AUTO_TEST_CASE(the_icure_fields_win_after_an_icure_edit) {
  json::object in =
      test::read_json(test::shared_dir() / "fixtures" / "hl7" / "Patient-example.json").as_object();
  auto ctx = make_fixed_context();
  auto p = fhir_patient_to_icure(in, ctx);
  BOOST_REQUIRE(p.ok());
  p->gender = "female";
  p->dateOfBirth = 19800000;
  p->addresses->front().city = "Gent";
  icure::PersonName extra;
  extra.lastName = "New";
  p->names->push_back(extra);
  auto back = icure_patient_to_fhir(*p, ctx);
  BOOST_REQUIRE(back.ok());
  BOOST_TEST(back->at("gender") == "female");
  BOOST_TEST(back->at("birthDate") == "1980");
  BOOST_TEST(back->at("address").at(0).at("city") == "Gent");
  BOOST_TEST(back->at("address").at(0).at("district") == "Rainbow");  // residual still applies
  BOOST_TEST(back->at("name").as_array().size() == 4u);
  BOOST_TEST(back->contains("_birthDate"));  // the birth-time extension stays
}

BOOST_AUTO_TEST_CASE(icure_patient_from_the_sdk_maps_to_fhir) {
  auto vectors = test::read_json(test::shared_dir() / "icure" / "sdk-test-vectors.json");
  icure::Patient p;
  BOOST_REQUIRE(json_io::from_json(vectors.at("decryptedPatient"), p, "Patient").ok());
  auto fhir = icure_patient_to_fhir(p, make_fixed_context());
  BOOST_REQUIRE(fhir.ok());
  BOOST_TEST(fhir->at("id") == "520152f7-c6d3-4a3d-8140-56c2b270e4cb");
  BOOST_TEST(fhir->at("meta").at("versionId") == "3");
  BOOST_TEST(fhir->at("birthDate") == "1980-01-31");
  BOOST_TEST(fhir->at("gender") == "male");
  BOOST_TEST(fhir->at("name").at(0).at("family") == "Doe");
  BOOST_TEST(fhir->at("identifier").at(0).at("value") == "MRN-1");
  test::write_file(test::binary_dir() / "tests" / "emitted-fhir" / "sdk-decryptedPatient.json",
                   test::pretty(*fhir));
}

BOOST_AUTO_TEST_CASE(errors_name_the_fhir_path) {
  BOOST_TEST(error_of(parse(R"({"resourceType":"Patient","birthDate":"1974-13"})")) ==
             "Patient.birthDate: '1974-13' is not a date");
  BOOST_TEST(error_of(parse(R"({"resourceType":"Patient","birthDate":"1974-12-01T10:00:00Z"})")) ==
             "Patient.birthDate: '1974-12-01T10:00:00Z' is not a date");
  BOOST_TEST(error_of(parse(R"({"resourceType":"Patient","birthDate":1974})")) ==
             "Patient.birthDate: expected a string, got 1974");
  BOOST_TEST(error_of(parse(R"({"resourceType":"Patient","name":[{"given":"John"}]})")) ==
             "Patient.name[0].given: expected an array, got \"John\"");
  BOOST_TEST(error_of(parse(R"({"resourceType":"Patient","name":[{"given":["A",3]}]})")) ==
             "Patient.name[0].given[1]: expected a string, got 3");
  BOOST_TEST(error_of(parse(R"({"resourceType":"Patient","name":{"family":"x"}})")) ==
             "Patient.name: expected an array, got {\"family\":\"x\"}");
  BOOST_TEST(error_of(parse(R"({"resourceType":"Patient","gender":"M"})")) ==
             "Patient.gender: 'M' is not an administrative gender");
  BOOST_TEST(error_of(parse(R"({"resourceType":"Patient","id":"a b"})")) ==
             "Patient.id: 'a b' is not a FHIR id");
  BOOST_TEST(
      error_of(parse(R"({"resourceType":"Patient","identifier":[{"period":{"start":"x"}}]})")) ==
      "Patient.identifier[0].period.start: 'x' is not a date");
  BOOST_TEST(error_of(parse(R"({"resourceType":"Patient","telecom":[{"system":"pigeon"}]})")) ==
             "Patient.telecom[0].system: 'pigeon' is not a ContactPoint system");
  BOOST_TEST(error_of(parse(R"({"resourceType":"Patient","active":"yes"})")) ==
             "Patient.active: expected a boolean, got \"yes\"");
  BOOST_TEST(error_of(parse(R"({"resourceType":"Practitioner"})")) ==
             "Patient.resourceType: expected 'Patient', got 'Practitioner'");
  BOOST_TEST(error_of(parse(R"({"id":"x"})")) == "Patient.resourceType: is required");
  BOOST_TEST(error_of(json::value(42)) == "Patient: expected a JSON object, got 42");
  BOOST_TEST(error_of(json::array{}) == "Patient: expected a JSON object, got []");
}

BOOST_AUTO_TEST_CASE(an_empty_context_is_an_error_not_a_crash) {
  MappingContext empty;
  auto p = fhir_patient_to_icure(parse(R"({"resourceType":"Patient"})"), empty);
  BOOST_TEST(!p.ok());
  auto o = fhir_observation_to_icure(parse(R"({"resourceType":"Observation"})"), empty);
  BOOST_TEST(!o.ok());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(observation_mapping)

BOOST_AUTO_TEST_CASE(codes_status_category_effective_value) {
  auto ctx = make_fixed_context();
  auto in = parse(R"({"resourceType":"Observation","id":"o1","status":"preliminary",
    "meta":{"tag":[{"system":"http://example.org/tags","code":"t1"}]},
    "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
    "code":{"coding":[{"system":"http://loinc.org","code":"15074-8","version":"2.7","display":"Glucose"}]},
    "subject":{"reference":"Patient/abc"},
    "effectiveDateTime":"2013-04-02T09:30:10Z",
    "valueQuantity":{"value":6.3,"unit":"mmol/l","system":"http://unitsofmeasure.org","code":"mmol/L","comparator":"<"},
    "referenceRange":[{"low":{"value":3.1,"unit":"mmol/l","system":"http://unitsofmeasure.org","code":"mmol/L"},
                       "high":{"value":6.2,"unit":"mmol/l","system":"http://unitsofmeasure.org","code":"mmol/L"}}],
    "note":[{"text":"fasting"}]})");
  auto o = fhir_observation_to_icure(in, ctx);
  BOOST_REQUIRE_MESSAGE(o.ok(), o.status().to_string());
  BOOST_TEST(*o->subject_reference == "Patient/abc");
  const auto& c = o->contact;
  BOOST_REQUIRE(c.services->size() == 1u);
  const auto& s = c.services->front();
  BOOST_TEST(*s.codes->at(0).id == "LOINC|15074-8|2.7");
  BOOST_TEST(*s.identifier->at(0).value == "o1");
  BOOST_TEST(*s.valueDate == 20130402093010LL);
  BOOST_REQUIRE(s.tags->size() == 3u);
  BOOST_TEST(*s.tags->at(0).type == kObservationStatusTagType);
  BOOST_TEST(*s.tags->at(0).code == "preliminary");
  BOOST_TEST(*s.tags->at(1).code == "laboratory");
  BOOST_TEST(*s.tags->at(2).type == "http://example.org/tags");
  const auto& m = *s.content->at("en").measureValue;
  BOOST_TEST(*m.value == 6.3);
  BOOST_TEST(*m.min == 3.1);
  BOOST_TEST(*m.max == 6.2);
  BOOST_TEST(*m.unitCodes->at(0).type == "UCUM");
  BOOST_TEST(*m.comparator == "<");
  BOOST_TEST(*s.comment == "fasting");
  // all of it had an iCure home: no residual
  BOOST_TEST(!s.content->contains(kFhirResidualContentKey));
  auto back = icure_observation_to_fhir(c, std::string("abc"), ctx);
  BOOST_REQUIRE(back.ok());
  BOOST_TEST(back->at("id") == json::value(*c.id));
  BOOST_TEST(back->at("subject").at("reference") == "Patient/abc");
  json::object expected = in;
  expected.erase("id");
  json::object actual = *back;
  actual.erase("id");
  actual["meta"].get_object().erase("lastUpdated");
  std::string diff;
  BOOST_TEST(test::json_equivalent(expected, actual, diff), diff);
}

BOOST_AUTO_TEST_CASE(every_value_type_round_trips) {
  int index = 0;
  for (
      const char* value :
      {R"("valueString":"positive")", R"("valueBoolean":true)", R"("valueInteger":3)",
       R"("valueDateTime":"2020-01-02T03:04:05+02:00")",
       R"("valueRange":{"low":{"value":1,"unit":"mg"},"high":{"value":5,"unit":"mg"}})",
       R"("valueRatio":{"numerator":{"value":1},"denominator":{"value":128}})",
       R"("valuePeriod":{"start":"2020-01-01"})",
       R"("valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260385009"}],"text":"Negative"})",
       R"("valueSampledData":{"origin":{"value":0},"period":10,"dimensions":1,"data":"1 2"})"}) {
    BOOST_TEST_CONTEXT(value) {
      auto in = parse(std::string(R"({"resourceType":"Observation","status":"final",
        "code":{"text":"x"},"subject":{"reference":"Patient/p1"},)") +
                      value + "}");
      std::string diff;
      json::object back = round_trip_observation(in);
      back.erase("id");
      back.erase("meta");
      BOOST_TEST(test::json_equivalent(in, back, diff), diff);
      // what the iCure fields alone give, for the R4 schema check
      auto ctx = make_fixed_context();
      icure::Contact c = fhir_observation_to_icure(in, ctx)->contact;
      if (c.services->front().content) c.services->front().content->erase(kFhirResidualContentKey);
      auto bare = icure_observation_to_fhir(c, std::string("p1"), ctx);
      BOOST_REQUIRE(bare.ok());
      test::write_file(test::binary_dir() / "tests" / "emitted-fhir" /
                           ("value-type-" + std::to_string(++index) + ".json"),
                       test::pretty(*bare));
    }
  }
}

BOOST_AUTO_TEST_CASE(components_are_compound_services) {
  auto in = parse(R"({"resourceType":"Observation","status":"final","code":{"text":"BP"},
    "subject":{"reference":"Patient/p1"},
    "component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":107,"unit":"mmHg"}},
                 {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},"valueString":"n/a"}]})");
  auto o = fhir_observation_to_icure(in, make_fixed_context());
  BOOST_REQUIRE(o.ok());
  const auto& parts = *o->contact.services->front().content->at("en").compoundValue;
  BOOST_REQUIRE(parts.size() == 2u);
  BOOST_TEST(*parts[0].codes->at(0).code == "8480-6");
  BOOST_TEST(*parts[0].content->at("en").measureValue->value == 107);
  BOOST_TEST(*parts[1].content->at("en").stringValue == "n/a");
  json::object back = round_trip_observation(in);
  back.erase("id");
  back.erase("meta");
  std::string diff;
  BOOST_TEST(test::json_equivalent(in, back, diff), diff);
}

BOOST_AUTO_TEST_CASE(icure_contact_from_the_sdk_maps_to_fhir) {
  auto vectors = test::read_json(test::shared_dir() / "icure" / "sdk-test-vectors.json");
  icure::Contact c;
  BOOST_REQUIRE(json_io::from_json(vectors.at("decryptedContact"), c, "Contact").ok());
  auto fhir = icure_observation_to_fhir(c, std::string("520152f7-c6d3-4a3d-8140-56c2b270e4cb"),
                                        make_fixed_context());
  BOOST_REQUIRE_MESSAGE(fhir.ok(), fhir.status().to_string());
  BOOST_TEST(fhir->at("id") == "9f2eab32-b79f-4a98-8b93-3f75959ee8ca");
  BOOST_TEST(fhir->at("status") == "final");
  BOOST_TEST(fhir->at("code").at("coding").at(0).at("system") == "http://loinc.org");
  BOOST_TEST(fhir->at("code").at("coding").at(0).at("version") == "2");
  BOOST_TEST(fhir->at("code").at("text") == "Heart rate");
  BOOST_TEST(fhir->at("effectiveDateTime") == "2024-01-01T12:00:00Z");
  BOOST_TEST(fhir->at("valueQuantity").at("value").to_number<double>() == 72);
  BOOST_TEST(fhir->at("subject").at("reference") == "Patient/520152f7-c6d3-4a3d-8140-56c2b270e4cb");
  test::write_file(test::binary_dir() / "tests" / "emitted-fhir" / "sdk-decryptedContact.json",
                   test::pretty(*fhir));
}

BOOST_AUTO_TEST_CASE(errors_name_the_fhir_path) {
  BOOST_TEST(error_of(parse(R"({"resourceType":"Observation","code":{}})")) ==
             "Observation.status: is required");
  BOOST_TEST(error_of(parse(R"({"resourceType":"Observation","status":"done","code":{}})")) ==
             "Observation.status: 'done' is not an observation status");
  BOOST_TEST(error_of(parse(R"({"resourceType":"Observation","status":"final"})")) ==
             "Observation.code: is required");
  BOOST_TEST(
      error_of(parse(
          R"({"resourceType":"Observation","status":"final","code":{"coding":[{"code":7}]}})")) ==
      "Observation.code.coding[0].code: expected a string, got 7");
  BOOST_TEST(error_of(parse(R"({"resourceType":"Observation","status":"final","code":{},
      "effectivePeriod":{"start":"2013-02-30T10:00:00Z"}})")) ==
             "Observation.effectivePeriod.start: '2013-02-30T10:00:00Z' is not a date");
  BOOST_TEST(error_of(parse(R"({"resourceType":"Observation","status":"final","code":{},
      "valueQuantity":{"value":"7"}})")) ==
             "Observation.valueQuantity.value: expected a number, got \"7\"");
  BOOST_TEST(error_of(parse(R"({"resourceType":"Observation","status":"final","code":{},
      "component":[{"code":{},"valueInteger":1.5}]})")) ==
             "Observation.component[0].valueInteger: expected an integer, got 1.5");
  BOOST_TEST(error_of(parse(R"({"resourceType":"Observation","status":"final","code":{},
      "subject":"Patient/1"})")) == "Observation.subject: expected an object, got \"Patient/1\"");
  icure::Contact empty;
  auto r = icure_observation_to_fhir(empty, std::nullopt, make_fixed_context());
  BOOST_TEST(!r.ok());
  BOOST_TEST(r.status().path() == "Contact.services");
}

// Replace every top-level field of every fixture by values of each JSON kind:
// the mappings must return (a value or an error naming the resource), never throw.
BOOST_AUTO_TEST_CASE(wrong_json_types_never_throw) {
  const json::value kinds[] = {
      json::value(42),        json::value("x"),  json::array{json::value(1)},
      json::object{{"a", 1}}, json::value(true), json::value(1.5)};
  std::size_t runs = 0;
  for (const char* f : {"hl7/Patient-example.json", "hl7/Patient-f201.json",
                        "hl7/Observation-blood-pressure.json", "seed/observation-f001.json"}) {
    json::object base = test::read_json(test::shared_dir() / "fixtures" / f).as_object();
    for (const auto& kv : base) {
      if (kv.key() == "resourceType") continue;
      for (const auto& k : kinds) {
        json::object mutated = base;
        mutated[kv.key()] = k;
        std::string result;
        BOOST_CHECK_NO_THROW(result = error_of(mutated));
        BOOST_TEST((result == "ok" ||
                    result.rfind(std::string(base.at("resourceType").as_string()), 0) == 0),
                   result);
        ++runs;
      }
    }
  }
  BOOST_TEST(runs > 100u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(bundle_parsing)

BOOST_AUTO_TEST_CASE(the_tutorial_bundle) {
  auto v = test::read_json(test::shared_dir() / "fixtures" / "seed" / "bundle-transaction.json");
  auto b = parse_bundle(v);
  BOOST_REQUIRE_MESSAGE(b.ok(), b.status().to_string());
  BOOST_TEST(b->type == "transaction");
  BOOST_REQUIRE(b->entries.size() == 2u);
  BOOST_TEST(b->entries[0].method == "POST");
  BOOST_TEST(b->entries[0].url == "Patient");
  BOOST_TEST(b->entries[1].url == "Observation");
  BOOST_TEST(b->entries[1].resource.at("id") == "f005");
}

BOOST_AUTO_TEST_CASE(the_hl7_bundle) {
  auto v =
      test::read_json(test::shared_dir() / "fixtures" / "hl7" / "Bundle-bundle-transaction.json");
  auto b = parse_bundle(v);
  BOOST_REQUIRE_MESSAGE(b.ok(), b.status().to_string());
  BOOST_REQUIRE(b->entries.size() == 10u);
  BOOST_TEST(*b->entries[0].full_url == "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a");
  BOOST_TEST(*b->entries[1].if_none_exist == "identifier=http:/example.org/fhir/ids|234234");
  BOOST_TEST(*b->entries[4].if_match == "W/\"2\"");
  BOOST_TEST(b->entries[5].method == "DELETE");
  BOOST_TEST(b->entries[5].resource.is_null());
  BOOST_TEST(b->entries[8].method == "GET");
  BOOST_TEST(b->entries[8].url == "Patient?name=peter");
  BOOST_TEST(*b->entries[9].if_none_match == "W/\"4\"");
  BOOST_TEST(*b->entries[9].if_modified_since == "2015-08-31T08:14:33+10:00");
}

BOOST_AUTO_TEST_CASE(bad_bundles) {
  auto err = [](std::string_view text) {
    auto r = parse_bundle(json::parse(text));
    return r.ok() ? std::string("ok") : r.status().to_string();
  };
  BOOST_TEST(err(R"({"resourceType":"Patient"})") ==
             "Bundle.resourceType: expected 'Bundle', got 'Patient'");
  BOOST_TEST(err(R"({"resourceType":"Bundle"})") == "Bundle.type: is required");
  BOOST_TEST(err(R"({"resourceType":"Bundle","type":"searchset"})") ==
             "Bundle.type: 'searchset': only transaction and batch bundles are processed");
  BOOST_TEST(err(R"({"resourceType":"Bundle","type":"batch","entry":{}})") ==
             "Bundle.entry: expected an array, got {}");
  BOOST_TEST(
      err(R"({"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"FETCH","url":"x"}}]})") ==
      "Bundle.entry[0].request.method: 'FETCH' is not an HTTP verb");
  BOOST_TEST(
      err(R"({"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"PUT","url":"Patient/1"}}]})") ==
      "Bundle.entry[0].resource: is required for PUT");
  BOOST_TEST(
      err(R"({"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/1","ifModifiedSince":"2015-08-31"}}]})") ==
      "Bundle.entry[0].request.ifModifiedSince: '2015-08-31' is not an instant (date, time and "
      "zone)");
  BOOST_TEST(
      err(R"({"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"Patient/1","ifModifiedSince":"2015-02-30T00:00:00Z"}}]})") ==
      "Bundle.entry[0].request.ifModifiedSince: '2015-02-30T00:00:00Z' is not a date");
  BOOST_TEST(
      err(R"({"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"PATCH","url":"Patient/1"}}]})") ==
      "Bundle.entry[0].resource: is required for PATCH");
  BOOST_TEST(err(R"({"resourceType":"Bundle","type":"batch","entry":[{}]})") ==
             "Bundle.entry[0]: an entry needs a resource or a request");
  BOOST_TEST(err(R"({"resourceType":"Bundle","type":"batch","entry":[{"resource":{"id":"x"}}]})") ==
             "Bundle.entry[0].resource.resourceType: is required");
  BOOST_TEST(err(R"([1])") == "Bundle: expected a JSON object, got [1]");
}

BOOST_AUTO_TEST_SUITE_END()
