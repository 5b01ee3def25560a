// Access to patients and contacts AS SEALED, i.e. exactly as the iCure REST
// API exchanges them: the official iCure SDK seals and unseals on the client,
// so the server's iCure-compatible endpoints (server/src/icure_rest/) store
// and return the sealed JSON as is. Same rows as the Store interface sees:
// what the SDK writes here the FHIR API reads (when the key is unlocked), and
// the other way round.
//
// Visibility is iCure's: an entity is visible to a healthcare party when its
// `delegations` has an entry for it. Nothing here decrypts content; the only
// decryption is the optional patient-id resolution of a new contact (below).
//
// Codes, as in store.hpp: not_found (absent, deleted or not visible: the same
// answer on purpose), conflict (create with an existing id / FHIR id),
// version_conflict (stale or missing rev), invalid (bad input, with the field
// path), internal (database failure; nothing written). Never throws.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fhirbridge/icure/entities.hpp"
#include "fhirbridge/status.hpp"
#include "fhirbridge/storage/store.hpp"

namespace fhirbridge::storage {

// iCure-style keyset paging: rows are ordered by document id; a page starts AT
// `start_document_id` (inclusive), and SealedPage::next_document_id is the
// first row of the next page. Inserts/deletes between two calls never repeat
// or shift rows already returned.
struct SealedPageRequest {
  std::size_t limit = 1000;  // 0 = count only
  std::optional<std::string> start_document_id;
};

template <typename T>
struct SealedPage {
  std::vector<T> rows;
  std::int64_t total = 0;                       // matches over all pages
  std::optional<std::string> next_document_id;  // absent on the last page
};

// The patient filters of the iCure REST subset. The filter's healthcare party
// must be a reader (delegate) of each row, and so must the caller.
struct SealedPatientFilter {
  enum class Kind {
    by_healthcare_party,  // PatientByHcPartyFilter
    name_contains,        // PatientByHcPartyNameContainsFuzzyFilter: every word of
                          // search_string is contained (ignoring case/accents) in
                          // some clear name part (firstName, lastName, names[])
    by_identifiers,       // PatientByHcPartyAndIdentifiersFilter: any of identifiers
  };
  Kind kind = Kind::by_healthcare_party;
  std::string healthcare_party_id;
  std::string search_string;
  std::vector<TokenFilter> identifiers;  // system|value, an absent part matches anything
};

// ContactByHcPartyFilter.
struct SealedContactFilter {
  std::string healthcare_party_id;
};

// The service filters. Rows are services (sealed, with `contactId` set).
struct SealedServiceFilter {
  enum class Kind {
    by_tag_code_date,  // ServiceByHcPartyTagCodeDateFilter: each given part must match
    by_identifiers,    // ServiceByHcPartyIdentifiersFilter: any of identifiers
  };
  Kind kind = Kind::by_tag_code_date;
  std::string healthcare_party_id;
  std::optional<std::string> tag_type, tag_code, code_type, code_code;
  // Inclusive bounds on the service's valueDate (else openingDate), as
  // YYYYMMDDhhmmss (YYYYMMDD accepted); a service without a date never matches
  // a bounded filter.
  std::optional<std::int64_t> start_value_date, end_value_date;
  std::vector<TokenFilter> identifiers;
};

// Delegator HCP id -> delegator public key (hex, as in its aesExchangeKeys)
// -> {public key fingerprint: exchange key encrypted for that key, hex}.
using ExchangeKeysTo =
    std::map<std::string, std::map<std::string, std::map<std::string, std::string>>>;

class SealedStore {
 public:
  virtual ~SealedStore() = default;

  // -- healthcare parties --

  // Every exchange key other HCPs (and the delegate itself) created towards
  // `delegate_hcp_id`: what GET /hcparty/{id}/aesExchangeKeys answers. Empty
  // when none (also for an unknown id).
  virtual Result<ExchangeKeysTo> exchange_keys_to(const std::string& delegate_hcp_id) = 0;

  // -- patients --

  // Stores a patient sealed by the client. The client's id is kept (a fresh
  // UUID when empty); the store sets rev (a new generation after a tombstone),
  // _type, modified (now) and created/author/responsible when absent.
  // conflict when the id (or a FHIR-id identifier) exists; invalid when the
  // caller has no entry in `delegations` (it could never read it back).
  virtual Result<icure::Patient> create_sealed_patient(const Principal& who,
                                                       icure::Patient sealed) = 0;
  // Replaces a visible patient as sent (delegations included). version_conflict
  // when rev is absent or not the stored one; not_found when absent/not visible.
  virtual Result<icure::Patient> update_sealed_patient(const Principal& who,
                                                       icure::Patient sealed) = 0;
  // The sealed patient (store id or FHIR id). A deleted patient the caller
  // could read comes back as a stub {id, rev, deletionDate} (ok, not an error,
  // as iCure answers it); not_found otherwise.
  virtual Result<icure::Patient> get_sealed_patient(const Principal& who,
                                                    const std::string& id) = 0;
  // The visible ones, in the order asked; unknown/invisible/deleted ids skipped.
  virtual Result<std::vector<icure::Patient>> get_sealed_patients(
      const Principal& who, const std::vector<std::string>& ids) = 0;
  // Deletes the visible ones (tombstones, as Store::delete_patient); returns
  // what was deleted, unknown/invisible ids skipped. All in one transaction.
  virtual Result<std::vector<Deleted>> delete_sealed_patients(
      const Principal& who, const std::vector<std::string>& ids) = 0;
  virtual Result<SealedPage<icure::Patient>> filter_sealed_patients(
      const Principal& who, const SealedPatientFilter& filter, const SealedPageRequest& page) = 0;

  // -- contacts --

  // As create_sealed_patient. The contact's patient (for the FHIR side's
  // Observation.subject and patient searches) is resolved by decrypting its
  // cryptedForeignKeys when the caller's private key is in the keychain;
  // otherwise it is stored with an EMPTY patient id: the contact is still
  // served here and by id through the Store, but no FHIR search by patient
  // finds it. An update re-tries the resolution when the id is still empty.
  virtual Result<icure::Contact> create_sealed_contact(const Principal& who,
                                                       icure::Contact sealed) = 0;
  virtual Result<icure::Contact> update_sealed_contact(const Principal& who,
                                                       icure::Contact sealed) = 0;
  // Deleted: a stub {id, rev, deletionDate} as get_sealed_patient.
  virtual Result<icure::Contact> get_sealed_contact(const Principal& who,
                                                    const std::string& id) = 0;
  virtual Result<std::vector<icure::Contact>> get_sealed_contacts(
      const Principal& who, const std::vector<std::string>& ids) = 0;
  virtual Result<std::vector<Deleted>> delete_sealed_contacts(
      const Principal& who, const std::vector<std::string>& ids) = 0;
  // Contacts with one of `secret_foreign_keys` that both `healthcare_party_id`
  // and the caller can read, ordered by id.
  virtual Result<std::vector<icure::Contact>> contacts_by_secret_foreign_keys(
      const Principal& who, const std::string& healthcare_party_id,
      const std::vector<std::string>& secret_foreign_keys) = 0;
  virtual Result<SealedPage<icure::Contact>> filter_sealed_contacts(
      const Principal& who, const SealedContactFilter& filter, const SealedPageRequest& page) = 0;
  // Services ordered by service id (the page's document ids are service ids),
  // each with `contactId` and, as iCure serves them, its contact's
  // delegations, encryptionKeys, cryptedForeignKeys and secretForeignKeys
  // (in Service::extra), which a client needs to decrypt it.
  virtual Result<SealedPage<icure::Service>> filter_sealed_services(
      const Principal& who, const SealedServiceFilter& filter, const SealedPageRequest& page) = 0;
};

}  // namespace fhirbridge::storage
