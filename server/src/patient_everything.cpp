// Patient/{id}/$everything (FHIR R4 OperationDefinition Patient-everything):
// the patient, then its observations as an Observation?subject= search pages
// them, so paging, totals and cursors are the search's.
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "fhir_api.hpp"
#include "fhirbridge/server/detail/search_plan.hpp"

namespace fhirbridge::server::detail {

namespace json = boost::json;

namespace {

struct EverythingParams {
  bool patient = true, observations = true;  // _type
  std::optional<std::int64_t> since_ms;      // _since
  std::vector<QueryParam> search;            // for the Observation search
  std::vector<QueryParam> echoed;            // for the links (without _cursor)
  std::optional<std::string> cursor;         // the search's, for this page
  std::vector<std::string> elements;         // _elements, for the patient too
  SummaryMode summary = SummaryMode::full;   // _summary (true, text, data, false)
  std::vector<std::string> ignored;
};

Result<EverythingParams> everything_params(const std::vector<QueryParam>& params) {
  EverythingParams out;
  for (const auto& p : params) {
    if (p.name == "_format" || p.name == "_pretty") continue;
    if (p.name == "_cursor") {
      out.cursor = p.value;
      out.search.push_back(p);
      continue;
    }
    if (p.name == "_type") {
      out.patient = out.observations = false;
      for (const auto& type : split_or(p.value)) {
        out.patient = out.patient || type == "Patient";
        out.observations = out.observations || type == "Observation";
      }  // types we do not store have nothing to return
    } else if (p.name == "_since") {
      auto when = mapping::parse_fhir_date_time(p.value, "_since");
      if (!when.ok()) return when.status();
      out.since_ms = mapping::epoch_ms_range(*when).first;
      out.search.push_back(QueryParam{"_lastUpdated", "", "ge" + p.value});
    } else if (p.name == "start" || p.name == "end") {
      // The care period: observations dated in it (ge start, le end).
      FHIRBRIDGE_RETURN_IF_ERROR(mapping::parse_fhir_date_time(p.value, p.name).status());
      out.search.push_back(QueryParam{"date", "", (p.name == "start" ? "ge" : "le") + p.value});
    } else if (p.name == "_count") {
      out.search.push_back(p);
    } else if (p.name == "_elements" || p.name == "_summary") {
      // As on a search, for every resource of the answer (_summary=count has
      // no meaning for an operation that returns everything).
      if (p.name == "_elements") {
        out.elements = split_or(p.value);
      } else {
        auto mode = summary_mode(p.value);
        if (!mode)
          return Status::Invalid("_summary",
                                 "$everything takes _summary=true, text, data or false");
        out.summary = *mode;
      }
      out.search.push_back(p);
    } else {
      out.ignored.push_back(p.name);
      continue;
    }
    out.echoed.push_back(p);
  }
  return out;
}

std::string everything_url(const CallContext& call, const std::string& id,
                           std::vector<QueryParam> params,
                           const std::optional<std::string>& cursor) {
  if (cursor) params.push_back(QueryParam{"_cursor", "", *cursor});
  const std::string query = encode_query(params);
  return call.base_url + "/Patient/" + id + "/$everything" + (query.empty() ? "" : "?" + query);
}

// Self and next links pointed at $everything, with the search's cursors.
json::array everything_links(const CallContext& call, const std::string& id,
                             const EverythingParams& wanted,
                             const std::optional<std::string>& next_cursor) {
  json::array links{json::object{{"relation", "self"},
                                 {"url", everything_url(call, id, wanted.echoed, wanted.cursor)}}};
  if (next_cursor)
    links.push_back(json::object{{"relation", "next"},
                                 {"url", everything_url(call, id, wanted.echoed, next_cursor)}});
  return links;
}

}  // namespace

Result<std::vector<QueryParam>> operation_params(const json::value& body,
                                                 std::vector<QueryParam> query) {
  if (body.is_null()) return query;
  const json::object* parameters = body.if_object();
  const json::value* type = parameters ? parameters->if_contains("resourceType") : nullptr;
  if (!type || !type->is_string() || type->get_string() != "Parameters")
    return Status(StatusCode::structure, "an operation takes a Parameters resource",
                  "resourceType");
  const json::value* list = parameters->if_contains("parameter");
  if (!list) return query;
  if (!list->is_array()) return Status::Invalid("Parameters.parameter", "an array is required");
  for (std::size_t i = 0; i < list->get_array().size(); ++i) {
    const std::string path = "Parameters.parameter[" + std::to_string(i) + "]";
    const json::object* p = list->get_array()[i].if_object();
    const json::value* name = p ? p->if_contains("name") : nullptr;
    if (!name || !name->is_string()) return Status::Invalid(path + ".name", "a name is required");
    std::optional<std::string> value;
    for (const auto& [key, v] : *p) {
      if (!key.starts_with("value")) continue;
      if (v.is_string())
        value = std::string(v.get_string());
      else if (v.is_int64() || v.is_uint64())
        value = json::serialize(v);
      else if (v.is_bool())
        value = v.get_bool() ? "true" : "false";
    }
    if (!value) return Status::Invalid(path + ".value[x]", "a primitive value is required");
    query.push_back(QueryParam{std::string(name->get_string()), "", std::move(*value)});
  }
  return query;
}

Result<FhirAnswer> patient_everything(CallContext& call, const std::string& id,
                                      const std::vector<QueryParam>& params) {
  auto wanted = everything_params(params);
  if (!wanted.ok()) return wanted.status();
  if (call.strict && !wanted->ignored.empty())
    return Status::Invalid(wanted->ignored.front(),
                           "$everything takes _type, _since, start, end, _count, _elements "
                           "and _summary");
  auto patient = resolve_patient(call.server, call.who, id);
  if (!patient.ok()) return patient.status();
  const std::string store_id = patient->id.value_or(id);

  json::object bundle;
  std::vector<std::string> warnings;
  std::optional<std::string> next_cursor;
  if (wanted->observations) {
    std::vector<QueryParam> search_params = wanted->search;
    search_params.push_back(QueryParam{"subject", "", "Patient/" + store_id});
    auto outcome = search(call.server.store(), call.who, "Observation", search_params,
                          search_options(call), call.server.mapping());
    if (!outcome.ok()) return outcome.status();
    bundle = std::move(outcome->bundle);
    warnings = std::move(outcome->warnings);
    next_cursor = std::move(outcome->next_cursor);
  } else {
    bundle = response_bundle("searchset", {}, call.server);
    bundle.erase("meta");
    bundle["total"] = 0;
  }
  if (!bundle.contains("entry")) bundle["entry"] = json::array();
  json::array& entries = bundle["entry"].as_array();
  // The patient counts in every page's total and is an entry of the first page only.
  const bool patient_matches =
      wanted->patient && (!wanted->since_ms || patient->modified.value_or(0) >= *wanted->since_ms);
  if (patient_matches && !wanted->cursor) {
    auto view = patient_view(*patient, call.server);
    if (!view.ok()) return view.status();
    entries.insert(entries.begin(),
                   json::object{{"fullUrl", call.base_url + "/Patient/" + store_id},
                                {"resource", subset_resource(std::move(*view), wanted->elements,
                                                             wanted->summary)},
                                {"search", json::object{{"mode", "match"}}}});
  }
  if (entries.empty()) bundle.erase("entry");  // FHIR JSON has no empty arrays
  if (json::value* total = bundle.if_contains("total");
      total && total->is_int64() && patient_matches)
    *total = total->as_int64() + 1;
  bundle["link"] = everything_links(call, id, *wanted, next_cursor);
  for (const auto& name : wanted->ignored)
    warnings.push_back("parameter '" + name + "' is not supported by $everything; ignored");
  FhirAnswer answer;
  answer.body = std::move(bundle);
  answer.warnings = std::move(warnings);
  return answer;
}

}  // namespace fhirbridge::server::detail
