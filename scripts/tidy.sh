#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy: bugprone, performance) over pconv's own sources, with the compile
# commands of a build folder less its GCC precompiled header, which clang cannot read.
#   bash scripts/tidy.sh [BUILD_DIR] [FILE...]      (default: build/release, every library, app and tool file)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/release}"
shift || true
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 - "$build/compile_commands.json" "$work/compile_commands.json" <<'PY'
import json, re, sys
commands = json.load(open(sys.argv[1]))
for c in commands:
    c["command"] = re.sub(r"\s-Winvalid-pch|\s-include\s+\S*cmake_pch\.hxx", "", c["command"])
json.dump(commands, open(sys.argv[2], "w"))
PY
files=("$@")
[ ${#files[@]} -gt 0 ] || mapfile -t files < <(git ls-files 'src/*.cpp' 'app/*.cpp' 'tools/*.cpp')
printf '%s\n' "${files[@]}" | xargs -P 2 -n 1 clang-tidy -p "$work" --quiet
echo "tidy: ${#files[@]} files clean"
