// <Type>/$validate and <Type>/{id}/$validate (FHIR R4 OperationDefinition
// Resource-validate): would the server accept this resource, generally or as
// a create, an update or a delete? Runs the same preparation as those
// interactions (the mapping, id and reference checks) and stores nothing.
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "fhir_api.hpp"
#include "fhirbridge/mapping/observation.hpp"
#include "fhirbridge/mapping/patient.hpp"
#include "fhirbridge/server/operation_outcome.hpp"

namespace fhirbridge::server::detail {

namespace json = boost::json;

namespace {

enum class ValidateMode { general, create, update, remove };

struct ValidateRequest {
  json::value resource;  // null when none was sent (mode delete needs none)
  ValidateMode mode = ValidateMode::general;
};

Result<ValidateMode> mode_of(const std::string& code) {
  if (code == "create") return ValidateMode::create;
  if (code == "update") return ValidateMode::update;
  if (code == "delete") return ValidateMode::remove;
  return Status::Invalid("mode", "mode '" + code + "' is not create, update or delete");
}

// Only a profile we validate against anyway: the core definition of the type.
Status check_profile(const std::string& type, const std::string& profile) {
  if (profile == "http://hl7.org/fhir/StructureDefinition/" + type) return {};
  return Status(
      StatusCode::not_supported,
      "cannot validate against profile '" + profile + "' (only the core " + type + " definition)",
      "profile");
}

// The body is the resource itself, or a Parameters with `resource`, `mode`
// and `profile`; the query may carry `mode` and `profile` too.
Result<ValidateRequest> validate_request(const std::string& type, const FhirCall& call) {
  ValidateRequest out;
  std::optional<std::string> mode, profile;
  for (const auto& p : call.params) {
    if (p.name == "mode") mode = p.value;
    if (p.name == "profile") profile = p.value;
  }
  const json::object* body = call.body.if_object();
  const json::value* body_type = body ? body->if_contains("resourceType") : nullptr;
  if (body_type && body_type->is_string() && body_type->get_string() == "Parameters") {
    const json::value* list = body->if_contains("parameter");
    if (list && !list->is_array())
      return Status::Invalid("Parameters.parameter", "an array is required");
    const std::size_t n = list ? list->get_array().size() : 0;
    for (std::size_t i = 0; i < n; ++i) {
      const std::string path = "Parameters.parameter[" + std::to_string(i) + "]";
      const json::object* p = list->get_array()[i].if_object();
      const json::value* name = p ? p->if_contains("name") : nullptr;
      if (!name || !name->is_string()) return Status::Invalid(path + ".name", "a name is required");
      auto text = [&](const char* key) -> std::optional<std::string> {
        const json::value* v = p->if_contains(key);
        if (v && v->is_string()) return std::string(v->get_string());
        return std::nullopt;
      };
      if (name->get_string() == "resource") {
        const json::value* resource = p->if_contains("resource");
        if (!resource) return Status::Invalid(path + ".resource", "a resource is required");
        out.resource = *resource;
      } else if (name->get_string() == "mode") {
        mode = text("valueCode");
        if (!mode) return Status::Invalid(path + ".valueCode", "a code is required");
      } else if (name->get_string() == "profile") {
        profile = text("valueCanonical");
        if (!profile) profile = text("valueUri");
        if (!profile) return Status::Invalid(path + ".valueCanonical", "a canonical is required");
      }  // usageContext and unknown parameters do not change what we check
    }
  } else {
    out.resource = call.body;
  }
  if (mode) {
    auto parsed = mode_of(*mode);
    if (!parsed.ok()) return parsed.status();
    out.mode = *parsed;
  }
  if (profile) FHIRBRIDGE_RETURN_IF_ERROR(check_profile(type, *profile));
  if (out.resource.is_null() && out.mode != ValidateMode::remove)
    return Status(StatusCode::structure, "a " + type + " resource is required to validate",
                  "resource");
  return out;
}

// The checks a POST of the resource runs before it writes.
Status check_create(CallContext& call, const std::string& type, const json::value& resource) {
  if (type == "Patient") return patient_for_create(call.server, call.who, resource).status();
  return observation_for_create(call.server, call.who, resource, nullptr).status();
}

// The checks a PUT to <Type>/{id} runs before it writes (update-as-create included).
Status check_update(CallContext& call, const std::string& type, const std::string& id,
                    const json::value& resource, const std::optional<std::string>& if_match) {
  auto as_create = [&](const Status& lookup) -> Status {
    if (!update_creates(lookup)) return lookup;
    FHIRBRIDGE_RETURN_IF_ERROR(check_update_as_create(resource, type, id, if_match));
    return check_create(call, type, resource);
  };
  if (type == "Patient") {
    auto existing = resolve_patient(call.server, call.who, id);
    if (!existing.ok()) return as_create(existing.status());
    FHIRBRIDGE_RETURN_IF_ERROR(check_if_match(if_match, existing->rev));
    return patient_for_update(call.server, *existing, id, resource).status();
  }
  auto existing = resolve_observation(call.server, call.who, id);
  if (!existing.ok()) return as_create(existing.status());
  FHIRBRIDGE_RETURN_IF_ERROR(check_if_match(if_match, existing->contact.rev));
  return observation_for_update(call.server, call.who, *existing, id, resource).status();
}

// A DELETE finds what it deletes; the resource sent, if any, is not looked at.
Status check_delete(CallContext& call, const std::string& type, const std::string& id,
                    const std::optional<std::string>& if_match) {
  if (type == "Patient") {
    auto existing = resolve_patient(call.server, call.who, id);
    if (!existing.ok()) return existing.status();
    return check_if_match(if_match, existing->rev);
  }
  auto existing = resolve_observation(call.server, call.who, id);
  if (!existing.ok()) return existing.status();
  return check_if_match(if_match, existing->contact.rev);
}

// General validation: the content maps (every datatype, code and date the
// mapping reads); ids and references are a create's or an update's concern.
Status check_content(CallContext& call, const std::string& type, const json::value& resource) {
  FHIRBRIDGE_RETURN_IF_ERROR(check_resource_type(resource, type));
  const json::value content = without_server_meta(resource);
  if (type == "Patient")
    return mapping::fhir_patient_to_icure(content, call.server.mapping()).status();
  return mapping::fhir_observation_to_icure(content, call.server.mapping()).status();
}

// What the resource fails on is the operation's answer; only a failure to
// validate at all (credentials, keys, the store) is an HTTP error.
bool is_finding(StatusCode code) {
  switch (code) {
    case StatusCode::invalid:
    case StatusCode::structure:
    case StatusCode::not_found:
    case StatusCode::conflict:
    case StatusCode::version_conflict:
    case StatusCode::deleted:
    case StatusCode::not_supported:
    case StatusCode::too_large:
    case StatusCode::multiple_matches: return true;
    default: return false;
  }
}

const char* mode_name(ValidateMode mode) {
  switch (mode) {
    case ValidateMode::create: return "as a create";
    case ValidateMode::update: return "as an update";
    case ValidateMode::remove: return "as a delete";
    case ValidateMode::general: break;
  }
  return "in general";
}

}  // namespace

Result<FhirAnswer> validate_resource(CallContext& call, const std::string& type,
                                     const std::optional<std::string>& id,
                                     const FhirCall& request) {
  auto wanted = validate_request(type, request);
  if (!wanted.ok()) return wanted.status();
  if ((wanted->mode == ValidateMode::update || wanted->mode == ValidateMode::remove) && !id)
    return Status::Invalid("mode", std::string("validating ") + mode_name(wanted->mode) +
                                       " needs the resource's id: POST " + type +
                                       "/<id>/$validate");
  Status finding;
  switch (wanted->mode) {
    case ValidateMode::general: finding = check_content(call, type, wanted->resource); break;
    case ValidateMode::create: finding = check_create(call, type, wanted->resource); break;
    case ValidateMode::update:
      finding = check_update(call, type, *id, wanted->resource, request.if_match);
      break;
    case ValidateMode::remove: finding = check_delete(call, type, *id, request.if_match); break;
  }
  if (!finding.ok() && !is_finding(finding.code())) return finding;
  FhirAnswer answer;
  answer.body = finding.ok() ? informational_outcome("All OK: the " + type + " would be accepted " +
                                                     mode_name(wanted->mode))
                             : operation_outcome(finding);
  return answer;
}

}  // namespace fhirbridge::server::detail
