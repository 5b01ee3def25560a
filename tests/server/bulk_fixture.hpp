// A real encrypted SqliteStore in a temp dir with one healthcare party (key in
// the keychain) and its user, for the bulk import/export tests.
#pragma once

#include <botan/auto_rng.h>
#include <boost/json.hpp>

#include <memory>
#include <sstream>
#include <string>

#include "common/test_support.hpp"
#include "fhirbridge/crypto/keychain.hpp"
#include "fhirbridge/crypto/password.hpp"
#include "fhirbridge/crypto/primitives.hpp"
#include "fhirbridge/server/bulk.hpp"
#include "fhirbridge/storage/sqlite_store.hpp"
#include "fhirbridge/synthetic/generator.hpp"

namespace fhirbridge::test {

// RSA key generation is slow: one key pair for the whole suite.
inline const crypto::RsaKeyPair& bulk_test_key_pair() {
  static Botan::AutoSeeded_RNG rng;
  static const crypto::RsaKeyPair pair = crypto::generate_rsa_key_pair(rng);
  return pair;
}

struct BulkStore {
  explicit BulkStore(const std::string& file_name = "store.db",
                     std::chrono::milliseconds busy_timeout = std::chrono::milliseconds(5000)) {
    const auto& keys = bulk_test_key_pair();
    storage::SqliteStoreOptions options;
    options.rng = &rng;
    options.busy_timeout = busy_timeout;
    auto opened = storage::SqliteStore::open(dir.path() / file_name, keychain, options);
    if (!opened.ok()) throw std::runtime_error(opened.status().to_string());
    store = std::move(*opened);
    icure::HealthcareParty hcp;
    hcp.id = "hcp-bulk";
    hcp.name = "Dr Bulk";
    hcp.publicKey = keys.public_key_hex;
    auto put = store->put_healthcare_party(hcp);
    if (!put.ok()) throw std::runtime_error(put.status().to_string());
    Status s = keychain.put("hcp-bulk", keys.private_key_pkcs8, keys.public_key_hex);
    if (!s.ok()) throw std::runtime_error(s.to_string());
    who = storage::Principal{"hcp-bulk", "user-bulk"};
    mapping.new_id = [this] { return crypto::random_uuid(rng); };
    mapping.now_ms = [] { return std::int64_t{1700000000000}; };
  }

  server::bulk::ImportSummary import_text(const std::string& ndjson,
                                          server::bulk::ImportOptions options = {}) {
    std::istringstream in(ndjson);
    return server::bulk::import_stream(*store, who, mapping, in, "input.ndjson", options);
  }

  std::string export_text(server::bulk::ExportOptions options = {}) {
    std::ostringstream out;
    auto summary = server::bulk::export_ndjson(*store, who, mapping, out, options);
    if (!summary.ok()) throw std::runtime_error(summary.status().to_string());
    return out.str();
  }

  std::int64_t patient_count() {
    storage::PatientQuery q;
    q.page.limit = 0;
    auto page = store->find_patients(who, q);
    if (!page.ok()) throw std::runtime_error(page.status().to_string());
    return page->total;
  }
  std::int64_t contact_count() {
    storage::ContactQuery q;
    q.page.limit = 0;
    auto page = store->find_contacts(who, q);
    if (!page.ok()) throw std::runtime_error(page.status().to_string());
    return page->total;
  }

  TempDir dir;
  Botan::AutoSeeded_RNG rng;
  crypto::Keychain keychain;
  std::unique_ptr<storage::SqliteStore> store;
  storage::Principal who;
  mapping::MappingContext mapping;
};

// `patients` generated patients, each followed by `per_patient` observations.
inline std::string generated_ndjson(std::size_t patients, std::size_t per_patient,
                                    std::uint64_t seed = 7) {
  synthetic::Prng prng(seed);
  synthetic::Generator generator(prng);
  std::string out;
  for (std::size_t i = 0; i < patients; ++i) {
    auto patient = generator.patient();
    out += boost::json::serialize(patient) + "\n";
    const std::string id(patient.at("id").as_string());
    for (std::size_t k = 0; k < per_patient; ++k)
      out += boost::json::serialize(generator.observation(id)) + "\n";
  }
  return out;
}

}  // namespace fhirbridge::test
