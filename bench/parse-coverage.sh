#!/usr/bin/env bash
# Counts, on each kernel tree given, the function definitions of its C files
# that the front end reads with a parse error inside (the macro pass, then
# tree-sitter-c): a function holding one is left out of the analysis, and a
# flow through it is blocked. tools/, scripts/, samples/ and Documentation/
# are left out.
#
#   bench/parse-coverage.sh 5.10 6.1 6.12      # the figures
#   VERBOSE=1 bench/parse-coverage.sh 6.1      # and every such function
#   REF=<commit> bench/parse-coverage.sh 6.1   # beside the same count at REF
#
# Trees come from $KERNEL_TREES/linux-VERSION (default
# ~/.cache/kernel-trees, where ../shared/tools/kernel-tree.sh puts them).
# Each tree takes about 45 s on 2 cores.
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
trees=${KERNEL_TREES:-$HOME/.cache/kernel-trees}
[ $# -ge 1 ] || set -- 6.1
build() { # target-dir -> path of the example binary
	(cd "$2" && CARGO_TARGET_DIR="$1" cargo build --quiet --release --example parse_coverage)
	echo "$1/release/examples/parse_coverage"
}
bin=$(build "$top/target" "$top")
ref_bin=
if [ -n "${REF:-}" ]; then
	work=$(mktemp -d)
	trap 'git -C "$top" worktree remove --force "$work/src" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
	git -C "$top" worktree add --quiet --detach "$work/src" "$REF"
	cp "$top/examples/parse_coverage.rs" "$work/src/examples/"
	ref_bin=$(build "$top/target/parse-coverage-ref" "$work/src")
fi
for v in "$@"; do
	tree=$trees/linux-$v
	[ -d "$tree" ] || { echo "parse-coverage.sh: no tree at $tree (../shared/tools/kernel-tree.sh $v)" >&2; exit 2; }
	list=$(mktemp)
	(cd "$tree" && find . -name '*.c' -not -path './tools/*' -not -path './scripts/*' \
		-not -path './samples/*' -not -path './Documentation/*' | sed 's|^\./||' | LC_ALL=C sort) > "$list"
	flags=()
	[ "${VERBOSE:-0}" = 1 ] && flags=(-v)
	echo "linux $v, this build: $("$bin" "${flags[@]}" "$tree" < "$list")"
	[ -z "$ref_bin" ] || echo "linux $v, at $REF:    $("$ref_bin" "$tree" < "$list")"
	rm -f "$list"
done
