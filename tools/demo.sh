#!/usr/bin/env bash
# The main job: installs what is missing, builds rdasim and shows what each fabric preset
# amounts to. (The science comparison against GPUs joins this script as it lands.)
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh build/release -DCMAKE_BUILD_TYPE=Release -DRDASIM_BUILD_TESTS=OFF
for preset in configs/arch/*.yaml; do
  echo
  build/release/tools/rdasim arch show "$preset"
done
