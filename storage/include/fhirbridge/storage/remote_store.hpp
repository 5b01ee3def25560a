// The remote Store: the same interface over an iCure REST API (/rest/v1),
// e.g. an iCure cloud deployment or another fhirbridge serving its iCure
// subset. Entities are sealed here, with the same crypto as the SQLite
// backend: the remote never sees clear medical content.
#pragma once

#include <botan/rng.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "fhirbridge/crypto/entity_sealer.hpp"
#include "fhirbridge/crypto/keychain.hpp"
#include "fhirbridge/storage/store.hpp"

namespace fhirbridge::storage {

struct RemoteStoreOptions {
  // "http://host:port" or "https://host:port" (the /rest/v1 prefix is added).
  std::string base_url;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds request_timeout{30000};
  // Idempotent calls (GET, PUT, DELETE, filters) are retried on connection
  // errors and 5xx with exponential backoff; creates only when the request
  // cannot have reached the remote.
  int max_attempts = 4;
  std::chrono::milliseconds first_backoff{100};
  // TLS: verify the server certificate against this CA file (PEM), or the
  // system store when empty; verify_tls = false only for tests.
  std::string ca_file;
  bool verify_tls = true;
  // Credentials for calls made on nobody's behalf (get_healthcare_party from
  // the keychain endpoint before any login, CLI tools). Optional: calls for a
  // Principal use the credentials that Principal authenticated with.
  std::string login;
  std::string password;
  // Which fields are sealed into encryptedSelf (as SqliteStoreOptions::sealing).
  crypto::SealingPolicy sealing;
  // Healthcare parties (public keys, exchange keys) are cached this long.
  std::chrono::milliseconds hcp_cache_ttl{60000};
  // Page size asked of the remote when walking a filter through nextKeyPair.
  std::size_t fetch_page_size = 1000;
  // Injectable for tests, as for SqliteStoreOptions.
  std::function<std::string()> new_id;
  std::function<std::int64_t()> now_ms;
  Botan::RandomNumberGenerator* rng = nullptr;  // not owned
};

// The remote backend (docs/remote.md). Thread-safe: every call borrows a
// pooled HTTP connection; healthcare parties are cached.
//
// What differs from SQLite, by necessity:
// - authenticate() asks the remote (GET /user/current); later calls for that
//   Principal are made with those credentials (kept in memory only).
// - Queries the iCure filters cannot express are evaluated here on the
//   candidates of the most selective filter (docs/remote.md lists which).
// - apply() validates every op first, then applies them one by one and, on a
//   failure, undoes what was done (best effort: see docs/remote.md).
// - get_user_by_login only knows logins that authenticated; put_user and
//   creating healthcare parties are not_supported (the remote manages them).
class RemoteStore final : public Store {
 public:
  static Result<std::unique_ptr<RemoteStore>> open(RemoteStoreOptions options,
                                                   crypto::Keychain& keychain);
  ~RemoteStore() override;

  Result<icure::HealthcareParty> get_healthcare_party(const std::string& id) override;
  Result<icure::HealthcareParty> put_healthcare_party(icure::HealthcareParty hcp) override;
  Result<icure::User> get_user_by_login(const std::string& login) override;
  Result<icure::User> put_user(icure::User user) override;
  Result<Principal> authenticate(const std::string& login, const std::string& password) override;

  Result<icure::Patient> create_patient(const Principal& who, icure::Patient patient) override;
  Result<icure::Patient> get_patient(const Principal& who, const std::string& id) override;
  Result<icure::Patient> update_patient(const Principal& who, icure::Patient patient) override;
  Result<Deleted> delete_patient(const Principal& who, const std::string& id,
                                 const std::optional<std::string>& rev) override;
  Result<Page<icure::Patient>> find_patients(const Principal& who,
                                             const PatientQuery& query) override;
  Status share_patient(const Principal& who, const std::string& patient_id,
                       const std::string& delegate_hcp_id) override;

  Result<ContactRecord> create_contact(const Principal& who, icure::Contact contact,
                                       const std::string& patient_id) override;
  Result<ContactRecord> get_contact(const Principal& who, const std::string& id) override;
  Result<ContactRecord> update_contact(const Principal& who, icure::Contact contact) override;
  Result<Deleted> delete_contact(const Principal& who, const std::string& id,
                                 const std::optional<std::string>& rev) override;
  Result<Page<ContactRecord>> find_contacts(const Principal& who,
                                            const ContactQuery& query) override;

  // iCure's soft deletes (deletionDate), by store id only: a deleted
  // entity's FHIR ids or service ids are not searched for.
  Result<Deletion> get_deletion(const Principal& who, EntityKind kind,
                                const std::string& id) override;

  Result<std::vector<WriteResult>> apply(const Principal& who, const WriteBatch& batch) override;

  // TCP/TLS connections opened so far (tests check connection reuse).
  std::size_t connections_opened() const;

  struct Impl;

 private:
  explicit RemoteStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Opens a remote store; nothing is sent until the first call (authenticate
// first: the remote is then called with those credentials for that principal).
Result<std::unique_ptr<Store>> open_remote_store(RemoteStoreOptions options,
                                                 crypto::Keychain& keychain);

}  // namespace fhirbridge::storage
