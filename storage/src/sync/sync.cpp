// The reconciler behind sync_stores() (sync.hpp, docs/sync.md).
//
// One pass per kind (patients, then contacts): list both sides (id -> rev),
// load the journal, and decide per id from (local rev, remote rev, journal
// entry). Listings are only hints: every write first re-reads its source, and
// a deletion is only propagated after a get confirms the entity is gone.
#include "fhirbridge/storage/sync.hpp"

#include <boost/json.hpp>

#include <initializer_list>
#include <map>
#include <set>
#include <utility>

#include "fhirbridge/json_io.hpp"
#include "sync_journal.hpp"

namespace fhirbridge::storage {

const char* to_string(SyncEntityKind kind) noexcept {
  return kind == SyncEntityKind::patient ? "patient" : "contact";
}

std::filesystem::path default_journal_path(const std::filesystem::path& db) {
  std::filesystem::path journal = db;
  journal += ".sync";
  return journal;
}

namespace {

namespace json = boost::json;
using sync_detail::JournalEntry;
using sync_detail::SyncJournal;

enum class Side { local, remote };
Side other(Side side) {
  return side == Side::local ? Side::remote : Side::local;
}
const char* name_of(Side side) {
  return side == Side::local ? "local" : "remote";
}

struct Endpoint {
  Store* store;
  const Principal* who;
};

// What a listing says about one entity.
struct Listed {
  std::string rev;
  std::string patient_id;  // contacts only
};
using Listing = std::map<std::string, Listed>;

// An entity read from one side, with (for contacts) the patient it belongs to.
template <typename Entity>
struct Item {
  Entity entity;
  std::string patient_id;
};

// Errors that concern one entity only: the sync records them and goes on.
bool is_entity_error(StatusCode code) {
  switch (code) {
    case StatusCode::invalid:
    case StatusCode::structure:
    case StatusCode::too_large:
    case StatusCode::not_supported:
    case StatusCode::key_missing:
    case StatusCode::forbidden: return true;
    default: return false;
  }
}

bool is_gone(StatusCode code) {
  return code == StatusCode::not_found || code == StatusCode::deleted;
}

Status on_side(Side side, const std::string& what, const Status& status) {
  return Status(status.code(), std::string(name_of(side)) + " " + what + ": " + status.message(),
                status.path());
}

// The target store seals with its own keys: never carry the source's crypto
// metadata (nor its rev) across.
template <typename Entity>
void strip_crypto(Entity& entity) {
  entity.rev.reset();
  entity.delegations.reset();
  entity.encryptionKeys.reset();
  entity.cryptedForeignKeys.reset();
  entity.secretForeignKeys.reset();
  entity.encryptedSelf.reset();
}
void strip_for_transfer(icure::Patient& patient) {
  strip_crypto(patient);
}
void strip_for_transfer(icure::Contact& contact) {
  strip_crypto(contact);
  if (contact.services)
    for (auto& service : *contact.services) service.encryptedSelf.reset();
}

// Drops nulls, empty arrays and empty objects (backends differ in writing
// them or not) so that comparisons see only content.
void prune(json::value& value) {
  if (auto* object = value.if_object()) {
    for (auto it = object->begin(); it != object->end();) {
      prune(it->value());
      const auto& v = it->value();
      const bool empty = v.is_null() || (v.is_array() && v.get_array().empty()) ||
                         (v.is_object() && v.get_object().empty());
      it = empty ? object->erase(it) : std::next(it);
    }
  } else if (auto* array = value.if_array()) {
    for (auto& element : *array) prune(element);
  }
}

void erase_keys(json::object& object, std::initializer_list<const char*> keys) {
  for (const char* key : keys) object.erase(key);
}

// What each store decides by itself (revs, timestamps, authorship, crypto):
// not content, so not compared.
constexpr std::initializer_list<const char*> kMetadataKeys = {"rev",
                                                              "_type",
                                                              "created",
                                                              "modified",
                                                              "author",
                                                              "responsible",
                                                              "delegations",
                                                              "encryptionKeys",
                                                              "cryptedForeignKeys",
                                                              "secretForeignKeys",
                                                              "encryptedSelf",
                                                              "securityMetadata",
                                                              "healthcarePartyId"};

json::value comparable(const icure::Patient& patient) {
  json::value value = json_io::to_json(patient);
  erase_keys(value.as_object(), kMetadataKeys);
  prune(value);
  return value;
}

json::value comparable(const icure::Contact& contact) {
  json::value value = json_io::to_json(contact);
  auto& object = value.as_object();
  erase_keys(object, kMetadataKeys);
  if (auto* services = object.if_contains("services"); services && services->is_array())
    for (auto& service : services->as_array())
      if (service.is_object())
        erase_keys(service.as_object(), {"_type", "created", "modified", "author", "responsible",
                                         "encryptedSelf", "contactId"});
  prune(value);
  return value;
}

// ---- per-kind access to a Store ------------------------------------------

struct PatientKind {
  using Entity = icure::Patient;
  static constexpr SyncEntityKind kind = SyncEntityKind::patient;

  static Result<Listing> list(Endpoint side, std::size_t page_size) {
    PatientQuery query;
    query.page.limit = page_size;
    query.page.sort = {SortKey{"_id", false}};  // stable while entities change
    Listing listing;
    for (;;) {
      auto page = side.store->find_patients(*side.who, query);
      if (!page.ok()) return page.status();
      for (const auto& patient : page->items)
        if (patient.id && patient.rev && !patient.deletionDate)
          listing[*patient.id] = Listed{*patient.rev, {}};
      if (!page->next_cursor || page->items.empty()) break;
      if (query.page.cursor == page->next_cursor)
        return Status::Internal("find_patients returned the same cursor twice");
      query.page.cursor = page->next_cursor;
    }
    return listing;
  }
  static Result<Item<Entity>> get(Endpoint side, const std::string& id) {
    auto patient = side.store->get_patient(*side.who, id);
    if (!patient.ok()) return patient.status();
    if (patient->deletionDate) return Status(StatusCode::deleted, "patient " + id + " was deleted");
    return Item<Entity>{std::move(*patient), {}};
  }
  static Result<Item<Entity>> create(Endpoint side, Item<Entity> item) {
    auto made = side.store->create_patient(*side.who, std::move(item.entity));
    if (!made.ok()) return made.status();
    return Item<Entity>{std::move(*made), {}};
  }
  static Result<Item<Entity>> update(Endpoint side, Entity entity) {
    auto updated = side.store->update_patient(*side.who, std::move(entity));
    if (!updated.ok()) return updated.status();
    return Item<Entity>{std::move(*updated), {}};
  }
  static Result<Deleted> remove(Endpoint side, const std::string& id, const std::string& rev) {
    return side.store->delete_patient(*side.who, id, rev);
  }
};

struct ContactKind {
  using Entity = icure::Contact;
  static constexpr SyncEntityKind kind = SyncEntityKind::contact;

  static Result<Listing> list(Endpoint side, std::size_t page_size) {
    ContactQuery query;
    query.page.limit = page_size;
    query.page.sort = {SortKey{"_id", false}};
    Listing listing;
    for (;;) {
      auto page = side.store->find_contacts(*side.who, query);
      if (!page.ok()) return page.status();
      for (const auto& record : page->items)
        if (record.contact.id && record.contact.rev && !record.contact.deletionDate)
          listing[*record.contact.id] = Listed{*record.contact.rev, record.patient_id};
      if (!page->next_cursor || page->items.empty()) break;
      if (query.page.cursor == page->next_cursor)
        return Status::Internal("find_contacts returned the same cursor twice");
      query.page.cursor = page->next_cursor;
    }
    return listing;
  }
  static Result<Item<Entity>> get(Endpoint side, const std::string& id) {
    auto record = side.store->get_contact(*side.who, id);
    if (!record.ok()) return record.status();
    // get_contact also answers service ids: only the contact itself counts.
    if (record->contact.id != id) return Status::NotFound("contact " + id + " not found");
    if (record->contact.deletionDate)
      return Status(StatusCode::deleted, "contact " + id + " was deleted");
    return Item<Entity>{std::move(record->contact), std::move(record->patient_id)};
  }
  static Result<Item<Entity>> create(Endpoint side, Item<Entity> item) {
    auto made = side.store->create_contact(*side.who, std::move(item.entity), item.patient_id);
    if (!made.ok()) return made.status();
    return Item<Entity>{std::move(made->contact), std::move(made->patient_id)};
  }
  static Result<Item<Entity>> update(Endpoint side, Entity entity) {
    auto updated = side.store->update_contact(*side.who, std::move(entity));
    if (!updated.ok()) return updated.status();
    return Item<Entity>{std::move(updated->contact), std::move(updated->patient_id)};
  }
  static Result<Deleted> remove(Endpoint side, const std::string& id, const std::string& rev) {
    return side.store->delete_contact(*side.who, id, rev);
  }
};

// ---- the reconciler ------------------------------------------------------------

class Reconciler {
 public:
  Reconciler(Endpoint local, Endpoint remote, SyncJournal& journal, const SyncOptions& options,
             SyncReport& report)
      : local_(local), remote_(remote), journal_(journal), options_(options), report_(report) {}

  template <typename K>
  Status run() {
    auto local = K::list(local_, options_.page_size);
    if (!local.ok()) return on_side(Side::local, "listing", local.status());
    auto remote = K::list(remote_, options_.page_size);
    if (!remote.ok()) return on_side(Side::remote, "listing", remote.status());
    auto journal = journal_.load(K::kind);
    if (!journal.ok()) return journal.status();

    std::set<std::string> ids;
    for (const auto* map : {&*local, &*remote})
      for (const auto& [id, listed] : *map) ids.insert(id);
    for (const auto& [id, entry] : *journal) ids.insert(id);

    for (const auto& id : ids) {
      const Listed* l = find(*local, id);
      const Listed* r = find(*remote, id);
      const JournalEntry* j = find(*journal, id);
      if constexpr (K::kind == SyncEntityKind::contact) {
        // A contact waits while its patient is in conflict (or failed).
        const std::string& patient_id = l ? l->patient_id : r ? r->patient_id : j->patient_id;
        if (held_patients_.count(patient_id)) {
          report_.waiting.push_back(id);
          continue;
        }
      }
      FHIRBRIDGE_RETURN_IF_ERROR(reconcile<K>(id, l, r, j));
    }
    return {};
  }

 private:
  template <typename Map>
  static const typename Map::mapped_type* find(const Map& map, const std::string& id) {
    auto it = map.find(id);
    return it == map.end() ? nullptr : &it->second;
  }

  Endpoint endpoint(Side side) const { return side == Side::local ? local_ : remote_; }

  template <typename K>
  Status reconcile(const std::string& id, const Listed* l, const Listed* r, const JournalEntry* j) {
    if (!j) {
      if (l && r) return settle_both<K>(id, "created on both sides with different content");
      if (l) return copy_new<K>(Side::local, id);
      if (r) return copy_new<K>(Side::remote, id);
      return {};
    }
    const bool local_changed = l && l->rev != j->local_rev;
    const bool remote_changed = r && r->rev != j->remote_rev;
    if (l && r) {
      if (!local_changed && !remote_changed) {
        ++report_.unchanged;
        return {};
      }
      if (!remote_changed) return copy_change<K>(Side::local, id, *j);
      if (!local_changed) return copy_change<K>(Side::remote, id, *j);
      return settle_both<K>(id, "changed on both sides");
    }
    if (!l && !r) return forget(K::kind, id);  // deleted on both sides
    if (!l) {
      if (remote_changed) {
        conflict(K::kind, id, std::nullopt, r->rev, "deleted locally, changed on the remote");
        return {};
      }
      return propagate_delete<K>(Side::local, id, *j);
    }
    if (local_changed) {
      conflict(K::kind, id, l->rev, std::nullopt, "changed locally, deleted on the remote");
      return {};
    }
    return propagate_delete<K>(Side::remote, id, *j);
  }

  // Reads `id` on `side`: nullopt when absent (not found, deleted). Other
  // errors: `failed` is set when they concern this entity only.
  template <typename K>
  Result<std::optional<Item<typename K::Entity>>> fetch(Side side, const std::string& id) {
    auto item = K::get(endpoint(side), id);
    if (item.ok()) return std::optional<Item<typename K::Entity>>(std::move(*item));
    if (is_gone(item.status().code())) return std::optional<Item<typename K::Entity>>();
    return on_side(side, std::string("read of ") + to_string(K::kind) + " " + id, item.status());
  }

  // An error about `id`: recorded (and the sync goes on) when it concerns this
  // entity only, returned (stopping the sync) otherwise.
  Status fail(SyncEntityKind kind, const std::string& id, Status status) {
    if (!is_entity_error(status.code())) return status;
    report_.failures.push_back(SyncFailure{kind, id, std::move(status)});
    if (kind == SyncEntityKind::patient) held_patients_.insert(id);
    return {};
  }

  void conflict(SyncEntityKind kind, const std::string& id, std::optional<std::string> local_rev,
                std::optional<std::string> remote_rev, std::string reason) {
    report_.conflicts.push_back(
        SyncConflict{kind, id, std::move(local_rev), std::move(remote_rev), std::move(reason)});
    if (kind == SyncEntityKind::patient) held_patients_.insert(id);
  }

  Status record(SyncEntityKind kind, const std::string& id, JournalEntry entry) {
    if (options_.dry_run) return {};
    return journal_.record(kind, id, entry);
  }
  Status forget(SyncEntityKind kind, const std::string& id) {
    if (options_.dry_run) return {};
    return journal_.forget(kind, id);
  }

  // The journal entry for a pair of revs read/written on `from` and its other side.
  static JournalEntry entry(Side from, std::string from_rev, std::string to_rev,
                            std::string patient_id) {
    return from == Side::local
               ? JournalEntry{std::move(from_rev), std::move(to_rev), std::move(patient_id)}
               : JournalEntry{std::move(to_rev), std::move(from_rev), std::move(patient_id)};
  }

  void count_copy(Side from) { ++(from == Side::local ? report_.pushed : report_.pulled); }

  // New on `from` only: create it on the other side with the same id.
  template <typename K>
  Status copy_new(Side from, const std::string& id) {
    auto source = fetch<K>(from, id);
    if (!source.ok()) return fail(K::kind, id, source.status());
    if (!*source) return {};  // gone since the listing: the next run sees it
    const std::string source_rev = (*source)->entity.rev.value_or("");
    if (options_.dry_run) {
      count_copy(from);
      return {};
    }
    auto item = std::move(**source);
    strip_for_transfer(item.entity);
    const std::string patient_id = item.patient_id;
    auto made = K::create(endpoint(other(from)), std::move(item));
    if (!made.ok()) {
      const Status status = made.status();
      if (status.code() == StatusCode::conflict) {
        // Already there (an earlier run wrote it but could not journal it) or
        // another entity holds its FHIR id.
        auto settled = settle_both<K>(id, "created on both sides with different content");
        if (!settled.ok() || settled_) return settled;
        conflict(K::kind, id, from == Side::local ? std::optional(source_rev) : std::nullopt,
                 from == Side::remote ? std::optional(source_rev) : std::nullopt,
                 std::string("cannot be created on the ") + name_of(other(from)) + ": " +
                     status.message());
        return {};
      }
      if (K::kind == SyncEntityKind::contact && is_gone(status.code())) {
        conflict(K::kind, id, from == Side::local ? std::optional(source_rev) : std::nullopt,
                 from == Side::remote ? std::optional(source_rev) : std::nullopt,
                 "its patient " + patient_id + " is absent on the " + name_of(other(from)));
        return {};
      }
      return fail(
          K::kind, id,
          on_side(other(from), std::string("create of ") + to_string(K::kind) + " " + id, status));
    }
    FHIRBRIDGE_RETURN_IF_ERROR(
        record(K::kind, id, entry(from, source_rev, made->entity.rev.value_or(""), patient_id)));
    count_copy(from);
    return {};
  }

  // Changed on `from` only since the last sync: update the other side, whose
  // rev must still be the journaled one.
  template <typename K>
  Status copy_change(Side from, const std::string& id, const JournalEntry& journaled) {
    auto source = fetch<K>(from, id);
    if (!source.ok()) return fail(K::kind, id, source.status());
    if (!*source) return {};
    const std::string source_rev = (*source)->entity.rev.value_or("");
    if (options_.dry_run) {
      count_copy(from);
      return {};
    }
    const Side to = other(from);
    auto item = std::move(**source);
    strip_for_transfer(item.entity);
    item.entity.rev = to == Side::remote ? journaled.remote_rev : journaled.local_rev;
    auto updated = K::update(endpoint(to), std::move(item.entity));
    if (!updated.ok()) {
      const Status status = updated.status();
      if (status.code() == StatusCode::version_conflict || is_gone(status.code())) {
        conflict(
            K::kind, id, from == Side::local ? std::optional(source_rev) : std::nullopt,
            from == Side::remote ? std::optional(source_rev) : std::nullopt,
            std::string("changed on the ") + name_of(to) + " during the sync: " + status.message());
        return {};
      }
      return fail(K::kind, id,
                  on_side(to, std::string("update of ") + to_string(K::kind) + " " + id, status));
    }
    FHIRBRIDGE_RETURN_IF_ERROR(
        record(K::kind, id,
               entry(from, source_rev, updated->entity.rev.value_or(""), journaled.patient_id)));
    count_copy(from);
    return {};
  }

  // Deleted on `gone` and unchanged on the other side: delete it there too.
  template <typename K>
  Status propagate_delete(Side gone, const std::string& id, const JournalEntry& journaled) {
    // A listing is no proof of absence: confirm before deleting anything.
    auto still = fetch<K>(gone, id);
    if (!still.ok()) return fail(K::kind, id, still.status());
    if (*still) return {};  // there after all (created again meanwhile): next run
    const Side to = other(gone);
    auto& counter = to == Side::remote ? report_.deleted_remote : report_.deleted_local;
    if (options_.dry_run) {
      ++counter;
      return {};
    }
    auto removed = K::remove(endpoint(to), id,
                             to == Side::remote ? journaled.remote_rev : journaled.local_rev);
    if (!removed.ok()) {
      const Status status = removed.status();
      if (status.code() == StatusCode::version_conflict) {
        conflict(K::kind, id, std::nullopt, std::nullopt,
                 std::string("deleted on the ") + name_of(gone) + ", changed on the " +
                     name_of(to) + " during the sync");
        return {};
      }
      if (!is_gone(status.code()))
        return fail(K::kind, id,
                    on_side(to, std::string("delete of ") + to_string(K::kind) + " " + id, status));
      // already gone there: only the journal is left to clean
    } else {
      ++counter;
    }
    return forget(K::kind, id);
  }

  // Present on both sides with no agreed history: equal content is adopted
  // (journaled as in sync), different content is a conflict. Sets settled_
  // to false when one side turned out to be absent after all.
  template <typename K>
  Status settle_both(const std::string& id, const std::string& reason) {
    settled_ = false;
    auto local = fetch<K>(Side::local, id);
    if (!local.ok()) return fail(K::kind, id, local.status());
    auto remote = fetch<K>(Side::remote, id);
    if (!remote.ok()) return fail(K::kind, id, remote.status());
    if (!*local || !*remote) return {};
    settled_ = true;
    const auto& l = **local;
    const auto& r = **remote;
    const std::string local_rev = l.entity.rev.value_or("");
    const std::string remote_rev = r.entity.rev.value_or("");
    if (l.patient_id == r.patient_id &&
        json_io::equivalent(comparable(l.entity), comparable(r.entity))) {
      FHIRBRIDGE_RETURN_IF_ERROR(
          record(K::kind, id, JournalEntry{local_rev, remote_rev, l.patient_id}));
      ++report_.adopted;
      return {};
    }
    conflict(K::kind, id, local_rev, remote_rev, reason);
    return {};
  }

  Endpoint local_, remote_;
  SyncJournal& journal_;
  const SyncOptions& options_;
  SyncReport& report_;
  std::set<std::string> held_patients_;  // in conflict or failed: their contacts wait
  bool settled_ = false;
};

}  // namespace

Result<SyncReport> sync_stores(Store& local, const Principal& local_who, Store& remote,
                               const Principal& remote_who, const SyncOptions& options) {
  if (options.journal.empty()) return Status::Invalid("journal", "no sync journal file given");
  if (options.page_size == 0) return Status::Invalid("page_size", "must be at least 1");
  auto journal = SyncJournal::open(options.journal, options.dry_run);
  if (!journal.ok()) return journal.status();
  FHIRBRIDGE_RETURN_IF_ERROR(journal->bind_parties(local_who.hcp_id, remote_who.hcp_id,
                                                   options.peer_label, !options.dry_run));
  SyncReport report;
  report.dry_run = options.dry_run;
  Reconciler reconciler(Endpoint{&local, &local_who}, Endpoint{&remote, &remote_who}, *journal,
                        options, report);
  FHIRBRIDGE_RETURN_IF_ERROR(reconciler.run<PatientKind>());
  FHIRBRIDGE_RETURN_IF_ERROR(reconciler.run<ContactKind>());
  return report;
}

}  // namespace fhirbridge::storage
