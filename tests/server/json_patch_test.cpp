// JSON Patch (RFC 6902): the examples of its Appendix A, and the errors a
// client gets for a patch that cannot apply.
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include "fhirbridge/server/detail/json_patch.hpp"

namespace fhirbridge::server::detail {
namespace {

namespace json = boost::json;

json::value patched(std::string_view document, std::string_view patch) {
  auto out = apply_json_patch(json::parse(document), json::parse(patch));
  BOOST_REQUIRE_MESSAGE(out.ok(), out.status().to_string());
  return *out;
}

Status failure(std::string_view document, std::string_view patch) {
  auto out = apply_json_patch(json::parse(document), json::parse(patch));
  BOOST_REQUIRE(!out.ok());
  BOOST_TEST((out.status().code() == StatusCode::invalid));
  return out.status();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(json_patch)

BOOST_AUTO_TEST_CASE(rfc6902_appendix_a) {
  // A.1-A.2 add to an object and into an array.
  BOOST_TEST(patched(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz","value":"qux"}])") ==
             json::parse(R"({"baz":"qux","foo":"bar"})"));
  BOOST_TEST(
      patched(R"({"foo":["bar","baz"]})", R"([{"op":"add","path":"/foo/1","value":"qux"}])") ==
      json::parse(R"({"foo":["bar","qux","baz"]})"));
  // A.3-A.4 remove.
  BOOST_TEST(patched(R"({"baz":"qux","foo":"bar"})", R"([{"op":"remove","path":"/baz"}])") ==
             json::parse(R"({"foo":"bar"})"));
  BOOST_TEST(patched(R"({"foo":["bar","qux","baz"]})", R"([{"op":"remove","path":"/foo/1"}])") ==
             json::parse(R"({"foo":["bar","baz"]})"));
  // A.5 replace; A.6-A.7 move.
  BOOST_TEST(patched(R"({"baz":"qux","foo":"bar"})",
                     R"([{"op":"replace","path":"/baz","value":"boo"}])") ==
             json::parse(R"({"baz":"boo","foo":"bar"})"));
  BOOST_TEST(patched(R"({"foo":{"bar":"baz","waldo":"fred"},"qux":{"corge":"grault"}})",
                     R"([{"op":"move","from":"/foo/waldo","path":"/qux/thud"}])") ==
             json::parse(R"({"foo":{"bar":"baz"},"qux":{"corge":"grault","thud":"fred"}})"));
  BOOST_TEST(patched(R"({"foo":["all","grass","cows","eat"]})",
                     R"([{"op":"move","from":"/foo/1","path":"/foo/3"}])") ==
             json::parse(R"({"foo":["all","cows","eat","grass"]})"));
  // A.8 test success; A.10 add a nested member; A.16 append with "-"; copy.
  BOOST_TEST(patched(R"({"baz":"qux","foo":["a",2,"c"]})",
                     R"([{"op":"test","path":"/baz","value":"qux"},
                         {"op":"test","path":"/foo/1","value":2}])") ==
             json::parse(R"({"baz":"qux","foo":["a",2,"c"]})"));
  BOOST_TEST(
      patched(R"({"foo":"bar"})", R"([{"op":"add","path":"/child","value":{"grandchild":{}}}])") ==
      json::parse(R"({"foo":"bar","child":{"grandchild":{}}})"));
  BOOST_TEST(
      patched(R"({"foo":["bar"]})", R"([{"op":"add","path":"/foo/-","value":["abc","def"]}])") ==
      json::parse(R"({"foo":["bar",["abc","def"]]})"));
  BOOST_TEST(patched(R"({"a":{"b":1}})", R"([{"op":"copy","from":"/a","path":"/c"}])") ==
             json::parse(R"({"a":{"b":1},"c":{"b":1}})"));
  // A.14 escaped pointer tokens.
  BOOST_TEST(patched(R"({"/":9,"~1":10})", R"([{"op":"test","path":"/~01","value":10},
                                                {"op":"replace","path":"/~1","value":11}])") ==
             json::parse(R"({"/":11,"~1":10})"));
}

BOOST_AUTO_TEST_CASE(errors_name_the_operation_and_change_nothing) {
  // A.9 a failed test; A.12 a missing parent; A.15 a test that compares types.
  BOOST_TEST(
      failure(R"({"baz":"qux"})", R"([{"op":"test","path":"/baz","value":"bar"}])").to_string() ==
      "patch[0].value: test failed: /baz is \"qux\", not \"bar\"");
  BOOST_TEST(
      failure(R"({"foo":"bar"})", R"([{"op":"add","path":"/baz/bat","value":"qux"}])").path() ==
      "patch[0].path");
  BOOST_TEST(failure(R"({"/":9})", R"([{"op":"test","path":"/~1","value":"9"}])").path() ==
             "patch[0].value");
  // A.13 an unknown op; a removal of nothing; bad pointers and indexes.
  BOOST_TEST(failure(R"({})", R"([{"op":"delete","path":"/a"}])").to_string() ==
             "patch[0].op: unknown op 'delete' (add, remove, replace, move, copy, test)");
  BOOST_TEST(failure(R"({"a":1})", R"([{"op":"add","path":"/b","value":1},
                                       {"op":"remove","path":"/c"}])")
                 .to_string() == "patch[1].path: /c names nothing");
  BOOST_TEST(failure(R"({"a":[1]})", R"([{"op":"add","path":"/a/01","value":2}])").path() ==
             "patch[0].path");
  BOOST_TEST(failure(R"({"a":[1]})", R"([{"op":"replace","path":"/a/1","value":2}])").path() ==
             "patch[0].path");
  BOOST_TEST(failure(R"({"a":1})", R"([{"op":"add","path":"a","value":2}])").path() ==
             "patch[0].path");
  BOOST_TEST(failure(R"({"a":1})", R"([{"op":"replace","path":"/a"}])").path() == "patch[0].value");
  BOOST_TEST(failure(R"({"a":{}})", R"([{"op":"move","from":"/a","path":"/a/b"}])").path() ==
             "patch[0].path");
  BOOST_TEST(failure(R"({"a":1})", R"([{"op":"remove","path":""}])").path() == "patch[0].path");
  BOOST_TEST(failure(R"({"a":1})", R"({"op":"remove","path":"/a"})").path() == "patch");
  BOOST_TEST(failure(R"({"a":1})", R"(["remove"])").path() == "patch[0]");
}

// Copying the root into itself doubles the document: 40 such copies would be
// 2^40 values. The copies share a budget, so the patch is refused instead.
BOOST_AUTO_TEST_CASE(copies_cannot_grow_the_document_without_bound) {
  json::array doubling;
  for (int i = 0; i < 40; ++i)
    doubling.push_back(
        json::object{{"op", "copy"}, {"from", ""}, {"path", "/x" + std::to_string(i)}});
  auto out = apply_json_patch(json::parse(R"({"a":[1,2,3]})"), doubling);
  BOOST_REQUIRE(!out.ok());
  BOOST_TEST(out.status().message().find("copies more than") != std::string::npos);
  BOOST_TEST(out.status().path().ends_with(".from"));
  // A few ordinary copies stay well inside it.
  BOOST_TEST(patched(R"({"a":[1,2,3]})", R"([{"op":"copy","from":"","path":"/b"},
                                             {"op":"copy","from":"/a","path":"/c"}])")
                 .as_object()
                 .size() == 3u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace fhirbridge::server::detail
