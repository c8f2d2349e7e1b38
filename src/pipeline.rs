//! The one pipeline every command runs: discover, prefilter, parse, analyse,
//! render, verify. Its result, `Outcome`, is what the sinks consume: the
//! dry-run diff, `apply`, the report and the series all read the same data,
//! so a preview cannot drift from what is written.
//!
//! Files are processed in parallel (rayon) and collected in path order, so
//! the output is the same whatever the scheduling. A file that cannot be
//! read, or is binary, is reported as skipped and the run goes on.

use crate::c::parse;
use crate::engine::{Class, Engine, FileFindings, Plan};
use crate::rewrite::diff::file_diff;
use crate::rewrite::edit::overlaps;
use crate::rewrite::template::render;
use crate::rewrite::verify::{error_count, parses_no_worse};
use crate::rewrite::{apply_edits, Edit};
use crate::rule::{RulePack, Target};
use crate::source::{self, SkippedFile, SourceError};
use aho_corasick::{packed, AhoCorasick};
use rayon::prelude::*;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What a run needs to know, resolved from the command line.
#[derive(Clone, Debug)]
pub struct Config {
    pub path: PathBuf,
    pub target: Target,
}

/// One file the run found something in.
#[derive(Debug)]
pub struct FileOutcome {
    pub rel_path: String,
    pub findings: FileFindings,
    pub before: Vec<u8>,
    pub after: Vec<u8>,
    /// The edits applied, each with the index of its unit in `findings.units`.
    pub edits: Vec<(usize, Edit)>,
    pub executable: bool,
}

impl FileOutcome {
    pub fn changed(&self) -> bool {
        self.before != self.after
    }

    /// The git-style diff of this file, with an `index` line as git writes it.
    pub fn diff(&self) -> Vec<u8> {
        if !self.changed() {
            return Vec::new();
        }
        let mode = if self.executable { "100755" } else { "100644" };
        let index = format!(
            "{}..{} {mode}",
            abbrev_blob(&self.before),
            abbrev_blob(&self.after)
        );
        file_diff(&self.rel_path, &self.before, &self.after, Some(&index))
    }
}

/// The abbreviated git blob id of some bytes.
pub fn abbrev_blob(bytes: &[u8]) -> String {
    match git2::Oid::hash_object(git2::ObjectType::Blob, bytes) {
        Ok(oid) => oid.to_string()[..12].to_string(),
        Err(_) => "000000000000".to_string(),
    }
}

/// Counts over a whole run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    pub files_scanned: usize,
    pub files_parsed: usize,
    pub functions_skipped: usize,
    pub functions_analysed: usize,
    pub acquire_sites: usize,
    pub release_sites: usize,
    pub rewrites: usize,
    pub files_changed: usize,
    pub units: usize,
    pub units_converted: usize,
}

/// The result of a run.
#[derive(Debug)]
pub struct Outcome {
    pub base: PathBuf,
    pub target: Target,
    pub files: Vec<FileOutcome>,
    pub skipped: Vec<SkippedFile>,
    pub stats: Stats,
}

/// Runs the pipeline over `config.path`.
pub fn run(
    config: &Config,
    pack: &RulePack,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Outcome, SourceError> {
    let list = source::discover(&config.path)?;
    let engine = Engine::new(pack, config.target);
    let anchors = pack.acquire_identifiers();
    let prefilter = Prefilter::new(&anchors);
    let total = list.files.len();
    let done = AtomicUsize::new(0);
    let tick = || {
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if n % 256 == 0 || n == total {
            progress(n, total);
        }
    };
    // Two passes. The first reads and prefilters every file and settles
    // almost all of them; the second parses and analyses the few candidates,
    // largest first, one file per task, so that a few big files (mm/, kvm)
    // do not end up queued behind each other on one core while the other
    // idles. Results are put back in path order, as before.
    let mut results: Vec<FileResult> = list
        .files
        .par_iter()
        .map(|rel| {
            let r = scan_file(&prefilter, &list.base, rel);
            if !matches!(r, FileResult::Candidate(_)) {
                tick();
            }
            r
        })
        .collect();
    let mut candidates: Vec<(usize, Vec<u8>)> = results
        .iter_mut()
        .enumerate()
        .filter_map(|(i, r)| match r {
            FileResult::Candidate(bytes) => Some((i, std::mem::take(bytes))),
            _ => None,
        })
        .collect();
    candidates.sort_by_key(|(i, bytes)| (std::cmp::Reverse(bytes.len()), *i));
    let analysed: Vec<(usize, FileResult)> = candidates
        .into_par_iter()
        .with_max_len(1)
        .map(|(i, bytes)| {
            let r = process_candidate(&engine, &list.base, &list.files[i], bytes);
            tick();
            (i, r)
        })
        .collect();
    for (i, r) in analysed {
        results[i] = r;
    }
    let mut outcome = Outcome {
        base: list.base,
        target: config.target,
        files: Vec::new(),
        skipped: list.skipped,
        stats: Stats {
            files_scanned: total,
            ..Stats::default()
        },
    };
    for r in results {
        match r {
            FileResult::Skipped(s) => outcome.skipped.push(s),
            FileResult::NotCandidate => {}
            FileResult::Candidate(_) => unreachable!("every candidate is analysed"),
            FileResult::Parsed(None) => outcome.stats.files_parsed += 1,
            FileResult::Parsed(Some(f)) => {
                outcome.stats.files_parsed += 1;
                let s = &mut outcome.stats;
                s.functions_skipped += f.findings.skipped.len();
                s.functions_analysed += f.findings.functions_analysed;
                s.acquire_sites += f
                    .findings
                    .sites
                    .iter()
                    .filter(|x| x.kind == crate::engine::SiteKind::Acquire)
                    .count();
                s.release_sites += f
                    .findings
                    .sites
                    .iter()
                    .filter(|x| x.kind == crate::engine::SiteKind::Release)
                    .count();
                s.rewrites += f.edits.len();
                s.units += f.findings.units.len();
                s.units_converted += f.findings.units.iter().filter(|u| u.converted).count();
                s.files_changed += usize::from(f.changed());
                outcome.files.push(f);
            }
        }
    }
    outcome.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(outcome)
}

/// Which files are worth parsing: those that hold one of the acquire
/// identifiers anywhere in their bytes. Almost every file of a kernel tree is
/// rejected here, so this scan is on the hot path.
///
/// The packed (Teddy, SIMD) searcher is about ten times faster than the
/// Aho-Corasick automaton on kernel C, whose frequent bytes defeat the
/// automaton's rare-byte prefilter. Both answer the same question, "does any
/// identifier occur?", so the choice changes nothing but speed; the automaton
/// remains for rule packs the packed searcher cannot take (too many or empty
/// identifiers) and for platforms without its SIMD code.
enum Prefilter {
    Packed(packed::Searcher),
    Automaton(AhoCorasick),
}

impl Prefilter {
    fn new(anchors: &[String]) -> Prefilter {
        let simd = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));
        match packed::Searcher::new(anchors.iter()).filter(|_| simd && !anchors.is_empty()) {
            Some(s) => Prefilter::Packed(s),
            None => Prefilter::Automaton(
                AhoCorasick::new(anchors).expect("rule identifiers are plain words"),
            ),
        }
    }

    fn is_match(&self, bytes: &[u8]) -> bool {
        match self {
            Prefilter::Packed(s) => s.find(bytes).is_some(),
            Prefilter::Automaton(ac) => ac.is_match(bytes),
        }
    }
}

enum FileResult {
    Skipped(SkippedFile),
    NotCandidate,
    /// Read, holds an acquire identifier and is text: to be parsed.
    Candidate(Vec<u8>),
    Parsed(Option<FileOutcome>),
}

/// Reads a file and decides whether it needs parsing.
fn scan_file(prefilter: &Prefilter, base: &std::path::Path, rel: &str) -> FileResult {
    let bytes = match source::read(base, rel) {
        Ok(b) => b,
        Err(s) => return FileResult::Skipped(s),
    };
    if !prefilter.is_match(&bytes) {
        return FileResult::NotCandidate;
    }
    if let Some(reason) = source::not_text_reason(&bytes) {
        return FileResult::Skipped(SkippedFile {
            path: rel.to_string(),
            reason: reason.to_string(),
        });
    }
    FileResult::Candidate(bytes)
}

/// Parses, analyses and rewrites a candidate file.
fn process_candidate(
    engine: &Engine,
    base: &std::path::Path,
    rel: &str,
    bytes: Vec<u8>,
) -> FileResult {
    let Some(parsed) = parse(&bytes) else {
        return FileResult::Skipped(SkippedFile {
            path: rel.to_string(),
            reason: "the C parser gave up on this file".into(),
        });
    };
    let mut findings = engine.analyse(rel, &parsed);
    if findings.sites.is_empty() && findings.skipped.is_empty() && findings.functions_analysed == 0
    {
        return FileResult::Parsed(None);
    }
    let (edits, after) = rewrite_file(engine, &parsed, &mut findings);
    let executable = !edits.is_empty() && source::is_executable(base, rel);
    FileResult::Parsed(Some(FileOutcome {
        rel_path: rel.to_string(),
        findings,
        before: bytes,
        after,
        edits,
        executable,
    }))
}

/// Renders the converted units' plans, drops units whose edits conflict or
/// break the parse, and fills in each site's rewrite text.
fn rewrite_file(
    engine: &Engine,
    parsed: &parse::Parsed,
    findings: &mut FileFindings,
) -> (Vec<(usize, Edit)>, Vec<u8>) {
    let src = &parsed.original;
    let mut per_unit: Vec<(usize, Vec<(Plan, crate::rewrite::template::Rendered)>)> = Vec::new();
    for (ui, unit) in findings.units.iter().enumerate() {
        if !unit.converted {
            continue;
        }
        let rendered: Vec<_> = unit
            .plans
            .iter()
            .filter_map(|p| {
                render(p, &engine.pack.rules, engine.target, src).map(|r| (p.clone(), r))
            })
            .collect();
        per_unit.push((ui, rendered));
    }
    // Units whose edits overlap an earlier unit's are dropped whole.
    let mut kept: Vec<(usize, Vec<(Plan, crate::rewrite::template::Rendered)>)> = Vec::new();
    for (ui, rendered) in per_unit {
        let clash = kept.iter().any(|(_, k)| {
            k.iter()
                .any(|(_, a)| rendered.iter().any(|(_, b)| overlaps(&a.edit, &b.edit)))
        });
        if clash {
            drop_unit(findings, ui, "its rewrite overlaps another unit's rewrite");
        } else {
            kept.push((ui, rendered));
        }
    }
    let collect = |kept: &[(usize, Vec<(Plan, crate::rewrite::template::Rendered)>)]| {
        let mut edits: Vec<(usize, Edit)> = kept
            .iter()
            .flat_map(|(ui, r)| r.iter().map(move |(_, x)| (*ui, x.edit.clone())))
            .collect();
        edits.retain(|(_, e)| !(e.start == e.end && e.text.is_empty()));
        edits.sort_by(|a, b| (a.1.start, a.1.end).cmp(&(b.1.start, b.1.end)));
        edits
    };
    let mut edits = collect(&kept);
    let mut after = apply_edits(
        src,
        &edits.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>(),
    );
    if !edits.is_empty() {
        let before_errors = parsed.error_count();
        if !parses_no_worse(before_errors, &after) {
            // Find the units that break the parse on their own.
            let mut good = Vec::new();
            for (ui, rendered) in kept {
                let mut own: Vec<Edit> = rendered.iter().map(|(_, r)| r.edit.clone()).collect();
                own.sort();
                let text = apply_edits(src, &own);
                if error_count(&text).is_some_and(|n| n <= before_errors) {
                    good.push((ui, rendered));
                } else {
                    drop_unit(findings, ui, "the rewrite would introduce a parse error");
                }
            }
            kept = good;
            edits = collect(&kept);
            after = apply_edits(
                src,
                &edits.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>(),
            );
            if !parses_no_worse(before_errors, &after) {
                for (ui, _) in &kept {
                    drop_unit(
                        findings,
                        *ui,
                        "the rewrites together would introduce a parse error",
                    );
                }
                kept.clear();
                edits.clear();
                after = src.clone();
            }
        }
    }
    // Each converted site shows what it became.
    for site in findings.sites.iter_mut() {
        let Some(ui) = site.unit else { continue };
        let Some((_, rendered)) = kept.iter().find(|(k, _)| *k == ui) else {
            continue;
        };
        for (plan, r) in rendered {
            if let Plan::Replace { matched } = plan {
                if matched.start <= site.start && site.end <= matched.end {
                    site.rewrite = Some(r.display.clone());
                }
            }
        }
    }
    (edits, after)
}

fn drop_unit(findings: &mut FileFindings, ui: usize, why: &str) {
    let unit = &mut findings.units[ui];
    unit.converted = false;
    unit.class = Class::Manual;
    unit.reasons.push(why.to_string());
    for site in findings.sites.iter_mut().filter(|s| s.unit == Some(ui)) {
        site.class = Class::Manual;
        site.reason = Some(findings.units[ui].reasons.join("; "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_prefilters_agree() {
        let anchors: Vec<String> = ["get_user_pages", "get_user_pages_fast", "pin_user_pages"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let packed = Prefilter::new(&anchors);
        #[cfg(target_arch = "x86_64")]
        assert!(matches!(packed, Prefilter::Packed(_)));
        let automaton = Prefilter::Automaton(AhoCorasick::new(&anchors).unwrap());
        let long = format!("{}get_user_pages(", " x".repeat(5000));
        let texts: [&[u8]; 8] = [
            b"",
            b"get_user_page",
            b"get_user_pages",
            b"n = pin_user_pages(a, b);",
            b"get_user_pages_fast",
            b"get_user_pagez get_user_page_fast",
            b"\xff\x00pin_user_pages\x00",
            long.as_bytes(),
        ];
        for t in texts {
            assert_eq!(
                packed.is_match(t),
                automaton.is_match(t),
                "{:?}",
                String::from_utf8_lossy(t)
            );
        }
        assert!(!Prefilter::new(&[]).is_match(b"get_user_pages"));
    }
}
