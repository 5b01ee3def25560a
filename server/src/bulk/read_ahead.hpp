// Runs an import's reading (ImportReader: parse + map, ~10% of an import's
// CPU) on a thread of its own, a few chunks of events ahead of the
// Importer, which writes them: on two cores the two halves overlap
// (docs/bulk.md). Bounded: the reader waits while `max_ahead` events wait to
// be taken (one batch: it reads the next batch while the last is written), so
// memory does not grow with the file.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "import_reader.hpp"

namespace fhirbridge::server::bulk::detail {

class ReadAhead {
 public:
  static constexpr std::size_t kChunkEvents = 64;

  // Calls `read(sink)` on the reading thread; `sink` returns false once the
  // Importer stopped taking events (read should then return).
  using Read = std::function<void(const ImportReader::Sink& sink)>;
  ReadAhead(std::size_t max_ahead, Read read);
  // Stops the reader at its next event and joins it.
  ~ReadAhead();
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // Moves the next events, in order, into `chunk`; false once reading ended
  // and every event was taken. Rethrows what the reading thread threw.
  bool next(std::vector<ReadEvent>& chunk);

 private:
  void run(const Read& read);
  bool hand_over(std::vector<ReadEvent>& chunk);

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::vector<ReadEvent>> ready_;
  bool finished_ = false;  // the reader returned (or threw)
  // The Importer takes no more. Set under mutex_ (so a waiting hand-over
  // cannot miss it); read by the reader at every event without the lock.
  std::atomic<bool> stopping_{false};
  std::exception_ptr failure_;
  const std::size_t max_chunks_;
  std::thread thread_;  // last: started once the rest exists
};

}  // namespace fhirbridge::server::bulk::detail
