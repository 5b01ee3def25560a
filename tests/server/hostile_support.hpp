// Helpers for the hostile-input and crash-safety tests: assertions on error
// answers, and a raw TCP client that sends arbitrary bytes (a Beast client
// would refuse to write most of what these tests send).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <optional>
#include <string>

#include "server_fixture.hpp"

namespace fhirbridge::test {

namespace beast = boost::beast;
namespace asio = boost::asio;

// 4xx with an OperationOutcome body: the contract for every hostile request.
inline void expect_4xx_outcome(const server::Response& res, const std::string& what) {
  BOOST_TEST_INFO(what << " -> " << res.result_int() << " " << res.body().substr(0, 300));
  BOOST_TEST((res.result_int() >= 400 && res.result_int() < 500));
  BOOST_TEST_INFO(what << " -> " << res.result_int() << " " << res.body().substr(0, 300));
  BOOST_TEST(str(body_json(res), {"resourceType"}) == "OperationOutcome");
}

// Never a server error: bad input is the client's fault (2xx is allowed when
// the input is odd but valid).
inline void expect_not_5xx(const server::Response& res, const std::string& what) {
  BOOST_TEST_INFO(what << " -> " << res.result_int() << " " << res.body().substr(0, 300));
  BOOST_TEST(res.result_int() < 500);
  if (res.result_int() >= 400) {
    BOOST_TEST_INFO(what << " -> " << res.result_int() << " " << res.body().substr(0, 300));
    BOOST_TEST(str(body_json(res), {"resourceType"}) == "OperationOutcome");
  }
}

// One connection; sends raw bytes, reads one response. Every socket operation
// has a generous deadline so a broken server fails the test instead of hanging it.
class RawClient {
 public:
  explicit RawClient(unsigned short port, std::chrono::seconds deadline = std::chrono::seconds(60))
      : stream_(ioc_), deadline_(deadline) {
    stream_.expires_after(deadline_);
    stream_.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
  boost::system::error_code write(const std::string& bytes) {
    boost::system::error_code ec;
    stream_.expires_after(deadline_);
    asio::write(stream_, asio::buffer(bytes), ec);
    return ec;
  }
  // The response, or nullopt when the server closed the connection (ec set).
  std::optional<server::Response> read(boost::system::error_code& ec,
                                       std::size_t body_limit = 64 << 20) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(body_limit);
    stream_.expires_after(deadline_);
    http::read(stream_, buffer_, parser, ec);
    if (ec) return std::nullopt;
    return parser.release();
  }
  std::optional<server::Response> exchange(const std::string& bytes) {
    boost::system::error_code ec;
    if (write(bytes)) return std::nullopt;
    return read(ec);
  }

 private:
  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::chrono::seconds deadline_;
};

inline std::string raw_request(const std::string& method, const std::string& target,
                               const std::string& auth, const std::string& body = {},
                               const std::string& extra_headers = {}) {
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!auth.empty()) out += "Authorization: " + auth + "\r\n";
  out += extra_headers;
  if (!body.empty() || method == "POST" || method == "PUT")
    out += "Content-Type: application/fhir+json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n";
  return out + "\r\n" + body;
}

}  // namespace fhirbridge::test
