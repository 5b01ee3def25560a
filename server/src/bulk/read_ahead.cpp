// ReadAhead: see read_ahead.hpp.
#include "read_ahead.hpp"

#include <algorithm>
#include <utility>

namespace fhirbridge::server::bulk::detail {

ReadAhead::ReadAhead(std::size_t max_ahead, Read read)
    : max_chunks_(std::max<std::size_t>(1, (max_ahead + kChunkEvents - 1) / kChunkEvents)),
      thread_([this, read = std::move(read)] { run(read); }) {}

ReadAhead::~ReadAhead() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void ReadAhead::run(const Read& read) {
  std::vector<ReadEvent> chunk;
  try {
    read([&](ReadEvent&& event) {
      if (stopping_.load(std::memory_order_relaxed)) return false;
      chunk.push_back(std::move(event));
      return chunk.size() < kChunkEvents || hand_over(chunk);
    });
  } catch (...) {
    std::lock_guard lock(mutex_);
    failure_ = std::current_exception();
  }
  // Also after a throw: what was read before it is written first, as on one
  // thread (next() rethrows only once every event was taken).
  if (!chunk.empty()) hand_over(chunk);
  {
    std::lock_guard lock(mutex_);
    finished_ = true;
  }
  changed_.notify_all();
}

bool ReadAhead::hand_over(std::vector<ReadEvent>& chunk) {
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return stopping_ || ready_.size() < max_chunks_; });
    if (stopping_) return false;
    ready_.push_back(std::move(chunk));
  }
  changed_.notify_all();
  chunk = {};
  chunk.reserve(kChunkEvents);
  return true;
}

bool ReadAhead::next(std::vector<ReadEvent>& chunk) {
  chunk.clear();
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !ready_.empty() || finished_; });
    if (ready_.empty()) {
      if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
      return false;
    }
    chunk = std::move(ready_.front());
    ready_.pop_front();
  }
  changed_.notify_all();
  return true;
}

}  // namespace fhirbridge::server::bulk::detail
