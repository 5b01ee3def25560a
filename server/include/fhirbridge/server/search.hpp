// FHIR search: query-string decoding, translation of FHIR search parameters to
// store queries (with chaining and _has), and the searchset Bundle.
// Pure apart from the Store it is handed; no sockets.
#pragma once

#include <boost/json.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fhirbridge/mapping/context.hpp"
#include "fhirbridge/status.hpp"
#include "fhirbridge/storage/store.hpp"

namespace fhirbridge::server {

// One decoded `name[:modifier]=value` pair, in request order. Repeated names
// are separate pairs (AND); commas inside `value` are ORs (kept raw here).
struct QueryParam {
  std::string name;  // "birthdate", "_has:Observation:patient:code", "subject"
  // After the first ':' of a non-_has name ("exact", "not", "Patient.name"...).
  std::string modifier;
  std::string value;  // percent- and '+'-decoded
};

// Decodes an application/x-www-form-urlencoded query or form body
// ("a=1&b=x%3Ay+z"). invalid on bad percent-escapes (path "query").
Result<std::vector<QueryParam>> parse_query(std::string_view raw);

// The serialised FHIR resources a caller keeps (the server's read cache, by
// sealed version): a search given one splices each match's resource into its
// Bundle as this gives it, instead of mapping and serialising it again.
class ResourceRenderer {
 public:
  virtual ~ResourceRenderer() = default;
  // The resource exactly as a read returns it, serialised; an error when it
  // cannot be mapped (the search then warns and leaves it out, as it does
  // without a renderer).
  virtual Result<std::shared_ptr<const std::string>> patient(const icure::Patient& patient) = 0;
  virtual Result<std::shared_ptr<const std::string>> observation(const icure::Contact& contact,
                                                                 const std::string& patient_id) = 0;
};

struct SearchOptions {
  std::string base_url;            // e.g. "http://127.0.0.1:8080/rest/fhir/r4" for fullUrl/links
  bool strict = false;             // Prefer: handling=strict -> unknown params are 400
  std::size_t default_count = 50;  // _count when absent
  std::size_t max_count = 1000;
  // When set, a search whose entries are whole resources (no _elements or
  // _summary) may answer SearchOutcome::rendered instead of `bundle`.
  ResourceRenderer* renderer = nullptr;
};

struct SearchOutcome {
  // Bundle type searchset (total, link self/next, entry[]); empty when `rendered` is set.
  boost::json::object bundle;
  // The same Bundle already serialised (only with SearchOptions::renderer).
  std::shared_ptr<const std::string> rendered;
  std::vector<std::string> warnings;  // e.g. "unknown search parameter 'foo' ignored"
  // The `_cursor` of the bundle's next link; nullopt on the last page (and
  // with _summary=count). For operations that page as a search does.
  std::optional<std::string> next_cursor;
};

// Runs a search for "Patient" or "Observation" as `who` sees the store.
// invalid (path = the parameter name) for malformed values; not_supported for
// unknown resource types; unknown parameters are ignored (warning, and an
// OperationOutcome entry with search.mode=outcome) unless options.strict.
Result<SearchOutcome> search(storage::Store& store, const storage::Principal& who,
                             std::string_view resource_type, const std::vector<QueryParam>& params,
                             const SearchOptions& options, const mapping::MappingContext& ctx);

// Store ids of all matches (no paging), for conditional delete/update.
// Unknown parameters are ALWAYS invalid here (whatever options.strict says):
// an ignored parameter must never widen a conditional delete.
// Without `ctx`, FHIR ids are looked up with MappingSettings' default system.
Result<std::vector<std::string>> search_ids(storage::Store& store, const storage::Principal& who,
                                            std::string_view resource_type,
                                            const std::vector<QueryParam>& params,
                                            const SearchOptions& options);
Result<std::vector<std::string>> search_ids(storage::Store& store, const storage::Principal& who,
                                            std::string_view resource_type,
                                            const std::vector<QueryParam>& params,
                                            const SearchOptions& options,
                                            const mapping::MappingContext& ctx);

// CapabilityStatement.rest.resource[].searchParam for a resource type: every
// parameter search() supports, with its FHIR type.
boost::json::array capability_search_params(std::string_view resource_type);

}  // namespace fhirbridge::server
