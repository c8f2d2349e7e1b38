#!/usr/bin/env bash
# Times the release binary on generated files too big for the debug test
# suite: 10 MB of small functions with two conversions, and 10 MB made only
# of conversions (about 89,000 units in one file). Each run must exit 0 and
# its diff must apply with `git apply` and give what `pinpatch apply` wrote.
#
#   bench/robustness.sh
set -euo pipefail
top="$(cd "$(dirname "$0")/.." && pwd)"
cargo build --release --quiet --manifest-path "$top/Cargo.toml"
bin="$top/target/release/pinpatch"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import os, sys
work = sys.argv[1]
good = ("static void f%d(unsigned long a)\n{\n\tstruct page *p;\n\n"
        "\tif (get_user_pages_fast(a, 1, 0, &p) == 1)\n\t\tput_page(p);\n}\n\n")
filler = ("static int filler%d(int a)\n{\n\tint b = a * 2 + %d;\n\n"
          "\tif (b > 10)\n\t\treturn b - 1;\n\treturn b;\n}\n\n")
for name, body in (("filler", lambda n: filler % (n, n)), ("units", lambda n: good % n)):
    os.makedirs(f"{work}/{name}")
    parts, size, n = [good % 1000000], 0, 0
    while size < 10 * 1024 * 1024:
        s = body(n)
        parts.append(s)
        size += len(s)
        n += 1
    parts.append(good % 1000001)
    with open(f"{work}/{name}/big.c", "w") as f:
        f.write("".join(parts))
PY
for name in filler units; do
	dir="$work/$name"
	start=$(date +%s.%N)
	"$bin" diff --quiet --policy all "$dir" > "$dir.diff"
	end=$(date +%s.%N)
	echo "$name: $(du -h "$dir/big.c" | cut -f1) file, diff in $(echo "$end - $start" | bc) s"
	cp -r "$dir" "$dir.git-apply"
	(cd "$dir.git-apply" && git apply --unsafe-paths "$dir.diff")
	"$bin" apply --quiet --policy all "$dir" 2> /dev/null
	cmp "$dir/big.c" "$dir.git-apply/big.c"
done
