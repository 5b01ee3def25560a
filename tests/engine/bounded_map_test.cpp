// fhirbridge::detail::BoundedMap: the bounded memory behind the caches of
// parsed, unsealed and rendered entities.
#include <boost/test/unit_test.hpp>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fhirbridge/detail/bounded_map.hpp"

using fhirbridge::detail::BoundedMap;

namespace {
std::optional<int> value_of(const BoundedMap<int>& map, const std::string& key) {
  return map.read(key, [](const int& v) { return std::optional<int>(v); });
}
}  // namespace

BOOST_AUTO_TEST_SUITE(bounded_map)

BOOST_AUTO_TEST_CASE(keeps_replaces_and_misses) {
  BoundedMap<int> map(4);
  BOOST_TEST(map.enabled());
  BOOST_TEST(!value_of(map, "a"));
  map.put("a", 1);
  map.put("b", 2);
  map.put("a", 3);
  BOOST_TEST(*value_of(map, "a") == 3);
  BOOST_TEST(*value_of(map, "b") == 2);
  BOOST_TEST(!value_of(map, "c"));
  // The reader decides what a hit is (e.g. a rev check) and what it copies out.
  BOOST_TEST(
      !map.read("a", [](const int& v) { return v == 1 ? std::optional<int>(v) : std::nullopt; }));
  map.clear();
  BOOST_TEST(!value_of(map, "a"));
}

BOOST_AUTO_TEST_CASE(is_emptied_when_full_but_not_by_a_replacement) {
  BoundedMap<int> map(2);
  map.put("a", 1);
  map.put("b", 2);
  map.put("b", 20);  // a replacement: the map is full but keeps "a"
  BOOST_TEST(*value_of(map, "a") == 1);
  map.put("c", 3);  // a third key: emptied first, then holds only "c"
  BOOST_TEST(!value_of(map, "a"));
  BOOST_TEST(!value_of(map, "b"));
  BOOST_TEST(*value_of(map, "c") == 3);
}

BOOST_AUTO_TEST_CASE(capacity_zero_keeps_nothing) {
  BoundedMap<int> map(0);
  BOOST_TEST(!map.enabled());
  map.put("a", 1);
  BOOST_TEST(!value_of(map, "a"));
}

BOOST_AUTO_TEST_CASE(dropped_values_outlive_the_map_while_shared) {
  BoundedMap<std::shared_ptr<const std::string>> map(1);
  map.put("a", std::make_shared<const std::string>("kept by a reader"));
  auto held = map.read("a", [](const auto& v) { return v; });
  map.put("b", std::make_shared<const std::string>("other"));  // "a" is dropped
  BOOST_TEST(*held == "kept by a reader");
}

BOOST_AUTO_TEST_CASE(concurrent_reads_and_writes) {
  BoundedMap<int> map(64);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&map, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string key = std::to_string((i * 7 + t) % 100);
        if (i % 3 == 0)
          map.put(key, i);
        else
          (void)value_of(map, key);
      }
    });
  for (auto& thread : threads) thread.join();
  BOOST_TEST(map.read("none", [](const int&) { return true; }) == false);
}

BOOST_AUTO_TEST_SUITE_END()
