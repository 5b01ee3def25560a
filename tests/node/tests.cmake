# Node-based tests (official iCure SDK, fhir-kit-client, R4 JSON schema).
# Each area adds its own tests/node/<area>.cmake; they need `npm ci` in tests/node.
find_program(NODE_EXECUTABLE node)
if(NODE_EXECUTABLE AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/node/node_modules)
  file(GLOB node_test_snippets CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/node/*.cmake)
  list(REMOVE_ITEM node_test_snippets ${CMAKE_CURRENT_SOURCE_DIR}/node/tests.cmake)
  foreach(snippet ${node_test_snippets})
    include(${snippet})
  endforeach()
else()
  message(WARNING "node or tests/node/node_modules missing: run scripts/setup.sh; node tests skipped")
endif()
