//! What any whole-tree run must spend before its analysis begins, measured
//! step by step with pinpatch's own code: listing the tree's `.c`/`.h`
//! files, reading every one of them, looking in each for the rule pack's
//! acquire identifiers (the candidates), building every file's word filter
//! (what later rounds search), and parsing the candidates with tree-sitter,
//! whole and as the skeleton a run parses. Each read step runs on every
//! core rayon is given, as a run's does.
//!
//! Used by `bench/floor.sh`. Prints one line per step, `step SECONDS
//! detail`, each the median of RUNS runs (default 3):
//!
//! ```text
//! cargo run --release --example floor -- TREE [RUNS]
//! ```

use aho_corasick::packed;
use pinpatch::c::parse::{parse_raw, parse_skeleton};
use pinpatch::rule::RulePack;
use pinpatch::source::{self, words::WordFilter};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// The median of the seconds `step` takes over `runs` runs, and what its
/// last run returned.
fn median<T>(runs: usize, mut step: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let out = step();
        times.push(start.elapsed().as_secs_f64());
        last = Some(out);
    }
    times.sort_by(f64::total_cmp);
    (times[runs / 2], last.expect("at least one run"))
}

/// Reads every file of `files` under `base` on rayon's threads, a buffer
/// per thread, and returns what `each` makes of each file's bytes.
fn read_each<T: Send>(
    base: &Path,
    files: &[String],
    each: &(dyn Fn(&str, &[u8]) -> T + Sync),
) -> Vec<T> {
    files
        .par_iter()
        .map_init(Vec::new, |buffer, rel| {
            match source::read_into(base, rel, buffer) {
                Ok(bytes) => Some(each(rel, bytes)),
                Err(_) => None,
            }
        })
        .flatten()
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(root) = args.first().map(PathBuf::from) else {
        eprintln!("usage: floor TREE [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = match args.get(1).map(|r| r.parse()) {
        None => 3,
        Some(Ok(r)) if r > 0 => r,
        Some(_) => {
            eprintln!("floor: RUNS must be a positive number");
            std::process::exit(2);
        }
    };
    let pack = match RulePack::builtin() {
        Ok(pack) => pack,
        Err(e) => {
            eprintln!("floor: the built-in rules: {e}");
            std::process::exit(1);
        }
    };
    let mut anchors = pack.acquire_identifiers();
    anchors.extend(pack.rewrite_identifiers());
    let Some(searcher) = packed::Searcher::new(anchors.iter()) else {
        eprintln!("floor: the packed searcher cannot take the pack's identifiers");
        std::process::exit(1);
    };

    let (t, list) = median(runs, || source::discover(&root));
    let list = match list {
        Ok(list) => list,
        Err(e) => {
            eprintln!("floor: {}: {e}", root.display());
            std::process::exit(1);
        }
    };
    println!("discover {t:.3} {} files", list.files.len());

    let (t, sizes) = median(runs, || read_each(&list.base, &list.files, &|_, b| b.len()));
    let bytes: usize = sizes.iter().sum();
    println!("read {t:.3} {bytes} bytes");

    let (t, candidates) = median(runs, || {
        read_each(&list.base, &list.files, &|rel, b| {
            searcher.find(b).map(|_| (rel.to_string(), b.to_vec()))
        })
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
    });
    let candidate_bytes: usize = candidates.iter().map(|(_, b)| b.len()).sum();
    println!(
        "read+prefilter {t:.3} {} candidates, {candidate_bytes} bytes",
        candidates.len()
    );

    let (t, filters) = median(runs, || {
        read_each(&list.base, &list.files, &|_, b| WordFilter::of(b)).len()
    });
    println!("read+filters {t:.3} {filters} filters");

    let (t, filters) = median(runs, || {
        read_each(&list.base, &list.files, &|_, b| {
            (searcher.find(b).is_some(), WordFilter::of(b))
        })
        .len()
    });
    println!("read+prefilter+filters {t:.3} {filters} filters");

    let (t, trees) = median(runs, || {
        candidates
            .par_iter()
            .filter_map(|(_, b)| parse_raw(b))
            .count()
    });
    println!("parse-whole {t:.3} {trees} candidates parsed whole");

    let (t, skeletons) = median(runs, || {
        candidates
            .par_iter()
            .filter_map(|(_, b)| parse_skeleton(Arc::from(b.as_slice()), &|_| false))
            .count()
    });
    println!("parse-skeleton {t:.3} {skeletons} candidates parsed as skeletons, no body");
}
