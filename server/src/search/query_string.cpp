// application/x-www-form-urlencoded decoding/encoding of FHIR search queries.
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "fhirbridge/server/detail/search_plan.hpp"
#include "fhirbridge/server/search.hpp"

namespace fhirbridge::server {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// '+' is a space (HTML forms, which most clients emulate); %XX is a byte.
bool decode_component(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return true;
}

// Printable ASCII only, for error messages (names may be arbitrary bytes).
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

}  // namespace

Result<std::vector<QueryParam>> parse_query(std::string_view raw) {
  if (!raw.empty() && raw.front() == '?') raw.remove_prefix(1);
  std::vector<QueryParam> params;
  std::string name, value;
  while (!raw.empty()) {
    std::size_t amp = raw.find('&');
    std::string_view pair = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view{} : raw.substr(amp + 1);
    if (pair.empty()) continue;  // "a=1&&b=2", trailing '&' (the tutorial sends one)
    std::size_t eq = pair.find('=');
    std::string_view raw_name = pair.substr(0, eq);
    std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (!decode_component(raw_name, name) || !decode_component(raw_value, value)) {
      return Status::Invalid("query", "bad percent-encoding in '" + printable(pair) + "'");
    }
    QueryParam param;
    // _has:Type:ref:param keeps its colons; other names split at the first ':'
    // into name and modifier ("name:exact", "subject:Patient.name").
    if (name.rfind("_has:", 0) == 0) {
      param.name = name;
    } else if (std::size_t colon = name.find(':'); colon != std::string::npos) {
      param.name = name.substr(0, colon);
      param.modifier = name.substr(colon + 1);
    } else {
      param.name = name;
    }
    param.value = value;
    params.push_back(std::move(param));
  }
  return params;
}

namespace detail {

Result<std::size_t> parse_count(std::string_view value) {
  std::size_t count = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), count);
  if (ec != std::errc{} || end != value.data() + value.size())
    return Status::Invalid("_count", "'" + printable(value) + "' is not a non-negative integer");
  return count;
}

std::vector<std::string> split_or(const std::string& value) {
  std::vector<std::string> parts;
  std::string current;
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\\' && i + 1 < value.size() &&
        (value[i + 1] == ',' || value[i + 1] == '|' || value[i + 1] == '$' ||
         value[i + 1] == '\\')) {
      current.push_back(value[++i]);
    } else if (c == ',') {
      if (!current.empty()) parts.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty()) parts.push_back(std::move(current));
  return parts;
}

namespace {
void encode_component(std::string_view in, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : in) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.' || c == '~' || c == ':' || c == ',' ||
                      c == '/';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
}
}  // namespace

std::string encode_query(const std::vector<QueryParam>& params) {
  std::string out;
  for (const auto& p : params) {
    if (!out.empty()) out.push_back('&');
    encode_component(p.name, out);
    if (!p.modifier.empty()) {
      out.push_back(':');
      encode_component(p.modifier, out);
    }
    out.push_back('=');
    encode_component(p.value, out);
  }
  return out;
}

}  // namespace detail
}  // namespace fhirbridge::server
