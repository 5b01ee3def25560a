// Writes a Boost.Describe'd entity straight to JSON text: the same bytes as
// boost::json::serialize(json_io::to_json(entity)), without building the
// intermediate boost::json::value tree (which cost more than the mapping
// itself: one allocation per node, then freeing them all). Used where iCure
// entities are serialised in bulk (the store, import, the engine benchmark).
#pragma once

#include <boost/describe.hpp>
#include <boost/json.hpp>
#include <boost/mp11.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "fhirbridge/json_io.hpp"

namespace fhirbridge::json_writer {

namespace json = boost::json;

// A JSON string literal, escaped exactly as Boost.JSON's serializer does.
inline void write_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0;  // start of the pending unescaped run
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

template <typename T>
void write(std::string& out, const T& v);

namespace detail {
template <typename T>
void write_members(std::string& out, const T& v, bool& first) {
  using Members = boost::describe::describe_members<T, boost::describe::mod_public>;
  auto key = [&](std::string_view name) {
    if (!first) out += ',';
    first = false;
    write_string(out, name);
    out += ':';
  };
  boost::mp11::mp_for_each<Members>([&](auto D) {
    using M = std::remove_cvref_t<decltype(v.*D.pointer)>;
    const M& m = v.*D.pointer;
    if constexpr (std::is_same_v<M, json::object>) {
      for (const auto& kv : m) {  // the `extra` catch-all, as it came
        key(kv.key());
        out += json::serialize(kv.value());
      }
    } else if constexpr (json_io::detail::is_optional<M>::value) {
      if (m) {
        key(D.name);
        write(out, *m);
      }
    } else {
      key(D.name);
      write(out, m);
    }
  });
}
}  // namespace detail

template <typename T>
void write(std::string& out, const T& v) {
  if constexpr (std::is_same_v<T, json::value> || std::is_same_v<T, json::object> ||
                std::is_same_v<T, json::array>) {
    out += json::serialize(v);
  } else if constexpr (std::is_same_v<T, std::string>) {
    write_string(out, v);
  } else if constexpr (std::is_same_v<T, bool>) {
    out += v ? "true" : "false";
  } else if constexpr (std::is_integral_v<T>) {
    char buf[24];
    auto end = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(v)).ptr;
    out.append(buf, end);
  } else if constexpr (std::is_floating_point_v<T>) {
    // json_io::to_json's rule: integral doubles as integers, others as Boost.JSON writes them.
    const double d = static_cast<double>(v);
    if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.0e15)
      write(out, static_cast<std::int64_t>(d));
    else
      out += json::serialize(json::value(d));
  } else if constexpr (json_io::detail::is_optional<T>::value) {
    if (v)
      write(out, *v);
    else
      out += "null";
  } else if constexpr (json_io::detail::is_vector<T>::value) {
    out += '[';
    bool first = true;
    for (const auto& e : v) {
      if (!first) out += ',';
      first = false;
      write(out, e);
    }
    out += ']';
  } else if constexpr (json_io::detail::is_string_map<T>::value) {
    out += '{';
    bool first = true;
    for (const auto& [k, e] : v) {
      if (!first) out += ',';
      first = false;
      write_string(out, k);
      out += ':';
      write(out, e);
    }
    out += '}';
  } else {
    static_assert(json_io::detail::is_described_v<T>, "json_writer: type is not supported");
    out += '{';
    bool first = true;
    detail::write_members(out, v, first);
    out += '}';
  }
}

// The entity as compact JSON text.
template <typename T>
std::string to_string(const T& v) {
  std::string out;
  out.reserve(1024);
  write(out, v);
  return out;
}

}  // namespace fhirbridge::json_writer
