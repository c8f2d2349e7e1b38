#!/usr/bin/env bash
# Times the release binary on generated files too big for the debug test
# suite, and prints the figures:
#
# 1. 10 MB of small functions with two conversions, and 10 MB made only of
#    conversions (about 89,000 units in one file). Each run must exit 0 and
#    its diff must apply with `git apply` and give what `pinpatch apply`
#    wrote.
# 2. Scaling, one file per case and N (N = 1000 2000 4000 8000 by default):
#    callers  N functions, each acquiring pages and handing them to one
#             helper that releases them;
#    aliases  one function acquiring pages, copying the array into N
#             aliases, one after the other, and releasing through the last;
#    fields   one struct of N page fields, one function filling each field
#             with an acquire and one releasing them all;
#    units    N functions, each acquiring and releasing its own pages;
#    flags    N functions, half handing the user's pages and half pages of
#             their own to one helper that releases them under a flag the
#             caller passes (`if (user) put_page(p); else __free_page(p);`);
#    loops    one function acquiring pages and releasing them on N paths,
#             each with a loop over the same index (`for (i = 0; ...)`);
#    locals   one function acquiring N pages into N locals, each released
#             on its own;
#    guarded  one function releasing its page on N paths, each under a
#             flag it is given (`if (user) put_page(p);`);
#    dirtying N functions releasing the pages of one struct field, each
#             dirtying them under a flag field of the struct
#             (`if (b->w) set_page_dirty_lock(b->pages[i]);`).
#    Linear means 4x N costs at most 5x the CPU time: the table gives the
#    CPU ratio of each N to the N four times smaller.
# 3. Peak memory on one big generated file (BIG_MB, default 50 MB, of small
#    functions with two conversions), against the input size.
#
#   bench/robustness.sh                       # all three
#   NS="1000 2000" CASES="callers" BIG_MB=0 bench/robustness.sh
#   SKIP_APPLY=1 bench/robustness.sh          # skip part 1
#
# GNU time gives CPU time (user + sys) and peak RSS; set GNU_TIME if it is
# not /usr/bin/time. PINPATCH=path times another build (to compare with
# this one). The machine's load average is printed before and after.
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
NS=${NS:-1000 2000 4000 8000}
CASES=${CASES:-callers aliases fields units flags loops locals guarded dirtying}
BIG_MB=${BIG_MB:-50}
GNU_TIME=${GNU_TIME:-/usr/bin/time}
if [ -n "${PINPATCH:-}" ]; then
	bin=$(cd "$(dirname "$PINPATCH")" && pwd)/$(basename "$PINPATCH")
else
	cargo build --release --locked --quiet --manifest-path "$top/Cargo.toml"
	bin="$top/target/release/pinpatch"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# generate KIND DIR [N | MB]: writes DIR/big.c.
generate() {
	python3 - "$@" <<'PY'
import os, sys
kind, out = sys.argv[1], sys.argv[2]
good = ("static void f%d(unsigned long a)\n{\n\tstruct page *p;\n\n"
        "\tif (get_user_pages_fast(a, 1, 0, &p) == 1)\n\t\tput_page(p);\n}\n\n")
filler = ("static int filler%d(int a)\n{\n\tint b = a * 2 + %d;\n\n"
          "\tif (b > 10)\n\t\treturn b - 1;\n\treturn b;\n}\n\n")
parts = []
if kind in ("filler", "units-mb"):
    limit = int(sys.argv[3]) * 1024 * 1024
    body = (lambda n: filler % (n, n)) if kind == "filler" else (lambda n: good % n)
    parts, size, n = [good % 1000000], 0, 0
    while size < limit:
        s = body(n)
        parts.append(s)
        size += len(s)
        n += 1
    parts.append(good % 1000001)
else:
    n = int(sys.argv[3])
    if kind == "callers":
        parts.append("static void release_pages_of(struct page **pages, int n)\n{\n"
                     "\tint i;\n\n\tfor (i = 0; i < n; i++)\n\t\tput_page(pages[i]);\n}\n\n")
        for k in range(n):
            parts.append(
                f"static int caller{k}(unsigned long a)\n{{\n\tstruct page *pages[4];\n"
                "\tint n = get_user_pages_fast(a, 4, 0, pages);\n\n"
                "\tif (n > 0)\n\t\trelease_pages_of(pages, n);\n\treturn n;\n}\n\n")
    elif kind == "aliases":
        parts.append("static int aliases(unsigned long a)\n{\n\tstruct page *pages[4];\n")
        for k in range(n):
            parts.append(f"\tstruct page **alias{k};\n")
        parts.append("\tint i, n = get_user_pages_fast(a, 4, 0, pages);\n\n\talias0 = pages;\n")
        for k in range(1, n):
            parts.append(f"\talias{k} = alias{k - 1};\n")
        parts.append(f"\tfor (i = 0; i < n; i++)\n\t\tput_page(alias{n - 1}[i]);\n"
                     "\treturn n;\n}\n")
    elif kind == "fields":
        parts.append("struct holder {\n")
        parts.extend(f"\tstruct page *page{k};\n" for k in range(n))
        parts.append("};\n\nstatic int fill(struct holder *h, unsigned long a)\n{\n\tint n = 0;\n\n")
        parts.extend(f"\tn += get_user_pages_fast(a + {k} * 4096, 1, 0, &h->page{k});\n"
                     for k in range(n))
        parts.append("\treturn n;\n}\n\nstatic void drop(struct holder *h)\n{\n")
        parts.extend(f"\tput_page(h->page{k});\n" for k in range(n))
        parts.append("}\n")
    elif kind == "units":
        parts.extend(good % k for k in range(n))
    elif kind == "flags":
        parts.append("static void put_flagged(struct page *p, int user)\n{\n"
                     "\tif (user)\n\t\tput_page(p);\n\telse\n\t\t__free_page(p);\n}\n\n")
        for k in range(n):
            if k % 2:
                parts.append(
                    f"static void own{k}(void)\n{{\n\tstruct page *p = alloc_page(GFP_KERNEL);\n\n"
                    "\tif (p)\n\t\tput_flagged(p, 0);\n}\n\n")
            else:
                parts.append(
                    f"static int user{k}(unsigned long a)\n{{\n\tstruct page *p;\n"
                    "\tint n = get_user_pages_fast(a, 1, FOLL_WRITE, &p);\n\n"
                    "\tif (n == 1)\n\t\tput_flagged(p, 1);\n\treturn n;\n}\n\n")
    elif kind in ("loops", "guarded"):
        # One function acquiring once and releasing on N paths, each path
        # `if (k == j) { <release>; return j; }`.
        head, release = {
            "loops": ("static int many_paths(unsigned long a)\n{\n\tstruct page *pages[4];\n"
                      "\tint i, k = get_user_pages_fast(a, 4, 0, pages);\n\n",
                      "\t\tfor (i = 0; i < k; i++)\n\t\t\tput_page(pages[i]);\n"),
            "guarded": ("static int many_guarded(unsigned long a, int user)\n{\n"
                        "\tstruct page *p;\n\tint k = get_user_pages_fast(a, 1, 0, &p);\n\n",
                        "\t\tif (user)\n\t\t\tput_page(p);\n"),
        }[kind]
        parts.append(head)
        parts.extend(f"\tif (k == {j}) {{\n{release}\t\treturn {j};\n\t}}\n" for j in range(n))
        parts.append("\treturn k;\n}\n")
    elif kind == "dirtying":
        parts.append("struct buf { struct page **pages; int n; int w; };\n\n"
                     "static int get_buf(struct buf *b, unsigned long a)\n{\n"
                     "\tb->n = get_user_pages_fast(a, 4, FOLL_WRITE, b->pages);\n\treturn b->n;\n}\n\n")
        parts.extend(f"static void put_buf{j}(struct buf *b)\n{{\n\tint i;\n\n"
                     "\tfor (i = 0; i < b->n; i++) {\n\t\tif (b->w)\n"
                     "\t\t\tset_page_dirty_lock(b->pages[i]);\n\t\tput_page(b->pages[i]);\n\t}\n}\n\n"
                     for j in range(n))
    elif kind == "locals":
        parts.append("static int many_locals(unsigned long a)\n{\n")
        parts.extend(f"\tstruct page *p{j};\n" for j in range(n))
        for j in range(n):
            parts.append(f"\tif (get_user_pages_fast(a + {j}, 1, 0, &p{j}) == 1)\n"
                         f"\t\tput_page(p{j});\n")
        parts.append("\treturn 0;\n}\n")
    else:
        sys.exit(f"unknown kind {kind}")
os.makedirs(out, exist_ok=True)
with open(f"{out}/big.c", "w") as f:
    f.write("".join(parts))
PY
}

# measure DIR: "wall cpu rss_kb" of `pinpatch diff` on DIR; the diff goes
# to DIR.diff.
measure() {
	"$GNU_TIME" -f "%e %U %S %M" -o "$1.time" \
		"$bin" diff --quiet --policy all "$1" > "$1.diff" 2> "$1.err"
	awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$1.time"
}

if [ -z "${SKIP_APPLY:-}" ]; then
	echo
	echo "## 10 MB files: diff, git apply, pinpatch apply"
	for name in filler units-mb; do
		dir="$work/$name"
		generate "$name" "$dir" 10
		read -r wall cpu rss < <(measure "$dir")
		echo "$name: $(du -h "$dir/big.c" | cut -f1) file, diff in $wall s (CPU $cpu s, peak RSS $((rss / 1024)) MB)"
		cp -r "$dir" "$dir.git-apply"
		(cd "$dir.git-apply" && git apply --unsafe-paths "$dir.diff")
		"$bin" apply --quiet --policy all "$dir" 2> /dev/null
		cmp "$dir/big.c" "$dir.git-apply/big.c"
	done
fi

if [ -n "$CASES" ]; then
	echo
	echo "## Scaling: one file per case and N"
	echo
	echo "| case | N | file KB | wall s | CPU s | CPU / CPU at N/4 | peak RSS MB | diff lines |"
	echo "|---|---|---|---|---|---|---|---|"
	for case in $CASES; do
		declare -A cpu_at=()
		for n in $NS; do
			dir="$work/$case-$n"
			generate "$case" "$dir" "$n"
			read -r wall cpu rss < <(measure "$dir")
			cpu_at[$n]=$cpu
			quarter=$((n / 4))
			ratio=-
			if [ -n "${cpu_at[$quarter]:-}" ]; then
				ratio=$(awk -v a="$cpu" -v b="${cpu_at[$quarter]}" \
					'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }')
			fi
			echo "| $case | $n | $(($(stat -c %s "$dir/big.c") / 1024)) | $wall | $cpu | $ratio | $((rss / 1024)) | $(wc -l < "$dir.diff") |"
			rm -rf "$dir" "$dir.diff"
		done
		unset cpu_at
	done
fi

if [ "$BIG_MB" -gt 0 ]; then
	echo
	echo "## Peak memory on one ${BIG_MB} MB file"
	dir="$work/big"
	generate filler "$dir" "$BIG_MB"
	size=$(stat -c %s "$dir/big.c")
	read -r wall cpu rss < <(measure "$dir")
	echo "filler, $((size / 1024 / 1024)) MB file: diff in $wall s (CPU $cpu s), peak RSS $((rss / 1024)) MB ($(awk -v r="$rss" -v s="$size" 'BEGIN { printf "%.1f", r * 1024 / s }') bytes per input byte), $(wc -l < "$dir.diff") diff lines"
fi
echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
