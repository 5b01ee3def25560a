// Bulk import / export of FHIR resources (NDJSON, FHIR Bulk Data format: one
// resource per line; and Bundle files) into / out of any storage::Store.
// The `fhirbridge import|export` commands are thin wrappers over this; see
// docs/bulk.md.
//
// Import, in short:
//  - streaming: files are read line by line; resources are mapped and written
//    in Store::apply transactions of `batch_size` resources (all or nothing
//    each), patients before observations inside every batch;
//  - an Observation whose subject is neither stored nor already read is kept
//    aside and retried after every file was read (so a patient later in the
//    file still works); files whose first resource is a Patient are read first;
//  - idempotent: a resource whose FHIR id is already stored (as the FHIR-id
//    identifier of settings.fhir_id_system) is skipped, so re-running an
//    import stores nothing twice;
//  - bad lines (bad JSON, mapping errors, unknown subject) are reported with
//    their line number and either skipped or stop the import (OnError);
//  - parsing and mapping run on a reading thread up to a batch ahead of the
//    caller's thread, which looks up and writes; results are as if read on
//    one thread. The mapping context's new_id / now_ms are called from the
//    reading thread only: they must not share unlocked state with the store
//    (e.g. one non-thread-safe RNG for both).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fhirbridge/crypto/keychain.hpp"
#include "fhirbridge/mapping/context.hpp"
#include "fhirbridge/status.hpp"
#include "fhirbridge/storage/store.hpp"

namespace fhirbridge::server::bulk {

enum class OnError { skip, stop };

// One bad line / entry. `where` is "line 12" or "line 1, entry[3]" (Bundles).
struct ImportIssue {
  std::string source;  // the file as given ("-" = stdin)
  std::size_t line = 0;
  std::string where;
  Status status;
  std::string to_string() const;  // "data.ndjson line 12: Patient.birthDate: ..."
};

// Reported after every committed batch (and once at the end).
struct ImportProgress {
  std::uint64_t bytes_read = 0, bytes_total = 0;  // bytes_total 0 when unknown (stdin)
  std::size_t resources_read = 0, resources_stored = 0;
};

// ImportOptions::max_json_bytes by default (256 MiB).
inline constexpr std::size_t kDefaultMaxJsonBytes = std::size_t{256} << 20;

struct ImportOptions {
  OnError on_error = OnError::skip;
  std::size_t batch_size = 2000;       // resources per Store::apply transaction
  std::size_t max_kept_issues = 1000;  // ImportSummary::issues keeps the first ones
  // The largest JSON text held at once: an NDJSON line, or a file read as one
  // document (a pretty-printed Bundle). A longer line is one bad line, read
  // past without being kept; a longer document is one issue and the rest of
  // its file is skipped. So memory stays bounded whatever the input (a file
  // without newlines, say).
  std::size_t max_json_bytes = kDefaultMaxJsonBytes;
  std::function<void(const ImportIssue&)> on_issue;        // every issue, as it happens
  std::function<void(const ImportProgress&)> on_progress;  // after each batch
  // A batch the store refuses as `unavailable` (another process held SQLite's
  // write lock past its busy timeout, e.g. a server opening the file builds
  // the indexes this import deferred; a remote store down for a moment) is
  // tried again this many times, after a pause, before the import fails.
  std::size_t unavailable_retries = 5;
  std::chrono::milliseconds unavailable_pause{1000};
};

struct ImportSummary {
  std::size_t resources_read = 0;  // resources found (lines, Bundle entries)
  std::size_t patients_stored = 0, observations_stored = 0;
  std::size_t skipped_existing = 0;     // FHIR id already stored: not stored again
  std::size_t skipped_unsupported = 0;  // resource types other than Patient / Observation
  std::size_t failed = 0;               // bad lines / entries
  bool stopped = false;                 // on_error=stop hit a bad line
  std::vector<ImportIssue> issues;      // the first max_kept_issues
  // ok, or why the import could not run / stopped (unreadable file, store failure).
  Status status;
  std::size_t stored() const { return patients_stored + observations_stored; }
  std::string to_string() const;  // one-paragraph human summary
};

// Imports the files in order ("-" reads stdin). Never throws: an unreadable
// source or an exception (bad_alloc, a stream that rethrows) gives an internal
// status, and the counts of what was stored before it (docs/bulk.md).
ImportSummary import_files(storage::Store& store, const storage::Principal& who,
                           const mapping::MappingContext& mapping,
                           const std::vector<std::filesystem::path>& files,
                           const ImportOptions& options = {});

// Same for one already-open stream (tests, pipes); `name` is used in issues.
ImportSummary import_stream(storage::Store& store, const storage::Principal& who,
                            const mapping::MappingContext& mapping, std::istream& in,
                            const std::string& name, const ImportOptions& options = {});

// Whether an import of `input_bytes` of NDJSON into a store file of
// `store_bytes` should defer the store's search indexes
// (SqliteStore::defer_search_indexes; `fhirbridge import --defer-indexes
// auto`): building them at the end costs ~8 us per resource of the whole store,
// deferring saves ~20-50 us per imported one, so it pays when the import is
// large (>= 16 MiB, ~25k resources) and at least about the size of what is
// stored (NDJSON grows ~9x into the sealed store: input x 8 >= store). An
// unknown size (stdin: 0) never defers. docs/bulk.md.
bool defer_indexes_pays(std::uint64_t input_bytes, std::uint64_t store_bytes);

struct ExportOptions {
  std::vector<std::string> types{"Patient", "Observation"};  // in this order
  std::size_t page_size = 1000;
  // Only what changed at or after this instant (epoch ms; meta.lastUpdated,
  // Bulk Data's _since); nullopt: everything.
  std::optional<std::int64_t> since_ms;
};

struct ExportSummary {
  std::size_t patients = 0, observations = 0;
  std::string to_string() const;  // "1 patient, 4 observations"
};

namespace detail {
// "1 patient", "2 patients": the summaries' counts (nouns with a plain -s plural).
std::string counted(std::size_t n, std::string_view noun);
}  // namespace detail

// Writes every resource `who` can read as FHIR NDJSON (patients, then
// observations), paging through the store. invalid for an unknown type.
Result<ExportSummary> export_ndjson(storage::Store& store, const storage::Principal& who,
                                    const mapping::MappingContext& mapping, std::ostream& out,
                                    const ExportOptions& options = {});

// The principal a command-line import/export acts as: checks the user's
// password (unauthorized), finds their healthcare party and puts their
// private key (PKCS#8, as hex text or raw DER: what `key_file_content` holds)
// in the keychain (key_mismatch when it is not that party's key).
// The private key of a --key-file: hex text (whitespace ignored), the saved
// output of `user add` (its "private-key <hex>" line), or raw DER bytes.
Result<crypto::SecureBytes> private_key_from_file(std::string_view content);

Result<storage::Principal> unlock_principal(storage::Store& store, crypto::Keychain& keychain,
                                            const std::string& login, const std::string& password,
                                            const std::string& key_file_content);

}  // namespace fhirbridge::server::bulk
