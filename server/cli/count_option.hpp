// Whole-number command-line options with a range. Boost's own parse of an
// unsigned option (lexical_cast) takes "-1" and wraps it to the largest value:
// `--batch-size -1` meant no limit, `generate --patients -1` never ended and
// `serve --threads -1` tried to start 4 billion threads. A Count accepts
// decimal digits only, within [Min, Max], and says so when it refuses.
#pragma once

#include <boost/any.hpp>
#include <boost/program_options/errors.hpp>
#include <boost/program_options/value_semantic.hpp>

#include <charconv>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

namespace fhirbridge::cli {

template <class T, T Min = 0, T Max = std::numeric_limits<T>::max()>
struct Count {
  T value{};
};

namespace detail {

// "the argument ('-1') for option '--threads' is invalid: ..." (Boost fills
// in the option's name).
class CountOutOfRange final : public boost::program_options::validation_error {
 public:
  CountOutOfRange(const std::string& token, const std::string& expected)
      : validation_error(invalid_option_value) {
    set_substitute("value", token);
    m_error_template =
        "the argument ('%value%') for option '%canonical_option%' is invalid: " + expected;
  }
};

template <class T>
std::string expected_range(T min, T max) {
  if (max == std::numeric_limits<T>::max())
    return "a whole number from " + std::to_string(min) + " up is expected";
  return "a whole number from " + std::to_string(min) + " to " + std::to_string(max) +
         " is expected";
}

}  // namespace detail

template <class T, T Min, T Max>
std::ostream& operator<<(std::ostream& out, const Count<T, Min, Max>& count) {
  return out << count.value;  // shown as the default in --help
}

// Found by argument-dependent lookup from boost::program_options::typed_value.
template <class T, T Min, T Max>
void validate(boost::any& out, const std::vector<std::string>& values, Count<T, Min, Max>*, int) {
  boost::program_options::validators::check_first_occurrence(out);
  const std::string& token = boost::program_options::validators::get_single_string(values);
  T parsed{};
  const char* first = token.data();
  const char* last = first + token.size();
  // from_chars alone would take a leading '-' for a signed T.
  const bool digits_only =
      !token.empty() && token.find_first_not_of("0123456789") == std::string::npos;
  const auto [end, ec] = std::from_chars(first, last, parsed);
  if (!digits_only || ec != std::errc{} || end != last || parsed < Min || parsed > Max)
    throw detail::CountOutOfRange(token, detail::expected_range<T>(Min, Max));
  out = Count<T, Min, Max>{parsed};
}

}  // namespace fhirbridge::cli
