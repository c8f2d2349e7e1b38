#!/usr/bin/env bash
# Checks the patch series pinpatch writes for a real kernel tree the way a
# maintainer's tools would: checkpatch.pl --strict on every patch,
# get_maintainer.pl against the To:/Cc: of every patch (plus the section
# owning mm/gup.c, which every patch also goes to), and git am of every
# series on the base commit.
#
# usage: bench/series-check.sh [VERSION]      (VERSION: 6.1 by default)
# environment:
#   SHARED   the shared directory (default: ../shared next to the repo)
#   WORK     where the git copy of the tree, the series and the clones go
#            (default: a new temporary directory)
#
# The tree comes from ../shared/tools/kernel-tree.sh VERSION; it is copied
# with hard links (cp -al) into WORK and committed there once, so the
# cached tree is never written. Patches are applied in a sparse clone that
# checks out only the files they touch.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VERSION=${1:-6.1}
SHARED=${SHARED:-$REPO/../shared}
WORK=${WORK:-$(mktemp -d)}
TREE=$("$SHARED/tools/kernel-tree.sh" "$VERSION" | tail -n 1)

cargo build --release --quiet --manifest-path "$REPO/Cargo.toml"
PINPATCH=$REPO/target/release/pinpatch

BASE=$WORK/linux-$VERSION
if [ ! -d "$BASE/.git" ]; then
  cp -al "$TREE" "$BASE"
  git -C "$BASE" init -q
  # Debian's tree ignores everything at its top level: add by force.
  git -C "$BASE" add -f -A .
  git -C "$BASE" -c user.name=Base -c user.email=base@example.org \
    commit -q -m "Linux $VERSION (Debian linux-source)"
fi

OUT=$WORK/series
rm -rf "$OUT"
"$PINPATCH" series "$BASE" --out "$OUT" --signoff \
  --author "Pat Developer <pat@example.org>" --quiet

gm() {
  (cd "$BASE" && perl scripts/get_maintainer.pl --nogit --nogit-fallback \
    --nogit-chief-penguins --norolestats "$@" 2>/dev/null) |
    grep -o '[^ <"]*@[^ >",]*' | sort -u
}
API=$(gm -f mm/gup.c)

series=0 patches=0 clean=0 equal=0 applied=0
for dir in "$OUT"/*/; do
  series=$((series + 1))
  name=$(basename "$dir")
  files=$(find "$dir" -name '0*.patch' ! -name '0000-cover-letter.patch' | sort)
  for p in $files; do
    patches=$((patches + 1))
    report=$(cd "$BASE" && perl scripts/checkpatch.pl --strict --terse --show-types "$p" || true)
    if ! grep -q ': \(ERROR\|WARNING\|CHECK\):' <<<"$report"; then
      clean=$((clean + 1))
    else
      echo "checkpatch: $name/$(basename "$p"):"
      sed 's/^/  /' <<<"$report"
    fi
    ours=$(sed -n '/^To:/,/^$/p' "$p" | grep -o '[^ <"]*@[^ >",]*' | sort -u)
    want=$(printf '%s\n%s\n' "$(gm "$p")" "$API" | sort -u)
    if [ "$ours" = "$want" ]; then
      equal=$((equal + 1))
    else
      echo "recipients differ: $name/$(basename "$p")"
      diff <(echo "$ours") <(echo "$want") | sed 's/^/  /' || true
    fi
  done
  clone=$WORK/am-$name
  rm -rf "$clone"
  git clone -q --no-checkout --shared "$BASE" "$clone"
  touched=$(grep -h '^+++ b/' $files | sed 's|^+++ b/||' | sort -u)
  git -C "$clone" sparse-checkout set --no-cone $touched
  git -C "$clone" checkout -q
  if git -C "$clone" -c user.name=Pat -c user.email=pat@example.org am -q $files; then
    applied=$((applied + 1))
  else
    echo "git am failed: $name"
    git -C "$clone" am --abort || true
  fi
  rm -rf "$clone"
done

echo
echo "| figure | linux-$VERSION |"
echo "|---|---|"
echo "| series / patches | $series / $patches |"
echo "| patches with 0 errors, 0 warnings, 0 checks (checkpatch --strict) | $clean of $patches |"
echo "| To/Cc equal to get_maintainer.pl plus the mm/gup.c section | $equal of $patches |"
echo "| series applied with git am | $applied of $series |"
echo "| output | $OUT |"
