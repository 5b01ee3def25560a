#include "search_cache.hpp"

#include "fhirbridge/server/detail/search_plan.hpp"

namespace fhirbridge::server::detail {

namespace {

// Each part with its length first, so that no value can pass for two.
void append_part(std::string& key, std::string_view part) {
  key += std::to_string(part.size());
  key += ':';
  key += part;
}

// A Bundle serialised by the search starts with its type and then its id.
constexpr std::string_view kBundleStart = R"({"resourceType":"Bundle","id":")";

bool plain_id(std::string_view id) {
  return id.find_first_of("\"\\") == std::string_view::npos;
}

}  // namespace

SearchCache::SearchCache(std::size_t max_entries, std::size_t max_bytes)
    : max_entries_(max_entries), max_bytes_(max_bytes) {}

std::string SearchCache::key(const storage::Principal& who, std::string_view type,
                             const std::vector<QueryParam>& params, const SearchOptions& options) {
  std::string key;
  key.reserve(128);
  append_part(key, who.hcp_id);
  append_part(key, who.user_id);
  append_part(key, type);
  append_part(key, options.base_url);
  append_part(key, options.strict ? "strict" : "lenient");
  append_part(key, std::to_string(options.default_count));
  append_part(key, std::to_string(options.max_count));
  // The parameters as the Bundle's self link spells them (each part encoded).
  append_part(key, encode_query(params));
  return key;
}

std::optional<SearchCache::Answer> SearchCache::find(const std::string& key, std::uint64_t epoch,
                                                     const std::function<std::string()>& new_id) {
  looked_up_.fetch_add(1, std::memory_order_relaxed);
  Entry entry;
  {
    std::lock_guard lock(mutex_);
    if (epoch != epoch_) return std::nullopt;
    auto found = entries_.find(key);
    if (found == entries_.end()) return std::nullopt;
    entry = found->second;
  }
  answered_.fetch_add(1, std::memory_order_relaxed);
  Answer answer{std::move(entry.body), std::move(entry.warnings)};
  if (entry.id_size > 0 && new_id) {
    const std::string id = new_id();
    if (plain_id(id)) {
      const std::string& old = *answer.body;
      std::string body;
      body.reserve(old.size() - entry.id_size + id.size());
      body.append(old, 0, entry.id_begin);
      body += id;
      body.append(old, entry.id_begin + entry.id_size);
      answer.body = std::make_shared<const std::string>(std::move(body));
    }
  }
  return answer;
}

void SearchCache::put(std::string key, std::uint64_t epoch, const Answer& answer) {
  if (!enabled() || !answer.body || answer.body->size() > max_bytes_ / 8) return;
  Entry entry{answer.body, 0, 0, answer.warnings};
  const std::string_view body = *answer.body;
  if (body.starts_with(kBundleStart)) {
    const std::size_t end = body.find('"', kBundleStart.size());
    if (end != std::string_view::npos) {
      entry.id_begin = kBundleStart.size();
      entry.id_size = end - kBundleStart.size();
    }
  }
  const std::size_t size = body.size() + key.size();
  std::lock_guard lock(mutex_);
  if (epoch < epoch_) return;  // read before a commit another answer has seen
  if (epoch > epoch_ || entries_.size() >= max_entries_ || bytes_ + size > max_bytes_) {
    entries_.clear();
    bytes_ = 0;
    epoch_ = epoch;
  }
  auto [it, inserted] = entries_.try_emplace(std::move(key), std::move(entry));
  if (inserted) bytes_ += size;
}

}  // namespace fhirbridge::server::detail
