// iCure entities read and written back field for field (the SDK's own JSON).
#include <boost/test/unit_test.hpp>

#include "common/test_support.hpp"
#include "fhirbridge/icure/entities.hpp"
#include "fhirbridge/json_io.hpp"

namespace fb = fhirbridge;
namespace json = boost::json;

BOOST_AUTO_TEST_SUITE(icure_entities)

template <typename T>
void check_round_trip(const json::value& in, const std::string& name) {
  T entity;
  auto status = fb::json_io::from_json(in, entity, name);
  BOOST_REQUIRE_MESSAGE(status.ok(), status.to_string());
  json::value out = fb::json_io::to_json(entity);
  std::string diff;
  BOOST_TEST(fb::test::json_equivalent(in, out, diff), name << " differs at " << diff);
}

BOOST_AUTO_TEST_CASE(sdk_decrypted_patient_round_trips) {
  auto vectors = fb::test::read_json(fb::test::shared_dir() / "icure/sdk-test-vectors.json");
  check_round_trip<fb::icure::Patient>(vectors.at("decryptedPatient"), "Patient");
}

BOOST_AUTO_TEST_CASE(sdk_decrypted_contact_round_trips) {
  auto vectors = fb::test::read_json(fb::test::shared_dir() / "icure/sdk-test-vectors.json");
  check_round_trip<fb::icure::Contact>(vectors.at("decryptedContact"), "Contact");
}

BOOST_AUTO_TEST_CASE(sdk_request_bodies_round_trip) {
  auto vectors = fb::test::read_json(fb::test::shared_dir() / "icure/sdk-test-vectors.json");
  for (const auto& r : vectors.at("requests").as_array()) {
    const auto& req = r.as_object();
    if (!req.contains("body")) continue;
    std::string path(req.at("path").as_string());
    if (path == "/patient") check_round_trip<fb::icure::Patient>(req.at("body"), "POST /patient");
    if (path == "/contact") check_round_trip<fb::icure::Contact>(req.at("body"), "POST /contact");
    if (path == "/hcparty")
      check_round_trip<fb::icure::HealthcareParty>(req.at("body"), "PUT /hcparty");
  }
}

BOOST_AUTO_TEST_CASE(wrong_json_type_names_the_path) {
  fb::icure::Patient p;
  auto status =
      fb::json_io::from_json(json::parse(R"({"names":[{"firstNames":"x"}]})"), p, "Patient");
  BOOST_TEST(!status.ok());
  BOOST_TEST(status.path() == "Patient.names[0].firstNames");
}

BOOST_AUTO_TEST_SUITE_END()
