// Generic JSON <-> C++ conversion for Boost.Describe'd structs.
//
// Why not Boost.JSON's built-in described-class conversion: it writes `null`
// for empty optionals and drops unknown keys. The iCure wire format omits
// absent fields, and we must never lose a field we do not model, so every
// struct may carry an `extra` member (a json::object) that receives unknown
// keys on read and is written back verbatim.
#pragma once

#include <boost/describe.hpp>
#include <boost/json.hpp>
#include <boost/mp11.hpp>

#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "fhirbridge/status.hpp"

namespace fhirbridge::json_io {

namespace json = boost::json;

namespace detail {
template <typename T>
struct is_optional : std::false_type {};
template <typename T>
struct is_optional<std::optional<T>> : std::true_type {};
template <typename T>
struct is_vector : std::false_type {};
template <typename T>
struct is_vector<std::vector<T>> : std::true_type {};
template <typename T>
struct is_string_map : std::false_type {};
template <typename T>
struct is_string_map<std::map<std::string, T>> : std::true_type {};

template <typename T>
constexpr bool is_described_v = boost::describe::has_describe_members<T>::value;

inline std::string child_path(const std::string& path, std::string_view key) {
  std::string out = path;
  if (!out.empty()) out += '.';
  out += key;
  return out;
}
inline std::string index_path(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}
}  // namespace detail

// ---- writing -------------------------------------------------------------

template <typename T>
json::value to_json(const T& v);

template <typename T>
void write_members(const T& v, json::object& out) {
  using Members = boost::describe::describe_members<T, boost::describe::mod_public>;
  boost::mp11::mp_for_each<Members>([&](auto D) {
    using M = std::remove_cvref_t<decltype(v.*D.pointer)>;
    const M& m = v.*D.pointer;
    if constexpr (std::is_same_v<M, json::object>) {
      // the `extra` catch-all: unknown keys are written back as they came
      for (const auto& kv : m) out.emplace(kv.key(), kv.value());
    } else if constexpr (detail::is_optional<M>::value) {
      if (m) out.emplace(D.name, to_json(*m));
    } else {
      out.emplace(D.name, to_json(m));
    }
  });
}

template <typename T>
json::value to_json(const T& v) {
  if constexpr (std::is_same_v<T, json::value>) {
    return v;
  } else if constexpr (std::is_same_v<T, json::object> || std::is_same_v<T, json::array>) {
    return json::value(v);
  } else if constexpr (std::is_same_v<T, std::string>) {
    return json::value(json::string_view(v));
  } else if constexpr (std::is_same_v<T, bool>) {
    return json::value(v);
  } else if constexpr (std::is_integral_v<T>) {
    return json::value(static_cast<std::int64_t>(v));
  } else if constexpr (std::is_floating_point_v<T>) {
    // Integral doubles are written as integers (72, not 7.2E1), as JavaScript does.
    double d = static_cast<double>(v);
    if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.0e15)
      return json::value(static_cast<std::int64_t>(d));
    return json::value(d);
  } else if constexpr (detail::is_optional<T>::value) {
    return v ? to_json(*v) : json::value(nullptr);
  } else if constexpr (detail::is_vector<T>::value) {
    json::array a;
    a.reserve(v.size());
    for (const auto& e : v) a.push_back(to_json(e));
    return a;
  } else if constexpr (detail::is_string_map<T>::value) {
    json::object o;
    for (const auto& [k, e] : v) o.emplace(k, to_json(e));
    return o;
  } else {
    static_assert(detail::is_described_v<T>, "to_json: type is not supported");
    json::object o;
    write_members(v, o);
    return o;
  }
}

// ---- reading -------------------------------------------------------------
// `path` names the field for error messages (e.g. "Patient.names[0].use").

template <typename T>
Status from_json(const json::value& jv, T& out, const std::string& path);

template <typename T>
Status read_members(const json::object& obj, T& out, const std::string& path) {
  using Members = boost::describe::describe_members<T, boost::describe::mod_public>;
  Status status;
  json::object* extra = nullptr;
  boost::mp11::mp_for_each<Members>([&](auto D) {
    using M = std::remove_cvref_t<decltype(out.*D.pointer)>;
    if constexpr (std::is_same_v<M, json::object>) extra = &(out.*D.pointer);
  });
  for (const auto& kv : obj) {
    bool known = false;
    boost::mp11::mp_for_each<Members>([&](auto D) {
      using M = std::remove_cvref_t<decltype(out.*D.pointer)>;
      if constexpr (!std::is_same_v<M, json::object>) {
        if (known || kv.key() != D.name) return;
        known = true;
        if (!status.ok()) return;
        if (kv.value().is_null()) return;  // null == absent
        status = from_json(kv.value(), out.*D.pointer, detail::child_path(path, D.name));
      }
    });
    if (!known && extra) extra->emplace(kv.key(), kv.value());
    if (!status.ok()) return status;
  }
  return status;
}

template <typename T>
Status from_json(const json::value& jv, T& out, const std::string& path) {
  auto wrong = [&](const char* expected) {
    return Status(StatusCode::structure,
                  std::string("expected ") + expected + ", got " +
                      std::string(json::serialize(jv)).substr(0, 60),
                  path);
  };
  if constexpr (std::is_same_v<T, json::value>) {
    out = jv;
  } else if constexpr (std::is_same_v<T, json::object>) {
    if (!jv.is_object()) return wrong("an object");
    out = jv.get_object();
  } else if constexpr (std::is_same_v<T, json::array>) {
    if (!jv.is_array()) return wrong("an array");
    out = jv.get_array();
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!jv.is_string()) return wrong("a string");
    out.assign(jv.get_string().data(), jv.get_string().size());
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!jv.is_bool()) return wrong("a boolean");
    out = jv.get_bool();
  } else if constexpr (std::is_integral_v<T>) {
    if (jv.is_int64())
      out = static_cast<T>(jv.get_int64());
    else if (jv.is_uint64())
      out = static_cast<T>(jv.get_uint64());
    else if (jv.is_double() && jv.get_double() == std::trunc(jv.get_double()) &&
             std::fabs(jv.get_double()) < 9.2e18)
      out = static_cast<T>(jv.get_double());
    else
      return wrong("an integer");
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!jv.is_number()) return wrong("a number");
    const double d = jv.to_number<double>();
    if (!std::isfinite(d)) return wrong("a finite number");
    out = static_cast<T>(d);
  } else if constexpr (detail::is_optional<T>::value) {
    typename T::value_type v{};
    Status s = from_json(jv, v, path);
    if (!s.ok()) return s;
    out = std::move(v);
  } else if constexpr (detail::is_vector<T>::value) {
    if (!jv.is_array()) return wrong("an array");
    out.clear();
    out.reserve(jv.get_array().size());
    std::size_t i = 0;
    for (const auto& e : jv.get_array()) {
      typename T::value_type v{};
      Status s = from_json(e, v, detail::index_path(path, i++));
      if (!s.ok()) return s;
      out.push_back(std::move(v));
    }
  } else if constexpr (detail::is_string_map<T>::value) {
    if (!jv.is_object()) return wrong("an object");
    out.clear();
    for (const auto& kv : jv.get_object()) {
      typename T::mapped_type v{};
      Status s = from_json(kv.value(), v, detail::child_path(path, kv.key()));
      if (!s.ok()) return s;
      out.emplace(std::string(kv.key()), std::move(v));
    }
  } else {
    static_assert(detail::is_described_v<T>, "from_json: type is not supported");
    if (!jv.is_object()) return wrong("an object");
    return read_members(jv.get_object(), out, path);
  }
  return {};
}

// Parse JSON text into T; malformed JSON is a `structure` error.
template <typename T>
Result<T> parse(std::string_view text, const std::string& path) {
  boost::system::error_code ec;
  json::value jv = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) return Status(StatusCode::structure, "malformed JSON: " + ec.message(), path);
  T out{};
  Status s = from_json(jv, out, path);
  if (!s.ok()) return s;
  return out;
}

// `text` without a leading UTF-8 byte order mark (Windows tools write one;
// RFC 8259 lets a parser ignore it, and JSON text cannot start with it).
inline std::string_view without_byte_order_mark(std::string_view text) {
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  return text.substr(0, kBom.size()) == kBom ? text.substr(kBom.size()) : text;
}

// A JSON text a client sent (an HTTP body, a file): a byte order mark in
// front is ignored and nesting deeper than 64 is refused (the mapping walks
// values recursively). A structure error "malformed JSON body: ..." otherwise.
Result<json::value> parse_client_json(std::string_view text);

// `text` with every invalid UTF-8 sequence replaced by U+FFFD, so that echoing
// client bytes (ids, paths) into a JSON answer still gives valid JSON.
std::string valid_utf8(std::string_view text);

// JSON text as JavaScript would write it: doubles in their shortest
// round-trip form (7.2, not Boost.JSON's 7.2E0); compact, or pretty with a
// 2-space indent. Non-finite numbers become null.
std::string serialize(const json::value& v, bool pretty = false);

// Semantic JSON equality: object key order is ignored and numbers compare by
// value (72 == 72.0). Returns the first differing path in `where` when given.
bool equivalent(const json::value& a, const json::value& b, std::string* where = nullptr,
                const std::string& path = "$");

}  // namespace fhirbridge::json_io
