// Helpers shared by every test suite: paths, file reading, temp dirs, JSON compare.
#pragma once

#include <boost/json.hpp>

#include <filesystem>
#include <string>

namespace fhirbridge::test {

std::filesystem::path source_dir();         // the repository
std::filesystem::path shared_dir();         // ../shared
std::filesystem::path binary_dir();         // the build tree
std::filesystem::path fhirbridge_binary();  // the `fhirbridge` command of the build tree
std::string read_file(const std::filesystem::path& p);
boost::json::value read_json(const std::filesystem::path& p);
void write_file(const std::filesystem::path& p, const std::string& text);
// Pretty-printed JSON (2-space indent, keys in insertion order), for golden files.
std::string pretty(const boost::json::value& v);

// A fresh directory removed (with its contents) at scope exit.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Semantic JSON equality with a readable first difference in `diff`.
bool json_equivalent(const boost::json::value& a, const boost::json::value& b, std::string& diff);

}  // namespace fhirbridge::test
