// What a mapping needs from the outside world, injected so every mapping is
// deterministic under test: ids, the clock, and the settings.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace fhirbridge::mapping {

struct MappingSettings {
  // System of the Identifier that keeps the FHIR id sent on create (tutorial).
  std::string fhir_id_system = "https://dxm.icure.dev";
  // Language key of Service.content.
  std::string content_language = "en";
};

struct MappingContext {
  // Returns a fresh UUID v4 string for every call (entity ids, service ids).
  std::function<std::string()> new_id;
  // Epoch milliseconds "now" (created/modified).
  std::function<std::int64_t()> now_ms;
  MappingSettings settings;
};

// Deterministic context for tests: ids "00000000-0000-4000-8000-00000000000N"
// counting from 1, and a fixed clock.
MappingContext make_fixed_context(std::int64_t now_ms = 1700000000000);

}  // namespace fhirbridge::mapping
