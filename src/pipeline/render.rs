//! Rendering the last analysis: each converted unit's edits laid out and
//! rendered, units whose edits overlap another's or would make a file parse
//! worse dropped with the reason, each file's diff checked to reproduce
//! its rewritten bytes, and the `Outcome` the sinks read.

use super::{AnalysedFile, FileOutcome, Outcome, Stats};
use crate::engine::{Blocker, Engine, FileFindings, Plan, SiteKind, Unit};
use crate::rewrite::diff::file_diff;
use crate::rewrite::edit::overlaps;
use crate::rewrite::patch::apply_unified;
use crate::rewrite::template::{lay_out, render, FileLayout, Rendered};
use crate::rewrite::verify::rewrite_parses_no_worse;
use crate::rewrite::{apply_edits, Edit};
use crate::source;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Whether the unified diff of a file, applied to its original, gives the
/// rewritten bytes exactly.
fn diff_reproduces(rel: &str, before: &[u8], after: &[u8]) -> Result<(), String> {
    let diff = file_diff(rel, before, after, None);
    match apply_unified(before, &diff) {
        Ok(applied) if applied == after => Ok(()),
        Ok(_) => Err("the diff does not reproduce the rewritten file".into()),
        Err(e) => Err(format!("the diff does not apply: {e}")),
    }
}

/// Renders the converted units, drops the ones whose edits conflict or break
/// a parse (everywhere: a unit is all or nothing), and builds the outcome.
pub(super) fn render_outcome(
    engine: &Engine,
    base: &Path,
    mut analysed: Vec<AnalysedFile>,
    analysis: crate::engine::ProgramAnalysis,
    blocked: BTreeMap<usize, Blocker>,
) -> Outcome {
    let mut units = analysis.units;
    let mut files = analysis.files;
    let rendered = render_units(engine, &units, &analysed);
    let dropped = units_to_drop(&rendered, &analysed, blocked);
    for (ui, why) in &dropped {
        units[*ui].withdraw(why.clone());
    }
    let mut edits_per_file = record_rewrites(&mut files, &units, &rendered, &dropped);
    let mut stats = Stats {
        precision_limits: analysis.precision_limits,
        ..Stats::default()
    };
    let mut out_files = Vec::new();
    for (i, findings) in files.into_iter().enumerate() {
        let edits = edits_per_file.remove(&i).unwrap_or_default();
        if findings.sites.is_empty()
            && findings.skipped.is_empty()
            && findings.functions_analysed == 0
            && edits.is_empty()
        {
            continue;
        }
        let outcome = file_outcome(base, &mut analysed[i], findings, edits, &mut stats);
        stats.files_changed += usize::from(outcome.changed());
        out_files.push(outcome);
    }
    count_units(&units, &mut stats);
    Outcome {
        base: base.to_path_buf(),
        target: engine.target,
        files: out_files,
        units,
        skipped: Vec::new(),
        stale_temporaries: Vec::new(),
        stats,
    }
}

/// The rendered plans of each converted unit: (file, plan, rendering).
type RenderedUnits = BTreeMap<usize, Vec<(usize, Plan, Rendered)>>;

/// Renders the plans of every converted unit against its files' bytes.
fn render_units(engine: &Engine, units: &[Unit], analysed: &[AnalysedFile]) -> RenderedUnits {
    let mut rendered = RenderedUnits::new();
    let mut layouts: BTreeMap<usize, FileLayout> = BTreeMap::new();
    for (ui, unit) in units.iter().enumerate() {
        if !unit.is_converted() {
            continue;
        }
        let mut r: Vec<(usize, Plan, Rendered)> = unit
            .plans
            .iter()
            .filter_map(|(file, plan)| {
                let src = &analysed[*file].original;
                let x = render(plan, &engine.pack.rules, engine.target, src)?;
                Some((*file, plan.clone(), x))
            })
            .collect();
        // Each file's edits of the unit laid out together.
        let files: BTreeSet<usize> = r.iter().map(|(file, _, _)| *file).collect();
        for file in files {
            let src = &analysed[file].original;
            let layout = *layouts.entry(file).or_insert_with(|| FileLayout::of(src));
            let mut edits: Vec<Edit> = r
                .iter()
                .filter(|(f, _, _)| *f == file)
                .map(|(_, _, x)| x.edit.clone())
                .collect();
            lay_out(src, layout, &mut edits);
            let mut laid = edits.into_iter();
            for (_, _, x) in r.iter_mut().filter(|(f, _, _)| *f == file) {
                let edit = laid.next().expect("one laid-out edit per rendered plan");
                x.folded = !x.edit.is_empty() && edit.is_empty();
                x.edit = edit;
            }
        }
        rendered.insert(ui, r);
    }
    rendered
}

/// The units to withdraw, with why: those `blocked` already, then, until
/// none is added, those whose edits overlap another unit's, and those
/// whose edits leave a file parsing worse or whose diff does not give the
/// rewritten bytes back.
fn units_to_drop(
    rendered: &RenderedUnits,
    analysed: &[AnalysedFile],
    blocked: BTreeMap<usize, Blocker>,
) -> BTreeMap<usize, Blocker> {
    let mut dropped = blocked;
    loop {
        let mut per_file: BTreeMap<usize, Vec<(usize, Edit)>> = BTreeMap::new();
        for (ui, r) in rendered {
            if dropped.contains_key(ui) {
                continue;
            }
            for (file, _, x) in r.iter().filter(|(_, _, x)| !x.edit.is_empty()) {
                per_file
                    .entry(*file)
                    .or_default()
                    .push((*ui, x.edit.clone()));
            }
        }
        let mut newly = overlapping_units(&mut per_file);
        if newly.is_empty() {
            // The files are checked on every core (each check parses its
            // file's rewritten text), their answers taken in file order.
            let per_file: Vec<(&usize, &Vec<(usize, Edit)>)> = per_file.iter().collect();
            let answers: Vec<BTreeMap<usize, Blocker>> = per_file
                .par_iter()
                .with_max_len(1)
                .map(|(file, edits)| units_parsing_worse(&analysed[**file], edits))
                .collect();
            for answer in answers {
                newly.extend(answer);
            }
        }
        if newly.is_empty() {
            return dropped;
        }
        dropped.extend(newly);
    }
}

/// The units whose edits overlap another unit's, per file: one sweep over
/// the edits sorted by position (a generated file may hold tens of
/// thousands).
fn overlapping_units(
    per_file: &mut BTreeMap<usize, Vec<(usize, Edit)>>,
) -> BTreeMap<usize, Blocker> {
    let mut newly = BTreeMap::new();
    for edits in per_file.values_mut() {
        edits.sort_by_key(|(ui, e)| (e.start, e.end, *ui));
        // The earlier edit reaching furthest, and its unit.
        let mut reach: Option<(usize, Edit)> = None;
        for (ui, e) in edits.iter() {
            if let Some((other, far)) = &reach {
                if other != ui && overlaps(far, e) {
                    newly.insert(*ui, Blocker::RewriteOverlap);
                }
            }
            if reach.as_ref().is_none_or(|(_, far)| e.end > far.end) {
                reach = Some((*ui, e.clone()));
            }
        }
    }
    newly
}

/// The units whose edits of `src` must be dropped: the file must parse no
/// worse with all its edits, and the diff the sinks print must give the
/// rewritten bytes back. When the edits together parse worse, the units
/// whose own edits do are dropped; when none does alone, all are.
fn units_parsing_worse(src: &AnalysedFile, edits: &[(usize, Edit)]) -> BTreeMap<usize, Blocker> {
    let mut newly = BTreeMap::new();
    let mut all: Vec<Edit> = edits.iter().map(|(_, e)| e.clone()).collect();
    all.sort();
    let after = apply_edits(&src.original, &all);
    if rewrite_parses_no_worse(&src.original, &after, &all) {
        // Self-check: the diff the sinks print, applied to the original,
        // gives the rewritten bytes exactly.
        if let Err(why) = diff_reproduces(&src.rel, &src.original, &after) {
            for (ui, _) in edits {
                newly.insert(
                    *ui,
                    Blocker::SelfCheckFailed {
                        path: src.rel.clone(),
                        why: why.to_string(),
                    },
                );
            }
        }
        return newly;
    }
    let involved: BTreeSet<usize> = edits.iter().map(|(u, _)| *u).collect();
    for ui in involved {
        let mut own: Vec<Edit> = edits
            .iter()
            .filter(|(u, _)| *u == ui)
            .map(|(_, e)| e.clone())
            .collect();
        own.sort();
        let own_after = apply_edits(&src.original, &own);
        if !rewrite_parses_no_worse(&src.original, &own_after, &own) {
            newly.insert(
                ui,
                Blocker::RewriteParseError {
                    path: src.rel.clone(),
                },
            );
        }
    }
    if newly.is_empty() {
        for (ui, _) in edits {
            newly.insert(
                *ui,
                Blocker::RewritesParseError {
                    path: src.rel.clone(),
                },
            );
        }
    }
    newly
}

/// Records on each site what it became (the rewrite of a unit kept, or the
/// reasons of a unit not converted) and returns the kept units' edits per
/// file, sorted by position.
fn record_rewrites(
    files: &mut [FileFindings],
    units: &[Unit],
    rendered: &RenderedUnits,
    dropped: &BTreeMap<usize, Blocker>,
) -> BTreeMap<usize, Vec<(usize, Edit)>> {
    let mut sites_of: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
    for (fi, f) in files.iter().enumerate() {
        for (si, s) in f.sites.iter().enumerate() {
            if let Some(ui) = s.unit {
                sites_of.entry((fi, ui)).or_default().push(si);
            }
        }
    }
    let mut edits_per_file: BTreeMap<usize, Vec<(usize, Edit)>> = BTreeMap::new();
    for (ui, r) in rendered {
        if dropped.contains_key(ui) {
            continue;
        }
        for (file, plan, x) in r {
            // A folded edit is kept (empty) so that each change counts once.
            if !x.edit.is_empty() || x.folded {
                edits_per_file
                    .entry(*file)
                    .or_default()
                    .push((*ui, x.edit.clone()));
            }
            if let Plan::Replace { matched } = plan {
                for &si in sites_of
                    .get(&(*file, *ui))
                    .map(Vec::as_slice)
                    .unwrap_or(&[])
                {
                    let site = &mut files[*file].sites[si];
                    if matched.start <= site.start && site.end <= matched.end {
                        site.rewrite = Some(x.display.clone());
                    }
                }
            }
        }
    }
    for f in files.iter_mut() {
        for site in f.sites.iter_mut() {
            if let Some(ui) = site.unit {
                let unit = &units[ui];
                site.class = unit.class;
                if !unit.is_converted() {
                    site.rewrite = None;
                    if site.reason.is_none() || dropped.contains_key(&ui) {
                        site.reason = Some(unit.decision.reasons());
                    }
                }
            }
        }
    }
    for edits in edits_per_file.values_mut() {
        edits.sort_by_key(|(_, e)| (e.start, e.end));
    }
    edits_per_file
}

/// One file's outcome: its bytes before and after its edits, its findings,
/// counted into `stats`.
fn file_outcome(
    base: &Path,
    file: &mut AnalysedFile,
    findings: FileFindings,
    edits: Vec<(usize, Edit)>,
    stats: &mut Stats,
) -> FileOutcome {
    let after = apply_edits(
        &file.original,
        &edits.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>(),
    );
    stats.functions_skipped += findings.skipped.len();
    stats.functions_analysed += findings.functions_analysed;
    stats.acquire_sites += findings
        .sites
        .iter()
        .filter(|s| s.kind == SiteKind::Acquire)
        .count();
    stats.release_sites += findings
        .sites
        .iter()
        .filter(|s| s.kind == SiteKind::Release)
        .count();
    stats.rewrites += edits.len();
    let executable = !edits.is_empty() && source::is_executable(base, &file.rel);
    FileOutcome {
        rel_path: std::mem::take(&mut file.rel),
        findings,
        before: file.original.to_vec(),
        after,
        edits,
        executable,
    }
}

/// The units' counts in `stats`: all, converted, kept, mismatches, and
/// the classes of those not already pinned.
fn count_units(units: &[Unit], stats: &mut Stats) {
    stats.units = units.len();
    stats.units_converted = units.iter().filter(|u| u.is_converted()).count();
    stats.units_kept = units.iter().filter(|u| u.is_kept()).count();
    stats.mismatches = units.iter().map(|u| u.mismatches.len()).sum();
    for u in units {
        if !u.is_pinned() {
            *stats.classes.entry(u.class.name().to_string()).or_default() += 1;
        }
    }
}
