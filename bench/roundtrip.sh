#!/usr/bin/env bash
# The round-trip recall benchmark with pinpatch's own pass/fail line.
#
# Builds the release binary, runs ../shared/bench/roundtrip/run.sh on the
# given trees (default: 5.10 6.1 6.12) and prints its output, then checks
# the one property that is not a matter of recall: no tree may have a
# PARTIAL file (an acquire converted while a release of the same pages in
# that file stays put_page(), or the reverse). Exits 1 when any tree has
# one, or when a tree's line is missing from the summary.
#
# Then, per tree, how close the converted text is to upstream's own: the
# diff applied to copies of the files it touches in the reverted tree,
# each compared with the original tree's file (files byte-identical, lines
# that differ). Differences come from sites pinpatch misses, from layout
# the revert left (one-line loops, padding lines) and from upstream's own
# choices (a loop kept, an argument one column off its parenthesis).
#
# usage: bench/roundtrip.sh [VERSION...]
# environment: SHARED (default: ../shared next to the repo), OUT (the full
#   output is kept there, default a temporary file), and run.sh's own
#   variables (KERNEL_TREES, TMPDIR, KEEP, PAGES_FORM).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED:-$(dirname "$REPO")/shared}
RUN=$SHARED/bench/roundtrip/run.sh
[ -x "$RUN" ] || { echo "roundtrip.sh: no $RUN (set SHARED=)" >&2; exit 2; }
[ $# -gt 0 ] || set -- 5.10 6.1 6.12
OUT=${OUT:-$(mktemp -t pinpatch-roundtrip.XXXXXX)}

(cd "$REPO" && cargo build --release --locked --quiet)
BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/pinpatch
case $BIN in /*) ;; *) BIN=$REPO/$BIN ;; esac

KEPT_BY_USER=${KEEP:-}
KEEP=1 PINPATCH=$BIN "$RUN" "$@" 2>&1 | tee "$OUT"
KEPT=$(sed -n 's/^run.sh: kept //p' "$OUT" | tail -1)

# The summary table: "version sites acquire recall release recall partial ...".
status=0
echo
echo "soundness (PARTIAL files must be 0):"
for v in "$@"; do
  partial=$(awk -v v="$v" '$1 == v && NF >= 7 && $2 ~ /^[0-9]+$/ { p = $7 } END { print p }' "$OUT")
  if [ -z "$partial" ]; then
    echo "  $v: no summary line (see $OUT)"
    status=1
  elif [ "$partial" != 0 ]; then
    echo "  $v: FAILED, $partial PARTIAL files"
    status=1
  else
    echo "  $v: ok"
  fi
done
grep -E "^PARTIAL" "$OUT" | sed "s/^/  /" || true

# The text against upstream's, per tree.
echo
echo "converted text against upstream's (files the diff touches):"
if [ -n "$KEPT" ] && [ -d "$KEPT" ]; then
  TREES=${KERNEL_TREES:-$HOME/.cache/kernel-trees}
  for v in "$@"; do
    diff_file=$KEPT/$v.diff reverted=$KEPT/linux-$v original=$TREES/linux-$v
    if [ ! -s "$diff_file" ] || [ ! -d "$reverted" ] || [ ! -d "$original" ]; then
      echo "  $v: no diff or tree to compare"
      continue
    fi
    work=$(mktemp -d -t pinpatch-upstream-text.XXXXXX)
    mapfile -t files < <(sed -n 's|^+++ b/||p' "$diff_file")
    for f in "${files[@]}"; do
      mkdir -p "$work/$(dirname "$f")"
      cp "$reverted/$f" "$work/$f"
    done
    if ! (cd "$work" && git apply -p1 "$diff_file"); then
      echo "  $v: the diff does not apply to the reverted files"
      status=1
      rm -rf "$work"
      continue
    fi
    same=0 lines=0
    for f in "${files[@]}"; do
      n=$(diff "$original/$f" "$work/$f" | grep -c '^[<>]' || true)
      lines=$((lines + n))
      [ "$n" -eq 0 ] && same=$((same + 1))
    done
    echo "  $v: $same of ${#files[@]} files identical to upstream's, $lines lines differ"
    rm -rf "$work"
  done
  [ "$KEPT_BY_USER" = 1 ] || rm -rf "$KEPT"
else
  echo "  run.sh kept no copy to compare"
fi
echo "full output: $OUT"
exit "$status"
