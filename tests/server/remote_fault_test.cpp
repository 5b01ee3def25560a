// The remote backend's client under faults: a proxy between the RemoteStore
// and a fhirbridge serving the iCure subset drops connections, answers 500 or
// stalls. Idempotent calls are retried and succeed; creates are never
// duplicated; stalls give `unavailable` (HTTP 503) after short timeouts;
// a failed batch leaves nothing live behind.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <thread>

#include "server/backend_world.hpp"
#include "server/fault_proxy.hpp"

namespace fhirbridge::test {
namespace {

using Fault = FaultProxy::Fault;

struct FaultWorld {
  explicit FaultWorld(std::chrono::milliseconds request_timeout = std::chrono::milliseconds(5000),
                      int max_attempts = 4, std::size_t fetch_page_size = 1000)
      : proxy(icure.http->port()) {
    auto options = fast_remote_options(proxy.url());
    options.request_timeout = request_timeout;
    options.first_backoff = std::chrono::milliseconds(5);
    options.max_attempts = max_attempts;
    options.fetch_page_size = fetch_page_size;
    auto opened = storage::RemoteStore::open(options, keychain);
    if (!opened.ok()) throw std::runtime_error(opened.status().to_string());
    store = std::move(*opened);
    const Account& a = icure.fixture.alice;
    if (!keychain.put(a.hcp_id, a.private_key_hex, a.public_key_hex).ok())
      throw std::runtime_error("keychain put failed");
    auto who = store->authenticate(a.login, a.password);
    if (!who.ok()) throw std::runtime_error(who.status().to_string());
    alice = *who;
  }

  icure::Patient patient(const std::string& family) {
    icure::Patient p;
    p.lastName = family;
    p.firstName = "Test";
    p.note = "sealed note of " + family;
    return p;
  }

  // Live patients of alice as the iCure side stores them (not through the proxy).
  std::int64_t stored_patients() {
    storage::PatientQuery q;
    q.page.limit = 0;
    auto page = icure.fixture.store->find_patients(alice, q);
    BOOST_REQUIRE(page.ok());
    return page->total;
  }

  IcureSide icure;
  FaultProxy proxy;
  crypto::Keychain keychain;
  std::unique_ptr<storage::RemoteStore> store;
  storage::Principal alice;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(remote_fault)

BOOST_AUTO_TEST_CASE(reads_and_updates_are_retried_and_connections_reused) {
  FaultWorld w;
  auto created = w.store->create_patient(w.alice, w.patient("Retry"));
  BOOST_REQUIRE_MESSAGE(created.ok(), created.status().to_string());
  const std::string id = *created->id;

  const std::size_t opened_before = w.store->connections_opened();
  for (int i = 0; i < 3; ++i) BOOST_REQUIRE(w.store->get_patient(w.alice, id).ok());
  BOOST_TEST(w.store->connections_opened() == opened_before);  // one kept-alive connection

  w.proxy.add({"GET", "/rest/v1/patient/" + id, false, Fault::answer_500, 2});
  auto read = w.store->get_patient(w.alice, id);
  BOOST_REQUIRE_MESSAGE(read.ok(), read.status().to_string());
  BOOST_TEST(read->note.value_or("") == "sealed note of Retry");

  w.proxy.add({"GET", "/rest/v1/patient/" + id, false, Fault::drop, 2});
  BOOST_TEST(w.store->get_patient(w.alice, id).ok());

  // A PUT whose answer is lost: the retry meets a 409 (the first one landed),
  // which the client recognises as its own write.
  icure::Patient changed = *read;
  changed.note = "changed";
  w.proxy.add({"PUT", "/rest/v1/patient", false, Fault::drop_after_forward, 1});
  auto updated = w.store->update_patient(w.alice, changed);
  BOOST_REQUIRE_MESSAGE(updated.ok(), updated.status().to_string());
  BOOST_TEST(updated->rev->rfind("2-", 0) == 0);
  w.proxy.add({"PUT", "/rest/v1/patient", false, Fault::answer_500, 1});
  changed = *updated;
  changed.note = "changed again";
  auto again = w.store->update_patient(w.alice, changed);
  BOOST_REQUIRE_MESSAGE(again.ok(), again.status().to_string());
  BOOST_TEST(w.store->get_patient(w.alice, id)->note.value_or("") == "changed again");
  BOOST_TEST(w.stored_patients() == 1);
}

BOOST_AUTO_TEST_CASE(creates_are_not_duplicated) {
  FaultWorld w;
  // The answer is lost after the remote stored it: a GET finds it, no re-POST.
  w.proxy.add({"POST", "/rest/v1/patient", false, Fault::drop_after_forward, 1});
  auto first = w.store->create_patient(w.alice, w.patient("Lost"));
  BOOST_REQUIRE_MESSAGE(first.ok(), first.status().to_string());
  BOOST_TEST(w.proxy.count("POST", "/rest/v1/patient ") == 1);  // posted once, found by a GET
  BOOST_TEST(w.stored_patients() == 1);

  // A 500 without the remote storing anything: the GET says 404, posted again.
  w.proxy.add({"POST", "/rest/v1/patient", false, Fault::answer_500, 1});
  auto second = w.store->create_patient(w.alice, w.patient("Refused"));
  BOOST_REQUIRE_MESSAGE(second.ok(), second.status().to_string());
  BOOST_TEST(w.stored_patients() == 2);

  // Contacts too.
  w.proxy.add({"POST", "/rest/v1/contact", false, Fault::drop_after_forward, 1});
  icure::Contact contact;
  icure::Service service;
  service.codes = std::vector<icure::CodeStub>{icure::CodeStub{}};
  service.codes->front().type = "LOINC";
  service.codes->front().code = "15074-8";
  contact.services = std::vector<icure::Service>{service};
  auto record = w.store->create_contact(w.alice, contact, *first->id);
  BOOST_REQUIRE_MESSAGE(record.ok(), record.status().to_string());
  storage::ContactQuery all;
  auto contacts = w.icure.fixture.store->find_contacts(w.alice, all);
  BOOST_REQUIRE(contacts.ok());
  BOOST_TEST(contacts->total == 1);
}

BOOST_AUTO_TEST_CASE(a_stalled_remote_is_unavailable_503) {
  FaultWorld w;
  auto created = w.store->create_patient(w.alice, w.patient("Slow"));
  BOOST_REQUIRE(created.ok());
  // A second client with short timeouts. Its login is fast: the remote
  // remembers alice's login from the first client (no Argon2 again).
  auto options = fast_remote_options(w.proxy.url());
  options.request_timeout = std::chrono::milliseconds(700);
  options.max_attempts = 2;
  options.first_backoff = std::chrono::milliseconds(5);
  auto opened = storage::RemoteStore::open(options, w.keychain);
  BOOST_REQUIRE(opened.ok());
  auto& quick = **opened;
  const Account& alice = w.icure.fixture.alice;
  BOOST_REQUIRE(quick.authenticate(alice.login, alice.password).ok());

  w.proxy.add({"", "/", true, Fault::stall, 1000});
  auto read = quick.get_patient(w.alice, *created->id);
  BOOST_TEST(std::string(to_string(read.status().code())) == "transient");
  auto create = quick.create_patient(w.alice, w.patient("Never"));
  BOOST_TEST(std::string(to_string(create.status().code())) == "transient");

  // Through the FHIR API: 503 with an OperationOutcome.
  server::ServerContext ctx(quick, w.keychain, server::ServerSettings{});
  server::Request req{http::verb::get, "/rest/fhir/r4/Patient/" + *created->id, 11};
  req.set(http::field::host, "fhir.test");
  req.set(http::field::authorization, alice.auth());
  auto res = server::handle_request(std::move(req), ctx);
  BOOST_TEST(res.result_int() == 503u);
  BOOST_TEST(issue_field(res, "code") == "transient");

  w.proxy.clear();
  BOOST_TEST(w.stored_patients() == 1);  // "Never" was not half-written
}

BOOST_AUTO_TEST_CASE(a_failed_batch_is_undone) {
  FaultWorld w;
  storage::WriteBatch batch;
  batch.ops.emplace_back(storage::CreatePatient{w.patient("First")});
  batch.ops.emplace_back(storage::CreatePatient{w.patient("Second")});
  // The first create passes, every later one fails for good.
  w.proxy.add({"POST", "/rest/v1/patient", false, Fault::pass, 1});
  w.proxy.add({"POST", "/rest/v1/patient", false, Fault::answer_500, 1000});
  auto applied = w.store->apply(w.alice, batch);
  BOOST_TEST(!applied.ok());
  BOOST_TEST(applied.status().path() == "ops[1]");
  BOOST_TEST(std::string(to_string(applied.status().code())) == "transient");
  w.proxy.clear();
  BOOST_TEST(w.stored_patients() == 0);

  // Validation catches a stale rev before anything is written.
  auto kept = w.store->create_patient(w.alice, w.patient("Kept"));
  BOOST_REQUIRE(kept.ok());
  icure::Patient stale = *kept;
  stale.rev = "1-stale";
  storage::WriteBatch mixed;
  mixed.ops.emplace_back(storage::CreatePatient{w.patient("Third")});
  mixed.ops.emplace_back(storage::UpdatePatient{stale});
  auto refused = w.store->apply(w.alice, mixed);
  BOOST_TEST(std::string(to_string(refused.status().code())) == "version-conflict");
  BOOST_TEST(refused.status().path() == "ops[1]");
  BOOST_TEST(w.stored_patients() == 1);
}

BOOST_AUTO_TEST_CASE(filters_are_walked_through_next_key_pair) {
  FaultWorld w(std::chrono::milliseconds(5000), 4, /*fetch_page_size=*/2);
  for (const char* family : {"Page-a", "Page-b", "Page-c", "Page-d", "Page-e"})
    BOOST_REQUIRE(w.store->create_patient(w.alice, w.patient(family)).ok());
  storage::PatientQuery query;
  query.page.limit = 3;
  query.page.sort = {{"family", true}};
  auto first = w.store->find_patients(w.alice, query);
  BOOST_REQUIRE_MESSAGE(first.ok(), first.status().to_string());
  BOOST_TEST(first->total == 5);
  BOOST_REQUIRE_EQUAL(first->items.size(), 3u);
  BOOST_TEST(first->items[0].lastName.value_or("") == "Page-e");
  BOOST_TEST(w.proxy.count("POST", "/rest/v1/patient/filter") >= 3);  // 5 rows, 2 per page
  query.page.cursor = first->next_cursor;
  auto second = w.store->find_patients(w.alice, query);
  BOOST_REQUIRE(second.ok());
  BOOST_REQUIRE_EQUAL(second->items.size(), 2u);
  BOOST_TEST(second->items[1].lastName.value_or("") == "Page-a");
  BOOST_TEST(!second->next_cursor.has_value());
}

BOOST_AUTO_TEST_CASE(threads_share_the_store) {
  FaultWorld w;
  BOOST_REQUIRE(w.store->create_patient(w.alice, w.patient("Warm-up")).ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        auto created =
            w.store->create_patient(w.alice, w.patient("T" + std::to_string(t * 10 + i)));
        if (!created.ok() || !w.store->get_patient(w.alice, *created->id).ok()) ++failures;
      }
    });
  for (auto& t : threads) t.join();
  BOOST_TEST(failures.load() == 0);
  BOOST_TEST(w.stored_patients() == 21);
  BOOST_TEST(w.store->connections_opened() <= 5u);  // pooled, not one per call
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace fhirbridge::test
