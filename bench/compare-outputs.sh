#!/usr/bin/env bash
# Compares what two builds of pinpatch print on real kernel trees: the diff
# (both targets), the JSON report and the series, byte for byte. A change
# meant to keep the output (a refactor, a speed change) must show "same" on
# every line; an output change belongs in its own commit, named as such.
#
# usage: bench/compare-outputs.sh OLD NEW [VERSION...]
#   OLD, NEW   a pinpatch binary, or a git revision of this repository (built
#              in release mode in a temporary worktree, target under
#              target/compare/)
#   VERSION    kernel trees to run on (default: 5.10 6.1 6.12), found as
#              ../shared/bench/roundtrip/run.sh finds them
# environment:
#   KERNEL_TREES  where the trees are (default ~/.cache/kernel-trees)
#   SHARED        the shared directory (default: ../shared next to the repo)
#   OUT           where outputs go (default: a new temporary directory, kept)
#   INDEX=1       NEW runs with --index OUT/new-VERSION.index (its first run
#                 writes it, the other three read it): an index of the tree
#                 must change no output
#
# Prints one line per tree and output: same / DIFFERENT (with the size of the
# difference), the wall time of each build, and exits 1 if anything differs.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED:-$(dirname "$REPO")/shared}
[ $# -ge 2 ] || { sed -n '2,19p' "$0" >&2; exit 2; }
OLD=$1 NEW=$2
shift 2
VERSIONS=("$@")
[ ${#VERSIONS[@]} -gt 0 ] || VERSIONS=(5.10 6.1 6.12)
OUT=${OUT:-$(mktemp -d -t pinpatch-compare.XXXXXX)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

note() { printf 'compare-outputs.sh: %s\n' "$*" >&2; }

# binary REV-OR-PATH LABEL: prints the path of a release binary for it.
binary() {
  local what=$1 label=$2
  if [ -f "$what" ] && [ -x "$what" ]; then
    (cd "$(dirname "$what")" && printf '%s/%s\n' "$(pwd)" "$(basename "$what")")
    return
  fi
  local rev
  rev=$(git -C "$REPO" rev-parse --verify --quiet "$what^{commit}") ||
    { echo "compare-outputs.sh: $what is neither an executable nor a revision" >&2; exit 2; }
  local src=$OUT/src-$label
  rm -rf "$src"
  mkdir -p "$src"
  git -C "$REPO" archive "$rev" | tar -x -C "$src"
  note "building $what ($rev) in $src"
  (cd "$src" && CARGO_TARGET_DIR=$REPO/target/compare cargo build --release --locked --quiet) >&2
  cp "$REPO/target/compare/release/pinpatch" "$OUT/pinpatch-$label"
  printf '%s\n' "$OUT/pinpatch-$label"
}

tree_of() {
  local v=$1 dir=${KERNEL_TREES:-$HOME/.cache/kernel-trees}/linux-$1
  if [ -d "$dir" ]; then printf '%s\n' "$dir"; else "$SHARED/tools/kernel-tree.sh" "$v" | tail -n 1; fi
}

OLD_BIN=$(binary "$OLD" old)
NEW_BIN=$(binary "$NEW" new)

# run LABEL BIN TREE [OPTION...]: every output of one build on one tree into
# $OUT/LABEL/, each run given the options.
run() {
  local label=$1 bin=$2 tree=$3 dir=$OUT/$1
  shift 3
  rm -rf "$dir"
  mkdir -p "$dir"
  local start end
  start=$(date +%s.%N)
  "$bin" diff --quiet "$@" "$tree" > "$dir/diff-unpin" 2> "$dir/diff-unpin.err" || true
  "$bin" diff --quiet --target put_user_page "$@" "$tree" > "$dir/diff-put_user_page" 2> "$dir/diff-put_user_page.err" || true
  "$bin" report --quiet --format json "$@" "$tree" > "$dir/report.json" 2> "$dir/report.err" || true
  "$bin" series --quiet --out "$dir/series" "$@" "$tree" > "$dir/series.out" 2> "$dir/series.err" || true
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f\n", b - a }'
}

status=0
printf '%-6s %-18s %-10s %s\n' tree output result detail
for v in "${VERSIONS[@]}"; do
  tree=$(tree_of "$v")
  t_old=$(run "old-$v" "$OLD_BIN" "$tree")
  new_args=()
  if [ "${INDEX:-0}" = 1 ]; then
    rm -f "$OUT/new-$v.index"
    new_args=(--index "$OUT/new-$v.index")
  fi
  t_new=$(run "new-$v" "$NEW_BIN" "$tree" "${new_args[@]}")
  for what in diff-unpin diff-put_user_page report.json series; do
    a=$OUT/old-$v/$what b=$OUT/new-$v/$what
    if diff -r "$a" "$b" > "$OUT/$v-$what.delta" 2>&1; then
      printf '%-6s %-18s %-10s\n' "$v" "$what" same
      rm -f "$OUT/$v-$what.delta"
    else
      status=1
      printf '%-6s %-18s %-10s %s\n' "$v" "$what" DIFFERENT \
        "$(grep -c '^[<>]' "$OUT/$v-$what.delta" || true) lines differ: $OUT/$v-$what.delta"
    fi
  done
  printf '%-6s %-18s %-10s old %s s, new %s s (all four outputs)\n' "$v" time - "$t_old" "$t_new"
done
echo "outputs in $OUT"
exit "$status"
