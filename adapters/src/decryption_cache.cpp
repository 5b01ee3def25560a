// Two-generation bounded cache of small decryptions (see the header).
#include "fhirbridge/crypto/decryption_cache.hpp"

#include <algorithm>
#include <mutex>
#include <utility>

namespace fhirbridge::crypto {

DecryptionCache::DecryptionCache(std::size_t capacity)
    : capacity_(capacity),
      generation_capacity_(capacity == 0 ? 0 : std::max<std::size_t>(1, capacity / 2)) {}

std::shared_ptr<const SecureBytes> DecryptionCache::find(std::uint64_t key_id,
                                                         std::string_view ciphertext) {
  if (capacity_ == 0) return nullptr;
  const KeyView key{key_id, ciphertext};
  {
    std::shared_lock lock(mutex_);
    if (auto it = current_.find(key); it != current_.end()) {
      hits_.fetch_add(1, std::memory_order_relaxed);
      return it->second;
    }
    if (previous_.find(key) == previous_.end()) {
      misses_.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
  }
  // In the previous generation: move it to the current one, so it survives
  // the next rotation. Looked up again: another thread may have moved it.
  Generation graveyard;  // destroyed after the lock is released
  std::unique_lock lock(mutex_);
  if (auto it = current_.find(key); it != current_.end()) {
    hits_.fetch_add(1, std::memory_order_relaxed);
    return it->second;
  }
  auto it = previous_.find(key);
  if (it == previous_.end()) {  // rotated away meanwhile
    misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  auto node = previous_.extract(it);
  hits_.fetch_add(1, std::memory_order_relaxed);
  std::shared_ptr<const SecureBytes> value = node.mapped();
  insert_locked(std::move(node.key()), value, graveyard);
  return value;
}

void DecryptionCache::insert(std::uint64_t key_id, std::string_view ciphertext,
                             SecureBytes plaintext) {
  if (capacity_ == 0) return;
  insert(key_id, ciphertext, std::make_shared<const SecureBytes>(std::move(plaintext)));
}

void DecryptionCache::insert(std::uint64_t key_id, std::string_view ciphertext,
                             std::shared_ptr<const SecureBytes> value) {
  if (capacity_ == 0 || !value) return;
  Generation graveyard;  // destroyed after the lock is released
  std::unique_lock lock(mutex_);
  if (current_.find(KeyView{key_id, ciphertext}) != current_.end()) return;
  if (auto old = previous_.find(KeyView{key_id, ciphertext}); old != previous_.end())
    previous_.erase(old);
  insert_locked(Key{key_id, std::string(ciphertext)}, std::move(value), graveyard);
}

void DecryptionCache::insert_locked(Key key, std::shared_ptr<const SecureBytes> value,
                                    Generation& graveyard) {
  if (current_.size() >= generation_capacity_) {
    dropped_.fetch_add(previous_.size(), std::memory_order_relaxed);
    // The old previous generation goes: its plaintexts are wiped by
    // secure_vector's allocator once no reader holds them any more.
    graveyard = std::move(previous_);
    previous_ = std::move(current_);
    current_ = Generation{};
    current_.reserve(generation_capacity_);
  }
  current_.emplace(std::move(key), std::move(value));
}

void DecryptionCache::clear() {
  Generation old_current, old_previous;  // destroyed after the lock is released
  std::unique_lock lock(mutex_);
  dropped_.fetch_add(current_.size() + previous_.size(), std::memory_order_relaxed);
  old_current.swap(current_);
  old_previous.swap(previous_);
}

DecryptionCache::Stats DecryptionCache::stats() const {
  Stats s;
  {
    std::shared_lock lock(mutex_);
    s.entries = current_.size() + previous_.size();
  }
  s.hits = hits_.load(std::memory_order_relaxed);
  s.misses = misses_.load(std::memory_order_relaxed);
  s.dropped = dropped_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace fhirbridge::crypto
