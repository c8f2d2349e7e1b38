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

PINPATCH=$BIN "$RUN" "$@" 2>&1 | tee "$OUT"

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
echo "full output: $OUT"
exit "$status"
