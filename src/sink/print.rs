//! The dry-run sinks: the unified diff and the site report, on a writer.

use super::reason::{joined, lines};
use crate::engine::reason::Blocker;
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
    ) + &s
        .precision_limits
        .iter()
        .map(|l| format!("; {l}"))
        .collect::<String>()
}

/// The width the text report wraps at; continuation lines are indented.
pub const REPORT_WIDTH: usize = 100;

/// How many names a grouped reason lists before counting the rest.
const GROUP_NAMED: usize = 3;

/// Groups reasons that differ only in the function they name and the
/// places in parentheses: `the pages are passed to a() (x.c:1)` and `the
/// pages are passed to b() (y.c:2)` become `the pages are passed to 2
/// functions: a(), b()`. Other reasons are kept as they are, in order.
pub fn group_reasons(reasons: &[String]) -> Vec<String> {
    // (head, tail without places) -> distinct names, in first-seen order.
    let mut groups: Vec<((String, String), Vec<String>, String)> = Vec::new();
    for r in reasons {
        let split = r
            .find("() ")
            .or_else(|| r.strip_suffix("()").map(|x| x.len()))
            .and_then(|end| {
                let start = r[..end]
                    .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map(|i| i + 1)
                    .unwrap_or(0);
                (start < end).then_some((start, end))
            });
        let Some((start, end)) = split else {
            groups.push(((r.clone(), String::new()), Vec::new(), r.clone()));
            continue;
        };
        let head = r[..start].trim_end().to_string();
        let mut tail = String::new();
        let mut depth = 0usize;
        for c in r[end + 2..].chars() {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                _ if depth == 0 => tail.push(c),
                _ => {}
            }
        }
        let tail = tail.trim().to_string();
        let name = format!("{}()", &r[start..end]);
        let key = (head, tail);
        match groups
            .iter_mut()
            .find(|(k, names, _)| *k == key && !names.is_empty())
        {
            Some((_, names, _)) => {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            None => groups.push((key, vec![name], r.clone())),
        }
    }
    groups
        .into_iter()
        .map(|((head, tail), names, original)| {
            if names.len() < 2 {
                return original;
            }
            let shown: Vec<&str> = names.iter().take(GROUP_NAMED).map(String::as_str).collect();
            let more = names.len().saturating_sub(GROUP_NAMED);
            let tail = if tail.is_empty() || tail.starts_with(',') {
                tail
            } else {
                format!(" {tail}")
            };
            // A reason naming a macro (`inside the macro A()`) counts macros.
            let (head, noun) = match head.strip_suffix(" the macro") {
                Some(head) => (head.to_string(), "macros"),
                None => (head, "functions"),
            };
            format!(
                "{head} {} {noun}{tail}: {}{}",
                names.len(),
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            )
        })
        .collect()
}

/// Per area (the subject prefix of the file holding the acquire): units,
/// converted, pinned already, kept on purpose, left for a human, mismatches;
/// written when the report covers two areas or more.
fn write_area_table(out: &mut dyn Write, outcome: &Outcome) -> io::Result<()> {
    let mut rows: std::collections::BTreeMap<String, [usize; 6]> = Default::default();
    for u in &outcome.units {
        let row = rows
            .entry(crate::series::message::table_prefix(&u.file))
            .or_default();
        row[0] += 1;
        if u.is_converted() {
            row[1] += 1;
        } else if u.is_pinned() {
            row[2] += 1;
        } else if u.is_kept() {
            row[3] += 1;
        } else {
            row[4] += 1;
        }
        row[5] += u.mismatches.len();
    }
    // One area is the whole report: its summary line says the same.
    if rows.len() < 2 {
        return Ok(());
    }
    let width = rows.keys().map(|k| k.len()).max().unwrap_or(4).max(4);
    writeln!(
        out,
        "{:<width$}  units  converted  pinned  kept  manual  mismatches",
        "area"
    )?;
    for (area, r) in &rows {
        writeln!(
            out,
            "{area:<width$}  {:>5}  {:>9}  {:>6}  {:>4}  {:>6}  {:>10}",
            r[0], r[1], r[2], r[3], r[4], r[5]
        )?;
    }
    writeln!(out)
}

/// Writes the human-readable report: a table per area, then one entry per
/// site, skipped function, mismatch and skipped file, wrapped at 100
/// columns, then the summary. `--format json` keeps every detail.
pub fn write_report_text(out: &mut dyn Write, outcome: &Outcome) -> io::Result<()> {
    write_area_table(out, outcome)?;
    let wrap = |line: &str| crate::series::message::wrap(line, REPORT_WIDTH, "", "    ");
    for f in &outcome.files {
        let mut lines: Vec<(usize, u8, String)> = Vec::new();
        for s in &f.findings.sites {
            let kind = match s.kind {
                SiteKind::Acquire => "acquire",
                SiteKind::Release => "release",
                SiteKind::Rewrite => "rewrite",
            };
            let put_of_pinned = s.kind == SiteKind::Release
                && s.unit.is_some_and(|ui| {
                    let u = &outcome.units[ui];
                    u.is_pinned()
                        && u.mismatches
                            .iter()
                            .any(|m| m.ends_with(&format!(" at {}:{}", f.rel_path, s.line)))
                });
            let mut what = match (&s.rewrite, &s.reason) {
                _ if put_of_pinned => format!(
                    "must become unpin_user_page*(): the pages are pinned (fixed by series {})",
                    crate::series::group::fix_series_name(&f.rel_path)
                ),
                (Some(r), _) => format!("-> {r}"),
                (None, Some(why)) => {
                    // A release that shares its flow's reasons points at the
                    // acquire, where they are written once.
                    let flow = s.unit.map(|ui| &outcome.units[ui]).filter(|u| {
                        s.kind == SiteKind::Release
                            && !u.decision.reasons().is_empty()
                            && u.decision.reasons() == *why
                    });
                    match flow {
                        Some(u) => format!(
                            "not converted, as its flow (acquire at {}:{})",
                            u.file, u.line
                        ),
                        None => {
                            let reasons: Vec<String> = why.iter().map(|b| b.to_string()).collect();
                            format!("not converted: {}", group_reasons(&reasons).join("; "))
                        }
                    }
                }
                (None, None) => "not converted".to_string(),
            };
            // An acquire names the releases of its flow, wherever they are,
            // and for a conversion the case of pin_user_pages.rst that
            // justifies the pin.
            if let (SiteKind::Acquire, Some(ui)) = (s.kind, s.unit) {
                let unit = &outcome.units[ui];
                if !unit.releases.is_empty() {
                    what.push_str(&format!(" (releases: {})", unit.releases.join(", ")));
                }
                if let (Some(case), true) = (&unit.case, s.rewrite.is_some()) {
                    what.push_str(&format!(" ({case})"));
                }
            }
            let label = site_label(s, s.unit.map(|ui| &outcome.units[ui]));
            lines.push((
                s.line,
                1,
                format!(
                    "{}:{}: {kind} {} in {}() [{label}] {what}",
                    f.rel_path, s.line, s.call, s.function,
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
            out.write_all(wrap(&l).as_bytes())?;
        }
    }
    for s in &outcome.skipped {
        out.write_all(wrap(&format!("{}: skipped file: {}", s.path, s.reason)).as_bytes())?;
    }
    out.write_all(wrap(&summary_line(outcome)).as_bytes())
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
    evidence: Vec<String>,
    /// Where each piece of evidence was first seen: path, line, function.
    evidence_at: std::collections::BTreeMap<String, &'a crate::engine::reason::Place>,
    releases: &'a [String],
    /// The case of `pin_user_pages.rst`, with the evidence that shows it.
    case: Option<String>,
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
            evidence: u.evidence.iter().map(ToString::to_string).collect(),
            evidence_at: (u.evidence_at.iter())
                .map(|(e, at)| (e.to_string(), at))
                .collect(),
            releases: &u.releases,
            case: u.case.as_ref().map(ToString::to_string),
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
            // A mismatch gets a fix series of its own from `pinpatch
            // series`, named after the file it edits.
            // The fix of referenced pages that are unpinned is in the
            // acquire's file.
            let fixed_in = if u.is_pinned() {
                m.rsplit_once(" at ")
                    .and_then(|(_, at)| at.rsplit_once(':'))
                    .map(|(path, _)| path)
            } else {
                Some(u.file.as_str())
            };
            let series = fixed_in
                .map(|path| {
                    format!(
                        " (fixed by series {})",
                        crate::series::group::fix_series_name(path)
                    )
                })
                .unwrap_or_default();
            out.push(Finding {
                key: format!("mismatch\t{}\t{}\t{m}", u.file, u.function),
                line: format!(
                    "{}:{}: mismatch in {}(): {m}{series}",
                    u.file, u.line, u.function
                ),
            });
        }
    }
    out.sort_by(|a, b| a.line.cmp(&b.line));
    out
}

/// The file of the outcome that `file`, as `explain` was given it, names
/// (`source::names_file`).
fn file_named<'o>(outcome: &'o Outcome, file: &str) -> Option<&'o crate::pipeline::FileOutcome> {
    outcome
        .files
        .iter()
        .find(|f| crate::source::names_file(file, &f.rel_path))
}

/// Whether a run started from `file` (`Config::start`) settles what
/// `explain` says of `file:line`: the rounds did not run out, and every site
/// on the line is an acquire (whose flow the rounds followed from there) or
/// is in a flow. A release in no flow there may belong to one that starts in
/// another file.
pub fn settled_from_start(outcome: &Outcome, file: &str, line: usize) -> bool {
    let Some(f) = file_named(outcome, file) else {
        return false;
    };
    let mut sites = f
        .findings
        .sites
        .iter()
        .filter(|s| s.line == line)
        .peekable();
    !outcome.stats.rounds_ran_out
        && sites.peek().is_some()
        && sites.all(|s| s.kind == SiteKind::Acquire || s.unit.is_some())
}

/// The explanation of the site(s) at `file:line`: the call, its unit (every
/// acquire and release of the flow), its class, the evidence and the reasons.
pub fn explain(outcome: &Outcome, file: &str, line: usize) -> Option<String> {
    let f = file_named(outcome, file)?;
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
        out.push_str(&format!("  class: {}\n", unit_label(u)));
        if let Some(case) = &u.case {
            out.push_str(&format!("  case: {case}\n"));
        }
        if !u.evidence.is_empty() {
            out.push_str(&format!(
                "  evidence for a pin: {}\n",
                (u.evidence.iter())
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for m in &u.mismatches {
            out.push_str(&format!("  mismatch: {m}\n"));
        }
        for s in &u.told_apart {
            out.push_str(&format!("  told apart: {s}\n"));
        }
        let put_of_pinned = u.is_pinned()
            && s.kind == SiteKind::Release
            && u.mismatches
                .iter()
                .any(|m| m.ends_with(&format!(" at {}:{}", f.rel_path, s.line)));
        if put_of_pinned {
            let name = crate::series::group::fix_series_name(&f.rel_path);
            out.push_str(&format!(
                "  must be converted: the pages are pinned, so this release must be unpin_user_page*(); `pinpatch series` writes the fix as series {name}\n"
            ));
            continue;
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

/// What a unit's class line says: `kept` or `pinned` for a flow nothing is
/// left to do on (left on get_user_pages*() on purpose, or pinned already),
/// whatever its class, else the class.
fn unit_label(u: &Unit) -> &'static str {
    if u.is_pinned() {
        "pinned"
    } else if u.is_kept() {
        "kept"
    } else {
        u.class.name()
    }
}

/// `unit_label` for a site, and `kept` for a call with no flow that only
/// faults pages in.
fn site_label(s: &Site, unit: Option<&Unit>) -> &'static str {
    match unit {
        Some(u) => unit_label(u),
        None if matches!(s.reason.as_deref(), Some([Blocker::NullPages])) => "kept",
        None => s.class.name(),
    }
}

#[cfg(test)]
mod tests {
    use super::group_reasons;

    #[test]
    fn reasons_naming_other_functions_are_grouped() {
        let r = |s: &str| s.to_string();
        let reasons = [
            r("convert by hand"),
            r("the pages are passed to a() (x.c:1)"),
            r("the pages are passed to b() (x.c:2)"),
            r("the pages are passed to a() (y.c:3)"),
            r("the pages are passed to c() (x.c:4)"),
            r("the pages are passed to d() (x.c:5)"),
            r("the pages are released with e() (x.c:6), which no rule converts"),
            r("the pages are released with f() (x.c:7), which no rule converts"),
        ];
        assert_eq!(
            group_reasons(&reasons),
            [
                "convert by hand",
                "the pages are passed to 4 functions: a(), b(), c() and 1 more",
                "the pages are released with 2 functions, which no rule converts: e(), f()",
            ]
        );
        assert_eq!(
            group_reasons(&[r("the pages are passed to a() (x.c:1)")]),
            ["the pages are passed to a() (x.c:1)"]
        );
        let in_macros = [
            r("the pages in s::p are reached inside the macro A() (x.c:1), which pinpatch does not follow"),
            r("the pages in s::p are reached inside the macro B() (y.c:2), which pinpatch does not follow"),
        ];
        assert_eq!(
            group_reasons(&in_macros),
            ["the pages in s::p are reached inside 2 macros, which pinpatch does not follow: A(), B()"]
        );
    }
}
