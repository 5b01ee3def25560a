// Bulk NDJSON / Bundle import: see fhirbridge/server/bulk.hpp and docs/bulk.md.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "fhirbridge/server/bulk.hpp"
#include "import_reader.hpp"
#include "read_ahead.hpp"

namespace fhirbridge::server::bulk {

namespace fs = std::filesystem;

std::string ImportIssue::to_string() const {
  return source + " " + where + ": " + status.to_string();
}

std::string detail::counted(std::size_t n, std::string_view noun) {
  std::string text = std::to_string(n) + " ";
  text += noun;
  if (n != 1) text += "s";
  return text;
}

std::string ImportSummary::to_string() const {
  std::ostringstream out;
  out << "read " << detail::counted(resources_read, "resource") << "; stored "
      << detail::counted(patients_stored, "patient") << " and "
      << detail::counted(observations_stored, "observation") << "; skipped " << skipped_existing
      << " already stored";
  if (skipped_unsupported) out << " and " << skipped_unsupported << " of unsupported types";
  out << "; " << failed << " failed";
  if (stopped) out << "; stopped at the first error (--on-error stop)";
  if (!status.ok()) out << "; " << status.to_string();
  return out.str();
}

namespace {

// Look-ups by store id are split into queries of this many ids.
constexpr std::size_t kLookupChunk = 200;
// The FHIR id -> store id map of patients is dropped when it grows past this,
// so memory does not grow with the file (~15 MB at most); lookups then go to the store.
constexpr std::size_t kMaxRememberedPatients = 100000;

using detail::Pending;
using detail::ReadEvent;

std::string failure_message(const std::exception& e) {
  return std::string("import failed: ") + e.what();
}

class Importer {
 public:
  Importer(storage::Store& store, const storage::Principal& who,
           const mapping::MappingContext& mapping, const ImportOptions& options)
      : store_(store), who_(who), mapping_(mapping), options_(options) {
    if (options_.batch_size == 0) options_.batch_size = 1;
  }

  void add_source(std::string name, std::istream* in, std::uint64_t size) {
    sources_.push_back({std::move(name)});
    bytes_total_ += size;
    streams_.push_back(in);
  }

  // Never throws: an exception (bad_alloc, a stream that rethrows) ends the
  // import with an internal error, and the summary keeps the counts of what
  // was stored before it.
  ImportSummary run() {
    try {
      read_and_write();
    } catch (const std::exception& e) {
      if (summary_.status.ok()) summary_.status = Status::Internal(failure_message(e));
    }
    if (!read_failure_.ok() && summary_.status.ok()) summary_.status = read_failure_;
    if (summary_.stopped && summary_.status.ok()) summary_.status = stop_status_;
    return std::move(summary_);
  }

 private:
  struct Source {
    std::string name;
  };

  void read_and_write() {
    {
      // Reading (parse + map) runs up to a batch ahead on its own thread;
      // this one replays its events in order and writes (docs/bulk.md).
      detail::ReadAhead ahead(options_.batch_size, [this](const detail::ImportReader::Sink& sink) {
        detail::ImportReader reader(mapping_, sink, options_.max_json_bytes);
        for (std::size_t i = 0; i < streams_.size(); ++i)
          if (!reader.read_source(i, *streams_[i])) return;
      });
      std::vector<ReadEvent> chunk;
      try {
        while (!done() && ahead.next(chunk))
          for (ReadEvent& event : chunk) {
            if (done()) break;
            take(event);
          }
      } catch (const std::exception& e) {
        // Thrown by the reading thread (after every event it had read) or
        // by a write: reading ends; what was read is still written below.
        read_failure_ = Status::Internal(failure_message(e));
      }
    }  // the reader stops at its next event, and is joined
    // Even after a stop or a failed read, what was read before is stored.
    flush();
    // Observations whose patient came later (or never): one more try, in order.
    deferred_pass_ = true;
    auto deferred = std::move(deferred_);
    for (auto& p : deferred) {
      if (done()) break;  // after a stop, forward references are not retried
      pending_.push_back(std::move(p));
      if (pending_.size() >= options_.batch_size) flush();
    }
    flush();
    report_progress();
  }

  // Reading stops at a stop-worthy issue, a failed read or a store failure;
  // writing only at the last.
  bool done() const { return summary_.stopped || !read_failure_.ok() || !summary_.status.ok(); }

  void issue(std::size_t source, std::size_t line, std::string where, Status status) {
    const StatusCode code = status.code();
    ImportIssue is{sources_[source].name, line, std::move(where), std::move(status)};
    ++summary_.failed;
    if (options_.on_issue) options_.on_issue(is);
    if (summary_.issues.size() < options_.max_kept_issues) summary_.issues.push_back(std::move(is));
    if (options_.on_error == OnError::stop && !summary_.stopped) {
      summary_.stopped = true;
      stop_status_ = Status(code, "import stopped at " + sources_[source].name + " line " +
                                      std::to_string(line) + " (--on-error stop)");
    }
  }

  // One event of the reader, as if this thread had read the line itself.
  void take(ReadEvent& event) {
    bytes_read_ += event.bytes;
    if (event.found) ++summary_.resources_read;
    switch (event.kind) {
      case ReadEvent::Kind::resource:
        pending_.push_back(std::move(event.resource));
        if (pending_.size() >= options_.batch_size) flush();
        return;
      case ReadEvent::Kind::bad:
        issue(event.source, event.line, std::move(event.where), std::move(event.status));
        return;
      case ReadEvent::Kind::unsupported:
        ++summary_.skipped_unsupported;
        if (!event.status.ok() && options_.on_issue)  // the first of its type only
          options_.on_issue(
              {sources_[event.source].name, event.line, event.where, std::move(event.status)});
        return;
      case ReadEvent::Kind::unreadable:
        read_failure_ = Status::Internal("cannot read " + sources_[event.source].name);
        return;
      case ReadEvent::Kind::bytes_only: return;
    }
  }

  // ---- lookups ---------------------------------------------------------------

  void remember_patient(const std::string& key, const std::string& store_id) {
    if (known_patients_.size() >= kMaxRememberedPatients) known_patients_.clear();
    known_patients_[key] = store_id;
  }

  // FHIR ids (and store ids) of `keys` already in the store -> store id.
  Status lookup_patients(std::vector<std::string> keys,
                         std::unordered_map<std::string, std::string>& found) {
    auto by_fhir_id =
        store_.patient_ids_by_identifier(who_, mapping_.settings.fhir_id_system, keys);
    if (!by_fhir_id.ok()) return by_fhir_id.status();
    for (auto& [fhir_id, store_id] : *by_fhir_id) found[fhir_id] = std::move(store_id);
    // References to store ids (e.g. an export of this store re-imported).
    std::vector<std::string> rest;
    for (const auto& k : keys)
      if (!found.count(k) && k.rfind("urn:", 0) != 0) rest.push_back(k);
    for (std::size_t i = 0; i < rest.size(); i += kLookupChunk) {
      storage::PatientQuery q;
      q.ids = std::vector<std::string>(rest.begin() + i,
                                       rest.begin() + std::min(rest.size(), i + kLookupChunk));
      q.page.limit = q.ids->size();
      q.page.count_up_to = 0;
      auto page = store_.find_patients(who_, q);
      if (!page.ok()) return page.status();
      for (const auto& patient : page->items)
        if (patient.id) found[*patient.id] = *patient.id;
    }
    return {};
  }

  // FHIR ids of observations already stored (service identifiers).
  Status lookup_observations(const std::vector<std::string>& ids,
                             std::unordered_set<std::string>& found) {
    auto stored =
        store_.contact_ids_by_service_identifier(who_, mapping_.settings.fhir_id_system, ids);
    if (!stored.ok()) return stored.status();
    for (const auto& entry : *stored) found.insert(entry.first);
    return {};
  }

  // ---- writing ---------------------------------------------------------------

  void flush() {
    if (pending_.empty() || !summary_.status.ok()) {
      pending_.clear();
      return;
    }
    std::vector<Pending> items = std::move(pending_);
    pending_.clear();

    // 1. Which patients are already stored (re-runs), and which are repeated in this batch.
    std::vector<std::string> patient_ids;
    for (const auto& p : items)
      if (p.kind == Pending::Kind::patient && p.fhir_id) patient_ids.push_back(*p.fhir_id);
    std::unordered_map<std::string, std::string> existing;
    if (Status s = lookup_patients(patient_ids, existing); !s.ok()) return fail(s);

    std::vector<Pending*> writes;  // patients first, then observations
    for (auto& p : items) {
      if (p.kind != Pending::Kind::patient) continue;
      std::optional<std::string> stored;
      if (p.fhir_id) {
        if (auto it = existing.find(*p.fhir_id); it != existing.end())
          stored = it->second;
        else if (auto known = known_patients_.find(*p.fhir_id); known != known_patients_.end())
          stored = known->second;  // the same id twice in the input
      }
      if (stored) {
        ++summary_.skipped_existing;
        if (p.fhir_id) remember_patient(*p.fhir_id, *stored);
        if (p.alias) remember_patient(*p.alias, *stored);
        continue;
      }
      if (p.fhir_id) remember_patient(*p.fhir_id, *p.patient.id);
      if (p.alias) remember_patient(*p.alias, *p.patient.id);
      writes.push_back(&p);
    }

    // 2. Subjects of observations, and observations already stored.
    std::vector<std::string> unknown_subjects, observation_ids;
    std::unordered_set<std::string> seen;
    for (const auto& p : items) {
      if (p.kind != Pending::Kind::observation) continue;
      if (!known_patients_.count(p.subject_key) && seen.insert(p.subject_key).second)
        unknown_subjects.push_back(p.subject_key);
      if (p.fhir_id) observation_ids.push_back(*p.fhir_id);
    }
    std::unordered_map<std::string, std::string> subjects;
    if (Status s = lookup_patients(unknown_subjects, subjects); !s.ok()) return fail(s);
    for (const auto& [key, id] : subjects) remember_patient(key, id);
    std::unordered_set<std::string> stored_observations;
    if (Status s = lookup_observations(observation_ids, stored_observations); !s.ok())
      return fail(s);

    std::vector<std::string> patient_of;  // store patient id per write, observations only
    for (auto& p : items) {
      if (p.kind != Pending::Kind::observation) continue;
      if (p.fhir_id && !stored_observations.insert(*p.fhir_id).second) {
        ++summary_.skipped_existing;  // stored earlier, or twice in the input
        continue;
      }
      auto it = known_patients_.find(p.subject_key);
      if (it == known_patients_.end()) {
        if (!deferred_pass_) {
          deferred_.push_back(std::move(p));  // its patient may come later
        } else {
          issue(
              p.source, p.line, p.where,
              Status::NotFound("Patient '" + p.subject_key + "' is neither stored nor in the input",
                               "Observation.subject"));
        }
        continue;
      }
      p.subject_key = it->second;  // now the store id
      writes.push_back(&p);
    }
    write(writes);
    report_progress();
  }

  // Applies `writes` in one transaction; a failing op is reported and dropped
  // (on_error=skip) and the rest retried. The entities move into the batch (the
  // pending items die with this flush), and the store is told that only
  // success matters: no copy of any entity comes back.
  void write(std::vector<Pending*> writes) {
    storage::WriteBatch batch;
    batch.return_entities = false;
    batch.ops.reserve(writes.size());
    for (Pending* p : writes) {
      if (p->kind == Pending::Kind::patient)
        batch.ops.emplace_back(storage::CreatePatient{std::move(p->patient)});
      else
        batch.ops.emplace_back(storage::CreateContact{std::move(p->contact), p->subject_key});
    }
    std::size_t retries = 0;
    while (!writes.empty() && summary_.status.ok()) {
      auto result = store_.apply(who_, batch);
      if (result.ok()) {
        for (const Pending* p : writes)
          ++(p->kind == Pending::Kind::patient ? summary_.patients_stored
                                               : summary_.observations_stored);
        return;
      }
      const Status status = result.status();
      if (status.code() == StatusCode::unavailable && retries < options_.unavailable_retries) {
        ++retries;  // the batch was all or nothing: nothing of it is stored yet
        std::this_thread::sleep_for(options_.unavailable_pause);
        continue;
      }
      const auto bad = op_index(status.path());
      if (!bad || *bad >= writes.size() || status.code() == StatusCode::internal ||
          status.code() == StatusCode::unavailable || status.code() == StatusCode::key_missing)
        return fail(status);  // not about one resource: nothing more can be written
      Pending* p = writes[*bad];
      issue(p->source, p->line, p->where, Status(status.code(), status.message()));
      if (p->kind == Pending::Kind::patient) {
        // Observations of this patient in the batch would now fail too: they will be
        // reported by name on the retry (patient not found).
        if (p->fhir_id) known_patients_.erase(*p->fhir_id);
        if (p->alias) known_patients_.erase(*p->alias);
      }
      writes.erase(writes.begin() + static_cast<std::ptrdiff_t>(*bad));
      batch.ops.erase(batch.ops.begin() + static_cast<std::ptrdiff_t>(*bad));
      if (options_.on_error == OnError::stop) return;  // all-or-nothing batch: none written
    }
  }

  static std::optional<std::size_t> op_index(const std::string& path) {
    if (path.rfind("ops[", 0) != 0) return std::nullopt;
    try {
      return static_cast<std::size_t>(std::stoul(path.substr(4)));
    } catch (...) {
      return std::nullopt;
    }
  }

  void fail(const Status& status) {
    summary_.status = status;
    pending_.clear();
  }

  void report_progress() {
    if (!options_.on_progress) return;
    options_.on_progress(
        ImportProgress{bytes_read_, bytes_total_, summary_.resources_read, summary_.stored()});
  }

  storage::Store& store_;
  const storage::Principal& who_;
  const mapping::MappingContext& mapping_;
  ImportOptions options_;
  std::vector<Source> sources_;
  std::vector<std::istream*> streams_;
  std::uint64_t bytes_read_ = 0, bytes_total_ = 0;
  std::vector<Pending> pending_, deferred_;
  bool deferred_pass_ = false;
  std::unordered_map<std::string, std::string> known_patients_;  // FHIR id / fullUrl -> store id
  ImportSummary summary_;
  Status stop_status_;
  Status read_failure_;  // an unreadable source; an exception while reading or in a write
};

// The resourceType of the first line, to read Patient files first. Only its
// first 64 KiB are looked at: a file without newlines is not read whole here.
bool starts_with_patient(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string head(64 * 1024, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  const std::string_view line = std::string_view(head).substr(0, head.find('\n'));
  return line.find("\"resourceType\":\"Patient\"") != std::string_view::npos ||
         line.find("\"resourceType\": \"Patient\"") != std::string_view::npos;
}

}  // namespace

bool defer_indexes_pays(std::uint64_t input_bytes, std::uint64_t store_bytes) {
  constexpr std::uint64_t kMinimumInput = 16u << 20;
  return input_bytes >= kMinimumInput && input_bytes * 8 >= store_bytes;
}

ImportSummary import_files(storage::Store& store, const storage::Principal& who,
                           const mapping::MappingContext& mapping,
                           const std::vector<fs::path>& files, const ImportOptions& options) {
  try {
    std::vector<fs::path> ordered = files;
    std::stable_partition(ordered.begin(), ordered.end(),
                          [](const fs::path& f) { return f != "-" && starts_with_patient(f); });
    Importer importer(store, who, mapping, options);
    std::vector<std::unique_ptr<std::ifstream>> streams;
    for (const auto& file : ordered) {
      if (file == "-") {
        importer.add_source("-", &std::cin, 0);
        continue;
      }
      auto in = std::make_unique<std::ifstream>(file, std::ios::binary);
      if (!*in) {
        ImportSummary summary;
        summary.status = Status(StatusCode::not_found, "cannot open " + file.string());
        return summary;
      }
      std::error_code ec;
      const auto size = fs::file_size(file, ec);
      importer.add_source(file.string(), in.get(), ec ? 0 : size);
      streams.push_back(std::move(in));
    }
    return importer.run();
  } catch (const std::exception& e) {  // bad_alloc and the like: never out of the API
    ImportSummary summary;
    summary.status = Status::Internal(failure_message(e));
    return summary;
  }
}

ImportSummary import_stream(storage::Store& store, const storage::Principal& who,
                            const mapping::MappingContext& mapping, std::istream& in,
                            const std::string& name, const ImportOptions& options) {
  try {
    Importer importer(store, who, mapping, options);
    importer.add_source(name, &in, 0);
    return importer.run();
  } catch (const std::exception& e) {
    ImportSummary summary;
    summary.status = Status::Internal(failure_message(e));
    return summary;
  }
}

}  // namespace fhirbridge::server::bulk
