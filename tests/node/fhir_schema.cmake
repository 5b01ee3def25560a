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

# `fhirbridge map` smoke tests (the CLI of issue 2): exit 0 with JSON, exit 1
# with the FHIR path on stderr.
if(TARGET fhirbridge)
  add_test(NAME map_cli_patient
    COMMAND fhirbridge map --fixed ${FHIRBRIDGE_SHARED_DIR}/fixtures/seed/patient-pat1.json)
  set_tests_properties(map_cli_patient PROPERTIES
    PASS_REGULAR_EXPRESSION "\"system\": \"https://dxm.icure.dev\",[ \n]*\"value\": \"pat1\"")
  add_test(NAME map_cli_round_trip
    COMMAND fhirbridge map --fixed --to fhir ${FHIRBRIDGE_SHARED_DIR}/fixtures/seed/bundle-transaction.json)
  set_tests_properties(map_cli_round_trip PROPERTIES
    PASS_REGULAR_EXPRESSION "\"reference\": \"Patient/9a106b7f-2fa1-4b54-b3cb-c29cbfebe2ee\"")
  add_test(NAME map_cli_bad_date
    COMMAND ${CMAKE_COMMAND} -E env sh -c
            "echo '{\"resourceType\":\"Patient\",\"birthDate\":\"1974-13\"}' | \"$<TARGET_FILE:fhirbridge>\" map - 2>&1; echo exit=$?")
  set_tests_properties(map_cli_bad_date PROPERTIES
    PASS_REGULAR_EXPRESSION "Patient.birthDate: '1974-13' is not a date[\r\n]+exit=1")
endif()
