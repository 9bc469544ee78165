#!/usr/bin/env bash
# insight/generated/ is what insight/tools/generate.mjs writes from the npm packages pinned in
# insight/data/package-lock.json: regenerate into a temporary folder and compare.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -d insight/data/node_modules ]; then
  echo "insight/data/node_modules is missing: run 'npm ci' in insight/data (make test does)" >&2
  exit 1
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
node insight/tools/generate.mjs "$out"
diff -ru insight/generated "$out"
echo "insight tables: current"
