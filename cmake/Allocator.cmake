# fhirbridge_use_allocator(<executable>): links the allocator FHIRBRIDGE_ALLOCATOR
# names into a program. mimalloc (Debian's libmimalloc-dev) replaces malloc/free
# for the whole process, SQLite, Botan and Boost included: the import and the
# server allocate many small strings per resource, and glibc's malloc spent a
# third of an import's CPU time (benchmarks/README.md). Sanitizer builds keep the
# system allocator: ASan/TSan must intercept malloc themselves.
set(_fhirbridge_allocator ${FHIRBRIDGE_ALLOCATOR})
if(FHIRBRIDGE_SANITIZE OR FHIRBRIDGE_TSAN OR FHIRBRIDGE_FUZZ)
  if(_fhirbridge_allocator STREQUAL "mimalloc")
    message(FATAL_ERROR "FHIRBRIDGE_ALLOCATOR=mimalloc cannot be combined with a sanitizer")
  endif()
  set(_fhirbridge_allocator system)
endif()
if(_fhirbridge_allocator STREQUAL "auto" OR _fhirbridge_allocator STREQUAL "mimalloc")
  find_package(mimalloc CONFIG QUIET)
  if(TARGET mimalloc)
    set(_fhirbridge_allocator mimalloc)
  elseif(_fhirbridge_allocator STREQUAL "mimalloc")
    message(FATAL_ERROR "FHIRBRIDGE_ALLOCATOR=mimalloc: mimalloc not found (apt-get install libmimalloc-dev)")
  else()
    message(STATUS "fhirbridge: mimalloc not found, the programs use the system allocator")
    set(_fhirbridge_allocator system)
  endif()
elseif(NOT _fhirbridge_allocator STREQUAL "system")
  message(FATAL_ERROR "FHIRBRIDGE_ALLOCATOR must be auto, mimalloc or system")
endif()
message(STATUS "fhirbridge: programs use the ${_fhirbridge_allocator} allocator")
set(FHIRBRIDGE_ALLOCATOR_IN_USE ${_fhirbridge_allocator} CACHE INTERNAL "")

function(fhirbridge_use_allocator target)
  if(FHIRBRIDGE_ALLOCATOR_IN_USE STREQUAL "mimalloc")
    # Linked (not LD_PRELOADed): the shared library's malloc/free interpose
    # libc's for every library of the process. --no-as-needed keeps the
    # dependency although no symbol of ours names mimalloc.
    target_link_libraries(${target} PRIVATE -Wl,--push-state,--no-as-needed mimalloc -Wl,--pop-state)
  endif()
endfunction()
