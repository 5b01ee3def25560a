// JSON Patch (RFC 6902) over Boost.JSON values, with JSON Pointers (RFC 6901),
// for the FHIR patch interaction (docs/server.md). Pure: no I/O.
#pragma once

#include <boost/json/value.hpp>

#include "fhirbridge/status.hpp"

namespace fhirbridge::server::detail {

// Applies every operation of `patch` (an array of {op, path, value|from}) to
// `document`, in order; all or nothing. Errors are `invalid` with the path of
// the offending operation ("patch[2].path") and say why: an unknown op, a
// pointer that names nothing, a failed "test".
Result<boost::json::value> apply_json_patch(boost::json::value document,
                                            const boost::json::value& patch);

}  // namespace fhirbridge::server::detail
