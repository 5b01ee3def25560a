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

void add_tags(icure::Service& s, std::vector<icure::CodeStub> stubs, const char* context) {
  if (stubs.empty()) return;
  if (!s.tags) s.tags.emplace();
  for (auto& stub : stubs) {
    stub.context = context;
    s.tags->push_back(std::move(stub));
  }
}

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
  FHIRBRIDGE_ASSIGN_OR_RETURN(code, get_object(o, "code", path));
  if (!code) return Status::Invalid(child(path, "code"), "is required");
  FHIRBRIDGE_ASSIGN_OR_RETURN(codes,
                              codeable_concept_to_code_stubs(code, child(path, "code"), ctx));
  if (!codes.empty()) s.codes = std::move(codes);
  FHIRBRIDGE_ASSIGN_OR_RETURN(code_text, get_string(*code, "text", child(path, "code")));
  s.label = code_text;

  icure::Content content;
  bool has_content = false;
  FHIRBRIDGE_ASSIGN_OR_RETURN(quantity, get_object(o, "valueQuantity", path));
  if (quantity) {
    FHIRBRIDGE_ASSIGN_OR_RETURN(m, quantity_to_measure(*quantity, child(path, "valueQuantity")));
    content.measureValue = std::move(m);
    has_content = true;
  }
  FHIRBRIDGE_ASSIGN_OR_RETURN(str, get_string(o, "valueString", path));
  if (str) content.stringValue = str, has_content = true;
  FHIRBRIDGE_ASSIGN_OR_RETURN(boolean, get_bool(o, "valueBoolean", path));
  if (boolean) content.booleanValue = boolean, has_content = true;
  FHIRBRIDGE_ASSIGN_OR_RETURN(integer, get_integer(o, "valueInteger", path));
  if (integer) content.numberValue = static_cast<double>(*integer), has_content = true;
  FHIRBRIDGE_ASSIGN_OR_RETURN(date_time, get_string(o, "valueDateTime", path));
  if (date_time) {
    FHIRBRIDGE_ASSIGN_OR_RETURN(v, icure_date_time(*date_time, child(path, "valueDateTime")));
    content.fuzzyDateValue = v;
    has_content = true;
  }
  FHIRBRIDGE_ASSIGN_OR_RETURN(range, get_object(o, "valueRange", path));
  if (range) {
    FHIRBRIDGE_ASSIGN_OR_RETURN(m, range_to_measure(*range, child(path, "valueRange")));
    content.range = std::vector<icure::Measure>{std::move(m)};
    has_content = true;
  }
  FHIRBRIDGE_ASSIGN_OR_RETURN(ratio, get_object(o, "valueRatio", path));
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
  FHIRBRIDGE_ASSIGN_OR_RETURN(value_cc, get_object(o, "valueCodeableConcept", path));
  if (value_cc) {
    FHIRBRIDGE_ASSIGN_OR_RETURN(
        stubs, codeable_concept_to_code_stubs(value_cc, child(path, "valueCodeableConcept"), ctx));
    add_tags(s, std::move(stubs), kValueContext);
  }

  // interpretation and referenceRange belong to the measure (iCure has no
  // home for them without one: then they stay in the residual).
  if (content.measureValue) {
    icure::Measure& m = *content.measureValue;
    FHIRBRIDGE_ASSIGN_OR_RETURN(interpretations, get_objects(o, "interpretation", path));
    if (!interpretations.empty()) {
      FHIRBRIDGE_ASSIGN_OR_RETURN(stubs,
                                  codeable_concept_to_code_stubs(interpretations.front(),
                                                                 path + ".interpretation[0]", ctx));
      if (!stubs.empty()) m.severityCode = stubs.front().code;
    }
    FHIRBRIDGE_ASSIGN_OR_RETURN(ranges, get_objects(o, "referenceRange", path));
    if (!ranges.empty()) {
      FHIRBRIDGE_ASSIGN_OR_RETURN(r,
                                  range_to_measure(*ranges.front(), path + ".referenceRange[0]"));
      m.min = r.min;
      m.max = r.max;
    }
  }
  if (has_content) {
    if (!s.content) s.content.emplace();
    (*s.content)[lang] = std::move(content);
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

}  // namespace

static Result<MappedObservation> observation_to_icure(const json::value& fhir,
                                                      const MappingContext& ctx) {
  if (!fhir.is_object()) return wrong_type(kPath, "a JSON object", fhir);
  const json::object& o = fhir.get_object();
  FHIRBRIDGE_ASSIGN_OR_RETURN(resource_type, get_string(o, "resourceType", kPath));
  if (resource_type != "Observation")
    return Status::Invalid(
        kPath + ".resourceType",
        resource_type ? "expected 'Observation', got '" + *resource_type + "'" : "is required");
  FHIRBRIDGE_ASSIGN_OR_RETURN(fhir_id, get_string(o, "id", kPath));
  if (fhir_id && !valid_fhir_id(*fhir_id))
    return Status::Invalid(kPath + ".id", quoted(*fhir_id) + " is not a FHIR id");

  MappedObservation mapped;
  icure::Contact& c = mapped.contact;
  c.id = ctx.new_id();
  c._type = icure::kContactType;
  c.created = ctx.now_ms();
  c.modified = c.created;
  icure::Service s;
  s.id = ctx.new_id();
  s._type = icure::kServiceType;
  s.contactId = c.id;
  s.modified = c.created;

  // identifier (+ the FHIR id, kept as an identifier of settings.fhir_id_system)
  FHIRBRIDGE_ASSIGN_OR_RETURN(identifiers, get_objects(o, "identifier", kPath));
  std::vector<icure::Identifier> ids;
  for (std::size_t i = 0; i < identifiers.size(); ++i) {
    FHIRBRIDGE_ASSIGN_OR_RETURN(
        id, identifier_to_icure(*identifiers[i], item(kPath + ".identifier", i), ctx));
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
  FHIRBRIDGE_ASSIGN_OR_RETURN(status, get_string(o, "status", kPath));
  if (!status) return Status::Invalid(kPath + ".status", "is required");
  if (!is_observation_status(*status))
    return Status::Invalid(kPath + ".status", quoted(*status) + " is not an observation status");
  {
    icure::CodeStub tag;
    tag.type = kObservationStatusTagType;
    tag.code = *status;
    tag.id = code_stub_id(tag);
    s.tags = std::vector<icure::CodeStub>{std::move(tag)};
  }
  FHIRBRIDGE_ASSIGN_OR_RETURN(categories, get_objects(o, "category", kPath));
  for (std::size_t i = 0; i < categories.size(); ++i) {
    FHIRBRIDGE_ASSIGN_OR_RETURN(
        stubs, codeable_concept_to_code_stubs(categories[i], item(kPath + ".category", i), ctx));
    add_tags(s, std::move(stubs), kCategoryContext);
  }
  FHIRBRIDGE_ASSIGN_OR_RETURN(meta, get_object(o, "meta", kPath));
  if (meta) {
    FHIRBRIDGE_ASSIGN_OR_RETURN(tags, get_objects(*meta, "tag", kPath + ".meta"));
    std::vector<icure::CodeStub> stubs;
    for (std::size_t i = 0; i < tags.size(); ++i) {
      FHIRBRIDGE_ASSIGN_OR_RETURN(stub,
                                  coding_to_code_stub(*tags[i], item(kPath + ".meta.tag", i), ctx));
      stubs.push_back(std::move(stub));
    }
    add_tags(s, std::move(stubs), kMetaTagContext);
  }

  // subject: reported verbatim, resolved by the caller
  FHIRBRIDGE_ASSIGN_OR_RETURN(subject, get_object(o, "subject", kPath));
  if (subject) {
    FHIRBRIDGE_ASSIGN_OR_RETURN(ref, get_string(*subject, "reference", kPath + ".subject"));
    mapped.subject_reference = ref;
  }

  // effective[x]
  FHIRBRIDGE_ASSIGN_OR_RETURN(effective_dt, get_string(o, "effectiveDateTime", kPath));
  FHIRBRIDGE_ASSIGN_OR_RETURN(effective_instant, get_string(o, "effectiveInstant", kPath));
  FHIRBRIDGE_ASSIGN_OR_RETURN(effective_period, get_object(o, "effectivePeriod", kPath));
  if (effective_dt || effective_instant) {
    const bool dt = effective_dt.has_value();
    FHIRBRIDGE_ASSIGN_OR_RETURN(
        v, icure_date_time(dt ? *effective_dt : *effective_instant,
                           kPath + (dt ? ".effectiveDateTime" : ".effectiveInstant")));
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
  FHIRBRIDGE_ASSIGN_OR_RETURN(issued, get_string(o, "issued", kPath));
  if (issued) {
    FHIRBRIDGE_ASSIGN_OR_RETURN(v, epoch_ms(*issued, kPath + ".issued"));
    s.created = v;
  }

  FHIRBRIDGE_RETURN_IF_ERROR(map_coded_value(o, kPath, s, ctx));

  FHIRBRIDGE_ASSIGN_OR_RETURN(notes, get_objects(o, "note", kPath));
  if (!notes.empty()) {
    FHIRBRIDGE_ASSIGN_OR_RETURN(text, get_string(*notes.front(), "text", kPath + ".note[0]"));
    s.comment = text;
  }

  FHIRBRIDGE_ASSIGN_OR_RETURN(components, get_objects(o, "component", kPath));
  if (!components.empty()) {
    std::vector<icure::Service> parts;
    for (std::size_t i = 0; i < components.size(); ++i) {
      icure::Service part;
      part.id = ctx.new_id();
      part._type = icure::kServiceType;
      FHIRBRIDGE_RETURN_IF_ERROR(
          map_coded_value(*components[i], item(kPath + ".component", i), part, ctx));
      parts.push_back(std::move(part));
    }
    if (!s.content) s.content.emplace();
    (*s.content)[ctx.settings.content_language].compoundValue = std::move(parts);
  }

  // Whatever the iCure fields do not give back is kept in the residual.
  // The working copy lives in a stack arena: a deep copy into it costs no
  // malloc per node, and freeing it is a no-op (the arena is dropped whole).
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

  c.services.emplace();  // (an initializer list would copy the service)
  c.services->push_back(std::move(s));
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
