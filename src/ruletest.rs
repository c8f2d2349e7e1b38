//! Rule tests: a pack's examples, counterexamples and isomorphism cases run
//! through the same pipeline as a tree, and their results as a table.
//!
//! An `[[example]]` passes when the pack turns `before` into exactly `after`
//! for its target and the rule matched in `before`. A `[[counterexample]]`
//! passes when nothing the rule matched, and nothing in a unit an acquire of
//! the rule seeded, is rewritten (for a flow rule: when the code is left
//! unchanged). An isomorphism case passes when its pattern, expanded with
//! the pack's isomorphisms, matches the code (an example) or does not (a
//! counterexample). A rule with no example or no counterexample fails too:
//! every rule states what it does and what it leaves alone.
//! `pinpatch test-rules` prints the table; `cargo test` runs the built-in
//! pack through the same functions.

use crate::engine::matcher::find_first;
use crate::engine::{AcquirePolicy, Engine};
use crate::pipeline::process_bytes;
use crate::rule::compile::build_patterns;
use crate::rule::pattern::metavariables;
use crate::rule::{MetaKind, RuleKind, RulePack, Target};
use std::collections::BTreeMap;
use std::io::Write;

/// What a test case is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaseKind {
    Example,
    Counterexample,
    IsoExample,
    IsoCounterexample,
    /// A rule lacks examples or counterexamples.
    Missing,
}

impl CaseKind {
    fn name(self) -> &'static str {
        match self {
            CaseKind::Example => "example",
            CaseKind::Counterexample => "counterexample",
            CaseKind::IsoExample => "iso example",
            CaseKind::IsoCounterexample => "iso counterexample",
            CaseKind::Missing => "cases",
        }
    }
}

/// The result of one case.
#[derive(Clone, Debug)]
pub struct CaseResult {
    /// The rule or isomorphism id.
    pub subject: String,
    pub path: String,
    pub kind: CaseKind,
    /// 1-based, in file order.
    pub number: usize,
    pub target: Option<Target>,
    /// Why the case failed, with a diff when there is one.
    pub failure: Option<String>,
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// Runs every case of a pack.
pub fn run_pack(pack: &RulePack) -> Vec<CaseResult> {
    let mut out = Vec::new();
    let engines: BTreeMap<Target, Engine> = [Target::Unpin, Target::PutUserPage]
        .into_iter()
        .map(|t| (t, Engine::new(pack, t, AcquirePolicy::Evidence)))
        .collect();
    for rule in &pack.rules {
        let result = |kind, number, target, failure| CaseResult {
            subject: rule.id.clone(),
            path: rule.path.clone(),
            kind,
            number,
            target,
            failure,
        };
        if rule.examples.is_empty() || rule.counterexamples.is_empty() {
            out.push(result(
                CaseKind::Missing,
                1,
                None,
                Some("every rule needs at least one [[example]] and one [[counterexample]]".into()),
            ));
        }
        for (i, ex) in rule.examples.iter().enumerate() {
            let failure = match run_code(&engines[&ex.target], &ex.before) {
                Err(e) => Some(e),
                Ok(run) => {
                    if run.after != ex.after {
                        Some(format!(
                            "the output differs from `after`:\n{}",
                            diff(&ex.after, &run.after)
                        ))
                    } else if rule.kind != RuleKind::Flow
                        && !run.sites.iter().any(|s| s.rule == rule.id)
                    {
                        Some("the rule matches nothing in `before`".into())
                    } else if rule.kind == RuleKind::Flow && run.after == ex.before {
                        Some("a flow example must show a change the vocabulary allows".into())
                    } else {
                        None
                    }
                }
            };
            out.push(result(CaseKind::Example, i + 1, Some(ex.target), failure));
        }
        for (i, cx) in rule.counterexamples.iter().enumerate() {
            let failure = match run_code(&engines[&cx.target], &cx.before) {
                Err(e) => Some(e),
                Ok(run) if rule.kind == RuleKind::Flow => (run.after != cx.before)
                    .then(|| format!("the code was changed:\n{}", diff(&cx.before, &run.after))),
                Ok(run) => {
                    let seeded: Vec<usize> = run
                        .sites
                        .iter()
                        .filter(|s| s.rule == rule.id && s.kind == crate::engine::SiteKind::Acquire)
                        .filter_map(|s| s.unit)
                        .collect();
                    let rewritten: Vec<String> = run
                        .sites
                        .iter()
                        .filter(|s| {
                            s.rule == rule.id || s.unit.is_some_and(|u| seeded.contains(&u))
                        })
                        .filter_map(|s| {
                            s.rewrite
                                .as_ref()
                                .map(|r| format!("line {}: {} -> {r}", s.line, s.call))
                        })
                        .collect();
                    (!rewritten.is_empty()).then(|| {
                        format!(
                            "the rule rewrites what it must leave alone: {}\n{}",
                            rewritten.join("; "),
                            diff(&cx.before, &run.after)
                        )
                    })
                }
            };
            out.push(result(
                CaseKind::Counterexample,
                i + 1,
                Some(cx.target),
                failure,
            ));
        }
    }
    for iso in &pack.isos.isos {
        for (kind, cases) in [
            (CaseKind::IsoExample, &iso.examples),
            (CaseKind::IsoCounterexample, &iso.counterexamples),
        ] {
            for (i, case) in cases.iter().enumerate() {
                let failure = match iso_matches(pack, &case.pattern, &case.code) {
                    Err(e) => Some(e),
                    Ok(found) => match (kind, found) {
                        (CaseKind::IsoExample, None) => Some(format!(
                            "`{}` does not match `{}`",
                            case.pattern,
                            case.code.trim()
                        )),
                        (CaseKind::IsoCounterexample, Some(at)) => {
                            Some(format!("`{}` matches `{at}`", case.pattern))
                        }
                        _ => None,
                    },
                };
                out.push(CaseResult {
                    subject: iso.id.clone(),
                    path: pack.isos.path.clone(),
                    kind,
                    number: i + 1,
                    target: None,
                    failure,
                });
            }
        }
    }
    out
}

struct CodeRun {
    after: String,
    sites: Vec<crate::engine::Site>,
}

fn run_code(engine: &Engine, before: &str) -> Result<CodeRun, String> {
    match process_bytes(engine, "example.c", before.as_bytes().to_vec()) {
        Err(skip) => Err(format!("the code was skipped: {}", skip.reason)),
        Ok(None) => Ok(CodeRun {
            after: before.to_string(),
            sites: Vec::new(),
        }),
        Ok(Some(f)) => Ok(CodeRun {
            after: String::from_utf8_lossy(&f.after).into_owned(),
            sites: f.findings.sites,
        }),
    }
}

/// Where a pattern (all its metavariables expressions), expanded with the
/// pack's isomorphisms, matches code written as a function body, as the
/// matched text.
pub fn iso_matches(pack: &RulePack, pattern: &str, code: &str) -> Result<Option<String>, String> {
    let patterns =
        build_patterns(pattern, &pack.isos).map_err(|e| format!("pattern: {}", e.message))?;
    let metavars: BTreeMap<String, MetaKind> = metavariables(pattern)
        .into_iter()
        .map(|(_, n)| (n, MetaKind::Expression))
        .collect();
    let text = format!("void pp__example(void)\n{{\n{code}\n}}\n");
    let tree = crate::c::parse::parse_raw(text.as_bytes()).ok_or("the C parser gave no tree")?;
    for p in &patterns {
        if let Some((node, _)) = find_first(p, &metavars, tree.root_node(), text.as_bytes()) {
            return Ok(Some(text[node.byte_range()].to_string()));
        }
    }
    Ok(None)
}

fn diff(expected: &str, got: &str) -> String {
    similar::TextDiff::from_lines(expected, got)
        .unified_diff()
        .context_radius(2)
        .header("expected", "got")
        .to_string()
}

/// Prints the results as a table, failures with their reason, and a summary
/// line.
pub fn write_table(out: &mut dyn Write, results: &[CaseResult]) -> std::io::Result<()> {
    let width = results.iter().map(|r| r.subject.len()).max().unwrap_or(0);
    for r in results {
        let target = r
            .target
            .map(|t| format!(" ({})", t.name()))
            .unwrap_or_default();
        writeln!(
            out,
            "{}  {:width$}  {} {}{target}",
            if r.passed() { "PASS" } else { "FAIL" },
            r.subject,
            r.kind.name(),
            r.number,
        )?;
        if let Some(f) = &r.failure {
            writeln!(out, "      {}", r.path)?;
            for line in f.lines() {
                writeln!(out, "      {line}")?;
            }
        }
    }
    let failed = results.iter().filter(|r| !r.passed()).count();
    writeln!(out, "{} passed, {failed} failed", results.len() - failed)
}
