//! The dry-run sinks: the unified diff and the site report, on a writer.

use crate::engine::{SiteKind, Unit};
use crate::pipeline::Outcome;
use serde::Serialize;
use std::io::{self, Write};

/// Writes the diff of every changed file, in path order.
pub fn write_diff(out: &mut dyn Write, outcome: &Outcome) -> io::Result<()> {
    for f in &outcome.files {
        out.write_all(&f.diff())?;
    }
    Ok(())
}

/// The summary line of a run.
pub fn summary_line(outcome: &Outcome) -> String {
    let s = &outcome.stats;
    format!(
        "summary: {} files scanned, {} parsed, {} functions with GUP calls analysed, {} skipped for parse errors, {} acquire sites, {} release sites, {} rewrites in {} files ({} of {} units converted, target {}){}",
        s.files_scanned,
        s.files_parsed,
        s.functions_analysed,
        s.functions_skipped,
        s.acquire_sites,
        s.release_sites,
        s.rewrites,
        s.files_changed,
        s.units_converted,
        s.units,
        outcome.target.name(),
        if outcome.skipped.is_empty() { String::new() } else { format!(", {} files skipped", outcome.skipped.len()) }
    )
}

/// Writes the human-readable report: one line per site, skipped function,
/// mismatch and skipped file, then the summary.
pub fn write_report_text(out: &mut dyn Write, outcome: &Outcome) -> io::Result<()> {
    for f in &outcome.files {
        let mut lines: Vec<(usize, u8, String)> = Vec::new();
        for s in &f.findings.sites {
            let kind = match s.kind {
                SiteKind::Acquire => "acquire",
                SiteKind::Release => "release",
            };
            let what = match (&s.rewrite, &s.reason) {
                (Some(r), _) => format!("-> {r}"),
                (None, Some(why)) => format!("not converted: {why}"),
                (None, None) => "not converted".to_string(),
            };
            lines.push((
                s.line,
                1,
                format!(
                    "{}:{}: {kind} {} in {}() [{}] {what}",
                    f.rel_path,
                    s.line,
                    s.call,
                    s.function,
                    s.class.name()
                ),
            ));
        }
        for k in &f.findings.skipped {
            lines.push((
                k.line,
                0,
                format!(
                    "{}:{}: skipped {}(): {}",
                    f.rel_path, k.line, k.function, k.reason
                ),
            ));
        }
        for u in outcome.units.iter().filter(|u| u.file == f.rel_path) {
            for m in &u.mismatches {
                lines.push((
                    u.line,
                    2,
                    format!(
                        "{}:{}: mismatch in {}(): {m}",
                        f.rel_path, u.line, u.function
                    ),
                ));
            }
        }
        lines.sort();
        for (_, _, l) in lines {
            writeln!(out, "{l}")?;
        }
    }
    for s in &outcome.skipped {
        writeln!(out, "{}: skipped file: {}", s.path, s.reason)?;
    }
    writeln!(out, "{}", summary_line(outcome))
}

#[derive(Serialize)]
struct JsonReport<'a> {
    target: &'static str,
    files: Vec<JsonFile<'a>>,
    units: &'a [Unit],
    skipped_files: &'a [crate::source::SkippedFile],
    summary: &'a crate::pipeline::Stats,
}

#[derive(Serialize)]
struct JsonFile<'a> {
    path: &'a str,
    changed: bool,
    sites: &'a [crate::engine::Site],
    skipped_functions: &'a [crate::engine::SkippedFunction],
}

/// Writes the report as JSON (stable field order, files in path order).
pub fn write_report_json(out: &mut dyn Write, outcome: &Outcome) -> io::Result<()> {
    let report = JsonReport {
        target: outcome.target.name(),
        files: outcome
            .files
            .iter()
            .map(|f| JsonFile {
                path: &f.rel_path,
                changed: f.changed(),
                sites: &f.findings.sites,
                skipped_functions: &f.findings.skipped,
            })
            .collect(),
        units: &outcome.units,
        skipped_files: &outcome.skipped,
        summary: &outcome.stats,
    };
    serde_json::to_writer_pretty(&mut *out, &report).map_err(io::Error::other)?;
    writeln!(out)
}
