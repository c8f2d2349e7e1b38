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
use crate::rewrite::patch::apply_unified;
use crate::rewrite::template::render;
use crate::rewrite::verify::{error_count, parses_no_worse};
use crate::rewrite::{apply_edits, Edit};
use crate::rule::{RulePack, Target};
use crate::source::{self, SkippedFile, SourceError};
use aho_corasick::AhoCorasick;
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
    let prefilter = AhoCorasick::new(&anchors).expect("rule identifiers are plain words");
    let total = list.files.len();
    let done = AtomicUsize::new(0);
    let results: Vec<FileResult> = list
        .files
        .par_iter()
        .map(|rel| {
            let r = process_file(&engine, &prefilter, &list.base, rel);
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            if n % 256 == 0 || n == total {
                progress(n, total);
            }
            r
        })
        .collect();
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

enum FileResult {
    Skipped(SkippedFile),
    NotCandidate,
    Parsed(Option<FileOutcome>),
}

fn process_file(
    engine: &Engine,
    prefilter: &AhoCorasick,
    base: &std::path::Path,
    rel: &str,
) -> FileResult {
    let bytes = match source::read(base, rel) {
        Ok(b) => b,
        Err(s) => return FileResult::Skipped(s),
    };
    if !prefilter.is_match(&bytes) {
        return FileResult::NotCandidate;
    }
    match process_bytes(engine, rel, bytes) {
        Ok(Some(mut f)) => {
            f.executable = !f.edits.is_empty() && source::is_executable(base, rel);
            FileResult::Parsed(Some(f))
        }
        Ok(None) => FileResult::Parsed(None),
        Err(s) => FileResult::Skipped(s),
    }
}

/// Runs one file's bytes through parse, analysis, rewrite and the
/// self-checks; `rel` names it in findings. `Ok(None)` when the file holds
/// nothing the rules look at; `Err` when it is not C text at all. This is
/// the whole per-file pipeline without the file system (the fuzz targets
/// call it).
pub fn process_bytes(
    engine: &Engine,
    rel: &str,
    bytes: Vec<u8>,
) -> Result<Option<FileOutcome>, SkippedFile> {
    if let Some(reason) = source::not_text_reason(&bytes) {
        return Err(SkippedFile {
            path: rel.to_string(),
            reason: reason.to_string(),
        });
    }
    let Some(parsed) = parse(&bytes) else {
        return Err(SkippedFile {
            path: rel.to_string(),
            reason: "the C parser gave up on this file".into(),
        });
    };
    let mut findings = engine.analyse(rel, &parsed);
    if findings.sites.is_empty() && findings.skipped.is_empty() && findings.functions_analysed == 0
    {
        return Ok(None);
    }
    let (mut edits, mut after) = rewrite_file(engine, &parsed, &mut findings);
    if !edits.is_empty() {
        if let Err(why) = self_check(engine, rel, &bytes, &after) {
            for ui in 0..findings.units.len() {
                if findings.units[ui].converted {
                    drop_unit(&mut findings, ui, &format!("self-check failed: {why}"));
                }
            }
            for site in findings.sites.iter_mut() {
                site.rewrite = None;
            }
            edits.clear();
            after = bytes.clone();
        }
    }
    Ok(Some(FileOutcome {
        rel_path: rel.to_string(),
        findings,
        before: bytes,
        after,
        edits,
        executable: false,
    }))
}

/// The checks every rewritten file passes before anyone sees it, besides
/// the re-parse in `rewrite_file`: the diff the sinks print, applied to the
/// original, gives the rewritten bytes exactly; and a second run over the
/// rewritten bytes changes nothing. Both cost one diff and one parse of a
/// changed file, and few files change.
fn self_check(engine: &Engine, rel: &str, before: &[u8], after: &[u8]) -> Result<(), String> {
    let diff = file_diff(rel, before, after, None);
    match apply_unified(before, &diff) {
        Ok(applied) if applied == after => {}
        Ok(_) => return Err("the diff does not reproduce the rewritten file".into()),
        Err(e) => return Err(format!("the diff does not apply: {e}")),
    }
    let parsed = parse(after).ok_or("the rewritten file does not parse")?;
    let mut again = engine.analyse(rel, &parsed);
    let (edits, _) = rewrite_file(engine, &parsed, &mut again);
    if !edits.is_empty() {
        return Err("a second run would change the file again".into());
    }
    Ok(())
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
    // Units whose edits overlap an earlier unit's are dropped whole. The kept
    // edits are indexed by start so that a file with many units (a 10 MB
    // generated file has tens of thousands) is not checked pair by pair.
    let mut kept: Vec<(usize, Vec<(Plan, crate::rewrite::template::Rendered)>)> = Vec::new();
    let mut index = EditIndex::default();
    for (ui, rendered) in per_unit {
        let clash = rendered.iter().any(|(_, b)| index.overlaps(&b.edit));
        if clash {
            drop_unit(findings, ui, "its rewrite overlaps another unit's rewrite");
        } else {
            for (_, r) in &rendered {
                index.insert(&r.edit);
            }
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
    let kept_at: std::collections::HashMap<usize, usize> = kept
        .iter()
        .enumerate()
        .map(|(i, (ui, _))| (*ui, i))
        .collect();
    for site in findings.sites.iter_mut() {
        let Some(ui) = site.unit else { continue };
        let Some((_, rendered)) = kept_at.get(&ui).map(|&i| &kept[i]) else {
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

/// Kept edits by start offset, for overlap queries in logarithmic time.
#[derive(Default)]
struct EditIndex {
    /// (start, end) -> how many kept edits have that range.
    by_start: std::collections::BTreeMap<(usize, usize), usize>,
    /// The longest kept edit, which bounds how far back a query looks.
    longest: usize,
}

impl EditIndex {
    fn insert(&mut self, e: &Edit) {
        *self.by_start.entry((e.start, e.end)).or_default() += 1;
        self.longest = self.longest.max(e.end - e.start);
    }

    /// Whether `e` overlaps a kept edit, in the sense of `edit::overlaps`.
    fn overlaps(&self, e: &Edit) -> bool {
        // An overlapping edit starts at most at `e.end` and, being at most
        // `longest` long, no earlier than `e.start - longest`.
        let from = (e.start.saturating_sub(self.longest), 0);
        let to = (e.end, usize::MAX);
        self.by_start.range(from..=to).any(|(&(start, end), _)| {
            overlaps(
                &Edit {
                    start,
                    end,
                    text: Vec::new(),
                },
                e,
            )
        })
    }
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
