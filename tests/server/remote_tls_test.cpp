// The remote backend over HTTPS: the iCure side serves TLS with a
// self-signed certificate made here (Botan); the client verifies it against
// --icure-ca-file, refuses it without, and accepts it when verification is off.
#include <botan/auto_rng.h>
#include <botan/pkcs8.h>
#include <botan/rsa.h>
#include <botan/x509self.h>

#include <boost/test/unit_test.hpp>

#include <fstream>

#include "server/backend_world.hpp"

namespace fhirbridge::test {
namespace {

struct TlsFiles {
  TlsFiles() {
    Botan::AutoSeeded_RNG rng;
    Botan::RSA_PrivateKey key(rng, 2048);
    Botan::X509_Cert_Options opts("localhost/BE/fhirbridge/tests");
    opts.dns = "localhost";
    // A server certificate (not a CA one: OpenSSL checks the TLS purpose),
    // trusted directly as the test's CA file.
    opts.constraints = Botan::Key_Constraints(Botan::DIGITAL_SIGNATURE | Botan::KEY_ENCIPHERMENT);
    opts.add_ex_constraint("PKIX.ServerAuth");
    auto cert = Botan::X509::create_self_signed_cert(opts, key, "SHA-256", rng);
    std::ofstream(cert_file()) << cert.PEM_encode();
    std::ofstream(key_file()) << Botan::PKCS8::PEM_encode(key);
  }
  std::string cert_file() const { return (dir.path() / "cert.pem").string(); }
  std::string key_file() const { return (dir.path() / "key.pem").string(); }
  TempDir dir;
};

std::string localhost_url(const IcureSide& side) {
  return "https://localhost:" + std::to_string(side.http->port());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(remote_tls)

BOOST_AUTO_TEST_CASE(https_with_certificate_verification) {
  TlsFiles tls;
  IcureSide icure(tls.cert_file(), tls.key_file());
  BOOST_REQUIRE(std::string(icure.http->scheme()) == "https");
  const Account& a = icure.fixture.alice;
  crypto::Keychain keychain;
  BOOST_REQUIRE(keychain.put(a.hcp_id, a.private_key_hex, a.public_key_hex).ok());

  auto verified_options = fast_remote_options(localhost_url(icure));
  verified_options.ca_file = tls.cert_file();
  auto verified = storage::RemoteStore::open(verified_options, keychain);
  BOOST_REQUIRE(verified.ok());
  auto who = (*verified)->authenticate(a.login, a.password);
  BOOST_REQUIRE_MESSAGE(who.ok(), who.status().to_string());
  icure::Patient p;
  p.lastName = "Secure";
  p.note = "over TLS";
  auto created = (*verified)->create_patient(*who, p);
  BOOST_REQUIRE_MESSAGE(created.ok(), created.status().to_string());
  BOOST_TEST((*verified)->get_patient(*who, *created->id)->note.value_or("") == "over TLS");

  // The system store does not know our CA: refused.
  auto unknown_ca = storage::RemoteStore::open(fast_remote_options(localhost_url(icure)), keychain);
  BOOST_REQUIRE(unknown_ca.ok());
  auto refused = (*unknown_ca)->authenticate(a.login, a.password);
  BOOST_TEST(std::string(to_string(refused.status().code())) == "transient");
  BOOST_TEST(refused.status().message().find("TLS") != std::string::npos);

  // Right CA, wrong name (the certificate names localhost, not 127.0.0.1).
  auto wrong_name_options = fast_remote_options(icure.url());
  wrong_name_options.ca_file = tls.cert_file();
  auto wrong_name = storage::RemoteStore::open(wrong_name_options, keychain);
  BOOST_REQUIRE(wrong_name.ok());
  BOOST_TEST(std::string(to_string(
                 (*wrong_name)->authenticate(a.login, a.password).status().code())) == "transient");

  // Verification off (tests only): accepted.
  auto insecure_options = fast_remote_options(icure.url());
  insecure_options.verify_tls = false;
  auto insecure = storage::RemoteStore::open(insecure_options, keychain);
  BOOST_REQUIRE(insecure.ok());
  BOOST_TEST((*insecure)->authenticate(a.login, a.password).ok());

  // A CA file that does not exist is a configuration error.
  auto missing_options = fast_remote_options(localhost_url(icure));
  missing_options.ca_file = (tls.dir.path() / "nope.pem").string();
  BOOST_TEST(std::string(to_string(
                 storage::RemoteStore::open(missing_options, keychain).status().code())) ==
             "invalid");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace fhirbridge::test
