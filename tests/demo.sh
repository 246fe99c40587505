#!/bin/sh
# demo.sh - run by `make demo` after the build: see tests/demo.py.
set -eu
cd "$(dirname "$0")/.."
exec /usr/bin/python3 tests/demo.py
