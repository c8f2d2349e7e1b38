#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with seeds from the repository: the C fixtures
# and the example tree for c_pipeline, the rule pack for rule_file. The
# corpora are generated, never committed (see .gitignore).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
top="$(dirname "$here")"
mkdir -p "$here/corpus/c_pipeline" "$here/corpus/rule_file"
n=0
while IFS= read -r -d '' f; do
	n=$((n + 1))
	cp "$f" "$here/corpus/c_pipeline/seed-$n.c"
done < <(find "$top/tests/fixtures" "$top/examples" -name '*.[ch]' -print0 | sort -z)
n=0
while IFS= read -r -d '' f; do
	n=$((n + 1))
	cp "$f" "$here/corpus/rule_file/seed-$n.toml"
done < <(find "$top/rules" -name '*.toml' -print0 | sort -z)
