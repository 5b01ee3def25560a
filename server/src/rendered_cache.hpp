// The FHIR JSON of recently read resources, already serialised: a repeated
// GET of an unchanged resource skips mapping and serialisation (docs/server.md,
// "Read cache"). Consulted only after the store has answered the read itself
// (access, keychain, current rev), so it never decides who may read what.
#pragma once

#include <cstddef>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

namespace fhirbridge::server::detail {

class RenderedCache {
 public:
  struct Entry {
    std::string body;           // the resource, serialised
    std::string etag;           // W/"<generation>"
    std::string last_modified;  // FHIR instant
  };
  // Holds up to `capacity` entries and is emptied when full (like the sealer's
  // caches); 0 disables it.
  explicit RenderedCache(std::size_t capacity) : capacity_(capacity) {}

  bool enabled() const { return capacity_ > 0; }
  // Null when not remembered.
  std::shared_ptr<const Entry> find(const std::string& key) const;
  void remember(std::string key, std::shared_ptr<const Entry> entry);
  void clear();

 private:
  std::size_t capacity_;
  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const Entry>> entries_;
};

}  // namespace fhirbridge::server::detail
