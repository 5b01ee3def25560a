// ImportReader: see import_reader.hpp.
#include "import_reader.hpp"

#include <algorithm>
#include <deque>
#include <optional>

#include <boost/json/parse.hpp>
#include <boost/json/stream_parser.hpp>

#include "fhirbridge/json_arena.hpp"
#include "fhirbridge/json_io.hpp"
#include "fhirbridge/mapping/bundle.hpp"
#include "fhirbridge/mapping/observation.hpp"
#include "fhirbridge/mapping/patient.hpp"

namespace fhirbridge::server::bulk::detail {

namespace json = boost::json;

namespace {

// "Patient/123", "http://x/fhir/Patient/123/_history/2", "123" -> "123";
// "urn:uuid:x" stays as is (a Bundle fullUrl).
std::optional<std::string> subject_key(const std::string& reference) {
  if (reference.rfind("urn:", 0) == 0) return reference;
  auto pos = reference.rfind("Patient/");
  if (pos == std::string::npos) {
    // A bare id (as the tutorial's Observation sends) is a patient id.
    if (!reference.empty() && reference.find('/') == std::string::npos) return reference;
    return std::nullopt;
  }
  std::string rest = reference.substr(pos + 8);
  rest = rest.substr(0, rest.find('/'));
  if (rest.empty()) return std::nullopt;
  return rest;
}

bool is_blank(const std::string& line) {
  return line.find_first_not_of(" \t\r") == std::string::npos;
}

std::string where_of(std::size_t line_no, const std::string& entry) {
  return "line " + std::to_string(line_no) + (entry.empty() ? "" : ", " + entry);
}

}  // namespace

bool ImportReader::emit(ReadEvent&& event) {
  event.bytes = bytes_;
  bytes_ = 0;
  return sink_(std::move(event));
}

bool ImportReader::bad(std::size_t source, std::size_t line, std::string where, Status status) {
  ReadEvent event;
  event.kind = ReadEvent::Kind::bad;
  event.source = source;
  event.line = line;
  event.where = std::move(where);
  event.status = std::move(status);
  return emit(std::move(event));
}

bool ImportReader::read_line(std::istream& in, std::string& line, std::uint64_t& length) const {
  line.clear();
  length = 0;
  bool got = false;
  // In chunks, with istream::getline (which finds the '\n' in the stream's
  // buffer), so that a line is never held past the limit.
  char chunk[16384];
  for (;;) {
    in.getline(chunk, sizeof chunk);
    auto count = static_cast<std::size_t>(in.gcount());
    if (in.bad()) return false;
    if (count == 0 && in.fail()) return got;  // the end: nothing more
    got = true;
    const bool full = in.fail() && !in.eof();    // the chunk filled before the '\n'
    const bool ended = !in.fail() && !in.eof();  // the '\n' was read (and counted)
    if (ended) --count;
    const bool was_within = length <= max_json_bytes_;
    length += count;
    if (length <= max_json_bytes_)
      line.append(chunk, count);
    else if (was_within)
      std::string().swap(line);  // over the limit: dropped, memory too
    if (!full) return true;
    in.clear();
  }
}

Status ImportReader::too_large() const {
  return Status(StatusCode::too_large, "over the limit of " + std::to_string(max_json_bytes_) +
                                           " bytes for one JSON text (--max-json-bytes)");
}

bool ImportReader::read_source(std::size_t index, std::istream& in) {
  std::string line;
  std::uint64_t length = 0;
  std::size_t line_no = 0;
  // Lines read ahead while trying the file as one document, to be taken as
  // NDJSON lines after all (from line 2).
  std::deque<Line> replay;
  auto next_line = [&] {
    if (replay.empty()) return read_line(in, line, length);
    line = std::move(replay.front().text);
    length = replay.front().length;
    replay.pop_front();
    return true;
  };
  auto unreadable = [&] {
    ReadEvent event;
    event.kind = ReadEvent::Kind::unreadable;
    event.source = index;
    emit(std::move(event));
    return false;
  };
  bool first = true;
  while (next_line()) {
    ++line_no;
    bytes_ += length + 1;
    if (length > max_json_bytes_) {  // read past, not kept
      first = false;
      if (!bad(index, line_no, where_of(line_no, ""), too_large())) return false;
      continue;
    }
    if (line_no == 1)  // a byte order mark is ignored
      line.erase(0, line.size() - json_io::without_byte_order_mark(line).size());
    if (is_blank(line)) continue;
    json::error_code ec;
    // One arena per line (as engine_bench's mapped path parses): the tree
    // dies once the line is mapped -- pending writes keep typed entities
    // only -- so it is neither allocated nor freed node by node.
    alignas(16) unsigned char arena_buffer[16384];
    json_io::Arena arena(arena_buffer, sizeof arena_buffer);
    json::value v = json::parse(line, ec, &arena);
    if (ec && first) {
      // A pretty-printed Bundle spans lines: when the first non-blank line is
      // not a complete JSON value, the file may be one document.
      Document doc = parse_document(line, line_no, in, replay);
      // Not one: the next non-blank line tells NDJSON (a value by itself)
      // from a broken document (a fragment).
      if (!doc.error || doc.too_large || !next_is_a_value(replay)) {
        for (const auto& l : replay) bytes_ += l.length + 1;
        replay.clear();
        if (!doc.error) return handle_value(index, line_no, doc.value) && emit(ReadEvent{});
        if (in.bad()) return unreadable();  // it broke because reading did
        // A broken (or too large) document: one bad line, where it breaks;
        // the rest of the source is not read (its lines are not resources of
        // their own).
        return bad(index, doc.error_line, where_of(doc.error_line, ""),
                   doc.too_large ? too_large()
                                 : Status(StatusCode::structure,
                                          "not a JSON document: " + doc.error.message()));
      }
      // NDJSON with a broken first line: that line is a bad line, and the
      // lines read meanwhile are taken as NDJSON lines below.
    }
    first = false;
    const bool go_on = ec ? bad(index, line_no, "line " + std::to_string(line_no),
                                Status(StatusCode::structure, "not a JSON value: " + ec.message()))
                          : handle_value(index, line_no, v);
    if (!go_on) return false;
  }
  if (in.bad()) return unreadable();
  return emit(ReadEvent{});  // the bytes of trailing blank lines
}

ImportReader::Document ImportReader::parse_document(const std::string& first_line,
                                                    std::size_t line_no, std::istream& in,
                                                    std::deque<Line>& read) {
  // Fed line by line, so that an NDJSON file with a broken first line fails
  // within a line or two instead of being read whole into memory first.
  Document doc;
  doc.error_line = line_no;
  json::stream_parser parser;
  parser.write(first_line.data(), first_line.size(), doc.error);
  std::uint64_t total = first_line.size(), length = 0;
  std::string line;
  while (!doc.error && read_line(in, line, length)) {
    ++doc.error_line;
    total += length + 1;
    if (total > max_json_bytes_) {
      // Not kept: the caller reports the document, whose rest is not read.
      doc.too_large = true;
      doc.error = json::error::exception;  // any error: it is not parsed
      return doc;
    }
    parser.write("\n", 1, doc.error);
    if (!doc.error) parser.write(line.data(), line.size(), doc.error);
    read.push_back({std::move(line), length});
  }
  if (!doc.error) parser.finish(doc.error);
  if (!doc.error) doc.value = parser.release();
  // Broken on its first line: one more non-blank line, to tell what it is.
  while (doc.error && !has_content(read) && read_line(in, line, length))
    read.push_back({std::move(line), length});
  return doc;
}

bool ImportReader::next_is_a_value(const std::deque<Line>& lines) {
  for (const auto& line : lines) {
    if (line.too_long()) return true;
    if (is_blank(line.text)) continue;
    json::error_code ec;
    json::parse(line.text, ec);
    return !ec;
  }
  return true;  // nothing after the first line: it was a bad line either way
}

bool ImportReader::has_content(const std::deque<Line>& lines) {
  return std::any_of(lines.begin(), lines.end(),
                     [](const Line& l) { return l.too_long() || !is_blank(l.text); });
}

// One parsed line, or a whole Bundle file (line_no then its first line).
bool ImportReader::handle_value(std::size_t source, std::size_t line_no, json::value& v) {
  const json::object* obj = v.if_object();
  const json::string* type =
      obj ? (obj->if_contains("resourceType") ? obj->at("resourceType").if_string() : nullptr)
          : nullptr;
  if (!type)
    return bad(source, line_no, where_of(line_no, ""),
               Status::Invalid("resourceType", "not a FHIR resource (no resourceType)"));
  if (*type != "Bundle") return handle_resource(source, line_no, "", v, std::nullopt);
  // A Bundle's entries count as resources read, not the Bundle.
  auto parsed = mapping::parse_bundle(v);
  if (!parsed.ok()) return bad(source, line_no, where_of(line_no, ""), parsed.status());
  for (auto& e : parsed->entries) {
    if (e.resource.is_null()) continue;  // DELETE / GET entries: nothing to import
    if (!handle_resource(source, line_no, "entry[" + std::to_string(e.index) + "]", e.resource,
                         e.full_url))
      return false;
  }
  return true;
}

bool ImportReader::handle_resource(std::size_t source, std::size_t line_no,
                                   const std::string& entry, json::value& v,
                                   const std::optional<std::string>& full_url) {
  ReadEvent event;
  event.found = true;
  event.source = source;
  event.line = line_no;
  event.where = where_of(line_no, entry);
  const json::object* obj = v.if_object();
  const json::string* type =
      obj && obj->if_contains("resourceType") ? obj->at("resourceType").if_string() : nullptr;
  if (!type) {
    event.kind = ReadEvent::Kind::bad;
    event.status = Status::Invalid("resourceType", "missing resourceType");
    return emit(std::move(event));
  }
  Pending& p = event.resource;
  p.source = source;
  p.line = line_no;
  p.where = event.where;
  p.alias = full_url;
  if (const auto* id = obj->if_contains("id"); id && id->is_string())
    p.fhir_id = std::string(id->get_string());
  if (*type == "Patient") {
    auto mapped = mapping::fhir_patient_to_icure(v, mapping_);
    if (!mapped.ok()) {
      event.kind = ReadEvent::Kind::bad;
      event.status = mapped.status();
      return emit(std::move(event));
    }
    p.kind = Pending::Kind::patient;
    p.patient = std::move(*mapped);
    // Ids are drawn here, on the reading thread, never by the writer.
    if (!p.patient.id || p.patient.id->empty()) p.patient.id = mapping_.new_id();
  } else if (*type == "Observation") {
    if (Status mapped = map_observation(p, v); !mapped.ok()) {
      event.kind = ReadEvent::Kind::bad;
      event.status = std::move(mapped);
      return emit(std::move(event));
    }
  } else {
    event.kind = ReadEvent::Kind::unsupported;
    if (unsupported_reported_.insert(std::string(*type)).second)
      event.status = Status(StatusCode::not_supported,
                            std::string(*type) +
                                " resources are not imported (only Patient and Observation); "
                                "skipping them");
    return emit(std::move(event));
  }
  event.kind = ReadEvent::Kind::resource;
  return emit(std::move(event));
}

Status ImportReader::map_observation(Pending& p, json::value& v) {
  auto mapped = mapping::fhir_observation_to_icure(v, mapping_);
  if (!mapped.ok()) return mapped.status();
  std::optional<std::string> key;
  if (mapped->subject_reference) key = subject_key(*mapped->subject_reference);
  if (!key)
    return Status::Invalid("Observation.subject",
                           mapped->subject_reference
                               ? "'" + *mapped->subject_reference + "' is not a Patient reference"
                               : "an Observation needs a Patient subject to be stored");
  p.kind = Pending::Kind::observation;
  p.contact = std::move(mapped->contact);
  p.subject_key = *key;
  return {};
}

}  // namespace fhirbridge::server::bulk::detail
