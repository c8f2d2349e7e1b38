#!/usr/bin/env bash
# Checks that `pinpatch explain FILE:LINE`, which starts from the file asked
# about and reads what its flows need, says of every acquire site what a run
# over the whole tree says: converted or not, and the same rewrite. Prints
# each site that differs, the count per tree and the wall time of the
# explains (median, the longest with its site, and how many took under
# 0.5 s), and exits 1 if any site differs.
#
# usage: bench/explain-from-start.sh [VERSION...]
#   VERSION    kernel trees to run on (default: 5.10 6.1 6.12), found as
#              ../shared/bench/roundtrip/run.sh finds them
# environment:
#   PINPATCH      the binary (default: target/release/pinpatch, built here)
#   INDEX=1       every run with --index FILE (one index per tree, in a
#                 temporary directory): the whole tree's report writes it,
#                 every explain reads it
#   KERNEL_TREES  where the trees are (default ~/.cache/kernel-trees)
#   SHARED        the shared directory (default: ../shared next to the repo)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SHARED=${SHARED:-$(dirname "$REPO")/shared}
VERSIONS=("$@")
[ ${#VERSIONS[@]} -gt 0 ] || VERSIONS=(5.10 6.1 6.12)
if [ -z "${PINPATCH:-}" ]; then
  (cd "$REPO" && cargo build --release --locked --quiet)
  PINPATCH=$REPO/target/release/pinpatch
fi

tree_of() {
  local v=$1 dir=${KERNEL_TREES:-$HOME/.cache/kernel-trees}/linux-$1
  if [ -d "$dir" ]; then printf '%s\n' "$dir"; else "$SHARED/tools/kernel-tree.sh" "$v" | tail -n 1; fi
}

status=0
for v in "${VERSIONS[@]}"; do
  tree=$(tree_of "$v")
  report=$(mktemp -t pinpatch-report.XXXXXX)
  index_args=()
  if [ "${INDEX:-0}" = 1 ]; then
    index_dir=$(mktemp -d -t pinpatch-index.XXXXXX)
    index_args=(--index "$index_dir/tree.index")
  fi
  "$PINPATCH" report --quiet --format json "${index_args[@]}" "$tree" > "$report" || true
  python3 - "$PINPATCH" "$tree" "$report" "$v" "${index_args[@]}" <<'PY' || status=1
import json, subprocess, sys, time
binary, tree, report, version = sys.argv[1:5]
index_args = sys.argv[5:]
with open(report) as f:
    outcome = json.load(f)
sites = differ = 0
wall = []
for f in outcome["files"]:
    for s in f["sites"]:
        if s["kind"] != "acquire":
            continue
        sites += 1
        where = f"{f['path']}:{s['line']}"
        start = time.monotonic()
        text = subprocess.run([binary, "explain", where, *index_args], cwd=tree,
                              capture_output=True, text=True).stdout
        wall.append((time.monotonic() - start, where))
        becomes = None
        for line in text.splitlines():
            if line.startswith("  converted: becomes "):
                becomes = line[len("  converted: becomes "):]
        if becomes != s["rewrite"]:
            differ += 1
            print(f"DIFFERENT {version} {where}: whole tree {s['rewrite']!r}, explain {becomes!r}")
wall.sort()
median = wall[len(wall) // 2][0] if wall else 0.0
longest, slowest = wall[-1] if wall else (0.0, "-")
quick = sum(1 for w, _ in wall if w < 0.5)
print(f"linux {version}: {sites} acquire sites, {differ} differ; explain wall median {median:.2f} s, longest {longest:.2f} s ({slowest}); {quick} answered in under 0.5 s")
sys.exit(1 if differ else 0)
PY
  rm -f "$report"
  [ -z "${index_dir:-}" ] || rm -rf "$index_dir"
done
exit $status
