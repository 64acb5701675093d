#!/usr/bin/env bash
# CTest install.prefix: installs this build into a temporary prefix (cmake --install), builds
# examples/embed against it with find_package(rdasim) and runs it, imports the installed Python
# module and runs the installed program from a folder outside the tree, giving presets by name.
# Each must print the simulated time the in-tree program prints. Usage: check.sh BUILD SOURCE
set -euo pipefail
build=$(realpath "$1")
source=$(realpath "$2")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() { echo "install check: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" > "$tmp/install.log"
seconds() { /usr/bin/python3 -c 'import json, sys; print(repr(json.load(sys.stdin)["seconds"]))'; }
expected=$("$build/tools/rdasim" -q sim inversion -p batch=16 --arch "$source/configs/arch/sn10.yaml" --json | seconds)
echo "in-tree program: $expected s"

cmake -S "$source/examples/embed" -B "$tmp/embed" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
  > "$tmp/embed.log" 2>&1 || { cat "$tmp/embed.log" >&2; fail "examples/embed does not configure against $prefix"; }
cmake --build "$tmp/embed" >> "$tmp/embed.log" 2>&1 || { cat "$tmp/embed.log" >&2; fail "examples/embed does not build"; }

cd "$tmp"  # outside the tree from here on: presets come from the installed data folder
embed=$("$tmp/embed/embed" sn10 inversion 16)
echo "examples/embed: $embed"
/usr/bin/python3 -c "import sys; got = float(sys.argv[1].split(': ')[1].split(' s,')[0]); \
  sys.exit(0 if abs(got / float(sys.argv[2]) - 1) < 1e-8 else 1)" "$embed" "$expected" ||
  fail "examples/embed printed '$embed', the in-tree program $expected s"

installed=$("$prefix/bin/rdasim" -q sim inversion -p batch=16 --arch sn10 --json | seconds)
echo "installed program, --arch sn10: $installed s"
[[ $installed == "$expected" ]] || fail "the installed program gives $installed s, the in-tree one $expected s"
"$prefix/bin/rdasim" -q map lensing --arch sn10 > /dev/null || fail "rdasim map lensing --arch sn10 fails outside the tree"
if "$prefix/bin/rdasim" arch show sn11 2> "$tmp/err.txt"; then fail "an unknown preset was accepted"; fi
grep -q "the presets are 'plasticine', 'sn10'" "$tmp/err.txt" || fail "unknown preset: $(cat "$tmp/err.txt")"

site=$(echo "$prefix"/lib/python3*/site-packages)
module=$(PYTHONPATH=$site /usr/bin/python3 - "$prefix" <<'PY'
import sys
import rdasim
assert rdasim.__file__.startswith(sys.argv[1]), rdasim.__file__
assert rdasim.__version__.startswith("0."), rdasim.__version__
arch = rdasim.Arch.load("sn10")
report = rdasim.simulate(rdasim.map(rdasim.Graph.load("inversion", batch=16), arch), arch)
try:
    rdasim.Arch.load("sn11")
    sys.exit("an unknown preset was accepted")
except rdasim.InputError as e:
    assert "'sn10'" in str(e), e
print(repr(report["seconds"]), rdasim.__version__)
PY
)
echo "installed module: $module"
[[ ${module%% *} == "$expected" ]] || fail "the installed module gives ${module%% *} s, the in-tree program $expected s"
echo "install check: all agree"
