// Golden files and round trips for every FHIR fixture in ../shared/fixtures
// (seed and hl7; a Bundle contributes each entry's Patient / Observation; the
// HL7 bundle's Parameters entry is not a resource we map).
//
// tests/golden/<dir>-<fixture>[-entry<i>]/
//   input.json           the FHIR resource
//   expected-icure.json  fhir_*_to_icure(input) under make_fixed_context()
//                        (an Observation: the Contact)
//   expected-fhir.json   that iCure entity mapped back to FHIR
// Regenerate with FHIRBRIDGE_UPDATE_GOLDEN=1 (then review the diff!).
// Every FHIR resource mapped back is also written to
// <build>/tests/emitted-fhir/ for the R4 schema check (tests/node/fhir_schema.mjs).
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "common/test_support.hpp"
#include "fhirbridge/json_io.hpp"
#include "fhirbridge/mapping/bundle.hpp"
#include "fhirbridge/mapping/observation.hpp"
#include "fhirbridge/mapping/patient.hpp"
#include "fhirbridge/mapping/residual.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace fhirbridge;
using namespace fhirbridge::mapping;

namespace {

struct Fixture {
  std::string name;  // golden directory name
  json::object resource;
};

std::vector<Fixture> all_fixtures() {
  std::vector<Fixture> out;
  for (const char* dir : {"seed", "hl7"}) {
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(test::shared_dir() / "fixtures" / dir))
      if (e.path().extension() == ".json") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      json::value v = test::read_json(f);
      std::string name = std::string(dir) + "-" + f.stem().string();
      if (v.at("resourceType") == "Bundle") {
        auto bundle = parse_bundle(v);
        BOOST_REQUIRE_MESSAGE(bundle.ok(), bundle.status().to_string());
        for (const auto& entry : bundle->entries)
          if (entry.resource.is_object() && (entry.resource.at("resourceType") == "Patient" ||
                                             entry.resource.at("resourceType") == "Observation"))
            out.push_back(
                {name + "-entry" + std::to_string(entry.index), entry.resource.get_object()});
      } else {
        out.push_back({name, v.get_object()});
      }
    }
  }
  return out;
}

bool update_golden() {
  const char* env = std::getenv("FHIRBRIDGE_UPDATE_GOLDEN");
  return env && std::string(env) == "1";
}

fs::path golden_dir(const std::string& name) {
  return test::source_dir() / "tests" / "golden" / name;
}
fs::path emitted_dir() {
  return test::binary_dir() / "tests" / "emitted-fhir";
}

// The subject's id as the store would resolve it (for the fixtures: the last
// path segment of the reference).
std::string subject_id(const json::object& r) {
  const json::value* s = r.if_contains("subject");
  if (!s || !s->is_object() || !s->get_object().contains("reference")) return "no-subject";
  std::string ref(s->get_object().at("reference").get_string());
  return ref.substr(ref.rfind('/') == std::string::npos ? 0 : ref.rfind('/') + 1);
}

struct Mapped {
  json::value icure;
  json::object fhir;
  std::string icure_id;
};

Mapped map_both_ways(const json::object& resource) {
  MappingContext ctx = make_fixed_context();
  Mapped out;
  if (resource.at("resourceType") == "Patient") {
    auto p = fhir_patient_to_icure(resource, ctx);
    BOOST_REQUIRE_MESSAGE(p.ok(), p.status().to_string());
    out.icure = json_io::to_json(*p);
    out.icure_id = *p->id;
    auto back = icure_patient_to_fhir(*p, ctx);
    BOOST_REQUIRE_MESSAGE(back.ok(), back.status().to_string());
    out.fhir = *back;
  } else {
    auto o = fhir_observation_to_icure(resource, ctx);
    BOOST_REQUIRE_MESSAGE(o.ok(), o.status().to_string());
    out.icure = json_io::to_json(o->contact);
    out.icure_id = *o->contact.id;
    const json::value* subject = resource.if_contains("subject");
    if (subject) BOOST_TEST(*o->subject_reference == subject->at("reference").get_string());
    auto back = icure_observation_to_fhir(o->contact, subject_id(resource), ctx);
    BOOST_REQUIRE_MESSAGE(back.ok(), back.status().to_string());
    out.fhir = *back;
  }
  return out;
}

void strip_server_fields(json::object& r) {
  r.erase("id");
  if (auto* meta = r.if_contains("meta"); meta && meta->is_object()) {
    meta->get_object().erase("versionId");
    meta->get_object().erase("lastUpdated");
    if (meta->get_object().empty()) r.erase("meta");
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(golden)

BOOST_AUTO_TEST_CASE(every_fixture_is_covered) {
  auto fixtures = all_fixtures();
  // seed: pat1, f001 and the bundle's 2 entries; hl7: 7 Patients, 9 Observations
  // and the bundle's 5 Patients (its Parameters entry is skipped).
  BOOST_TEST(fixtures.size() == 25u);
}

BOOST_AUTO_TEST_CASE(goldens_match) {
  const bool update = update_golden();
  for (const auto& f : all_fixtures()) {
    BOOST_TEST_CONTEXT(f.name) {
      Mapped m = map_both_ways(f.resource);
      const fs::path dir = golden_dir(f.name);
      if (update) {
        test::write_file(dir / "input.json", test::pretty(f.resource));
        test::write_file(dir / "expected-icure.json", test::pretty(m.icure));
        test::write_file(dir / "expected-fhir.json", test::pretty(m.fhir));
        continue;
      }
      BOOST_REQUIRE_MESSAGE(fs::exists(dir / "expected-icure.json"),
                            dir.string() + " missing: run with FHIRBRIDGE_UPDATE_GOLDEN=1");
      std::string diff;
      BOOST_TEST(test::json_equivalent(test::read_json(dir / "input.json"), f.resource, diff),
                 diff);
      BOOST_TEST(test::json_equivalent(test::read_json(dir / "expected-icure.json"), m.icure, diff),
                 "expected-icure.json: " << diff);
      BOOST_TEST(test::json_equivalent(test::read_json(dir / "expected-fhir.json"), m.fhir, diff),
                 "expected-fhir.json: " << diff);
    }
  }
}

// FHIR -> iCure -> FHIR gives the input back, apart from the server-assigned
// id / meta.versionId / meta.lastUpdated and Observation.subject.reference
// (normalised to Patient/<id>): docs/mapping.md.
BOOST_AUTO_TEST_CASE(round_trip_restores_the_input) {
  for (const auto& f : all_fixtures()) {
    BOOST_TEST_CONTEXT(f.name) {
      Mapped m = map_both_ways(f.resource);
      BOOST_TEST(m.fhir.at("id") == json::value(m.icure_id));
      json::object expected = f.resource;
      if (auto* s = expected.if_contains("subject"))
        s->get_object()["reference"] = "Patient/" + subject_id(f.resource);
      json::object actual = m.fhir;
      strip_server_fields(expected);
      strip_server_fields(actual);
      std::string diff;
      BOOST_TEST(test::json_equivalent(expected, actual, diff), diff);
    }
  }
}

// Writes what the engine emits for every fixture twice: with the residual
// (the round trip) and from the iCure fields alone (what a client sees for data
// that never was FHIR, e.g. written by another iCure app).
BOOST_AUTO_TEST_CASE(emitted_fhir_is_written_for_the_schema_check) {
  fs::create_directories(emitted_dir());
  std::size_t count = 0;
  for (const auto& f : all_fixtures()) {
    BOOST_TEST_CONTEXT(f.name) {
      Mapped m = map_both_ways(f.resource);
      test::write_file(emitted_dir() / (f.name + ".json"), test::pretty(m.fhir));
      MappingContext ctx = make_fixed_context();
      Result<json::object> bare = Status::Internal("unset");
      if (f.resource.at("resourceType") == "Patient") {
        icure::Patient p = *fhir_patient_to_icure(f.resource, ctx);
        p.properties.reset();
        bare = icure_patient_to_fhir(p, ctx);
      } else {
        icure::Contact c = fhir_observation_to_icure(f.resource, ctx)->contact;
        c.services->front().content->erase(kFhirResidualContentKey);
        bare = icure_observation_to_fhir(c, std::string("p1"), ctx);
      }
      BOOST_REQUIRE(bare.ok());
      test::write_file(emitted_dir() / (f.name + "-icure-fields-only.json"), test::pretty(*bare));
      count += 2;
    }
  }
  BOOST_TEST(count >= 40u);
}

BOOST_AUTO_TEST_SUITE_END()
