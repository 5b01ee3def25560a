// crypto::SealedVersion: which sealed version a cached unsealing or rendering
// was made from (rev and every encryptedSelf text, a contact's services too).
#include <boost/test/unit_test.hpp>

#include "fhirbridge/crypto/sealed_version.hpp"

namespace icure = fhirbridge::icure;
using fhirbridge::crypto::SealedVersion;

namespace {
icure::Contact sealed_contact() {
  icure::Contact contact;
  contact.id = "c-1";
  contact.rev = "2-ab";
  contact.encryptedSelf = "contact-text";
  icure::Service first, second;
  first.id = "s-1";
  first.encryptedSelf = "first-text";
  second.id = "s-2";  // a service without encryptedSelf counts as ""
  contact.services = std::vector<icure::Service>{first, second};
  return contact;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(sealed_version)

BOOST_AUTO_TEST_CASE(a_patient_matches_its_rev_and_text) {
  icure::Patient patient;
  patient.id = "p-1";
  BOOST_TEST(!SealedVersion::of(patient));  // no rev: never stored
  patient.rev = "1-aa";
  patient.encryptedSelf = "text";
  const auto version = SealedVersion::of(patient);
  BOOST_REQUIRE(version);
  BOOST_TEST(version->matches(patient));

  auto other_rev = patient;
  other_rev.rev = "2-bb";
  BOOST_TEST(!version->matches(other_rev));
  auto resealed = patient;  // same rev, another text (tampered or re-sealed)
  resealed.encryptedSelf = "text2";
  BOOST_TEST(!version->matches(resealed));
  auto clear = patient;
  clear.encryptedSelf.reset();
  BOOST_TEST(!version->matches(clear));
}

BOOST_AUTO_TEST_CASE(a_contact_matches_every_service_text) {
  const auto contact = sealed_contact();
  const auto version = SealedVersion::of(contact);
  BOOST_REQUIRE(version);
  BOOST_TEST(version->matches(contact));

  auto changed_service = contact;
  (*changed_service.services)[0].encryptedSelf = "other";
  BOOST_TEST(!version->matches(changed_service));
  auto sealed_second = contact;
  (*sealed_second.services)[1].encryptedSelf = "now-sealed";
  BOOST_TEST(!version->matches(sealed_second));
  auto one_less = contact;
  one_less.services->pop_back();
  BOOST_TEST(!version->matches(one_less));
  auto one_more = contact;
  one_more.services->push_back(icure::Service{});
  BOOST_TEST(!version->matches(one_more));
}

BOOST_AUTO_TEST_SUITE_END()
