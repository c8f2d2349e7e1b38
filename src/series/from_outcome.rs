//! From a pipeline `Outcome` to the series layer's input: the converted
//! units with their edits, and the sites left for a human.

use super::input::{ManualSite, Unit};
use crate::engine::{SiteKind, Unit as EngineUnit};
use crate::pipeline::Outcome;

/// The converted units of a run, each with its edits (in every file it
/// touches) and a one-line summary.
pub fn units(outcome: &Outcome) -> Vec<Unit> {
    let mut out = Vec::new();
    for (ui, unit) in outcome.units.iter().enumerate() {
        if !unit.is_converted() {
            continue;
        }
        let mut edits = Vec::new();
        let mut acquires = 0;
        let mut releases = 0;
        for f in &outcome.files {
            edits.extend(
                f.edits
                    .iter()
                    .filter(|(u, _)| *u == ui)
                    .map(|(_, e)| (f.rel_path.clone(), e.clone())),
            );
            for s in f.findings.sites.iter().filter(|s| s.unit == Some(ui)) {
                match s.kind {
                    SiteKind::Acquire => acquires += 1,
                    SiteKind::Release => releases += 1,
                    SiteKind::Rewrite => {}
                }
            }
        }
        if edits.is_empty() {
            continue;
        }
        out.push(Unit {
            class: unit.class,
            rule_ids: unit.rules.clone(),
            edits,
            acquire_sites: acquires,
            release_sites: releases,
            summary: summary(unit, releases),
        });
    }
    out
}

fn summary(unit: &EngineUnit, releases: usize) -> String {
    format!(
        "{}:{} {}(): pages `{}`, {releases} release{}",
        unit.file,
        unit.line,
        unit.function,
        unit.pages,
        if releases == 1 { "" } else { "s" }
    )
}

/// Units left unconverted (other than those already pinned or kept on
/// purpose), every mismatch, and functions not analysed, as sites for the
/// cover letters.
pub fn manual_sites(outcome: &Outcome) -> Vec<ManualSite> {
    let mut out = Vec::new();
    for unit in &outcome.units {
        for m in &unit.mismatches {
            out.push(ManualSite {
                path: unit.file.clone(),
                line: unit.line,
                function: unit.function.clone(),
                reason: format!("mismatch: {m}"),
            });
        }
        if !unit.is_converted() && !unit.is_pinned() && !unit.is_kept() {
            out.push(ManualSite {
                path: unit.file.clone(),
                line: unit.line,
                function: unit.function.clone(),
                reason: crate::sink::reason::joined(&unit.decision.reasons()),
            });
        }
    }
    for f in &outcome.files {
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
