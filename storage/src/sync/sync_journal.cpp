#include "sync_journal.hpp"

#include <system_error>

namespace fhirbridge::storage::sync_detail {

namespace {

constexpr int kJournalVersion = 1;

// Version 1. Append a migration (and bump kJournalVersion) to change it.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS sync_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sync_entity(
  kind TEXT NOT NULL, id TEXT NOT NULL,
  local_rev TEXT NOT NULL, remote_rev TEXT NOT NULL, patient_id TEXT NOT NULL,
  PRIMARY KEY(kind, id)) WITHOUT ROWID;
)sql";

}  // namespace

Result<SyncJournal> SyncJournal::open(const std::filesystem::path& file, bool read_only_intent) {
  std::error_code ec;
  const bool exists = std::filesystem::exists(file, ec);
  const bool in_memory = read_only_intent && !exists;
  auto db = sqlite::Database::open(in_memory ? std::filesystem::path(":memory:") : file);
  if (!db.ok()) return Status(db.status().code(), db.status().message(), "journal");
  auto version = db->query_int("PRAGMA user_version");
  if (!version.ok())
    return Status(version.status().code(), file.string() + ": " + version.status().message(),
                  "journal");
  if (*version > kJournalVersion)
    return Status::Invalid("journal", file.string() +
                                          " was written by a newer fhirbridge (journal version " +
                                          std::to_string(*version) + ")");
  // Each record is its own transaction: durable before the next write to a store.
  FHIRBRIDGE_RETURN_IF_ERROR(db->exec("PRAGMA synchronous = FULL;"));
  if (*version < kJournalVersion) {
    FHIRBRIDGE_RETURN_IF_ERROR(db->exec(std::string("BEGIN IMMEDIATE;") + kSchema +
                                        "PRAGMA user_version = " + std::to_string(kJournalVersion) +
                                        "; COMMIT;"));
  }
  return SyncJournal(std::move(*db), file.string());
}

Result<std::optional<std::string>> SyncJournal::meta(const std::string& key) {
  auto stmt = db_.cached("SELECT value FROM sync_meta WHERE key = ?");
  if (!stmt.ok()) return stmt.status();
  stmt->bind(1, key);
  auto row = stmt->step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(stmt->text(0));
}

Status SyncJournal::set_meta(const std::string& key, const std::string& value) {
  auto stmt = db_.cached("INSERT OR REPLACE INTO sync_meta(key, value) VALUES(?, ?)");
  if (!stmt.ok()) return stmt.status();
  stmt->bind(1, key).bind(2, value);
  return stmt->run();
}

Status SyncJournal::bind_parties(const std::string& local_hcp, const std::string& remote_hcp,
                                 const std::string& peer_label, bool write) {
  auto local = meta("local_hcp");
  if (!local.ok()) return local.status();
  auto remote = meta("remote_hcp");
  if (!remote.ok()) return remote.status();
  if (*local || *remote) {
    if (local->value_or("") != local_hcp || remote->value_or("") != remote_hcp)
      return Status::Invalid("journal", name_ + " records a sync between healthcare parties " +
                                            local->value_or("?") + " (local) and " +
                                            remote->value_or("?") + " (remote), not " + local_hcp +
                                            " and " + remote_hcp + "; use another journal file");
    return {};
  }
  if (!write) return {};
  FHIRBRIDGE_RETURN_IF_ERROR(set_meta("local_hcp", local_hcp));
  FHIRBRIDGE_RETURN_IF_ERROR(set_meta("remote_hcp", remote_hcp));
  if (!peer_label.empty()) FHIRBRIDGE_RETURN_IF_ERROR(set_meta("peer", peer_label));
  return {};
}

Result<std::map<std::string, JournalEntry>> SyncJournal::load(SyncEntityKind kind) {
  auto stmt =
      db_.cached("SELECT id, local_rev, remote_rev, patient_id FROM sync_entity WHERE kind = ?");
  if (!stmt.ok()) return stmt.status();
  stmt->bind(1, to_string(kind));
  std::map<std::string, JournalEntry> entries;
  for (;;) {
    auto row = stmt->step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    entries.emplace(stmt->text(0), JournalEntry{stmt->text(1), stmt->text(2), stmt->text(3)});
  }
  return entries;
}

Status SyncJournal::record(SyncEntityKind kind, const std::string& id, const JournalEntry& entry) {
  auto stmt = db_.cached(
      "INSERT OR REPLACE INTO sync_entity(kind, id, local_rev, remote_rev, patient_id) "
      "VALUES(?, ?, ?, ?, ?)");
  if (!stmt.ok()) return stmt.status();
  stmt->bind(1, to_string(kind))
      .bind(2, id)
      .bind(3, entry.local_rev)
      .bind(4, entry.remote_rev)
      .bind(5, entry.patient_id);
  return stmt->run();
}

Status SyncJournal::forget(SyncEntityKind kind, const std::string& id) {
  auto stmt = db_.cached("DELETE FROM sync_entity WHERE kind = ? AND id = ?");
  if (!stmt.ok()) return stmt.status();
  stmt->bind(1, to_string(kind)).bind(2, id);
  return stmt->run();
}

}  // namespace fhirbridge::storage::sync_detail
