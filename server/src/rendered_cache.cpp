#include "rendered_cache.hpp"

#include <mutex>

namespace fhirbridge::server::detail {

std::shared_ptr<const RenderedCache::Entry> RenderedCache::find(const std::string& key) const {
  if (!enabled()) return nullptr;
  std::shared_lock lock(mutex_);
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : it->second;
}

void RenderedCache::remember(std::string key, std::shared_ptr<const Entry> entry) {
  if (!enabled()) return;
  std::unique_lock lock(mutex_);
  if (entries_.size() >= capacity_) entries_.clear();
  entries_.insert_or_assign(std::move(key), std::move(entry));
}

void RenderedCache::clear() {
  std::unique_lock lock(mutex_);
  entries_.clear();
}

}  // namespace fhirbridge::server::detail
