#include "fhirbridge/mapping/context.hpp"

#include <cstdio>
#include <memory>

namespace fhirbridge::mapping {

MappingContext make_fixed_context(std::int64_t now_ms) {
  auto counter = std::make_shared<std::uint64_t>(0);
  MappingContext ctx;
  ctx.new_id = [counter] {
    char buf[40];
    std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012llu",
                  static_cast<unsigned long long>(++*counter));
    return std::string(buf);
  };
  ctx.now_ms = [now_ms] { return now_ms; };
  return ctx;
}

}  // namespace fhirbridge::mapping
