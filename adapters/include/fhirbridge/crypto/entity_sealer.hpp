// Seals and unseals iCure entities exactly as the official SDK (@icure/api
// 6.4.4) does: exchange keys, delegations, encryptionKeys, secretForeignKeys,
// cryptedForeignKeys and encryptedSelf. Shared by every storage backend.
#pragma once

#include <botan/rng.h>

#include <functional>
#include <initializer_list>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "fhirbridge/crypto/decryption_cache.hpp"
#include "fhirbridge/crypto/keychain.hpp"
#include "fhirbridge/icure/entities.hpp"
#include "fhirbridge/status.hpp"

namespace fhirbridge::crypto {

// Where the sealer reads and writes healthcare parties (their public keys and
// exchange keys). A backend implements it over its own storage, inside its
// current transaction.
class HcpDirectory {
 public:
  virtual ~HcpDirectory() = default;
  virtual Result<icure::HealthcareParty> get(const std::string& hcp_id) = 0;
  virtual Status put(const icure::HealthcareParty& hcp) = 0;  // rev handled by the backend
  // The same party without a copy: a backend that caches parsed parties
  // overrides it (the sealer asks for the owner's party on every entity).
  virtual Result<std::shared_ptr<const icure::HealthcareParty>> get_shared(
      const std::string& hcp_id) {
    auto hcp = get(hcp_id);
    if (!hcp.ok()) return hcp.status();
    return std::make_shared<const icure::HealthcareParty>(std::move(*hcp));
  }
};

// Which fields go into encryptedSelf. Defaults are iCure's.
struct SealingPolicy {
  // "properties" holds FHIR content with no iCure home (see docs/mapping.md), which may
  // be identifying (narrative text), so it is sealed too.
  std::set<std::string> patient_fields{"note", "properties"};
  std::set<std::string> contact_fields{"descr"};
  std::set<std::string> service_fields{"content"};
  // Extra Patient fields some deployments encrypt (search on them is then
  // impossible in the store): e.g. names, addresses, firstName, lastName.
  static SealingPolicy strict();
};

// Thread-safety contract (the SQLite store reads from a pool of connections):
// - unseal_patient, unseal_contact, patient_secret_ids, contact_patient_id and
//   exchange_key(create_if_missing = false) may run concurrently with each
//   other and with any other call, on one shared EntitySealer. They never use
//   the rng and never call HcpDirectory::put.
// - seal_*, reseal_*, share_* and exchange_key(create_if_missing = true) use
//   the rng, and may create an exchange key (HcpDirectory::put on the owner's
//   party): run them under the caller's write serialisation (one writer at a
//   time, as the store's write transaction does). They may still overlap with
//   reads. If several of them must run at once, the rng must be thread-safe
//   (Botan's AutoSeeded_RNG, ChaCha_RNG and System_RNG are: they lock) and the
//   directory must handle concurrent puts.
// - The HcpDirectory is the caller's: give each concurrent call its own (a
//   connection's view), or one whose get/get_shared are thread-safe.
// - The Keychain, the exchange-key cache and the decryption cache are
//   thread-safe; the policy is read-only after construction.
class EntitySealer {
 public:
  // `decryption_cache_capacity`: how many decrypted delegation / encryptionKeys
  // / cryptedForeignKeys entries are kept (0: none; see DecryptionCache).
  EntitySealer(Keychain& keychain, Botan::RandomNumberGenerator& rng, SealingPolicy policy = {},
               std::size_t decryption_cache_capacity = DecryptionCache::kDefaultCapacity);

  // Seal a NEW patient for `owner_hcp_id` (+ `delegates`): new secretId and
  // content key, delegations/encryptionKeys for owner and each delegate
  // (exchange keys created on the owner's HCP if missing), encryptedSelf from
  // the policy's fields, which are then removed from the clear JSON.
  // `remember_entries`: keep the new entries' plaintexts in the decryption
  // cache, so that the first read of the entity is warm; a bulk import, which
  // reads nothing back, passes false (filling the cache was ~4% of its CPU).
  // `secret_ids`, when given, receives the secretId it drew: what
  // patient_secret_ids would decrypt back from the sealed patient.
  Status seal_new_patient(HcpDirectory& dir, const std::string& owner_hcp_id,
                          icure::Patient& patient, const std::vector<std::string>& delegates = {},
                          bool remember_entries = true,
                          std::vector<std::string>* secret_ids = nullptr);
  // Re-seal an updated patient keeping its existing keys/delegations
  // (`previous` is the sealed stored version).
  Status reseal_patient(HcpDirectory& dir, const std::string& hcp_id, icure::Patient& patient,
                        const icure::Patient& previous);
  // Decrypt for `reader_hcp_id`: not_found when no delegation for the reader,
  // key_missing when its private key is not in the keychain. The result is
  // remembered for this reader, valid for exactly this (id, rev, encryptedSelf):
  // reading it again costs a copy, after the same keychain check (docs/crypto.md).
  Result<icure::Patient> unseal_patient(HcpDirectory& dir, const std::string& reader_hcp_id,
                                        const icure::Patient& sealed);
  // The same without the copy: the remembered patient itself on a hit.
  Result<std::shared_ptr<const icure::Patient>> unseal_patient_shared(
      HcpDirectory& dir, const std::string& reader_hcp_id, const icure::Patient& sealed);
  // The patient's secretId(s) as `reader_hcp_id` can decrypt them.
  Result<std::vector<std::string>> patient_secret_ids(HcpDirectory& dir,
                                                      const std::string& reader_hcp_id,
                                                      const icure::Patient& sealed);

  // Seal a NEW contact of `sealed_patient` (secretForeignKeys = the patient's
  // secretId, cryptedForeignKeys = "<contactId>:<patientId>"); services are
  // sealed with the contact's key.
  Status seal_new_contact(HcpDirectory& dir, const std::string& owner_hcp_id,
                          icure::Contact& contact, const icure::Patient& sealed_patient,
                          const std::vector<std::string>& delegates = {});
  // The same, when the caller already knows the patient's id and the secretIds
  // `owner_hcp_id` decrypts from it (patient_secret_ids): a store that creates
  // many contacts of one patient then skips loading and decrypting the patient.
  Status seal_new_contact_of(HcpDirectory& dir, const std::string& owner_hcp_id,
                             icure::Contact& contact, const std::string& patient_id,
                             std::vector<std::string> patient_secret_ids,
                             const std::vector<std::string>& delegates = {},
                             bool remember_entries = true);
  Status reseal_contact(HcpDirectory& dir, const std::string& hcp_id, icure::Contact& contact,
                        const icure::Contact& previous);
  // Remembered like unseal_patient's result, for exactly this (id, rev, and
  // the contact's and each service's encryptedSelf).
  Result<icure::Contact> unseal_contact(HcpDirectory& dir, const std::string& reader_hcp_id,
                                        const icure::Contact& sealed);
  // The same without the copy: the remembered contact itself on a hit.
  Result<std::shared_ptr<const icure::Contact>> unseal_contact_shared(
      HcpDirectory& dir, const std::string& reader_hcp_id, const icure::Contact& sealed);
  // The patient id from cryptedForeignKeys, as the reader decrypts it.
  Result<std::string> contact_patient_id(HcpDirectory& dir, const std::string& reader_hcp_id,
                                         const icure::Contact& sealed);

  // Add `delegate_hcp_id` to a sealed entity's delegations / encryptionKeys
  // (/ cryptedForeignKeys for contacts), as `owner_hcp_id` who can read it.
  Status share_patient(HcpDirectory& dir, const std::string& owner_hcp_id, icure::Patient& sealed,
                       const std::string& delegate_hcp_id);
  Status share_contact(HcpDirectory& dir, const std::string& owner_hcp_id, icure::Contact& sealed,
                       const std::string& delegate_hcp_id);

  // The exchange key K(owner -> delegate), created (and stored on owner's HCP,
  // in aesExchangeKeys and hcPartyKeys) when missing; decrypted with the
  // owner's or the delegate's private key, whichever `reader_hcp_id` is.
  Result<SecureBytes> exchange_key(HcpDirectory& dir, const std::string& owner_hcp_id,
                                   const std::string& delegate_hcp_id,
                                   const std::string& reader_hcp_id, bool create_if_missing);

  const SealingPolicy& policy() const { return policy_; }

  // Hits/misses/size of the cache of decrypted entries (tests, diagnostics).
  DecryptionCache::Stats decryption_cache_stats() const { return decrypted_->stats(); }
  // Forgets every decrypted exchange key and entry (e.g. after Keychain::clear,
  // to drop decrypted material from memory at once rather than on eviction).
  void clear_caches();

 private:
  struct ExchangeKeyCache;  // decrypted exchange keys, so reads skip RSA (thread-safe)
  template <typename Entity>
  class UnsealedCache;      // unsealed entities per reader, for one sealed version (thread-safe)
  struct ExchangeKeyEntry;  // one decrypted exchange key and its id in decrypted_

  // exchange_key() without copying the key: the shared cache entry.
  Result<std::shared_ptr<const ExchangeKeyEntry>> exchange_key_entry(
      HcpDirectory& dir, const std::string& owner_hcp_id, const std::string& delegate_hcp_id,
      const std::string& reader_hcp_id, bool create_if_missing);
  // AES-decrypts one delegation-like entry (hex) with an exchange key, through
  // the decryption cache.
  Result<std::shared_ptr<const SecureBytes>> decrypt_entry(const ExchangeKeyEntry& key,
                                                           const std::string& ciphertext_hex);

  // The second halves ("<entityId>:<secret>") of `reader`'s entries in `map`:
  // not_found when the reader has none, the first error when none decrypts.
  Result<std::vector<std::string>> decrypt_delegations(HcpDirectory& dir, const std::string& reader,
                                                       const icure::DelegationMap& map,
                                                       const std::string& entity_id,
                                                       const char* what);
  Result<std::vector<SecureBytes>> content_keys(HcpDirectory& dir, const std::string& reader,
                                                const icure::DelegationMap& encryption_keys,
                                                const std::string& entity_id);
  // Adds `owner` -> `delegate` entries encrypting "<entityId>:<secret>" for each secret
  // not already there.
  Status add_delegation_entries(HcpDirectory& dir, const std::string& owner,
                                const std::string& delegate, const std::string& entity_id,
                                const std::vector<std::string>& secrets, icure::DelegationMap& map,
                                Botan::RandomNumberGenerator& rng, bool remember = true);
  // The same with the exchange key K(owner -> delegate) already at hand.
  Status add_delegation_entries(const ExchangeKeyEntry& exchange, const std::string& owner,
                                const std::string& delegate, const std::string& entity_id,
                                const std::vector<std::string>& secrets, icure::DelegationMap& map,
                                Botan::RandomNumberGenerator& rng, bool remember);
  // A new entity's entries for every party: in each map, one entry encrypting
  // "<entityId>:<its secret>". A party's maps share one exchange key, looked up
  // once per party, not once per map.
  struct NewEntry {
    const std::string& secret;
    icure::DelegationMap& map;
  };
  Status add_new_entity_entries(HcpDirectory& dir, const std::string& owner,
                                const std::vector<std::string>& parties,
                                const std::string& entity_id,
                                std::initializer_list<NewEntry> entries,
                                Botan::RandomNumberGenerator& rng, bool remember);
  // Moves the policy's `fields` of a typed entity (Patient, Contact, Service)
  // into encryptedSelf.
  template <typename Entity>
  void seal_entity(Entity& entity, const std::set<std::string>& fields,
                   const SecureBytes& content_key, Botan::RandomNumberGenerator& rng);

  Keychain& keychain_;
  Botan::RandomNumberGenerator& rng_;
  SealingPolicy policy_;
  std::shared_ptr<ExchangeKeyCache> cache_;
  std::shared_ptr<DecryptionCache> decrypted_;
  std::shared_ptr<UnsealedCache<icure::Patient>> unsealed_patients_;
  std::shared_ptr<UnsealedCache<icure::Contact>> unsealed_contacts_;
};

}  // namespace fhirbridge::crypto
