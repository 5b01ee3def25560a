// Internals of SqliteStore shared by its .cpp files (CRUD and queries).
#pragma once

#include <botan/rng.h>

#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fhirbridge/crypto/entity_sealer.hpp"
#include "fhirbridge/storage/detail/sqlite.hpp"
#include "fhirbridge/storage/sqlite_store.hpp"

namespace fhirbridge::storage {

// The system under which a FHIR id sent on create is kept as an Identifier.
inline constexpr const char* kFhirIdSystem = "https://dxm.icure.dev";

// Also the sealer's HcpDirectory: it reads/writes healthcare parties inside
// whatever transaction the calling method has open.
struct SqliteStore::Impl final : crypto::HcpDirectory {
  Impl(crypto::Keychain& keychain, SqliteStoreOptions& options);

  std::mutex mutex;  // one connection, one caller at a time
  sqlite::Database db;
  std::unique_ptr<Botan::RandomNumberGenerator> owned_rng;
  Botan::RandomNumberGenerator& rng;
  crypto::EntitySealer sealer;
  std::function<std::string()> new_id;
  std::function<std::int64_t()> now_ms;

  // Runs `body` under the mutex inside a transaction (IMMEDIATE for writes)
  // that commits only when it returns a value; exceptions become `internal`.
  template <typename Body>
  auto in_transaction(sqlite::Transaction::Mode mode, Body&& body) -> decltype(body()) {
    std::lock_guard lock(mutex);
    try {
      auto tx = sqlite::Transaction::begin(db, mode);
      if (!tx.ok()) return tx.status();
      auto result = body();
      if (!result.ok()) return result;  // the guard rolls back
      Status committed = tx->commit();
      if (!committed.ok()) return committed;
      return result;
    } catch (const std::exception& e) {
      return Status::Internal(std::string("store: ") + e.what());
    }
  }
  template <typename Body>
  auto read(Body&& body) {
    return in_transaction(sqlite::Transaction::Mode::deferred, std::forward<Body>(body));
  }
  template <typename Body>
  auto write(Body&& body) {
    return in_transaction(sqlite::Transaction::Mode::immediate, std::forward<Body>(body));
  }

  Status migrate();
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
  std::unordered_map<std::string, CachedHcp> hcp_cache;
  // The secretIds a reader decrypts from a patient, by "<reader>|<patient id>"
  // with the patient's rev: contact creates of a known patient skip loading
  // and decrypting it. Bounded (cleared when full).
  struct CachedSecrets {
    std::string rev;
    std::vector<std::string> secret_ids;
  };
  std::unordered_map<std::string, CachedSecrets> patient_secrets_cache;
  static constexpr std::size_t kMaxCachedPatientSecrets = 50000;
  void remember_patient_secrets(const std::string& hcp_id, const std::string& patient_id,
                                const std::string& rev, std::vector<std::string> secret_ids);

  // (rev, doc) of a row of `table`, or nothing.
  Result<std::optional<std::pair<std::string, std::string>>> load_doc(const char* table,
                                                                      const std::string& id);
  // kind: "patient" / "contact".
  Result<bool> is_reader(const char* kind, const std::string& id, const std::string& hcp_id);
  // The tombstone's rev; when `reader` is given, only if that HCP could read it.
  Result<std::optional<std::string>> tombstone_rev(const char* kind, const std::string& id,
                                                   const std::string* reader);
  Status write_tombstone(const char* kind, const std::string& id, const std::string& rev,
                         const std::vector<std::string>& readers);
  Status drop_tombstone(const char* kind, const std::string& id);

  struct PatientRow {
    std::string id, rev;
    icure::Patient sealed;
  };
  struct ContactRow {
    std::string id, rev, patient_id;
    icure::Contact sealed;
  };
  Result<std::optional<PatientRow>> load_patient(const std::string& id);
  Result<std::optional<std::string>> patient_id_by_fhir_id(const std::string& fhir_id,
                                                           const std::string& hcp_id,
                                                           const std::string* except_id);
  // not_found unless visible to `who`; `deleted` for a tombstone `who` could read
  // when report_deleted.
  Result<PatientRow> visible_patient(const Principal& who, const std::string& id_or_fhir_id,
                                     bool report_deleted);
  Status check_fhir_id_conflicts(const Principal& who, const icure::Patient& patient);
  Status write_patient(const icure::Patient& sealed, bool insert);

  Result<std::optional<ContactRow>> load_contact(const std::string& id);
  Result<ContactRow> visible_contact(const Principal& who, const std::string& id,
                                     bool report_deleted);
  Status check_service_fhir_id_conflicts(const Principal& who, const icure::Contact& contact);
  Status write_contact(const icure::Contact& sealed, const std::string& patient_id, bool insert);

  // The bodies of the write methods, without locking/transactions (apply() chains them).
  Result<icure::Patient> create_patient(const Principal& who, icure::Patient patient);
  Result<icure::Patient> update_patient(const Principal& who, icure::Patient patient);
  Result<Deleted> delete_patient(const Principal& who, const std::string& id,
                                 const std::optional<std::string>& rev);
  Result<ContactRecord> create_contact(const Principal& who, icure::Contact contact,
                                       const std::string& patient_id);
  Result<ContactRecord> update_contact(const Principal& who, icure::Contact contact);
  Result<Deleted> delete_contact(const Principal& who, const std::string& id,
                                 const std::optional<std::string>& rev);

  // -- SealedStore helpers (sqlite_sealed.cpp) --
  struct DeletedStub {
    std::string rev;
    std::int64_t deleted_ms = 0;
  };
  // The tombstone of `kind`/`id` when `reader` could read the entity.
  Result<std::optional<DeletedStub>> deleted_stub(const char* kind, const std::string& id,
                                                  const std::string& reader);
  // The patient id in a sealed contact's cryptedForeignKeys, decrypted with
  // the caller's key; empty when the key is not in the keychain (or fails).
  std::string resolve_contact_patient(const Principal& who, const icure::Contact& sealed);
};

}  // namespace fhirbridge::storage
