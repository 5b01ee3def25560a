// The store interface (in the style of LevelDB's db.h): one abstract class that
// every backend (SQLite, remote iCure, test doubles, fault injectors) implements.
//
// Entities cross this interface DECRYPTED, as the acting healthcare party sees
// them. Backends seal on write and unseal on read with crypto::EntitySealer, so
// what is stored (locally or remotely) is sealed exactly as iCure seals it.
//
// Every method returns a Result/Status, never throws. Common codes:
//   not_found        the entity does not exist, was deleted, or is not shared
//                    with the caller (the two are indistinguishable on purpose)
//   conflict         create with an id (or FHIR-id identifier) that exists
//   version_conflict update/delete whose `rev` is not the stored one (an absent
//                    rev means "no check": the server enforces If-Match)
//   deleted          get_* of an entity the caller could read and that was
//                    deleted (HTTP 410); everyone else gets not_found
//   key_missing      the caller's private key is not in the keychain
//   internal         I/O or database failure; nothing was written
//
// Thread safety: every implementation may be called from several threads at
// once (the server calls it from its I/O threads with no lock of its own);
// each call is atomic on its own, and a write based on a stale read fails
// with version_conflict (rev) or conflict (FHIR id) instead of overwriting.
//
// Ids: get_patient / get_contact accept, besides the store id, the FHIR id a
// client sent at create (an Identifier with the FHIR-id system,
// mapping::MappingSettings::fhir_id_system, "https://dxm.icure.dev"), resolved
// among the entities `who` can see; get_contact also accepts a service id.
// The FHIR server relies on it (it does no identifier search of its own).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "fhirbridge/icure/entities.hpp"
#include "fhirbridge/status.hpp"

namespace fhirbridge::storage {

// Who is acting: the data owner (healthcare party) of the logged-in user.
struct Principal {
  std::string hcp_id;
  std::string user_id;
};

// ---- queries -------------------------------------------------------------

// A token condition on an Identifier (system|value) or a CodeStub (type|code).
// An absent part matches anything.
struct TokenFilter {
  std::optional<std::string> system;  // Identifier.system or CodeStub.type
  std::optional<std::string> value;   // Identifier.value or CodeStub.code
};
using AnyOf = std::vector<TokenFilter>;  // OR of tokens

// Inclusive integer range on an iCure date (YYYYMMDD for birth dates,
// YYYYMMDDhhmmss for service/contact dates). `negate` = outside the range.
// A missing date matches neither the range nor its negation.
struct DateCondition {
  std::optional<std::int64_t> lo, hi;
  bool negate = false;
  // More ranges of the same parameter, OR'ed with this one (a comma list,
  // `birthdate=1970,1980`); they have no alternatives of their own.
  std::vector<DateCondition> alternatives = {};  // "= {}": brace-init of the rest stays quiet
  // Whether `value` matches this range or one of the alternatives; `bound`
  // puts a bound on the value's scale (bound(v, /*high=*/true)).
  template <typename Bound>
  bool matches(std::int64_t value, Bound bound) const {
    const bool in = (!lo || value >= bound(*lo, false)) && (!hi || value <= bound(*hi, true));
    if (in != negate) return true;
    for (const auto& other : alternatives)
      if (other.matches(value, bound)) return true;
    return false;
  }
  bool matches(std::int64_t value) const {
    return matches(value, [](std::int64_t v, bool) { return v; });
  }
};

enum class TextMatch { prefix, contains, exact };
// Matches name parts ignoring case and accents ("élodie" ~ "Elodie").
struct TextCondition {
  std::vector<std::string> any_of;  // OR
  TextMatch match = TextMatch::prefix;
};

struct SortKey {
  std::string field;  // patient: family given birthdate gender _lastUpdated _id;
                      // contact: date code status _lastUpdated _id
  bool descending = false;
};

struct PageRequest {
  std::size_t limit = 50;             // 0 = count only
  std::optional<std::string> cursor;  // opaque, from Page::next_cursor
  std::vector<SortKey> sort;          // default: _lastUpdated then _id
  // How far to count for Page::total: -1 counts every match (cost grows with
  // the matches); n >= 0 counts at most n, and Page::total is -1 ("more than
  // n") when there are more. Backends that cannot bound the count count all.
  std::int64_t count_up_to = -1;
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::optional<std::string> next_cursor;  // absent on the last page
  std::int64_t total = 0;  // matches over all pages; -1: more than PageRequest::count_up_to
};

// Conditions are ANDed; each vector element is one more AND-ed condition.
// FHIR's :missing on an element: absent (missing = true) or present (false).
// Identifiers do not count the FHIR-id one (it is the resource's id).
enum class PatientElement { gender, birth_date, identifier, name, family, given };
enum class ContactElement { date, code, identifier };
template <typename Element>
struct Presence {
  Element element;
  bool missing = true;
};

struct PatientQuery {
  std::optional<std::vector<std::string>> ids;  // OR; any id of the store
  std::vector<AnyOf> identifiers;
  std::vector<TextCondition> names;               // any of family, given, prefix, suffix, text
  std::vector<TextCondition> family;              // lastName / names[].lastName
  std::vector<TextCondition> given;               // firstName / names[].firstNames
  std::vector<std::vector<std::string>> genders;  // iCure gender values, OR inside
  std::vector<DateCondition> birth_dates;         // on dateOfBirth
  std::optional<bool> active;
  std::vector<DateCondition> last_updated;  // on modified (epoch ms): meta.lastUpdated
  std::vector<Presence<PatientElement>> presence;
  PageRequest page;
};

struct ContactQuery {
  std::optional<std::vector<std::string>> ids;          // contact ids, OR
  std::optional<std::vector<std::string>> patient_ids;  // OR
  std::vector<AnyOf> identifiers;                       // on service identifiers
  std::vector<AnyOf> codes;                             // on service codes
  std::vector<AnyOf> tags;                              // on service tags
  std::vector<DateCondition> dates;                     // on service valueDate, else openingDate
  std::vector<DateCondition> last_updated;              // on the contact's modified (epoch ms)
  std::vector<Presence<ContactElement>> presence;       // over the services: any has it
  PageRequest page;
};

// A stored contact and the (iCure) id of the patient it belongs to.
struct ContactRecord {
  icure::Contact contact;
  std::string patient_id;
};
// The same with the contact shared (Store::find_contacts_shared).
struct SharedContactRecord {
  std::shared_ptr<const icure::Contact> contact;
  std::string patient_id;
};

// ---- atomic multi-entity writes (Bundles) ---------------------------------

struct CreatePatient {
  icure::Patient patient;
};
struct UpdatePatient {
  icure::Patient patient;
};  // patient.rev must be current
struct DeletePatient {
  std::string id;
  std::optional<std::string> rev;
};
struct CreateContact {
  icure::Contact contact;
  std::string patient_id;
};
struct UpdateContact {
  icure::Contact contact;
};
struct DeleteContact {
  std::string id;
  std::optional<std::string> rev;
};
using WriteOp = std::variant<CreatePatient, UpdatePatient, DeletePatient, CreateContact,
                             UpdateContact, DeleteContact>;

struct WriteBatch {
  std::vector<WriteOp> ops;  // applied in order; later ops may reference ids created earlier
  // false: the caller reads no more of the results than each entity's id and rev
  // (a bulk import). A backend may then return entities holding only those (and
  // a ContactRecord's patient_id), and skip copying every entity it stored.
  bool return_entities = true;
};

// One result per op, in order: the stored entity (with its new rev) or, for
// deletes, the id and the rev of the tombstone. See WriteBatch::return_entities.
struct Deleted {
  std::string id;
  std::string rev;
};
using WriteResult = std::variant<icure::Patient, ContactRecord, Deleted>;

// What is left of a deleted entity: its store id, the rev its delete gave it
// and when the delete happened.
enum class EntityKind { patient, contact };
struct Deletion {
  std::string id;
  std::string rev;
  std::int64_t deleted_ms = 0;  // ms since the epoch
};

// Where a listing of old versions stands: the last version given.
struct VersionPosition {
  std::int64_t modified_ms = 0;
  std::string id;
  std::int64_t generation = 0;
};

// ---- the interface ---------------------------------------------------------

// The generation of an iCure rev "<generation>-<hex>" (0 for anything else):
// the FHIR versionId.
std::int64_t rev_generation(const std::optional<std::string>& rev);

class Store {
 public:
  virtual ~Store() = default;
  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // -- users and healthcare parties (not encrypted) --

  // not_found when no such HCP.
  virtual Result<icure::HealthcareParty> get_healthcare_party(const std::string& id) = 0;
  // Creates (no rev) or updates (rev must match: version_conflict) an HCP.
  // Returns it with its new rev.
  virtual Result<icure::HealthcareParty> put_healthcare_party(icure::HealthcareParty hcp) = 0;
  // not_found when no such login.
  virtual Result<icure::User> get_user_by_login(const std::string& login) = 0;
  // Creates (no rev; conflict when the login exists) or updates a user.
  virtual Result<icure::User> put_user(icure::User user) = 0;
  // Checks a login's password and returns the Principal it acts as.
  // unauthorized for an unknown login or a wrong password (indistinguishable,
  // also in time); forbidden for a user without a healthcare party.
  // This default checks the user's Argon2id hash (get_user_by_login); a remote
  // backend overrides it to let the remote decide, and then acts with these
  // credentials on that principal's behalf.
  virtual Result<Principal> authenticate(const std::string& login, const std::string& password);

  // -- patients --

  // Stores a new patient owned by `who`. An empty id gets a fresh UUID.
  // conflict when the id, or an identifier with the FHIR-id system and the
  // same value, already exists among patients `who` can see.
  virtual Result<icure::Patient> create_patient(const Principal& who, icure::Patient patient) = 0;
  // `id`: store id or FHIR id (see "Ids" above). not_found / deleted / key_missing.
  virtual Result<icure::Patient> get_patient(const Principal& who, const std::string& id) = 0;
  // get_patient's answer, shared: a backend that keeps unsealed patients in
  // memory returns its copy instead of copying it (reads of a hot patient).
  // Same answers and errors; by default, get_patient's result moved into one.
  virtual Result<std::shared_ptr<const icure::Patient>> get_patient_shared(const Principal& who,
                                                                           const std::string& id) {
    auto patient = get_patient(who, id);
    if (!patient.ok()) return patient.status();
    return std::make_shared<const icure::Patient>(std::move(*patient));
  }
  // Replaces a patient; patient.rev must be the stored rev (version_conflict),
  // not_found when absent or not visible.
  virtual Result<icure::Patient> update_patient(const Principal& who, icure::Patient patient) = 0;
  // Deletes a patient (and keeps nothing readable). rev, when given, must match.
  virtual Result<Deleted> delete_patient(const Principal& who, const std::string& id,
                                         const std::optional<std::string>& rev) = 0;
  // Only patients visible to `who`. Page::total counts all matches.
  virtual Result<Page<icure::Patient>> find_patients(const Principal& who,
                                                     const PatientQuery& query) = 0;
  // find_patients' answer with each patient shared, as get_patient_shared
  // (searches: a page of hot patients is not copied). Same answers and errors;
  // by default, find_patients' items moved into them.
  virtual Result<Page<std::shared_ptr<const icure::Patient>>> find_patients_shared(
      const Principal& who, const PatientQuery& query) {
    auto page = find_patients(who, query);
    if (!page.ok()) return page.status();
    Page<std::shared_ptr<const icure::Patient>> shared;
    shared.items.reserve(page->items.size());
    for (auto& patient : page->items)
      shared.items.push_back(std::make_shared<const icure::Patient>(std::move(patient)));
    shared.next_cursor = std::move(page->next_cursor);
    shared.total = page->total;
    return shared;
  }
  // Shares a patient (and its contacts) with another HCP: delegations and
  // exchange keys, as iCure does. not_found when the patient or HCP is unknown.
  virtual Status share_patient(const Principal& who, const std::string& patient_id,
                               const std::string& delegate_hcp_id) = 0;

  // -- contacts (with their services) --

  // Stores a new contact of `patient_id` (which `who` must see: not_found).
  virtual Result<ContactRecord> create_contact(const Principal& who, icure::Contact contact,
                                               const std::string& patient_id) = 0;
  // `id`: contact id, service id or a service's FHIR id (see "Ids" above).
  virtual Result<ContactRecord> get_contact(const Principal& who, const std::string& id) = 0;
  virtual Result<ContactRecord> update_contact(const Principal& who, icure::Contact contact) = 0;
  virtual Result<Deleted> delete_contact(const Principal& who, const std::string& id,
                                         const std::optional<std::string>& rev) = 0;
  virtual Result<Page<ContactRecord>> find_contacts(const Principal& who,
                                                    const ContactQuery& query) = 0;
  // find_contacts' answer with each contact shared, as find_patients_shared
  // (searches: a page of hot contacts is not copied). Same answers and errors;
  // by default, find_contacts' items moved into them.
  virtual Result<Page<SharedContactRecord>> find_contacts_shared(const Principal& who,
                                                                 const ContactQuery& query) {
    auto page = find_contacts(who, query);
    if (!page.ok()) return page.status();
    Page<SharedContactRecord> shared;
    shared.items.reserve(page->items.size());
    for (auto& record : page->items)
      shared.items.push_back({std::make_shared<const icure::Contact>(std::move(record.contact)),
                              std::move(record.patient_id)});
    shared.next_cursor = std::move(page->next_cursor);
    shared.total = page->total;
    return shared;
  }

  // -- identifier look-ups ("already stored?", e.g. a bulk import's) --

  // Which of `values` is the value of an identifier with `system` on a
  // patient `who` can read: value -> that patient's store id (any one, when
  // several carry it). Values found nowhere are simply absent. This default
  // pages through find_patients (decrypting each match); a backend that keeps
  // identifiers in clear answers from them, decrypting nothing.
  virtual Result<std::unordered_map<std::string, std::string>> patient_ids_by_identifier(
      const Principal& who, const std::string& system, const std::vector<std::string>& values);
  // The same for the identifiers of contacts' services: value -> contact id.
  virtual Result<std::unordered_map<std::string, std::string>> contact_ids_by_service_identifier(
      const Principal& who, const std::string& system, const std::vector<std::string>& values);

  // -- versions --

  // The versions of patient `id` (any id get_patient accepts) that `who` may
  // read, newest first: the current one, then each one an update replaced.
  // Who may read them is decided on the current version (a later share gives
  // its delegate the older versions too). Old versions live as long as the
  // entity: a delete drops them all, as it keeps nothing readable. With
  // `generation` (a rev's leading number, the FHIR versionId): that version
  // only, not_found when it is not kept. not_found / deleted as get_patient.
  // This default keeps no old versions: the current one only.
  virtual Result<std::vector<icure::Patient>> patient_versions(
      const Principal& who, const std::string& id, std::optional<std::int64_t> generation);
  // The same for a contact.
  virtual Result<std::vector<ContactRecord>> contact_versions(
      const Principal& who, const std::string& id, std::optional<std::int64_t> generation);
  // Whether older versions are kept (the CapabilityStatement's readHistory).
  virtual bool keeps_old_versions() const { return false; }

  // -- change detection --

  // A number that is different after any commit since an earlier call (by
  // this process or another one sharing the data): an answer read after a
  // call that returned N is still current while a later call returns N. Two
  // calls may also differ with nothing committed (a cache keyed by it then
  // misses; it never serves a stale answer). nullopt: this backend cannot tell,
  // so callers must not reuse answers. This default answers nullopt.
  virtual Result<std::optional<std::uint64_t>> change_epoch() {
    return std::optional<std::uint64_t>{};
  }
  // The kept older versions (not the current ones) of the patients `who` may
  // read now, changed at or after `since_ms`, newest first (modified, id,
  // generation, all descending), only those after `after` in that order when
  // given, at most `limit`. For type history. This default keeps none.
  virtual Result<std::vector<icure::Patient>> list_old_patient_versions(
      const Principal& who, std::int64_t since_ms, const std::optional<VersionPosition>& after,
      std::size_t limit);
  // The same for contacts.
  virtual Result<std::vector<ContactRecord>> list_old_contact_versions(
      const Principal& who, std::int64_t since_ms, const std::optional<VersionPosition>& after,
      std::size_t limit);

  // -- deletions --

  // The delete of the patient or contact `id` (any id get_patient/get_contact
  // accept) that `who` could read before it, the latest when several share the
  // id. not_found for an id that names no deletion `who` could have read. A
  // live entity may answer to the same id (a FHIR id re-used after a delete):
  // ask get_* first, as a read does. This default answers not_found: a backend
  // that keeps no trace of deletes can say only that.
  virtual Result<Deletion> get_deletion(const Principal& who, EntityKind kind,
                                        const std::string& id);

  // The deletes of `kind` that `who` could read before them, made at or after
  // `since_ms`, newest first (deleted_ms, then id, both descending), only those
  // after `after` in that order when given, at most `limit`. For type history
  // (what changed since, deletes included). This default answers none: a
  // backend that keeps no trace of deletes cannot list them.
  virtual Result<std::vector<Deletion>> list_deletions(const Principal& who, EntityKind kind,
                                                       std::int64_t since_ms,
                                                       const std::optional<Deletion>& after,
                                                       std::size_t limit);

  // -- transactions --

  // All ops or none: on the first failing op nothing is written and the
  // returned Status names the op ("entry[3]: ..." via Status::path = "ops[3]").
  virtual Result<std::vector<WriteResult>> apply(const Principal& who, const WriteBatch& batch) = 0;
};

}  // namespace fhirbridge::storage
