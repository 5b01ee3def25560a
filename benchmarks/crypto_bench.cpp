// crypto_bench: sealing and unsealing of iCure entities (EntitySealer), without
// any storage. Prints, for a generated patient and a generated contact (one
// Observation mapped to a Contact with one Service):
//   - seals/s (cold: a new entity each time; the exchange key already exists,
//     as it does for every create but the first of a healthcare party);
//   - unseals/s cold (each sealed entity read once, in order; also by a new
//     sealer that has cached nothing) and warm (the same entity read again and
//     again: what repeated GETs of one resource do);
//   - patient_secret_ids / contact_patient_id warm (the store's other reads);
//   - warm unseals/s with --threads threads on one shared sealer (wall rate).
// Rates are from CPU time (steadier on a shared machine) except the threaded
// row, whose rate is from wall time. Compare rows of one run, not runs.
//
//   crypto_bench [--entities 2000] [--warm-reads 20000] [--threads 2] [--seed 1]
#include <botan/auto_rng.h>

#include <memory>
#include <mutex>
#include <thread>

#include "bench_util.hpp"
#include "fhirbridge/crypto/entity_sealer.hpp"
#include "fhirbridge/crypto/keychain.hpp"
#include "fhirbridge/mapping/observation.hpp"
#include "fhirbridge/mapping/patient.hpp"

using namespace fhirbridge;
using namespace fhirbridge::bench;

namespace {

[[noreturn]] void die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "crypto_bench: %s: %s\n", what.c_str(), s.to_string().c_str());
  std::exit(1);
}

// Parties in memory, handed out as shared pointers like the SQLite store's
// parsed-party cache does (so the figures are the sealer's, not the copies').
// Reads are safe from several threads once set up (puts only happen while
// sealing, single-threaded here).
class BenchDirectory : public crypto::HcpDirectory {
 public:
  Result<icure::HealthcareParty> get(const std::string& id) override {
    auto shared = get_shared(id);
    if (!shared.ok()) return shared.status();
    return **shared;
  }
  Result<std::shared_ptr<const icure::HealthcareParty>> get_shared(const std::string& id) override {
    std::lock_guard lock(mutex_);
    auto it = parties_.find(id);
    if (it == parties_.end()) return Status::NotFound("no healthcare party " + id);
    return it->second;
  }
  Status put(const icure::HealthcareParty& hcp) override {
    std::lock_guard lock(mutex_);
    parties_[*hcp.id] = std::make_shared<const icure::HealthcareParty>(hcp);
    return {};
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const icure::HealthcareParty>> parties_;
};

struct Row {
  std::string name;
  std::size_t ops = 0;
  double wall = 0, cpu = 0;
  bool wall_rate = false;  // threaded rows: CPU adds up over threads
};

void print_rows(const std::vector<Row>& rows) {
  std::printf("%-40s %8s %10s %10s %12s %12s\n", "operation", "ops", "wall s", "CPU s", "ops/s",
              "CPU us/op");
  for (const auto& r : rows) {
    const double per_s = r.ops / (r.wall_rate ? r.wall : r.cpu);
    std::printf("%-40s %8zu %10.3f %10.3f %12s %12.1f\n", r.name.c_str(), r.ops, r.wall, r.cpu,
                (rate(per_s) + (r.wall_rate ? " (wall)" : "")).c_str(), 1e6 * r.cpu / r.ops);
  }
}

template <typename Fn>
Row measure(const std::string& name, std::size_t ops, Fn&& fn) {
  Stopwatch watch;
  for (std::size_t i = 0; i < ops; ++i) fn(i);
  return {name, ops, watch.wall(), watch.cpu()};
}

}  // namespace

int main(int argc, char** argv) {
  const Args args(argc, argv);
  args.accept_only({"--entities", "--warm-reads", "--threads", "--seed"}, {},
                   "usage: crypto_bench [--entities 2000] [--warm-reads 20000] [--threads 2] "
                   "[--seed 1]\n");
  const std::size_t entities = args.size("--entities", 2000);
  const std::size_t warm_reads = args.size("--warm-reads", 20000);
  const std::size_t threads = std::max<std::size_t>(1, args.size("--threads", 2));
  const std::uint64_t seed = args.size("--seed", 1);

  Botan::AutoSeeded_RNG rng;
  const crypto::RsaKeyPair keys = crypto::generate_rsa_key_pair(rng);
  const std::string hcp = "hcp-bench";
  crypto::Keychain keychain;
  BenchDirectory dir;
  {
    icure::HealthcareParty party;
    party.id = hcp;
    party.publicKey = keys.public_key_hex;
    if (auto s = dir.put(party); !s.ok()) die("hcp", s);
  }
  if (auto s = keychain.put(hcp, keys.private_key_pkcs8, keys.public_key_hex); !s.ok())
    die("keychain", s);
  crypto::EntitySealer sealer(keychain, rng);

  // The corpus: `entities` patients and as many contacts, mapped from FHIR.
  std::size_t counter = 0;
  mapping::MappingContext ctx;
  ctx.new_id = [&counter] {
    char buf[40];
    std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012zx", ++counter);
    return std::string(buf);
  };
  ctx.now_ms = [] { return std::int64_t{1700000000000}; };
  synthetic::Prng prng(seed);
  synthetic::Generator generator(prng);
  std::vector<icure::Patient> patients;
  std::vector<icure::Contact> contacts;
  for (std::size_t i = 0; i < entities; ++i) {
    auto fhir_patient = generator.patient();
    auto patient = mapping::fhir_patient_to_icure(fhir_patient, ctx);
    if (!patient.ok()) die("map patient", patient.status());
    auto observation = mapping::fhir_observation_to_icure(
        generator.observation(std::string(fhir_patient.at("id").as_string())), ctx);
    if (!observation.ok()) die("map observation", observation.status());
    patients.push_back(std::move(*patient));
    contacts.push_back(std::move(observation->contact));
  }

  // Warm-up: creates the exchange key hcp -> hcp (RSA), once per party.
  {
    icure::Patient p = patients.front();
    p.id.reset();
    if (auto s = sealer.seal_new_patient(dir, hcp, p); !s.ok()) die("warm-up", s);
  }

  std::vector<Row> rows;
  std::vector<icure::Patient> sealed_patients = patients;
  rows.push_back(measure("seal patient (new)", entities, [&](std::size_t i) {
    if (auto s = sealer.seal_new_patient(dir, hcp, sealed_patients[i]); !s.ok()) die("seal", s);
  }));
  std::vector<std::vector<std::string>> secret_ids(entities);
  for (std::size_t i = 0; i < entities; ++i) {
    auto ids = sealer.patient_secret_ids(dir, hcp, sealed_patients[i]);
    if (!ids.ok()) die("secret ids", ids.status());
    secret_ids[i] = *ids;
  }
  std::vector<icure::Contact> sealed_contacts = contacts;
  rows.push_back(measure("seal contact (new, 1 service)", entities, [&](std::size_t i) {
    if (auto s = sealer.seal_new_contact_of(dir, hcp, sealed_contacts[i], *sealed_patients[i].id,
                                            secret_ids[i]);
        !s.ok())
      die("seal contact", s);
  }));

  // Cold reads: another entity each time, each read once. (secret ids above
  // already decrypted the patients' delegations, not their encryptionKeys.)
  rows.push_back(measure("unseal patient (cold: each once)", entities, [&](std::size_t i) {
    if (auto p = sealer.unseal_patient(dir, hcp, sealed_patients[i]); !p.ok())
      die("unseal", p.status());
  }));
  rows.push_back(measure("unseal contact (cold: each once)", entities, [&](std::size_t i) {
    if (auto c = sealer.unseal_contact(dir, hcp, sealed_contacts[i]); !c.ok())
      die("unseal contact", c.status());
  }));
  // Really cold: a second sealer that has never seen these entities (only its
  // exchange key is decrypted first, by one read). With the decryption cache,
  // the rows above are served from what sealing inserted.
  {
    crypto::EntitySealer fresh(keychain, rng);
    if (auto p = fresh.unseal_patient(dir, hcp, sealed_patients[0]); !p.ok())
      die("unseal", p.status());
    rows.push_back(
        measure("unseal patient (new sealer, each once)", entities - 1, [&](std::size_t i) {
          if (auto p = fresh.unseal_patient(dir, hcp, sealed_patients[i + 1]); !p.ok())
            die("unseal", p.status());
        }));
    rows.push_back(
        measure("unseal contact (new sealer, each once)", entities - 1, [&](std::size_t i) {
          if (auto c = fresh.unseal_contact(dir, hcp, sealed_contacts[i + 1]); !c.ok())
            die("unseal contact", c.status());
        }));
  }
  rows.push_back(measure("unseal patient (warm: same one)", warm_reads, [&](std::size_t) {
    if (auto p = sealer.unseal_patient(dir, hcp, sealed_patients[0]); !p.ok())
      die("unseal", p.status());
  }));
  rows.push_back(measure("unseal contact (warm: same one)", warm_reads, [&](std::size_t) {
    if (auto c = sealer.unseal_contact(dir, hcp, sealed_contacts[0]); !c.ok())
      die("unseal contact", c.status());
  }));
  rows.push_back(measure("patient_secret_ids (warm)", warm_reads, [&](std::size_t i) {
    if (auto ids = sealer.patient_secret_ids(dir, hcp, sealed_patients[i % entities]); !ids.ok())
      die("secret ids", ids.status());
  }));
  rows.push_back(measure("contact_patient_id (warm)", warm_reads, [&](std::size_t i) {
    if (auto id = sealer.contact_patient_id(dir, hcp, sealed_contacts[i % entities]); !id.ok())
      die("patient id", id.status());
  }));

  // Several readers on one sealer: warm unseals of all entities, split by thread.
  {
    Stopwatch watch;
    std::vector<std::thread> pool;
    const std::size_t per_thread = warm_reads / threads;
    for (std::size_t t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        for (std::size_t i = 0; i < per_thread; ++i) {
          const std::size_t k = (t * 7919 + i) % entities;
          if (i % 2 == 0) {
            if (auto p = sealer.unseal_patient(dir, hcp, sealed_patients[k]); !p.ok())
              die("threaded unseal", p.status());
          } else if (auto c = sealer.unseal_contact(dir, hcp, sealed_contacts[k]); !c.ok()) {
            die("threaded unseal contact", c.status());
          }
        }
      });
    for (auto& th : pool) th.join();
    rows.push_back({"unseal patient+contact, " + std::to_string(threads) + " threads",
                    per_thread * threads, watch.wall(), watch.cpu(), true});
  }

  print_machine();
  std::printf("entities: %zu patients + %zu contacts, warm reads: %zu, 1 healthcare party\n\n",
              entities, entities, warm_reads);
  print_rows(rows);
  return 0;
}
