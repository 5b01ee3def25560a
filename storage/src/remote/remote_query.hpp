// What the iCure filters cannot express, evaluated on our side: every
// PatientQuery / ContactQuery condition, the sort orders and the keyset
// cursor, with exactly the semantics of the SQLite backend (sqlite_query.cpp):
// conditions look at the entity's CLEAR fields (what SQLite indexes), text is
// folded the same way (text_fold.hpp), dates compare the same way, and the
// cursor is "rows strictly after the last key" in the same order.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "../fhir_ids.hpp"
#include "fhirbridge/icure/entities.hpp"
#include "fhirbridge/storage/store.hpp"

namespace fhirbridge::storage::remote {

// A sort key value: integers and strings, compared as SQLite compares them.
using KeyValue = std::variant<std::int64_t, std::string>;
using SortKeyValues = std::vector<KeyValue>;

// Conditions on a sealed patient's clear fields.
bool patient_matches(const icure::Patient& sealed, const PatientQuery& query);
// `patient_store_ids`: when the query has patient_ids, those resolved to store
// ids (a FHIR id names its patient); `patient_id` is the contact's patient.
bool contact_matches(const icure::Contact& sealed, const std::string& patient_id,
                     const ContactQuery& query,
                     const std::optional<std::set<std::string>>& patient_store_ids);

// The resolved order: the requested keys then the id as a tiebreaker (as SQLite).
struct ResolvedOrder {
  std::vector<std::pair<std::string, bool>> keys;  // field, descending
  std::string spec;                                // identifies the order in a cursor
};
Result<ResolvedOrder> resolve_patient_order(const std::vector<SortKey>& sort);
Result<ResolvedOrder> resolve_contact_order(const std::vector<SortKey>& sort);
SortKeyValues patient_sort_key(const icure::Patient& sealed, const ResolvedOrder& order);
SortKeyValues contact_sort_key(const icure::Contact& sealed, const ResolvedOrder& order);

// Sorts `keyed` (key, index) and returns the indexes of one page, the total
// and the next cursor. invalid for a cursor that does not fit the order.
struct PageSlice {
  std::vector<std::size_t> indexes;
  std::optional<std::string> next_cursor;
  std::int64_t total = 0;
};
Result<PageSlice> slice_page(std::vector<std::pair<SortKeyValues, std::size_t>> keyed,
                             const ResolvedOrder& order, const PageRequest& page);

}  // namespace fhirbridge::storage::remote
