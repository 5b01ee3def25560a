// FHIR Bundle (transaction / batch) parsing: shape checks only.
#include "fhirbridge/mapping/bundle.hpp"

#include <array>

#include "datatypes.hpp"
#include "fhirbridge/mapping/fhir_dates.hpp"

namespace fhirbridge::mapping {

using namespace detail;

namespace {
constexpr std::array<std::string_view, 6> kMethods{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"};
}

static Result<ParsedBundle> parse(const json::value& bundle) {
  const std::string path = "Bundle";
  if (!bundle.is_object()) return wrong_type(path, "a JSON object", bundle);
  const json::object& o = bundle.get_object();
  FHIRBRIDGE_ASSIGN_OR_RETURN(resource_type, get_string(o, "resourceType", path));
  if (resource_type != "Bundle")
    return Status::Invalid(
        path + ".resourceType",
        resource_type ? "expected 'Bundle', got '" + *resource_type + "'" : "is required");
  FHIRBRIDGE_ASSIGN_OR_RETURN(type, get_string(o, "type", path));
  if (!type) return Status::Invalid(path + ".type", "is required");
  if (*type != "transaction" && *type != "batch")
    return Status(StatusCode::not_supported,
                  quoted(*type) + ": only transaction and batch bundles are processed",
                  path + ".type");
  ParsedBundle out;
  out.type = *type;
  FHIRBRIDGE_ASSIGN_OR_RETURN(entries, get_objects(o, "entry", path));
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const json::object& e = *entries[i];
    const std::string epath = item(path + ".entry", i);
    BundleEntry entry;
    entry.index = i;
    FHIRBRIDGE_ASSIGN_OR_RETURN(full_url, get_string(e, "fullUrl", epath));
    entry.full_url = full_url;
    FHIRBRIDGE_ASSIGN_OR_RETURN(resource, get_object(e, "resource", epath));
    std::optional<std::string> resource_type_of_entry;
    if (resource) {
      entry.resource = *resource;
      FHIRBRIDGE_ASSIGN_OR_RETURN(rt,
                                  get_string(*resource, "resourceType", child(epath, "resource")));
      if (!rt) return Status::Invalid(child(epath, "resource.resourceType"), "is required");
      resource_type_of_entry = rt;
    }
    FHIRBRIDGE_ASSIGN_OR_RETURN(request, get_object(e, "request", epath));
    if (request) {
      const std::string rpath = child(epath, "request");
      FHIRBRIDGE_ASSIGN_OR_RETURN(method, get_string(*request, "method", rpath));
      FHIRBRIDGE_ASSIGN_OR_RETURN(url, get_string(*request, "url", rpath));
      FHIRBRIDGE_ASSIGN_OR_RETURN(if_match, get_string(*request, "ifMatch", rpath));
      FHIRBRIDGE_ASSIGN_OR_RETURN(if_none_exist, get_string(*request, "ifNoneExist", rpath));
      FHIRBRIDGE_ASSIGN_OR_RETURN(if_none_match, get_string(*request, "ifNoneMatch", rpath));
      FHIRBRIDGE_ASSIGN_OR_RETURN(if_modified_since,
                                  get_string(*request, "ifModifiedSince", rpath));
      if (if_modified_since) {
        const std::string path = child(rpath, "ifModifiedSince");
        auto since = parse_fhir_date_time(*if_modified_since, path);
        if (!since.ok()) return since.status();
        if (since->precision < DatePrecision::second || !since->tz_offset_minutes)
          return Status::Invalid(
              path, quoted(*if_modified_since) + " is not an instant (date, time and zone)");
      }
      if (!method) return Status::Invalid(child(rpath, "method"), "is required");
      bool known = false;
      for (auto m : kMethods) known = known || m == *method;
      if (!known)
        return Status::Invalid(child(rpath, "method"), quoted(*method) + " is not an HTTP verb");
      entry.method = *method;
      entry.url = url.value_or("");
      entry.if_match = if_match;
      entry.if_none_exist = if_none_exist;
      entry.if_none_match = if_none_match;
      entry.if_modified_since = if_modified_since;
    } else if (resource) {
      // The tutorial's bundle has no request: a resource alone is a create.
      entry.method = "POST";
      entry.url = *resource_type_of_entry;
    } else {
      return Status::Invalid(epath, "an entry needs a resource or a request");
    }
    if ((entry.method == "POST" || entry.method == "PUT" || entry.method == "PATCH") && !resource)
      return Status::Invalid(child(epath, "resource"), "is required for " + entry.method);
    out.entries.push_back(std::move(entry));
  }
  return out;
}

Result<ParsedBundle> parse_bundle(const json::value& bundle) {
  try {
    return parse(bundle);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("Bundle parsing failed: ") + e.what());
  }
}

}  // namespace fhirbridge::mapping
