// The iCure REST subset (/rest/v1) through handle_request against a real
// SqliteStore: every endpoint, paging, 404/409, visibility between two HCPs,
// and the same rows seen sealed here and clear through the FHIR API.
// (The official SDK against a real server: tests/node/icure_sdk_server.mjs.)
#include <boost/test/unit_test.hpp>

#include <set>

#include "fhirbridge/crypto/entity_sealer.hpp"
#include "fhirbridge/json_io.hpp"
#include "server_fixture.hpp"

using namespace fhirbridge;
using namespace fhirbridge::test;
namespace json = boost::json;
using http::verb;

namespace {

const std::string kRest = "/rest/v1";
const std::string kFhir = "/rest/fhir/r4";

struct RestFixture : ServerFixture {
  explicit RestFixture(server::ServerSettings settings = {}) : ServerFixture(settings) {
    ctx->attach_sealed_store(store.get());
  }
  server::Response rest(verb method, const std::string& target, const Account& who,
                        const json::value& body = nullptr) {
    return call(method, kRest + target, &who, body.is_null() ? "" : json::serialize(body),
                "application/json");
  }
};

json::value delegations_for(std::initializer_list<std::string> hcp_ids) {
  json::object out;
  for (const auto& id : hcp_ids)
    out[id] = json::array{json::object{{"owner", id}, {"delegatedTo", id}, {"key", "00"}}};
  return out;
}

// A "sealed" patient as a client would send it (the REST layer never decrypts).
json::object raw_patient(const std::string& id, const std::string& first, const std::string& last,
                         std::initializer_list<std::string> readers) {
  return json::object{{"id", id},
                      {"firstName", first},
                      {"lastName", last},
                      {"encryptedSelf", "c2VhbGVk"},
                      {"delegations", delegations_for(readers)}};
}

json::object raw_contact(const std::string& id, const std::string& service_id,
                         const std::string& secret_fk, std::initializer_list<std::string> readers) {
  return json::object{
      {"id", id},
      {"secretForeignKeys", json::array{secret_fk}},
      {"delegations", delegations_for(readers)},
      {"services",
       json::array{json::object{
           {"id", service_id},
           {"valueDate", 20240105103000},
           {"identifier", json::array{json::object{{"system", "urn:test"}, {"value", service_id}}}},
           {"tags", json::array{json::object{{"type", "CD-ITEM"}, {"code", "parameter"}}}},
           {"codes", json::array{json::object{{"type", "LOINC"}, {"code", "8867-4"}}}},
           {"encryptedSelf", "c2VhbGVk"}}}}};
}

json::value ok_json(const server::Response& res) {
  BOOST_REQUIRE_MESSAGE(res.result_int() == 200u, res.result_int() << " " << res.body());
  return body_json(res);
}

std::set<std::string> ids_of(const json::value& rows) {
  std::set<std::string> ids;
  for (const auto& row : rows.as_array()) ids.insert(std::string(row.at("id").as_string()));
  return ids;
}

// Reads/writes HCPs through the Store, so tests can seal like the SDK does.
struct StoreDirectory final : crypto::HcpDirectory {
  explicit StoreDirectory(storage::Store& s) : store(s) {}
  Result<icure::HealthcareParty> get(const std::string& id) override {
    return store.get_healthcare_party(id);
  }
  Status put(const icure::HealthcareParty& hcp) override {
    auto current = store.get_healthcare_party(*hcp.id);
    if (!current.ok()) return current.status();
    icure::HealthcareParty copy = hcp;
    copy.rev = current->rev;
    return store.put_healthcare_party(copy).status();
  }
  storage::Store& store;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(icure_rest)

BOOST_AUTO_TEST_CASE(auth_users_and_healthcare_parties) {
  RestFixture f;
  auto none = f.call(verb::get, kRest + "/user/current", nullptr);
  BOOST_TEST(none.result_int() == 401u);
  BOOST_TEST(str(body_json(none), {"error"}) == "Unauthorized");
  BOOST_TEST(!str(body_json(none), {"message"}).empty());

  auto user = ok_json(f.rest(verb::get, "/user/current", f.alice));
  BOOST_TEST(str(user, {"login"}) == "alice");
  BOOST_TEST(str(user, {"healthcarePartyId"}) == f.alice.hcp_id);
  BOOST_TEST(!user.as_object().contains("passwordHash"));

  auto hcp = ok_json(f.rest(verb::get, "/hcparty/current", f.alice));
  BOOST_TEST(str(hcp, {"id"}) == f.alice.hcp_id);
  BOOST_TEST(str(hcp, {"publicKey"}) == f.alice.public_key_hex);
  BOOST_TEST(hcp.at("hcPartyKeys").is_object());  // always present: the SDK writes into it
  BOOST_TEST(hcp.at("aesExchangeKeys").is_object());
  BOOST_TEST(str(ok_json(f.rest(verb::get, "/hcparty/" + f.bob.hcp_id, f.alice)), {"id"}) ==
             f.bob.hcp_id);
  BOOST_TEST(f.rest(verb::get, "/hcparty/nobody", f.alice).result_int() == 404u);
  auto owner = ok_json(f.rest(verb::get, "/dataowner/current", f.alice));
  BOOST_TEST(str(owner, {"type"}) == "hcp");
  BOOST_TEST(str(owner, {"dataOwner", "id"}) == f.alice.hcp_id);
  // The SDK's data-owner probes.
  BOOST_TEST(f.rest(verb::get, "/patient/" + f.alice.hcp_id, f.alice).result_int() == 404u);
  BOOST_TEST(f.rest(verb::get, "/device/" + f.alice.hcp_id, f.alice).result_int() == 404u);
  BOOST_TEST(f.rest(verb::get, "/nothing/here", f.alice).result_int() == 404u);

  // PUT /hcparty: rev must match, only one's own.
  json::object update = hcp.as_object();
  update["speciality"] = "cardiology";
  auto stale = update;
  stale["rev"] = "1-stale";
  auto conflict = f.rest(verb::put, "/hcparty", f.alice, stale);
  BOOST_TEST(conflict.result_int() == 409u);
  BOOST_TEST(str(body_json(conflict), {"error"}) == "Conflict");
  BOOST_TEST(f.rest(verb::put, "/hcparty", f.bob, update).result_int() == 403u);
  auto updated = ok_json(f.rest(verb::put, "/hcparty", f.alice, update));
  BOOST_TEST(str(updated, {"speciality"}) == "cardiology");
  BOOST_TEST(str(updated, {"rev"}) != str(hcp, {"rev"}));
  BOOST_TEST(f.rest(verb::put, "/hcparty", f.alice, update).result_int() == 409u);  // now stale
}

BOOST_AUTO_TEST_CASE(patients_crud_conflicts_and_visibility) {
  RestFixture f;
  const std::string a = f.alice.hcp_id, b = f.bob.hcp_id;
  auto created =
      ok_json(f.rest(verb::post, "/patient", f.alice, raw_patient("p-1", "Ada", "Lovelace", {a})));
  BOOST_TEST(str(created, {"id"}) == "p-1");
  BOOST_TEST(str(created, {"rev"}).starts_with("1-"));
  BOOST_TEST(str(created, {"encryptedSelf"}) == "c2VhbGVk");
  BOOST_TEST(
      f.rest(verb::post, "/patient", f.alice, raw_patient("p-1", "X", "Y", {a})).result_int() ==
      409u);
  // Without a delegation for the caller it could never be read back.
  BOOST_TEST(
      f.rest(verb::post, "/patient", f.alice, raw_patient("p-x", "X", "Y", {b})).result_int() ==
      400u);
  BOOST_TEST(f.rest(verb::post, "/patient", f.alice, json::value("nope")).result_int() == 400u);
  auto malformed = f.call(verb::post, kRest + "/patient", &f.alice, "{bad", "application/json");
  BOOST_TEST(malformed.result_int() == 400u);
  BOOST_TEST(str(body_json(malformed), {"error"}) == "Bad Request");
  // A UTF-8 byte order mark in front is ignored, as on the FHIR API.
  auto with_bom = f.call(verb::post, kRest + "/patient", &f.alice,
                         "\xEF\xBB\xBF" + json::serialize(raw_patient("p-bom", "B", "O", {a})),
                         "application/json");
  BOOST_TEST(with_bom.result_int() == 200u);
  BOOST_TEST(str(body_json(with_bom), {"id"}) == "p-bom");

  auto got = ok_json(f.rest(verb::get, "/patient/p-1", f.alice));
  BOOST_TEST(str(got, {"lastName"}) == "Lovelace");
  BOOST_TEST(f.rest(verb::get, "/patient/p-1", f.bob).result_int() == 404u);

  // PUT: stale or missing rev 409, unknown / invisible 404.
  json::object update = got.as_object();
  update["firstName"] = "Augusta";
  auto stale = update;
  stale["rev"] = "1-0";
  BOOST_TEST(f.rest(verb::put, "/patient", f.alice, stale).result_int() == 409u);
  auto no_rev = update;
  no_rev.erase("rev");
  BOOST_TEST(f.rest(verb::put, "/patient", f.alice, no_rev).result_int() == 409u);
  BOOST_TEST(f.rest(verb::put, "/patient", f.bob, update).result_int() == 404u);
  auto unknown = update;
  unknown["id"] = "p-unknown";
  BOOST_TEST(f.rest(verb::put, "/patient", f.alice, unknown).result_int() == 404u);
  auto updated = ok_json(f.rest(verb::put, "/patient", f.alice, update));
  BOOST_TEST(str(updated, {"rev"}).starts_with("2-"));
  BOOST_TEST(str(updated, {"firstName"}) == "Augusta");

  // Shared with bob: both see it.
  ok_json(f.rest(verb::post, "/patient", f.alice, raw_patient("p-2", "Grace", "Hopper", {a, b})));
  ok_json(f.rest(verb::post, "/patient", f.bob, raw_patient("p-3", "Bob's", "Own", {b})));
  auto by_ids = ok_json(f.rest(verb::post, "/patient/byIds", f.alice,
                               json::object{{"ids", json::array{"p-3", "p-2", "p-1", "nope"}}}));
  BOOST_TEST(by_ids.as_array().size() == 2u);
  BOOST_TEST(str(by_ids.as_array()[0], {"id"}) == "p-2");  // in the order asked
  BOOST_TEST(ids_of(ok_json(f.rest(verb::post, "/patient/byIds", f.bob,
                                   json::object{{"ids", json::array{"p-1", "p-2", "p-3"}}}))) ==
             (std::set<std::string>{"p-2", "p-3"}));

  // DELETE: only what the caller sees; then a stub for those who could read it.
  auto deleted = ok_json(f.rest(verb::delete_, "/patient/p-1,p-3,nope", f.alice));
  BOOST_REQUIRE_EQUAL(deleted.as_array().size(), 1u);
  BOOST_TEST(str(deleted.as_array()[0], {"id"}) == "p-1");
  const std::string tomb_rev = str(deleted.as_array()[0], {"rev"});
  BOOST_TEST(tomb_rev.starts_with("3-"));
  auto stub = ok_json(f.rest(verb::get, "/patient/p-1", f.alice));
  BOOST_TEST(str(stub, {"rev"}) == tomb_rev);
  BOOST_TEST(stub.at("deletionDate").is_int64());
  BOOST_TEST(!stub.as_object().contains("lastName"));
  BOOST_TEST(f.rest(verb::get, "/patient/p-1", f.bob).result_int() == 404u);
  BOOST_TEST(f.rest(verb::get, "/patient/p-3", f.bob).result_int() == 200u);  // not deleted
  // A re-create continues the generation.
  auto again =
      ok_json(f.rest(verb::post, "/patient", f.alice, raw_patient("p-1", "Ada", "King", {a})));
  BOOST_TEST(str(again, {"rev"}).starts_with("4-"));
}

BOOST_AUTO_TEST_CASE(patient_filters_page_by_document_id) {
  RestFixture f;
  const std::string a = f.alice.hcp_id;
  for (int i = 0; i < 5; ++i) {
    auto p = raw_patient("pf-" + std::to_string(i), "Given" + std::to_string(i),
                         i % 2 ? "Éloïse" : "Martin", {a});
    p["identifier"] =
        json::array{json::object{{"system", "urn:mrn"}, {"value", "MRN" + std::to_string(i)}}};
    ok_json(f.rest(verb::post, "/patient", f.alice, p));
  }
  ok_json(
      f.rest(verb::post, "/patient", f.bob, raw_patient("pf-bob", "X", "Martin", {f.bob.hcp_id})));

  const json::object by_hcp{
      {"filter", json::object{{"$type", "PatientByHcPartyFilter"}, {"healthcarePartyId", a}}}};
  std::vector<std::string> seen;
  std::string next;
  for (int pages = 0; pages < 10; ++pages) {
    std::string target = "/patient/filter?ts=1&limit=2";
    if (!next.empty()) target += "&startDocumentId=" + next;
    auto page = ok_json(f.rest(verb::post, target, f.alice, by_hcp));
    BOOST_TEST(page.at("totalSize").as_int64() == 5);
    BOOST_TEST(page.at("pageSize").to_number<int>() == 2);
    for (const auto& row : page.at("rows").as_array()) seen.emplace_back(row.at("id").as_string());
    auto* key = page.as_object().if_contains("nextKeyPair");
    if (!key) break;
    next = std::string(key->at("startKeyDocId").as_string());
  }
  BOOST_TEST(seen == (std::vector<std::string>{"pf-0", "pf-1", "pf-2", "pf-3", "pf-4"}));

  // startKey (JSON) works as well as startDocumentId.
  auto from_key =
      ok_json(f.rest(verb::post, "/patient/filter?limit=10&startKey=%22pf-3%22", f.alice, by_hcp));
  BOOST_TEST(ids_of(from_key.at("rows")) == (std::set<std::string>{"pf-3", "pf-4"}));

  auto fuzzy = ok_json(f.rest(
      verb::post, "/patient/filter", f.alice,
      json::object{{"filter", json::object{{"$type", "PatientByHcPartyNameContainsFuzzyFilter"},
                                           {"healthcarePartyId", a},
                                           {"searchString", "elois"}}}}));
  BOOST_TEST(ids_of(fuzzy.at("rows")) == (std::set<std::string>{"pf-1", "pf-3"}));
  auto by_identifier = ok_json(f.rest(
      verb::post, "/patient/filter", f.alice,
      json::object{
          {"filter",
           json::object{{"$type", "PatientByHcPartyAndIdentifiersFilter"},
                        {"healthcarePartyId", a},
                        {"identifiers",
                         json::array{json::object{{"system", "urn:mrn"}, {"value", "MRN4"}},
                                     json::object{{"system", "urn:mrn"}, {"value", "MRN0"}}}}}}}));
  BOOST_TEST(ids_of(by_identifier.at("rows")) == (std::set<std::string>{"pf-0", "pf-4"}));

  // Another HCP's id in the filter: only rows both can read.
  auto others =
      ok_json(f.rest(verb::post, "/patient/filter", f.alice,
                     json::object{{"filter", json::object{{"$type", "PatientByHcPartyFilter"},
                                                          {"healthcarePartyId", f.bob.hcp_id}}}}));
  BOOST_TEST(others.at("rows").as_array().empty());
  BOOST_TEST(f.rest(verb::post, "/patient/filter", f.alice,
                    json::object{{"filter", json::object{{"$type", "NoSuchFilter"}}}})
                 .result_int() == 400u);
  BOOST_TEST(f.rest(verb::post, "/patient/filter?limit=-1", f.alice, by_hcp).result_int() == 400u);
}

BOOST_AUTO_TEST_CASE(contacts_services_and_secret_foreign_keys) {
  RestFixture f;
  const std::string a = f.alice.hcp_id, b = f.bob.hcp_id;
  ok_json(f.rest(verb::post, "/contact", f.alice, raw_contact("c-1", "s-1", "sfk-1", {a})));
  ok_json(f.rest(verb::post, "/contact", f.alice, raw_contact("c-2", "s-2", "sfk-2", {a, b})));
  ok_json(f.rest(verb::post, "/contact", f.bob, raw_contact("c-3", "s-3", "sfk-1", {b})));
  BOOST_TEST(
      f.rest(verb::post, "/contact", f.alice, raw_contact("c-1", "s-9", "x", {a})).result_int() ==
      409u);

  auto c1 = ok_json(f.rest(verb::get, "/contact/c-1", f.alice));
  BOOST_TEST(str(c1.at("services").at(0), {"id"}) == "s-1");
  BOOST_TEST(f.rest(verb::get, "/contact/c-1", f.bob).result_int() == 404u);
  BOOST_TEST(f.rest(verb::get, "/contact/s-1", f.alice).result_int() == 404u);  // ids only

  json::object update = c1.as_object();
  update["descr"] = "clear for the test";
  auto stale = update;
  stale["rev"] = "9-x";
  BOOST_TEST(f.rest(verb::put, "/contact", f.alice, stale).result_int() == 409u);
  BOOST_TEST(
      str(ok_json(f.rest(verb::put, "/contact", f.alice, update)), {"rev"}).starts_with("2-"));

  BOOST_TEST(ids_of(ok_json(f.rest(verb::post, "/contact/byIds", f.bob,
                                   json::object{{"ids", json::array{"c-1", "c-2", "c-3"}}}))) ==
             (std::set<std::string>{"c-2", "c-3"}));
  BOOST_TEST(ids_of(ok_json(f.rest(
                 verb::get,
                 "/contact/byHcPartySecretForeignKeys?hcPartyId=" + a + "&secretFKeys=sfk-1,sfk-2",
                 f.alice))) == (std::set<std::string>{"c-1", "c-2"}));
  BOOST_TEST(
      ids_of(ok_json(f.rest(
          verb::get, "/contact/byHcPartySecretForeignKeys?hcPartyId=" + b + "&secretFKeys=sfk-1",
          f.bob))) == (std::set<std::string>{"c-3"}));
  BOOST_TEST(ids_of(ok_json(f.rest(verb::post, "/contact/byHcPartySecretForeignKeys?hcPartyId=" + a,
                                   f.alice, json::array{"sfk-2"}))) ==
             (std::set<std::string>{"c-2"}));

  auto page1 =
      ok_json(f.rest(verb::post, "/contact/filter?limit=1", f.alice,
                     json::object{{"filter", json::object{{"$type", "ContactByHcPartyFilter"},
                                                          {"healthcarePartyId", a}}}}));
  BOOST_TEST(page1.at("totalSize").as_int64() == 2);
  BOOST_TEST(str(page1.at("rows").at(0), {"id"}) == "c-1");
  BOOST_TEST(str(page1, {"nextKeyPair", "startKeyDocId"}) == "c-2");

  auto services = [&](const json::object& filter, const Account& who,
                      const std::string& query = "") {
    return ok_json(f.rest(verb::post, "/contact/service/filter" + query, who,
                          json::object{{"filter", filter}}));
  };
  auto tagged = services({{"$type", "ServiceByHcPartyTagCodeDateFilter"},
                          {"healthcarePartyId", a},
                          {"tagType", "CD-ITEM"},
                          {"tagCode", "parameter"}},
                         f.alice);
  BOOST_TEST(ids_of(tagged.at("rows")) == (std::set<std::string>{"s-1", "s-2"}));
  BOOST_TEST(str(tagged.at("rows").at(0), {"contactId"}) == "c-1");
  // As iCure: with the contact's delegations/keys, so a client can decrypt it.
  BOOST_TEST(tagged.at("rows").at(0).as_object().contains("delegations"));
  BOOST_TEST(!tagged.at("rows").at(0).at("secretForeignKeys").as_array().empty());
  auto paged = services({{"$type", "ServiceByHcPartyTagCodeDateFilter"},
                         {"healthcarePartyId", a},
                         {"codeType", "LOINC"},
                         {"codeCode", "8867-4"}},
                        f.alice, "?limit=1");
  BOOST_TEST(paged.at("totalSize").as_int64() == 2);
  BOOST_TEST(str(paged, {"nextKeyPair", "startKeyDocId"}) == "s-2");
  auto in_range = services({{"$type", "ServiceByHcPartyTagCodeDateFilter"},
                            {"healthcarePartyId", a},
                            {"tagType", "CD-ITEM"},
                            {"startValueDate", 20240101},
                            {"endValueDate", 20240105}},
                           f.alice);
  BOOST_TEST(in_range.at("rows").as_array().size() == 2u);
  auto out_of_range = services({{"$type", "ServiceByHcPartyTagCodeDateFilter"},
                                {"healthcarePartyId", a},
                                {"startValueDate", 20240106}},
                               f.alice);
  BOOST_TEST(out_of_range.at("rows").as_array().empty());
  auto by_identifier = services(
      {{"$type", "ServiceByHcPartyIdentifiersFilter"},
       {"healthcarePartyId", b},
       {"identifiers", json::array{json::object{{"system", "urn:test"}, {"value", "s-3"}},
                                   json::object{{"system", "urn:test"}, {"value", "s-1"}}}}},
      f.bob);
  BOOST_TEST(ids_of(by_identifier.at("rows")) == (std::set<std::string>{"s-3"}));

  auto deleted = ok_json(f.rest(verb::delete_, "/contact/c-1,c-3", f.alice));
  BOOST_REQUIRE_EQUAL(deleted.as_array().size(), 1u);
  auto stub = ok_json(f.rest(verb::get, "/contact/c-1", f.alice));
  BOOST_TEST(stub.as_object().contains("deletionDate"));
  BOOST_TEST(!stub.as_object().contains("services"));
}

BOOST_AUTO_TEST_CASE(fhir_rows_read_sealed_and_sealed_rows_read_through_fhir) {
  RestFixture f;
  // FHIR -> sealed: the Patient and the Observation the server sealed.
  auto pat = f.post(kFhir + "/Patient", seed("patient-pat1.json"));
  BOOST_REQUIRE_EQUAL(pat.result_int(), 201u);
  const std::string patient_id = str(body_json(pat), {"id"});
  auto obs = f.post(kFhir + "/Observation",
                    with_subject(seed("observation-f001.json"), "Patient/" + patient_id));
  BOOST_REQUIRE_EQUAL(obs.result_int(), 201u);

  auto sealed = ok_json(f.rest(verb::get, "/patient/" + patient_id, f.alice));
  BOOST_TEST(!str(sealed, {"encryptedSelf"}).empty());
  BOOST_TEST(sealed.as_object().contains("delegations"));
  const std::string store_id = str(sealed, {"id"});
  auto contacts =
      ok_json(f.rest(verb::post, "/contact/filter", f.alice,
                     json::object{{"filter", json::object{{"$type", "ContactByHcPartyFilter"}}}}));
  BOOST_REQUIRE_EQUAL(contacts.at("rows").as_array().size(), 1u);
  const auto& contact = contacts.at("rows").at(0);
  BOOST_TEST(!contact.at("secretForeignKeys").as_array().empty());
  BOOST_TEST(!contact.at("services").at(0).as_object().contains("content"));  // sealed
  BOOST_TEST(f.rest(verb::get, "/patient/" + patient_id, f.bob).result_int() == 404u);

  // Sealed -> FHIR: a clear field changed through PUT /patient is what FHIR reads.
  json::object update = sealed.as_object();
  update["lastName"] = "Dunk";
  if (auto* names = update.if_contains("names"); names && names->is_array())
    for (auto& n : names->as_array()) n.as_object()["lastName"] = "Dunk";
  ok_json(f.rest(verb::put, "/patient", f.alice, update));
  auto read = f.get(kFhir + "/Patient/" + patient_id);
  BOOST_REQUIRE_EQUAL(read.result_int(), 200u);
  BOOST_TEST(str(body_json(read).at("name").at(0), {"family"}) == "Dunk");

  // A patient and contact sealed by a client (here our EntitySealer, as the SDK
  // does) and POSTed raw: FHIR decrypts them, and the contact's patient was
  // resolved from its cryptedForeignKeys with alice's key.
  StoreDirectory directory(*f.store);
  crypto::EntitySealer sealer(f.keychain, f.rng);
  auto clear_patient = json_io::parse<icure::Patient>(
      R"({"id":"client-p","firstName":"Ada","lastName":"Lovelace","note":"private"})", "Patient");
  BOOST_REQUIRE(clear_patient.ok());
  icure::Patient client_patient = *clear_patient;
  BOOST_REQUIRE(sealer.seal_new_patient(directory, f.alice.hcp_id, client_patient).ok());
  BOOST_TEST(!client_patient.note);
  auto posted = ok_json(f.rest(verb::post, "/patient", f.alice, json_io::to_json(client_patient)));
  auto fhir_patient = f.get(kFhir + "/Patient/client-p");
  BOOST_REQUIRE_EQUAL(fhir_patient.result_int(), 200u);
  BOOST_TEST(str(body_json(fhir_patient).at("name").at(0), {"family"}) == "Lovelace");

  // A client that re-seals an update with a new content key: the version it replaced is
  // still read back (with its own keys, as the current ones no longer open it).
  icure::Patient rekeyed = *clear_patient;
  rekeyed.firstName = "Augusta";
  BOOST_REQUIRE(sealer.seal_new_patient(directory, f.alice.hcp_id, rekeyed).ok());
  rekeyed.rev = std::string(posted.at("rev").as_string());
  ok_json(f.rest(verb::put, "/patient", f.alice, json_io::to_json(rekeyed)));
  auto first_version = f.get(kFhir + "/Patient/client-p/_history/1");
  BOOST_TEST_INFO(first_version.body());
  BOOST_REQUIRE_EQUAL(first_version.result_int(), 200u);
  BOOST_TEST(body_json(first_version).at("name").at(0).at("given").at(0).as_string() == "Ada");
  auto rekeyed_history = f.get(kFhir + "/Patient/client-p/_history");
  BOOST_TEST_INFO(rekeyed_history.body());
  BOOST_REQUIRE_EQUAL(rekeyed_history.result_int(), 200u);
  BOOST_TEST(body_json(rekeyed_history).at("total").as_int64() == 2);

  auto clear_contact = json_io::parse<icure::Contact>(
      R"({"id":"client-c","descr":"visit","services":[{"id":"client-s","valueDate":20240105103000,
          "codes":[{"type":"LOINC","code":"8867-4"}],
          "content":{"en":{"measureValue":{"value":72,"unit":"bpm"}}}}]})",
      "Contact");
  BOOST_REQUIRE(clear_contact.ok());
  icure::Contact client_contact = *clear_contact;
  auto stored_patient = json_io::parse<icure::Patient>(json::serialize(posted), "Patient");
  BOOST_REQUIRE(stored_patient.ok());
  BOOST_REQUIRE(
      sealer.seal_new_contact(directory, f.alice.hcp_id, client_contact, *stored_patient).ok());
  ok_json(f.rest(verb::post, "/contact", f.alice, json_io::to_json(client_contact)));
  auto observations = f.get(kFhir + "/Observation?subject=Patient/client-p");
  BOOST_REQUIRE_EQUAL(observations.result_int(), 200u);
  BOOST_TEST(body_json(observations).at("total").as_int64() == 1);
  BOOST_TEST(ok_json(f.rest(verb::get, "/hcparty/" + f.alice.hcp_id + "/aesExchangeKeys", f.alice))
                 .as_object()
                 .contains(f.alice.hcp_id));
}

BOOST_AUTO_TEST_CASE(body_limit_and_unattached_store) {
  server::ServerSettings small;
  small.body_limit = 64;
  RestFixture f(small);
  auto big = f.rest(verb::post, "/patient", f.alice,
                    raw_patient("p-big", std::string(100, 'x'), "Y", {f.alice.hcp_id}));
  BOOST_TEST(big.result_int() == 413u);
  BOOST_TEST(str(body_json(big), {"error"}) == "Payload Too Large");

  ServerFixture plain;  // no SealedStore attached: the subset is not served
  BOOST_TEST(plain.call(verb::get, kRest + "/user/current", &plain.alice).result_int() == 404u);
}

BOOST_AUTO_TEST_SUITE_END()
