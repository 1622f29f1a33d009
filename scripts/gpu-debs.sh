#!/usr/bin/env bash
# Run here, on Debian 12: downloads into .gpu-debs/ the Debian packages that a GPU machine without
# OpenCV, cpp-httplib, stb, libwebp, libzip, GoogleTest, CLI11 or nlohmann-json needs (without libhdf5 it builds without Keras import) to build pconv (scripts/gpu-build.sh unpacks them
# there). About 17 MB; carry .gpu-debs along with the working tree.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(
  libopencv-core406 libopencv-core-dev libopencv-imgproc406 libopencv-imgproc-dev
  libopencv-photo406 libopencv-photo-dev
  # what libopencv_core.so loads
  libtbb12 libtbbmalloc2 libblas3 liblapack3 libgfortran5 libquadmath0 libglx0 libglvnd0
  libcpp-httplib0.11 libcpp-httplib-dev libbrotli1 libbrotli-dev libssl3 libssl-dev
  libstb0 libstb-dev libwebp7 libwebp-dev libzip4 libzip-dev
  # the build's own needs, in case the machine's image lacks them (static GoogleTest, headers)
  libgtest-dev libcli11-dev nlohmann-json3-dev
  pkgconf pkgconf-bin libpkgconf3)  # pkg-config, used only where the machine has none
rm -rf .gpu-debs
mkdir -p .gpu-debs
chmod 777 .gpu-debs  # apt's download user writes here
(cd .gpu-debs && apt-get download -q "${packages[@]}")
echo "gpu-debs: $(ls .gpu-debs | wc -l) packages, $(du -sh .gpu-debs | cut -f1) in .gpu-debs"
