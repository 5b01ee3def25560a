// JSON Patch: `[document, patch]` -> apply_json_patch. Any patch either applies
// or is refused with a Status; the result must serialize and parse back.
#include "fhirbridge/server/detail/json_patch.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fhirbridge;
  auto input = fuzz::parse_json(fuzz::as_text(data, size));
  if (!input || !input->is_array() || input->as_array().size() != 2) return 0;
  auto& pair = input->as_array();
  auto patched = server::detail::apply_json_patch(pair[0], pair[1]);
  if (patched.ok()) fuzz::require_reparsable(*patched);
  return 0;
}
