# Every FHIR resource the engine emits validates against the R4 JSON schema.
# test_engine (ctest `engine`) writes them to ${PROJECT_BINARY_DIR}/tests/emitted-fhir/.
add_test(NAME fhir_schema
  COMMAND ${NODE_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/node/fhir_schema.mjs
          ${PROJECT_BINARY_DIR}/tests/emitted-fhir
  WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/node)
set_tests_properties(fhir_schema PROPERTIES FIXTURES_REQUIRED emitted_fhir TIMEOUT 300)
if(TEST engine)
  set_tests_properties(engine PROPERTIES FIXTURES_SETUP emitted_fhir)
endif()
