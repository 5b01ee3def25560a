// The JSON helpers every module shares: writing numbers, UTF-8 repair, finite numbers.
#include <boost/test/unit_test.hpp>

#include "fhirbridge/icure/entities.hpp"
#include "fhirbridge/json_arena.hpp"
#include "fhirbridge/json_io.hpp"

namespace fb = fhirbridge;
namespace json = boost::json;

BOOST_AUTO_TEST_SUITE(json_io)

BOOST_AUTO_TEST_CASE(numbers_are_written_as_javascript_does) {
  BOOST_TEST(fb::json_io::serialize(json::parse(R"({"a":7.2,"b":72,"c":[1.5e-7]})")) ==
             R"({"a":7.2,"b":72,"c":[1.5e-07]})");
  BOOST_TEST(fb::json_io::serialize(json::parse(R"({"a":[]})"), true) == "{\n  \"a\": []\n}\n");
}

BOOST_AUTO_TEST_CASE(invalid_utf8_is_replaced_valid_utf8_kept) {
  BOOST_TEST(fb::json_io::valid_utf8("Patient/\xff\xfe") == "Patient/\xEF\xBF\xBD\xEF\xBF\xBD");
  BOOST_TEST(fb::json_io::valid_utf8("Secret note \xC3\xA9") == "Secret note \xC3\xA9");
  BOOST_TEST(fb::json_io::valid_utf8("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  BOOST_TEST(fb::json_io::valid_utf8("\xED\xA0\x80") ==
             "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");                                   // surrogate
  BOOST_TEST(fb::json_io::valid_utf8("\xF0\x9F\x98\x80") == "\xF0\x9F\x98\x80");        // emoji
  BOOST_TEST(fb::json_io::valid_utf8("abc\xE2\x82") == "abc\xEF\xBF\xBD\xEF\xBF\xBD");  // truncated
}

BOOST_AUTO_TEST_CASE(non_finite_numbers_are_rejected_with_the_path) {
  fb::icure::Measure m;
  auto status = fb::json_io::from_json(json::parse(R"({"value": 1e400})"), m, "Measure");
  BOOST_TEST(!status.ok());
  BOOST_TEST(status.path() == "Measure.value");
}

// The parse arena: aligned allocations, overflow into heap blocks (a tiny
// buffer forces it, more than once), the same tree as a heap parse.
BOOST_AUTO_TEST_CASE(arena_parses_what_the_heap_parses) {
  std::string text = R"({"resourceType":"Bundle","entry":[)";
  for (int i = 0; i < 300; ++i)
    text += std::string(i ? "," : "") + R"({"fullUrl":"urn:uuid:)" + std::to_string(i) +
            R"(","n":)" + std::to_string(i * 1.5) + R"(,"a":[true,null,"a longer string value"]})";
  text += "]}";
  for (std::size_t size : {std::size_t{16}, std::size_t{256}, std::size_t{1 << 20}}) {
    std::vector<unsigned char> buffer(size);
    fb::json_io::Arena arena(buffer.data(), buffer.size());
    json::value v = json::parse(text, &arena);
    BOOST_TEST(v == json::parse(text));
    BOOST_TEST(v.storage().is_deallocate_trivial());
    for (std::size_t align : {1, 2, 8, 16}) {
      void* p = json::storage_ptr(&arena)->allocate(3, align);
      BOOST_TEST(reinterpret_cast<std::uintptr_t>(p) % align == 0);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
