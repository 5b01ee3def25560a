// Bulk export, and export -> import into an empty store -> export.
#include <sqlite3.h>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <thread>

#include "bulk_fixture.hpp"

using namespace fhirbridge;
using namespace fhirbridge::test;
namespace bulk = fhirbridge::server::bulk;
namespace json = boost::json;

namespace {

std::vector<json::object> parse_lines(const std::string& ndjson) {
  std::vector<json::object> out;
  std::istringstream in(ndjson);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line).as_object());
  return out;
}

// The resources of an export "modulo ids": ids, meta and the FHIR-id
// identifiers dropped, each Observation's subject replaced by its patient's
// normalised content; sorted, so store order does not matter.
std::vector<std::string> normalised(const std::string& ndjson, const std::string& fhir_id_system) {
  auto resources = parse_lines(ndjson);
  auto strip = [&](json::object r) {
    r.erase("id");
    r.erase("meta");
    if (auto* ids = r.if_contains("identifier"); ids && ids->is_array()) {
      json::array kept;
      for (const auto& id : ids->as_array())
        if (!id.is_object() || !id.as_object().contains("system") ||
            id.as_object().at("system") != json::value(fhir_id_system))
          kept.push_back(id);
      if (kept.empty())
        r.erase("identifier");
      else
        r["identifier"] = std::move(kept);
    }
    return r;
  };
  std::map<std::string, std::string> patient_by_id;
  for (const auto& r : resources)
    if (r.at("resourceType") == "Patient")
      patient_by_id["Patient/" + std::string(r.at("id").as_string())] = json::serialize(strip(r));
  std::vector<std::string> out;
  for (const auto& r : resources) {
    json::object n = strip(r);
    if (n.at("resourceType") == "Observation" && n.contains("subject")) {
      const std::string ref(n["subject"].as_object()["reference"].as_string());
      n["subject"].as_object()["reference"] =
          patient_by_id.count(ref) ? patient_by_id[ref] : "?" + ref;
    }
    out.push_back(json::serialize(n));
  }
  std::sort(out.begin(), out.end());
  return out;
}

bulk::ExportOptions page_size(std::size_t n) {
  bulk::ExportOptions o;
  o.page_size = n;
  return o;
}
bulk::ExportOptions types(std::vector<std::string> t) {
  bulk::ExportOptions o;
  o.types = std::move(t);
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bulk_export)

BOOST_AUTO_TEST_CASE(exports_patients_then_observations_as_ndjson) {
  BulkStore s;
  BOOST_REQUIRE(s.import_text(generated_ndjson(6, 2)).stored() == 18u);
  const auto lines = parse_lines(s.export_text(page_size(4)));  // several pages
  BOOST_REQUIRE(lines.size() == 18u);
  for (std::size_t i = 0; i < lines.size(); ++i)
    BOOST_TEST(lines[i].at("resourceType") == (i < 6 ? "Patient" : "Observation"));
  const auto only_patients = parse_lines(s.export_text(types({"Patient"})));
  BOOST_TEST(only_patients.size() == 6u);
}

BOOST_AUTO_TEST_CASE(an_unknown_type_is_refused) {
  BulkStore s;
  std::ostringstream out;
  auto r = bulk::export_ndjson(*s.store, s.who, s.mapping, out, types({"Encounter"}));
  BOOST_TEST(!r.ok());
}

BOOST_AUTO_TEST_CASE(export_import_export_gives_the_same_resources) {
  BulkStore first;
  BOOST_REQUIRE(first.import_text(generated_ndjson(12, 3, 99)).stored() == 48u);
  const std::string exported = first.export_text();

  BulkStore second;
  const auto summary = second.import_text(exported);
  BOOST_TEST_INFO(summary.to_string());
  BOOST_TEST(summary.failed == 0u);
  BOOST_TEST(summary.stored() == 48u);
  const std::string again = second.export_text();

  const std::string& system = first.mapping.settings.fhir_id_system;
  const auto a = normalised(exported, system), b = normalised(again, system);
  BOOST_REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) BOOST_TEST(a[i] == b[i]);

  // And re-importing the export into the second store stores nothing new.
  BOOST_TEST(second.import_text(exported).stored() == 0u);
}

// Incremental export (docs/bulk.md): since_ms keeps what changed at or after
// it, new or updated; write_fence_time, taken before an export, is the next
// one's since_ms. The sleeps keep the writes and the fence in distinct
// milliseconds of the store's clock.
BOOST_AUTO_TEST_CASE(since_exports_what_changed_at_or_after_the_fence) {
  BulkStore s;
  BOOST_REQUIRE(s.import_text(generated_ndjson(4, 1, 7)).stored() == 8u);
  storage::PatientQuery first;
  first.page.limit = 1;
  auto old = s.store->find_patients(s.who, first);
  BOOST_REQUIRE(old.ok());
  BOOST_REQUIRE(old->items.size() == 1u);
  icure::Patient changed = old->items.front();
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  const auto fence = s.store->write_fence_time();
  BOOST_REQUIRE(fence.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(3));

  bulk::ExportOptions since;
  since.since_ms = *fence;
  BOOST_TEST(s.export_text(since).empty());  // nothing changed yet

  BOOST_REQUIRE(s.import_text(generated_ndjson(1, 2, 8)).stored() == 3u);  // new
  changed.lastName = "Changed";
  BOOST_REQUIRE(s.store->update_patient(s.who, changed).ok());
  const auto lines = parse_lines(s.export_text(since));
  BOOST_REQUIRE(lines.size() == 4u);  // the new patient, the updated one, 2 observations
  BOOST_TEST(lines[0].at("resourceType") == "Patient");
  BOOST_TEST(lines[1].at("resourceType") == "Patient");
  BOOST_TEST(lines[2].at("resourceType") == "Observation");
  BOOST_TEST(lines[3].at("resourceType") == "Observation");
  const bool updated_is_there = std::any_of(lines.begin(), lines.begin() + 2, [&](const auto& r) {
    return r.at("id").as_string() == *changed.id;
  });
  BOOST_TEST(updated_is_there);
  BOOST_TEST(parse_lines(s.export_text()).size() == 11u);  // without since_ms: everything

  // Taken after these writes, the fence is past every one of them.
  const auto later = s.store->write_fence_time();
  BOOST_REQUIRE(later.ok());
  BOOST_TEST(*later >= *fence);
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  since.since_ms = *later + 1;
  BOOST_TEST(s.export_text(since).empty());
}

// The fence is read under the database's write lock: while another
// connection (another process, say a server on the same file) holds it, with a
// write stamped but not committed, write_fence_time waits for it.
BOOST_AUTO_TEST_CASE(the_fence_waits_for_a_write_in_progress) {
  BulkStore s;
  sqlite3* other = nullptr;
  BOOST_REQUIRE(sqlite3_open((s.dir.path() / "store.db").c_str(), &other) == SQLITE_OK);
  BOOST_REQUIRE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  std::atomic<bool> returned{false};
  auto fence = std::async(std::launch::async, [&] {
    auto time = s.store->write_fence_time();
    returned = true;
    return time;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  BOOST_TEST(!returned.load());
  BOOST_REQUIRE(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  BOOST_TEST(fence.get().ok());
  sqlite3_close(other);
}

// Held past the store's busy timeout, the lock makes the fence fail as
// unavailable (export exits 1 with that message) instead of waiting forever;
// once the lock is released the fence works again.
BOOST_AUTO_TEST_CASE(the_fence_gives_up_past_the_busy_timeout) {
  BulkStore s("store.db", std::chrono::milliseconds(100));
  BOOST_REQUIRE(s.import_text(generated_ndjson(2, 1)).stored() == 4u);
  sqlite3* other = nullptr;
  BOOST_REQUIRE(sqlite3_open((s.dir.path() / "store.db").c_str(), &other) == SQLITE_OK);
  BOOST_REQUIRE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  const auto refused = s.store->write_fence_time();
  BOOST_REQUIRE(!refused.ok());
  BOOST_TEST_INFO(refused.status().to_string());
  BOOST_TEST((refused.status().code() == StatusCode::unavailable));
  BOOST_REQUIRE(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(other);
  BOOST_TEST(s.store->write_fence_time().ok());
  BOOST_TEST(parse_lines(s.export_text()).size() == 4u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(bulk_generator)

BOOST_AUTO_TEST_CASE(same_seed_same_data_other_seed_other_data) {
  BOOST_TEST(generated_ndjson(5, 3, 1) == generated_ndjson(5, 3, 1));
  BOOST_TEST(generated_ndjson(5, 3, 1) != generated_ndjson(5, 3, 2));
}

BOOST_AUTO_TEST_CASE(observations_are_loinc_with_ucum_units_and_reference_their_patient) {
  synthetic::Prng prng(3);
  synthetic::Generator generator(prng);
  const auto patient = generator.patient();
  BOOST_TEST(patient.at("resourceType") == "Patient");
  BOOST_TEST(patient.at("birthDate").as_string().size() == 10u);
  const std::string id(patient.at("id").as_string());
  const auto& codes = synthetic::Generator::loinc_codes();
  for (int i = 0; i < 200; ++i) {
    const auto o = generator.observation(id);
    BOOST_TEST(o.at("subject").at("reference") == json::value("Patient/" + id));
    const auto& coding = o.at("code").at("coding").at(0);
    BOOST_TEST(coding.at("system") == "http://loinc.org");
    BOOST_TEST(std::count(codes.begin(), codes.end(), std::string(coding.at("code").as_string())) ==
               1);
    const json::value* q = o.if_contains("valueQuantity");
    if (!q) q = &o.at("component").at(0).at("valueQuantity");
    BOOST_TEST(q->at("system") == "http://unitsofmeasure.org");
    BOOST_TEST(!q->at("code").as_string().empty());
  }
}

BOOST_AUTO_TEST_CASE(prng_is_portable_and_unbiased_enough) {
  synthetic::Prng a(123), b(123);
  for (int i = 0; i < 100; ++i) BOOST_TEST(a.next() == b.next());
  synthetic::Prng p(5);
  int counts[10] = {};
  for (int i = 0; i < 100000; ++i) ++counts[p.below(10)];
  for (int c : counts) BOOST_TEST((c > 9500 && c < 10500));
}

BOOST_AUTO_TEST_SUITE_END()
