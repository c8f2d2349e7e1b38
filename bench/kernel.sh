#!/usr/bin/env bash
# Benchmarks pinpatch on a whole Linux 6.1 tree against Coccinelle (spatch)
# running the reference semantic patch on the files that call
# get_user_pages*(). Prints one table: wall time, CPU time (user + sys) and
# peak memory of each command, and the ratios spatch / pinpatch.
#
# usage: bench/kernel.sh
# environment:
#   RUNS=3          timed runs per command, after one untimed warm-up run
#   SPATCH_RUNS     timed runs of spatch (default RUNS; one run takes minutes)
#   SKIP_SPATCH=1   time pinpatch only
#   JOBS=2          spatch -j value
#   SHARED          the shared directory (default: ../shared next to the repo)
#   OUT             where outputs and timings go (default: a new temporary dir)
#   GNU_TIME        the GNU time binary (default /usr/bin/time)
#   SPATCH=spatch   spatch binary
#   EXPLAIN_SITES   FILE:LINE sites of the tree timed with `pinpatch explain`
#                   (default: three acquires of Linux 6.1, see below)
#
# What is timed (all from a warm page cache; the warm-up run fills it):
#   pinpatch diff --quiet TREE, pinpatch report --quiet TREE: the whole tree.
#   pinpatch explain --root TREE FILE:LINE: one run per site of EXPLAIN_SITES.
#   The same with --index OUT/tree.index, kept between runs (the warm-up run
#     of `diff` writes it); and `diff` building it, the index removed before
#     each run.
#   pinpatch diff/report --quiet GUPDIR: a temporary directory holding only
#     copies of the GUP file set, so both tools read the same bytes.
#   spatch --sp-file gup_pin.cocci -D patch -D report --very-quiet -j JOBS
#     --file-groups groups.txt, run from the tree root: exactly what
#     ../shared/bench/coccinelle/run.sh runs for its `pin` variant, on the
#     files its GUP_RE selects (.c files calling get_user_pages*(), one file
#     group per file).
# Medians are shown for wall and CPU time, the largest value for memory.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED:-$(dirname "$REPO")/shared}
[ -d "$SHARED" ] || { echo "kernel.sh: no shared directory at $SHARED (set SHARED=)" >&2; exit 2; }
SHARED=$(cd "$SHARED" && pwd)
COCCI=$SHARED/bench/coccinelle
RUNS=${RUNS:-3}
SPATCH_RUNS=${SPATCH_RUNS:-$RUNS}
SKIP_SPATCH=${SKIP_SPATCH:-0}
JOBS=${JOBS:-2}
SPATCH=${SPATCH:-spatch}
TIME=${GNU_TIME:-/usr/bin/time}
[ -x "$TIME" ] || { echo "kernel.sh: need GNU time at $TIME (apt-get install time, or set GNU_TIME)" >&2; exit 2; }
case $RUNS$SPATCH_RUNS in *[!0-9]*) echo "kernel.sh: RUNS and SPATCH_RUNS must be numbers" >&2; exit 2 ;; esac
[ "$RUNS" -ge 1 ] && [ "$SPATCH_RUNS" -ge 1 ] || { echo "kernel.sh: RUNS must be at least 1" >&2; exit 2; }
if [ "$SKIP_SPATCH" != 1 ]; then
  command -v "$SPATCH" >/dev/null || { echo "kernel.sh: $SPATCH not found (apt-get install coccinelle, or SKIP_SPATCH=1)" >&2; exit 2; }
fi

note() { printf 'kernel.sh: %s\n' "$*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?'; }

TREE=$("$SHARED/tools/kernel-tree.sh" 6.1 | tail -n 1)
[ -d "$TREE" ] || { echo "kernel.sh: kernel-tree.sh gave no tree" >&2; exit 1; }
OUT=${OUT:-$(mktemp -d -t pinpatch-bench.XXXXXX)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

note "building pinpatch (release)"
(cd "$REPO" && cargo build --release --locked --quiet)
BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/pinpatch
case $BIN in /*) ;; *) BIN=$REPO/$BIN ;; esac
[ -x "$BIN" ] || { echo "kernel.sh: no binary at $BIN" >&2; exit 1; }

# The GUP file set, selected with run.sh's own regular expression.
GUP_RE=$(sed -n "s/^GUP_RE='\(.*\)'\$/\1/p" "$COCCI/run.sh")
[ -n "$GUP_RE" ] || { echo "kernel.sh: cannot find GUP_RE in $COCCI/run.sh" >&2; exit 1; }
(cd "$TREE" && grep -rlP --include='*.c' "$GUP_RE" . | sed 's|^\./||' | LC_ALL=C sort) > "$OUT/files.txt"
awk '{print; print ""}' "$OUT/files.txt" > "$OUT/groups.txt"
NFILES=$(grep -c . "$OUT/files.txt")
GUPDIR=$OUT/gup-files
rm -rf "$GUPDIR"
mkdir -p "$GUPDIR"
(cd "$TREE" && xargs -d '\n' cp --parents -t "$GUPDIR" < "$OUT/files.txt")
NTREE=$(cd "$TREE" && find . -type f \( -name '*.c' -o -name '*.h' \) | wc -l)

# measure NAME N CMD...: one untimed warm-up run, then N timed runs. The
# command's stdout goes to $OUT/NAME.out, stderr to $OUT/NAME.err (last run);
# GNU time lines ("wall user sys maxrss_kB exit") to $OUT/NAME.times.
measure() {
  local name=$1 n=$2
  shift 2
  : > "$OUT/$name.times"
  local i
  for ((i = 0; i <= n; i++)); do
    if [ "$i" = 0 ]; then note "$name: warm-up"; else note "$name: run $i of $n"; fi
    "$TIME" -f '%e %U %S %M %x' -o "$OUT/$name.time1" "$@" > "$OUT/$name.out" 2> "$OUT/$name.err" || true
    local code
    code=$(awk 'END { print $5 }' "$OUT/$name.time1")
    case $code in
      0 | 3) ;; # 3: pinpatch skipped some files but processed the rest
      *) note "$name exited with status $code; see $OUT/$name.err" ;;
    esac
    [ "$i" = 0 ] || tail -n 1 "$OUT/$name.time1" >> "$OUT/$name.times"
  done
}

# figures NAME -> "wall cpu rss_MiB" (median wall, median user+sys, max RSS in MiB: GNU time's KiB / 1024)
figures() {
  awk '{ w[NR] = $1; c[NR] = $2 + $3; if ($4 > m) m = $4 }
    function med(a, n,   i, j, t) {
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    END { printf "%.2f %.2f %.0f\n", med(w, NR), med(c, NR), m / 1024 }' "$OUT/$1.times"
}

LOAD_BEFORE=$(loadavg)
measure pp-diff-tree "$RUNS" "$BIN" diff --quiet "$TREE"
measure pp-report-tree "$RUNS" "$BIN" report --quiet "$TREE"
# A converted acquire, a converted acquire whose release is in another
# function, and an acquire kept by the pin policy (Linux 6.1 line numbers).
EXPLAIN_SITES=${EXPLAIN_SITES:-arch/powerpc/kvm/book3s_64_mmu_hv.c:1156 drivers/misc/vmw_vmci/vmci_host.c:247 mm/mempolicy.c:908}
n_explain=0
for site in $EXPLAIN_SITES; do
  n_explain=$((n_explain + 1))
  measure "pp-explain-$n_explain" "$RUNS" "$BIN" explain --root "$TREE" "$site"
done
INDEX=$OUT/tree.index
rm -f "$INDEX"
measure pp-diff-tree-index-build "$RUNS" sh -c 'rm -f "$1" && exec "$2" diff --quiet --index "$1" "$3"' sh "$INDEX" "$BIN" "$TREE"
measure pp-diff-tree-indexed "$RUNS" "$BIN" diff --quiet --index "$INDEX" "$TREE"
cmp -s "$OUT/pp-diff-tree.out" "$OUT/pp-diff-tree-indexed.out" || note "the diff with the index differs from the diff without: see $OUT"
n_explain=0
for site in $EXPLAIN_SITES; do
  n_explain=$((n_explain + 1))
  measure "pp-explain-indexed-$n_explain" "$RUNS" "$BIN" explain --root "$TREE" --index "$INDEX" "$site"
  cmp -s "$OUT/pp-explain-$n_explain.out" "$OUT/pp-explain-indexed-$n_explain.out" || note "explain $site differs with the index"
done
measure pp-diff-gup "$RUNS" "$BIN" diff --quiet "$GUPDIR"
measure pp-report-gup "$RUNS" "$BIN" report --quiet "$GUPDIR"
if [ "$SKIP_SPATCH" != 1 ]; then
  # As run.sh: from the tree root, so the kernel's .cocciconfig applies.
  (cd "$TREE" && measure spatch-pin "$SPATCH_RUNS" "$SPATCH" --sp-file "$COCCI/gup_pin.cocci" \
    -D patch -D report --very-quiet -j "$JOBS" --file-groups "$OUT/groups.txt")
  grep -P '^STATUS\t' "$OUT/spatch-pin.err" | LC_ALL=C sort -u > "$OUT/spatch-pin.status.tsv" || true
fi

row() { # label name files
  local s
  s=$(figures "$2")
  set -- "$1" "$3" $s
  printf '| %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4" "$5"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "n/a"; else if (a / b < 10) printf "%.1fx", a / b; else printf "%.0fx", a / b }'; }

LOAD_AFTER=$(loadavg)
echo
echo "pinpatch $(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo '?'), $(awk -F= '$1 == "kernel" { print "linux " $2 }' "$TREE/.kernel-tree-complete" 2>/dev/null || basename "$TREE"), $(nproc) CPUs"
[ "$SKIP_SPATCH" = 1 ] || echo "$("$SPATCH" --version | head -n 1)"
echo "runs: $RUNS (pinpatch), $([ "$SKIP_SPATCH" = 1 ] && echo skipped || echo "$SPATCH_RUNS") (spatch), each after one warm-up; median wall and CPU, largest peak RSS"
echo "load average before: $LOAD_BEFORE, after: $LOAD_AFTER (wall times are only comparable on an idle machine)"
echo
echo '| command | files | wall s | CPU s (user+sys) | peak RSS MiB |'
echo '|---|---|---|---|---|'
row 'pinpatch diff, whole tree' pp-diff-tree "$NTREE .c/.h"
row 'pinpatch report, whole tree' pp-report-tree "$NTREE .c/.h"
i=0
for site in $EXPLAIN_SITES; do
  i=$((i + 1))
  row "pinpatch explain $site" "pp-explain-$i" "$NTREE .c/.h"
done
row 'pinpatch diff, whole tree, writing a new index' pp-diff-tree-index-build "$NTREE .c/.h"
row 'pinpatch diff, whole tree, with the index' pp-diff-tree-indexed "$NTREE .c/.h"
i=0
for site in $EXPLAIN_SITES; do
  i=$((i + 1))
  row "pinpatch explain $site, with the index" "pp-explain-indexed-$i" "$NTREE .c/.h"
done
row 'pinpatch diff, GUP file set (copied)' pp-diff-gup "$NFILES .c"
row 'pinpatch report, GUP file set (copied)' pp-report-gup "$NFILES .c"
if [ "$SKIP_SPATCH" != 1 ]; then
  row "spatch -j $JOBS gup_pin.cocci, GUP file set" spatch-pin "$NFILES .c"
  read -r sw sc sm <<< "$(figures spatch-pin)"
  read -r tw tc tm <<< "$(figures pp-diff-tree)"
  read -r gw gc gm <<< "$(figures pp-diff-gup)"
  echo
  echo '| ratio spatch / pinpatch diff | wall | CPU | peak RSS |'
  echo '|---|---|---|---|'
  echo "| pinpatch on the whole tree | $(ratio "$sw" "$tw") | $(ratio "$sc" "$tc") | $(ratio "$sm" "$tm") |"
  echo "| pinpatch on the GUP file set | $(ratio "$sw" "$gw") | $(ratio "$sc" "$gc") | $(ratio "$sm" "$gm") |"
  echo
  st=$OUT/spatch-pin.status.tsv
  echo "spatch: $(grep -c . "$st" || true) acquisition sites, $(grep -c $'\tCONVERTED' "$st" || true) converted," \
    "$(grep -c '^+++ ' "$OUT/spatch-pin.out" || true) files changed"
fi
# The targets, side by side with what was measured.
met() { awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN { ok = (op == "<=") ? (a <= b) : (a >= b); print ok ? "yes" : "**no**" }'; }
echo
echo '| figure | measured | target | met |'
echo '|---|---|---|---|'
read -r tw tc tm <<< "$(figures pp-diff-tree)"
read -r iw ic im <<< "$(figures pp-diff-tree-indexed)"
echo "| whole tree, pinpatch diff, median wall | $tw s | <= 1.5 s | $(met "$tw" '<=' 1.5) |"
echo "| whole tree, pinpatch diff --index (kept), median wall | $iw s | <= 1.5 s | $(met "$iw" '<=' 1.5) |"
i=0
for site in $EXPLAIN_SITES; do
  i=$((i + 1))
  read -r ew ec em <<< "$(figures "pp-explain-$i")"
  echo "| pinpatch explain $site, median wall | $ew s | <= 1.5 s | $(met "$ew" '<=' 1.5) |"
  read -r ew ec em <<< "$(figures "pp-explain-indexed-$i")"
  echo "| pinpatch explain $site --index (kept), median wall | $ew s | <= 1.5 s | $(met "$ew" '<=' 1.5) |"
done
echo "| whole tree, peak RSS | $tm MiB | <= 300 MiB | $(met "$tm" '<=' 300) |"
echo "| whole tree --index (kept), peak RSS | $im MiB | <= 300 MiB | $(met "$im" '<=' 300) |"
if [ "$SKIP_SPATCH" != 1 ]; then
  read -r sw sc sm <<< "$(figures spatch-pin)"
  read -r gw gc gm <<< "$(figures pp-diff-gup)"
  r=$(awk -v a="$sw" -v b="$gw" 'BEGIN { printf "%.1f", (b > 0) ? a / b : 0 }')
  echo "| GUP file set, spatch -j $JOBS wall / pinpatch diff wall | ${r}x | >= 50x | $(met "$r" '>=' 50) |"
fi
echo
echo "pinpatch (whole tree): $(grep '^summary:' "$OUT/pp-report-tree.out" | tail -n 1 | sed 's/^summary: //')"
echo "outputs in $OUT"
