#!/usr/bin/env bash
# Formats the C++ of the tree with .clang-format (Debian's clang-format 14), or with --check
# lists the files that differ from it and exits 1 (tools/test.sh runs the check).
set -euo pipefail
cd "$(dirname "$0")/.."
# Tracked files and new ones git does not ignore, so a file not yet added is checked too.
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.cpp' '*.h')
if [[ ${1:-} == --check ]]; then
  bad=()
  for f in "${files[@]}"; do
    clang-format --style=file --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
  done
  if ((${#bad[@]})); then
    echo "format: ${#bad[@]} file(s) differ from .clang-format (run tools/format.sh):" >&2
    printf '  %s\n' "${bad[@]}" >&2
    exit 1
  fi
  echo "format: ${#files[@]} files match .clang-format"
else
  clang-format --style=file -i "${files[@]}"
fi
