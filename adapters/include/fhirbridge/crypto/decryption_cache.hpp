// A bounded, thread-safe memory of small AES decryptions (delegations,
// encryptionKeys, cryptedForeignKeys entries), so that reading the same entity
// again skips the hex decoding and the AES. See docs/crypto.md ("Caches").
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "fhirbridge/crypto/primitives.hpp"

namespace fhirbridge::crypto {

// Keyed by exactly what was decrypted: the identity of the AES key (`key_id`,
// which the caller gives one value per distinct key, never reused) and the
// ciphertext text itself. A different ciphertext or key is a different entry,
// so an answer can never be stale.
//
// Bounded by two generations: entries go into the current one; when it holds
// capacity/2 entries it becomes the previous one and the old previous one is
// dropped. A hit in the previous generation moves the entry back into the
// current one, so entities read regularly stay (an approximate LRU without a
// list to update on every hit). Dropped plaintexts are SecureBytes: zeroed
// when the last reader releases them. Capacity 0 disables the cache.
//
// Thread-safe: any member may be called from several threads at once (hits
// take a shared lock; inserts and promotions an exclusive one).
class DecryptionCache {
 public:
  static constexpr std::size_t kDefaultCapacity = 100000;
  explicit DecryptionCache(std::size_t capacity = kDefaultCapacity);

  // The plaintext cached for (key_id, ciphertext), or nullptr.
  std::shared_ptr<const SecureBytes> find(std::uint64_t key_id, std::string_view ciphertext);
  void insert(std::uint64_t key_id, std::string_view ciphertext, SecureBytes plaintext);
  void insert(std::uint64_t key_id, std::string_view ciphertext,
              std::shared_ptr<const SecureBytes> plaintext);
  void clear();

  struct Stats {
    std::size_t entries = 0;  // now, both generations
    std::uint64_t hits = 0, misses = 0, dropped = 0;
  };
  Stats stats() const;
  std::size_t capacity() const { return capacity_; }

 private:
  struct Key {
    std::uint64_t key_id;
    std::string ciphertext;
  };
  struct KeyView {
    std::uint64_t key_id;
    std::string_view ciphertext;
  };
  static KeyView view(const Key& k) { return {k.key_id, k.ciphertext}; }
  static KeyView view(const KeyView& k) { return k; }
  struct Hash {
    using is_transparent = void;
    template <typename K>
    std::size_t operator()(const K& k) const {
      const KeyView v = view(k);
      return std::hash<std::string_view>{}(v.ciphertext) ^ (v.key_id * 0x9e3779b97f4a7c15ULL);
    }
  };
  struct Equal {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      const KeyView x = view(a), y = view(b);
      return x.key_id == y.key_id && x.ciphertext == y.ciphertext;
    }
  };
  using Generation = std::unordered_map<Key, std::shared_ptr<const SecureBytes>, Hash, Equal>;

  // Adds to the current generation, rotating first when it is full (the
  // dropped generation goes to `graveyard`, freed by the caller after
  // unlocking); caller holds the exclusive lock.
  void insert_locked(Key key, std::shared_ptr<const SecureBytes> value, Generation& graveyard);

  const std::size_t capacity_;
  const std::size_t generation_capacity_;
  mutable std::shared_mutex mutex_;
  Generation current_, previous_;
  std::atomic<std::uint64_t> hits_{0}, misses_{0}, dropped_{0};
};

}  // namespace fhirbridge::crypto
