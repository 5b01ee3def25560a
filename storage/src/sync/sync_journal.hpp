// The sync journal: per entity, the local and the remote rev at the last
// successful sync. Its own small SQLite file ("<db>.sync"), so the store's
// schema stays untouched and deleting the journal only costs a full compare.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "fhirbridge/status.hpp"
#include "fhirbridge/storage/detail/sqlite.hpp"
#include "fhirbridge/storage/sync.hpp"

namespace fhirbridge::storage::sync_detail {

struct JournalEntry {
  std::string local_rev;
  std::string remote_rev;
  std::string patient_id;  // contacts: their patient (to hold them back while it conflicts)
};

class SyncJournal {
 public:
  // Opens (creating when absent) the journal. With `read_only_intent` (dry
  // runs) a missing file is not created: an empty in-memory journal stands in.
  static Result<SyncJournal> open(const std::filesystem::path& file, bool read_only_intent);

  // The journal belongs to one (local HCP, remote HCP) pair: revs recorded
  // against another remote would read as "everything was deleted there".
  // Records the pair on first use (unless `write` is false); invalid
  // (path "journal") when the journal was made for another pair.
  Status bind_parties(const std::string& local_hcp, const std::string& remote_hcp,
                      const std::string& peer_label, bool write);

  Result<std::map<std::string, JournalEntry>> load(SyncEntityKind kind);
  Status record(SyncEntityKind kind, const std::string& id, const JournalEntry& entry);
  Status forget(SyncEntityKind kind, const std::string& id);

 private:
  explicit SyncJournal(sqlite::Database db, std::string name)
      : db_(std::move(db)), name_(std::move(name)) {}
  Result<std::optional<std::string>> meta(const std::string& key);
  Status set_meta(const std::string& key, const std::string& value);

  sqlite::Database db_;
  std::string name_;  // for messages
};

}  // namespace fhirbridge::storage::sync_detail
