#include "fhirbridge/json_io.hpp"

namespace fhirbridge::json_io {

bool equivalent(const json::value& a, const json::value& b, std::string* where,
                const std::string& path) {
  auto differ = [&](const std::string& p) {
    if (where) *where = p;
    return false;
  };
  if (a.is_number() && b.is_number()) {
    if (a.to_number<double>() != b.to_number<double>()) return differ(path);
    return true;
  }
  if (a.kind() != b.kind()) return differ(path);
  if (a.is_object()) {
    const auto& oa = a.get_object();
    const auto& ob = b.get_object();
    if (oa.size() != ob.size()) {
      for (const auto& kv : oa)
        if (!ob.contains(kv.key())) return differ(path + "." + std::string(kv.key()) + " (missing on right)");
      for (const auto& kv : ob)
        if (!oa.contains(kv.key())) return differ(path + "." + std::string(kv.key()) + " (missing on left)");
    }
    for (const auto& kv : oa) {
      auto it = ob.find(kv.key());
      if (it == ob.end()) return differ(path + "." + std::string(kv.key()) + " (missing on right)");
      if (!equivalent(kv.value(), it->value(), where, path + "." + std::string(kv.key())))
        return false;
    }
    return true;
  }
  if (a.is_array()) {
    const auto& xa = a.get_array();
    const auto& xb = b.get_array();
    if (xa.size() != xb.size()) return differ(path + " (array size)");
    for (std::size_t i = 0; i < xa.size(); ++i)
      if (!equivalent(xa[i], xb[i], where, path + "[" + std::to_string(i) + "]")) return false;
    return true;
  }
  if (a != b) return differ(path);
  return true;
}

}  // namespace fhirbridge::json_io
