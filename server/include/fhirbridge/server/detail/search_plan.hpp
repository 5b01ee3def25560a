// The pure half of FHIR search: decoded query parameters -> a search plan
// (store queries plus the lookups that must run first: FHIR-id resolution,
// chaining, _has) and the paging/sort/summary controls. No store access here,
// so every translation rule is unit-testable; search.cpp executes plans.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "fhirbridge/server/search.hpp"
#include "fhirbridge/status.hpp"
#include "fhirbridge/storage/store.hpp"

namespace fhirbridge::server::detail {

// value-quantity: `[prefix]number[|system[|code]]`, checked on the mapped FHIR
// Observation.valueQuantity after decryption (content is encrypted, so the
// store cannot index it).
enum class Comparator { eq, ne, lt, gt, le, ge, sa, eb, ap };
struct QuantityCondition {
  Comparator comparator = Comparator::eq;
  double value = 0;
  double half_precision = 0;          // eq/ne tolerance implied by the digits written
  std::optional<std::string> system;  // FHIR system as written (absent = any)
  std::optional<std::string> code;    // matches valueQuantity.code or .unit (absent = any)
};
using QuantityAnyOf = std::vector<QuantityCondition>;  // OR (commas)

// A search parameter on an element that lives only in the sealed content
// (docs/search.md, "Filtered after decryption"): matched on the mapped FHIR
// resource. One row of a table per parameter (element_filters.cpp).
// deceased: Patient.deceased[x] as the R4 token (true: deceasedBoolean true or
// any deceasedDateTime).
// date: dateTimes (a Period by its start) on the YYYYMMDDhhmmss scale of the
// store's dates, compared as the indexed `date` parameter is.
// quantity: Quantities, compared as value-quantity is.
// A composite row (code-value-quantity=`code$value`) pairs a `code` with a
// value of `kind` found in the same root: the resource itself ("") or each
// element of a list ("component"); `paths` are then relative to that root.
enum class ElementFilterKind { token, string, reference, contact_point, deceased, date, quantity };
struct ElementFilterDef {
  std::string_view param;  // "value-concept"
  ElementFilterKind kind;
  std::vector<std::string_view> paths;  // "component.code": arrays are flattened
  std::string_view contact_system;      // contact_point: only ContactPoints of this system
  std::vector<std::string_view> composite_roots = {};  // empty: not a composite
};
// The row for `param` of `resource_type` (Patient, Observation), or nullptr.
const ElementFilterDef* element_filter_def(std::string_view resource_type, std::string_view param);
// For an indexed parameter whose `modifier` (:text, :not) only the content can
// answer (Observation code and category), the row to filter with; else nullptr.
const ElementFilterDef* content_modifier_def(std::string_view resource_type, std::string_view param,
                                             std::string_view modifier);
// The element paths `param:missing` tests (the table's, and on Observation
// category, status and _tag, whose shared tag index cannot tell them apart);
// nullptr for composites, which have no :missing.
const std::vector<std::string_view>* missing_paths(std::string_view resource_type,
                                                   std::string_view param);
// Every row of a resource type, for the CapabilityStatement.
const std::vector<ElementFilterDef>& element_filter_defs(std::string_view resource_type);

struct ElementFilter {
  std::vector<std::string_view> paths;
  ElementFilterKind kind = ElementFilterKind::token;
  std::string_view contact_system;
  std::string modifier;         // token: "", text, not; string: "", exact, contains;
                                // reference: "" or a resource type
  std::optional<bool> missing;  // :missing=true|false (then `values` is empty)
  struct Value {
    std::optional<std::string> system, code;  // token (no_system: "|code")
    bool no_system = false;
    std::string text;             // string, :text, reference
    storage::DateCondition date;  // date
    QuantityCondition quantity;   // quantity
  };
  std::vector<Value> values;  // OR
  // Composite: the root of each pair, and the token its `code` must match
  // (codes[i] goes with values[i]).
  std::vector<std::string_view> composite_roots;
  std::vector<Value> codes;
};
bool element_filter_matches(const ElementFilter& filter, const boost::json::object& resource);

struct ContactPlan;

// Everything the outer PatientQuery needs. `query.ids` is left empty: the
// executor fills it with the intersection of the id constraints below.
struct PatientPlan {
  storage::PatientQuery query;
  // Each element: OR of values matching either the store id or the FHIR id
  // (Identifier with the fhir-id system). Elements are ANDed.
  std::vector<std::vector<std::string>> id_or_fhir_id;
  // _has:Observation:patient:<param>: each plan must match at least one
  // contact of the patient. ANDed.
  std::vector<ContactPlan> has_observations;
  std::vector<ElementFilter> element_filters;  // post-filter, ANDed
  bool needs_post_filter() const { return !element_filters.empty(); }
};

struct ContactPlan {
  storage::ContactQuery query;                          // ids / patient_ids filled by the executor
  std::vector<std::vector<std::string>> id_or_fhir_id;  // contact id or Service FHIR id
  std::vector<std::vector<std::string>> subject_id_or_fhir_id;  // patient store id or FHIR id
  std::vector<PatientPlan> subject_chains;    // subject:Patient.name=..., subject:identifier=...
  std::vector<QuantityAnyOf> value_quantity;  // post-filter, ANDed
  // value-quantity:missing=true|false (post-filter, ANDed): whether the
  // observation has no valueQuantity (content is encrypted: not a store query).
  std::vector<bool> value_quantity_missing;
  std::vector<ElementFilter> element_filters;  // post-filter, ANDed
  bool needs_post_filter() const {
    return !value_quantity.empty() || !value_quantity_missing.empty() || !element_filters.empty();
  }
};

// Bundle.total (docs/search.md): `bounded` (the default, and _total=estimate)
// counts up to kBoundedTotal matches and omits total beyond; `accurate` counts
// every match (cost grows with them); `none` never counts.
enum class TotalMode { accurate, bounded, none };
inline constexpr std::int64_t kBoundedTotal = 1000;

// _summary: `true` keeps the elements the R4 definition marks as summary,
// `text` the narrative and the mandatory elements, `data` all but the narrative.
enum class SummaryMode { full, summary, text, data };

struct SearchControls {
  std::size_t count = 50;             // page size; 0 = count only
  bool count_only = false;            // _summary=count or _count=0
  std::optional<std::string> cursor;  // _cursor from a previous `next` link
  std::vector<storage::SortKey> sort;
  TotalMode total = TotalMode::bounded;
  std::vector<std::string> elements;        // _elements (top-level names), empty = all
  SummaryMode summary = SummaryMode::full;  // _summary other than count (_elements wins)
  // _include=Observation:subject (on Observation): each match's patient, once.
  bool include_subjects = false;
  // _revinclude=Observation:subject (on Patient): the page's patients' observations.
  bool revinclude_observations = false;
};

template <typename Plan>
struct TranslatedSearch {
  Plan plan;
  SearchControls controls;
  std::vector<std::string> warnings;
  std::vector<std::string> warning_paths;  // the parameter each warning is about
  // The parameters actually used, for self/next links (no _cursor, no
  // ignored parameters, _sort without ignored fields).
  std::vector<QueryParam> echoed;
};

// Translates a Patient / Observation search. invalid (path = parameter name)
// on malformed values, unknown modifiers, or (options.strict) unknown names.
Result<TranslatedSearch<PatientPlan>> translate_patient_search(
    const std::vector<QueryParam>& params, const SearchOptions& options);
Result<TranslatedSearch<ContactPlan>> translate_observation_search(
    const std::vector<QueryParam>& params, const SearchOptions& options);

// Splits a value on unescaped commas ("a,b\,c" -> {"a", "b,c"}); FHIR's `\,`
// escapes a literal comma. Empty pieces are dropped.
std::vector<std::string> split_or(const std::string& value);

// A `_count` value: a non-negative integer; invalid (path `_count`) otherwise.
// Searches, histories and operations that page share it.
Result<std::size_t> parse_count(std::string_view value);

// Re-encodes parameters as a query string (for self/next links).
std::string encode_query(const std::vector<QueryParam>& params);

// Whether a top-level element of `resource_type` stays under _summary=`mode`
// (besides resourceType, id and meta, which always stay). summary: the R4
// definition's summary elements (choice elements by their prefix: valueQuantity
// is value[x]); text: the narrative and the mandatory elements; data: all but
// the narrative; full: all.
bool in_summary(SummaryMode mode, std::string_view resource_type, std::string_view element);

// _summary's value (true, text, data, false) as a mode; nullopt for anything
// else (`count` is a search control, not a subset).
std::optional<SummaryMode> summary_mode(std::string_view value);

// _elements / _summary applied to one resource (searches and reads): with
// `elements`, the mandatory elements (resourceType, id, meta) and those;
// else what `summary` keeps. A subset gets meta.tag SUBSETTED; with neither,
// the resource is returned as it is.
boost::json::object subset_resource(boost::json::object resource,
                                    const std::vector<std::string>& elements, SummaryMode summary);

// The value-quantity test on a mapped FHIR Observation (valueQuantity only).
bool quantity_matches(const QuantityCondition& condition, const boost::json::object& observation);
// The same test on one Quantity (any value: false unless it is a Quantity).
bool quantity_value_matches(const QuantityCondition& condition, const boost::json::value& quantity);

}  // namespace fhirbridge::server::detail
