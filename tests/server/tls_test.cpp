// HTTPS: a real HttpServer with a self-signed certificate made at test time
// (openssl CLI), a Beast ssl_stream client that verifies the certificate and
// the host, a FHIR create + read over it; plain HTTP to the TLS port fails
// cleanly and the server keeps answering; bad TLS files are refused at start.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <fstream>

#include "fhirbridge/server/http_server.hpp"
#include "hostile_support.hpp"
#include "server_fixture.hpp"

using namespace fhirbridge;
using namespace fhirbridge::test;
namespace json = boost::json;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using http::verb;

namespace {

const std::string kBase = "/rest/fhir/r4";

// A P-256 self-signed certificate for 127.0.0.1 (and "localhost"), valid a day.
struct SelfSigned {
  explicit SelfSigned(const std::filesystem::path& dir)
      : cert(dir / "cert.pem"), key(dir / "key.pem") {
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
        " -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '" +
        key.string() + "' -out '" + cert.string() + "' >/dev/null 2>&1";
    ok = std::system(cmd.c_str()) == 0 && std::filesystem::exists(cert);
  }
  std::filesystem::path cert, key;
  bool ok = false;
};

class TlsClient {
 public:
  TlsClient(unsigned short port, const std::filesystem::path& trusted_cert,
            const std::string& expected_host = "127.0.0.1")
      : tls_(ssl::context::tls_client), stream_(ioc_, tls_) {
    tls_.load_verify_file(trusted_cert.string());
    stream_.set_verify_mode(ssl::verify_peer);
    stream_.set_verify_callback(ssl::host_name_verification(expected_host));
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(60));
    beast::get_lowest_layer(stream_).connect(
        asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  beast::error_code handshake() {
    beast::error_code ec;
    stream_.handshake(ssl::stream_base::client, ec);
    return ec;
  }
  server::Response send(verb method, const std::string& target, const std::string& auth,
                        const std::string& body = {},
                        const std::string& content_type = "application/fhir+json") {
    server::Request req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!auth.empty()) req.set(http::field::authorization, auth);
    if (!body.empty()) {
      req.set(http::field::content_type, content_type);
      req.body() = body;
    }
    req.keep_alive(true);
    req.prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(60));
    http::write(stream_, req);
    server::Response res;
    http::read(stream_, buffer_, res);
    return res;
  }

 private:
  asio::io_context ioc_;
  ssl::context tls_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

server::HttpServerOptions tls_options(const SelfSigned& certs) {
  server::HttpServerOptions o;
  o.port = 0;
  o.threads = 2;
  o.access_log = false;
  o.read_timeout = std::chrono::seconds(10);
  o.tls_cert_file = certs.cert.string();
  o.tls_key_file = certs.key.string();
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tls)

BOOST_AUTO_TEST_CASE(fhir_create_and_read_over_verified_https) {
  ServerFixture f;
  SelfSigned certs(f.dir.path());
  BOOST_REQUIRE_MESSAGE(certs.ok, "openssl could not make a test certificate");
  server::HttpServer http(*f.ctx, tls_options(certs));
  BOOST_REQUIRE(http.start().ok());
  BOOST_TEST(std::string(http.scheme()) == "https");

  TlsClient client(http.port(), certs.cert);
  BOOST_REQUIRE(!client.handshake());
  auto created = client.send(verb::post, kBase + "/Patient", f.alice.auth(),
                             json::serialize(seed("patient-pat1.json")));
  BOOST_REQUIRE_EQUAL(created.result_int(), 201u);
  const std::string id = str(body_json(created), {"id"});
  BOOST_REQUIRE(!id.empty());
  auto read = client.send(verb::get, kBase + "/Patient/" + id, f.alice.auth());  // keep-alive
  BOOST_REQUIRE_EQUAL(read.result_int(), 200u);
  BOOST_TEST(str(body_json(read), {"id"}) == id);
  BOOST_TEST(body_json(read).at("name") == body_json(created).at("name"));
}

BOOST_AUTO_TEST_CASE(a_client_that_does_not_trust_the_certificate_is_refused) {
  ServerFixture f({}, false);
  TempDir other;
  SelfSigned certs(f.dir.path()), stranger(other.path());
  BOOST_REQUIRE(certs.ok && stranger.ok);
  server::HttpServer http(*f.ctx, tls_options(certs));
  BOOST_REQUIRE(http.start().ok());
  {
    TlsClient wrong_ca(http.port(), stranger.cert);  // trusts another certificate
    BOOST_TEST(bool(wrong_ca.handshake()));
  }
  {
    TlsClient wrong_host(http.port(), certs.cert, "fhir.example.org");  // not in the SAN
    BOOST_TEST(bool(wrong_host.handshake()));
  }
  TlsClient client(http.port(), certs.cert);
  BOOST_REQUIRE(!client.handshake());
  BOOST_TEST(client.send(verb::get, kBase + "/metadata", "").result_int() == 200u);
}

BOOST_AUTO_TEST_CASE(plain_http_to_the_tls_port_fails_cleanly_and_the_server_still_answers) {
  ServerFixture f({}, false);
  SelfSigned certs(f.dir.path());
  BOOST_REQUIRE(certs.ok);
  server::HttpServer http(*f.ctx, tls_options(certs));
  BOOST_REQUIRE(http.start().ok());
  for (int i = 0; i < 3; ++i) {
    RawClient plain(http.port(), std::chrono::seconds(30));
    plain.write(raw_request("GET", kBase + "/metadata", f.alice.auth()));
    boost::system::error_code ec;
    auto res = plain.read(ec);
    BOOST_TEST(!res.has_value());  // no HTTP answer: the connection is closed
    BOOST_TEST(bool(ec));
  }
  TlsClient client(http.port(), certs.cert);
  BOOST_REQUIRE(!client.handshake());
  BOOST_TEST(client.send(verb::get, kBase + "/metadata", "").result_int() == 200u);
}

BOOST_AUTO_TEST_CASE(bad_tls_files_are_refused_at_start) {
  ServerFixture f({}, false);
  SelfSigned certs(f.dir.path());
  BOOST_REQUIRE(certs.ok);
  TempDir other;
  SelfSigned stranger(other.path());
  BOOST_REQUIRE(stranger.ok);
  const auto garbage = f.dir.path() / "garbage.pem";
  std::ofstream(garbage) << "not a PEM file\n";

  auto start_with = [&](std::string cert, std::string key) {
    auto o = tls_options(certs);
    o.tls_cert_file = std::move(cert);
    o.tls_key_file = std::move(key);
    server::HttpServer http(*f.ctx, o);
    return http.start();
  };
  Status only_cert = start_with(certs.cert.string(), "");
  BOOST_TEST((only_cert.code() == StatusCode::invalid));
  BOOST_TEST(only_cert.path() == "tls_key_file");
  BOOST_TEST(start_with((f.dir.path() / "missing.pem").string(), certs.key.string()).path() ==
             "tls_cert_file");
  BOOST_TEST(start_with(certs.cert.string(), garbage.string()).path() == "tls_key_file");
  Status mismatched = start_with(certs.cert.string(), stranger.key.string());
  BOOST_TEST_INFO(mismatched.to_string());
  BOOST_TEST((mismatched.code() == StatusCode::invalid));
  BOOST_TEST(mismatched.path() == "tls_key_file");
  BOOST_TEST(start_with(certs.cert.string(), certs.key.string()).ok());
}

BOOST_AUTO_TEST_SUITE_END()
