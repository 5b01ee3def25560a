// FHIR Bundle (transaction / batch) parsing. Processing (ordering, reference
// rewriting, atomicity) is the server's job; the engine only validates shape.
#pragma once

#include <boost/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "fhirbridge/status.hpp"

namespace fhirbridge::mapping {

struct BundleEntry {
  std::size_t index = 0;                // position in Bundle.entry
  std::optional<std::string> full_url;  // e.g. "urn:uuid:..."
  boost::json::value resource;          // null when the entry has none (DELETE/GET)
  std::string method;                   // request.method (POST when absent on a resource)
  std::string url;  // request.url; without a request, the resource type (a create)
  std::optional<std::string> if_match, if_none_exist;
  // Conditional read of a GET entry: request.ifNoneMatch (an ETag list) and
  // request.ifModifiedSince (a FHIR instant, checked here).
  std::optional<std::string> if_none_match, if_modified_since;
};

struct ParsedBundle {
  std::string type;  // "transaction" or "batch"
  std::vector<BundleEntry> entries;
};

// Errors name the path ("Bundle.entry[3].request.method"). Never throws.
Result<ParsedBundle> parse_bundle(const boost::json::value& bundle);

}  // namespace fhirbridge::mapping
