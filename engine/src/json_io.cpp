#include "fhirbridge/json_io.hpp"

#include <charconv>

namespace fhirbridge::json_io {

namespace {

void write_value(std::string& out, const json::value& v, bool pretty, std::size_t indent) {
  auto newline = [&](std::size_t level) {
    if (!pretty) return;
    out += '\n';
    out.append(level * 2, ' ');
  };
  switch (v.kind()) {
    case json::kind::object: {
      const auto& o = v.get_object();
      if (o.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      bool first = true;
      for (const auto& kv : o) {
        if (!first) out += ',';
        first = false;
        newline(indent + 1);
        out += json::serialize(kv.key());
        out += pretty ? ": " : ":";
        write_value(out, kv.value(), pretty, indent + 1);
      }
      newline(indent);
      out += '}';
      return;
    }
    case json::kind::array: {
      const auto& a = v.get_array();
      if (a.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i) out += ',';
        newline(indent + 1);
        write_value(out, a[i], pretty, indent + 1);
      }
      newline(indent);
      out += ']';
      return;
    }
    case json::kind::double_: {
      double d = v.get_double();
      if (!std::isfinite(d)) {
        out += "null";
        return;
      }
      char buf[64];
      auto res = std::to_chars(buf, buf + sizeof buf, d);  // shortest round-trip form
      out.append(buf, res.ptr);
      return;
    }
    default: out += json::serialize(v);
  }
}

}  // namespace

Result<json::value> parse_client_json(std::string_view text) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 64;
  const std::string_view json_text = without_byte_order_mark(text);
  json::value value =
      json::parse(json::string_view(json_text.data(), json_text.size()), ec, {}, options);
  if (ec) return Status(StatusCode::structure, "malformed JSON body: " + ec.message());
  return value;
}

std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    std::size_t len = c < 0x80           ? 1
                      : (c >> 5) == 0x6  ? 2
                      : (c >> 4) == 0xE  ? 3
                      : (c >> 3) == 0x1E ? 4
                                         : 0;
    bool ok = len != 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) ok = (p[i + k] & 0xC0) == 0x80;
    if (ok && len > 1) {  // reject overlongs, surrogates and > U+10FFFF
      std::uint32_t cp = c & (0x7F >> len);
      for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (p[i + k] & 0x3F);
      static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= kMin[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    }
    if (ok) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    }
  }
  return out;
}

std::string serialize(const json::value& v, bool pretty) {
  std::string out;
  write_value(out, v, pretty, 0);
  if (pretty) out += '\n';
  return out;
}

namespace {

// The comparison without paths: the hot path of the residual computation,
// where building a path string per visited node cost more than the compare.
bool same(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) return a.to_number<double>() == b.to_number<double>();
  if (a.kind() != b.kind()) return false;
  if (a.is_object()) {
    const auto& oa = a.get_object();
    const auto& ob = b.get_object();
    if (oa.size() != ob.size()) return false;
    for (const auto& kv : oa) {
      auto it = ob.find(kv.key());
      if (it == ob.end() || !same(kv.value(), it->value())) return false;
    }
    return true;
  }
  if (a.is_array()) {
    const auto& xa = a.get_array();
    const auto& xb = b.get_array();
    if (xa.size() != xb.size()) return false;
    for (std::size_t i = 0; i < xa.size(); ++i)
      if (!same(xa[i], xb[i])) return false;
    return true;
  }
  return a == b;
}

}  // namespace

bool equivalent(const json::value& a, const json::value& b, std::string* where,
                const std::string& path) {
  if (!where) return same(a, b);
  auto differ = [&](const std::string& p) {
    *where = p;
    return false;
  };
  if (a.is_number() && b.is_number()) {
    if (a.to_number<double>() != b.to_number<double>()) return differ(path);
    return true;
  }
  if (a.kind() != b.kind()) return differ(path);
  if (a.is_object()) {
    const auto& oa = a.get_object();
    const auto& ob = b.get_object();
    if (oa.size() != ob.size()) {
      for (const auto& kv : oa)
        if (!ob.contains(kv.key()))
          return differ(path + "." + std::string(kv.key()) + " (missing on right)");
      for (const auto& kv : ob)
        if (!oa.contains(kv.key()))
          return differ(path + "." + std::string(kv.key()) + " (missing on left)");
    }
    for (const auto& kv : oa) {
      auto it = ob.find(kv.key());
      if (it == ob.end()) return differ(path + "." + std::string(kv.key()) + " (missing on right)");
      if (!equivalent(kv.value(), it->value(), where, path + "." + std::string(kv.key())))
        return false;
    }
    return true;
  }
  if (a.is_array()) {
    const auto& xa = a.get_array();
    const auto& xb = b.get_array();
    if (xa.size() != xb.size()) return differ(path + " (array size)");
    for (std::size_t i = 0; i < xa.size(); ++i)
      if (!equivalent(xa[i], xb[i], where, path + "[" + std::to_string(i) + "]")) return false;
    return true;
  }
  if (a != b) return differ(path);
  return true;
}

}  // namespace fhirbridge::json_io
