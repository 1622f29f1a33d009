#!/usr/bin/env bash
# Run on a GPU machine that has PyTorch (LibTorch with CUDA inside), CMake and a C++17 compiler but
# no OpenCV (GoogleTest, nlohmann-json and CLI11 come in the packages too): unpacks the packages of .gpu-debs/
# (scripts/gpu-debs.sh) into build/gpu-prefix and builds pconv into build/gpu without OpenCV's
# image codecs (PCONV_OPENCV_CODECS=OFF), and of bench/ what needs neither them nor Google Benchmark
# (peer_bench, which scripts/gpu-check.sh times the GPU with). Afterwards `source build/gpu/env.sh` before running
# build/gpu/pconv or `ctest --test-dir build/gpu`. PCONV_CMAKE_ARGS adds configure arguments,
# PCONV_BUILD_TARGETS limits the build to the targets it names;
# TORCH_CMAKE_PREFIX_PATH names LibTorch's CMake folder where python3 has no torch.
set -euo pipefail
cd "$(dirname "$0")/.."
ls .gpu-debs/*.deb > /dev/null || { echo "gpu-build: no .gpu-debs/*.deb (run scripts/gpu-debs.sh and carry .gpu-debs)" >&2; exit 1; }
prefix=$PWD/build/gpu-prefix
rm -rf "$prefix"
mkdir -p "$prefix"
for deb in .gpu-debs/*.deb; do dpkg -x "$deb" "$prefix"; done
libdir=$prefix/usr/lib/x86_64-linux-gnu
# The packages' pkg-config files say prefix=/usr: point them at the unpacked copy.
sed -i "s|^prefix=/usr\$|prefix=$prefix/usr|" "$libdir"/pkgconfig/*.pc
mkdir -p build/gpu
cat > build/gpu/env.sh <<ENV
export LD_LIBRARY_PATH=$libdir\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}
export PKG_CONFIG_PATH=$libdir/pkgconfig\${PKG_CONFIG_PATH:+:\$PKG_CONFIG_PATH}
ENV
command -v pkg-config > /dev/null || echo "export PATH=\$PATH:$prefix/usr/bin" >> build/gpu/env.sh
source build/gpu/env.sh

torch_cmake=${TORCH_CMAKE_PREFIX_PATH:-$(${PYTHON:-python3} -c "import torch; print(torch.utils.cmake_prefix_path)")}
generator=()
command -v ninja > /dev/null && generator=(-G Ninja)
# CMAKE_POLICY_VERSION_MINIMUM: CMake 4 refuses the old minimum some of LibTorch's config files ask for.
cmake -S . -B build/gpu "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
  "-DCMAKE_PREFIX_PATH=$torch_cmake;$prefix/usr" -DCMAKE_POLICY_VERSION_MINIMUM=3.5 \
  -DPCONV_OPENCV_CODECS=OFF -DPCONV_USE_CCACHE=OFF \
  "-DTORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}" ${PCONV_CMAKE_ARGS:-}
# PCONV_BUILD_TARGETS: only these targets (scripts/gpu-check.sh builds what it runs, to save minutes).
targets=()
[ -n "${PCONV_BUILD_TARGETS:-}" ] && read -r -a targets <<< "--target $PCONV_BUILD_TARGETS"
cmake --build build/gpu -j"$(nproc)" "${targets[@]}"
echo "gpu-build: build/gpu/pconv built; source build/gpu/env.sh before running it"
