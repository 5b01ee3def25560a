// Bulk NDJSON / Bundle import into a real encrypted SqliteStore.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <streambuf>
#include <thread>
#include <vector>

#include "bulk_fixture.hpp"
#include "storage/faulty_store.hpp"

using namespace fhirbridge;
using namespace fhirbridge::test;
namespace bulk = fhirbridge::server::bulk;

BOOST_AUTO_TEST_SUITE(bulk_import)

namespace {
bulk::ImportOptions batch(std::size_t size) {
  bulk::ImportOptions o;
  o.batch_size = size;
  return o;
}
bulk::ImportOptions stop_on_error() {
  bulk::ImportOptions o;
  o.on_error = bulk::OnError::stop;
  return o;
}
}  // namespace

BOOST_AUTO_TEST_CASE(imports_a_generated_file) {
  BulkStore s;
  const auto summary = s.import_text(generated_ndjson(25, 4), batch(16));
  BOOST_TEST_INFO(summary.to_string());
  BOOST_TEST(summary.status.ok());
  BOOST_TEST(summary.resources_read == 125u);
  BOOST_TEST(summary.patients_stored == 25u);
  BOOST_TEST(summary.observations_stored == 100u);
  BOOST_TEST(summary.failed == 0u);
  BOOST_TEST(s.patient_count() == 25);
  BOOST_TEST(s.contact_count() == 100);
}

BOOST_AUTO_TEST_CASE(the_summary_counts_in_words) {
  BulkStore s;
  const auto summary = s.import_text(generated_ndjson(1, 2));
  BOOST_TEST(summary.to_string().find("read 3 resources; stored 1 patient and 2 observations") ==
             0u);
  bulk::ExportSummary exported{1, 1};
  BOOST_TEST(exported.to_string() == "1 patient, 1 observation");
  exported = {0, 2};
  BOOST_TEST(exported.to_string() == "0 patients, 2 observations");
}

BOOST_AUTO_TEST_CASE(re_importing_stores_nothing_twice) {
  BulkStore s;
  const std::string file = generated_ndjson(10, 3);
  BOOST_TEST(s.import_text(file).stored() == 40u);
  const auto again = s.import_text(file, batch(7));
  BOOST_TEST_INFO(again.to_string());
  BOOST_TEST(again.status.ok());
  BOOST_TEST(again.stored() == 0u);
  BOOST_TEST(again.skipped_existing == 40u);
  BOOST_TEST(s.patient_count() == 10);
  BOOST_TEST(s.contact_count() == 30);
}

BOOST_AUTO_TEST_CASE(the_same_resource_twice_in_one_file_is_stored_once) {
  BulkStore s;
  const std::string file = generated_ndjson(3, 2);
  const auto summary = s.import_text(file + file);
  BOOST_TEST(summary.stored() == 9u);
  BOOST_TEST(summary.skipped_existing == 9u);
  BOOST_TEST(s.patient_count() == 3);
}

BOOST_AUTO_TEST_CASE(an_observation_before_its_patient_is_stored) {
  BulkStore s;
  const std::string observation =
      R"({"resourceType":"Observation","id":"obs-early","status":"final",)"
      R"("code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},)"
      R"("subject":{"reference":"Patient/late"},"effectiveDateTime":"2024-01-02T10:00:00Z",)"
      R"("valueQuantity":{"value":72,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}})";
  const std::string patient =
      R"({"resourceType":"Patient","id":"late","name":[{"family":"Lefèvre","given":["Zoë"]}]})";
  // Batches of one: the observation's batch is committed before the patient is read.
  const auto summary = s.import_text(observation + "\n" + patient + "\n", batch(1));
  BOOST_TEST_INFO(summary.to_string());
  BOOST_TEST(summary.failed == 0u);
  BOOST_TEST(summary.patients_stored == 1u);
  BOOST_TEST(summary.observations_stored == 1u);
  storage::ContactQuery q;
  auto contacts = s.store->find_contacts(s.who, q);
  BOOST_REQUIRE(contacts.ok());
  BOOST_REQUIRE(contacts->items.size() == 1u);
  auto patient_stored = s.store->get_patient(s.who, contacts->items[0].patient_id);
  BOOST_REQUIRE(patient_stored.ok());
  BOOST_TEST(*patient_stored->identifier->at(0).value == "late");
}

namespace {
// Line 1 good, 2 not JSON, 3 bad birthDate, 4 observation of an unknown patient,
// 5 not a resource, 6 good, 7 observation of line 6's patient.
std::string file_with_bad_lines() {
  return R"({"resourceType":"Patient","id":"p1","name":[{"family":"Dupont"}]})"
         "\n{not json\n"
         R"({"resourceType":"Patient","id":"p2","birthDate":"1974-13-40"})"
         "\n"
         R"({"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},)"
         R"("subject":{"reference":"Patient/nobody"},"valueQuantity":{"value":1}})"
         "\n[1,2]\n"
         R"({"resourceType":"Patient","id":"p3","name":[{"family":"Müller"}]})"
         "\n"
         R"({"resourceType":"Observation","id":"o2","status":"final",)"
         R"("code":{"coding":[{"system":"http://loinc.org","code":"718-7"}]},)"
         R"("subject":{"reference":"Patient/p3"},"valueQuantity":{"value":13.5,"unit":"g/dL",)"
         R"("system":"http://unitsofmeasure.org","code":"g/dL"}})"
         "\n";
}
}  // namespace

BOOST_AUTO_TEST_CASE(bad_lines_are_reported_with_their_line_and_skipped) {
  BulkStore s;
  std::vector<bulk::ImportIssue> reported;
  const auto summary = s.import_text(file_with_bad_lines(), [&] {
    bulk::ImportOptions o;
    o.on_issue = [&](const bulk::ImportIssue& i) { reported.push_back(i); };
    return o;
  }());
  BOOST_TEST_INFO(summary.to_string());
  BOOST_TEST(summary.status.ok());
  BOOST_TEST(summary.patients_stored == 2u);
  BOOST_TEST(summary.observations_stored == 1u);
  BOOST_TEST(summary.failed == 4u);
  std::vector<std::size_t> lines;
  for (const auto& i : summary.issues) lines.push_back(i.line);
  std::sort(lines.begin(), lines.end());
  BOOST_TEST(lines == (std::vector<std::size_t>{2, 3, 4, 5}), boost::test_tools::per_element());
  BOOST_TEST(reported.size() == 4u);
  for (const auto& i : summary.issues) {
    BOOST_TEST_MESSAGE(i.to_string());
    if (i.line == 3) BOOST_TEST(i.status.path().find("birthDate") != std::string::npos);
    if (i.line == 4) BOOST_TEST(i.to_string().find("nobody") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(on_error_stop_stops_at_the_first_bad_line) {
  BulkStore s;
  const auto summary = s.import_text(file_with_bad_lines(), stop_on_error());
  BOOST_TEST_INFO(summary.to_string());
  BOOST_TEST(summary.stopped);
  BOOST_TEST(!summary.status.ok());
  BOOST_TEST(summary.status.message().find("line 2") != std::string::npos);
  BOOST_TEST(summary.failed == 1u);
  BOOST_TEST(summary.patients_stored == 1u);  // line 1, read before the bad line
  BOOST_TEST(s.patient_count() == 1);
}

// Reading runs ahead on its own thread (read_ahead.hpp): what it read past
// the bad line must not show in the summary, nor be stored.
BOOST_AUTO_TEST_CASE(reading_ahead_counts_nothing_past_where_the_import_stopped) {
  BulkStore s;
  const auto summary =
      s.import_text(file_with_bad_lines() + generated_ndjson(100, 2), stop_on_error());
  BOOST_TEST_INFO(summary.to_string());
  BOOST_TEST(summary.stopped);
  BOOST_TEST(summary.resources_read == 1u);  // line 1; line 2 is not JSON
  BOOST_TEST(summary.failed == 1u);
  BOOST_TEST(summary.stored() == 1u);
  BOOST_TEST(s.patient_count() == 1);
}

// A store that fails stops the import while the reader is blocked a batch
// ahead: the import returns (the reader is released and joined) and counts
// only the two batches it took.
BOOST_AUTO_TEST_CASE(a_failing_store_releases_the_reader_ahead) {
  BulkStore s;
  test::FaultyStore down(*s.store);
  auto options = batch(10);
  options.unavailable_retries = 0;
  down.fail_write(2, test::FaultyStore::When::before_write, StatusCode::unavailable);
  std::istringstream in(generated_ndjson(200, 4));  // 1000 resources, many chunks ahead
  const auto summary = bulk::import_stream(down, s.who, s.mapping, in, "input.ndjson", options);
  BOOST_TEST_INFO(summary.to_string());
  BOOST_TEST((summary.status.code() == StatusCode::unavailable));
  BOOST_TEST(summary.resources_read == 20u);
  BOOST_TEST(summary.stored() == 10u);
  BOOST_TEST(s.patient_count() + s.contact_count() == 10);
}

// Entity ids come from the mapping context on the reading thread only, in
// input order, so a deterministic context gives deterministic store ids
// whatever the timing of the two threads.
BOOST_AUTO_TEST_CASE(ids_are_drawn_by_the_reader_in_input_order) {
  BulkStore s;
  std::vector<std::thread::id> callers;  // only the reader appends
  int next = 0;
  s.mapping.new_id = [&] {
    callers.push_back(std::this_thread::get_id());
    char id[40];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", ++next);
    return std::string(id);
  };
  std::string input;
  for (const char* fhir_id : {"a", "b", "c"})
    input += std::string(R"({"resourceType":"Patient","id":")") + fhir_id +
             R"(","name":[{"family":"Martin"}]})" + "\n";
  const auto summary = s.import_text(input, batch(1));
  BOOST_TEST_INFO(summary.to_string());
  BOOST_TEST(summary.patients_stored == 3u);
  auto ids =
      s.store->patient_ids_by_identifier(s.who, s.mapping.settings.fhir_id_system, {"a", "b", "c"});
  BOOST_REQUIRE(ids.ok());
  BOOST_TEST(ids->at("a") == "00000000-0000-4000-8000-000000000001");
  BOOST_TEST(ids->at("b") == "00000000-0000-4000-8000-000000000002");
  BOOST_TEST(ids->at("c") == "00000000-0000-4000-8000-000000000003");
  BOOST_REQUIRE(!callers.empty());
  for (const auto& caller : callers) {
    BOOST_TEST((caller == callers.front()));
    BOOST_TEST((caller != std::this_thread::get_id()));
  }
}

namespace {
// Serves `text`, then fails as a dying disk would: its underflow throws.
struct FailingAfter : std::streambuf {
  explicit FailingAfter(std::string text) : text_(std::move(text)) {
    setg(text_.data(), text_.data(), text_.data() + text_.size());
  }
  int_type underflow() override { throw std::runtime_error("disk gone"); }
  std::string text_;
};
}  // namespace

// A source that fails while the reading thread reads it ends the import with
// an internal error in its summary, as it did on one thread: an unreadable
// stream is reported by name, and an exception thrown on the reading thread
// (a stream that rethrows) reaches the caller's summary, not std::terminate.
// What was read before is stored, also the part of a batch read before the
// failure, and the summary counts it.
BOOST_AUTO_TEST_CASE(a_source_failing_on_the_reading_thread_fails_the_import_cleanly) {
  for (const std::size_t batch_size : {4u, 64u})  // 40 resources: whole batches, then a part
    for (const bool rethrows : {false, true}) {
      BulkStore s;
      FailingAfter buffer(generated_ndjson(20, 1));
      std::istream in(&buffer);
      if (rethrows) in.exceptions(std::ios::badbit);
      const auto summary =
          bulk::import_stream(*s.store, s.who, s.mapping, in, "input.ndjson", batch(batch_size));
      BOOST_TEST_INFO(summary.to_string());
      BOOST_TEST((summary.status.code() == StatusCode::internal));
      BOOST_TEST(summary.status.message().find(rethrows ? "import failed: disk gone"
                                                        : "cannot read input.ndjson") !=
                 std::string::npos);
      BOOST_TEST(summary.resources_read == 40u);
      BOOST_TEST(summary.stored() == 40u);
      BOOST_TEST(s.patient_count() + s.contact_count() == 40);
    }
}

// The same while a pretty-printed document is being read: the failure is
// reported as the source's (not as a broken document).
BOOST_AUTO_TEST_CASE(a_source_failing_inside_a_pretty_printed_document_is_unreadable) {
  for (const bool rethrows : {false, true}) {
    BulkStore s;
    FailingAfter buffer("{\n  \"resourceType\": \"Bundle\",\n  \"type\": \"transaction\",\n");
    std::istream in(&buffer);
    if (rethrows) in.exceptions(std::ios::badbit);
    const auto summary =
        bulk::import_stream(*s.store, s.who, s.mapping, in, "bundle.json", batch(4));
    BOOST_TEST_INFO(summary.to_string());
    BOOST_TEST((summary.status.code() == StatusCode::internal));
    BOOST_TEST(summary.status.message().find(rethrows
                                                 ? "import failed: disk gone"
                                                 : "cannot read bundle.json") != std::string::npos);
    BOOST_TEST(summary.failed == 0u);
  }
}

// An exception on the writing side (bad_alloc inside a write) ends the import
// with an internal error; the summary still counts the batches stored before.
BOOST_AUTO_TEST_CASE(an_exception_while_writing_keeps_the_counts_of_what_was_stored) {
  BulkStore s;
  test::FaultyStore throwing(*s.store);
  int writes = 0;
  throwing.before_each_write = [&] {
    if (++writes == 3) throw std::bad_alloc();
  };
  std::istringstream in(generated_ndjson(50, 1));  // 100 resources, 10 batches
  auto options = batch(10);
  const auto summary = bulk::import_stream(throwing, s.who, s.mapping, in, "input.ndjson", options);
  BOOST_TEST_INFO(summary.to_string());
  BOOST_TEST((summary.status.code() == StatusCode::internal));
  BOOST_TEST(summary.status.message().find("import failed: ") == 0u);
  BOOST_TEST(summary.stored() == static_cast<std::size_t>(s.patient_count() + s.contact_count()));
  BOOST_TEST(summary.stored() == 20u);  // two batches of ten
}

BOOST_AUTO_TEST_CASE(imports_a_pretty_printed_transaction_bundle_file) {
  BulkStore s;
  const std::string bundle = R"({
  "resourceType": "Bundle", "type": "transaction",
  "entry": [
    {"fullUrl": "urn:uuid:0b7f3c66-4a27-4b8f-9f0e-7d1c2b9f1a01",
     "resource": {"resourceType": "Observation", "status": "final",
                  "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
                  "subject": {"reference": "urn:uuid:0b7f3c66-4a27-4b8f-9f0e-7d1c2b9f1a00"},
                  "valueQuantity": {"value": 71.5, "unit": "kg",
                                    "system": "http://unitsofmeasure.org", "code": "kg"}},
     "request": {"method": "POST", "url": "Observation"}},
    {"fullUrl": "urn:uuid:0b7f3c66-4a27-4b8f-9f0e-7d1c2b9f1a00",
     "resource": {"resourceType": "Patient", "name": [{"family": "Ørsted", "given": ["Élodie"]}]},
     "request": {"method": "POST", "url": "Patient"}}
  ]
})";
  const auto file = s.dir.path() / "bundle.json";
  write_file(file, bundle);
  const auto summary = bulk::import_files(*s.store, s.who, s.mapping, {file});
  BOOST_TEST_INFO(summary.to_string());
  BOOST_TEST(summary.status.ok());
  BOOST_TEST(summary.failed == 0u);
  BOOST_TEST(summary.patients_stored == 1u);
  BOOST_TEST(summary.observations_stored == 1u);
}

// A first line that is not a complete JSON value may start a pretty-printed
// Bundle; when the file turns out not to be one document, that line is a bad
// line and every line after it is still imported (they were all dropped), and
// the progress still ends at the file's size.
BOOST_AUTO_TEST_CASE(a_broken_first_line_does_not_swallow_the_lines_after_it) {
  const std::string good = generated_ndjson(30, 2);  // 90 resources
  for (const std::string broken :
       {R"({"resourceType":"Patient","name":[)", R"({"resourceType":"Pat)", "{", "{bad"}) {
    BulkStore s;
    const auto file = s.dir.path() / "broken.ndjson";
    write_file(file, broken + "\n" + good);
    std::vector<bulk::ImportIssue> issues;
    std::uint64_t bytes_read = 0, bytes_total = 0;
    bulk::ImportOptions options;
    options.on_issue = [&](const bulk::ImportIssue& issue) { issues.push_back(issue); };
    options.on_progress = [&](const bulk::ImportProgress& p) {
      bytes_read = p.bytes_read;
      bytes_total = p.bytes_total;
    };
    const auto summary = bulk::import_files(*s.store, s.who, s.mapping, {file}, options);
    BOOST_TEST_INFO(broken << ": " << summary.to_string());
    BOOST_TEST(summary.status.ok());
    BOOST_TEST(summary.failed == 1u);
    BOOST_REQUIRE(issues.size() == 1u);
    BOOST_TEST(issues[0].line == 1u);
    BOOST_TEST(summary.resources_read == 90u);
    BOOST_TEST(summary.stored() == 90u);
    BOOST_TEST(s.patient_count() + s.contact_count() == 90);
    BOOST_TEST(bytes_read == bytes_total);
    BOOST_TEST(bytes_total == broken.size() + 1 + good.size());
  }
}

// A pretty-printed document that breaks part way is one bad line, where it
// breaks (not one per line of it); the next file is still imported.
BOOST_AUTO_TEST_CASE(a_broken_pretty_printed_bundle_is_one_issue_where_it_breaks) {
  BulkStore s;
  const auto broken = s.dir.path() / "bundle.json";
  write_file(broken, R"({
  "resourceType": "Bundle", "type": "transaction",
  "entry": [
    {"resource": {"resourceType": "Patient", "name": [{"family": "Ørsted"}]}}
    {"resource": {"resourceType": "Patient", "name": [{"family": "Martin"}]}}
  ]
}
)");
  const auto next = s.dir.path() / "next.ndjson";
  write_file(next, generated_ndjson(2, 1));
  std::vector<bulk::ImportIssue> issues;
  bulk::ImportOptions options;
  options.on_issue = [&](const bulk::ImportIssue& issue) { issues.push_back(issue); };
  const auto summary = bulk::import_files(*s.store, s.who, s.mapping, {broken, next}, options);
  BOOST_TEST_INFO(summary.to_string());
  BOOST_TEST(summary.status.ok());
  BOOST_TEST(summary.failed == 1u);
  BOOST_REQUIRE(issues.size() == 1u);
  BOOST_TEST(issues[0].source == broken.string());
  BOOST_TEST(issues[0].line == 5u);
  BOOST_TEST(issues[0].status.message().find("not a JSON document") != std::string::npos);
  BOOST_TEST(summary.stored() == 4u);

  // Broken on its very first line: still one issue, not one per line.
  const auto first = s.dir.path() / "first.json";
  write_file(first, R"({ "resourceType": "Patient" "active": true,
  "name": [{"family": "Ørsted"}],
  "gender": "female"
}
)");
  issues.clear();
  const auto again = bulk::import_files(*s.store, s.who, s.mapping, {first}, options);
  BOOST_TEST_INFO(again.to_string());
  BOOST_TEST(again.failed == 1u);
  BOOST_REQUIRE(issues.size() == 1u);
  BOOST_TEST(issues[0].line == 1u);
}

// A line longer than ImportOptions::max_json_bytes is one bad line, read past
// without being kept; lines up to the limit (whatever their length against the
// reader's 16 KiB chunks) are imported. A pretty-printed document over the limit
// is one issue, and the next file is still imported.
BOOST_AUTO_TEST_CASE(lines_and_documents_over_the_json_limit_are_read_past) {
  // A Patient line of exactly `size` bytes.
  auto patient_of_size = [](std::size_t size) {
    const std::string head = R"({"resourceType":"Patient","name":[{"family":")", tail = R"("}]})";
    return head + std::string(size - head.size() - tail.size(), 'x') + tail;
  };
  constexpr std::size_t kLimit = 40000;
  const std::string good = generated_ndjson(10, 2);  // 30 resources
  const std::vector<std::string> fitting = {patient_of_size(16383), patient_of_size(16384),
                                            patient_of_size(16385), patient_of_size(kLimit)};
  const std::string too_long = patient_of_size(kLimit + 1), far_too_long(100000, '{');
  std::string text = too_long + "\n" + good;
  for (const auto& line : fitting) text += line + "\n";
  text += far_too_long + "\n" + too_long + "\n";
  BulkStore s;
  const auto file = s.dir.path() / "long.ndjson";
  write_file(file, text);
  std::vector<bulk::ImportIssue> issues;
  std::uint64_t bytes_read = 0;
  bulk::ImportOptions options;
  options.max_json_bytes = kLimit;
  options.on_issue = [&](const bulk::ImportIssue& issue) { issues.push_back(issue); };
  options.on_progress = [&](const bulk::ImportProgress& p) { bytes_read = p.bytes_read; };
  const auto summary = bulk::import_files(*s.store, s.who, s.mapping, {file}, options);
  BOOST_TEST_INFO(summary.to_string());
  BOOST_TEST(summary.status.ok());
  BOOST_TEST(summary.failed == 3u);
  BOOST_REQUIRE(issues.size() == 3u);
  const std::size_t first_after = 2 + 30 + fitting.size();
  BOOST_TEST(issues[0].line == 1u);
  BOOST_TEST(issues[1].line == first_after);
  BOOST_TEST(issues[2].line == first_after + 1);
  for (const auto& issue : issues) {
    BOOST_TEST((issue.status.code() == StatusCode::too_large));
    BOOST_TEST(issue.status.message().find("--max-json-bytes") != std::string::npos);
  }
  BOOST_TEST(summary.stored() == 30u + fitting.size());
  BOOST_TEST(bytes_read == text.size());

  // A broken first line, then one over the limit: NDJSON (a line over the limit
  // cannot belong to a document), both are bad lines and the rest is imported.
  {
    BulkStore fresh;
    const auto broken = fresh.dir.path() / "broken.ndjson";
    const std::string broken_text = "{bad\n" + too_long + "\n" + good;
    write_file(broken, broken_text);
    issues.clear();
    const auto after =
        bulk::import_files(*fresh.store, fresh.who, fresh.mapping, {broken}, options);
    BOOST_TEST_INFO(after.to_string());
    BOOST_TEST(after.failed == 2u);
    BOOST_REQUIRE(issues.size() == 2u);
    BOOST_TEST(issues[0].line == 1u);
    BOOST_TEST(issues[1].line == 2u);
    BOOST_TEST((issues[1].status.code() == StatusCode::too_large));
    BOOST_TEST(after.stored() == 30u);
    BOOST_TEST(bytes_read == broken_text.size());
  }

  // A pretty-printed Bundle over the limit: one issue where it goes over.
  std::string bundle = "{\"resourceType\": \"Bundle\", \"type\": \"transaction\",\n\"entry\": [\n";
  for (int i = 0; i < 20; ++i)
    bundle += (i ? ",\n" : "") + std::string("{\"resource\": ") + patient_of_size(3000) + "}";
  bundle += "\n]}\n";
  const auto big = s.dir.path() / "bundle.json";
  write_file(big, bundle);
  const auto next = s.dir.path() / "next.ndjson";
  write_file(next, generated_ndjson(2, 1));
  issues.clear();
  options.max_json_bytes = 10000;
  const auto pretty = bulk::import_files(*s.store, s.who, s.mapping, {big, next}, options);
  BOOST_TEST_INFO(pretty.to_string());
  BOOST_TEST(pretty.status.ok());
  BOOST_TEST(pretty.failed == 1u);
  BOOST_REQUIRE(issues.size() == 1u);
  BOOST_TEST(issues[0].source == big.string());
  BOOST_TEST(issues[0].line == 6u);  // lines 3-5 hold 3 entries (~9 KB), line 6 goes over
  BOOST_TEST((issues[0].status.code() == StatusCode::too_large));
  BOOST_TEST(pretty.stored() + pretty.skipped_existing == 4u);  // next.ndjson, read on
}

// The tutorial's transaction Bundle as saved (pretty-printed): its file counts
// as one JSON text against the limit, whole; under a limit it is one issue.
BOOST_AUTO_TEST_CASE(the_tutorials_bundle_file_against_the_json_limit) {
  const auto file = shared_dir() / "fixtures/seed/bundle-transaction.json";
  const auto size = std::filesystem::file_size(file);
  std::vector<bulk::ImportIssue> issues;
  bulk::ImportOptions options;
  options.on_issue = [&](const bulk::ImportIssue& issue) { issues.push_back(issue); };
  {
    BulkStore s;
    options.max_json_bytes = size;  // it fits exactly
    const auto summary = bulk::import_files(*s.store, s.who, s.mapping, {file}, options);
    BOOST_TEST_INFO(summary.to_string());
    BOOST_TEST(summary.resources_read == 2u);  // patient pat2 and observation f005
    BOOST_TEST(summary.patients_stored == 1u);
    for (const auto& issue : issues)  // if any: about the entries, not the size
      BOOST_TEST((issue.status.code() != StatusCode::too_large));
  }
  {
    BulkStore s;
    issues.clear();
    options.max_json_bytes = size / 2;
    const auto summary = bulk::import_files(*s.store, s.who, s.mapping, {file}, options);
    BOOST_TEST_INFO(summary.to_string());
    BOOST_TEST(summary.stored() == 0u);
    BOOST_TEST(summary.failed == 1u);
    BOOST_REQUIRE(issues.size() == 1u);
    BOOST_TEST((issues[0].status.code() == StatusCode::too_large));
  }
}

// A UTF-8 byte order mark before the first line (what Windows tools write) is
// ignored, in NDJSON and in a pretty-printed document.
BOOST_AUTO_TEST_CASE(a_byte_order_mark_is_ignored) {
  BulkStore s;
  const std::string bom = "\xEF\xBB\xBF";
  const auto ndjson = s.dir.path() / "bom.ndjson";
  write_file(ndjson, bom + generated_ndjson(3, 1));
  const auto pretty = s.dir.path() / "bom.json";
  write_file(pretty, bom + R"({
  "resourceType": "Patient", "id": "bom-1",
  "name": [{"family": "Ørsted", "given": ["Élodie"]}]
}
)");
  const auto summary = bulk::import_files(*s.store, s.who, s.mapping, {ndjson, pretty});
  BOOST_TEST_INFO(summary.to_string());
  BOOST_TEST(summary.failed == 0u);
  BOOST_TEST(summary.patients_stored == 4u);
  BOOST_TEST(summary.observations_stored == 3u);
}

BOOST_AUTO_TEST_CASE(patient_files_are_read_before_observation_files) {
  BulkStore s;
  const std::string all = generated_ndjson(5, 2);
  std::string patients, observations;
  std::istringstream in(all);
  for (std::string line; std::getline(in, line);)
    (line.rfind(R"({"resourceType":"Patient")", 0) == 0 ? patients : observations) += line + "\n";
  write_file(s.dir.path() / "Observation.ndjson", observations);
  write_file(s.dir.path() / "Patient.ndjson", patients);
  const auto summary =
      bulk::import_files(*s.store, s.who, s.mapping,
                         {s.dir.path() / "Observation.ndjson", s.dir.path() / "Patient.ndjson"});
  BOOST_TEST_INFO(summary.to_string());
  BOOST_TEST(summary.failed == 0u);
  BOOST_TEST(summary.stored() == 15u);
}

BOOST_AUTO_TEST_CASE(a_missing_file_is_an_error_not_a_crash) {
  BulkStore s;
  const auto summary =
      bulk::import_files(*s.store, s.who, s.mapping, {s.dir.path() / "nope.ndjson"});
  BOOST_TEST(!summary.status.ok());
  BOOST_TEST(summary.stored() == 0u);
}

// A batch refused as `unavailable` (another process held the write lock past
// the busy timeout) is tried again after a pause; past the retries the import
// fails, keeping the batches stored before.
BOOST_AUTO_TEST_CASE(a_batch_refused_as_unavailable_is_tried_again) {
  BulkStore s;
  test::FaultyStore flaky(*s.store);
  auto options = batch(10);
  options.unavailable_pause = std::chrono::milliseconds(1);
  flaky.fail_write(2, test::FaultyStore::When::before_write, StatusCode::unavailable);
  std::istringstream in(generated_ndjson(10, 3));
  auto summary = bulk::import_stream(flaky, s.who, s.mapping, in, "input.ndjson", options);
  BOOST_TEST_INFO(summary.to_string());
  BOOST_TEST(summary.status.ok());
  BOOST_TEST(summary.stored() == 40u);
  BOOST_TEST(s.contact_count() == 30);

  BulkStore t;
  test::FaultyStore down(*t.store);
  options.unavailable_retries = 0;
  down.fail_write(2, test::FaultyStore::When::before_write, StatusCode::unavailable);
  std::istringstream again(generated_ndjson(10, 3));
  summary = bulk::import_stream(down, t.who, t.mapping, again, "input.ndjson", options);
  BOOST_TEST((summary.status.code() == StatusCode::unavailable));
  BOOST_TEST(summary.stored() == 10u);  // the first batch
  BOOST_TEST(t.patient_count() + t.contact_count() == 10);
}

// `import --defer-indexes auto`: only a large input, at least about the size
// of the store (NDJSON grows ~9x into it), defers the search indexes.
BOOST_AUTO_TEST_CASE(deferring_the_search_indexes_pays_for_large_imports_only) {
  constexpr std::uint64_t MiB = 1u << 20;
  BOOST_TEST(bulk::defer_indexes_pays(120 * MiB, 0));            // into an empty store
  BOOST_TEST(bulk::defer_indexes_pays(120 * MiB, 900 * MiB));    // ~doubles it
  BOOST_TEST(!bulk::defer_indexes_pays(120 * MiB, 2000 * MiB));  // a small part of it
  BOOST_TEST(!bulk::defer_indexes_pays(8 * MiB, 0));             // too small to matter
  BOOST_TEST(!bulk::defer_indexes_pays(0, 0));                   // stdin: size unknown
}

BOOST_AUTO_TEST_CASE(unlock_principal_checks_password_and_key) {
  BulkStore s;
  icure::User user;
  user.id = "user-bulk";
  user.login = "bulk@example.org";
  user.healthcarePartyId = "hcp-bulk";
  user.passwordHash = crypto::hash_password("s3cret", s.rng);
  BOOST_REQUIRE(s.store->put_user(user).ok());
  const auto& keys = bulk_test_key_pair();
  const std::string key_hex =
      crypto::to_hex(keys.private_key_pkcs8.data(), keys.private_key_pkcs8.size()) + "\n";
  crypto::Keychain fresh;
  auto wrong = bulk::unlock_principal(*s.store, fresh, "bulk@example.org", "nope", key_hex);
  BOOST_TEST((wrong.status().code() == StatusCode::unauthorized));
  auto ok = bulk::unlock_principal(*s.store, fresh, "bulk@example.org", "s3cret", key_hex);
  BOOST_REQUIRE(ok.ok());
  BOOST_TEST(ok->hcp_id == "hcp-bulk");
  BOOST_TEST(fresh.contains("hcp-bulk"));
}

BOOST_AUTO_TEST_SUITE_END()
