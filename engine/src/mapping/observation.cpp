// FHIR R4 Observation <-> iCure Contact + one Service (docs/mapping.md).
//
// Same scheme as the Patient: explicit mapping of everything with an iCure
// home, then the FHIR residual (what the iCure fields do not give back) kept
// in the sealed Service.content[kFhirResidualContentKey].
#include "fhirbridge/mapping/observation.hpp"

#include <algorithm>
#include <cmath>

#include "datatypes.hpp"
#include "fhirbridge/json_io.hpp"
#include "fhirbridge/mapping/code_systems.hpp"
#include "fhirbridge/mapping/code_tables.hpp"
#include "fhirbridge/mapping/fhir_dates.hpp"
#include "fhirbridge/mapping/residual.hpp"

namespace fhirbridge::mapping {

using namespace detail;

namespace {

const std::string kPath = "Observation";
constexpr const char* kInterpretationSystem =
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";

// CodeStub.context of the Service tags, so they go back where they came from.
constexpr const char* kCategoryContext = "category";
constexpr const char* kMetaTagContext = "meta.tag";
constexpr const char* kValueContext = "valueCodeableConcept";

Result<icure::Measure> range_to_measure(const json::object& range, const std::string& path) {
  FHIRBRIDGE_ASSIGN_OR_RETURN(low, get_object(range, "low", path));
  FHIRBRIDGE_ASSIGN_OR_RETURN(high, get_object(range, "high", path));
  icure::Measure m;
  if (high) {
    FHIRBRIDGE_ASSIGN_OR_RETURN(h, quantity_to_measure(*high, child(path, "high")));
    m = h;
    m.max = h.value;
    m.value.reset();
  }
  if (low) {
    FHIRBRIDGE_ASSIGN_OR_RETURN(l, quantity_to_measure(*low, child(path, "low")));
    m.min = l.value;
    if (!high) {
      m.unit = l.unit;
      m.unitCodes = l.unitCodes;
      m.comparator = l.comparator;
    }
  }
  return m;
}

json::object measure_to_range(icure::Measure m, json::storage_ptr sp = {}) {
  m.comparator.reset();  // the value's comparator, not the range's
  json::object range(sp);
  if (m.min) range["low"] = measure_to_quantity(m, m.min, sp);
  if (m.max) range["high"] = measure_to_quantity(m, m.max, sp);
  return range;
}

// code, value[x], interpretation and referenceRange: shared by the
// Observation and its components (a component is a Service of compoundValue).
Status map_coded_value(const json::object& o, const std::string& path, icure::Service& s,
                       const MappingContext& ctx) {
  const std::string& lang = ctx.settings.content_language;
  static constexpr std::string_view keys[] = {
      "code",          "valueQuantity", "valueString", "valueBoolean",         "valueInteger",
      "valueDateTime", "valueRange",    "valueRatio",  "valueCodeableConcept", "interpretation",
      "referenceRange"};
  const auto f = lookup(o, keys);
  FHIRBRIDGE_ASSIGN_OR_RETURN(code, object_at(f[0], "code", path));
  if (!code) return Status::Invalid(child(path, "code"), "is required");
  {
    std::vector<icure::CodeStub> codes;
    Status read = append_code_stubs(code, kRelative, ctx, codes);
    if (!read.ok()) return rebase(read, [&] { return child(path, "code"); });
    if (!codes.empty()) s.codes = std::move(codes);
  }
  FHIRBRIDGE_ASSIGN_OR_RETURN_AT(code_text, child(path, "code"),
                                 get_string(*code, "text", kRelative));
  s.label = std::move(code_text);

  // The Content is built in place in s.content[lang] (a Content is costly to
  // move) and taken out again when the resource has no value. (On an error
  // the caller drops the whole Service.)
  const bool had_contents = s.content.has_value();
  auto& contents = had_contents ? *s.content : s.content.emplace();
  const auto [slot, inserted] = contents.try_emplace(lang);
  icure::Content replacement;  // (a Content already there is replaced whole, if at all)
  icure::Content& content = inserted ? slot->second : replacement;
  bool has_content = false;
  FHIRBRIDGE_ASSIGN_OR_RETURN(quantity, object_at(f[1], "valueQuantity", path));
  if (quantity) {
    Status read = read_quantity(*quantity, kRelative, content.measureValue.emplace());
    if (!read.ok()) return rebase(read, [&] { return child(path, "valueQuantity"); });
    has_content = true;
  }
  FHIRBRIDGE_ASSIGN_OR_RETURN(str, string_at(f[2], "valueString", path));
  if (str) content.stringValue = std::move(str), has_content = true;
  FHIRBRIDGE_ASSIGN_OR_RETURN(boolean, bool_at(f[3], "valueBoolean", path));
  if (boolean) content.booleanValue = boolean, has_content = true;
  FHIRBRIDGE_ASSIGN_OR_RETURN(integer, integer_at(f[4], "valueInteger", path));
  if (integer) content.numberValue = static_cast<double>(*integer), has_content = true;
  FHIRBRIDGE_ASSIGN_OR_RETURN(date_time, string_view_at(f[5], "valueDateTime", path));
  if (date_time) {
    FHIRBRIDGE_ASSIGN_OR_RETURN(v, icure_date_time(*date_time, child(path, "valueDateTime")));
    content.fuzzyDateValue = v;
    has_content = true;
  }
  FHIRBRIDGE_ASSIGN_OR_RETURN(range, object_at(f[6], "valueRange", path));
  if (range) {
    FHIRBRIDGE_ASSIGN_OR_RETURN(m, range_to_measure(*range, child(path, "valueRange")));
    content.range = std::vector<icure::Measure>{std::move(m)};
    has_content = true;
  }
  FHIRBRIDGE_ASSIGN_OR_RETURN(ratio, object_at(f[7], "valueRatio", path));
  if (ratio) {
    const std::string rpath = child(path, "valueRatio");
    FHIRBRIDGE_ASSIGN_OR_RETURN(num, get_object(*ratio, "numerator", rpath));
    FHIRBRIDGE_ASSIGN_OR_RETURN(den, get_object(*ratio, "denominator", rpath));
    std::vector<icure::Measure> parts;
    for (auto [q, name] : {std::pair{num, "numerator"}, std::pair{den, "denominator"}}) {
      icure::Measure m;
      if (q) {
        FHIRBRIDGE_ASSIGN_OR_RETURN(qm, quantity_to_measure(*q, child(rpath, name)));
        m = std::move(qm);
      }
      parts.push_back(std::move(m));
    }
    content.ratio = std::move(parts);
    has_content = true;
  }
  FHIRBRIDGE_ASSIGN_OR_RETURN(value_cc, object_at(f[8], "valueCodeableConcept", path));
  if (value_cc) {
    std::vector<icure::CodeStub> none;
    std::vector<icure::CodeStub>& tags = s.tags ? *s.tags : none;
    Status read = append_code_stubs(value_cc, kRelative, ctx, tags, kValueContext);
    if (!read.ok()) return rebase(read, [&] { return child(path, "valueCodeableConcept"); });
    if (!s.tags && !none.empty()) s.tags = std::move(none);
  }

  // interpretation and referenceRange belong to the measure (iCure has no
  // home for them without one: then they stay in the residual).
  if (content.measureValue) {
    icure::Measure& m = *content.measureValue;
    FHIRBRIDGE_ASSIGN_OR_RETURN(interpretations, objects_at(f[9], "interpretation", path));
    if (!interpretations.empty()) {
      FHIRBRIDGE_ASSIGN_OR_RETURN(stubs,
                                  codeable_concept_to_code_stubs(interpretations.front(),
                                                                 path + ".interpretation[0]", ctx));
      if (!stubs.empty()) m.severityCode = stubs.front().code;
    }
    FHIRBRIDGE_ASSIGN_OR_RETURN(ranges, objects_at(f[10], "referenceRange", path));
    if (!ranges.empty()) {
      FHIRBRIDGE_ASSIGN_OR_RETURN(r,
                                  range_to_measure(*ranges.front(), path + ".referenceRange[0]"));
      m.min = r.min;
      m.max = r.max;
    }
  }
  if (!inserted) {
    if (has_content) slot->second = std::move(replacement);
  } else if (!has_content) {
    contents.erase(slot);
    if (!had_contents) s.content.reset();
  }
  return {};
}

// Both build in out's storage.
void code_to_fhir(const icure::Service& s, json::object& out, const MappingContext& ctx) {
  const json::storage_ptr& sp = out.storage();
  json::object code(sp);
  json::array codings(sp);
  if (s.codes)
    for (const auto& c : *s.codes) codings.push_back(code_stub_to_coding(c, ctx, sp));
  if (!codings.empty()) code["coding"] = std::move(codings);
  if (s.label) code["text"] = *s.label;
  if (code.empty()) code["text"] = "unknown";  // FHIR requires a code
  out["code"] = std::move(code);
}

void value_to_fhir(const icure::Service& s, json::object& out, const MappingContext& ctx) {
  const json::storage_ptr& sp = out.storage();
  const icure::Content* content = nullptr;
  if (s.content) {
    auto it = s.content->find(ctx.settings.content_language);
    if (it != s.content->end()) content = &it->second;
  }
  const icure::Measure* measure = nullptr;
  if (content) {
    if (content->measureValue) {
      measure = &*content->measureValue;
      out["valueQuantity"] = measure_to_quantity(*measure, measure->value, sp);
    }
    if (content->stringValue) out["valueString"] = *content->stringValue;
    if (content->booleanValue) out["valueBoolean"] = *content->booleanValue;
    if (content->numberValue) {
      double v = *content->numberValue;
      if (v == std::trunc(v) && std::fabs(v) < 2147483648.0)
        out["valueInteger"] = static_cast<std::int64_t>(v);
      else if (!out.contains("valueQuantity"))
        out["valueQuantity"] = json::object{{"value", v}};
    }
    if (content->fuzzyDateValue)
      if (auto d = fhir_date_time(*content->fuzzyDateValue)) out["valueDateTime"] = *d;
    if (content->instantValue && !out.contains("valueDateTime"))
      out["valueDateTime"] = fhir_instant(*content->instantValue);
    if (content->range && !content->range->empty())
      out["valueRange"] = measure_to_range(content->range->front(), sp);
    if (content->ratio && content->ratio->size() == 2) {
      json::object ratio;
      const auto& r = *content->ratio;
      if (r[0].value || r[0].unit) ratio["numerator"] = measure_to_quantity(r[0], r[0].value);
      if (r[1].value || r[1].unit) ratio["denominator"] = measure_to_quantity(r[1], r[1].value);
      out["valueRatio"] = std::move(ratio);
    }
  }
  json::array value_codings(sp);
  if (s.tags)
    for (const auto& t : *s.tags)
      if (t.context == kValueContext) value_codings.push_back(code_stub_to_coding(t, ctx, sp));
  if (!value_codings.empty())
    out["valueCodeableConcept"] = json::object{{"coding", std::move(value_codings)}};
  if (measure && measure->severityCode) {
    json::object coding{{"system", kInterpretationSystem}, {"code", *measure->severityCode}};
    out["interpretation"] = json::array{json::object{{"coding", json::array{std::move(coding)}}}};
  }
  if (measure && (measure->min || measure->max))
    out["referenceRange"] = json::array({measure_to_range(*measure, sp)}, sp);
}

// The iCure fields as FHIR, without the residual.
json::object observation_fields_to_fhir(const icure::Contact& contact, const icure::Service& s,
                                        const std::optional<std::string>& patient_id,
                                        const MappingContext& ctx, json::storage_ptr sp = {}) {
  json::object out(sp);
  out["resourceType"] = "Observation";
  if (contact.id) out["id"] = *contact.id;
  json::object meta(sp);
  if (contact.rev) meta["versionId"] = version_id(*contact.rev);
  if (contact.modified) meta["lastUpdated"] = fhir_instant(*contact.modified);
  json::array meta_tags(sp), categories(sp);
  std::optional<std::string> status;
  if (s.tags)
    for (const auto& t : *s.tags) {
      if (t.type == kObservationStatusTagType && t.code) {
        status = t.code;
      } else if (t.context == kMetaTagContext) {
        meta_tags.push_back(code_stub_to_coding(t, ctx, sp));
      } else if (t.context == kCategoryContext) {
        json::array coding(sp);
        coding.push_back(code_stub_to_coding(t, ctx, sp));
        json::object category(sp);
        category["coding"] = std::move(coding);
        categories.push_back(std::move(category));
      }
    }
  if (!meta_tags.empty()) meta["tag"] = std::move(meta_tags);
  if (!meta.empty()) out["meta"] = std::move(meta);
  if (s.identifier) {
    json::array ids(sp);
    for (const auto& id : *s.identifier)
      if (id.system != ctx.settings.fhir_id_system) ids.push_back(identifier_to_fhir(id, ctx, sp));
    if (!ids.empty()) out["identifier"] = std::move(ids);
  }
  out["status"] = status.value_or("final");  // required; an iCure service is final
  if (!categories.empty()) out["category"] = std::move(categories);
  code_to_fhir(s, out, ctx);
  if (patient_id) out["subject"] = json::object{{"reference", "Patient/" + *patient_id}};
  if (s.valueDate) {
    if (auto d = fhir_date_time(*s.valueDate)) out["effectiveDateTime"] = *d;
  } else if (s.openingDate || s.closingDate) {
    json::object period(sp);
    if (s.openingDate)
      if (auto d = fhir_date_time(*s.openingDate)) period["start"] = *d;
    if (s.closingDate)
      if (auto d = fhir_date_time(*s.closingDate)) period["end"] = *d;
    out["effectivePeriod"] = std::move(period);
  } else if (contact.openingDate) {  // an iCure service dated by its contact only
    if (auto d = fhir_date_time(*contact.openingDate)) out["effectiveDateTime"] = *d;
  }
  if (s.created) out["issued"] = fhir_instant(*s.created);
  value_to_fhir(s, out, ctx);
  if (s.comment) out["note"] = json::array{json::object{{"text", *s.comment}}};
  const icure::Content* content = nullptr;
  if (s.content) {
    auto it = s.content->find(ctx.settings.content_language);
    if (it != s.content->end()) content = &it->second;
  }
  if (content && content->compoundValue && !content->compoundValue->empty()) {
    json::array components(sp);
    for (const auto& part : *content->compoundValue) {
      json::object component(sp);
      code_to_fhir(part, component, ctx);
      value_to_fhir(part, component, ctx);
      components.push_back(std::move(component));
    }
    out["component"] = std::move(components);
  }
  return out;
}

// ---- the residual's fast path (datatypes.hpp) ----------------------------------

const icure::Content* language_content(const icure::Service& s, const MappingContext& ctx) {
  if (!s.content) return nullptr;
  auto it = s.content->find(ctx.settings.content_language);
  return it == s.content->end() ? nullptr : &it->second;
}

// code and value[x] of an Observation or component `o` are what code_to_fhir
// and value_to_fhir write for `s`. The other keys are the caller's.
bool coded_value_round_trips(const json::object& o, const icure::Service& s,
                             const MappingContext& ctx) {
  static constexpr std::string_view code_key[] = {"code"};
  const json::value* code = lookup(o, code_key)[0];
  if (!code || !code->is_object()) return false;
  const json::object& cc = code->get_object();
  static constexpr std::string_view code_keys[] = {"coding", "text"};
  const auto f = lookup(cc, code_keys);
  if (cc.empty() || (f[0] != nullptr) + (f[1] != nullptr) != static_cast<int>(cc.size()))
    return false;  // other keys, or nulls
  if (f[0] && !codings_round_trip(*f[0])) return false;
  if (f[1] && !f[1]->is_string()) return false;

  const icure::Content* content = language_content(s, ctx);
  int values = 0;
  for (const auto& kv : o) {
    const std::string_view key = kv.key();
    if (!is_value_key(key)) continue;
    if (++values > 1) return false;  // several value[x]: not worth proving
    const json::value& v = kv.value();
    if (key_is(key, "valueQuantity")) {
      if (!quantity_round_trips(v)) return false;
    } else if (key_is(key, "valueString")) {
      if (!v.is_string()) return false;
    } else if (key_is(key, "valueBoolean")) {
      if (!v.is_bool()) return false;
    } else if (key_is(key, "valueInteger")) {
      if (!v.is_int64() || v.get_int64() >= 2147483648LL || v.get_int64() <= -2147483648LL)
        return false;
    } else if (key_is(key, "valueDateTime")) {
      if (!v.is_string() || !content || !content->fuzzyDateValue) return false;
      if (!fhir_date_time_is(*content->fuzzyDateValue, v.get_string())) return false;
    } else if (key_is(key, "valueCodeableConcept")) {
      if (!v.is_object() || !only_keys(v.get_object(), {"coding"})) return false;
      const json::value* coding = v.get_object().if_contains("coding");
      if (!coding || !codings_round_trip(*coding, kObservationStatusTagType)) return false;
    } else {
      return false;
    }
  }
  return true;
}

// Whether the residual of `o`, mapped to contact `c` and service `s`, is null.
bool observation_round_trips(const json::object& o, const icure::Contact& c,
                             const icure::Service& s, const MappingContext& ctx) {
  const std::string_view reserved = kObservationStatusTagType;
  for (const auto& kv : o) {
    const std::string_view key = kv.key();
    const json::value& v = kv.value();
    if (key_is(key, "resourceType") || key_is(key, "id") || key_is(key, "status") ||
        key_is(key, "code") || is_value_key(key)) {
      continue;  // checked by the mapping, or below
    } else if (key_is(key, "meta")) {
      if (!meta_round_trips(v, reserved)) return false;
    } else if (key_is(key, "identifier")) {
      if (!v.is_array() || v.get_array().empty()) return false;
      for (const auto& id : v.get_array())
        if (!identifier_round_trips(id, ctx)) return false;
    } else if (key_is(key, "category")) {
      if (!v.is_array() || v.get_array().empty()) return false;
      for (const auto& category : v.get_array()) {
        if (!category.is_object() || !only_keys(category.get_object(), {"coding"})) return false;
        const json::value* coding = category.get_object().if_contains("coding");
        if (!coding || !coding->is_array() || coding->get_array().size() != 1 ||
            !coding_round_trips(coding->get_array()[0], reserved))
          return false;
      }
    } else if (key_is(key, "subject")) {
      if (!v.is_object() || !only_keys(v.get_object(), {"reference"})) return false;
    } else if (key_is(key, "effectiveDateTime")) {
      if (!v.is_string() || !s.valueDate) return false;
      if (!fhir_date_time_is(*s.valueDate, v.get_string())) return false;
    } else if (key_is(key, "issued")) {
      if (!v.is_string() || !s.created || fhir_instant(*s.created) != v.get_string()) return false;
    } else if (key_is(key, "note")) {
      if (!v.is_array() || v.get_array().size() != 1) return false;
      const json::value& note = v.get_array()[0];
      if (!note.is_object() || !only_keys(note.get_object(), {"text"})) return false;
      const json::value* text = note.get_object().if_contains("text");
      if (!text || !text->is_string()) return false;
    } else if (key_is(key, "component")) {
      const icure::Content* content = language_content(s, ctx);
      if (!v.is_array() || !content || !content->compoundValue ||
          content->compoundValue->size() != v.get_array().size() || v.get_array().empty())
        return false;
      for (std::size_t i = 0; i < v.get_array().size(); ++i) {
        const json::value& component = v.get_array()[i];
        if (!component.is_object()) return false;
        for (const auto& ckv : component.get_object())
          if (!key_is(ckv.key(), "code") && !is_value_key(ckv.key())) return false;
        if (!coded_value_round_trips(component.get_object(), (*content->compoundValue)[i], ctx))
          return false;
      }
    } else {
      return false;  // interpretation, referenceRange, text, extension...: the full way
    }
  }
  (void)c;
  return coded_value_round_trips(o, s, ctx);
}

}  // namespace

static Result<MappedObservation> observation_to_icure(const json::value& fhir,
                                                      const MappingContext& ctx) {
  if (!fhir.is_object()) return wrong_type(kPath, "a JSON object", fhir);
  const json::object& o = fhir.get_object();
  static constexpr std::string_view keys[] = {
      "resourceType", "id",      "identifier",        "status",           "category",
      "meta",         "subject", "effectiveDateTime", "effectiveInstant", "effectivePeriod",
      "issued",       "note",    "component"};
  const auto f = lookup(o, keys);
  FHIRBRIDGE_ASSIGN_OR_RETURN(resource_type, string_at(f[0], "resourceType", kPath));
  if (resource_type != "Observation")
    return Status::Invalid(
        kPath + ".resourceType",
        resource_type ? "expected 'Observation', got '" + *resource_type + "'" : "is required");
  FHIRBRIDGE_ASSIGN_OR_RETURN(fhir_id, string_at(f[1], "id", kPath));
  if (fhir_id && !valid_fhir_id(*fhir_id))
    return Status::Invalid(kPath + ".id", quoted(*fhir_id) + " is not a FHIR id");

  MappedObservation mapped;
  icure::Contact& c = mapped.contact;
  c.id = ctx.new_id();
  c._type = icure::kContactType;
  c.created = ctx.now_ms();
  c.modified = c.created;
  icure::Service& s = c.services.emplace().emplace_back();  // built in place
  s.id = ctx.new_id();
  s._type = icure::kServiceType;
  s.contactId = c.id;
  s.modified = c.created;

  // identifier (+ the FHIR id, kept as an identifier of settings.fhir_id_system)
  FHIRBRIDGE_ASSIGN_OR_RETURN(identifiers, objects_at(f[2], "identifier", kPath));
  std::vector<icure::Identifier> ids;
  ids.reserve(identifiers.size() + 1);
  for (std::size_t i = 0; i < identifiers.size(); ++i) {
    FHIRBRIDGE_ASSIGN_OR_RETURN_AT(id, item(kPath + ".identifier", i),
                                   identifier_to_icure(*identifiers[i], kRelative, ctx));
    ids.push_back(std::move(id));
  }
  if (fhir_id) {
    icure::Identifier id;
    id.system = ctx.settings.fhir_id_system;
    id.value = *fhir_id;
    ids.push_back(std::move(id));
  }
  if (!ids.empty()) s.identifier = std::move(ids);

  // status, category, meta.tag -> Service.tags
  FHIRBRIDGE_ASSIGN_OR_RETURN(status, string_at(f[3], "status", kPath));
  if (!status) return Status::Invalid(kPath + ".status", "is required");
  if (!is_observation_status(*status))
    return Status::Invalid(kPath + ".status", quoted(*status) + " is not an observation status");
  FHIRBRIDGE_ASSIGN_OR_RETURN(categories, objects_at(f[4], "category", kPath));
  {
    // Room for every tag up front (a CodeStub is costly to move when the vector
    // grows); only counted here, checked below in the usual order.
    auto array_size = [](const json::object& o, std::string_view key) -> std::size_t {
      const json::value* v = o.if_contains(key);
      return v && v->is_array() ? v->get_array().size() : 0;
    };
    std::size_t tag_count = 1;
    for (std::size_t i = 0; i < categories.size(); ++i)
      tag_count += array_size(*categories[i], "coding");
    if (f[5] && f[5]->is_object()) tag_count += array_size(f[5]->get_object(), "tag");
    auto& tags = s.tags.emplace();
    tags.reserve(tag_count);
    icure::CodeStub& tag = tags.emplace_back();
    tag.type = kObservationStatusTagType;
    tag.code = std::move(*status);
    tag.id = code_stub_id(tag);
  }
  for (std::size_t i = 0; i < categories.size(); ++i) {
    Status read = append_code_stubs(categories[i], kRelative, ctx, *s.tags, kCategoryContext);
    if (!read.ok()) return rebase(read, [&] { return item(kPath + ".category", i); });
  }
  FHIRBRIDGE_ASSIGN_OR_RETURN(meta, object_at(f[5], "meta", kPath));
  if (meta) {
    FHIRBRIDGE_ASSIGN_OR_RETURN(tags, get_objects(*meta, "tag", kPath + ".meta"));
    for (std::size_t i = 0; i < tags.size(); ++i) {
      icure::CodeStub& stub = s.tags->emplace_back();
      Status read = read_coding(*tags[i], kRelative, ctx, stub);
      if (!read.ok()) return rebase(read, [&] { return item(kPath + ".meta.tag", i); });
      stub.context = kMetaTagContext;
    }
  }

  // subject: reported verbatim, resolved by the caller
  FHIRBRIDGE_ASSIGN_OR_RETURN(subject, object_at(f[6], "subject", kPath));
  if (subject) {
    FHIRBRIDGE_ASSIGN_OR_RETURN_AT(ref, kPath + ".subject",
                                   get_string(*subject, "reference", kRelative));
    mapped.subject_reference = std::move(ref);
  }

  // effective[x]
  FHIRBRIDGE_ASSIGN_OR_RETURN(effective_dt, string_view_at(f[7], "effectiveDateTime", kPath));
  FHIRBRIDGE_ASSIGN_OR_RETURN(effective_instant, string_view_at(f[8], "effectiveInstant", kPath));
  FHIRBRIDGE_ASSIGN_OR_RETURN(effective_period, object_at(f[9], "effectivePeriod", kPath));
  if (effective_dt || effective_instant) {
    const bool dt = effective_dt.has_value();
    FHIRBRIDGE_ASSIGN_OR_RETURN_AT(
        v, kPath + (dt ? ".effectiveDateTime" : ".effectiveInstant"),
        icure_date_time(dt ? *effective_dt : *effective_instant, kRelative));
    s.valueDate = v;
    c.openingDate = v;
  } else if (effective_period) {
    const std::string ppath = kPath + ".effectivePeriod";
    FHIRBRIDGE_ASSIGN_OR_RETURN(start, get_string(*effective_period, "start", ppath));
    FHIRBRIDGE_ASSIGN_OR_RETURN(end, get_string(*effective_period, "end", ppath));
    if (start) {
      FHIRBRIDGE_ASSIGN_OR_RETURN(v, icure_date_time(*start, ppath + ".start"));
      s.openingDate = c.openingDate = v;
    }
    if (end) {
      FHIRBRIDGE_ASSIGN_OR_RETURN(v, icure_date_time(*end, ppath + ".end"));
      s.closingDate = c.closingDate = v;
    }
  }
  FHIRBRIDGE_ASSIGN_OR_RETURN(issued, string_view_at(f[10], "issued", kPath));
  if (issued) {
    FHIRBRIDGE_ASSIGN_OR_RETURN_AT(v, kPath + ".issued", epoch_ms(*issued, kRelative));
    s.created = v;
  }

  FHIRBRIDGE_RETURN_IF_ERROR(map_coded_value(o, kPath, s, ctx));

  FHIRBRIDGE_ASSIGN_OR_RETURN(notes, objects_at(f[11], "note", kPath));
  if (!notes.empty()) {
    FHIRBRIDGE_ASSIGN_OR_RETURN_AT(text, kPath + ".note[0]",
                                   get_string(*notes.front(), "text", kRelative));
    s.comment = std::move(text);
  }

  FHIRBRIDGE_ASSIGN_OR_RETURN(components, objects_at(f[12], "component", kPath));
  if (!components.empty()) {
    std::vector<icure::Service> parts;
    parts.reserve(components.size());
    for (std::size_t i = 0; i < components.size(); ++i) {
      icure::Service& part = parts.emplace_back();
      part.id = ctx.new_id();
      part._type = icure::kServiceType;
      Status mapped_part = map_coded_value(*components[i], kRelative, part, ctx);
      if (!mapped_part.ok())
        return rebase(mapped_part, [&] { return item(kPath + ".component", i); });
    }
    if (!s.content) s.content.emplace();
    (*s.content)[ctx.settings.content_language].compoundValue = std::move(parts);
  }

  // Whatever the iCure fields do not give back is kept in the residual.
  // The working copy lives in a stack arena: a deep copy into it costs no
  // malloc per node, and freeing it is a no-op (the arena is dropped whole).
  if (!residual_fast_path() || !observation_round_trips(o, c, s, ctx)) {
    unsigned char arena_buffer[16384];
    json::monotonic_resource arena(arena_buffer, sizeof arena_buffer);
    json::object original(o, &arena);
    json::object regenerated = observation_fields_to_fhir(c, s, std::nullopt, ctx, &arena);
    strip_server_fields(original);
    strip_server_fields(regenerated);
    // subject.reference is the caller's to resolve; it comes back as Patient/<iCure id>.
    own_reference(original, regenerated, "subject");
    json::value patch = make_patch(original, regenerated);
    if (!patch.is_null()) set_service_residual(s, patch);
  }

  return mapped;
}

static Result<json::object> observation_to_fhir(const icure::Contact& contact,
                                                const std::optional<std::string>& patient_id,
                                                const MappingContext& ctx) {
  if (!contact.services || contact.services->size() != 1)
    return Status::Invalid("Contact.services",
                           "an Observation is a Contact with exactly one Service");
  const icure::Service& s = contact.services->front();
  json::object out = observation_fields_to_fhir(contact, s, patient_id, ctx);
  FHIRBRIDGE_ASSIGN_OR_RETURN(patch, service_residual(s));
  if (!patch.is_null()) {
    json::value v = std::move(out);
    apply_patch(v, patch);
    if (!v.is_object())
      return Status::Internal(
          "Contact.services[0].content: the FHIR residual is not an object patch");
    out = std::move(v.get_object());
  }
  return out;
}

// The public entry points: a missing id generator/clock or an unexpected
// exception (allocation failure...) becomes an `internal` Status.
Result<MappedObservation> fhir_observation_to_icure(const json::value& fhir,
                                                    const MappingContext& ctx) {
  if (!ctx.new_id || !ctx.now_ms) return Status::Internal("MappingContext has no new_id/now_ms");
  try {
    return observation_to_icure(fhir, ctx);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("Observation mapping failed: ") + e.what());
  }
}

Result<json::object> icure_observation_to_fhir(const icure::Contact& contact,
                                               const std::optional<std::string>& patient_id,
                                               const MappingContext& ctx) {
  try {
    return observation_to_fhir(contact, patient_id, ctx);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("Observation mapping failed: ") + e.what());
  }
}

}  // namespace fhirbridge::mapping
