// Test helpers for the crypto suite: an in-memory HcpDirectory and the SDK vectors.
#pragma once

#include <boost/json.hpp>

#include <map>
#include <string>

#include "common/test_support.hpp"
#include "fhirbridge/crypto/entity_sealer.hpp"
#include "fhirbridge/json_io.hpp"

namespace fhirbridge::test {

// Healthcare parties in a map; `puts` counts writes so tests can see when the
// sealer stores a new exchange key.
class MemoryHcpDirectory : public crypto::HcpDirectory {
 public:
  Result<icure::HealthcareParty> get(const std::string& hcp_id) override {
    auto it = hcps.find(hcp_id);
    if (it == hcps.end()) return Status::NotFound("no healthcare party " + hcp_id);
    return it->second;
  }
  Status put(const icure::HealthcareParty& hcp) override {
    if (!hcp.id) return Status::Invalid("HealthcareParty.id", "missing");
    hcps[*hcp.id] = hcp;
    ++puts;
    return {};
  }
  void add(const std::string& id, const std::string& public_key_hex) {
    icure::HealthcareParty h;
    h.id = id;
    h.publicKey = public_key_hex;
    hcps[id] = h;
  }
  std::map<std::string, icure::HealthcareParty> hcps;
  int puts = 0;
};

inline const boost::json::object& sdk_vectors() {
  static const boost::json::value v = read_json(shared_dir() / "icure" / "sdk-test-vectors.json");
  return v.as_object();
}
inline std::string sdk_string(const char* key) {
  return std::string(sdk_vectors().at(key).as_string());
}

template <typename T>
T from_json_or_throw(const boost::json::value& jv, const std::string& what) {
  T out{};
  Status s = json_io::from_json(jv, out, what);
  if (!s.ok()) throw std::runtime_error(s.to_string());
  return out;
}

}  // namespace fhirbridge::test
