# The official iCure SDK (@icure/api) against `fhirbridge serve`'s /rest/v1:
# SDK-made patients/contacts listed and decrypted, FHIR-made ones read too.
add_test(NAME icure_sdk_server
         COMMAND ${NODE_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/node/icure_sdk_server.mjs
                 $<TARGET_FILE:fhirbridge> ${FHIRBRIDGE_SHARED_DIR}
         WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/node)
set_tests_properties(icure_sdk_server PROPERTIES TIMEOUT 180 LABELS "node;server")
