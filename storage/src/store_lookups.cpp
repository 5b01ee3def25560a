// The default identifier look-ups of Store: through find_patients /
// find_contacts, as any backend can answer them (the remote one, test
// doubles). SqliteStore answers from its clear identifier index instead.
#include <algorithm>
#include <unordered_set>

#include "fhirbridge/storage/store.hpp"

namespace fhirbridge::storage {

namespace {

// Values OR-ed per query: small enough for any backend's query size limits.
constexpr std::size_t kValuesPerQuery = 200;

// Calls `found(value)` for each identifier value of `system` that is wanted.
template <typename Found>
void wanted_values(const std::optional<std::vector<icure::Identifier>>& identifiers,
                   const std::string& system, const std::unordered_set<std::string>& wanted,
                   Found&& found) {
  if (!identifiers) return;
  for (const auto& id : *identifiers)
    if (id.system == system && id.value && wanted.count(*id.value)) found(*id.value);
}

// For each chunk of `values`: `find` a Query for those values (identifier
// tokens of `system`), page after page, and `on_item(item, wanted)` for every
// item, `wanted` holding the chunk's values.
template <typename Query, typename Find, typename OnItem>
Status each_match(const std::string& system, const std::vector<std::string>& values, Find&& find,
                  OnItem&& on_item) {
  for (std::size_t i = 0; i < values.size(); i += kValuesPerQuery) {
    const auto first = values.begin() + static_cast<std::ptrdiff_t>(i);
    const auto last =
        values.begin() + static_cast<std::ptrdiff_t>(std::min(values.size(), i + kValuesPerQuery));
    const std::unordered_set<std::string> wanted(first, last);
    Query query;
    AnyOf any;
    for (auto v = first; v != last; ++v) any.push_back(TokenFilter{system, *v});
    query.identifiers.push_back(std::move(any));
    query.page.count_up_to = 0;  // only the items matter
    query.page.limit = wanted.size();
    for (;;) {
      auto page = find(query);
      if (!page.ok()) return page.status();
      for (const auto& item : page->items) on_item(item, wanted);
      if (!page->next_cursor) break;
      query.page.cursor = page->next_cursor;
    }
  }
  return {};
}

}  // namespace

Result<std::unordered_map<std::string, std::string>> Store::patient_ids_by_identifier(
    const Principal& who, const std::string& system, const std::vector<std::string>& values) {
  std::unordered_map<std::string, std::string> found;
  const Status status = each_match<PatientQuery>(
      system, values, [&](const PatientQuery& q) { return find_patients(who, q); },
      [&](const icure::Patient& patient, const std::unordered_set<std::string>& wanted) {
        if (!patient.id) return;
        wanted_values(patient.identifier, system, wanted,
                      [&](const std::string& value) { found.emplace(value, *patient.id); });
      });
  if (!status.ok()) return status;
  return found;
}

Result<std::unordered_map<std::string, std::string>> Store::contact_ids_by_service_identifier(
    const Principal& who, const std::string& system, const std::vector<std::string>& values) {
  std::unordered_map<std::string, std::string> found;
  const Status status = each_match<ContactQuery>(
      system, values, [&](const ContactQuery& q) { return find_contacts(who, q); },
      [&](const ContactRecord& record, const std::unordered_set<std::string>& wanted) {
        if (!record.contact.id || !record.contact.services) return;
        for (const auto& service : *record.contact.services)
          wanted_values(service.identifier, system, wanted, [&](const std::string& value) {
            found.emplace(value, *record.contact.id);
          });
      });
  if (!status.ok()) return status;
  return found;
}

std::int64_t rev_generation(const std::optional<std::string>& rev) {
  if (!rev) return 0;
  std::int64_t g = 0;
  for (char c : *rev) {
    if (c < '0' || c > '9') break;
    g = g * 10 + (c - '0');
    if (g > (std::int64_t{1} << 50)) return 0;
  }
  return g;
}

namespace {
// The current version only, or not_found for another generation.
template <typename Entity>
Result<std::vector<Entity>> current_only(Result<Entity> current, const std::string& what,
                                         const std::optional<std::string>& rev,
                                         std::optional<std::int64_t> generation) {
  if (!current.ok()) return current.status();
  if (generation && *generation != rev_generation(rev))
    return Status::NotFound(what + ": version " + std::to_string(*generation) +
                            " is not kept (only the current version is)");
  return std::vector<Entity>{std::move(*current)};
}
}  // namespace

Result<std::vector<icure::Patient>> Store::patient_versions(
    const Principal& who, const std::string& id, std::optional<std::int64_t> generation) {
  auto current = get_patient(who, id);
  const std::optional<std::string> rev = current.ok() ? current->rev : std::nullopt;
  return current_only(std::move(current), "patient " + id, rev, generation);
}

Result<std::vector<ContactRecord>> Store::contact_versions(const Principal& who,
                                                           const std::string& id,
                                                           std::optional<std::int64_t> generation) {
  auto current = get_contact(who, id);
  const std::optional<std::string> rev = current.ok() ? current->contact.rev : std::nullopt;
  return current_only(std::move(current), "contact " + id, rev, generation);
}

Result<std::vector<icure::Patient>> Store::list_old_patient_versions(
    const Principal&, std::int64_t, const std::optional<VersionPosition>&, std::size_t) {
  return std::vector<icure::Patient>{};
}

Result<std::vector<ContactRecord>> Store::list_old_contact_versions(
    const Principal&, std::int64_t, const std::optional<VersionPosition>&, std::size_t) {
  return std::vector<ContactRecord>{};
}

Result<Deletion> Store::get_deletion(const Principal&, EntityKind kind, const std::string& id) {
  return Status::NotFound(std::string(kind == EntityKind::patient ? "patient " : "contact ") + id +
                          ": no deletion known");
}

Result<std::vector<Deletion>> Store::list_deletions(const Principal&, EntityKind, std::int64_t,
                                                    const std::optional<Deletion>&, std::size_t) {
  return std::vector<Deletion>{};
}

}  // namespace fhirbridge::storage
