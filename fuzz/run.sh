#!/usr/bin/env bash
# Runs every fuzz target for SECONDS seconds each (default 60), one after
# the other, on seeds made by seed.sh. cargo-fuzz needs nightly flags; on a
# stable toolchain RUSTC_BOOTSTRAP=1 lets it pass them. A crash leaves its
# input in fuzz/artifacts/<target>/ and stops the script with its status.
#
#   cargo install cargo-fuzz
#   fuzz/run.sh 600
set -euo pipefail
seconds="${1:-60}"
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
./seed.sh
export RUSTC_BOOTSTRAP=1
for target in c_pipeline rule_file; do
	echo "== $target: $seconds s"
	cargo fuzz run "$target" "corpus/$target" -- \
		-max_total_time="$seconds" -max_len=65536 -timeout=30 -rss_limit_mb=4096
done
