// GET /metadata: exactly what this server supports.
#include "fhir_api.hpp"

namespace fhirbridge::server::detail {

namespace json = boost::json;

namespace {
json::array interactions(std::initializer_list<const char*> codes) {
  json::array out;
  for (const char* code : codes) out.push_back(json::object{{"code", code}});
  return out;
}

json::object resource_entry(const char* type, const char* profile, bool read_history) {
  // The one reference searches follow: Observation.subject (docs/search.md).
  const json::array subject{"Observation:subject", "Observation:patient"};
  json::object entry{
      {"type", type},
      {"profile", profile},
      {"interaction", interactions({"read", "vread", "update", "patch", "delete",
                                    "history-instance", "history-type", "create", "search-type"})},
      {"versioning", "versioned-update"},
      {"readHistory", read_history},  // vread of older versions
      {"updateCreate", true},
      {"conditionalCreate", true},
      {"conditionalRead", "full-support"},
      {"conditionalUpdate", true},
      {"conditionalDelete", "multiple"},
      {"searchParam", capability_search_params(type)}};
  entry[std::string_view(type) == "Observation" ? "searchInclude" : "searchRevInclude"] = subject;
  json::array operations{
      json::object{{"name", "validate"},
                   {"definition", "http://hl7.org/fhir/OperationDefinition/Resource-validate"}}};
  if (std::string_view(type) == "Patient")
    operations.push_back(
        json::object{{"name", "everything"},
                     {"definition", "http://hl7.org/fhir/OperationDefinition/Patient-everything"}});
  entry["operation"] = std::move(operations);
  return entry;
}
}  // namespace

json::object capability_statement(const ServerContext& ctx, const std::string& base_url) {
  return {
      {"resourceType", "CapabilityStatement"},
      {"status", "active"},
      {"date", fhir_instant(ctx.mapping().now_ms()).substr(0, 10)},
      {"publisher", "fhirbridge"},
      {"kind", "instance"},
      {"software", {{"name", "fhirbridge"}, {"version", "0.1.0"}}},
      {"implementation",
       {{"description", "FHIR R4 facade over an end-to-end encrypted iCure-style store"},
        {"url", base_url}}},
      {"fhirVersion", "4.0.1"},
      {"format", json::array{"application/fhir+json", "json"}},
      {"rest",
       json::array{json::object{
           {"mode", "server"},
           {"documentation",
            "HTTP Basic authentication on every request except /metadata. Post your private key "
            "first: "
            "POST " +
                ctx.settings().keychain_path +
                "/{hcpId} with {\"key\": \"<PKCS#8 hex>\"}; DELETE it to forget the key "
                "before its TTL."},
           {"security", {{"description", "HTTP Basic (login/password of the fhirbridge user)"}}},
           {"resource",
            json::array{
                resource_entry("Patient", "http://hl7.org/fhir/StructureDefinition/Patient",
                               ctx.store().keeps_old_versions()),
                resource_entry("Observation", "http://hl7.org/fhir/StructureDefinition/Observation",
                               ctx.store().keeps_old_versions())}},
           {"interaction", interactions({"transaction", "batch", "history-system"})},
           // Patient/{id}/Observation (the only compartment member we store).
           {"compartment", json::array{"http://hl7.org/fhir/CompartmentDefinition/patient"}}}}}};
}

}  // namespace fhirbridge::server::detail
