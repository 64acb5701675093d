#!/usr/bin/env bash
# Installs every Debian package rdasim needs to build and test, and nothing that is already
# there: safe to run again and again. Called by tools/demo.sh and tools/test.sh.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build pkg-config ccache git
  # the format check (tools/format.sh)
  clang-format
  # libraries (DESIGN.md: only Debian packages, no downloads at configure time)
  libfmt-dev libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libboost-graph-dev libmetis-dev
  libsystemc-dev libonnx-dev libprotobuf-dev libeigen3-dev
  # the rdasim program's allocator (tools/cli/allocator.cpp)
  libjemalloc-dev
  # tests, benchmarks and fuzzing (clang's libFuzzer)
  catch2 libbenchmark-dev libonnx-testdata clang libclang-rt-14-dev
  # sweeps across MPI ranks (Open MPI)
  libopenmpi-dev openmpi-bin
  # Python under /usr/bin/python3: plots, the PyTorch twins, tools/gpu/measure.py, the module
  # rdasim (pybind11) and the notebooks, executed by nbclient in the ipykernel kernel
  python3-numpy python3-matplotlib python3-torch python3-onnx python3-pandas pybind11-dev python3-dev
  python3-nbclient python3-nbformat python3-ipykernel
  # `pip install .` into a virtual environment, offline (README "Installing")
  python3-pip python3-setuptools python3-wheel python3-venv
)

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
