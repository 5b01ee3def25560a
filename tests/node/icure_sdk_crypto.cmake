# The official iCure SDK (@icure/api) decrypts what fhirbridge's crypto sealed.
# The `crypto` Boost suite (tests/crypto/sdk_export_test.cpp) writes the input.
set(FHIRBRIDGE_ICURE_SDK_INPUT ${PROJECT_BINARY_DIR}/tests/icure-sdk-input)
add_test(NAME icure_sdk_crypto
         COMMAND ${NODE_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/node/icure_sdk_crypto.mjs
                 ${FHIRBRIDGE_ICURE_SDK_INPUT}
         WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/node)
if(TEST crypto)
  set_tests_properties(crypto PROPERTIES FIXTURES_SETUP icure_sdk_input)
endif()
set_tests_properties(icure_sdk_crypto PROPERTIES FIXTURES_REQUIRED icure_sdk_input TIMEOUT 120
                     LABELS "node;crypto")
