# fhir-kit-client + the R4 JSON schema against a real `fhirbridge serve`.
add_test(NAME node_fhir_client
         COMMAND ${NODE_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/node/fhir_client.mjs
                 $<TARGET_FILE:fhirbridge> ${FHIRBRIDGE_SHARED_DIR}
         WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/node)
set_tests_properties(node_fhir_client PROPERTIES TIMEOUT 300)
