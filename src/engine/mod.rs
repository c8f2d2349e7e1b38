//! Matching and dataflow: which calls acquire user pages, which releases see
//! them, and whether each acquire and its releases can be converted.
//!
//! The engine never edits text. For every function of a parsed file it finds
//! the acquire and release sites the rules describe, follows the pages
//! through the function (`dataflow.rs`), and decides per *unit* (an acquire
//! and everything its pages reach) whether the unit converts, all or nothing.
//! The result is `FileFindings`: the sites with their decisions and reasons,
//! and the planned replacements that `rewrite` turns into byte edits.

pub mod dataflow;
pub mod matcher;

use crate::c::syntax::functions;
use crate::c::Parsed;
use crate::rule::{RuleKind, RulePack, Target};
use serde::Serialize;
use std::collections::HashMap;

pub use matcher::{Binding, Match, MatchedToken};

/// How hard a conversion unit is to review; decides which series it goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Acquire and releases in one function.
    Easy,
    /// One file, through helpers or struct fields.
    Local,
    /// Releases in another file, or through sg tables, bios or iov_iter.
    CrossFile,
    /// Left for a human: mixed origins, escapes pinpatch cannot follow,
    /// functions it cannot parse.
    Manual,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::Easy => "easy",
            Class::Local => "local",
            Class::CrossFile => "cross-file",
            Class::Manual => "manual",
        }
    }
}

/// A function left alone because its parse tree holds errors.
#[derive(Clone, Debug, Serialize)]
pub struct SkippedFunction {
    pub function: String,
    pub line: usize,
    pub reason: String,
}

/// Whether a site is acquire or release.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteKind {
    Acquire,
    Release,
}

/// A call site the rules recognised, with its decision.
#[derive(Clone, Debug, Serialize)]
pub struct Site {
    pub kind: SiteKind,
    pub line: usize,
    pub function: String,
    /// The call as written, on one line.
    pub call: String,
    pub rule: String,
    /// The unit the site belongs to (index into `FileFindings::units`).
    pub unit: Option<usize>,
    /// What the call becomes, when it is converted.
    pub rewrite: Option<String>,
    /// Why it is not converted.
    pub reason: Option<String>,
    pub class: Class,
    #[serde(skip)]
    pub start: usize,
    #[serde(skip)]
    pub end: usize,
}

/// A planned change, rendered into a byte edit by `rewrite`.
#[derive(Clone, Debug)]
pub enum Plan {
    /// Replace a rule match with the rule's rewrite template for the target.
    Replace { matched: Match },
    /// Remove a declarator that a conversion left unused (a loop index).
    RemoveDeclarator {
        start: usize,
        end: usize,
        name: String,
    },
}

/// An acquire and every release its pages reach: converted all or nothing.
#[derive(Clone, Debug, Serialize)]
pub struct Unit {
    pub function: String,
    pub line: usize,
    /// The pages expression of the first acquire.
    pub pages: String,
    pub converted: bool,
    /// The pages come from `pin_user_pages*()`: nothing to convert.
    pub pinned: bool,
    pub class: Class,
    pub reasons: Vec<String>,
    pub rules: Vec<String>,
    /// Problems that are bugs whatever the target (pinned pages released
    /// with `put_page()`, or the reverse).
    pub mismatches: Vec<String>,
    #[serde(skip)]
    pub plans: Vec<Plan>,
}

/// Everything the engine found in one file.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FileFindings {
    pub path: String,
    /// Functions that mention an acquire and parse clean.
    pub functions_analysed: usize,
    pub skipped: Vec<SkippedFunction>,
    pub sites: Vec<Site>,
    pub units: Vec<Unit>,
}

/// The rules of a pack indexed for matching, and the target.
pub struct Engine<'p> {
    pub pack: &'p RulePack,
    pub target: Target,
    /// Pattern root kind -> rule indices.
    by_root_kind: HashMap<String, Vec<usize>>,
    /// Callee names of acquire rules.
    acquire_names: Vec<String>,
}

impl<'p> Engine<'p> {
    pub fn new(pack: &'p RulePack, target: Target) -> Engine<'p> {
        let mut by_root_kind: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, rule) in pack.rules.iter().enumerate() {
            if rule.kind == RuleKind::Flow {
                continue;
            }
            let mut kinds: Vec<&str> = rule.patterns.iter().map(|p| p.root().kind()).collect();
            kinds.sort();
            kinds.dedup();
            for k in kinds {
                by_root_kind.entry(k.to_string()).or_default().push(i);
            }
        }
        Engine {
            pack,
            target,
            by_root_kind,
            acquire_names: pack.acquire_identifiers(),
        }
    }

    /// Rule indices whose patterns may match a node of this kind.
    pub(crate) fn rules_for_kind(&self, kind: &str) -> &[usize] {
        self.by_root_kind
            .get(kind)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Analyses every function of a parsed file.
    pub fn analyse(&self, path: &str, parsed: &Parsed) -> FileFindings {
        let mut findings = FileFindings {
            path: path.to_string(),
            ..FileFindings::default()
        };
        for func in functions(parsed.tree.root_node()) {
            let text = parsed.text(func.node);
            let relevant = self
                .acquire_names
                .iter()
                .any(|n| memchr::memmem::find(text, n.as_bytes()).is_some());
            if !relevant {
                continue;
            }
            let name = func.name(&parsed.original);
            if func.has_error() {
                let line = first_error_line(func.node, parsed);
                findings.skipped.push(SkippedFunction {
                    function: name,
                    line: parsed.line_of(func.node.start_byte()),
                    reason: format!("parse error at line {line}"),
                });
                continue;
            }
            if crate::c::syntax::deeper_than(func.node, crate::c::syntax::MAX_DEPTH) {
                findings.skipped.push(SkippedFunction {
                    function: name,
                    line: parsed.line_of(func.node.start_byte()),
                    reason: format!("nested deeper than {} levels", crate::c::syntax::MAX_DEPTH),
                });
                continue;
            }
            findings.functions_analysed += 1;
            dataflow::analyse_function(self, parsed, func, &name, &mut findings);
        }
        // Acquire calls outside any clean function definition (inside a
        // region the parser could not read as a function) are reported too.
        report_unparsed_regions(self, parsed, &mut findings);
        findings.sites.sort_by_key(|s| (s.start, s.kind));
        findings
    }
}

fn first_error_line(node: tree_sitter::Node, parsed: &Parsed) -> usize {
    let mut line = parsed.line_of(node.start_byte());
    let mut found = false;
    crate::c::syntax::preorder(node, |n| {
        if found {
            return false;
        }
        if n.is_error() || n.is_missing() {
            line = parsed.line_of(n.start_byte());
            found = true;
            return false;
        }
        n.has_error()
    });
    line
}

/// Reports top-level ERROR regions that mention an acquire.
fn report_unparsed_regions(engine: &Engine, parsed: &Parsed, findings: &mut FileFindings) {
    let root = parsed.tree.root_node();
    let mut cursor = root.walk();
    for child in root.children(&mut cursor) {
        if !child.is_error() {
            continue;
        }
        let text = parsed.text(child);
        if engine
            .acquire_names
            .iter()
            .any(|n| memchr::memmem::find(text, n.as_bytes()).is_some())
        {
            findings.skipped.push(SkippedFunction {
                function: String::from("<unparsed region>"),
                line: parsed.line_of(child.start_byte()),
                reason: format!(
                    "lines {}-{} do not parse as C declarations",
                    parsed.line_of(child.start_byte()),
                    parsed.line_of(child.end_byte())
                ),
            });
        }
    }
}
