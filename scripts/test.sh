#!/usr/bin/env bash
# README command (2): set up, build, run the whole test suite -- then the whole
# suite again under AddressSanitizer + UndefinedBehaviorSanitizer (a separate
# build tree), then a short bounded libFuzzer pass over every fuzz target,
# then the threaded tests under ThreadSanitizer.
#
# Env:
#   BUILD_DIR        normal build tree (build)
#   ASAN_BUILD_DIR   ASan+UBSan build tree (build-asan)
#   FUZZ_BUILD_DIR   clang/libFuzzer build tree (build-fuzz, see scripts/fuzz.sh)
#   FUZZ_SECONDS     seconds per fuzz target (20)
#   TSAN_BUILD_DIR   ThreadSanitizer build tree (build-tsan)
#   PGO_BUILD_DIR    profile-guided build tree (build-pgo, see scripts/build-pgo.sh)
#   FHIRBRIDGE_CI_SANITIZE=0 / FHIRBRIDGE_CI_FUZZ=0 / FHIRBRIDGE_CI_TSAN=0 / FHIRBRIDGE_CI_PGO=0
#                    skip that stage
#                    (local runs). The TSan stage builds test_storage and test_server only and
#                    runs the storage suite (group commit, read pool, checkpointer) and the
#                    threaded server tests (concurrency, sockets, TLS, throttling, bulk import).
#   FHIRBRIDGE_CI_PRUNE=1   delete each build tree once its stage has passed (.ci/run sets it):
#                    the disk then holds one tree at a time, ~2.5 GB at the peak instead of
#                    ~5 GB for the four trees (a CI run once failed on a full disk).
#   The PGO stage runs scripts/build-pgo.sh (an instrumented build, its training, the rebuild
#   with the counts) and the whole suite on the result: the build benchmarks/run.sh --pgo
#   measures passes the same tests.
# Cost on 2 cores, measured in docs/security.md ("CI"): the sanitizer, fuzz and
# TSan stages add roughly half an hour to the ~7 minute normal run, the PGO stage ~15 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
stage_start=$SECONDS
stage() {  # prints how long the previous stage took, then the new stage's name and the free disk
  echo "== [$(date -u +%H:%M:%S)] $1 (previous stage: $((SECONDS - stage_start)) s;" \
    "$(df -Ph . | awk 'NR == 2 {print $4}') free on disk)"
  stage_start=$SECONDS
}
prune() {  # the tree of a stage that passed, when FHIRBRIDGE_CI_PRUNE=1
  if [ "${FHIRBRIDGE_CI_PRUNE:-0}" = 1 ]; then
    echo "   removing $1 ($(du -sh "$1" | cut -f1))"
    rm -rf "$1"
  fi
}

stage "set-up, normal build"
scripts/setup.sh
# Tests on explicitly: scripts/demo.sh configures the same tree with them off,
# and a cached OFF would leave ctest nothing to run (--no-tests=error).
scripts/build.sh -DFHIRBRIDGE_BUILD_TESTS=ON -DFHIRBRIDGE_BUILD_BENCHMARKS=ON
stage "test suite"
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure --no-tests=error -j"$(nproc)"
prune "${BUILD_DIR:-build}"

if [ "${FHIRBRIDGE_CI_SANITIZE:-1}" != 0 ]; then
  ASAN_BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
  stage "ASan+UBSan build ($ASAN_BUILD_DIR)"
  # -O1 -g1: ASan's recommended optimisation, line tables for the reports,
  # a much shorter compile than -O2 -g. Benchmarks are not built.
  BUILD_DIR=$ASAN_BUILD_DIR BUILD_TYPE=RelWithDebInfo scripts/build.sh \
    -DFHIRBRIDGE_SANITIZE=ON -DFHIRBRIDGE_BUILD_BENCHMARKS=OFF \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1"
  stage "test suite under ASan+UBSan"
  # Any report fails the test that triggered it: UBSan halts (the build also
  # uses -fno-sanitize-recover), ASan aborts, LeakSanitizer runs at exit.
  # CXXFLAGS/LDFLAGS reach the install_consumer test's own CMake project,
  # which links our instrumented static libraries.
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0:strict_string_checks=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
  CXXFLAGS="-fsanitize=address,undefined" LDFLAGS="-fsanitize=address,undefined" \
    ctest --test-dir "$ASAN_BUILD_DIR" --output-on-failure -j"$(nproc)"
  prune "$ASAN_BUILD_DIR"
fi

if [ "${FHIRBRIDGE_CI_FUZZ:-1}" != 0 ]; then
  stage "fuzz pass (${FUZZ_SECONDS:-20} s per target)"
  # Replays tests/fuzz/regressions first; a new crash is saved there and fails CI.
  scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
  prune "${FUZZ_BUILD_DIR:-build-fuzz}"
fi
if [ "${FHIRBRIDGE_CI_TSAN:-1}" != 0 ]; then
  TSAN_BUILD_DIR=${TSAN_BUILD_DIR:-build-tsan}
  stage "TSan build of test_storage and test_server ($TSAN_BUILD_DIR)"
  cmake -S . -B "$TSAN_BUILD_DIR" -G Ninja -DFHIRBRIDGE_TSAN=ON -DFHIRBRIDGE_BUILD_BENCHMARKS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" >/dev/null
  cmake --build "$TSAN_BUILD_DIR" -j"$(nproc)" --target test_storage test_server
  stage "storage suite and threaded server tests under TSan"
  export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
  "$TSAN_BUILD_DIR/tests/test_storage" --report_level=short
  "$TSAN_BUILD_DIR/tests/test_server" --report_level=short \
    --run_test=concurrency,server_socket,tls,login_throttling,bulk_import:hostile_input/expect_100_continue_is_answered_before_the_body,wrong_credentials_are_refused_instead_of_100_continue,an_unknown_expectation_is_417_before_the_body:bulk_export/the_fence_waits_for_a_write_in_progress
  prune "$TSAN_BUILD_DIR"
fi
if [ "${FHIRBRIDGE_CI_PGO:-1}" != 0 ]; then
  PGO_BUILD_DIR=${PGO_BUILD_DIR:-build-pgo}
  stage "profile-guided build, its training and the suite ($PGO_BUILD_DIR)"
  scripts/build-pgo.sh "$PGO_BUILD_DIR"
  stage "test suite on the profile-guided build"
  ctest --test-dir "$PGO_BUILD_DIR" --output-on-failure --no-tests=error -j"$(nproc)"
  prune "$PGO_BUILD_DIR"
fi
stage "done"
