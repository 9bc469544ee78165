#!/usr/bin/env bash
# Fails when a C++ file of ours differs from what .clang-format asks for.
set -euo pipefail
cd "$(dirname "$0")/../.."
mapfile -t files < <(find core insight daemon drivers proto bench tests -type f \( -name '*.cpp' -o -name '*.h' \) \
  -not -path '*/node_modules/*' | sort)
clang-format --dry-run --Werror "${files[@]}"
echo "clang-format: ${#files[@]} files formatted"
