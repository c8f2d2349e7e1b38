//! The dry-run sinks: the unified diff and the site report, on a writer.

use super::reason::{joined, lines};
use crate::engine::{Class, Site, SiteKind, Unit};
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
                SiteKind::Rewrite => "rewrite",
            };
            let mut what = match (&s.rewrite, &s.reason) {
                (Some(r), _) => format!("-> {r}"),
                (None, Some(why)) => format!("not converted: {}", joined(why)),
                (None, None) => "not converted".to_string(),
            };
            // An acquire names the releases of its flow, wherever they are.
            if let (SiteKind::Acquire, Some(ui)) = (s.kind, s.unit) {
                let releases = &outcome.units[ui].releases;
                if !releases.is_empty() {
                    what.push_str(&format!(" (releases: {})", releases.join(", ")));
                }
            }
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
    units: Vec<JsonUnit<'a>>,
    skipped_files: &'a [crate::source::SkippedFile],
    summary: &'a crate::pipeline::Stats,
}

#[derive(Serialize)]
struct JsonFile<'a> {
    path: &'a str,
    changed: bool,
    sites: Vec<JsonSite<'a>>,
    skipped_functions: &'a [crate::engine::SkippedFunction],
}

#[derive(Serialize)]
struct JsonSite<'a> {
    kind: SiteKind,
    line: usize,
    function: &'a str,
    call: &'a str,
    rule: &'a str,
    unit: Option<usize>,
    rewrite: Option<&'a str>,
    reason: Option<String>,
    class: Class,
}

impl<'a> JsonSite<'a> {
    fn of(s: &'a Site) -> JsonSite<'a> {
        JsonSite {
            kind: s.kind,
            line: s.line,
            function: &s.function,
            call: &s.call,
            rule: &s.rule,
            unit: s.unit,
            rewrite: s.rewrite.as_deref(),
            reason: s.reason.as_deref().map(joined),
            class: s.class,
        }
    }
}

#[derive(Serialize)]
struct JsonUnit<'a> {
    file: &'a str,
    function: &'a str,
    line: usize,
    pages: &'a str,
    converted: bool,
    pinned: bool,
    kept: bool,
    class: Class,
    reasons: Vec<String>,
    rules: &'a [String],
    mismatches: &'a [String],
    evidence: &'a [String],
    releases: &'a [String],
}

impl<'a> JsonUnit<'a> {
    fn of(u: &'a Unit) -> JsonUnit<'a> {
        JsonUnit {
            file: &u.file,
            function: &u.function,
            line: u.line,
            pages: &u.pages,
            converted: u.is_converted(),
            pinned: u.is_pinned(),
            kept: u.is_kept(),
            class: u.class,
            reasons: lines(&u.decision),
            rules: &u.rules,
            mismatches: &u.mismatches,
            evidence: &u.evidence,
            releases: &u.releases,
        }
    }
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
                sites: f.findings.sites.iter().map(JsonSite::of).collect(),
                skipped_functions: &f.findings.skipped,
            })
            .collect(),
        units: outcome.units.iter().map(JsonUnit::of).collect(),
        skipped_files: &outcome.skipped,
        summary: &outcome.stats,
    };
    serde_json::to_writer_pretty(&mut *out, &report).map_err(io::Error::other)?;
    writeln!(out)
}

/// One `check` finding: the line printed, and the key a baseline records
/// (file, function, kind and call, without the line number, so that
/// unrelated edits above it do not make it new).
pub struct Finding {
    pub key: String,
    pub line: String,
}

/// Unconverted GUP releases (pages from `get_user_pages*()` still released
/// with `put_page()` and friends, except units kept on purpose) and
/// mismatches, sorted.
pub fn check_findings(outcome: &Outcome) -> Vec<Finding> {
    let mut out = Vec::new();
    for f in &outcome.files {
        for s in &f.findings.sites {
            let Some(ui) = s.unit else { continue };
            let unit = &outcome.units[ui];
            if s.kind != SiteKind::Release
                || unit.is_pinned()
                || unit.is_kept()
                || s.call.starts_with("unpin_user_page")
            {
                continue;
            }
            let why = match (&s.rewrite, &s.reason) {
                (Some(r), _) => format!("pinpatch converts it to {r}"),
                (None, Some(r)) => joined(r),
                (None, None) => String::new(),
            };
            out.push(Finding {
                key: format!("unconverted\t{}\t{}\t{}", f.rel_path, s.function, s.call),
                line: format!(
                    "{}:{}: unconverted GUP release {} in {}() [{}]: {why}",
                    f.rel_path,
                    s.line,
                    s.call,
                    s.function,
                    s.class.name()
                ),
            });
        }
    }
    for u in &outcome.units {
        for m in &u.mismatches {
            out.push(Finding {
                key: format!("mismatch\t{}\t{}\t{m}", u.file, u.function),
                line: format!("{}:{}: mismatch in {}(): {m}", u.file, u.line, u.function),
            });
        }
    }
    out.sort_by(|a, b| a.line.cmp(&b.line));
    out
}

/// The explanation of the site(s) at `file:line`: the call, its unit (every
/// acquire and release of the flow), its class, the evidence and the reasons.
pub fn explain(outcome: &Outcome, file: &str, line: usize) -> Option<String> {
    let f = outcome
        .files
        .iter()
        .find(|f| f.rel_path == file || file.ends_with(&format!("/{}", f.rel_path)))?;
    let sites: Vec<_> = f.findings.sites.iter().filter(|s| s.line == line).collect();
    let skipped: Vec<_> = f
        .findings
        .skipped
        .iter()
        .filter(|s| s.line == line)
        .collect();
    if sites.is_empty() && skipped.is_empty() {
        return None;
    }
    let mut out = String::new();
    for k in skipped {
        out.push_str(&format!(
            "{}:{}: {}() is not analysed: {}\n",
            f.rel_path, k.line, k.function, k.reason
        ));
    }
    for s in sites {
        let kind = match s.kind {
            SiteKind::Acquire => "acquire",
            SiteKind::Release => "release",
            SiteKind::Rewrite => "rewrite",
        };
        out.push_str(&format!(
            "{}:{}: {kind} {} in {}() (rule {})\n",
            f.rel_path, s.line, s.call, s.function, s.rule
        ));
        let Some(ui) = s.unit else {
            out.push_str(&format!(
                "  not part of a flow: {}\n",
                s.reason.as_deref().map(joined).unwrap_or_default()
            ));
            continue;
        };
        let u = &outcome.units[ui];
        out.push_str(&format!(
            "  flow: pages `{}` acquired in {}() at {}:{}\n",
            u.pages, u.function, u.file, u.line
        ));
        let mut members: Vec<String> = Vec::new();
        for g in &outcome.files {
            for x in g.findings.sites.iter().filter(|x| x.unit == Some(ui)) {
                let k = match x.kind {
                    SiteKind::Acquire => "acquire",
                    SiteKind::Release => "release",
                    SiteKind::Rewrite => "rewrite",
                };
                members.push(format!(
                    "    {k} {}:{} {}() {}",
                    g.rel_path, x.line, x.function, x.call
                ));
            }
        }
        out.push_str("  sites of the flow:\n");
        for m in members {
            out.push_str(&m);
            out.push('\n');
        }
        out.push_str(&format!("  class: {}\n", u.class.name()));
        if !u.evidence.is_empty() {
            out.push_str(&format!(
                "  evidence for a pin: {}\n",
                u.evidence.join(", ")
            ));
        }
        for m in &u.mismatches {
            out.push_str(&format!("  mismatch: {m}\n"));
        }
        match (&s.rewrite, u.is_converted()) {
            (Some(r), _) => out.push_str(&format!("  converted: becomes {r}\n")),
            (None, true) => out.push_str("  converted (this call itself is unchanged)\n"),
            (None, false) => {
                out.push_str("  not converted:\n");
                for r in lines(&u.decision) {
                    out.push_str(&format!("    - {r}\n"));
                }
            }
        }
    }
    Some(out)
}
