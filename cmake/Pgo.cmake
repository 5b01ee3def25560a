# Profile-guided optimisation (GCC), FHIRBRIDGE_PGO:
#   OFF       the default;
#   GENERATE  an instrumented build: each program run adds its counts to .gcda files next to
#             the object files of this build tree;
#   USE       the same build tree rebuilt with those counts: GCC lays out the hot paths
#             together and moves the cold ones (error paths, rare interactions) away.
# scripts/build-pgo.sh runs GENERATE, a training workload (benchmarks/pgo/train.sh), then USE.
# Why: with the profile GCC inlines and lays out the mapping's hot path for the common case;
# engine_bench's mapped path runs 8% fewer instructions (our mapping and writer -13%,
# Boost.JSON's parse, a shared library, unchanged). benchmarks/README.md, "Profile-guided builds".
set(FHIRBRIDGE_PGO "OFF" CACHE STRING "Profile-guided optimisation: OFF, GENERATE or USE (scripts/build-pgo.sh)")
set_property(CACHE FHIRBRIDGE_PGO PROPERTY STRINGS OFF GENERATE USE)
if(NOT FHIRBRIDGE_PGO STREQUAL "OFF")
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    message(FATAL_ERROR "FHIRBRIDGE_PGO needs GCC (its -fprofile-generate/-fprofile-use)")
  endif()
  if(FHIRBRIDGE_SANITIZE OR FHIRBRIDGE_TSAN OR FHIRBRIDGE_FUZZ)
    message(FATAL_ERROR "FHIRBRIDGE_PGO cannot be combined with a sanitizer")
  endif()
endif()
if(FHIRBRIDGE_PGO STREQUAL "GENERATE")
  # prefer-atomic: the server's threads update the same counters.
  add_compile_options(-fprofile-generate -fprofile-update=prefer-atomic)
  add_link_options(-fprofile-generate)
elseif(FHIRBRIDGE_PGO STREQUAL "USE")
  # partial-training: code the training did not run (other interactions, error paths) is
  # optimised as without a profile, not for size. Files without counts (tests) are expected.
  # A file edited since the training has counts that no longer match it: a warning, not an
  # error (GCC's default), so the tree still builds; scripts/build-pgo.sh trains again.
  # -Wrestrict: GCC 12's false positive on `"literal" + std::string&&` once the profile inlines
  # it (GCC bug 105651).
  add_compile_options(-fprofile-use -fprofile-partial-training -Wno-missing-profile
                      -Wno-error=coverage-mismatch -Wno-restrict)
elseif(NOT FHIRBRIDGE_PGO STREQUAL "OFF")
  message(FATAL_ERROR "FHIRBRIDGE_PGO must be OFF, GENERATE or USE")
endif()
if(NOT FHIRBRIDGE_PGO STREQUAL "OFF")
  message(STATUS "fhirbridge: profile-guided optimisation ${FHIRBRIDGE_PGO}")
endif()
