// Case and accent folding for name search ("Élodie" ~ "elodie"), so the
// index stores one normalised form and the query folds its input the same way.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fhirbridge::storage {

// Lower-cases ASCII and folds the Latin letters of U+00C0..U+017F to ASCII
// ("Ø" -> "o", "ß" -> "ss", "Œ" -> "oe"), drops combining marks
// (U+0300..U+036F, for decomposed input) and leaves every other character
// as it is. Invalid UTF-8 bytes are kept unchanged.
std::string fold_text(std::string_view utf8);

// The words of an already folded string: split on spaces, '-', '\'', ',' and '.'.
std::vector<std::string> fold_words(std::string_view folded);

}  // namespace fhirbridge::storage
