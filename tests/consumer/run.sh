#!/usr/bin/env bash
# usage: run.sh BUILD_DIR SOURCE_DIR — installs BUILD_DIR into a temp prefix,
# then configures, builds and runs tests/consumer against it.
set -euo pipefail
build=$1 src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/tests/consumer" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" >/dev/null
"$work/build/consumer"
