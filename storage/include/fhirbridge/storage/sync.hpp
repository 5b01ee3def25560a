// Offline-first reconciliation between two Stores (docs/sync.md): a local
// store (an offline practice's SQLite file) and a remote one (an iCure REST
// deployment, or any other Store), one principal on each side.
//
// Entities keep their ids on both sides. A small journal (its own SQLite file,
// by default "<db>.sync") remembers, per entity, the local and the remote rev
// at the last successful sync; comparing today's revs with it tells who
// changed what:
//   changed on one side only        -> copied to the other (push / pull)
//   changed on both sides           -> a conflict, reported; nothing written
//                                      (unless both now hold the same content)
//   deleted on one side, unchanged  -> deleted on the other
//   deleted on one side, changed    -> a conflict
//   new on one side                 -> created on the other with the same id
// Patients go first, then contacts (a contact is created after its patient);
// a contact whose patient is in conflict waits for the next run.
//
// Every write to a side is followed by its journal entry, so an interrupted
// sync (error, crash, lost response) is safe to run again: what was written
// but not journaled is found equal on both sides and adopted.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "fhirbridge/status.hpp"
#include "fhirbridge/storage/store.hpp"

namespace fhirbridge::storage {

enum class SyncEntityKind { patient, contact };
const char* to_string(SyncEntityKind kind) noexcept;

// One entity changed on both sides (or deleted on one and changed on the
// other). Nothing was written for it on either side.
struct SyncConflict {
  SyncEntityKind kind = SyncEntityKind::patient;
  std::string id;
  std::optional<std::string> local_rev;   // absent: deleted (or absent) locally
  std::optional<std::string> remote_rev;  // absent: deleted (or absent) remotely
  std::string reason;                     // e.g. "changed on both sides"
};

// One entity one side refused (invalid, too large, not supported...): the
// sync goes on with the others; the next run tries it again.
struct SyncFailure {
  SyncEntityKind kind = SyncEntityKind::patient;
  std::string id;
  Status status;
};

struct SyncReport {
  bool dry_run = false;            // counts are what a real run would have done
  std::size_t pushed = 0;          // created or updated on the remote
  std::size_t pulled = 0;          // created or updated locally
  std::size_t deleted_remote = 0;  // deleted on the remote (deleted locally before)
  std::size_t deleted_local = 0;   // deleted locally (deleted on the remote before)
  std::size_t adopted = 0;         // same content on both sides, only the journal was written
  std::size_t unchanged = 0;       // in sync already
  std::vector<SyncConflict> conflicts;
  std::vector<std::string> waiting;  // contact ids held back: their patient is in conflict
  std::vector<SyncFailure> failures;

  // Entities written on either side (0 for a run with nothing to do).
  std::size_t moved() const noexcept { return pushed + pulled + deleted_remote + deleted_local; }
};

struct SyncOptions {
  // The journal file; default_journal_path(db) for a SQLite store's file.
  std::filesystem::path journal;
  // Free text stored in the journal for humans (e.g. the remote URL).
  std::string peer_label;
  // Plan only: nothing is written, neither to the stores nor to the journal.
  bool dry_run = false;
  // Page size of the listings (find_patients / find_contacts).
  std::size_t page_size = 200;
};

// "<db>.sync" next to the database file.
std::filesystem::path default_journal_path(const std::filesystem::path& db);

// Reconciles `local` (acting as `local_who`) with `remote` (as `remote_who`).
// Errors (a side unavailable, an I/O failure, a journal made for other
// healthcare parties: invalid, path "journal") stop the run and come back as
// the Status; everything written before is journaled, so running again is safe.
Result<SyncReport> sync_stores(Store& local, const Principal& local_who, Store& remote,
                               const Principal& remote_who, const SyncOptions& options);

}  // namespace fhirbridge::storage
