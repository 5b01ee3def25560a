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

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

// The output text, written through a raw cursor, so that each piece costs a
// bounds check and a memcpy instead of a std::string append call. Two modes:
// - appending to a std::string `out`, grown ahead and cut back to what was
//   written when the Sink ends;
// - into a caller's buffer (to_string: a stack buffer, then one allocation of
//   the exact size, as boost::json::serialize does), spilling into a heap
//   string only when the buffer is full.
class Sink {
 public:
  explicit Sink(std::string& out) : out_(&out), size_(out.size()) {
    out.resize(std::max(out.capacity(), size_ + 1024));
    data_ = out.data();
    capacity_ = out.size();
  }
  Sink(char* buffer, std::size_t size) : data_(buffer), capacity_(size) {}
  ~Sink() {
    if (out_) out_->resize(size_);  // shrinking never allocates
  }
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
  // What was written (buffer mode).
  std::string_view text() const { return {data_, size_}; }

 private:
  [[gnu::noinline]] void grow(std::size_t n) {
    std::string& target = out_ ? *out_ : spill_;
    const std::size_t size = std::max(capacity_ * 2, size_ + n);
    if (!out_ && spill_.empty()) {  // leaving the caller's buffer
      spill_.resize(size);
      std::memcpy(spill_.data(), data_, size_);
    } else {
      target.resize(size);
    }
    data_ = target.data();
    capacity_ = target.size();
  }

  std::string* out_ = nullptr;
  std::string spill_;
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

#if defined(__SSE2__)
// The bytes of 16 that need escaping, as a bit mask (bit i = byte i).
inline unsigned special_bytes(__m128i v) {
  const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);  // v <= 0x1f
  const __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
  const __m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
  return static_cast<unsigned>(
      _mm_movemask_epi8(_mm_or_si128(control, _mm_or_si128(quote, backslash))));
}
#endif

// How many leading bytes of `s` need no escaping, copied to `out` (which has
// room for s.size() bytes; bytes past the returned count may be written too:
// the caller overwrites them). Plain text is checked and copied 16 (SSE2) or
// 8 bytes at a time, the last block overlapping the one before.
inline std::size_t copy_plain(char* out, std::string_view s) {
  const char* const in = s.data();
  const std::size_t n = s.size();
#if defined(__SSE2__)
  if (n >= 16) {
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), v);
      if (const unsigned special = special_bytes(v))
        return i + static_cast<std::size_t>(__builtin_ctz(special));
    }
    if (i == n) return n;
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + n - 16));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + n - 16), v);
    // the overlapped bytes (before i) were plain: the first special one is at or after i
    if (const unsigned special = special_bytes(v))
      return n - 16 + static_cast<std::size_t>(__builtin_ctz(special));
    return n;
  }
#else
  if (n >= 16) {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      std::uint64_t w;
      std::memcpy(&w, in + i, 8);
      if (word_needs_escape(w)) return i;
      std::memcpy(out + i, &w, 8);
    }
    return i;
  }
#endif
  if (n >= 8) {  // two words, overlapping
    std::uint64_t head, tail;
    std::memcpy(&head, in, 8);
    std::memcpy(&tail, in + n - 8, 8);
    if (word_needs_escape(head)) return 0;
    std::memcpy(out, &head, 8);
    if (word_needs_escape(tail)) return 8;
    std::memcpy(out + n - 8, &tail, 8);
    return n;
  }
  return 0;
}

// A JSON string literal, escaped exactly as Boost.JSON's serializer does.
inline void write_string(Sink& sink, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  char* const begin = sink.room(s.size() * 6 + 2);  // the worst case: all \u00XX
  char* p = begin;
  *p++ = '"';
  std::size_t i = copy_plain(p, s);
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

// An integer as std::to_chars writes it, two digits at a time and in 32-bit
// halves (the 13-14 digit epoch times and iCure dates are the common case).
inline void write_integer(Sink& sink, std::int64_t v) {
  static constexpr char pairs[] =
      "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
      "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
      "8081828384858687888990919293949596979899";
  char buf[24];
  char* const end = buf + sizeof buf;
  char* p = end;
  std::uint64_t u = v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
  auto two_digits = [&](std::uint32_t x) {  // x < 100
    p -= 2;
    std::memcpy(p, pairs + 2 * x, 2);
  };
  auto eight_digits = [&](std::uint32_t x) {  // x < 10^8, all 8 written
    for (int k = 0; k < 4; ++k, x /= 100) two_digits(x % 100);
  };
  while (u >= 100000000) {
    eight_digits(static_cast<std::uint32_t>(u % 100000000));
    u /= 100000000;
  }
  auto x = static_cast<std::uint32_t>(u);
  while (x >= 100) {
    two_digits(x % 100);
    x /= 100;
  }
  if (x >= 10)
    two_digits(x);
  else
    *--p = static_cast<char>('0' + x);
  if (v < 0) *--p = '-';
  const auto n = static_cast<std::size_t>(end - p);
  std::memcpy(sink.room(n), p, n);
  sink.advance(n);
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
    // Two copies of compile-time sizes (inlined moves) rather than one of a
    // run-time size: no comma before the first member.
    constexpr auto& text = MemberKey<decltype(D)>::text;
    constexpr std::size_t size = text.size();
    char* p = sink.room(size);
    if (first) {
      std::memcpy(p, text.data() + 1, size - 1);
      sink.advance(size - 1);
    } else {
      std::memcpy(p, text.data(), size);
      sink.advance(size);
    }
    first = false;
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
    write_integer(sink, static_cast<std::int64_t>(v));
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
  char buffer[4096];
  detail::Sink sink(buffer, sizeof buffer);
  detail::write(sink, v);
  return std::string(sink.text());
}

}  // namespace fhirbridge::json_writer
