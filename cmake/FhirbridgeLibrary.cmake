# TLS (the server's HTTPS, the remote backend's client): Debian's OpenSSL,
# used through Boost.Asio's ssl:: wrappers. Targets OpenSSL::SSL / ::Crypto.
find_package(OpenSSL REQUIRED)

# fhirbridge_add_library(<name> EXPORT_NAME <n> DEPS <targets...>)
# One library per top-level folder: sources are src/*.cpp (globbed so that new
# files need no CMake edit), public headers under include/.
function(fhirbridge_add_library name)
  cmake_parse_arguments(ARG "" "EXPORT_NAME" "DEPS;PRIVATE_DEPS" ${ARGN})
  file(GLOB_RECURSE srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/*.cpp)
  add_library(${name} STATIC ${srcs})
  add_library(fhirbridge::${ARG_EXPORT_NAME} ALIAS ${name})
  set_target_properties(${name} PROPERTIES EXPORT_NAME ${ARG_EXPORT_NAME}
                                           OUTPUT_NAME fhirbridge_${ARG_EXPORT_NAME}
                                           POSITION_INDEPENDENT_CODE ON)
  target_include_directories(${name} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(${name} PUBLIC cxx_std_20)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  install(TARGETS ${name} EXPORT fhirbridgeTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()
