#include "fhirbridge/server/detail/write_pool.hpp"

#include <algorithm>

namespace fhirbridge::server::detail {

WritePool::WritePool(unsigned threads) {
  workers_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) workers_.push_back(std::make_unique<Worker>());
  // Started after every Worker exists: run() only touches its own.
  for (auto& w : workers_) w->thread = std::thread([this, worker = w.get()] { run(*worker); });
}

WritePool::~WritePool() {
  join();
}

void WritePool::post(std::function<void()> job) {
  Worker* handed_to = nullptr;
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      handed_to = idle_.back();
      idle_.pop_back();
      handed_to->job = std::move(job);
    } else {
      queue_.push_back(std::move(job));
    }
  }
  // Woken after the unlock, so that it does not wake only to wait for mutex_
  // (Workers live as long as the pool; a spurious extra wake-up is harmless).
  if (handed_to) handed_to->wake.notify_one();
}

void WritePool::join() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (Worker* worker : idle_) worker->wake.notify_one();
  }
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
}

std::size_t WritePool::idle_threads() {
  std::lock_guard lock(mutex_);
  return idle_.size();
}

void WritePool::run(Worker& worker) {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (!worker.job) {
      if (!queue_.empty()) {
        worker.job = std::move(queue_.front());
        queue_.pop_front();
      } else if (stopping_) {
        return;
      } else {
        idle_.push_back(&worker);
        worker.wake.wait(lock, [&] { return worker.job || stopping_; });
        if (!worker.job) {  // stopping, and nothing was handed over
          std::erase(idle_, &worker);
          continue;  // drains the queue first
        }
      }
    }
    std::function<void()> job = std::move(worker.job);
    worker.job = nullptr;
    lock.unlock();
    try {
      job();
    } catch (...) {
      // A job answers its own errors; one that throws must not end the thread.
    }
    job = nullptr;  // its captures die outside the lock
    lock.lock();
  }
}

}  // namespace fhirbridge::server::detail
