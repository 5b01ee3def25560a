// detail::WritePool: jobs run, the most recently idle thread takes the next
// one (so one-at-a-time requests stay on one thread), join() drains the queue.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <set>
#include <stdexcept>
#include <thread>

#include "fhirbridge/server/detail/write_pool.hpp"

using fhirbridge::server::detail::WritePool;

BOOST_AUTO_TEST_SUITE(write_pool)

BOOST_AUTO_TEST_CASE(jobs_posted_one_at_a_time_stay_on_one_thread) {
  WritePool pool(8);
  // Until every worker waits again (the last job's too: it then went idle
  // last). Waiting on the pool, not on a clock, holds on a loaded machine.
  auto all_idle = [&pool] {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (pool.idle_threads() < 8 && std::chrono::steady_clock::now() < give_up)
      std::this_thread::yield();
    return pool.idle_threads() == 8;
  };
  std::set<std::thread::id> threads;
  for (int i = 0; i < 50; ++i) {
    BOOST_REQUIRE(all_idle());
    std::promise<std::thread::id> ran;
    auto id = ran.get_future();
    pool.post([&ran] { ran.set_value(std::this_thread::get_id()); });
    threads.insert(id.get());
  }
  BOOST_TEST(threads.size() == 1u);
}

BOOST_AUTO_TEST_CASE(concurrent_jobs_use_several_threads_and_join_drains_the_queue) {
  std::atomic<int> ran{0};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  {
    WritePool pool(4);
    std::atomic<int> started{0};
    for (int i = 0; i < 4; ++i)
      pool.post([&] {
        ++started;
        released.wait();
        ++ran;
      });
    for (int i = 0; i < 20; ++i) pool.post([&] { ++ran; });  // queued behind the four
    while (started.load() < 4) std::this_thread::yield();    // all four threads busy at once
    pool.post([] { throw std::runtime_error("a throwing job does not end its thread"); });
    release.set_value();
    pool.join();
    BOOST_TEST(ran.load() == 24);
  }
}

BOOST_AUTO_TEST_SUITE_END()
