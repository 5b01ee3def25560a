// Bytes of an import file -> the bulk import's reader (server/src/bulk/
// import_reader): line splitting, the one-document try for a file whose first
// line is not a JSON value (and its NDJSON fallback), parse and map of every
// line or Bundle entry. Beyond not crashing: events never go back to an
// earlier line, and no more bytes are counted than were given (+1: a last
// line without its newline counts one). One input in three runs with a JSON
// text limit of 200 bytes, so that lines and documents over it are read past.
#include <sstream>
#include <string>

#include "bulk/import_reader.hpp"
#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fhirbridge::server::bulk::detail;
  std::istringstream in{std::string(fhirbridge::fuzz::as_text(data, size))};
  std::uint64_t bytes = 0;
  std::size_t last_line = 0;
  const std::size_t max_json_bytes = size % 3 == 0 ? 200 : std::size_t{1} << 20;
  ImportReader reader(
      fhirbridge::fuzz::fixed_context(),
      [&](ReadEvent&& event) {
        bytes += event.bytes;
        if (event.line != 0) {
          if (event.line < last_line) __builtin_trap();
          last_line = event.line;
        }
        return true;
      },
      max_json_bytes);
  reader.read_source(0, in);
  if (bytes > size + 1) __builtin_trap();
  return 0;
}
