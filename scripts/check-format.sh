#!/usr/bin/env bash
# Checks that every C++ file of the repository is formatted as .clang-format says (CI runs it);
# with --fix, formats them in place instead.
#   bash scripts/check-format.sh [--fix]
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.h')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
else
  clang-format --dry-run -Werror "${files[@]}"
  echo "check-format: ${#files[@]} files formatted as .clang-format says"
fi
