// Searchset Bundles answered over HTTP, kept for as long as the store says
// nothing was committed since they were read (Store::change_epoch): a repeated
// search (a dashboard polling a list, the same page asked again) skips the
// store's search, the unsealing and the Bundle's assembly (docs/server.md,
// "Search cache"). Never stale: after any commit, by this server or another
// process on the same file, no entry is served. Who may read what is not decided here: the
// key holds the reader, and a hit still needs the reader's key in the keychain.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fhirbridge/server/search.hpp"
#include "fhirbridge/storage/store.hpp"

namespace fhirbridge::server::detail {

class SearchCache {
 public:
  // Up to `max_entries` answers and `max_bytes` of their bodies (a body larger
  // than an eighth of that is not kept); emptied when full. 0 entries: off.
  // Not a detail::BoundedMap: answers run from a few KB to megabytes
  // (_count=1000), so the bytes are bounded too, and one epoch for all entries
  // lets a newer one drop the old at once.
  SearchCache(std::size_t max_entries, std::size_t max_bytes);

  bool enabled() const { return max_entries_ > 0; }

  // Everything a searchset answer depends on besides the store's data: the
  // reader, the type, the parameters (in their order: another order is another
  // entry) and the options that shape the Bundle (base URL, strictness, page sizes).
  static std::string key(const storage::Principal& who, std::string_view type,
                         const std::vector<QueryParam>& params, const SearchOptions& options);

  struct Answer {
    std::shared_ptr<const std::string> body;  // the serialised searchset Bundle
    std::vector<std::string> warnings;
  };
  // The answer kept under `key` at `epoch`, its Bundle.id replaced with
  // new_id() (each answer has an id of its own); nullopt when there is none.
  std::optional<Answer> find(const std::string& key, std::uint64_t epoch,
                             const std::function<std::string()>& new_id);
  // Keeps `answer` as read at `epoch` (a change epoch taken before the search
  // read anything). An older epoch than the newest seen is not kept; a newer
  // one drops every entry (they can no longer be served).
  void put(std::string key, std::uint64_t epoch, const Answer& answer);

  // Since construction: find() calls, and those that found an answer.
  std::uint64_t looked_up() const { return looked_up_.load(std::memory_order_relaxed); }
  std::uint64_t answered() const { return answered_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    std::shared_ptr<const std::string> body;
    std::size_t id_begin = 0, id_size = 0;  // Bundle.id's text in body (size 0: none)
    std::vector<std::string> warnings;
  };
  const std::size_t max_entries_, max_bytes_;
  mutable std::mutex mutex_;
  std::uint64_t epoch_ = 0;
  std::size_t bytes_ = 0;
  std::unordered_map<std::string, Entry> entries_;
  std::atomic<std::uint64_t> looked_up_{0}, answered_{0};
};

}  // namespace fhirbridge::server::detail
