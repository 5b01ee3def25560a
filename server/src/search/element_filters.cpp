// Search parameters on elements only the sealed content holds (the mapping
// keeps them in the encrypted FHIR residual or service content): matched on
// the mapped resource after decryption. The parameters are data.
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "fhirbridge/mapping/fhir_dates.hpp"
#include "fhirbridge/server/detail/search_plan.hpp"

namespace fhirbridge::server::detail {

namespace json = boost::json;

namespace {

using Kind = ElementFilterKind;

// R4 Observation search parameters (SearchParameter expressions, minus the
// `Observation.` prefix; value[x] by its JSON name).
const std::vector<ElementFilterDef> kObservationFilters{
    {"value-concept", Kind::token, {"valueCodeableConcept"}, {}},
    {"value-string", Kind::string, {"valueString"}, {}},
    {"component-code", Kind::token, {"component.code"}, {}},
    {"combo-code", Kind::token, {"code", "component.code"}, {}},
    {"component-value-concept", Kind::token, {"component.valueCodeableConcept"}, {}},
    {"combo-value-concept",
     Kind::token,
     {"valueCodeableConcept", "component.valueCodeableConcept"},
     {}},
    {"data-absent-reason", Kind::token, {"dataAbsentReason"}, {}},
    {"component-data-absent-reason", Kind::token, {"component.dataAbsentReason"}, {}},
    {"combo-data-absent-reason",
     Kind::token,
     {"dataAbsentReason", "component.dataAbsentReason"},
     {}},
    {"method", Kind::token, {"method"}, {}},
    {"performer", Kind::reference, {"performer"}, {}},
    {"encounter", Kind::reference, {"encounter"}, {}},
    {"based-on", Kind::reference, {"basedOn"}, {}},
    {"part-of", Kind::reference, {"partOf"}, {}},
    {"has-member", Kind::reference, {"hasMember"}, {}},
    {"derived-from", Kind::reference, {"derivedFrom"}, {}},
    {"device", Kind::reference, {"device"}, {}},
    {"specimen", Kind::reference, {"specimen"}, {}},
    {"focus", Kind::reference, {"focus"}, {}},
    {"value-date", Kind::date, {"valueDateTime", "valuePeriod.start"}, {}},
    {"component-value-quantity", Kind::quantity, {"component.valueQuantity"}, {}},
    {"combo-value-quantity", Kind::quantity, {"valueQuantity", "component.valueQuantity"}, {}},
    // Composites: code$value, the code and the value taken from the same root.
    {"code-value-quantity", Kind::quantity, {"valueQuantity"}, {}, {""}},
    {"code-value-concept", Kind::token, {"valueCodeableConcept"}, {}, {""}},
    {"code-value-string", Kind::string, {"valueString"}, {}, {""}},
    {"code-value-date", Kind::date, {"valueDateTime", "valuePeriod.start"}, {}, {""}},
    {"component-code-value-quantity", Kind::quantity, {"valueQuantity"}, {}, {"component"}},
    {"component-code-value-concept", Kind::token, {"valueCodeableConcept"}, {}, {"component"}},
    {"combo-code-value-quantity", Kind::quantity, {"valueQuantity"}, {}, {"", "component"}},
    {"combo-code-value-concept", Kind::token, {"valueCodeableConcept"}, {}, {"", "component"}},
};

// R4 Patient search parameters on what the mapping keeps sealed.
const std::vector<ElementFilterDef> kPatientFilters{
    {"telecom", Kind::contact_point, {"telecom"}, {}},
    {"phone", Kind::contact_point, {"telecom"}, "phone"},
    {"email", Kind::contact_point, {"telecom"}, "email"},
    {"address",
     Kind::string,
     {"address.text", "address.line", "address.city", "address.district", "address.state",
      "address.postalCode", "address.country"},
     {}},
    {"address-city", Kind::string, {"address.city"}, {}},
    {"address-state", Kind::string, {"address.state"}, {}},
    {"address-postalcode", Kind::string, {"address.postalCode"}, {}},
    {"address-country", Kind::string, {"address.country"}, {}},
    {"address-use", Kind::token, {"address.use"}, {}},
    {"language", Kind::token, {"communication.language"}, {}},
    {"general-practitioner", Kind::reference, {"generalPractitioner"}, {}},
    {"organization", Kind::reference, {"managingOrganization"}, {}},
    {"link", Kind::reference, {"link.other"}, {}},
    {"deceased", Kind::deceased, {"deceasedBoolean", "deceasedDateTime"}, {}},
    {"death-date", Kind::date, {"deceasedDateTime"}, {}},
};

// Indexed Observation parameters whose :missing only the content can answer.
const std::vector<std::pair<std::string_view, std::vector<std::string_view>>> kMissingOnly{
    {"category", {"category"}},
    {"status", {"status"}},
    {"_tag", {"meta.tag"}},
};

// Indexed Observation tokens whose :text and :not only the content can answer
// (the index holds codes, not their text, and cannot say "no such coding").
const std::vector<ElementFilterDef> kContentModifiers{
    {"code", Kind::token, {"code"}, {}},
    {"category", Kind::token, {"category"}, {}},
};

// Every value at `path` ("component.code"), arrays flattened at each step.
void collect(const json::value& at, std::string_view path, std::vector<const json::value*>& out) {
  if (const json::array* list = at.if_array()) {
    for (const auto& item : *list) collect(item, path, out);
    return;
  }
  if (path.empty()) {
    out.push_back(&at);
    return;
  }
  const json::object* object = at.if_object();
  if (!object) return;
  const std::size_t dot = path.find('.');
  const json::value* next = object->if_contains(path.substr(0, dot));
  if (!next) return;
  collect(*next, dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1), out);
}

std::string folded(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view string_of(const json::object& o, std::string_view key) {
  if (const json::value* v = o.if_contains(key); v && v->is_string()) return v->get_string();
  return {};
}

bool coding_matches(const json::object& coding, const ElementFilter::Value& wanted) {
  const json::value* system = coding.if_contains("system");
  if (wanted.no_system && system) return false;
  if (wanted.system && string_of(coding, "system") != *wanted.system) return false;
  return !wanted.code || string_of(coding, "code") == *wanted.code;
}

// A CodeableConcept (any coding), a Coding, or a bare code (no system).
bool token_matches(const json::value& value, const ElementFilter::Value& wanted) {
  if (value.is_string()) return !wanted.system && wanted.code && value.get_string() == *wanted.code;
  const json::object* object = value.if_object();
  if (!object) return false;
  if (const json::value* codings = object->if_contains("coding"); codings && codings->is_array()) {
    return std::any_of(codings->get_array().begin(), codings->get_array().end(),
                       [&](const json::value& c) {
                         return c.is_object() && coding_matches(c.get_object(), wanted);
                       });
  }
  return object->contains("code") && coding_matches(*object, wanted);
}

// A ContactPoint: the token's code is its value, the token's system its system.
bool contact_point_matches(const json::value& value, const ElementFilter& filter,
                           const ElementFilter::Value& wanted) {
  const json::object* point = value.if_object();
  if (!point) return false;
  if (!filter.contact_system.empty() && string_of(*point, "system") != filter.contact_system)
    return false;
  if (wanted.no_system && point->contains("system")) return false;
  if (wanted.system && string_of(*point, "system") != *wanted.system) return false;
  return !wanted.code || string_of(*point, "value") == *wanted.code;
}

// :text: CodeableConcept.text or a coding's display starts with the value.
bool text_matches(const json::value& value, const std::string& wanted) {
  const json::object* object = value.if_object();
  if (!object) return false;
  auto starts = [&](std::string_view s) { return folded(s).rfind(wanted, 0) == 0; };
  if (starts(string_of(*object, "text")) && object->contains("text")) return true;
  if (const json::value* codings = object->if_contains("coding"); codings && codings->is_array())
    for (const auto& c : codings->get_array())
      if (c.is_object() && c.get_object().contains("display") &&
          starts(string_of(c.get_object(), "display")))
        return true;
  return false;
}

bool string_matches(const json::value& value, const ElementFilter& filter,
                    const std::string& wanted) {
  if (!value.is_string()) return false;
  if (filter.modifier == "exact") return value.get_string() == wanted;
  const std::string have = folded(value.get_string());
  if (filter.modifier == "contains") return have.find(wanted) != std::string::npos;
  return have.rfind(wanted, 0) == 0;
}

// The last "Type/id" of a reference ("http://x/fhir/Encounter/e1/_history/2" -> "Encounter/e1").
std::string_view type_and_id(std::string_view reference) {
  if (auto history = reference.find("/_history/"); history != std::string_view::npos)
    reference = reference.substr(0, history);
  const std::size_t last = reference.rfind('/');
  if (last == std::string_view::npos || last == 0) return reference;
  const std::size_t before = reference.rfind('/', last - 1);
  return before == std::string_view::npos ? reference : reference.substr(before + 1);
}

// A dateTime against a condition on the store's YYYYMMDDhhmmss scale: its
// start, as the indexed dates are stored.
bool date_matches(const json::value& value, const storage::DateCondition& wanted) {
  if (!value.is_string()) return false;
  auto parsed = mapping::parse_fhir_date_time(value.get_string(), "value");
  if (!parsed.ok()) return false;
  return wanted.matches(mapping::icure_range(*parsed, 14).first);
}

// :identifier: Reference.identifier as a token (system|value).
bool reference_identifier_matches(const json::value& value, const ElementFilter::Value& wanted) {
  const json::object* object = value.if_object();
  const json::value* identifier = object ? object->if_contains("identifier") : nullptr;
  if (!identifier || !identifier->is_object()) return false;
  const json::object& id = identifier->get_object();
  if (wanted.no_system && id.contains("system")) return false;
  if (wanted.system && string_of(id, "system") != *wanted.system) return false;
  return !wanted.code || string_of(id, "value") == *wanted.code;
}

// `Type/id`, a bare id (any type), or an absolute URL naming the same Type/id.
bool reference_matches(const json::value& value, const std::string& wanted) {
  const json::object* object = value.if_object();
  if (!object) return false;
  const std::string_view reference = string_of(*object, "reference");
  if (reference.empty()) return false;
  if (reference == wanted) return true;
  const std::string_view have = type_and_id(reference);
  if (wanted.find('/') == std::string::npos) return have.substr(have.find('/') + 1) == wanted;
  return have == type_and_id(wanted);
}

}  // namespace

const std::vector<ElementFilterDef>& element_filter_defs(std::string_view resource_type) {
  static const std::vector<ElementFilterDef> none;
  if (resource_type == "Patient") return kPatientFilters;
  if (resource_type == "Observation") return kObservationFilters;
  return none;
}

const ElementFilterDef* element_filter_def(std::string_view resource_type, std::string_view param) {
  for (const auto& def : element_filter_defs(resource_type))
    if (def.param == param) return &def;
  return nullptr;
}

const ElementFilterDef* content_modifier_def(std::string_view resource_type, std::string_view param,
                                             std::string_view modifier) {
  if (resource_type != "Observation" || (modifier != "text" && modifier != "not")) return nullptr;
  for (const auto& def : kContentModifiers)
    if (def.param == param) return &def;
  return nullptr;
}

const std::vector<std::string_view>* missing_paths(std::string_view resource_type,
                                                   std::string_view param) {
  if (const auto* def = element_filter_def(resource_type, param))
    return def->composite_roots.empty() ? &def->paths : nullptr;
  if (resource_type == "Observation")
    for (const auto& [name, paths] : kMissingOnly)
      if (name == param) return &paths;
  return nullptr;
}

namespace {

// Every value at `path`, whose first step is a top-level element of `resource`
// (looked up without copying the resource).
void collect_from(const json::object& resource, std::string_view path,
                  std::vector<const json::value*>& out) {
  const std::size_t dot = path.find('.');
  if (const json::value* top = resource.if_contains(path.substr(0, dot)))
    collect(*top, dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1), out);
}

bool value_matches(const ElementFilter& filter, const json::value& v,
                   const ElementFilter::Value& wanted) {
  switch (filter.kind) {
    case Kind::token:
      return filter.modifier == "text" ? text_matches(v, wanted.text) : token_matches(v, wanted);
    case Kind::string: return string_matches(v, filter, wanted.text);
    case Kind::reference:
      return filter.modifier == "identifier" ? reference_identifier_matches(v, wanted)
                                             : reference_matches(v, wanted.text);
    case Kind::date: return date_matches(v, wanted.date);
    case Kind::quantity: return quantity_value_matches(wanted.quantity, v);
    case Kind::deceased: return false;  // answered by element_filter_matches
    case Kind::contact_point: return contact_point_matches(v, filter, wanted);
  }
  return false;
}

// code$value pairs: some root (the resource, or one component) whose code
// matches codes[i] and one of whose values matches values[i].
bool composite_matches(const ElementFilter& filter, const json::object& resource) {
  std::vector<const json::object*> roots;
  for (const auto& root : filter.composite_roots) {
    if (root.empty()) {
      roots.push_back(&resource);
      continue;
    }
    std::vector<const json::value*> found;
    collect_from(resource, root, found);
    for (const auto* v : found)
      if (v->is_object()) roots.push_back(&v->get_object());
  }
  std::vector<const json::value*> values;
  for (const json::object* root : roots) {
    const json::value* code = root->if_contains("code");
    if (!code) continue;
    values.clear();
    for (const auto& path : filter.paths) collect_from(*root, path, values);
    for (std::size_t i = 0; i < filter.values.size(); ++i) {
      if (!token_matches(*code, filter.codes[i])) continue;
      for (const auto* v : values)
        if (value_matches(filter, *v, filter.values[i])) return true;
    }
  }
  return false;
}

}  // namespace

bool element_filter_matches(const ElementFilter& filter, const json::object& resource) {
  if (!filter.composite_roots.empty()) return composite_matches(filter, resource);
  std::vector<const json::value*> found;
  for (const auto& path : filter.paths) collect_from(resource, path, found);
  if (filter.missing) return found.empty() == *filter.missing;
  if (filter.kind == Kind::deceased) {
    const bool dead = std::any_of(found.begin(), found.end(), [](const json::value* v) {
      return v->is_string() || (v->is_bool() && v->get_bool());
    });
    return std::any_of(filter.values.begin(), filter.values.end(),
                       [&](const auto& wanted) { return (wanted.code == "true") == dead; });
  }
  const bool hit = std::any_of(found.begin(), found.end(), [&](const json::value* v) {
    return std::any_of(filter.values.begin(), filter.values.end(),
                       [&](const auto& wanted) { return value_matches(filter, *v, wanted); });
  });
  return filter.modifier == "not" ? !hit : hit;
}

}  // namespace fhirbridge::server::detail
