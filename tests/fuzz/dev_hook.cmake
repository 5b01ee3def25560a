# Until the top-level CMakeLists.txt has the FHIRBRIDGE_FUZZ option, a fuzz
# tree can be configured with
#   -DCMAKE_PROJECT_fhirbridge_INCLUDE=<repo>/tests/fuzz/dev_hook.cmake
# It instruments every target and includes tests/fuzz/CMakeLists.txt once the
# top level is done (include, not add_subdirectory: deferred calls may not
# create directories).
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
add_link_options(-fsanitize=address,undefined)
# DEFER evaluates variables late, so bake the path in now.
cmake_language(EVAL CODE
  "cmake_language(DEFER DIRECTORY [[${CMAKE_SOURCE_DIR}]] CALL include [[${CMAKE_CURRENT_LIST_DIR}/CMakeLists.txt]])")
