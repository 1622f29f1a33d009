#!/usr/bin/env bash
# Installs pconv from a build folder into a temporary prefix, builds this example against the
# installed package (find_package(pconv)), and fills the bundled example photo with it.
#   bash examples/embed/run.sh [BUILD_DIR]      (default: build/release)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build/release}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$root/examples/embed" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build"
"$work/build/fill" "$work/prefix/share/pconv/models/pconv.safetensors" "$root/examples/ladybird.jpg" \
                   "$root/examples/ladybird_mask.png" "$work/filled.png"
# What the example linked: the filling layers, and no HTTP server, Gloo (LibTorch's own libraries
# bring their Gloo along; the program itself does not ask for it) or training code.
if readelf -d "$work/build/fill" | grep NEEDED | grep -E "cpp-httplib|gloo"; then
  echo "embed: the example links HTTP or Gloo libraries" >&2
  exit 1
fi
if nm -C "$work/build/fill" | grep -E "pconv::(train\(|InpaintServer|BatchLoader|ProcessGroup)" | head -3 | grep .; then
  echo "embed: the example contains training or serving code" >&2
  exit 1
fi
echo "embed: built against the package installed in a temporary prefix and filled examples/ladybird.jpg"
