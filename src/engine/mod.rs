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
pub mod decide;
pub mod flow;
mod hash;
pub mod matcher;
pub mod reason;
pub mod types;

use crate::c::NodeExt;
use crate::rule::{RuleKind, RulePack, Target};
use hash::{HashMap, HashSet};
use serde::Serialize;

pub use flow::{
    FileFacts, GainedWords, Interest, Need, Needs, ProgramAnalysis, ProgramFile, SettledFlows,
    MAX_HOLDER_HEADERS,
};
pub use matcher::{Binding, Match, MatchedToken};
pub use reason::{Blocker, Decision, Evidence, Limit, Origin, PinCase, Separation};

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
    /// A match of a plain rewrite rule (`kind = "rewrite"`): no flow.
    Rewrite,
}

/// A call site the rules recognised, with its decision.
#[derive(Clone, Debug)]
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
    pub reason: Option<Vec<Blocker>>,
    pub class: Class,
    pub start: usize,
    pub end: usize,
}

/// A planned change, rendered into a byte edit by `rewrite`.
#[derive(Clone, Debug)]
pub enum Plan {
    /// Replace a rule match with the rule's rewrite template for the target.
    Replace { matched: Match },
    /// Remove a declarator that a conversion left unused (a loop index):
    /// replace `start..end` with `text` (empty, or the declaration's type
    /// spelled as checkpatch wants it when the edit rewrites that line).
    RemoveDeclarator {
        start: usize,
        end: usize,
        text: String,
        name: String,
    },
}

/// An acquire and every release its pages reach, in any function or file:
/// converted all or nothing.
#[derive(Clone, Debug)]
pub struct Unit {
    /// Where the (first) acquire is.
    pub file: String,
    pub function: String,
    pub line: usize,
    /// The pages expression of the first acquire.
    pub pages: String,
    pub decision: Decision,
    pub class: Class,
    pub rules: Vec<String>,
    /// Problems that are bugs whatever the target (pinned pages released
    /// with `put_page()`, or the reverse).
    pub mismatches: Vec<String>,
    /// Why the pages need a pin (DMA, dirtying, long-term storage...).
    pub evidence: Vec<Evidence>,
    /// Where each piece of evidence was first seen.
    pub evidence_at: std::collections::BTreeMap<Evidence, reason::Place>,
    /// Every release site, as `file:line`.
    pub releases: Vec<String>,
    /// (index of the file in the analysis, planned change).
    pub plans: Vec<(usize, Plan)>,
    /// The functions and struct fields the flow goes through, sorted: a file
    /// or function the pipeline could not analyse that mentions one of them
    /// may hold a release of these pages.
    pub depends: Vec<Need>,
    /// The case of `pin_user_pages.rst` the unit falls under, when the
    /// evidence or the decision shows one.
    pub case: Option<PinCase>,
    /// Stores of other values its releases do not see: the objects differ.
    pub told_apart: Vec<Separation>,
}

impl Unit {
    /// Whether the unit is rewritten.
    pub fn is_converted(&self) -> bool {
        self.decision == Decision::Convert
    }
    /// The pages come from `pin_user_pages*()`: nothing to convert.
    pub fn is_pinned(&self) -> bool {
        matches!(self.decision, Decision::AlreadyPinned { .. })
    }
    /// Left as `get_user_pages*()` on purpose (the acquire policy).
    pub fn is_kept(&self) -> bool {
        matches!(self.decision, Decision::Keep(_))
    }
    /// Withdraws the conversion of a unit whose rewrite cannot be used.
    pub fn withdraw(&mut self, why: Blocker) {
        let mut reasons = self.decision.reasons();
        reasons.push(why);
        self.decision = Decision::Manual(reasons);
        self.class = Class::Manual;
    }
}

/// Everything the engine found in one file.
#[derive(Clone, Debug, Default)]
pub struct FileFindings {
    pub path: String,
    /// Functions that mention an acquire and parse clean.
    pub functions_analysed: usize,
    pub skipped: Vec<SkippedFunction>,
    pub sites: Vec<Site>,
}

/// Which acquires the unpin target converts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AcquirePolicy {
    /// Only those whose pages are seen used for DMA, written, kept
    /// long-term or whose data the CPU reaches; struct-page-only users keep their
    /// reference; flows with no use seen are reported as needing a decision
    /// (Documentation/core-api/pin_user_pages.rst).
    Evidence,
    /// Every acquire whose releases can all be converted.
    All,
}

/// The rules of a pack indexed for matching, the target and the policy.
pub struct Engine<'p> {
    pub pack: &'p RulePack,
    pub target: Target,
    pub policy: AcquirePolicy,
    /// Pattern root kind -> rule indices.
    by_root_kind: Vec<Vec<usize>>,
    /// For rules whose every pattern is a call of a named function: callee
    /// name -> rule indices, so that a call is only tried against the rules
    /// that name its callee.
    by_callee: HashMap<String, Vec<usize>>,
    /// Rules with a call pattern whose callee is not a plain name.
    any_callee: Vec<usize>,
    /// Callee names of acquire rules.
    acquire_names: Vec<String>,
    /// The callees of the pack's release rules.
    release_names: HashSet<String>,
    /// Every call name the rules describe, with the whole names of the
    /// flow's uses and element calls (`is_vocabulary`).
    vocabulary: HashSet<String>,
    /// What the tree's `include/linux/mm.h` declares, when the tree has
    /// one (`with_tree_api`): a rewrite that requires a function it lacks
    /// is left for a human.
    tree_api: Option<TreeApi>,
}

/// The functions of the GUP API a tree's `include/linux/mm.h` names, of
/// those the rules require.
#[derive(Clone, Debug, Default)]
pub struct TreeApi {
    pub declared: std::collections::HashSet<String>,
}

impl<'p> Engine<'p> {
    pub fn new(pack: &'p RulePack, target: Target, policy: AcquirePolicy) -> Engine<'p> {
        // Indexed by node kind id: the matcher asks once per node.
        let mut by_root_kind: Vec<Vec<usize>> = Vec::new();
        for (i, rule) in pack.rules.iter().enumerate() {
            if rule.kind == RuleKind::Flow {
                continue;
            }
            let mut kinds: Vec<u16> = rule
                .patterns
                .iter()
                .map(crate::rule::Pattern::root_kind)
                .collect();
            kinds.sort();
            kinds.dedup();
            for k in kinds {
                let k = usize::from(k);
                if by_root_kind.len() <= k {
                    by_root_kind.resize(k + 1, Vec::new());
                }
                by_root_kind[k].push(i);
            }
        }
        let mut by_callee: HashMap<String, Vec<usize>> = HashMap::default();
        let mut any_callee = Vec::new();
        for (i, rule) in pack.rules.iter().enumerate() {
            if rule.kind == RuleKind::Flow {
                continue;
            }
            let calls: Vec<Option<String>> = rule
                .patterns
                .iter()
                .filter(|p| p.root().kind_str() == "call_expression")
                .map(|p| {
                    let f = p.root().field("function")?;
                    (f.kind_str() == "identifier" && p.metavar(f).is_none())
                        .then(|| String::from_utf8_lossy(&p.text()[f.byte_range()]).into_owned())
                })
                .collect();
            if calls.iter().any(Option::is_none) {
                any_callee.push(i);
            }
            let mut names: Vec<String> = calls.into_iter().flatten().collect();
            names.sort();
            names.dedup();
            for n in names {
                by_callee.entry(n).or_default().push(i);
            }
        }
        Engine {
            pack,
            target,
            policy,
            by_root_kind,
            by_callee,
            any_callee,
            acquire_names: pack.acquire_identifiers(),
            release_names: pack.release_identifiers().into_iter().collect(),
            vocabulary: {
                let f = &pack.flow;
                let mut v: HashSet<String> = pack.acquire_identifiers().into_iter().collect();
                v.extend(pack.release_identifiers());
                for list in [
                    &f.allocators,
                    &f.array_uses,
                    &f.page_uses,
                    &f.extra_references,
                    &f.releases,
                    &f.evidence_dma,
                    &f.evidence_write,
                    &f.data_access,
                    &f.metadata_only,
                ] {
                    v.extend(list.iter().cloned());
                }
                v.extend(f.use_names.iter().cloned());
                v.extend(f.element_stores.keys().cloned());
                v.extend(f.element_loads.keys().cloned());
                v.extend(f.element_steps.keys().cloned());
                v
            },
            tree_api: None,
        }
    }

    /// The engine for a tree whose `include/linux/mm.h` declares `api`.
    pub fn with_tree_api(mut self, api: TreeApi) -> Engine<'p> {
        self.tree_api = Some(api);
        self
    }

    /// Whether the tree declares a function a rewrite requires; a tree
    /// without `include/linux/mm.h` (a driver alone, a fixture) is taken
    /// to declare it.
    pub fn tree_declares(&self, name: &str) -> bool {
        self.tree_api
            .as_ref()
            .is_none_or(|api| api.declared.contains(name))
    }

    /// Rule indices whose patterns may match a node of this kind.
    pub(crate) fn rules_for_kind(&self, kind_id: u16) -> &[usize] {
        self.by_root_kind
            .get(usize::from(kind_id))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Rule indices whose call patterns may match a call of `callee` (or of
    /// an unnamed callee).
    pub(crate) fn rules_for_call(&self, callee: Option<&[u8]>) -> impl Iterator<Item = usize> + '_ {
        let named = callee
            .and_then(|c| std::str::from_utf8(c).ok())
            .and_then(|c| self.by_callee.get(c))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        named.iter().chain(&self.any_callee).copied()
    }

    /// Whether the rules describe what a call to `name` does (an acquire, a
    /// release, or a call in the flow vocabulary).
    pub fn is_vocabulary(&self, name: &str) -> bool {
        self.vocabulary.contains(name) || self.pack.flow.has_use_prefix(name)
    }

    /// Callee names of the acquire rules.
    pub fn acquire_names(&self) -> &[String] {
        &self.acquire_names
    }

    /// Whether a release rule of the pack matches calls of `name`.
    pub fn is_release(&self, name: &str) -> bool {
        self.release_names.contains(name)
    }

    /// Analyses a set of parsed files as one program (see `flow/`).
    pub fn analyse(
        &self,
        files: &[ProgramFile],
        scanned: &Needs,
        final_round: bool,
    ) -> ProgramAnalysis {
        let mut facts: Vec<FileFacts> = files.iter().map(FileFacts::of).collect();
        let interest = Interest::new(self, scanned);
        let every_flow = SettledFlows::default();
        flow::analyse_program(
            self,
            files,
            &mut facts,
            (scanned, &interest, &every_flow),
            final_round,
        )
    }

    /// `analyse` with the facts of each file (`facts[i]` of `files[i]`) kept
    /// from earlier rounds, completed here for the next ones, and the words
    /// of `scanned` the caller keeps (`interest`, as `Interest::new` makes
    /// them for `scanned`). From one call to the next with the same facts,
    /// `scanned` only grows. The flows of `settled` are left out, and then
    /// no unit is decided (`flow::analyse_program`).
    pub fn analyse_with<'t>(
        &self,
        files: &[ProgramFile<'t>],
        facts: &mut [FileFacts<'t>],
        (scanned, interest, settled): (&Needs, &Interest, &SettledFlows),
        final_round: bool,
    ) -> ProgramAnalysis {
        flow::analyse_program(
            self,
            files,
            facts,
            (scanned, interest, settled),
            final_round,
        )
    }
}
