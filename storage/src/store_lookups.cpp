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

// Runs `query_chunk(values[i..end))` for each chunk of values.
template <typename QueryChunk>
Status by_chunks(const std::vector<std::string>& values, QueryChunk&& query_chunk) {
  for (std::size_t i = 0; i < values.size(); i += kValuesPerQuery) {
    const auto end =
        values.begin() + static_cast<std::ptrdiff_t>(std::min(values.size(), i + kValuesPerQuery));
    FHIRBRIDGE_RETURN_IF_ERROR(query_chunk(
        std::vector<std::string>(values.begin() + static_cast<std::ptrdiff_t>(i), end)));
  }
  return {};
}

AnyOf tokens(const std::string& system, const std::vector<std::string>& values) {
  AnyOf any;
  for (const auto& v : values) any.push_back(TokenFilter{system, v});
  return any;
}

}  // namespace

Result<std::unordered_map<std::string, std::string>> Store::patient_ids_by_identifier(
    const Principal& who, const std::string& system, const std::vector<std::string>& values) {
  std::unordered_map<std::string, std::string> found;
  const Status status = by_chunks(values, [&](const std::vector<std::string>& chunk) -> Status {
    const std::unordered_set<std::string> wanted(chunk.begin(), chunk.end());
    PatientQuery query;
    query.identifiers.push_back(tokens(system, chunk));
    query.page.count_up_to = 0;  // only the items matter
    query.page.limit = chunk.size();
    for (;;) {
      auto page = find_patients(who, query);
      if (!page.ok()) return page.status();
      for (const auto& patient : page->items)
        if (patient.id)
          wanted_values(patient.identifier, system, wanted,
                        [&](const std::string& value) { found.emplace(value, *patient.id); });
      if (!page->next_cursor) return {};
      query.page.cursor = page->next_cursor;
    }
  });
  if (!status.ok()) return status;
  return found;
}

Result<std::unordered_map<std::string, std::string>> Store::contact_ids_by_service_identifier(
    const Principal& who, const std::string& system, const std::vector<std::string>& values) {
  std::unordered_map<std::string, std::string> found;
  const Status status = by_chunks(values, [&](const std::vector<std::string>& chunk) -> Status {
    const std::unordered_set<std::string> wanted(chunk.begin(), chunk.end());
    ContactQuery query;
    query.identifiers.push_back(tokens(system, chunk));
    query.page.count_up_to = 0;
    query.page.limit = chunk.size();
    for (;;) {
      auto page = find_contacts(who, query);
      if (!page.ok()) return page.status();
      for (const auto& record : page->items) {
        if (!record.contact.id || !record.contact.services) continue;
        for (const auto& service : *record.contact.services)
          wanted_values(service.identifier, system, wanted, [&](const std::string& value) {
            found.emplace(value, *record.contact.id);
          });
      }
      if (!page->next_cursor) return {};
      query.page.cursor = page->next_cursor;
    }
  });
  if (!status.ok()) return status;
  return found;
}

}  // namespace fhirbridge::storage
