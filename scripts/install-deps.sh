#!/usr/bin/env bash
# Installs every build and test dependency of pconv from Debian 12's packages, the browser
# test's Playwright (playwright-core, driving Debian's Chromium) from npm into tests/web, and
# ONNX Runtime for Node (the export tests) into tests/onnx.
# Idempotent: packages already present are left alone, and apt-get is skipped entirely
# when nothing is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libgloo-dev
  libopenblas0-pthread
  libopencv-dev libopencv-contrib-dev
  libcli11-dev nlohmann-json3-dev libcpp-httplib-dev
  libstb-dev libwebp-dev libjpeg-dev zlib1g-dev libzip-dev libhdf5-dev
  libonnx-dev libprotobuf-dev python3-onnx python3-opencv
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-14-dev clang-format clang-tidy python3
  chromium curl
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# Node may come from elsewhere (NodeSource ships npm inside its nodejs); only ask Debian when absent.
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "install-deps: installing ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

tests="$(cd "$(dirname "$0")/.." && pwd)/tests"
if [ ! -d "$tests/web/node_modules/playwright-core" ]; then
  echo "install-deps: npm ci in tests/web (playwright-core, no browser download)"
  npm ci --prefix "$tests/web" --no-audit --no-fund
fi
if [ ! -d "$tests/onnx/node_modules/onnxruntime-node" ]; then
  # The package holds the CPU runtime; its install script would fetch GPU builds from NuGet.
  echo "install-deps: npm ci in tests/onnx (onnxruntime-node, CPU binaries bundled, nothing fetched)"
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --prefix "$tests/onnx" --no-audit --no-fund
fi
