// The decryption cache (DecryptionCache and its use by EntitySealer) and
// concurrent unsealing from several threads on one shared sealer.
#include <boost/test/unit_test.hpp>

#include <botan/auto_rng.h>

#include <atomic>
#include <thread>

#include "crypto/crypto_test_support.hpp"
#include "fhirbridge/crypto/decryption_cache.hpp"
#include "fhirbridge/crypto/entity_sealer.hpp"

using namespace fhirbridge;
using namespace fhirbridge::crypto;

namespace {

const RsaKeyPair& key_pair(int i) {
  static Botan::AutoSeeded_RNG rng;
  static const RsaKeyPair pairs[2] = {generate_rsa_key_pair(rng), generate_rsa_key_pair(rng)};
  return pairs[i];
}

SecureBytes bytes_of(const std::string& s) {
  return SecureBytes(s.begin(), s.end());
}
std::string text_of(const SecureBytes& b) {
  return std::string(b.begin(), b.end());
}

// Two parties, both keys loaded; hcp-1 owns everything and shares with hcp-2.
struct World {
  World() {
    for (int i = 0; i < 2; ++i) {
      dir.add(hcp(i), key_pair(i).public_key_hex);
      BOOST_REQUIRE(
          keychain.put(hcp(i), key_pair(i).private_key_pkcs8, key_pair(i).public_key_hex).ok());
    }
  }
  static std::string hcp(int i) { return "hcp-" + std::to_string(i + 1); }
  Botan::AutoSeeded_RNG rng;
  Keychain keychain;
  test::MemoryHcpDirectory dir;
};

icure::Patient make_patient(int i) {
  icure::Patient p;
  p.id = "p-" + std::to_string(i);
  p._type = icure::kPatientType;
  p.firstName = "Jane" + std::to_string(i);
  p.lastName = "Roe";
  p.note = "note " + std::to_string(i) + " é";
  return p;
}

icure::Contact make_contact(int i) {
  icure::Contact c;
  c.id = "c-" + std::to_string(i);
  c.descr = "Consultation " + std::to_string(i);
  icure::Service s;
  s.id = "s-" + std::to_string(i);
  s.label = "Heart rate";
  icure::Measure m;
  m.value = 60 + i;
  m.unit = "bpm";
  icure::Content content;
  content.measureValue = m;
  s.content = std::map<std::string, icure::Content>{{"en", content}};
  c.services = std::vector<icure::Service>{s};
  return c;
}

template <typename Entity>
std::string serialized(const Entity& e) {
  return boost::json::serialize(json_io::to_json(e));
}

// Sealed patients (shared with hcp-2) and one contact of each.
struct Corpus {
  std::vector<icure::Patient> patients;
  std::vector<icure::Contact> contacts;
};

Corpus seal_corpus(World& w, EntitySealer& sealer, int count) {
  Corpus c;
  for (int i = 0; i < count; ++i) {
    icure::Patient p = make_patient(i);
    BOOST_REQUIRE(sealer.seal_new_patient(w.dir, World::hcp(0), p, {World::hcp(1)}).ok());
    icure::Contact contact = make_contact(i);
    BOOST_REQUIRE(sealer.seal_new_contact(w.dir, World::hcp(0), contact, p, {World::hcp(1)}).ok());
    c.patients.push_back(std::move(p));
    c.contacts.push_back(std::move(contact));
  }
  return c;
}

// A cached and an uncached sealer over the same two sealed patients and
// contacts, given a rev as a store would (only versioned entities are
// remembered unsealed).
struct VersionedCorpus {
  VersionedCorpus() : corpus(seal_corpus(w, sealer, 2)) {
    for (auto& p : corpus.patients) p.rev = "1-a";
    for (auto& c : corpus.contacts) c.rev = "1-a";
  }
  // Decryption-cache look-ups so far: unchanged by a read that decrypted nothing.
  std::uint64_t lookups() const {
    const auto stats = sealer.decryption_cache_stats();
    return stats.hits + stats.misses;
  }
  // Unseals twice: the second read answers the same and decrypts nothing.
  template <typename Unseal>
  auto unseal_twice(Unseal unseal) {
    auto first = unseal();
    BOOST_REQUIRE(first.ok());
    const auto before = lookups();
    auto again = unseal();
    BOOST_REQUIRE(again.ok());
    BOOST_CHECK_EQUAL(serialized(*again), serialized(*first));
    BOOST_CHECK_EQUAL(lookups(), before);  // no key was decrypted or looked up
    return first;
  }
  World w;
  EntitySealer sealer{w.keychain, w.rng};
  EntitySealer uncached{w.keychain, w.rng, {}, 0};
  Corpus corpus;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(crypto_decryption_cache)

BOOST_AUTO_TEST_CASE(finds_exactly_what_was_inserted) {
  DecryptionCache cache(100);
  BOOST_CHECK(!cache.find(1, "aa00"));
  cache.insert(1, "aa00", bytes_of("p-1:secret"));
  auto hit = cache.find(1, "aa00");
  BOOST_REQUIRE(hit);
  BOOST_CHECK_EQUAL(text_of(*hit), "p-1:secret");
  // Another ciphertext, or the same text under another key: other entries.
  BOOST_CHECK(!cache.find(1, "aa01"));
  BOOST_CHECK(!cache.find(2, "aa00"));
  cache.insert(2, "aa00", bytes_of("p-2:other"));
  BOOST_CHECK_EQUAL(text_of(*cache.find(2, "aa00")), "p-2:other");
  BOOST_CHECK_EQUAL(text_of(*cache.find(1, "aa00")), "p-1:secret");
  auto stats = cache.stats();
  BOOST_CHECK_EQUAL(stats.entries, 2u);
  BOOST_CHECK_EQUAL(stats.hits, 3u);
  BOOST_CHECK_EQUAL(stats.misses, 3u);
}

BOOST_AUTO_TEST_CASE(stays_bounded_and_keeps_what_is_read) {
  DecryptionCache cache(4);  // two generations of 2
  cache.insert(1, "hot", bytes_of("hot"));
  for (int i = 0; i < 50; ++i) {
    cache.insert(1, "cold-" + std::to_string(i), bytes_of("cold"));
    BOOST_CHECK_LE(cache.stats().entries, 4u);
    BOOST_REQUIRE_MESSAGE(cache.find(1, "hot"), "a regularly read entry is never dropped");
  }
  BOOST_CHECK(!cache.find(1, "cold-0"));  // long gone
  BOOST_CHECK(cache.find(1, "cold-49"));  // just inserted
  BOOST_CHECK_GT(cache.stats().dropped, 40u);
  // A value handed out stays valid after its entry is dropped or cleared.
  auto held = cache.find(1, "hot");
  cache.clear();
  BOOST_CHECK_EQUAL(cache.stats().entries, 0u);
  BOOST_CHECK(!cache.find(1, "hot"));
  BOOST_CHECK_EQUAL(text_of(*held), "hot");
}

// Rotations and promotions racing (a promotion once found its entry rotated
// away between the shared and the exclusive lock): every hit is still right.
BOOST_AUTO_TEST_CASE(survives_racing_rotations) {
  DecryptionCache cache(4);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int n = 0; n < 3000; ++n) {
        const std::string ct = "ct-" + std::to_string((n * 7 + t) % 10);
        if (auto hit = cache.find(1, ct)) {
          if (text_of(*hit) != "pt-" + ct) ++wrong;
        } else {
          cache.insert(1, ct, bytes_of("pt-" + ct));
        }
      }
    });
  for (auto& th : threads) th.join();
  BOOST_CHECK_EQUAL(wrong.load(), 0);
  BOOST_CHECK_LE(cache.stats().entries, 4u);
}

BOOST_AUTO_TEST_CASE(capacity_zero_disables_it) {
  DecryptionCache cache(0);
  cache.insert(1, "aa", bytes_of("x"));
  BOOST_CHECK(!cache.find(1, "aa"));
  BOOST_CHECK_EQUAL(cache.stats().entries, 0u);
}

BOOST_AUTO_TEST_CASE(sealer_answers_the_same_with_and_without_cache) {
  World w;
  EntitySealer cached(w.keychain, w.rng);
  EntitySealer uncached(w.keychain, w.rng, {}, /*decryption_cache_capacity=*/0);
  Corpus corpus = seal_corpus(w, cached, 3);
  for (int reader = 0; reader < 2; ++reader) {
    for (int round = 0; round < 2; ++round) {  // second round: from the cache
      for (std::size_t i = 0; i < corpus.patients.size(); ++i) {
        auto a = cached.unseal_patient(w.dir, World::hcp(reader), corpus.patients[i]);
        auto b = uncached.unseal_patient(w.dir, World::hcp(reader), corpus.patients[i]);
        BOOST_REQUIRE(a.ok() && b.ok());
        BOOST_CHECK_EQUAL(serialized(*a), serialized(*b));
        BOOST_CHECK_EQUAL(a->note.value_or(""), make_patient(static_cast<int>(i)).note.value());
        auto ca = cached.unseal_contact(w.dir, World::hcp(reader), corpus.contacts[i]);
        auto cb = uncached.unseal_contact(w.dir, World::hcp(reader), corpus.contacts[i]);
        BOOST_REQUIRE(ca.ok() && cb.ok());
        BOOST_CHECK_EQUAL(serialized(*ca), serialized(*cb));
        auto ids = cached.patient_secret_ids(w.dir, World::hcp(reader), corpus.patients[i]);
        auto ids_b = uncached.patient_secret_ids(w.dir, World::hcp(reader), corpus.patients[i]);
        BOOST_REQUIRE(ids.ok() && ids_b.ok());
        BOOST_CHECK(*ids == *ids_b);
        auto pid = cached.contact_patient_id(w.dir, World::hcp(reader), corpus.contacts[i]);
        BOOST_REQUIRE(pid.ok());
        BOOST_CHECK_EQUAL(*pid, *corpus.patients[i].id);
      }
    }
  }
  BOOST_CHECK_GT(cached.decryption_cache_stats().hits, 0u);
  BOOST_CHECK_EQUAL(uncached.decryption_cache_stats().entries, 0u);
}

// A bulk import seals without remembering (remember_entries = false): the
// cache stays empty, and the entities read the same as remembered ones.
BOOST_AUTO_TEST_CASE(sealing_without_remembering_leaves_the_cache_empty) {
  World w;
  EntitySealer sealer(w.keychain, w.rng);
  icure::Patient p = make_patient(1);
  BOOST_REQUIRE(sealer.seal_new_patient(w.dir, World::hcp(0), p, {World::hcp(1)}, false).ok());
  icure::Contact c = make_contact(1);
  BOOST_REQUIRE(
      sealer.seal_new_contact_of(w.dir, World::hcp(0), c, *p.id, {"secret"}, {World::hcp(1)}, false)
          .ok());
  BOOST_CHECK_EQUAL(sealer.decryption_cache_stats().entries, 0u);
  auto patient = sealer.unseal_patient(w.dir, World::hcp(1), p);
  BOOST_REQUIRE(patient.ok());
  BOOST_CHECK_EQUAL(*patient->note, "note 1 é");
  auto contact = sealer.unseal_contact(w.dir, World::hcp(1), c);
  BOOST_REQUIRE(contact.ok());
  BOOST_CHECK_EQUAL(*contact->descr, "Consultation 1");
  BOOST_CHECK(*sealer.contact_patient_id(w.dir, World::hcp(0), c) == *p.id);
  BOOST_CHECK_GT(sealer.decryption_cache_stats().entries, 0u);  // reads still fill it

  // Remembering (the default) fills it at sealing: the first read is warm.
  EntitySealer remembering(w.keychain, w.rng);
  icure::Patient q = make_patient(2);
  BOOST_REQUIRE(remembering.seal_new_patient(w.dir, World::hcp(0), q).ok());
  const auto before = remembering.decryption_cache_stats();
  BOOST_CHECK_GT(before.entries, 0u);
  BOOST_REQUIRE(remembering.unseal_patient(w.dir, World::hcp(0), q).ok());
  BOOST_CHECK_GT(remembering.decryption_cache_stats().hits, before.hits);
}

BOOST_AUTO_TEST_CASE(another_ciphertext_is_never_answered_from_the_cache) {
  World w;
  EntitySealer sealer(w.keychain, w.rng);
  Corpus corpus = seal_corpus(w, sealer, 2);
  auto first = sealer.patient_secret_ids(w.dir, World::hcp(0), corpus.patients[0]);
  auto second = sealer.patient_secret_ids(w.dir, World::hcp(0), corpus.patients[1]);
  BOOST_REQUIRE(first.ok() && second.ok());
  BOOST_CHECK(*first != *second);

  // Patient 1 with patient 0's delegation ciphertext: the answer follows the
  // ciphertext (patient 0's secret), as without a cache.
  icure::Patient swapped = corpus.patients[1];
  swapped.delegations = corpus.patients[0].delegations;
  auto from_swapped = sealer.patient_secret_ids(w.dir, World::hcp(0), swapped);
  BOOST_REQUIRE(from_swapped.ok());
  BOOST_CHECK(*from_swapped == *first);

  // A tampered ciphertext (last block changed) misses the cache and fails
  // like it does uncached, although the original is cached.
  icure::Patient tampered = corpus.patients[0];
  std::string& hex = *(*tampered.delegations)[World::hcp(0)].front().key;
  hex.back() = hex.back() == '0' ? '1' : '0';
  EntitySealer uncached(w.keychain, w.rng, {}, 0);
  auto a = sealer.patient_secret_ids(w.dir, World::hcp(0), tampered);
  auto b = uncached.patient_secret_ids(w.dir, World::hcp(0), tampered);
  BOOST_CHECK_EQUAL(a.ok(), b.ok());
  if (a.ok() && b.ok()) BOOST_CHECK(*a == *b);
  if (a.ok()) BOOST_CHECK(*a != *first);
}

BOOST_AUTO_TEST_CASE(cached_entries_need_the_readers_key_in_the_keychain) {
  World w;
  EntitySealer sealer(w.keychain, w.rng);
  Corpus corpus = seal_corpus(w, sealer, 1);
  BOOST_REQUIRE(sealer.unseal_patient(w.dir, World::hcp(1), corpus.patients[0]).ok());
  BOOST_REQUIRE(sealer.unseal_contact(w.dir, World::hcp(1), corpus.contacts[0]).ok());
  w.keychain.drop(World::hcp(1));
  auto p = sealer.unseal_patient(w.dir, World::hcp(1), corpus.patients[0]);
  BOOST_CHECK(p.status().code() == StatusCode::key_missing);
  auto c = sealer.contact_patient_id(w.dir, World::hcp(1), corpus.contacts[0]);
  BOOST_CHECK(c.status().code() == StatusCode::key_missing);
  // hcp-1 still reads; clear_caches() forgets everything and reads still work.
  BOOST_CHECK(sealer.unseal_patient(w.dir, World::hcp(0), corpus.patients[0]).ok());
  sealer.clear_caches();
  BOOST_CHECK_EQUAL(sealer.decryption_cache_stats().entries, 0u);
  BOOST_CHECK(sealer.unseal_patient(w.dir, World::hcp(0), corpus.patients[0]).ok());
}

// Unsealed patients are remembered per reader for one sealed version (id, rev
// and encryptedSelf): reading it again decrypts nothing; any other version,
// another reader or a dropped key is not answered from memory.
BOOST_FIXTURE_TEST_CASE(unsealed_patients_are_remembered_for_one_sealed_version, VersionedCorpus) {
  auto first =
      unseal_twice([&] { return sealer.unseal_patient(w.dir, World::hcp(1), corpus.patients[0]); });
  auto before = lookups();

  // Another reader: its own entry, decrypted.
  BOOST_REQUIRE(sealer.unseal_patient(w.dir, World::hcp(0), corpus.patients[0]).ok());
  BOOST_CHECK_GT(lookups(), before);

  // A new rev of the same patient: decrypted again.
  icure::Patient next_rev = corpus.patients[0];
  next_rev.rev = "2-b";
  before = lookups();
  BOOST_REQUIRE(sealer.unseal_patient(w.dir, World::hcp(1), next_rev).ok());
  BOOST_CHECK_GT(lookups(), before);

  // The same id and rev with another encryptedSelf (tampered): answered as
  // without any cache, never with the remembered patient.
  icure::Patient swapped = corpus.patients[0];
  swapped.encryptedSelf = corpus.patients[1].encryptedSelf;
  auto a = sealer.unseal_patient(w.dir, World::hcp(1), swapped);
  auto b = uncached.unseal_patient(w.dir, World::hcp(1), swapped);
  BOOST_CHECK_EQUAL(a.ok(), b.ok());
  if (a.ok() && b.ok()) BOOST_CHECK_EQUAL(serialized(*a), serialized(*b));
  if (a.ok()) BOOST_CHECK(a->note != first->note);

  // A reader whose key left the keychain gets key_missing, remembered or not.
  w.keychain.drop(World::hcp(1));
  auto dropped = sealer.unseal_patient(w.dir, World::hcp(1), corpus.patients[0]);
  BOOST_CHECK(dropped.status().code() == StatusCode::key_missing);

  // clear_caches() forgets it: the next read decrypts.
  BOOST_REQUIRE(sealer.unseal_patient(w.dir, World::hcp(0), corpus.patients[0]).ok());
  sealer.clear_caches();
  before = lookups();
  BOOST_REQUIRE(sealer.unseal_patient(w.dir, World::hcp(0), corpus.patients[0]).ok());
  BOOST_CHECK_GT(lookups(), before);
}

// The same for contacts, whose version includes every service's encryptedSelf.
BOOST_FIXTURE_TEST_CASE(unsealed_contacts_are_remembered_for_one_sealed_version, VersionedCorpus) {
  auto first =
      unseal_twice([&] { return sealer.unseal_contact(w.dir, World::hcp(1), corpus.contacts[0]); });

  // One service's ciphertext replaced (same id and rev): as without a cache.
  icure::Contact swapped = corpus.contacts[0];
  (*swapped.services)[0].encryptedSelf = (*corpus.contacts[1].services)[0].encryptedSelf;
  auto a = sealer.unseal_contact(w.dir, World::hcp(1), swapped);
  auto b = uncached.unseal_contact(w.dir, World::hcp(1), swapped);
  BOOST_CHECK_EQUAL(a.ok(), b.ok());
  if (a.ok() && b.ok()) BOOST_CHECK_EQUAL(serialized(*a), serialized(*b));
  if (a.ok()) BOOST_CHECK(serialized(*a) != serialized(*first));
  // A service more (or less) is another version too.
  icure::Contact longer = corpus.contacts[0];
  longer.services->push_back((*corpus.contacts[0].services)[0]);
  auto c = sealer.unseal_contact(w.dir, World::hcp(1), longer);
  BOOST_REQUIRE(c.ok());
  BOOST_CHECK_EQUAL(c->services->size(), 2u);

  w.keychain.drop(World::hcp(1));
  auto dropped = sealer.unseal_contact(w.dir, World::hcp(1), corpus.contacts[0]);
  BOOST_CHECK(dropped.status().code() == StatusCode::key_missing);
}

BOOST_AUTO_TEST_CASE(a_tiny_cache_still_answers_right) {
  World w;
  EntitySealer sealer(w.keychain, w.rng, {}, /*decryption_cache_capacity=*/2);
  EntitySealer uncached(w.keychain, w.rng, {}, 0);
  Corpus corpus = seal_corpus(w, sealer, 4);
  for (int round = 0; round < 3; ++round)
    for (std::size_t i = 0; i < corpus.patients.size(); ++i) {
      auto a = sealer.unseal_patient(w.dir, World::hcp(1), corpus.patients[i]);
      auto b = uncached.unseal_patient(w.dir, World::hcp(1), corpus.patients[i]);
      BOOST_REQUIRE(a.ok() && b.ok());
      BOOST_CHECK_EQUAL(serialized(*a), serialized(*b));
      BOOST_CHECK_LE(sealer.decryption_cache_stats().entries, 2u);
    }
  BOOST_CHECK_GT(sealer.decryption_cache_stats().dropped, 0u);
}

// 8 threads unseal the same and different entities at once (and one thread
// keeps sealing new patients, which the contract allows alongside reads): every
// answer equals the single-threaded one. Run under TSan by build-tsan.
BOOST_AUTO_TEST_CASE(eight_threads_unseal_like_one) {
  World w;
  EntitySealer sealer(w.keychain, w.rng, {}, /*decryption_cache_capacity=*/16);  // evicts too
  constexpr int kEntities = 12;
  Corpus corpus = seal_corpus(w, sealer, kEntities);

  struct Expected {
    std::string patient, contact, patient_id;
    std::vector<std::string> secret_ids;
  };
  std::vector<Expected> expected(kEntities);
  {
    EntitySealer reference(w.keychain, w.rng, {}, 0);
    for (int i = 0; i < kEntities; ++i) {
      const std::string reader = World::hcp(i % 2);
      expected[i].patient =
          serialized(*reference.unseal_patient(w.dir, reader, corpus.patients[i]));
      expected[i].contact =
          serialized(*reference.unseal_contact(w.dir, reader, corpus.contacts[i]));
      expected[i].patient_id = *reference.contact_patient_id(w.dir, reader, corpus.contacts[i]);
      expected[i].secret_ids = *reference.patient_secret_ids(w.dir, reader, corpus.patients[i]);
    }
  }

  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int n = 0; n < 60; ++n) {
        // Even threads hammer entity 0; odd ones walk through all of them.
        const int i = t % 2 == 0 ? 0 : (t + n) % kEntities;
        const std::string reader = World::hcp(i % 2);
        auto p = sealer.unseal_patient(w.dir, reader, corpus.patients[i]);
        auto c = sealer.unseal_contact(w.dir, reader, corpus.contacts[i]);
        auto id = sealer.contact_patient_id(w.dir, reader, corpus.contacts[i]);
        auto ids = sealer.patient_secret_ids(w.dir, reader, corpus.patients[i]);
        if (!p.ok() || serialized(*p) != expected[i].patient) ++mismatches;
        if (!c.ok() || serialized(*c) != expected[i].contact) ++mismatches;
        if (!id.ok() || *id != expected[i].patient_id) ++mismatches;
        if (!ids.ok() || *ids != expected[i].secret_ids) ++mismatches;
      }
    });
  // The writer: seals under its own (single) serialisation while readers run;
  // the exchange keys exist already, so the directory is only read.
  int sealed_while_reading = 0;
  std::thread writer([&] {
    for (int n = 0; n < 10; ++n) {
      icure::Patient p = make_patient(100 + n);
      if (sealer.seal_new_patient(w.dir, World::hcp(0), p, {World::hcp(1)}).ok())
        ++sealed_while_reading;
    }
  });
  for (auto& th : threads) th.join();
  writer.join();
  BOOST_CHECK_EQUAL(mismatches.load(), 0);
  BOOST_CHECK_EQUAL(sealed_while_reading, 10);
}

BOOST_AUTO_TEST_SUITE_END()
