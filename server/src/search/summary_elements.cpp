// _summary's element lists, as data: the elements FHIR R4 marks as summary
// (isSummary) and the mandatory ones (min 1), per resource type we serve.
#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <string_view>

#include "fhirbridge/server/detail/search_plan.hpp"

namespace fhirbridge::server::detail {
namespace {

struct SummaryElements {
  std::string_view resource_type;
  std::array<std::string_view, 17> summary;  // "" pads; a name ending in [x] is a choice
  std::array<std::string_view, 2> mandatory;
};

// https://hl7.org/fhir/R4/patient.html, observation.html (the Σ flags).
constexpr std::array<SummaryElements, 2> kSummaryElements{{
    {"Patient",
     {"implicitRules", "identifier", "active", "name", "telecom", "gender", "birthDate",
      "deceased[x]", "address", "managingOrganization", "link"},
     {}},
    {"Observation",
     {"implicitRules", "identifier", "basedOn", "partOf", "status", "category", "code", "subject",
      "focus", "encounter", "effective[x]", "issued", "performer", "value[x]", "hasMember",
      "derivedFrom", "component"},
     {"status", "code"}},
}};

// "value[x]" names valueQuantity, valueString, ...: the prefix, then a capital.
bool names(std::string_view listed, std::string_view element) {
  if (listed.size() > 3 && listed.substr(listed.size() - 3) == "[x]") {
    const std::string_view prefix = listed.substr(0, listed.size() - 3);
    return element.size() > prefix.size() && element.substr(0, prefix.size()) == prefix &&
           std::isupper(static_cast<unsigned char>(element[prefix.size()]));
  }
  return listed == element;
}

template <std::size_t N>
bool listed_in(const std::array<std::string_view, N>& list, std::string_view element) {
  return std::any_of(list.begin(), list.end(), [&](std::string_view listed) {
    return !listed.empty() && names(listed, element);
  });
}

}  // namespace

bool in_summary(SummaryMode mode, std::string_view resource_type, std::string_view element) {
  switch (mode) {
    case SummaryMode::full: return true;
    case SummaryMode::data: return element != "text";
    case SummaryMode::summary:
    case SummaryMode::text: break;
  }
  if (mode == SummaryMode::text && element == "text") return true;
  for (const auto& type : kSummaryElements) {
    if (type.resource_type != resource_type) continue;
    return mode == SummaryMode::summary ? listed_in(type.summary, element)
                                        : listed_in(type.mandatory, element);
  }
  return false;
}

std::optional<SummaryMode> summary_mode(std::string_view value) {
  if (value == "true") return SummaryMode::summary;
  if (value == "text") return SummaryMode::text;
  if (value == "data") return SummaryMode::data;
  if (value == "false") return SummaryMode::full;
  return std::nullopt;
}

boost::json::object subset_resource(boost::json::object resource,
                                    const std::vector<std::string>& elements, SummaryMode summary) {
  if (elements.empty() && summary == SummaryMode::full) return resource;
  std::string type;  // a copy: the values are moved out below
  if (const auto* t = resource.if_contains("resourceType"); t && t->is_string())
    type = t->get_string();
  boost::json::object kept;
  for (auto& [key, value] : resource) {
    bool wanted = key == "resourceType" || key == "id" || key == "meta";
    if (!elements.empty())
      wanted = wanted ||
               std::find(elements.begin(), elements.end(), std::string_view(key)) != elements.end();
    else
      wanted = wanted || in_summary(summary, type, key);
    if (wanted) kept[key] = std::move(value);
  }
  boost::json::object& meta =
      kept["meta"].is_object() ? kept["meta"].get_object() : kept["meta"].emplace_object();
  boost::json::array& tags =
      meta["tag"].is_array() ? meta["tag"].get_array() : meta["tag"].emplace_array();
  tags.push_back(
      boost::json::object{{"system", "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"},
                          {"code", "SUBSETTED"}});
  return kept;
}

}  // namespace fhirbridge::server::detail
