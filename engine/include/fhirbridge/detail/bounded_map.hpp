// A thread-safe map by string key that holds at most `capacity` entries and
// is emptied when full: the memory behind the caches of parsed, unsealed and
// rendered entities, whose working sets refill them after a reset. Cheaper
// than an LRU (no list to update on a hit); see crypto::DecryptionCache for a
// two-generation variant where losing hot entries matters more.
#pragma once

#include <cstddef>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>

namespace fhirbridge::detail {

template <typename Value>
class BoundedMap {
 public:
  // Capacity 0 disables the map: nothing is kept, every lookup misses.
  explicit BoundedMap(std::size_t capacity) : capacity_(capacity) {}

  bool enabled() const { return capacity_ > 0; }
  std::size_t capacity() const { return capacity_; }

  // `read(value)` for the entry under `key`, called under a shared lock so that
  // it may compare and copy out only what it needs; a default-constructed
  // result when there is no such entry.
  template <typename Read>
  auto read(const std::string& key, Read read) const -> std::invoke_result_t<Read, const Value&> {
    using Answer = std::invoke_result_t<Read, const Value&>;
    if (!enabled()) return Answer{};
    std::shared_lock lock(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return Answer{};
    return read(it->second);
  }

  // Keeps `value` under `key`, replacing any previous one; a full map is
  // emptied first. Dropped values are destroyed after the lock is released.
  void put(std::string key, Value value) {
    if (!enabled()) return;
    std::unordered_map<std::string, Value> dropped;
    std::unique_lock lock(mutex_);
    if (entries_.size() >= capacity_ && !entries_.count(key)) dropped.swap(entries_);
    entries_.insert_or_assign(std::move(key), std::move(value));
  }

  void clear() {
    std::unordered_map<std::string, Value> dropped;
    std::unique_lock lock(mutex_);
    dropped.swap(entries_);
  }

 private:
  const std::size_t capacity_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, Value> entries_;
};

}  // namespace fhirbridge::detail
