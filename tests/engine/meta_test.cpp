// meta.versionId / lastUpdated as every FHIR view (read, search, bundle) shows them.
#include <boost/test/unit_test.hpp>

#include "fhirbridge/mapping/fhir_dates.hpp"
#include "fhirbridge/mapping/observation.hpp"
#include "fhirbridge/mapping/patient.hpp"

namespace fb = fhirbridge;

BOOST_AUTO_TEST_SUITE(meta)

BOOST_AUTO_TEST_CASE(version_id_is_the_rev_generation) {
  BOOST_TEST(fb::mapping::version_id("3-5e32ab") == "3");
  BOOST_TEST(fb::mapping::version_id("12") == "12");
  BOOST_TEST(fb::mapping::version_id("") == "");
}

BOOST_AUTO_TEST_CASE(fhir_instant_is_utc_with_milliseconds) {
  BOOST_TEST(fb::mapping::fhir_instant(0) == "1970-01-01T00:00:00.000Z");
  BOOST_TEST(fb::mapping::fhir_instant(1365003010123) == "2013-04-03T15:30:10.123Z");
  BOOST_TEST(fb::mapping::fhir_instant(-1) == "1969-12-31T23:59:59.999Z");
}

BOOST_AUTO_TEST_CASE(mapped_resources_carry_the_generation) {
  auto ctx = fb::mapping::make_fixed_context();
  fb::icure::Patient patient;
  patient.id = "p-1";
  patient.rev = "3-abcdef";
  patient.modified = 0;
  auto fhir = fb::mapping::icure_patient_to_fhir(patient, ctx);
  BOOST_REQUIRE(fhir.ok());
  BOOST_TEST(fhir->at("meta").at("versionId").as_string() == "3");
  BOOST_TEST(fhir->at("meta").at("lastUpdated").as_string() == "1970-01-01T00:00:00.000Z");

  fb::icure::Contact contact;
  contact.id = "c-1";
  contact.rev = "7-0123";
  contact.services.emplace().emplace_back().id = "s-1";
  auto obs = fb::mapping::icure_observation_to_fhir(contact, std::string("p-1"), ctx);
  BOOST_REQUIRE(obs.ok());
  BOOST_TEST(obs->at("meta").at("versionId").as_string() == "7");
}

BOOST_AUTO_TEST_SUITE_END()
