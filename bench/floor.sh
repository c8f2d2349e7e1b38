#!/usr/bin/env bash
# What a whole-tree run and an `explain` must spend before any analysis,
# measured on the Debian 6.1 tree with pinpatch's own code
# (`examples/floor.rs`), set against the targets of `bench/kernel.sh`.
#
# usage: bench/floor.sh
# environment:
#   RUNS=3     runs per step (the median is shown), after one warm-up run
#   SHARED     the shared directory (default: ../shared next to the repo)
#
# Steps (each over every .c/.h file of the tree, on both cores as a run
# reads them, from a warm page cache):
#   discover                 list the files (`source::discover`)
#   read                     read every file
#   read+prefilter           ... and look for the acquire identifiers
#   read+filters             ... and build every file's word filter
#   read+prefilter+filters   the first read of a whole-tree run
#   parse-whole              tree-sitter over the files naming an acquire
#   parse-skeleton           ... as the skeletons a run parses (no body)
# The lower bounds printed under the table add the steps a run cannot
# skip: a whole-tree run lists, reads with the prefilter and the filters,
# and parses its first round's files as skeletons before it analyses
# anything; an `explain` whose flow leaves its file lists the tree and
# reads it once, building the filters its searches ask.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED:-$(dirname "$REPO")/shared}
[ -d "$SHARED" ] || { echo "floor.sh: no shared directory at $SHARED (set SHARED=)" >&2; exit 2; }
RUNS=${RUNS:-3}
case $RUNS in '' | *[!0-9]*) echo "floor.sh: RUNS must be a number" >&2; exit 2 ;; esac
[ "$RUNS" -ge 1 ] || { echo "floor.sh: RUNS must be at least 1" >&2; exit 2; }

TREE=$("$SHARED/tools/kernel-tree.sh" 6.1 | tail -n 1)
[ -d "$TREE" ] || { echo "floor.sh: kernel-tree.sh gave no tree" >&2; exit 1; }
(cd "$REPO" && cargo build --release --quiet --example floor)
FLOOR=$REPO/target/release/examples/floor

echo "floor.sh: warm-up run" >&2
"$FLOOR" "$TREE" 1 > /dev/null
start_load=$(cut -d' ' -f1-3 /proc/loadavg)
steps=$("$FLOOR" "$TREE" "$RUNS")
end_load=$(cut -d' ' -f1-3 /proc/loadavg)

echo "## Floor of a run on $(basename "$TREE") ($(date -u '+%Y-%m-%d %H:%M UTC'), $(git -C "$REPO" rev-parse --short HEAD), $(nproc) cores, load $start_load -> $end_load, median of $RUNS)"
echo
echo "| step | seconds | detail |"
echo "|---|---|---|"
echo "$steps" | awk '{ step = $1; t = $2; $1 = ""; $2 = ""; sub(/^ +/, ""); printf "| %s | %s | %s |\n", step, t, $0 }'
echo "$steps" | awk '
  { t[$1] = $2 }
  END {
    tree = t["discover"] + t["read+prefilter+filters"] + t["parse-skeleton"]
    searched = t["discover"] + t["read+filters"]
    print ""
    print "| lower bound, before any analysis | seconds | target |"
    print "|---|---|---|"
    printf "| whole tree: discover + read+prefilter+filters + skeleton parse of the candidates | %.2f | <= 1.5 |\n", tree
    printf "| explain, a flow that leaves its file: discover + read+filters | %.2f | <= 1.5 |\n", searched
  }'
