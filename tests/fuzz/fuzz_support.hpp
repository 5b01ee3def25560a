// Shared helpers for the libFuzzer targets: JSON parsing that never throws,
// and a deterministic mapping context.
#pragma once

#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "fhirbridge/mapping/context.hpp"

namespace fhirbridge::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The server parses bodies with a generous depth limit; mirror it so deep
// documents reach the engine (the engine must not recurse without bound).
inline std::optional<boost::json::value> parse_json(std::string_view text) {
  boost::json::parse_options options;
  options.max_depth = 10000;
  boost::system::error_code ec;
  auto value = boost::json::parse(text, ec, {}, options);
  if (ec) return std::nullopt;
  return value;
}

// What the sealer does with an entity's fields: serialize, later parse back.
// Output that cannot be read back (e.g. a non-finite number, which Boost.JSON
// writes as `Infinity`) would be stored and then lost: treat it as a crash.
inline void require_reparsable(const boost::json::value& v) {
  boost::system::error_code ec;
  (void)boost::json::parse(boost::json::serialize(v), ec);
  if (ec) __builtin_trap();
}

inline const mapping::MappingContext& fixed_context() {
  static const mapping::MappingContext ctx = mapping::make_fixed_context();
  return ctx;
}

}  // namespace fhirbridge::fuzz
