#!/bin/sh
# Compares the gup-api pack's rewrite of a Linux 6.1 tree with what upstream
# wrote: the call sites of the same functions in a 6.12 tree.
#
# Every call in OLD of get_user_pages(), pin_user_pages() (5 arguments) and
# get_user_pages_remote(), pin_user_pages_remote() (7 arguments: the
# signatures with a vmas parameter) is looked up in NEW by file, enclosing
# function and callee:
#   matched    pinpatch rewrote it, and NEW has the same call (whitespace aside)
#   differing  pinpatch rewrote it, NEW calls the function there differently
#   missed     pinpatch left it (a vmas wanted), NEW changed it
#   gone       the call is no longer in that function of NEW (moved, removed)
#
# usage: bench/gup-api-compare.sh [OLD [NEW]]
#        (default ~/.cache/kernel-trees/linux-6.1 and linux-6.12)
# PINPATCH=path/to/pinpatch to use another binary (default: a release build).
set -eu
old=${1:-$HOME/.cache/kernel-trees/linux-6.1}
new=${2:-$HOME/.cache/kernel-trees/linux-6.12}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${PINPATCH:-$here/target/release/pinpatch}
[ -n "${PINPATCH:-}" ] || (cd "$here" && cargo build --release --locked --quiet)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

start=$(date +%s.%N)
(cd "$old" && "$bin" report --quiet --format json --rules "$here/rules/gup-api" .) >"$out/report.json"
end=$(date +%s.%N)
echo "pinpatch report --rules rules/gup-api on $old: $(echo "$end - $start" | bc) s"

names='get_user_pages\|pin_user_pages\|get_user_pages_remote\|pin_user_pages_remote\|get_user_page_vma_remote'
(cd "$old" && grep -rl --include='*.c' --include='*.h' "$names" . | sort) >"$out/old-files"
(cd "$new" && grep -rl --include='*.c' --include='*.h' "$names" . | sort) >"$out/new-files"

python3 - "$old" "$new" "$out" <<'PY'
import json, re, sys
old, new, out = sys.argv[1:4]
FUNCS = {"get_user_pages": 5, "pin_user_pages": 5,
         "get_user_pages_remote": 7, "pin_user_pages_remote": 7}
SUCCESSORS = {"get_user_pages_remote": ["get_user_page_vma_remote"]}
CALL = re.compile(r"\b(" + "|".join(list(FUNCS) + ["get_user_page_vma_remote"]) + r")\s*\(")
FUNC_HEAD = re.compile(r"^[A-Za-z_][\w \t\*]*?\b(\w+)\s*\(", re.M)

def strip_comments(text):
    return re.sub(r"/\*.*?\*/|//[^\n]*", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)

def calls(path):
    """(function, callee, [args], normalised text) of every call in a file."""
    try:
        text = strip_comments(open(path, encoding="latin-1").read())
    except OSError:
        return []
    heads = [(m.start(), m.group(1)) for m in FUNC_HEAD.finditer(text)]
    found = []
    for m in CALL.finditer(text):
        before = text[:m.start()].rstrip()
        if not before or not (before[-1] in "=(,!&|?:;{}" or before.endswith("return")):
            continue  # a prototype, a definition or a macro name
        depth, i, args, cur = 0, m.end() - 1, [], ""
        while i < len(text):
            c = text[i]
            if c in "([{":
                depth += 1
                if depth > 1:
                    cur += c
            elif c in ")]}":
                depth -= 1
                if depth == 0:
                    args.append(cur)
                    break
                cur += c
            elif c == "," and depth == 1:
                args.append(cur)
                cur = ""
            else:
                cur += c
            i += 1
        args = ["".join(a.split()) for a in args]
        func = None
        for pos, name in heads:
            if pos < m.start():
                func = name
            else:
                break
        found.append((func, m.group(1), args, m.group(1) + "(" + ",".join(args) + ")"))
    return found

report = json.load(open(f"{out}/report.json"))
rewritten = {}
for f in report["files"]:
    for s in f["sites"]:
        if s["kind"] == "rewrite" and s.get("rewrite"):
            rewritten.setdefault((f["path"], s["function"]), []).append("".join(s["rewrite"].split()))

old_files = [l.strip() for l in open(f"{out}/old-files")]
counts = {"matched": [], "differing": [], "missed": [], "gone": []}
rewrites_seen = 0
for rel in old_files:
    relp = rel[2:] if rel.startswith("./") else rel
    new_calls = calls(f"{new}/{relp}")
    for func, callee, args, norm in calls(f"{old}/{relp}"):
        if FUNCS.get(callee) != len(args):
            continue
        ours = rewritten.get((relp, func), [])
        # The call with its vmas argument (the one before last for the
        # remote calls, the last otherwise) dropped.
        vmas = len(args) - 2 if callee.endswith("_remote") else len(args) - 1
        dropped = callee + "(" + ",".join(args[:vmas] + args[vmas + 1:]) + ")"
        mine = dropped if dropped in ours else None
        theirs = [n for (fn, c, a, n) in new_calls if fn == func and (c == callee or c in SUCCESSORS.get(callee, []))]
        where = f"{relp}: {func}(): {norm}"
        if mine:
            rewrites_seen += 1
            if not theirs:
                counts["gone"].append(where + "  [rewritten]")
            elif mine in theirs:
                counts["matched"].append(where)
            else:
                counts["differing"].append(where + "\n      pinpatch: " + mine + "\n      6.12:     " + " | ".join(theirs))
        else:
            if not theirs:
                counts["gone"].append(where + "  [left]")
            else:
                counts["missed"].append(where + "\n      6.12:     " + " | ".join(theirs))

total_rewrites = sum(len(v) for v in rewritten.values())
print(f"calls with a vmas argument in the old tree: {sum(len(v) for v in counts.values())}")
print(f"rewritten by the gup-api pack: {total_rewrites}")
for k in ["matched", "differing", "missed", "gone"]:
    print(f"{k:10} {len(counts[k])}")
for k in ["differing", "missed", "gone"]:
    if counts[k]:
        print(f"\n{k}:")
        for line in counts[k]:
            print("  " + line)
PY
