// The reading half of a bulk import (import.cpp): NDJSON lines and Bundle
// files in, mapped iCure entities out, as a stream of ReadEvents in input
// order. It touches no store, so it runs on a thread of its own while the
// Importer writes the previous batch (read_ahead.hpp, docs/bulk.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <istream>
#include <optional>
#include <string>
#include <unordered_set>

#include <boost/json/value.hpp>

#include "fhirbridge/icure/entities.hpp"
#include "fhirbridge/mapping/context.hpp"
#include "fhirbridge/server/bulk.hpp"
#include "fhirbridge/status.hpp"

namespace fhirbridge::server::bulk::detail {

// A resource read and mapped but not yet written.
struct Pending {
  enum class Kind { patient, observation } kind = Kind::patient;
  std::size_t source = 0;  // index of the file in the import's list
  std::size_t line = 0;
  std::string where;
  std::optional<std::string> fhir_id;
  std::optional<std::string> alias;  // Bundle fullUrl, e.g. urn:uuid:...
  icure::Patient patient;            // kind == patient
  icure::Contact contact;            // kind == observation
  std::string subject_key;           // kind == observation: the store id once resolved
};

// One thing reading found. The Importer replays them in order, exactly as if
// it had read the lines itself: counts, issues and stops come out the same.
struct ReadEvent {
  enum class Kind {
    resource,     // `resource` is ready to be written
    bad,          // `status` (at source/line/where) is a failed resource or line
    unsupported,  // a resource of a type not imported; `status` is set the first time only
    unreadable,   // the source failed while being read
    bytes_only,   // nothing but the bytes read since the last event (end of a source)
  };
  Kind kind = Kind::bytes_only;
  std::uint64_t bytes = 0;  // input bytes read since the previous event
  bool found = false;       // counts as a resource read (ImportSummary::resources_read)
  std::size_t source = 0, line = 0;
  std::string where;
  Status status;
  Pending resource;
};

class ImportReader {
 public:
  // Gets every event; returns false to stop reading (the import stopped).
  using Sink = std::function<bool(ReadEvent&&)>;

  // `mapping` gives entities their ids and clock: only this reader calls it.
  // `max_json_bytes`: ImportOptions::max_json_bytes.
  ImportReader(const mapping::MappingContext& mapping, Sink sink,
               std::size_t max_json_bytes = kDefaultMaxJsonBytes)
      : mapping_(mapping), sink_(std::move(sink)), max_json_bytes_(max_json_bytes) {}

  // Reads source `index` to its end, or until the sink says stop; returns
  // whether to go on with the next source.
  bool read_source(std::size_t index, std::istream& in);

 private:
  bool emit(ReadEvent&& event);
  bool bad(std::size_t source, std::size_t line, std::string where, Status status);
  bool handle_value(std::size_t source, std::size_t line_no, boost::json::value& v);
  // The source as one JSON document starting with `first_line` (line
  // `line_no`): its value, or the parser's error and the line it broke on.
  // Either way, every line it read after the first is appended to `read`;
  // when it broke, they include the first non-blank line after the first.
  struct Document {
    boost::json::value value;
    boost::json::error_code error;
    std::size_t error_line = 0;
    bool too_large = false;  // over max_json_bytes (then `error` is set too)
  };
  // A line read ahead: `text` is empty when `length` is over max_json_bytes_.
  struct Line {
    std::string text;
    std::uint64_t length = 0;
    bool too_long() const { return length != text.size(); }
  };
  Document parse_document(const std::string& first_line, std::size_t line_no, std::istream& in,
                          std::deque<Line>& read);
  // Whether the first non-blank of `lines` is a JSON value by itself (NDJSON);
  // a line over the limit counts as one (it cannot be part of a document).
  static bool next_is_a_value(const std::deque<Line>& lines);
  // Whether any of `lines` is not blank.
  static bool has_content(const std::deque<Line>& lines);
  bool handle_resource(std::size_t source, std::size_t line_no, const std::string& entry,
                       boost::json::value& v, const std::optional<std::string>& full_url);
  Status map_observation(Pending& p, boost::json::value& v);

  // The next line of `in` into `line`, as std::getline, but keeping at most
  // max_json_bytes_ of it; `length` gets its whole length (without the '\n').
  bool read_line(std::istream& in, std::string& line, std::uint64_t& length) const;
  Status too_large() const;

  const mapping::MappingContext& mapping_;
  Sink sink_;
  std::size_t max_json_bytes_;
  std::uint64_t bytes_ = 0;  // read since the last event
  std::unordered_set<std::string> unsupported_reported_;
};

}  // namespace fhirbridge::server::bulk::detail
