// The residual's fast path: proves, element by element, that the input is
// what the iCure entity maps back to (so the residual is null), without
// building the regenerated FHIR. See datatypes.hpp.
#include <atomic>

#include "datatypes.hpp"
#include "fhirbridge/mapping/code_systems.hpp"

namespace fhirbridge::mapping::detail {

namespace {
std::atomic<bool> g_fast_path{true};

bool string_or_absent(const json::value* v) {
  return !v || v->is_string();
}
}  // namespace

void set_residual_fast_path(bool enabled) {
  g_fast_path = enabled;
}
bool residual_fast_path() {
  return g_fast_path.load(std::memory_order_relaxed);
}

bool only_keys(const json::object& o, std::initializer_list<std::string_view> keys) {
  for (const auto& kv : o) {
    bool known = false;
    for (auto k : keys) known = known || key_is(kv.key(), k);
    if (!known) return false;
  }
  return true;
}

bool same_optional_string(const json::object& o, std::string_view key,
                          const std::optional<std::string>& expected) {
  auto it = o.find(key);
  if (it == o.end()) return !expected;
  return expected && it->value().is_string() && it->value().get_string() == *expected;
}

bool coding_round_trips(const json::value& coding, std::string_view reserved_system) {
  if (!coding.is_object()) return false;
  static constexpr std::string_view keys[] = {"system", "version", "code", "display"};
  std::array<const json::value*, 4> v;
  if (!only_these(coding.get_object(), keys, v)) return false;
  if (!string_or_absent(v[1]) || !string_or_absent(v[2]) || !string_or_absent(v[3])) return false;
  if (!v[0]) return true;
  if (!v[0]->is_string()) return false;
  const std::string_view s = v[0]->get_string();
  if (!reserved_system.empty() && s == reserved_system) return false;
  return code_system_round_trips(s);
}

bool codings_round_trip(const json::value& codings, std::string_view reserved_system) {
  if (!codings.is_array() || codings.get_array().empty()) return false;
  for (const auto& c : codings.get_array())
    if (!coding_round_trips(c, reserved_system)) return false;
  return true;
}

bool quantity_round_trips(const json::value& quantity) {
  if (!quantity.is_object()) return false;
  static constexpr std::string_view keys[] = {"value", "comparator", "unit", "system", "code"};
  std::array<const json::value*, 5> v;
  if (!only_these(quantity.get_object(), keys, v)) return false;
  if (v[0] && !v[0]->is_number()) return false;
  if (!string_or_absent(v[1]) || !string_or_absent(v[2]) || !string_or_absent(v[4])) return false;
  if (!v[3]) return true;
  return v[3]->is_string() && code_system_round_trips(v[3]->get_string());
}

bool identifier_round_trips(const json::value& identifier, const MappingContext& ctx) {
  if (!identifier.is_object()) return false;
  static constexpr std::string_view keys[] = {"use", "system", "value"};
  std::array<const json::value*, 3> v;
  if (!only_these(identifier.get_object(), keys, v)) return false;
  if (!string_or_absent(v[0]) || !string_or_absent(v[2])) return false;
  if (!v[1]) return true;
  return v[1]->is_string() && v[1]->get_string() != ctx.settings.fhir_id_system;
}

bool meta_round_trips(const json::value& meta, std::string_view reserved_system) {
  if (!meta.is_object()) return false;
  const json::object& m = meta.get_object();
  if (!only_keys(m, {"versionId", "lastUpdated", "tag"})) return false;
  const json::value* tag = m.if_contains("tag");
  return !tag || codings_round_trip(*tag, reserved_system);
}

}  // namespace fhirbridge::mapping::detail
