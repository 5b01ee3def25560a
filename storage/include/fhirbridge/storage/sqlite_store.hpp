// The local, embedded Store: one SQLite file holding iCure JSON documents
// sealed exactly as iCure seals them, plus clear index tables for search
// (see docs/storage.md for the schema, the cursor and the trade-offs).
//
// Thread model: every public method runs inside its own SQLite transaction
// and is safe to call from many threads. Reads run in parallel on a pool of
// read-only connections, each on a committed snapshot; writes go through ONE
// write connection with group commit (concurrent writes share one COMMIT,
// each in its own SAVEPOINT) and return only once that COMMIT is done.
#pragma once

#include <botan/rng.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fhirbridge/crypto/entity_sealer.hpp"
#include "fhirbridge/crypto/keychain.hpp"
#include "fhirbridge/storage/sealed_store.hpp"
#include "fhirbridge/storage/store.hpp"

namespace fhirbridge::storage {

struct SqliteStoreOptions {
  // Which fields are sealed into encryptedSelf. SealingPolicy::strict() also
  // seals names/addresses: those are then not indexed, so not searchable.
  crypto::SealingPolicy sealing;
  // How long a writer waits for another process's lock before `unavailable`.
  std::chrono::milliseconds busy_timeout{5000};
  // Injectable for tests; defaults: time-ordered UUID v7 (docs/storage.md),
  // system clock (epoch ms), a ChaCha20 RNG keyed from the OS, owned by the store.
  std::function<std::string()> new_id;
  std::function<std::int64_t()> now_ms;
  Botan::RandomNumberGenerator* rng = nullptr;  // not owned; must outlive the store
  // Read-only connections for concurrent reads (WAL lets them run beside the
  // writer), opened on demand; 0 = max(2, hardware threads).
  std::size_t read_connections = 0;
  // WAL size (pages) at which a background thread checkpoints it (PASSIVE,
  // off the request path); the writer itself does at 4x that, so the WAL
  // stays bounded when the thread lags. 0 = SQLite's automatic checkpoint
  // inside the committing call.
  std::size_t checkpoint_pages = 1000;
  // At most this many concurrent writes share one transaction (group commit).
  std::size_t max_group_commit = 64;
  // Page size in bytes of a new database file: a power of two from 512 to
  // 65536 (else open() answers invalid); 0 = SQLite's default, 4096. A file
  // that exists keeps its own (page_size() says which). Larger pages speed up
  // bulk imports and slow down single creates (docs/storage.md, "Page size").
  std::size_t page_size = 0;
};

// Also a SealedStore (storage/src/sqlite_sealed.cpp): the iCure REST subset
// reads and writes the same rows sealed.
class SqliteStore final : public Store, public SealedStore {
 public:
  // Opens or creates `file` and migrates its schema to the current version.
  // internal when the file is not a database or is newer than this build.
  static Result<std::unique_ptr<SqliteStore>> open(const std::filesystem::path& file,
                                                   crypto::Keychain& keychain,
                                                   SqliteStoreOptions options = {});
  ~SqliteStore() override;

  // The schema version this build writes (PRAGMA user_version).
  static int schema_version();

  // The database file's page size in bytes (SqliteStoreOptions::page_size).
  std::size_t page_size() const;
  // Whether SqliteStoreOptions::page_size may be `bytes` (0, or a power of two
  // from 512 to 65536): what open() checks, for a CLI to check first.
  static bool valid_page_size(std::size_t bytes);

  Result<icure::HealthcareParty> get_healthcare_party(const std::string& id) override;
  Result<icure::HealthcareParty> put_healthcare_party(icure::HealthcareParty hcp) override;
  Result<icure::User> get_user_by_login(const std::string& login) override;
  Result<icure::User> put_user(icure::User user) override;

  // get_patient accepts the store id or the FHIR id (identifier with system
  // https://dxm.icure.dev). A deleted patient the caller could read answers
  // `deleted` (410 Gone) instead of not_found.
  Result<icure::Patient> create_patient(const Principal& who, icure::Patient patient) override;
  Result<icure::Patient> get_patient(const Principal& who, const std::string& id) override;
  Result<std::shared_ptr<const icure::Patient>> get_patient_shared(const Principal& who,
                                                                   const std::string& id) override;
  Result<icure::Patient> update_patient(const Principal& who, icure::Patient patient) override;
  Result<Deleted> delete_patient(const Principal& who, const std::string& id,
                                 const std::optional<std::string>& rev) override;
  Result<Page<icure::Patient>> find_patients(const Principal& who,
                                             const PatientQuery& query) override;
  Result<Page<std::shared_ptr<const icure::Patient>>> find_patients_shared(
      const Principal& who, const PatientQuery& query) override;
  Status share_patient(const Principal& who, const std::string& patient_id,
                       const std::string& delegate_hcp_id) override;

  // get_contact accepts a contact id, the id of one of its services, or a
  // service's FHIR id (identifier with system https://dxm.icure.dev).
  Result<ContactRecord> create_contact(const Principal& who, icure::Contact contact,
                                       const std::string& patient_id) override;
  Result<ContactRecord> get_contact(const Principal& who, const std::string& id) override;
  Result<ContactRecord> update_contact(const Principal& who, icure::Contact contact) override;
  Result<Deleted> delete_contact(const Principal& who, const std::string& id,
                                 const std::optional<std::string>& rev) override;
  Result<Page<SharedContactRecord>> find_contacts_shared(const Principal& who,
                                                         const ContactQuery& query) override;
  Result<Page<ContactRecord>> find_contacts(const Principal& who,
                                            const ContactQuery& query) override;

  // From the tombstones (and their aliases: FHIR ids, service ids).
  // Old versions are kept in entity_version (schema 5) until a delete.
  bool keeps_old_versions() const override { return true; }
  // From the read connections' data version (the WAL index header, else
  // PRAGMA data_version; any other connection's commit changes it): nullopt
  // when reads use the writer (no read pool).
  Result<std::optional<std::uint64_t>> change_epoch() override;
  Result<std::vector<icure::Patient>> list_old_patient_versions(
      const Principal& who, std::int64_t since_ms, const std::optional<VersionPosition>& after,
      std::size_t limit) override;
  Result<std::vector<ContactRecord>> list_old_contact_versions(
      const Principal& who, std::int64_t since_ms, const std::optional<VersionPosition>& after,
      std::size_t limit) override;
  Result<std::vector<icure::Patient>> patient_versions(
      const Principal& who, const std::string& id, std::optional<std::int64_t> generation) override;
  Result<std::vector<ContactRecord>> contact_versions(
      const Principal& who, const std::string& id, std::optional<std::int64_t> generation) override;
  Result<Deletion> get_deletion(const Principal& who, EntityKind kind,
                                const std::string& id) override;
  Result<std::vector<Deletion>> list_deletions(const Principal& who, EntityKind kind,
                                               std::int64_t since_ms,
                                               const std::optional<Deletion>& after,
                                               std::size_t limit) override;

  // From the clear identifier indexes joined with the readers: nothing is
  // decrypted (an import's "already stored?" look-ups).
  Result<std::unordered_map<std::string, std::string>> patient_ids_by_identifier(
      const Principal& who, const std::string& system,
      const std::vector<std::string>& values) override;
  Result<std::unordered_map<std::string, std::string>> contact_ids_by_service_identifier(
      const Principal& who, const std::string& system,
      const std::vector<std::string>& values) override;

  Result<std::vector<WriteResult>> apply(const Principal& who, const WriteBatch& batch) override;

  // -- SealedStore (sqlite_sealed.cpp) --
  Result<ExchangeKeysTo> exchange_keys_to(const std::string& delegate_hcp_id) override;
  Result<icure::Patient> create_sealed_patient(const Principal& who,
                                               icure::Patient sealed) override;
  Result<icure::Patient> update_sealed_patient(const Principal& who,
                                               icure::Patient sealed) override;
  Result<icure::Patient> get_sealed_patient(const Principal& who, const std::string& id) override;
  Result<std::vector<icure::Patient>> get_sealed_patients(
      const Principal& who, const std::vector<std::string>& ids) override;
  Result<std::vector<Deleted>> delete_sealed_patients(const Principal& who,
                                                      const std::vector<std::string>& ids) override;
  Result<SealedPage<icure::Patient>> filter_sealed_patients(const Principal& who,
                                                            const SealedPatientFilter& filter,
                                                            const SealedPageRequest& page) override;
  Result<icure::Contact> create_sealed_contact(const Principal& who,
                                               icure::Contact sealed) override;
  Result<icure::Contact> update_sealed_contact(const Principal& who,
                                               icure::Contact sealed) override;
  Result<icure::Contact> get_sealed_contact(const Principal& who, const std::string& id) override;
  Result<std::vector<icure::Contact>> get_sealed_contacts(
      const Principal& who, const std::vector<std::string>& ids) override;
  Result<std::vector<Deleted>> delete_sealed_contacts(const Principal& who,
                                                      const std::vector<std::string>& ids) override;
  Result<std::vector<icure::Contact>> contacts_by_secret_foreign_keys(
      const Principal& who, const std::string& healthcare_party_id,
      const std::vector<std::string>& secret_foreign_keys) override;
  Result<SealedPage<icure::Contact>> filter_sealed_contacts(const Principal& who,
                                                            const SealedContactFilter& filter,
                                                            const SealedPageRequest& page) override;
  Result<SealedPage<icure::Service>> filter_sealed_services(const Principal& who,
                                                            const SealedServiceFilter& filter,
                                                            const SealedPageRequest& page) override;

  // SQLite's EXPLAIN QUERY PLAN lines of find_patients' (find_contacts')
  // queries: the bounded count and every page shape, each under a heading
  // line (tests use them to prove that searches stay indexed; store_bench
  // --explain prints them). Errors: invalid (a bad sort), internal.
  Result<std::vector<std::string>> explain_patient_query(const Principal& who,
                                                         const PatientQuery& query);
  Result<std::vector<std::string>> explain_contact_query(const Principal& who,
                                                         const ContactQuery& query);

  // Bulk loading (`fhirbridge import`, docs/storage.md). defer_search_indexes()
  // drops the indexes that only searches use (names, family order, birth date,
  // codes, dates, secret foreign keys: deferrable_search_indexes()), so that
  // each imported resource inserts fewer B-tree entries; build_search_indexes()
  // creates the missing ones again, one sorted pass each through temporary
  // files (~1 s per 200k resources stored; writes wait meanwhile). In between,
  // every search answers the same, by scanning, here and in other processes on
  // the file. open() also builds missing ones (an import killed before it
  // built them). Both are idempotent; errors: internal, unavailable (another
  // process holds the write lock past busy_timeout).
  Status defer_search_indexes();
  Status build_search_indexes();
  static std::vector<std::string> deferrable_search_indexes();

  // The store clock's time (SqliteStoreOptions::now_ms), read while holding
  // the database's write lock, as writes take their `modified`: every write
  // stamped earlier has committed (in this process or another on the file),
  // and every later one is stamped at or after it (while the clock does not
  // go back). So "what changed at or after it" (`_lastUpdated=ge`, `export
  // --since`) misses no write that a read started after this call did not
  // see (docs/bulk.md, "Incremental export"). Errors: unavailable (another
  // process holds the write lock past busy_timeout), internal.
  Result<std::int64_t> write_fence_time();

  // Write-path counters (tests and benchmarks): committed transactions, the
  // writes they held, writes waiting for a group right now; checkpoints run by
  // the checkpointer thread, and by the writer after a commit because that
  // thread lagged (each one a pause on the write path). `group_time`: the
  // wall time the writer spent running groups (their SQL and sealing, the
  // COMMIT, its own checkpoints), so that over a run it says how busy the one
  // writer was: near the run's length, the writer is what limits writes.
  struct WriteStats {
    std::uint64_t commits = 0;
    std::uint64_t writes = 0;
    std::size_t queued = 0;
    std::uint64_t background_checkpoints = 0;
    std::uint64_t inline_checkpoints = 0;
    std::chrono::nanoseconds group_time{0};
  };
  WriteStats write_stats() const;

  struct Impl;

 private:
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fhirbridge::storage
