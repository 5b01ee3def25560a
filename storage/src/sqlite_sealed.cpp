// SqliteStore as a SealedStore: the iCure REST subset reads and writes the
// same rows as the Store interface, but sealed, as the client sent them.
// Writes go through Impl::write_patient / write_contact (so every index table
// stays consistent) and deletes through Impl::delete_patient / delete_contact
// (tombstones); queries are SQL over the same index tables.
#include <boost/json.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "fhirbridge/json_io.hpp"
#include "fhirbridge/storage/text_fold.hpp"
#include "sqlite_store_impl.hpp"

namespace fhirbridge::storage {

using sqlite::Statement;
using sqlite::Value;

namespace {

bool has_delegation_for(const icure::DelegationMap& delegations, const std::string& hcp_id) {
  if (!delegations) return false;
  auto it = delegations->find(hcp_id);
  return it != delegations->end() && !it->second.empty();
}

Status require_delegation(const icure::DelegationMap& delegations, const Principal& who,
                          const char* entity) {
  if (has_delegation_for(delegations, who.hcp_id)) return {};
  return Status::Invalid(std::string(entity) + ".delegations",
                         std::string("the ") + entity +
                             " has no delegation for your healthcare party (" + who.hcp_id +
                             "): you could not read it back");
}

// iCure dates are YYYYMMDDhhmmss, but YYYYMMDD is accepted.
std::int64_t full_date(std::int64_t date, bool high) {
  return date < 100000000 ? date * 1000000 + (high ? 235959 : 0) : date;
}

std::string placeholders(std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += i ? ", ?" : "?";
  return out;
}

// "FROM <table> x JOIN <reader> r ... WHERE 1 [AND caller may read]": the
// filter's HCP and the caller must both be readers.
struct Query {
  std::string from_where;
  std::vector<Value> params;
  void add(const std::string& condition) { from_where += " AND (" + condition + ")"; }
};

// `source` replaces "<kind> <alias>" in the FROM clause (to join more tables).
Query visible_rows(const char* kind, const char* alias, const Principal& who,
                   const std::string& filter_hcp_id, const std::string& source = {}) {
  const std::string k(kind), a(alias);
  Query q{"FROM " + (source.empty() ? k + " " + a : source) + " JOIN " + k + "_reader r ON r." + k +
              "_id = " + a + ".id AND r.hcp_id = ? WHERE 1",
          {filter_hcp_id}};
  if (filter_hcp_id != who.hcp_id) {
    q.add("EXISTS (SELECT 1 FROM " + k + "_reader w WHERE w." + k + "_id = " + a +
          ".id AND w.hcp_id = ?)");
    q.params.emplace_back(who.hcp_id);
  }
  return q;
}

// Count, then one page ordered by `id_col` starting at start_document_id;
// `row(stmt)` turns a row of `select` into an item.
template <typename Item, typename Row>
Result<SealedPage<Item>> run_page(sqlite::Database& db, const Query& q, const char* id_col,
                                  const std::string& select, const SealedPageRequest& request,
                                  Row&& row) {
  SealedPage<Item> page;
  auto count = db.cached_dynamic("SELECT COUNT(*) " + q.from_where);
  if (!count.ok()) return count.status();
  count->bind_all(q.params);
  auto counted = count->step();
  if (!counted.ok()) return counted.status();
  page.total = *counted ? count->int64(0) : 0;
  if (request.limit == 0) return page;

  std::string sql = "SELECT " + select + " " + q.from_where;
  std::vector<Value> params = q.params;
  if (request.start_document_id) {
    sql += std::string(" AND ") + id_col + " >= ?";
    params.emplace_back(*request.start_document_id);
  }
  sql += std::string(" ORDER BY ") + id_col + " LIMIT ?";
  params.emplace_back(static_cast<std::int64_t>(request.limit + 1));
  auto stmt = db.cached_dynamic(sql);
  if (!stmt.ok()) return stmt.status();
  stmt->bind_all(params);
  for (;;) {
    auto next = stmt->step();
    if (!next.ok()) return next.status();
    if (!*next) break;
    if (page.rows.size() == request.limit) {  // the extra row starts the next page
      page.next_document_id = stmt->text(0);
      break;
    }
    auto item = row(*stmt);
    if (!item.ok()) return item.status();
    page.rows.push_back(std::move(*item));
  }
  return page;
}

Result<icure::Patient> parse_patient(const std::string& id, const std::string& doc) {
  auto sealed = json_io::parse<icure::Patient>(doc, "Patient");
  if (!sealed.ok())
    return Status::Internal("stored patient " + id + ": " + sealed.status().to_string());
  return sealed;
}

Result<icure::Contact> parse_contact(const std::string& id, const std::string& doc) {
  auto sealed = json_io::parse<icure::Contact>(doc, "Contact");
  if (!sealed.ok())
    return Status::Internal("stored contact " + id + ": " + sealed.status().to_string());
  return sealed;
}

// The service's date as the filter compares it.
std::optional<std::int64_t> service_date(const icure::Service& s) {
  auto d = s.valueDate ? s.valueDate : s.openingDate;
  if (!d) return std::nullopt;
  return full_date(*d, false);
}

}  // namespace

// ---- shared internals (declared at the end of Impl) ------------------------------------

Result<std::optional<Deletion>> SqliteStore::Impl::deleted_stub(const char* kind,
                                                                const std::string& id,
                                                                const std::string& reader) {
  auto found = deletion_for(kind, id, reader);
  if (!found.ok() || !*found || (*found)->id == id) return found;
  return std::optional<Deletion>();  // only an alias matched: iCure reads by store id
}

std::string SqliteStore::Impl::resolve_contact_patient(const Principal& who,
                                                       const icure::Contact& sealed) {
  // Needs the caller's private key (cryptedForeignKeys are encrypted); without
  // it the contact is stored with an empty patient id (see sealed_store.hpp).
  if (!sealed.cryptedForeignKeys || sealed.cryptedForeignKeys->empty()) return {};
  auto patient_id = sealer.contact_patient_id(*this, who.hcp_id, sealed);
  if (!patient_id.ok()) return {};
  return *patient_id;
}

// ---- healthcare parties ----------------------------------------------------------------

Result<ExchangeKeysTo> SqliteStore::exchange_keys_to(const std::string& delegate_hcp_id) {
  return impl_->read([&]() -> Result<ExchangeKeysTo> {
    ExchangeKeysTo out;
    // Every HCP's document: a scan, fine for the few HCPs of a local store.
    auto stmt = impl_->db().prepare("SELECT id, doc FROM healthcare_party ORDER BY id");
    if (!stmt.ok()) return stmt.status();
    for (;;) {
      auto row = stmt->step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      auto hcp = json_io::parse<icure::HealthcareParty>(stmt->text(1), "HealthcareParty");
      if (!hcp.ok())
        return Status::Internal("stored healthcare party " + stmt->text(0) + ": " +
                                hcp.status().to_string());
      if (!hcp->aesExchangeKeys) continue;
      for (const auto& [public_key, by_delegate] : *hcp->aesExchangeKeys) {
        auto it = by_delegate.find(delegate_hcp_id);
        if (it != by_delegate.end()) out[stmt->text(0)][public_key] = it->second;
      }
    }
    return out;
  });
}

// ---- patients --------------------------------------------------------------------------

Result<icure::Patient> SqliteStore::create_sealed_patient(const Principal& who,
                                                          icure::Patient sealed) {
  return impl_->write([&]() -> Result<icure::Patient> {
    FHIRBRIDGE_RETURN_IF_ERROR(require_delegation(sealed.delegations, who, "Patient"));
    if (!sealed.id || sealed.id->empty()) sealed.id = impl_->new_id();
    auto slot = impl_->id_slot(EntityKind::patient, *sealed.id);
    if (!slot.ok()) return slot.status();
    if (slot->taken)
      return Status::Conflict("patient " + *sealed.id + " already exists", "Patient.id");
    FHIRBRIDGE_RETURN_IF_ERROR(impl_->check_fhir_id_conflicts(who, sealed));
    const auto& tomb = slot->tombstone_rev;
    if (tomb) FHIRBRIDGE_RETURN_IF_ERROR(impl_->drop_tombstone("patient", *sealed.id));
    const auto now = impl_->now_ms();
    sealed.rev = impl_->next_rev(rev_generation(tomb));
    if (!sealed._type) sealed._type = icure::kPatientType;
    sealed.created = sealed.created.value_or(now);
    sealed.modified = now;
    sealed.deletionDate.reset();
    if (!sealed.author && !who.user_id.empty()) sealed.author = who.user_id;
    if (!sealed.responsible) sealed.responsible = who.hcp_id;
    FHIRBRIDGE_RETURN_IF_ERROR(impl_->write_patient(sealed, /*insert=*/true));
    return sealed;
  });
}

Result<icure::Patient> SqliteStore::update_sealed_patient(const Principal& who,
                                                          icure::Patient sealed) {
  return impl_->write([&]() -> Result<icure::Patient> {
    if (!sealed.id || sealed.id->empty())
      return Status::Invalid("Patient.id", "an update needs the patient's id");
    auto previous = impl_->visible_patient(who, *sealed.id, false);
    if (!previous.ok()) return previous.status();
    if (!sealed.rev || *sealed.rev != previous->rev)
      return Status(StatusCode::version_conflict,
                    "patient " + previous->id + " is at rev " + previous->rev +
                        (sealed.rev ? ", not " + *sealed.rev : ": send it as rev"),
                    "Patient.rev");
    FHIRBRIDGE_RETURN_IF_ERROR(require_delegation(sealed.delegations, who, "Patient"));
    sealed.id = previous->id;  // the caller may have used the FHIR id
    FHIRBRIDGE_RETURN_IF_ERROR(impl_->check_fhir_id_conflicts(who, sealed));
    sealed.rev = impl_->next_rev(rev_generation(previous->rev));
    if (!sealed._type) sealed._type = icure::kPatientType;
    if (!sealed.created) sealed.created = previous->sealed->created;
    sealed.modified = impl_->now_ms();
    if (!sealed.author) sealed.author = previous->sealed->author;
    if (!sealed.responsible) sealed.responsible = previous->sealed->responsible;
    FHIRBRIDGE_RETURN_IF_ERROR(impl_->write_patient(sealed, /*insert=*/false));
    return sealed;
  });
}

Result<icure::Patient> SqliteStore::get_sealed_patient(const Principal& who,
                                                       const std::string& id) {
  return impl_->read([&]() -> Result<icure::Patient> {
    auto row = impl_->visible_patient(who, id, false);
    if (row.ok()) return *row->sealed;
    if (row.status().code() != StatusCode::not_found) return row.status();
    auto stub = impl_->deleted_stub("patient", id, who.hcp_id);
    if (!stub.ok()) return stub.status();
    if (!*stub) return row.status();
    icure::Patient deleted;
    deleted.id = id;
    deleted.rev = (*stub)->rev;
    deleted.deletionDate = (*stub)->deleted_ms;
    return deleted;
  });
}

Result<std::vector<icure::Patient>> SqliteStore::get_sealed_patients(
    const Principal& who, const std::vector<std::string>& ids) {
  return impl_->read([&]() -> Result<std::vector<icure::Patient>> {
    std::vector<icure::Patient> out;
    for (const auto& id : ids) {
      auto row = impl_->visible_patient(who, id, false);
      if (row.ok())
        out.push_back(*row->sealed);
      else if (row.status().code() != StatusCode::not_found)
        return row.status();
    }
    return out;
  });
}

Result<std::vector<Deleted>> SqliteStore::delete_sealed_patients(
    const Principal& who, const std::vector<std::string>& ids) {
  return impl_->write([&]() -> Result<std::vector<Deleted>> {
    std::vector<Deleted> out;
    for (const auto& id : ids) {
      auto deleted = impl_->delete_patient(who, id, std::nullopt);
      if (deleted.ok())
        out.push_back(std::move(*deleted));
      else if (deleted.status().code() != StatusCode::not_found)
        return deleted.status();
    }
    return out;
  });
}

Result<SealedPage<icure::Patient>> SqliteStore::filter_sealed_patients(
    const Principal& who, const SealedPatientFilter& filter, const SealedPageRequest& page) {
  return impl_->read([&]() -> Result<SealedPage<icure::Patient>> {
    Query q = visible_rows("patient", "p", who, filter.healthcare_party_id);
    switch (filter.kind) {
      case SealedPatientFilter::Kind::by_healthcare_party: break;
      case SealedPatientFilter::Kind::name_contains:
        // Every word, contained in some whole folded name part.
        for (const auto& word : fold_words(fold_text(filter.search_string))) {
          q.add(
              "p.id IN (SELECT n.patient_id FROM patient_name n WHERE n.whole = 1 AND "
              "instr(n.token, ?) > 0)");
          q.params.emplace_back(word);
        }
        break;
      case SealedPatientFilter::Kind::by_identifiers: {
        std::vector<Value> params;
        std::string ors = token_or(filter.identifiers, "i.system", "i.value", params);
        q.add("p.id IN (SELECT i.patient_id FROM patient_identifier i WHERE " + ors + ")");
        q.params.insert(q.params.end(), params.begin(), params.end());
        break;
      }
    }
    return run_page<icure::Patient>(
        impl_->db(), q, "p.id", "p.id, p.doc", page,
        [](const Statement& row) { return parse_patient(row.text(0), row.text(1)); });
  });
}

// ---- contacts --------------------------------------------------------------------------

Result<icure::Contact> SqliteStore::create_sealed_contact(const Principal& who,
                                                          icure::Contact sealed) {
  return impl_->write([&]() -> Result<icure::Contact> {
    FHIRBRIDGE_RETURN_IF_ERROR(require_delegation(sealed.delegations, who, "Contact"));
    if (!sealed.id || sealed.id->empty()) sealed.id = impl_->new_id();
    auto slot = impl_->id_slot(EntityKind::contact, *sealed.id);
    if (!slot.ok()) return slot.status();
    if (slot->taken)
      return Status::Conflict("contact " + *sealed.id + " already exists", "Contact.id");
    const auto now = impl_->now_ms();
    if (sealed.services)
      for (auto& service : *sealed.services)
        if (!service.id || service.id->empty()) service.id = impl_->new_id();
    FHIRBRIDGE_RETURN_IF_ERROR(impl_->check_service_fhir_id_conflicts(who, sealed));
    const auto& tomb = slot->tombstone_rev;
    if (tomb) FHIRBRIDGE_RETURN_IF_ERROR(impl_->drop_tombstone("contact", *sealed.id));
    sealed.rev = impl_->next_rev(rev_generation(tomb));
    if (!sealed._type) sealed._type = icure::kContactType;
    sealed.created = sealed.created.value_or(now);
    sealed.modified = now;
    sealed.deletionDate.reset();
    if (!sealed.author && !who.user_id.empty()) sealed.author = who.user_id;
    if (!sealed.responsible) sealed.responsible = who.hcp_id;
    if (!sealed.healthcarePartyId) sealed.healthcarePartyId = who.hcp_id;
    const std::string patient_id = impl_->resolve_contact_patient(who, sealed);
    FHIRBRIDGE_RETURN_IF_ERROR(impl_->write_contact(sealed, patient_id, /*insert=*/true));
    return sealed;
  });
}

Result<icure::Contact> SqliteStore::update_sealed_contact(const Principal& who,
                                                          icure::Contact sealed) {
  return impl_->write([&]() -> Result<icure::Contact> {
    if (!sealed.id || sealed.id->empty())
      return Status::Invalid("Contact.id", "an update needs the contact's id");
    auto previous = impl_->visible_contact(who, *sealed.id, false);
    if (!previous.ok()) return previous.status();
    if (previous->id != *sealed.id)  // a service id names its contact only for reads
      return Status::NotFound("contact " + *sealed.id + " not found");
    if (!sealed.rev || *sealed.rev != previous->rev)
      return Status(StatusCode::version_conflict,
                    "contact " + previous->id + " is at rev " + previous->rev +
                        (sealed.rev ? ", not " + *sealed.rev : ": send it as rev"),
                    "Contact.rev");
    FHIRBRIDGE_RETURN_IF_ERROR(require_delegation(sealed.delegations, who, "Contact"));
    if (sealed.services)
      for (auto& service : *sealed.services)
        if (!service.id || service.id->empty()) service.id = impl_->new_id();
    FHIRBRIDGE_RETURN_IF_ERROR(impl_->check_service_fhir_id_conflicts(who, sealed));
    sealed.rev = impl_->next_rev(rev_generation(previous->rev));
    if (!sealed._type) sealed._type = icure::kContactType;
    if (!sealed.created) sealed.created = previous->sealed->created;
    sealed.modified = impl_->now_ms();
    if (!sealed.author) sealed.author = previous->sealed->author;
    if (!sealed.responsible) sealed.responsible = previous->sealed->responsible;
    if (!sealed.healthcarePartyId) sealed.healthcarePartyId = previous->sealed->healthcarePartyId;
    std::string patient_id = previous->patient_id;
    if (patient_id.empty()) patient_id = impl_->resolve_contact_patient(who, sealed);
    FHIRBRIDGE_RETURN_IF_ERROR(impl_->write_contact(sealed, patient_id, /*insert=*/false));
    return sealed;
  });
}

Result<icure::Contact> SqliteStore::get_sealed_contact(const Principal& who,
                                                       const std::string& id) {
  return impl_->read([&]() -> Result<icure::Contact> {
    auto row = impl_->visible_contact(who, id, false);
    if (row.ok() && row->id == id) return *row->sealed;
    if (!row.ok() && row.status().code() != StatusCode::not_found) return row.status();
    auto stub = impl_->deleted_stub("contact", id, who.hcp_id);
    if (!stub.ok()) return stub.status();
    if (!*stub) return Status::NotFound("contact " + id + " not found");
    icure::Contact deleted;
    deleted.id = id;
    deleted.rev = (*stub)->rev;
    deleted.deletionDate = (*stub)->deleted_ms;
    return deleted;
  });
}

Result<std::vector<icure::Contact>> SqliteStore::get_sealed_contacts(
    const Principal& who, const std::vector<std::string>& ids) {
  return impl_->read([&]() -> Result<std::vector<icure::Contact>> {
    std::vector<icure::Contact> out;
    for (const auto& id : ids) {
      auto row = impl_->visible_contact(who, id, false);
      if (row.ok()) {
        if (row->id == id) out.push_back(*row->sealed);
      } else if (row.status().code() != StatusCode::not_found) {
        return row.status();
      }
    }
    return out;
  });
}

Result<std::vector<Deleted>> SqliteStore::delete_sealed_contacts(
    const Principal& who, const std::vector<std::string>& ids) {
  return impl_->write([&]() -> Result<std::vector<Deleted>> {
    std::vector<Deleted> out;
    for (const auto& id : ids) {
      auto row = impl_->load_contact(id);  // by contact id only, not by service id
      if (!row.ok()) return row.status();
      if (!*row) continue;
      auto deleted = impl_->delete_contact(who, id, std::nullopt);
      if (deleted.ok())
        out.push_back(std::move(*deleted));
      else if (deleted.status().code() != StatusCode::not_found)
        return deleted.status();
    }
    return out;
  });
}

Result<std::vector<icure::Contact>> SqliteStore::contacts_by_secret_foreign_keys(
    const Principal& who, const std::string& healthcare_party_id,
    const std::vector<std::string>& secret_foreign_keys) {
  return impl_->read([&]() -> Result<std::vector<icure::Contact>> {
    std::vector<icure::Contact> out;
    if (secret_foreign_keys.empty()) return out;
    Query q = visible_rows("contact", "c", who, healthcare_party_id);
    q.add("c.id IN (SELECT f.contact_id FROM contact_secret_fk f WHERE f.secret_fk IN (" +
          placeholders(secret_foreign_keys.size()) + "))");
    for (const auto& fk : secret_foreign_keys) q.params.emplace_back(fk);
    auto stmt = impl_->db().cached_dynamic("SELECT c.id, c.doc " + q.from_where + " ORDER BY c.id");
    if (!stmt.ok()) return stmt.status();
    stmt->bind_all(q.params);
    for (;;) {
      auto row = stmt->step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      auto contact = parse_contact(stmt->text(0), stmt->text(1));
      if (!contact.ok()) return contact.status();
      out.push_back(std::move(*contact));
    }
    return out;
  });
}

Result<SealedPage<icure::Contact>> SqliteStore::filter_sealed_contacts(
    const Principal& who, const SealedContactFilter& filter, const SealedPageRequest& page) {
  return impl_->read([&]() -> Result<SealedPage<icure::Contact>> {
    Query q = visible_rows("contact", "c", who, filter.healthcare_party_id);
    return run_page<icure::Contact>(
        impl_->db(), q, "c.id", "c.id, c.doc", page,
        [](const Statement& row) { return parse_contact(row.text(0), row.text(1)); });
  });
}

Result<SealedPage<icure::Service>> SqliteStore::filter_sealed_services(
    const Principal& who, const SealedServiceFilter& filter, const SealedPageRequest& page) {
  return impl_->read([&]() -> Result<SealedPage<icure::Service>> {
    // Candidates from the index tables; the date bounds are checked on the
    // stored services themselves (contact_date does not say which service).
    Query q = visible_rows("contact", "c", who, filter.healthcare_party_id,
                           "service s JOIN contact c ON c.id = s.contact_id");
    std::string from = "SELECT s.service_id, c.id " + q.from_where;
    std::vector<Value> params = q.params;
    auto code_condition = [&](const char* kind, const std::optional<std::string>& type,
                              const std::optional<std::string>& code) {
      if (!type && !code) return;
      from += std::string(" AND EXISTS (SELECT 1 FROM service_code t WHERE t.contact_id = ") +
              "s.contact_id AND t.service_id = s.service_id AND t.kind = ?";
      params.emplace_back(std::string(kind));
      if (type) {
        from += " AND t.type = ?";
        params.emplace_back(*type);
      }
      if (code) {
        from += " AND t.code = ?";
        params.emplace_back(*code);
      }
      from += ")";
    };
    if (filter.kind == SealedServiceFilter::Kind::by_tag_code_date) {
      code_condition("tag", filter.tag_type, filter.tag_code);
      code_condition("code", filter.code_type, filter.code_code);
    } else {
      std::vector<Value> token_params;
      std::string ors = token_or(filter.identifiers, "i.system", "i.value", token_params);
      from +=
          " AND EXISTS (SELECT 1 FROM service_identifier i WHERE i.contact_id = s.contact_id AND "
          "i.service_id = s.service_id AND (" +
          ors + "))";
      params.insert(params.end(), token_params.begin(), token_params.end());
    }
    from += " ORDER BY s.service_id, c.id";
    auto stmt = impl_->db().cached_dynamic(from);
    if (!stmt.ok()) return stmt.status();
    stmt->bind_all(params);
    std::vector<std::pair<std::string, std::string>> candidates;  // service id, contact id
    for (;;) {
      auto row = stmt->step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      candidates.emplace_back(stmt->text(0), stmt->text(1));
    }
    stmt = Statement();

    // Load each candidate's contact once; keep the services that pass the dates.
    std::map<std::string, icure::Contact> contacts;
    std::vector<icure::Service> matches;
    for (const auto& [service_id, contact_id] : candidates) {
      auto found = contacts.find(contact_id);
      if (found == contacts.end()) {
        auto row = impl_->load_contact(contact_id);
        if (!row.ok()) return row.status();
        if (!*row) continue;
        found = contacts.emplace(contact_id, *(*row)->sealed).first;
      }
      if (!found->second.services) continue;
      for (const auto& service : *found->second.services) {
        if (service.id != service_id) continue;
        if (filter.kind == SealedServiceFilter::Kind::by_tag_code_date &&
            (filter.start_value_date || filter.end_value_date)) {
          auto date = service_date(service);
          if (!date) continue;
          if (filter.start_value_date && *date < full_date(*filter.start_value_date, false))
            continue;
          if (filter.end_value_date && *date > full_date(*filter.end_value_date, true)) continue;
        }
        icure::Service out = service;
        out.contactId = contact_id;
        // As iCure serves them: with the contact's access and link data, so a
        // client can find the key of the service's encryptedSelf.
        const icure::Contact& contact = found->second;
        if (contact.delegations) out.extra["delegations"] = json_io::to_json(*contact.delegations);
        if (contact.encryptionKeys)
          out.extra["encryptionKeys"] = json_io::to_json(*contact.encryptionKeys);
        if (contact.cryptedForeignKeys)
          out.extra["cryptedForeignKeys"] = json_io::to_json(*contact.cryptedForeignKeys);
        if (contact.secretForeignKeys)
          out.extra["secretForeignKeys"] = json_io::to_json(*contact.secretForeignKeys);
        matches.push_back(std::move(out));
        break;
      }
    }

    SealedPage<icure::Service> result;
    result.total = static_cast<std::int64_t>(matches.size());
    if (page.limit == 0) return result;
    auto first = matches.begin();
    if (page.start_document_id)
      first = std::find_if(matches.begin(), matches.end(), [&](const icure::Service& s) {
        return s.id.value_or("") >= *page.start_document_id;
      });
    for (auto it = first; it != matches.end(); ++it) {
      if (result.rows.size() == page.limit) {
        result.next_document_id = it->id.value_or("");
        break;
      }
      result.rows.push_back(std::move(*it));
    }
    return result;
  });
}

}  // namespace fhirbridge::storage
