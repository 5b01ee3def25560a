#include "common/test_support.hpp"

#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "fhirbridge/json_io.hpp"

namespace fhirbridge::test {

std::filesystem::path source_dir() {
  return FHIRBRIDGE_SOURCE_DIR;
}
std::filesystem::path shared_dir() {
  return FHIRBRIDGE_SHARED_DIR;
}
std::filesystem::path binary_dir() {
  return FHIRBRIDGE_BINARY_DIR;
}
std::filesystem::path fhirbridge_binary() {
  return binary_dir() / "server/fhirbridge";
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

boost::json::value read_json(const std::filesystem::path& p) {
  return boost::json::parse(read_file(p));
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out << text;
}

std::string pretty(const boost::json::value& v) {
  return json_io::serialize(v, true);
}

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("fhirbridge-test-" + std::to_string(rd()) + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}
TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

bool json_equivalent(const boost::json::value& a, const boost::json::value& b, std::string& diff) {
  return json_io::equivalent(a, b, &diff);
}

}  // namespace fhirbridge::test
