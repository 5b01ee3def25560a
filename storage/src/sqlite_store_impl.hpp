// Internals of SqliteStore shared by its .cpp files (CRUD and queries).
#pragma once

#include <botan/rng.h>

#include <atomic>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fhir_ids.hpp"
#include "fhirbridge/crypto/entity_sealer.hpp"
#include "fhirbridge/detail/bounded_map.hpp"
#include "fhirbridge/storage/detail/sqlite.hpp"
#include "fhirbridge/storage/detail/wal_write_coalescing.hpp"
#include "fhirbridge/storage/sqlite_store.hpp"

namespace fhirbridge::storage {

// The token of a patient_name 'pair' row: the separator, then the folded
// whole family part, the separator and the folded whole given part. The
// leading separator (schema migration 8) puts every pair row apart from the
// other tokens in patient_name_token, so a name prefix range does not walk
// the pairs of the family it names (they were "<family>\x1f<given>", inside
// that range, and outnumber its family rows). sqlite_store.cpp writes them,
// sqlite_query.cpp searches them.
inline constexpr char kNamePairSeparator = '\x1f';
inline std::string name_pair_token(std::string_view family, std::string_view given) {
  std::string token;
  token.reserve(family.size() + given.size() + 2);
  token += kNamePairSeparator;
  token += family;
  token += kNamePairSeparator;
  token += given;
  return token;
}

// The token of a patient_name 'head' row (schema migration 12): a mark, then
// the first kNameHeadLength characters (code points, as SQLite's substr
// counts them) of a folded name token; none for a shorter token. A patient
// has one head row per reader for each distinct head of its family, given
// and other tokens. A name prefix search with many matches pages through
// the rows of its prefix's head, which come out of patient_name_token in
// (modified, id) order, instead of scanning every patient in that order
// (docs/search.md). The mark keeps them apart from every other token, as
// the pair's separator does, and they are never whole (whole = 0): no other
// search reads them.
inline constexpr std::size_t kNameHeadLength = 3;
inline constexpr char kNameHeadMark = '\x1e';
inline std::optional<std::string> name_head_token(std::string_view folded) {
  std::size_t characters = 0, end = 0;
  for (; end < folded.size(); ++end) {
    if ((static_cast<unsigned char>(folded[end]) & 0xC0) == 0x80) continue;  // continuation
    if (characters == kNameHeadLength) break;
    ++characters;
  }
  if (characters < kNameHeadLength) return std::nullopt;
  std::string token(1, kNameHeadMark);
  token += folded.substr(0, end);
  return token;
}

// "(system = ? AND value = ?) OR ..." over columns `system_col`/`value_col`, for
// any-of tokens (an absent part matches anything); "0" for none. sqlite_query.cpp.
std::string token_or(const AnyOf& tokens, const char* system_col, const char* value_col,
                     std::vector<sqlite::Value>& params);

// Also the sealer's HcpDirectory: it reads/writes healthcare parties through
// the calling thread's connection (see db()), inside whatever transaction the
// calling method has open.
//
// Connections (docs/storage.md, "Concurrency"):
//  - ONE write connection. Writes are queued; whoever finds no write group
//    running becomes the leader and runs every queued write in one
//    transaction (group commit), each in its own SAVEPOINT so a failing one
//    is undone alone. Callers return only after the COMMIT holding their write.
//  - a pool of read-only connections: each read() runs in its own deferred
//    transaction (a committed snapshot) on one of them, beside the writer.
//  - a checkpointer thread with its own connection copies the bulk of the WAL
//    off the request path (PASSIVE); the writer then copies the few frames
//    committed meanwhile, so that its next transaction restarts the WAL (or
//    everything, past 4x the threshold: a bound when the thread lags);
//    TRUNCATE at close.
struct SqliteStore::Impl final : crypto::HcpDirectory {
  Impl(crypto::Keychain& keychain, SqliteStoreOptions& options);
  ~Impl() override;

  std::filesystem::path file;
  std::size_t page_size = 0;  // the file's (PRAGMA page_size), read at open
  sqlite::Database writer;    // the only connection that writes
  std::unique_ptr<Botan::RandomNumberGenerator> owned_rng;
  Botan::RandomNumberGenerator& rng;  // writes only (one leader at a time)
  crypto::EntitySealer sealer;
  std::function<std::string()> new_id;
  std::function<std::int64_t()> now_ms;

  // The connection of the calling thread's current read() / write() body.
  inline static thread_local sqlite::Database* bound_db = nullptr;
  sqlite::Database& db() { return *bound_db; }
  struct Bind {
    sqlite::Database* previous;
    explicit Bind(sqlite::Database& db) : previous(std::exchange(bound_db, &db)) {}
    ~Bind() { bound_db = previous; }
    Bind(const Bind&) = delete;
    Bind& operator=(const Bind&) = delete;
  };

  // Opens the writer's companions (pool, checkpointer) once the schema exists.
  Status start(const SqliteStoreOptions& options);

  // ---- reads ----
  // The sealed document is shared with the parsed-document cache: a read
  // copies it only where it builds a new entity (unsealing, updates).
  struct PatientRow {
    std::string id, rev;
    std::shared_ptr<const icure::Patient> sealed;
  };
  struct ContactRow {
    std::string id, rev, patient_id;
    std::shared_ptr<const icure::Contact> sealed;
  };

  // What a read connection would read at, without its snapshot: the WAL
  // index header when it can be read without a transaction (every commit of
  // any connection rewrites it), else PRAGMA data_version (in a short read
  // transaction of its own). Two equal versions mean nothing was committed
  // between the two looks; a header never equals a PRAGMA value, and the
  // default (-1) equals no version read.
  struct DataVersion {
    std::optional<sqlite::detail::WalIndexHeader> header;
    std::int64_t pragma = -1;
    bool operator==(const DataVersion&) const = default;
  };

  // What visible_patient() / visible_contact() found on one read connection,
  // valid while the connection's DataVersion stays the same. It changes when
  // any other connection (this store's writer, another process) commits, so a
  // hit skips the look-up's SQL and its transaction and is never stale
  // (docs/storage.md, "Reading one patient or observation").
  // Only its connection's lease holder touches it: no lock.
  // Rows are kept without their sealed document (`sealed` empty): that one is
  // taken from the shared parsed-document cache, so the memo's memory is a few
  // ids per entry, whatever the number of read connections.
  struct VisibleMemo {
    static constexpr std::size_t kCapacity = 4096;  // per kind; emptied when full
    DataVersion data_version;
    // By hcp id '\n' the id asked for (store id, service id or FHIR id).
    std::unordered_map<std::string, PatientRow> patients;
    std::unordered_map<std::string, ContactRow> contacts;
    // Empties both maps when `version` is not the one they were found at.
    void at_version(const DataVersion& version) {
      if (version == data_version) return;
      patients.clear();
      contacts.clear();
      data_version = version;
    }
  };
  struct Reader {
    explicit Reader(sqlite::Database opened) : db(std::move(opened)) {}
    sqlite::Database db;
    VisibleMemo visible;
    // The version change_epoch() last saw on this connection (default: none yet).
    DataVersion epoch_version;
  };

  // A read connection for one read(): pooled, or (in-memory database / no
  // pool) the writer, held under write_mutex.
  class ReadLease {
   public:
    ReadLease() = default;
    ReadLease(ReadLease&&) noexcept = default;
    ReadLease& operator=(ReadLease&&) noexcept = default;
    ~ReadLease();
    sqlite::Database& db() { return *db_; }
    // nullptr on the writer (its own commits would not change data_version).
    VisibleMemo* visible_memo() { return pooled_ ? &pooled_->visible : nullptr; }
    // The pooled read connection; nullptr on the writer.
    Reader* reader() { return pooled_.get(); }

   private:
    friend struct Impl;
    Impl* impl_ = nullptr;
    std::unique_ptr<Reader> pooled_;
    std::unique_lock<std::mutex> writer_lock_;
    sqlite::Database* db_ = nullptr;
  };
  Result<ReadLease> lease_reader();
  void return_reader(std::unique_ptr<Reader> reader);
  std::mutex pool_mutex;
  std::condition_variable pool_available;
  std::vector<std::unique_ptr<Reader>> idle_readers;
  std::size_t open_readers = 0;
  std::size_t max_readers = 0;  // 0: reads use the writer
  std::chrono::milliseconds busy_timeout{5000};

  // Runs `body` in a deferred transaction on a read connection, bound as db().
  template <typename Body>
  auto read(Body&& body) -> decltype(body()) {
    try {
      auto lease = lease_reader();
      if (!lease.ok()) return lease.status();
      Bind bind(lease->db());
      return in_read_transaction(lease->db(), body);
    } catch (const std::exception& e) {
      return Status::Internal(std::string("store: ") + e.what());
    }
  }
  // body() in a deferred transaction on `db` (already bound), committed when it succeeds.
  template <typename Body>
  static auto in_read_transaction(sqlite::Database& db, Body& body) -> decltype(body()) {
    auto tx = sqlite::Transaction::begin(db, sqlite::Transaction::Mode::deferred);
    if (!tx.ok()) return tx.status();
    auto result = body();
    if (!result.ok()) return result;  // the guard ends the transaction
    Status committed = tx->commit();
    if (!committed.ok()) return committed;
    return result;
  }

  // body(row) on what find() (visible_patient / visible_contact with
  // report_deleted) finds for `who` and `id`. A row the leased connection's
  // VisibleMemo (member `rows`) holds for the current DataVersion, whose
  // document `parsed` still holds, is used without a transaction (body then
  // runs outside one, as single statements); otherwise this is read() plus
  // remembering the row found.
  template <typename Row, typename Parsed, typename Find, typename Body>
  auto read_remembered(std::unordered_map<std::string, Row> VisibleMemo::*rows,
                       const Parsed& parsed, const Principal& who, const std::string& id,
                       Find&& find, Body&& body) -> decltype(body(std::declval<const Row&>())) {
    try {
      auto lease = lease_reader();
      if (!lease.ok()) return lease.status();
      Bind bind(lease->db());
      VisibleMemo* memo = lease->visible_memo();
      std::string key;
      if (memo) {
        // Read before any transaction of this read: a row found in one below is
        // remembered at it (its snapshot is this one or newer; if newer, the
        // version has moved on too and the row is not used again).
        auto version = data_version(lease->db());  // no transaction when the header answers
        if (!version.ok()) return version.status();
        memo->at_version(*version);
        key.reserve(who.hcp_id.size() + 1 + id.size());
        key.append(who.hcp_id).append(1, '\n').append(id);
        auto& remembered = memo->*rows;
        if (auto hit = remembered.find(key); hit != remembered.end()) {
          if (auto sealed = parsed.find(hit->second.id, hit->second.rev)) {
            Row row = hit->second;
            row.sealed = std::move(sealed);
            return body(row);
          }
        }  // else looked up again below (and its document read again)
      }
      // As read(), keeping the row found to remember it once committed.
      std::optional<Row> found;
      auto look_up = [&]() -> decltype(body(std::declval<const Row&>())) {
        Result<Row> row = find();
        if (!row.ok()) return row.status();
        found = std::move(*row);
        return body(*found);
      };
      auto result = in_read_transaction(lease->db(), look_up);
      if (result.ok() && memo) {
        auto& remembered = memo->*rows;
        if (remembered.size() >= VisibleMemo::kCapacity) remembered.clear();
        found->sealed = nullptr;
        remembered.insert_or_assign(std::move(key), std::move(*found));
      }
      return result;
    } catch (const std::exception& e) {
      return Status::Internal(std::string("store: ") + e.what());
    }
  }
  // `db`'s DataVersion: its WAL index header, or else its PRAGMA data_version
  // (sqlite.org/pragma.html#pragma_data_version).
  static Result<DataVersion> data_version(sqlite::Database& db);
  // SqliteStore::change_epoch(): moved on by any read connection that sees its
  // DataVersion change since it last looked.
  std::atomic<std::uint64_t> change_epoch{0};

  // ---- writes (group commit) ----
  struct PendingWrite {
    std::function<Status()> run;  // the body; its own result is kept by write()
    Status outcome;               // set when the transaction (not the body) failed
    bool done = false;            // under queue_mutex
    // Each write sleeps on its own condition (under queue_mutex) and is woken
    // only when its group committed or when it is next to lead: one shared
    // condition woke every waiting writer at every commit (a context switch
    // each, which cost HTTP creates more than their SQL).
    std::condition_variable wake;
  };
  // Shared by the writer and the leader that runs it: the leader wakes the
  // group after releasing queue_mutex, and may still hold a write whose owner
  // has already returned.
  using PendingWritePtr = std::shared_ptr<PendingWrite>;
  // Queues `mine` and returns once a COMMIT holding it (or its failure) happened.
  Status commit_group(const PendingWritePtr& mine);
  void run_group(const std::vector<PendingWritePtr>& group);
  std::mutex write_mutex;  // held while a group runs on `writer`
  std::mutex queue_mutex;
  std::vector<PendingWritePtr> write_queue;
  bool leader_running = false;
  std::size_t max_group = 64;
  std::atomic<std::uint64_t> stat_commits{0}, stat_writes{0};
  std::atomic<std::int64_t> stat_group_ns{0};  // WriteStats::group_time
  std::atomic<std::uint64_t> stat_background_checkpoints{0}, stat_inline_checkpoints{0};

  // Runs `body` inside a write transaction on the writer (bound as db()); the
  // result is returned only after the COMMIT. Exceptions become `internal`.
  template <typename Body>
  auto write(Body&& body) -> decltype(body()) {
    using R = decltype(body());
    std::optional<R> result;
    auto pending = std::make_shared<PendingWrite>();
    pending->run = [&]() -> Status {
      try {
        result.emplace(body());
      } catch (const std::exception& e) {
        result.emplace(Status::Internal(std::string("store: ") + e.what()));
      }
      return result->ok() ? Status() : result->status();
    };
    Status committed = commit_group(pending);
    if (!committed.ok()) return committed;
    if (!result) return Status::Internal("store: the write did not run");
    return std::move(*result);
  }

  // ---- checkpoints ----
  static int on_wal_commit(void* impl, sqlite3* db, const char* schema, int pages);
  void checkpoint_loop();
  std::size_t checkpoint_pages = 0;  // 0: SQLite's automatic checkpoints
  std::atomic<int> wal_pages{0};
  enum class CheckpointState { idle, copying, tail_ready };
  std::atomic<CheckpointState> checkpoint_state{CheckpointState::idle};
  // After a commit, on the writer: copies the WAL's tail once the thread has
  // copied its bulk (or everything, past 4x checkpoint_pages).
  void finish_checkpoint();
  std::mutex checkpoint_mutex;
  std::mutex checkpoint_run_mutex;  // held while a checkpoint runs (thread or writer)
  std::condition_variable checkpoint_wanted;
  bool stopping = false;
  std::uint64_t commits_seen = 0, commits_checkpointed = 0;  // under checkpoint_mutex
  sqlite::Database checkpointer_db;
  std::thread checkpointer;

  Status migrate();
  // CREATE INDEX IF NOT EXISTS for schema::kDeferrableIndexes, on db().
  Status build_missing_search_indexes();
  std::string next_rev(std::int64_t previous_generation);

  // HcpDirectory
  Result<icure::HealthcareParty> get(const std::string& hcp_id) override;
  Status put(const icure::HealthcareParty& hcp) override;
  Result<std::shared_ptr<const icure::HealthcareParty>> get_shared(
      const std::string& hcp_id) override;
  Status write_hcp(const icure::HealthcareParty& hcp);

  // Parsed healthcare parties by id, checked against the row's rev on every
  // use (so a rolled-back write or another connection's write is never served).
  struct CachedHcp {
    std::string rev;
    std::shared_ptr<const icure::HealthcareParty> hcp;
  };
  fhirbridge::detail::BoundedMap<CachedHcp> hcp_cache{1000};
  // The secretIds a reader decrypts from a patient, by "<reader>|<patient id>"
  // with the patient's rev: contact creates of a known patient skip loading
  // and decrypting it. Bounded (cleared when full).
  struct CachedSecrets {
    std::string rev;
    std::vector<std::string> secret_ids;
  };
  fhirbridge::detail::BoundedMap<CachedSecrets> patient_secrets_cache{50000};
  void remember_patient_secrets(const std::string& hcp_id, const std::string& patient_id,
                                const std::string& rev, std::vector<std::string> secret_ids);
  std::optional<CachedSecrets> cached_patient_secrets(const std::string& hcp_id,
                                                      const std::string& patient_id);

  // (rev, doc) of a row of `table`, or nothing.
  Result<std::optional<std::pair<std::string, std::string>>> load_doc(const char* table,
                                                                      const std::string& id);
  // The doc of the row of `table` whose rowid is `rowid` (a search page's row,
  // read in the same transaction: it exists).
  Result<std::string> doc_at(const char* table, std::int64_t rowid);
  // What a create of store id `id` checks, in one statement: whether a live
  // row of `kind` has it, and its tombstone's rev when an entity with that id
  // was deleted.
  struct IdSlot {
    bool taken = false;
    std::optional<std::string> tombstone_rev;
  };
  Result<IdSlot> id_slot(EntityKind kind, const std::string& id);
  // The latest delete of an entity whose store id or alias (tombstone_alias:
  // FHIR ids, service ids) is `id_or_alias` and that `reader` could read.
  Result<std::optional<Deletion>> deletion_for(const char* kind, const std::string& id_or_alias,
                                               const std::string& reader);
  Status write_tombstone(const char* kind, const std::string& id, const std::string& rev,
                         const std::vector<std::string>& readers,
                         const std::vector<std::string>& aliases);
  // Removes the tombstone of store id `id` and its aliases.
  Status drop_tombstone(const char* kind, const std::string& id);
  // The live row of `kind` (patient, contact) `id`, copied to entity_version
  // before an update replaces it; drop_versions forgets them all (a delete).
  Status keep_version(const char* kind, const std::string& id);
  Status drop_versions(const char* kind, const std::string& id);
  struct OldVersion {
    std::string rev, patient_id, doc;
  };
  // Old versions of `kind` whose entity `reader` may read, changed at or after
  // `since_ms`, by (modified, id, generation) descending, after `after`.
  struct ListedVersion {
    std::string id;
    OldVersion version;
  };
  Result<std::vector<ListedVersion>> list_old_versions(const char* kind, const std::string& reader,
                                                       std::int64_t since_ms,
                                                       const std::optional<VersionPosition>& after,
                                                       std::size_t limit);
  // The versions updates replaced, newest first; only `generation` when given.
  Result<std::vector<OldVersion>> old_versions(const char* kind, const std::string& id,
                                               std::optional<std::int64_t> generation);

  // Parsed sealed documents by id, valid for one rev (revs are unique, so a
  // rolled-back write's copy is never served). Bounded: cleared when full.
  template <typename Entity>
  class ParsedCache {
   public:
    std::shared_ptr<const Entity> find(const std::string& id, const std::string& rev) const {
      return entries_.read(
          id, [&](const Entry& entry) { return entry.first == rev ? entry.second : nullptr; });
    }
    void put(const std::string& id, const std::string& rev, std::shared_ptr<const Entity> entity) {
      entries_.put(id, Entry{rev, std::move(entity)});
    }

   private:
    using Entry = std::pair<std::string, std::shared_ptr<const Entity>>;
    fhirbridge::detail::BoundedMap<Entry> entries_{4096};
  };
  ParsedCache<icure::Patient> parsed_patients;
  ParsedCache<icure::Contact> parsed_contacts;

  // The row of a patient whose current rev is known: from the parsed-document
  // cache, else read and parsed (nullopt if it vanished meanwhile).
  Result<std::optional<PatientRow>> patient_row(const std::string& id, std::string rev);
  Result<std::optional<std::string>> patient_id_by_fhir_id(const std::string& fhir_id,
                                                           const std::string& hcp_id,
                                                           const std::string* except_id);
  // not_found unless visible to `who`; `deleted` for a tombstone `who` could read
  // when report_deleted.
  Result<PatientRow> visible_patient(const Principal& who, const std::string& id_or_fhir_id,
                                     bool report_deleted);
  Status check_fhir_id_conflicts(const Principal& who, const icure::Patient& patient);
  // The number that tags a reader's patient_name and service_code rows
  // (table data_owner_number), drawn on its first use inside the calling
  // write; stored_owner_number asks the table.
  Result<std::int64_t> data_owner_number(const std::string& owner_id);
  Result<std::int64_t> stored_owner_number(const std::string& owner_id);
  // The owner numbers of the write run_group is running (nullptr between
  // writes): writer thread only.
  std::unordered_map<std::string, std::int64_t>* owner_numbers_of_write = nullptr;
  // Writes the reader rows of `sealed` (`insert_sql`: its reader table's
  // "INSERT ... VALUES(hcp_id, entity id)") and returns the readers' numbers,
  // which tag its name or code rows.
  template <typename Entity>
  Result<std::set<std::int64_t>> write_readers(std::string_view insert_sql, const Entity& sealed,
                                               const std::string& id);
  Status write_patient(const icure::Patient& sealed, bool insert);
  // Deletes an entity's rows in its index tables (index_tables()), before an
  // update rewrites them or when the entity is deleted. The store runs with
  // foreign_keys off: nothing cascades by itself (docs/storage.md).
  Status clear_index_rows(const char* kind, const std::string& id);

  Result<std::optional<ContactRow>> contact_row(const std::string& id, std::string rev,
                                                std::string patient_id);
  Result<std::optional<ContactRow>> load_contact(const std::string& id);
  Result<ContactRow> visible_contact(const Principal& who, const std::string& id,
                                     bool report_deleted);
  Status check_service_fhir_id_conflicts(const Principal& who, const icure::Contact& contact);
  Status write_contact(const icure::Contact& sealed, const std::string& patient_id, bool insert);

  // The bodies of the write methods, without locking/transactions (apply() chains them).
  // full_result = false: the result holds only id and rev (WriteBatch::return_entities),
  // and the entity is sealed in place instead of in a copy.
  Result<icure::Patient> create_patient(const Principal& who, icure::Patient patient,
                                        bool full_result = true);
  Result<icure::Patient> update_patient(const Principal& who, icure::Patient patient);
  Result<Deleted> delete_patient(const Principal& who, const std::string& id,
                                 const std::optional<std::string>& rev);
  Result<ContactRecord> create_contact(const Principal& who, icure::Contact contact,
                                       const std::string& patient_id, bool full_result = true);
  Result<ContactRecord> update_contact(const Principal& who, icure::Contact contact);
  Result<Deleted> delete_contact(const Principal& who, const std::string& id,
                                 const std::optional<std::string>& rev);

  // -- SealedStore helpers (sqlite_sealed.cpp) --
  // The tombstone of store id `id` (not an alias) when `reader` could read the entity.
  Result<std::optional<Deletion>> deleted_stub(const char* kind, const std::string& id,
                                               const std::string& reader);
  // The patient id in a sealed contact's cryptedForeignKeys, decrypted with
  // the caller's key; empty when the key is not in the keychain (or fails).
  std::string resolve_contact_patient(const Principal& who, const icure::Contact& sealed);
};

}  // namespace fhirbridge::storage
