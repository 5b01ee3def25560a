// The residual's fast path (engine/src/mapping/residual_fast_path.cpp) must
// never change a mapping's output: every input is mapped with the fast path on
// and off (the full regenerate-and-diff way) and both iCure JSON texts (or
// both errors) must be identical. Inputs: every fixture, synthetic resources,
// and randomly mutated copies of them (odd strings, nulls, empty arrays,
// unknown keys, reserved code systems...), so that both the proven and the
// not-proven branches are exercised.
#include <boost/test/unit_test.hpp>

#include <filesystem>

#include "common/test_support.hpp"
#include "fhirbridge/json_io.hpp"
#include "fhirbridge/mapping/bundle.hpp"
#include "fhirbridge/mapping/code_systems.hpp"
#include "fhirbridge/mapping/context.hpp"
#include "fhirbridge/mapping/json_writer.hpp"
#include "fhirbridge/mapping/observation.hpp"
#include "fhirbridge/mapping/patient.hpp"
#include "fhirbridge/synthetic/generator.hpp"

namespace fhirbridge::mapping::detail {  // engine/src/mapping/datatypes.hpp
void set_residual_fast_path(bool enabled);
std::optional<std::string> fhir_date_time(std::int64_t icure_date);
bool fhir_date_time_is(std::int64_t icure_date, std::string_view text);
}  // namespace fhirbridge::mapping::detail

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace fhirbridge;
using namespace fhirbridge::mapping;

namespace {

// The mapping's output as text: the iCure JSON, or the error.
std::string map_to_text(const json::value& resource) {
  const MappingContext ctx = make_fixed_context();
  const json::value* type =
      resource.is_object() ? resource.get_object().if_contains("resourceType") : nullptr;
  if (type && *type == "Patient") {
    auto p = fhir_patient_to_icure(resource, ctx);
    if (!p.ok()) return "error: " + p.status().to_string();
    const std::string text = json_writer::to_string(*p);
    BOOST_REQUIRE_EQUAL(text, json::serialize(json_io::to_json(*p)));
    return text;
  }
  auto o = fhir_observation_to_icure(resource, ctx);
  if (!o.ok()) return "error: " + o.status().to_string();
  BOOST_REQUIRE_EQUAL(json_writer::to_string(o->contact),
                      json::serialize(json_io::to_json(o->contact)));
  return json_writer::to_string(o->contact) + " subject=" + o->subject_reference.value_or("-");
}

struct Counts {
  std::size_t cases = 0, mapped = 0;
};

void check_same(const json::value& resource, Counts& counts) {
  detail::set_residual_fast_path(true);
  const std::string fast = map_to_text(resource);
  detail::set_residual_fast_path(false);
  const std::string full = map_to_text(resource);
  detail::set_residual_fast_path(true);
  ++counts.cases;
  if (fast.rfind("error: ", 0) != 0) ++counts.mapped;
  BOOST_REQUIRE_MESSAGE(fast == full, "fast path differs for " << json::serialize(resource)
                                                               << "\nfast: " << fast
                                                               << "\nfull: " << full);
}

std::vector<json::value> fixtures() {
  std::vector<json::value> out;
  for (const char* dir : {"seed", "hl7"})
    for (const auto& e : fs::directory_iterator(test::shared_dir() / "fixtures" / dir)) {
      if (e.path().extension() != ".json") continue;
      json::value v = test::read_json(e.path());
      if (v.is_object() && v.at("resourceType") == "Bundle") {
        auto bundle = parse_bundle(v);
        if (bundle.ok())
          for (auto& entry : bundle->entries)
            if (entry.resource.is_object()) out.push_back(entry.resource);
      } else {
        out.push_back(std::move(v));
      }
    }
  return out;
}

// Every node of the tree, to pick one to mutate.
void collect(json::value& v, std::vector<json::value*>& nodes) {
  nodes.push_back(&v);
  if (v.is_object())
    for (auto& kv : v.get_object()) collect(kv.value(), nodes);
  else if (v.is_array())
    for (auto& e : v.get_array()) collect(e, nodes);
}

json::value random_value(synthetic::Prng& prng) {
  static const char* const strings[] = {"",
                                        "x",
                                        "LOINC",
                                        "http://loinc.org",
                                        "http://unitsofmeasure.org",
                                        "UCUM",
                                        kObservationStatusTagType,
                                        "https://dxm.icure.dev",
                                        "2024-01-01",
                                        "2024-01-01T10:00:00Z",
                                        "2024-01-01T10:00:00+02:00",
                                        "2024-01-01T00:00:00Z",
                                        "2013-04-03T15:30:10.000Z",
                                        "1974",
                                        "mobile",
                                        "phone",
                                        "sms",
                                        "email",
                                        "home",
                                        "work",
                                        "old",
                                        "temp",
                                        "official",
                                        "usual",
                                        "female",
                                        "other",
                                        "final",
                                        "a\nb",
                                        "Patient/x",
                                        "mmHg"};
  switch (prng.below(9)) {
    case 0: return nullptr;
    case 1: return prng.chance(0.5);
    case 2: return static_cast<std::int64_t>(prng.between(-3, 3));
    case 3: return 1.5;
    case 4: return std::int64_t{3000000000};
    case 5: return json::object{};
    case 6: return json::array{};
    default: return strings[prng.below(std::size(strings))];
  }
}

void mutate(json::value& root, synthetic::Prng& prng) {
  static const char* const keys[] = {"display",
                                     "text",
                                     "extension",
                                     "period",
                                     "use",
                                     "system",
                                     "version",
                                     "code",
                                     "value",
                                     "valueString",
                                     "valueInteger",
                                     "valueDateTime",
                                     "valueBoolean",
                                     "issued",
                                     "note",
                                     "meta",
                                     "tag",
                                     "line",
                                     "given",
                                     "family",
                                     "deceasedBoolean",
                                     "rank",
                                     "interpretation",
                                     "referenceRange",
                                     "effectiveInstant",
                                     "component",
                                     "versionId",
                                     "lastUpdated",
                                     "city",
                                     "reference",
                                     "coding",
                                     "category",
                                     "identifier",
                                     "telecom",
                                     "address",
                                     "name",
                                     "gender",
                                     "birthDate",
                                     "active",
                                     "subject"};
  std::vector<json::value*> nodes;
  collect(root, nodes);
  json::value& node = *nodes[prng.below(nodes.size())];
  switch (prng.below(6)) {
    case 0:  // replace the node (but keep the root an object)
      if (&node != &root) node = random_value(prng);
      break;
    case 1:  // add or overwrite a key
      if (node.is_object())
        node.get_object()[keys[prng.below(std::size(keys))]] = random_value(prng);
      break;
    case 2:  // remove a key
      if (node.is_object() && !node.get_object().empty()) {
        auto& o = node.get_object();
        o.erase(std::next(o.begin(), static_cast<std::ptrdiff_t>(prng.below(o.size()))));
      }
      break;
    case 3:  // duplicate or drop an array element
      if (node.is_array() && !node.get_array().empty()) {
        auto& a = node.get_array();
        const std::size_t i = prng.below(a.size());
        if (prng.chance(0.5))
          a.push_back(json::value(a[i]));
        else
          a.erase(a.begin() + static_cast<std::ptrdiff_t>(i));
      }
      break;
    case 4:  // a nested copy of a sibling structure under a known key
      if (node.is_object())
        node.get_object()[keys[prng.below(std::size(keys))]] =
            json::array{json::object{{keys[prng.below(std::size(keys))], random_value(prng)}}};
      break;
    default:  // wrap in an array / object
      if (&node != &root) node = prng.chance(0.5) ? json::value(json::array{node}) : node;
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(residual_fast_path)

BOOST_AUTO_TEST_CASE(fixtures_and_synthetic_resources_map_the_same_either_way) {
  Counts counts;
  for (const auto& f : fixtures()) check_same(f, counts);
  synthetic::Prng prng(7);
  synthetic::Generator generator(prng);
  for (int i = 0; i < 100; ++i) {
    json::value patient = generator.patient();
    check_same(patient, counts);
    const std::string id(patient.at("id").as_string());
    for (int k = 0; k < 3; ++k) check_same(generator.observation(id), counts);
  }
  BOOST_TEST(counts.mapped > 300u);
}

// Inputs next to what the fast path must not prove (each has a residual).
BOOST_AUTO_TEST_CASE(directed_cases_map_the_same_either_way) {
  Counts counts;
  const char* const cases[] = {
      // a category/meta tag whose type is the status tag's: read back as the status
      R"({"resourceType":"Observation","status":"final","code":{"text":"t"},
          "category":[{"coding":[{"system":"http://hl7.org/fhir/observation-status","code":"amended"}]}]})",
      R"({"resourceType":"Observation","status":"final","code":{"text":"t"},
          "meta":{"tag":[{"system":"http://hl7.org/fhir/observation-status","code":"x"}]}})",
      R"({"resourceType":"Observation","status":"final","code":{"text":"t"},
          "valueCodeableConcept":{"coding":[{"system":"http://hl7.org/fhir/observation-status","code":"x"}]}})",
      R"({"resourceType":"Observation","status":"final","code":{"coding":[{"system":"LOINC","code":"1"}]}})",
      R"({"resourceType":"Observation","status":"final","code":{},"valueInteger":3000000000})",
      R"({"resourceType":"Observation","status":"final","code":{"text":"t"},"valueInteger":3000000000})",
      R"({"resourceType":"Observation","status":"final","code":{"text":"t"},"valueInteger":2.0})",
      R"({"resourceType":"Observation","status":"final","code":{"text":"t"},
          "effectiveDateTime":"2024-01-01T10:00:00+02:00","issued":"2024-01-01T10:00:00Z"})",
      R"({"resourceType":"Observation","status":"final","code":{"text":"t"},
          "effectiveDateTime":"2024-01-01T00:00:00Z","valueDateTime":"2024-01-01"})",
      R"({"resourceType":"Observation","status":"final","code":{"text":"t"},"category":[{"coding":[]}],
          "note":[{"text":"a"},{"text":"b"}],"subject":{"reference":"Patient/1","display":"x"}})",
      R"({"resourceType":"Observation","status":"final","code":{"text":"t"},"identifier":[{"system":"https://dxm.icure.dev","value":"x"}]})",
      R"({"resourceType":"Observation","status":"final","code":{"text":"t"},"valueQuantity":{"value":1,"system":"LOINC"},
          "interpretation":[{"coding":[{"code":"H"}]}]})",
      R"({"resourceType":"Patient","telecom":[{"system":"phone","value":"1","use":"work"},
          {"system":"email","value":"2","use":"home"},{"system":"phone","value":"3","use":"work"}],
          "address":[{"use":"home","city":"A"},{"use":"work","line":["a\nb"]}]})",
      R"({"resourceType":"Patient","telecom":[{"system":"sms","value":"1"}],"address":[{"use":"home"}]})",
      R"({"resourceType":"Patient","telecom":[{"system":"phone","value":"1","use":"mobile"}],
          "address":[{"use":"work","city":"A"}],"name":[{"family":"F","period":{"start":"2020"}}]})",
      R"({"resourceType":"Patient","gender":"other","birthDate":"1974-12","deceasedBoolean":false,
          "name":[{"use":"nickname","given":[]}],"active":true,"meta":{"versionId":"1","tag":[{"code":"a"}]}})",
      R"({"resourceType":"Patient","address":[{"line":[""]},{"use":"old","city":"A"}],"telecom":[]})",
      R"({"resourceType":"Patient","name":[{"family":null,"given":["A"]},{"text":null}],
          "telecom":[{"system":"phone","value":null}],"address":[{"city":"A","line":null}]})",
      R"({"resourceType":"Observation","status":"final","code":{"text":"t","coding":null},
          "subject":{"reference":null},"valueQuantity":{"value":1,"unit":null},"note":[{"text":null}]})",
      R"({"resourceType":"Patient","address":[{"use":"home","line":["x","y",""]},{"line":["x"]}],
          "telecom":[{"system":"phone","value":"1","use":"home"},{"system":"email","value":"2"}]})",
      R"({"resourceType":"Patient","address":[{"use":"home","line":["x","y"]}],
          "telecom":[{"system":"phone","value":"1","use":"mobile"}],"gender":"male"})",
  };
  for (const char* text : cases) check_same(json::parse(text), counts);
  BOOST_TEST(counts.mapped == std::size(cases));
}

BOOST_AUTO_TEST_CASE(mutated_resources_map_the_same_either_way) {
  Counts counts;
  std::vector<json::value> seeds = fixtures();
  synthetic::Prng prng(11);
  synthetic::Generator generator(prng);
  for (int i = 0; i < 40; ++i) {
    json::value patient = generator.patient();
    const std::string id(patient.at("id").as_string());
    seeds.push_back(patient);
    for (int k = 0; k < 3; ++k) seeds.emplace_back(generator.observation(id));
  }
  for (const auto& seed : seeds)
    for (int round = 0; round < 40; ++round) {
      json::value v = seed;
      const std::uint64_t mutations = 1 + prng.below(3);
      for (std::uint64_t m = 0; m < mutations; ++m) mutate(v, prng);
      check_same(v, counts);
    }
  // Enough of the mutants still map for both branches to be exercised.
  BOOST_TEST(counts.mapped > counts.cases / 4);
  BOOST_TEST_MESSAGE("mutants: " << counts.cases << ", mapped: " << counts.mapped);
}

// Error paths are built only on error (sub-mappings run at a relative path):
// they must still name the full FHIR path of the bad field.
BOOST_AUTO_TEST_CASE(error_paths_name_the_bad_field) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"resourceType":"Observation","status":"final","code":{"text":"t"},
           "component":[{"code":{"text":"a"}},{"valueString":"x"}]})",
       "Observation.component[1].code"},
      {R"({"resourceType":"Observation","status":"final","code":{"text":"t"},
           "category":[{"coding":[{"code":"a"},{"system":1}]}]})",
       "Observation.category[0].coding[1].system"},
      {R"({"resourceType":"Observation","status":"final","code":{"coding":[{"display":true}]}})",
       "Observation.code.coding[0].display"},
      {R"({"resourceType":"Observation","status":"final","code":{"text":"t"},
           "valueQuantity":{"value":"1"}})",
       "Observation.valueQuantity.value"},
      {R"({"resourceType":"Observation","status":"final","code":{"text":"t"},
           "effectiveDateTime":"2024-13-01"})",
       "Observation.effectiveDateTime"},
      {R"({"resourceType":"Observation","status":"final","code":{"text":"t"},
           "identifier":[{"value":"a"},{"period":{"start":"x"}}]})",
       "Observation.identifier[1].period.start"},
      {R"({"resourceType":"Observation","status":"final","code":{"text":"t"},
           "meta":{"tag":[{"code":2}]}})",
       "Observation.meta.tag[0].code"},
      {R"({"resourceType":"Observation","status":"final","code":{"text":"t"},"note":[{"text":1}]})",
       "Observation.note[0].text"},
      {R"({"resourceType":"Patient","telecom":[{"system":"phone"},{"system":"nope"}]})",
       "Patient.telecom[1].system"},
      {R"({"resourceType":"Patient","address":[{"city":"A"},{"line":[1]}]})",
       "Patient.address[1].line[0]"},
      {R"({"resourceType":"Patient","name":[{"family":"F"},{"period":{"end":"2020-02-30"}}]})",
       "Patient.name[1].period.end"},
      {R"({"resourceType":"Patient","identifier":[{"type":{"coding":[{"system":[]}]}}]})",
       "Patient.identifier[0].type.coding[0].system"},
      {R"({"resourceType":"Patient","birthDate":"1974-02-30"})", "Patient.birthDate"},
  };
  const MappingContext ctx = make_fixed_context();
  for (const auto& [text, path] : cases) {
    const json::value v = json::parse(text);
    const Status status = v.at("resourceType") == "Patient"
                              ? fhir_patient_to_icure(v, ctx).status()
                              : fhir_observation_to_icure(v, ctx).status();
    BOOST_TEST(!status.ok(), text);
    BOOST_TEST(status.path() == path, text << ": " << status.to_string());
  }
}

// The fast path compares dates without building them: same answer as
// building them and comparing.
BOOST_AUTO_TEST_CASE(fhir_date_time_is_matches_fhir_date_time) {
  const std::int64_t dates[] = {0,
                                -1,
                                1974,
                                19740000,
                                19741200,
                                19741225,
                                19741232,
                                19740230,
                                20240229,
                                20230229,
                                99991231,
                                99991232,
                                20241101094800,
                                20241101000000,
                                20241101235960,
                                20241101240000,
                                20241100094800,
                                19740000094800,
                                100000000000000,
                                INT64_MAX,
                                INT64_MIN};
  for (std::int64_t d : dates) {
    const auto text = detail::fhir_date_time(d);
    std::vector<std::string> candidates = {"", "2024-11-01", "2024-11-01T09:48:00Z",
                                           "2024-11-01T09:48:00+01:00", "1974-12-25"};
    if (text) {
      candidates.push_back(*text);
      candidates.push_back(*text + "Z");
      candidates.push_back(text->substr(0, text->size() - 1));
      std::string changed = *text;
      changed.back() = changed.back() == '0' ? '1' : '0';
      candidates.push_back(changed);
    }
    for (const auto& candidate : candidates)
      BOOST_TEST(detail::fhir_date_time_is(d, candidate) == (text && *text == candidate),
                 d << " vs '" << candidate << "'");
  }
}

// json_writer (raw cursor, word-at-a-time escaping) writes what
// serialize(to_json(x)) writes, for strings of every length around the 8-byte
// steps and for doubles.
BOOST_AUTO_TEST_CASE(json_writer_matches_boost_serialize) {
  synthetic::Prng prng(3);
  const char alphabet[] = {'a',    'Z',    '"', '\\',   '\n',   '\x01',
                           '\x1f', '\x7f', ' ', '\xc3', '\xa9', '/'};
  for (int i = 0; i < 2000; ++i) {
    icure::CodeStub stub;
    std::string text;
    const std::uint64_t length = prng.below(i % 4 == 0 ? 80 : 40);
    for (std::uint64_t k = 0; k < length; ++k)
      text += prng.chance(0.9) ? static_cast<char>('a' + prng.below(26))
                               : alphabet[prng.below(sizeof alphabet)];
    if (i % 100 == 0)  // past to_string's 4 KiB stack buffer, once or several times
      while (text.size() < 3000 * (1 + static_cast<std::size_t>(i % 700) / 100)) text += text + "x";
    stub.code = text;
    stub.label = std::map<std::string, std::string>{{text, text}};
    stub.extra[text] = text;
    BOOST_REQUIRE_EQUAL(json_writer::to_string(stub), json::serialize(json_io::to_json(stub)));
    std::string appended = "[1,";  // write() appends to what is there
    json_writer::write(appended, stub);
    BOOST_REQUIRE_EQUAL(appended, "[1," + json::serialize(json_io::to_json(stub)));
    icure::Measure m;
    const double values[] = {prng.unit() * 1000,
                             -prng.unit(),
                             1e300 * prng.unit(),
                             1e-300,
                             static_cast<double>(prng.between(-1000000, 1000000)) / 8,
                             9.0e15,
                             -0.0,
                             12.0,
                             6.3};
    m.value = values[prng.below(std::size(values))];
    m.min = prng.unit() * 1e20;
    const std::int64_t integers[] = {0,
                                     7,
                                     -7,
                                     prng.between(-1000000, 1000000),
                                     static_cast<std::int64_t>(prng.next()),
                                     static_cast<std::int64_t>(prng.next() >> prng.below(64)),
                                     -static_cast<std::int64_t>(prng.next() >> 1),
                                     INT64_MIN,
                                     INT64_MAX,
                                     99999999,
                                     100000000,
                                     1700000000000,
                                     20241101094800};
    m.severity = integers[prng.below(std::size(integers))];
    BOOST_REQUIRE_EQUAL(json_writer::to_string(m), json::serialize(json_io::to_json(m)));
  }
}

BOOST_AUTO_TEST_SUITE_END()
