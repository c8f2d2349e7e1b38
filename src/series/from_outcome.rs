//! From a pipeline `Outcome` to the series layer's input: the converted
//! units with their edits, and the sites left for a human.

use super::input::{ManualSite, Unit};
use crate::engine::{SiteKind, Unit as EngineUnit};
use crate::pipeline::Outcome;

/// The converted units of a run, each with its edits and a one-line summary.
pub fn units(outcome: &Outcome) -> Vec<Unit> {
    let mut out = Vec::new();
    for f in &outcome.files {
        for (ui, unit) in f.findings.units.iter().enumerate() {
            if !unit.converted {
                continue;
            }
            let edits: Vec<_> = f
                .edits
                .iter()
                .filter(|(u, _)| *u == ui)
                .map(|(_, e)| (f.rel_path.clone(), e.clone()))
                .collect();
            if edits.is_empty() {
                continue;
            }
            let sites: Vec<_> = f
                .findings
                .sites
                .iter()
                .filter(|s| s.unit == Some(ui))
                .collect();
            let acquires = sites.iter().filter(|s| s.kind == SiteKind::Acquire).count();
            let releases = sites.iter().filter(|s| s.kind == SiteKind::Release).count();
            out.push(Unit {
                class: unit.class,
                rule_ids: unit.rules.clone(),
                edits,
                acquire_sites: acquires,
                release_sites: releases,
                summary: summary(&f.rel_path, unit, releases),
            });
        }
    }
    out
}

fn summary(path: &str, unit: &EngineUnit, releases: usize) -> String {
    format!(
        "{path}:{} {}(): pages `{}`, {releases} release{}",
        unit.line,
        unit.function,
        unit.pages,
        if releases == 1 { "" } else { "s" }
    )
}

/// Units left unconverted (other than those already pinned), and every
/// mismatch, as sites for the cover letters.
pub fn manual_sites(outcome: &Outcome) -> Vec<ManualSite> {
    let mut out = Vec::new();
    for f in &outcome.files {
        for unit in &f.findings.units {
            for m in &unit.mismatches {
                out.push(ManualSite {
                    path: f.rel_path.clone(),
                    line: unit.line,
                    function: unit.function.clone(),
                    reason: format!("mismatch: {m}"),
                });
            }
            if !unit.converted && !unit.pinned {
                out.push(ManualSite {
                    path: f.rel_path.clone(),
                    line: unit.line,
                    function: unit.function.clone(),
                    reason: unit.reasons.join("; "),
                });
            }
        }
        for s in &f.findings.skipped {
            out.push(ManualSite {
                path: f.rel_path.clone(),
                line: s.line,
                function: s.function.clone(),
                reason: format!("not analysed: {}", s.reason),
            });
        }
    }
    out.sort();
    out
}
