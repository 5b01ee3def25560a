// Writes a Boost.Describe'd entity straight to JSON text: the same bytes as
// boost::json::serialize(json_io::to_json(entity)), without building the
// intermediate boost::json::value tree (which cost more than the mapping
// itself: one allocation per node, then freeing them all). Used where iCure
// entities are serialised in bulk (the store, import, the engine benchmark).
#pragma once

#include <boost/describe.hpp>
#include <boost/json.hpp>
#include <boost/json/detail/format.hpp>  // format_double: what serialize() writes for a double
#include <boost/mp11.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "fhirbridge/json_io.hpp"

namespace fhirbridge::json_writer {

namespace json = boost::json;

namespace detail {

// The output text, written through a raw cursor: `out` is grown ahead (and
// cut back to what was written when the Sink ends), so that each piece costs
// a bounds check and a memcpy instead of a std::string append call.
class Sink {
 public:
  explicit Sink(std::string& out) : out_(out), size_(out.size()) {
    out_.resize(std::max(out_.capacity(), size_ + 1024));
    data_ = out_.data();
    capacity_ = out_.size();
  }
  ~Sink() { out_.resize(size_); }  // shrinking never allocates
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  // Room for n more bytes; returns where they go (commit them with advance).
  char* room(std::size_t n) {
    if (capacity_ - size_ < n) [[unlikely]]
      grow(n);
    return data_ + size_;
  }
  void advance(std::size_t n) { size_ += n; }
  void put(char c) {
    *room(1) = c;
    ++size_;
  }
  void put(std::string_view s) {
    std::memcpy(room(s.size()), s.data(), s.size());
    size_ += s.size();
  }

 private:
  [[gnu::noinline]] void grow(std::size_t n) {
    out_.resize(std::max(capacity_ * 2, size_ + n));
    data_ = out_.data();
    capacity_ = out_.size();
  }

  std::string& out_;
  char* data_ = nullptr;
  std::size_t size_ = 0, capacity_ = 0;
};

// Whether any byte of the 8 in `w` needs escaping (< 0x20, '"' or '\\'):
// the common run of plain text is skipped a word at a time.
inline bool word_needs_escape(std::uint64_t w) {
  constexpr std::uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  auto has_zero = [&](std::uint64_t x) { return ((x - ones) & ~x & highs) != 0; };
  const bool control = ((w - ones * 0x20) & ~w & highs) != 0;  // a byte < 0x20
  return control || has_zero(w ^ (ones * '"')) || has_zero(w ^ (ones * '\\'));
}

// A JSON string literal, escaped exactly as Boost.JSON's serializer does.
inline void write_string(Sink& sink, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  char* const begin = sink.room(s.size() * 6 + 2);  // the worst case: all \u00XX
  char* p = begin;
  *p++ = '"';
  std::size_t i = 0;
  // Fast path: plain text, 8 bytes at a time.
  while (i + 8 <= s.size()) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    if (word_needs_escape(w)) break;
    i += 8;
  }
  if (i < s.size() && s.size() >= 8 && i + 8 > s.size()) {
    // The tail: one more word, overlapping what was already checked.
    std::uint64_t w;
    std::memcpy(&w, s.data() + s.size() - 8, 8);
    if (!word_needs_escape(w)) i = s.size();
  }
  std::memcpy(p, s.data(), i);
  p += i;
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') {
      *p++ = static_cast<char>(c);
      continue;
    }
    *p++ = '\\';
    switch (c) {
      case '"': *p++ = '"'; break;
      case '\\': *p++ = '\\'; break;
      case '\b': *p++ = 'b'; break;
      case '\t': *p++ = 't'; break;
      case '\n': *p++ = 'n'; break;
      case '\f': *p++ = 'f'; break;
      case '\r': *p++ = 'r'; break;
      default:
        *p++ = 'u';
        *p++ = '0';
        *p++ = '0';
        *p++ = hex[c >> 4];
        *p++ = hex[c & 15];
    }
  }
  *p++ = '"';
  sink.advance(static_cast<std::size_t>(p - begin));
}

template <typename T>
void write(Sink& sink, const T& v);

// `,"name":` of a described member, built at compile time (a member name is a
// C++ identifier: nothing to escape).
template <typename Descriptor>
struct MemberKey {
  static constexpr std::string_view name = Descriptor::name;
  static constexpr auto text = [] {
    std::array<char, name.size() + 4> out{};
    out[0] = ',';
    out[1] = '"';
    for (std::size_t i = 0; i < name.size(); ++i) out[i + 2] = name[i];
    out[name.size() + 2] = '"';
    out[name.size() + 3] = ':';
    return out;
  }();
};

template <typename T>
void write_members(Sink& sink, const T& v, bool& first) {
  using Members = boost::describe::describe_members<T, boost::describe::mod_public>;
  auto member_key = [&](auto D) {
    const auto& text = MemberKey<decltype(D)>::text;
    const std::size_t skip = first ? 1 : 0;  // no comma before the first member
    first = false;
    sink.put(std::string_view(text.data() + skip, text.size() - skip));
  };
  boost::mp11::mp_for_each<Members>([&](auto D) {
    using M = std::remove_cvref_t<decltype(v.*D.pointer)>;
    const M& m = v.*D.pointer;
    if constexpr (std::is_same_v<M, json::object>) {
      for (const auto& kv : m) {  // the `extra` catch-all, as it came
        if (!first) sink.put(',');
        first = false;
        write_string(sink, kv.key());
        sink.put(':');
        sink.put(json::serialize(kv.value()));
      }
    } else if constexpr (json_io::detail::is_optional<M>::value) {
      if (m) {
        member_key(D);
        write(sink, *m);
      }
    } else {
      member_key(D);
      write(sink, m);
    }
  });
}

template <typename T>
void write(Sink& sink, const T& v) {
  if constexpr (std::is_same_v<T, json::value> || std::is_same_v<T, json::object> ||
                std::is_same_v<T, json::array>) {
    sink.put(json::serialize(v));
  } else if constexpr (std::is_same_v<T, std::string>) {
    write_string(sink, v);
  } else if constexpr (std::is_same_v<T, bool>) {
    sink.put(v ? std::string_view("true") : std::string_view("false"));
  } else if constexpr (std::is_integral_v<T>) {
    char* p = sink.room(24);
    sink.advance(
        static_cast<std::size_t>(std::to_chars(p, p + 24, static_cast<std::int64_t>(v)).ptr - p));
  } else if constexpr (std::is_floating_point_v<T>) {
    // json_io::to_json's rule: integral doubles as integers, others as Boost.JSON writes them.
    const double d = static_cast<double>(v);
    if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.0e15) {
      write(sink, static_cast<std::int64_t>(d));
    } else {
      char buf[json::detail::max_number_chars + 1];
      sink.put(std::string_view(buf, json::detail::format_double(buf, d)));
    }
  } else if constexpr (json_io::detail::is_optional<T>::value) {
    if (v)
      write(sink, *v);
    else
      sink.put(std::string_view("null"));
  } else if constexpr (json_io::detail::is_vector<T>::value) {
    sink.put('[');
    bool first = true;
    for (const auto& e : v) {
      if (!first) sink.put(',');
      first = false;
      write(sink, e);
    }
    sink.put(']');
  } else if constexpr (json_io::detail::is_string_map<T>::value) {
    sink.put('{');
    bool first = true;
    for (const auto& [k, e] : v) {
      if (!first) sink.put(',');
      first = false;
      write_string(sink, k);
      sink.put(':');
      write(sink, e);
    }
    sink.put('}');
  } else {
    static_assert(json_io::detail::is_described_v<T>, "json_writer: type is not supported");
    sink.put('{');
    bool first = true;
    write_members(sink, v, first);
    sink.put('}');
  }
}

}  // namespace detail

// A JSON string literal, escaped exactly as Boost.JSON's serializer does.
inline void write_string(std::string& out, std::string_view s) {
  detail::Sink sink(out);
  detail::write_string(sink, s);
}

// Appends the entity's JSON text to `out`.
template <typename T>
void write(std::string& out, const T& v) {
  detail::Sink sink(out);
  detail::write(sink, v);
}

// The entity as compact JSON text.
template <typename T>
std::string to_string(const T& v) {
  std::string out;
  out.reserve(2048);
  write(out, v);
  return out;
}

}  // namespace fhirbridge::json_writer
