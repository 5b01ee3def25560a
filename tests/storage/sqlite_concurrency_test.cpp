// SqliteStore under concurrent callers: parallel readers beside a writer,
// group commit (one failing write among grouped ones), a bounded WAL.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store_fixture.hpp"

using namespace fhirbridge;
using namespace fhirbridge::test;
using storage::SqliteStoreOptions;

namespace {

// "Version<n>" -> n (-1 for anything else).
int version_of(const std::optional<std::string>& family) {
  const std::string prefix = "Version";
  if (!family || family->rfind(prefix, 0) != 0) return -1;
  try {
    return std::stoi(family->substr(prefix.size()));
  } catch (...) {
    return -1;
  }
}

storage::PatientQuery family_prefix(const std::string& prefix) {
  storage::PatientQuery q;
  storage::TextCondition c;
  c.match = storage::TextMatch::prefix;
  c.any_of = {prefix};
  q.family = {c};
  q.page.limit = 5;
  q.page.count_up_to = -1;  // an exact total
  return q;
}

// Makes the next write (after arm()) wait inside its transaction until
// `followers` more writes are queued behind it: they then form groups
// deterministically. Not movable: the id generator points at it.
struct HeldLeader {
  HeldLeader(std::size_t followers, std::string id_prefix) {
    options.new_id = [this, followers, prefix = std::move(id_prefix)]() -> std::string {
      if (hold.exchange(false)) {
        inside = true;
        while (store->write_stats().queued < followers) std::this_thread::yield();
      }
      return prefix + std::to_string(ids++);
    };
  }
  HeldLeader(const HeldLeader&) = delete;
  HeldLeader& operator=(const HeldLeader&) = delete;
  void arm() { hold = true; }
  void wait_until_inside() const {
    while (!inside) std::this_thread::yield();
  }
  SqliteStoreOptions options;
  storage::SqliteStore* store = nullptr;  // set once the store is open
  std::atomic<bool> hold{false};
  std::atomic<bool> inside{false};
  std::atomic<int> ids{0};
};
}  // namespace

BOOST_AUTO_TEST_SUITE(sqlite_concurrency)

BOOST_AUTO_TEST_CASE(readers_see_old_or_new_versions_while_one_thread_writes) {
  SqliteStoreOptions options;
  options.read_connections = 3;
  StoreFixture f(options);
  auto created = f.store->create_patient(
      f.hcp1, make_patient("Version0", "Anna", "female", 19800101, "p-concurrent"));
  REQUIRE_OK(created);
  const std::string id = *created->id;

  constexpr int kVersions = 25;
  std::atomic<bool> writing{true};
  std::mutex errors_mutex;
  std::vector<std::string> errors;
  auto fail = [&](std::string what) {
    std::lock_guard lock(errors_mutex);
    errors.push_back(std::move(what));
  };

  std::thread writer([&] {
    icure::Patient current = *created;
    for (int v = 1; v <= kVersions; ++v) {
      current.lastName = "Version" + std::to_string(v);
      (*current.names)[0].lastName = current.lastName;
      auto updated = f.store->update_patient(f.hcp1, current);
      if (!updated.ok()) {
        fail("update " + std::to_string(v) + ": " + updated.status().to_string());
        break;
      }
      current = *updated;
      auto extra = f.store->create_patient(
          f.hcp1, make_patient("Extra", "E" + std::to_string(v), "male", 19900101));
      if (!extra.ok()) fail("create extra: " + extra.status().to_string());
    }
    writing = false;
  });

  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&, r] {
      int last_version = 0;
      std::int64_t last_extras = 0;
      // At least a few reads each, also after the writer finished.
      for (int i = 0; writing || i < 3; ++i) {
        // By the store id and (every other reader) by the FHIR id.
        auto patient = f.store->get_patient(f.hcp1, r % 2 ? id : "p-concurrent");
        if (!patient.ok()) {
          fail("get_patient: " + patient.status().to_string());
          return;
        }
        const int version = version_of(patient->lastName);
        if (version < 0 || version > kVersions || patient->note != "note of Anna Version0")
          fail("an unexpected patient: " + patient->lastName.value_or("?"));
        // Each read starts after the previous one ended: never an older snapshot.
        if (version < last_version)
          fail("version went back from " + std::to_string(last_version) + " to " +
               std::to_string(version));
        last_version = version;
        auto extras = f.store->find_patients(f.hcp1, family_prefix("extra"));
        if (!extras.ok()) {
          fail("find_patients: " + extras.status().to_string());
          return;
        }
        if (extras->total < last_extras || extras->total > kVersions)
          fail("extras count " + std::to_string(extras->total));
        last_extras = extras->total;
        reads += 2;
      }
    });
  }
  writer.join();
  for (auto& t : readers) t.join();
  BOOST_TEST_MESSAGE(reads << " reads during " << kVersions << " updates");
  for (const auto& e : errors) BOOST_ERROR(e);
  BOOST_TEST(errors.empty());

  auto final_patient = f.store->get_patient(f.hcp1, id);
  REQUIRE_OK(final_patient);
  BOOST_TEST(*final_patient->lastName == "Version" + std::to_string(kVersions));
  auto extras = f.store->find_patients(f.hcp1, family_prefix("extra"));
  REQUIRE_OK(extras);
  BOOST_TEST(extras->total == kVersions);
}

BOOST_AUTO_TEST_CASE(group_commit_rolls_back_only_the_failing_writes) {
  constexpr std::size_t kFollowers = 6;
  // The leader waits until every other write is queued: they form ONE group.
  HeldLeader held(kFollowers, "gc-");
  StoreFixture f(held.options);
  held.store = f.store.get();
  REQUIRE_OK(
      f.store->create_patient(f.hcp1, make_patient("Taken", "T", "male", 19700101, "taken")));
  const auto before = f.store->write_stats();

  held.arm();
  Status leader_outcome;
  std::thread leader([&] {
    leader_outcome =
        f.store->create_patient(f.hcp1, make_patient("Leader", "L", "male", 19700101)).status();
  });
  held.wait_until_inside();

  // Followers: four good creates, one conflicting create, one batch whose
  // second op fails after its first op wrote (the savepoint must undo both).
  std::vector<Status> outcomes(kFollowers);
  std::vector<std::thread> followers;
  for (std::size_t i = 0; i < kFollowers; ++i) {
    followers.emplace_back([&, i] {
      if (i == 4) {
        outcomes[i] =
            f.store->create_patient(f.hcp1, make_patient("Clash", "C", "female", 19700101, "taken"))
                .status();
      } else if (i == 5) {
        storage::WriteBatch batch;
        batch.ops.emplace_back(
            storage::CreatePatient{make_patient("Batched", "B", "female", 19700101, "batched-ok")});
        batch.ops.emplace_back(
            storage::CreatePatient{make_patient("Batched", "Clash", "female", 19700101, "taken")});
        outcomes[i] = f.store->apply(f.hcp1, batch).status();
      } else {
        outcomes[i] = f.store
                          ->create_patient(
                              f.hcp1, make_patient("Grouped", std::to_string(i), "male", 19700101))
                          .status();
      }
    });
  }
  leader.join();
  for (auto& t : followers) t.join();

  BOOST_TEST(leader_outcome.ok(), leader_outcome.to_string());
  for (std::size_t i = 0; i < 4; ++i) BOOST_TEST(outcomes[i].ok(), outcomes[i].to_string());
  BOOST_TEST((outcomes[4].code() == StatusCode::conflict), outcomes[4].to_string());
  BOOST_TEST((outcomes[5].code() == StatusCode::conflict), outcomes[5].to_string());
  const auto after = f.store->write_stats();
  // The leader's transaction, then one for all six followers.
  BOOST_TEST(after.commits - before.commits == 2u);
  BOOST_TEST(after.writes - before.writes == kFollowers + 1);

  auto grouped = f.store->find_patients(f.hcp1, family_prefix("grouped"));
  REQUIRE_OK(grouped);
  BOOST_TEST(grouped->total == 4);
  auto clash = f.store->find_patients(f.hcp1, family_prefix("clash"));
  REQUIRE_OK(clash);
  BOOST_TEST(clash->total == 0);
  auto batched = f.store->find_patients(f.hcp1, family_prefix("batched"));
  REQUIRE_OK(batched);
  BOOST_TEST(batched->total == 0);
  BOOST_TEST((f.store->get_patient(f.hcp1, "batched-ok").status().code() == StatusCode::not_found));
  REQUIRE_OK(f.store->get_patient(f.hcp1, "taken"));

  // Still durable across a reopen.
  f.open();
  auto reopened = f.store->find_patients(f.hcp1, family_prefix("grouped"));
  REQUIRE_OK(reopened);
  BOOST_TEST(reopened->total == 4);
}

BOOST_AUTO_TEST_CASE(more_queued_writes_than_one_group_takes_all_commit) {
  // 150 writes queue behind a held leader: groups of at most 64 (max_group)
  // take them in order, and every writer is woken with its own outcome,
  // although the leader that ran its write may wake it after it returned.
  constexpr std::size_t kFollowers = 150;
  HeldLeader held(kFollowers, "mg-");
  StoreFixture f(held.options);
  held.store = f.store.get();
  const auto before = f.store->write_stats();
  held.arm();
  Status leader_outcome;
  std::thread leader([&] {
    leader_outcome =
        f.store->create_patient(f.hcp1, make_patient("Many", "L", "male", 19700101)).status();
  });
  held.wait_until_inside();
  std::vector<Status> outcomes(kFollowers);
  std::vector<std::thread> followers;
  for (std::size_t i = 0; i < kFollowers; ++i)
    followers.emplace_back([&, i] {
      outcomes[i] = f.store
                        ->create_patient(f.hcp1, make_patient("Many", "F" + std::to_string(i),
                                                              "female", 19700101))
                        .status();
    });
  leader.join();
  for (auto& t : followers) t.join();
  BOOST_TEST(leader_outcome.ok(), leader_outcome.to_string());
  for (const auto& outcome : outcomes) BOOST_TEST(outcome.ok(), outcome.to_string());
  const auto after = f.store->write_stats();
  BOOST_TEST(after.writes - before.writes == kFollowers + 1);
  // The leader alone, then 64 + 64 + 22.
  BOOST_TEST(after.commits - before.commits == 4u);
  BOOST_TEST(after.queued == 0u);
  auto all = f.store->find_patients(f.hcp1, family_prefix("many"));
  REQUIRE_OK(all);
  BOOST_TEST(all->total == static_cast<std::int64_t>(kFollowers + 1));
}

// WriteStats::group_time is the writer's wall time in write groups: a write
// held 50 ms inside its transaction adds at least that; reads add nothing.
BOOST_AUTO_TEST_CASE(group_time_counts_the_writers_time_in_write_groups) {
  constexpr auto kHeld = std::chrono::milliseconds(50);
  std::atomic<bool> slow{false};
  std::atomic<int> ids{0};
  SqliteStoreOptions options;
  options.new_id = [&]() -> std::string {
    if (slow.exchange(false)) std::this_thread::sleep_for(kHeld);  // inside the transaction
    return "gt-" + std::to_string(ids++);
  };
  StoreFixture f(options);
  auto created = f.store->create_patient(f.hcp1, make_patient("Timed", "A", "male", 19700101));
  REQUIRE_OK(created);
  const auto before = f.store->write_stats();
  BOOST_TEST(before.group_time.count() > 0);
  slow = true;
  const auto started = std::chrono::steady_clock::now();
  REQUIRE_OK(f.store->create_patient(f.hcp1, make_patient("Timed", "B", "male", 19700101)));
  const auto took = std::chrono::steady_clock::now() - started;
  const auto after = f.store->write_stats();
  BOOST_TEST((after.group_time - before.group_time >= kHeld));
  BOOST_TEST((after.group_time - before.group_time <= took));
  REQUIRE_OK(f.store->get_patient(f.hcp1, *created->id));
  REQUIRE_OK(f.store->find_patients(f.hcp1, family_prefix("timed")));
  BOOST_TEST((f.store->write_stats().group_time == after.group_time));
}

BOOST_AUTO_TEST_CASE(the_wal_stays_bounded_and_is_truncated_at_close) {
  SqliteStoreOptions options;
  options.checkpoint_pages = 32;
  StoreFixture f(options);
  const auto wal = std::filesystem::path(f.file.string() + "-wal");
  std::uintmax_t largest = 0;
  for (int i = 0; i < 300; ++i) {
    REQUIRE_OK(f.store->create_patient(
        f.hcp1, make_patient("Wal", "W" + std::to_string(i), "female", 19700101)));
    if (std::filesystem::exists(wal)) largest = std::max(largest, std::filesystem::file_size(wal));
  }
  BOOST_TEST_MESSAGE("largest WAL: " << largest << " bytes");
  // 300 single-patient commits write thousands of pages; the WAL never holds
  // more than 4 x 32 pages plus one transaction.
  BOOST_TEST(largest < 1024u * 1024u);
  auto all = f.store->find_patients(f.hcp1, family_prefix("wal"));
  REQUIRE_OK(all);
  BOOST_TEST(all->total == 300);
  // The checkpointer thread did (most of) that work, not the writer after its
  // commits. It runs asynchronously: give it a moment to report.
  auto stats = f.store->write_stats();
  for (int i = 0; i < 200 && stats.background_checkpoints == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    stats = f.store->write_stats();
  }
  BOOST_TEST_MESSAGE("checkpoints: " << stats.background_checkpoints << " background, "
                                     << stats.inline_checkpoints << " inline");
  BOOST_TEST(stats.background_checkpoints > 0u);
  f.store.reset();
  BOOST_TEST((!std::filesystem::exists(wal) || std::filesystem::file_size(wal) == 0));
}

BOOST_AUTO_TEST_SUITE_END()
