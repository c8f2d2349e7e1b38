//! The rule language: declarative rule files in, checked rules out. No IO
//! beyond reading the rule files themselves.
//!
//! A rule file (TOML) describes one acquire call, one release form, or the
//! dataflow vocabulary (`kind = "flow"`) shared by a pack. Patterns and
//! rewrites are C snippets with `$metavariables`. See `rules/README.md` for
//! the language reference. The default pack is embedded in the binary at
//! build time (`build.rs` lists `rules/`), so adding a rule needs no Rust.

pub mod compile;
pub mod iso;
pub mod metavar;
pub mod pattern;
pub mod raw;

use crate::c::NodeExt;
pub use compile::{compile_rule, compile_rule_with, RuleError};
pub use iso::IsoSet;
pub use metavar::{CType, MetaKind};
pub use pattern::{Pattern, Template, TokKey};
use rayon::prelude::*;

use foldhash::fast::FixedState;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

/// The conversion a run performs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The v5.6+ API: `pin_user_pages*()` and `unpin_user_page*()`.
    Unpin,
    /// The 2018 proposal and v5.2-v5.5 API: `put_user_page*()`, acquires unchanged.
    PutUserPage,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Unpin => "unpin",
            Target::PutUserPage => "put_user_page",
        }
    }

    pub fn from_name(name: &str) -> Option<Target> {
        match name {
            "unpin" => Some(Target::Unpin),
            "put_user_page" => Some(Target::PutUserPage),
            _ => None,
        }
    }
}

/// What a rule describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    Acquire,
    Release,
    Flow,
    /// A plain rewrite: pattern and template, no dataflow.
    Rewrite,
}

/// How an acquire takes its pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AcquireFamily {
    /// `get_user_pages*()`: a FOLL_GET reference.
    Get,
    /// `pin_user_pages*()`: a FOLL_PIN pin.
    Pin,
    /// `iov_iter_get_pages*()`: FOLL_GET references through an iterator.
    IovIter,
}

/// What a release call drops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseFamily {
    /// `put_page()` and friends: drops a reference.
    Put,
    /// `unpin_user_page*()`: drops a pin.
    Unpin,
}

/// Documentation of a rule, under fixed headings.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Doc {
    pub what: String,
    pub why: String,
    pub safety: String,
}

/// The role of an acquire rule's metavariables.
#[derive(Clone, Debug)]
pub struct AcquireRole {
    pub family: AcquireFamily,
    pub pages: String,
    pub count: Option<String>,
    pub flags: Option<String>,
    /// Flags the call takes whatever its flags argument says, as the
    /// flags argument would spell them (`FOLL_LONGTERM`).
    pub implied_flags: Vec<String>,
    /// The metavariable naming the address space the pages come from.
    pub mm: Option<String>,
    pub manual: BTreeMap<Target, String>,
    /// Functions the rewrite for a target calls that the tree's
    /// `include/linux/mm.h` must declare (`pin_user_pages_fast_only()`
    /// exists from v5.8 to v6.2).
    pub requires: BTreeMap<Target, Vec<String>>,
}

/// The role of a release rule's metavariables.
#[derive(Clone, Debug)]
pub struct ReleaseRole {
    pub family: ReleaseFamily,
    /// A single page pointer that must come from an acquire.
    pub page: Option<String>,
    /// A pages array that must come from an acquire.
    pub array: Option<String>,
    pub count: Option<String>,
    /// A loop index, dead after the matched loop.
    pub index: Option<String>,
}

/// Dataflow vocabulary: which calls allocate arrays, read pages, take extra
/// references or release pages without a rewrite.
#[derive(Clone, Debug, Default)]
pub struct FlowSpec {
    pub allocators: BTreeSet<String>,
    /// Calls that return a new page of the kernel's own: a fresh object,
    /// never one of a unit's pages.
    pub page_allocators: BTreeSet<String>,
    /// Calls that clear the entries their first argument points to.
    pub clearing_calls: BTreeSet<String>,
    pub array_uses: BTreeSet<String>,
    pub page_uses: BTreeSet<String>,
    pub extra_references: BTreeSet<String>,
    pub releases: BTreeSet<String>,
    /// Calls that show the pages are used for DMA (the acquire policy).
    pub evidence_dma: BTreeSet<String>,
    /// Calls that show the page contents are written.
    pub evidence_write: BTreeSet<String>,
    /// Calls that read or write page contents with the CPU: evidence for a
    /// pin when nothing stronger is seen.
    pub data_access: BTreeSet<String>,
    /// Calls that only look at struct page.
    pub metadata_only: BTreeSet<String>,
    /// Calls that register an MMU notifier: a driver that makes them can
    /// drop its references when the memory goes away (case 3).
    pub notifier_registrations: BTreeSet<String>,
    /// File-scope macros that export a function to modules
    /// (`EXPORT_SYMBOL_GPL(f)`): naming it there takes no address.
    pub symbol_exports: BTreeSet<String>,
    /// File-scope macros that declare tracepoints (`TRACE_EVENT()`): a
    /// field their arguments reach is copied into the trace record, which
    /// is only printed.
    pub tracepoint_macros: BTreeSet<String>,
    /// name -> what it stores: a page into the element of a container
    /// array (`sg_set_page`), or every page of an array into a container's
    /// elements (`sg_alloc_table_from_pages`).
    pub element_stores: BTreeMap<String, ElementStore>,
    /// name -> container argument: reads the page of an element (`sg_page`).
    pub element_loads: BTreeMap<String, usize>,
    /// name -> container argument: returns a pointer into the same array
    /// (`sg_next`).
    pub element_steps: BTreeMap<String, usize>,
    /// iterator macro -> (cursor argument, array argument).
    pub iterators: BTreeMap<String, (usize, usize)>,
    /// Fields that hold the page of a container element (`bv_page` of a
    /// `struct bio_vec` walked by a bio iterator).
    pub element_fields: BTreeSet<String>,
    /// `STRUCT::FIELD` fields of a container that point at its elements:
    /// `t->sgl` holds what the table `t` holds (`sg_table::sgl`).
    pub container_fields: BTreeSet<(String, String)>,
    /// (struct, field): fields of library structs that borrow the pages
    /// they point to; whoever keeps one of those pages takes its own
    /// reference.
    pub borrowing_fields: BTreeSet<(String, String)>,
    /// Calls whose result stands for the same page as their first argument
    /// (`page_to_pfn()`, `pfn_to_page()`, `page_folio()`).
    pub transparent: BTreeSet<String>,
    /// Calls whose result stands for the page as a number or an address
    /// (`page_to_pfn()`, `page_to_phys()`, `page_address()`): the page's
    /// identity, followed wherever it is stored like the page itself.
    pub identities: BTreeSet<String>,
    /// Calls that dress an error code as a pointer (`ERR_PTR()`): their
    /// result is never a page.
    pub error_pointers: BTreeSet<String>,
    /// Integer typedefs that hold addresses and frame numbers
    /// (`phys_addr_t`, `u64`): a variable declared with one holds a page's
    /// identity, never a `struct page` pointer.
    pub identity_types: BTreeSet<String>,
    /// Integer types of 32 bits or fewer (`u32`, `int`, `bool`): a plain
    /// variable, field or return value of one holds no page and no page's
    /// identity (a pointer, an address or a frame number of a 64-bit
    /// kernel), so values the analysis tracks are never put there.
    pub narrow_types: BTreeSet<String>,
    /// The kernel's unsigned integer typedefs (`size_t`, `u32`): a count
    /// declared with one is never negative.
    pub unsigned_types: BTreeSet<String>,
    /// Calls that hold for every `-errno` given to them (`IS_ERR_VALUE`):
    /// a test of one leaves when a count is negative.
    pub error_value_tests: BTreeSet<String>,
    /// The prefixes of `array_uses` and `page_uses` (their entries ending
    /// in `*`, without it), kept apart so that `is_use` asks a set and a
    /// short list instead of walking both sets.
    pub use_prefixes: Vec<String>,
    /// The whole names of `array_uses`, `page_uses`, `transparent` and
    /// `identities` in one hashed set: `is_use` is asked of nearly every
    /// call of every round's program.
    pub use_names: HashSet<String, FixedState>,
}

impl FlowSpec {
    /// Whether a call neither keeps nor releases the array or page it is
    /// given: listed in `array_uses` or `page_uses` (an entry ending in `*`
    /// is a prefix), or `transparent` (it hands the same page back).
    pub fn is_use(&self, name: &str) -> bool {
        self.use_names.contains(name) || self.has_use_prefix(name)
    }

    /// Whether `name` begins with a prefix `array_uses` or `page_uses`
    /// lists (an entry ending in `*`).
    pub fn has_use_prefix(&self, name: &str) -> bool {
        (self.use_prefixes.iter()).any(|p| name.starts_with(p.as_str()))
    }

    /// Lists the prefixes of `array_uses` and `page_uses` (`use_prefixes`)
    /// and the whole names `is_use` asks for (`use_names`).
    fn index_prefixes(&mut self) {
        self.use_names = (self.array_uses.iter())
            .chain(&self.page_uses)
            .chain(&self.transparent)
            .chain(&self.identities)
            .cloned()
            .collect();
        self.use_prefixes = self
            .array_uses
            .iter()
            .chain(&self.page_uses)
            .filter_map(|e| e.strip_suffix('*').map(str::to_string))
            .collect();
        self.use_prefixes.sort();
        self.use_prefixes.dedup();
    }

    fn merge(&mut self, other: &FlowSpec) {
        self.allocators.extend(other.allocators.iter().cloned());
        self.page_allocators
            .extend(other.page_allocators.iter().cloned());
        self.clearing_calls
            .extend(other.clearing_calls.iter().cloned());
        self.array_uses.extend(other.array_uses.iter().cloned());
        self.page_uses.extend(other.page_uses.iter().cloned());
        self.extra_references
            .extend(other.extra_references.iter().cloned());
        self.releases.extend(other.releases.iter().cloned());
        self.evidence_dma.extend(other.evidence_dma.iter().cloned());
        self.evidence_write
            .extend(other.evidence_write.iter().cloned());
        self.data_access.extend(other.data_access.iter().cloned());
        self.metadata_only
            .extend(other.metadata_only.iter().cloned());
        self.notifier_registrations
            .extend(other.notifier_registrations.iter().cloned());
        self.symbol_exports
            .extend(other.symbol_exports.iter().cloned());
        self.tracepoint_macros
            .extend(other.tracepoint_macros.iter().cloned());
        self.element_stores.extend(other.element_stores.clone());
        self.element_loads.extend(other.element_loads.clone());
        self.element_steps.extend(other.element_steps.clone());
        self.iterators.extend(other.iterators.clone());
        self.element_fields
            .extend(other.element_fields.iter().cloned());
        self.container_fields
            .extend(other.container_fields.iter().cloned());
        self.borrowing_fields
            .extend(other.borrowing_fields.iter().cloned());
        self.transparent.extend(other.transparent.iter().cloned());
        self.identities.extend(other.identities.iter().cloned());
        self.error_pointers
            .extend(other.error_pointers.iter().cloned());
        self.identity_types
            .extend(other.identity_types.iter().cloned());
        self.narrow_types.extend(other.narrow_types.iter().cloned());
        self.unsigned_types
            .extend(other.unsigned_types.iter().cloned());
        self.error_value_tests
            .extend(other.error_value_tests.iter().cloned());
        self.index_prefixes();
    }

    /// Whether `STRUCT::FIELD` points at a container's elements.
    pub fn is_container_field(&self, strukt: &str, field: &str) -> bool {
        self.container_fields
            .iter()
            .any(|(s, f)| s == strukt && f == field)
    }

    /// Whether a field borrows the pages it points to.
    pub fn is_borrowing_field(&self, strukt: &str, field: &str) -> bool {
        self.borrowing_fields
            .iter()
            .any(|(s, f)| s == strukt && f == field)
    }

    /// Whether the vocabulary says what a call does to a container.
    pub fn is_element_call(&self, name: &str) -> bool {
        self.element_stores.contains_key(name)
            || self.element_loads.contains_key(name)
            || self.element_steps.contains_key(name)
    }
}

/// A call that stores pages into a container, by argument position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElementStore {
    pub container: usize,
    /// The argument stored: a page, or (`whole_array`) an array of pages
    /// every one of which the container's elements then hold.
    pub value: usize,
    pub whole_array: bool,
}

/// An example from a rule file: `before` becomes `after` under `target`.
#[derive(Clone, Debug)]
pub struct Example {
    pub target: Target,
    pub before: String,
    pub after: String,
}

/// A counterexample from a rule file: code the rule must leave alone under
/// `target`, and why.
#[derive(Clone, Debug)]
pub struct Counterexample {
    pub target: Target,
    pub before: String,
    pub why: String,
}

/// Constraints on a match besides `not_mentions`.
#[derive(Debug, Default)]
pub struct Constraints {
    /// (metavariable, expression its normalised text must match).
    pub regex: Vec<(String, regex::Regex)>,
    /// Patterns the match must not also match (at the same node, with the
    /// same bindings).
    pub not: Vec<Pattern>,
    /// Patterns of which one must match an enclosing node.
    pub inside: Vec<Pattern>,
}

/// A checked rule.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub path: String,
    pub kind: RuleKind,
    pub title: String,
    pub doc: Doc,
    pub metavars: BTreeMap<String, MetaKind>,
    pub defaults: BTreeMap<String, String>,
    pub patterns: Vec<Pattern>,
    /// Names every pattern spells out (not metavariables): a node whose
    /// text lacks one cannot match, which the matcher checks first.
    pub required_words: Vec<String>,
    /// The callee names of the patterns (see `anchor_identifiers`).
    anchors: Vec<String>,
    pub acquire: Option<AcquireRole>,
    pub release: Option<ReleaseRole>,
    /// (metavariable, metavariable whose binding it must not mention).
    pub not_mentions: Vec<(String, String)>,
    pub constraints: Constraints,
    pub rewrite: BTreeMap<Target, Template>,
    pub flow: Option<FlowSpec>,
    pub examples: Vec<Example>,
    pub counterexamples: Vec<Counterexample>,
}

impl Rule {
    /// The callee names of the rule's patterns, when their root is a call
    /// (used by the byte prefilter); a callee written as a named
    /// alternative gives the names of its branches.
    pub fn anchor_identifiers(&self) -> Vec<String> {
        self.anchors.clone()
    }
}

/// The callee names of patterns whose root is a call, sorted.
pub(crate) fn call_anchors(patterns: &[Pattern]) -> Vec<String> {
    let mut out = Vec::new();
    for p in patterns {
        let root = p.root();
        if root.kind_str() == "call_expression" {
            if let Some(f) = root.field("function") {
                match p.metavar(f).and_then(|name| p.choices.get(name)) {
                    Some(branches) => out.extend(branches.iter().map(|b| {
                        String::from_utf8_lossy(&b.text()[b.root().byte_range()]).into_owned()
                    })),
                    None => {
                        out.push(String::from_utf8_lossy(&p.text()[f.byte_range()]).into_owned())
                    }
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A set of rules used together.
#[derive(Debug)]
pub struct RulePack {
    pub rules: Vec<Rule>,
    pub flow: FlowSpec,
    /// The isomorphisms the patterns were expanded with.
    pub isos: IsoSet,
}

/// The file of the built-in isomorphisms, below `rules/`.
pub const STANDARD_ISO: &str = "iso.toml";

/// Whether a rule file holds isomorphisms (`kind = "iso"`).
fn is_iso_file(text: &str) -> bool {
    text.lines().any(|l| {
        l.bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .eq(b"kind=\"iso\"".iter().copied())
    })
}

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));
}
pub use builtin::BUILTIN_RULES;

impl RulePack {
    /// The GUP pack embedded in the binary (the repository's `rules/gup/`
    /// and the standard isomorphisms).
    pub fn builtin() -> Result<RulePack, RuleError> {
        RulePack::builtin_named("gup")
    }

    /// A pack embedded in the binary, by its directory below `rules/`, with
    /// the standard isomorphisms.
    pub fn builtin_named(name: &str) -> Result<RulePack, RuleError> {
        let prefix = format!("{name}/");
        let files = BUILTIN_RULES
            .iter()
            .filter(|(path, _)| path.starts_with(&prefix) || *path == STANDARD_ISO)
            .map(|(path, text)| (format!("rules/{path}"), text.to_string()));
        RulePack::from_files(files.collect())
    }

    /// Loads every `*.toml` below a directory (sorted by path).
    pub fn load_dir(dir: &Path) -> Result<RulePack, RuleError> {
        let mut paths = Vec::new();
        collect_toml(dir, &mut paths).map_err(|e| RuleError::io(dir, e))?;
        paths.sort();
        if paths.is_empty() {
            return Err(RuleError {
                path: dir.display().to_string(),
                line: 0,
                column: 0,
                message: "no rule files (*.toml) in this directory".into(),
            });
        }
        let mut files = Vec::new();
        for p in paths {
            let text = crate::source::read_regular_text(&p).map_err(|e| RuleError::io(&p, e))?;
            files.push((p.display().to_string(), text));
        }
        RulePack::from_files(files)
    }

    /// The packs of a directory: the directory itself when it holds rule
    /// files, else each subdirectory holding some, with the directory's own
    /// isomorphism file (sorted by path).
    pub fn load_packs(dir: &Path) -> Result<Vec<RulePack>, RuleError> {
        let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| RuleError::io(p, e));
        let mut top = Vec::new();
        let mut subdirs = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| RuleError::io(dir, e))? {
            let path = entry.map_err(|e| RuleError::io(dir, e))?.path();
            if path.is_dir() {
                subdirs.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                top.push(path);
            }
        }
        top.sort();
        subdirs.sort();
        let mut iso = Vec::new();
        for p in &top {
            let text = read(p)?;
            if !is_iso_file(&text) {
                return Ok(vec![RulePack::load_dir(dir)?]);
            }
            iso.push((p.display().to_string(), text));
        }
        let mut packs = Vec::new();
        for sub in subdirs {
            let mut paths = Vec::new();
            collect_toml(&sub, &mut paths).map_err(|e| RuleError::io(&sub, e))?;
            if paths.is_empty() {
                continue;
            }
            paths.sort();
            let mut files = iso.clone();
            for p in paths {
                files.push((p.display().to_string(), read(&p)?));
            }
            packs.push(RulePack::from_files(files)?);
        }
        if packs.is_empty() {
            return Err(RuleError {
                path: dir.display().to_string(),
                line: 0,
                column: 0,
                message: "no rule files (*.toml) in this directory".into(),
            });
        }
        Ok(packs)
    }

    /// Compiles rule files given as (path, text). The isomorphisms are the
    /// pack's own file of `kind = "iso"` when it has one, the standard ones
    /// otherwise.
    pub fn from_files(files: Vec<(String, String)>) -> Result<RulePack, RuleError> {
        let (iso_files, files): (Vec<_>, Vec<_>) =
            files.into_iter().partition(|(_, text)| is_iso_file(text));
        if iso_files.len() > 1 {
            return Err(RuleError {
                path: iso_files[1].0.clone(),
                line: 0,
                column: 0,
                message: format!(
                    "a pack has one isomorphism file; {} is another",
                    iso_files[0].0
                ),
            });
        }
        let (iso_path, iso_text) = match iso_files.into_iter().next() {
            Some(f) => f,
            None => {
                let text = BUILTIN_RULES
                    .iter()
                    .find(|(p, _)| *p == STANDARD_ISO)
                    .map(|(_, t)| t.to_string())
                    .unwrap_or_default();
                (format!("rules/{STANDARD_ISO}"), text)
            }
        };
        let isos = compile::compile_isos(&iso_path, &iso_text)?;
        let mut rules = Vec::new();
        let mut flow = FlowSpec::default();
        let mut ids = BTreeMap::new();
        // Each rule compiles on its own (its isomorphism variants parsed);
        // the first error in file order is the one reported, as before.
        let compiled: Vec<Result<Rule, RuleError>> = files
            .par_iter()
            .map(|(path, text)| compile_rule_with(path, text, &isos))
            .collect();
        for ((path, _), rule) in files.into_iter().zip(compiled) {
            let rule = rule?;
            if let Some(previous) = ids.insert(rule.id.clone(), path.clone()) {
                return Err(RuleError {
                    path,
                    line: 1,
                    column: 1,
                    message: format!("rule id `{}` is already used by {previous}", rule.id),
                });
            }
            if let Some(f) = &rule.flow {
                flow.merge(f);
            }
            rules.push(rule);
        }
        Ok(RulePack { rules, flow, isos })
    }

    /// The callee names of the rules of one kind, sorted.
    fn callees_of(&self, kind: RuleKind) -> Vec<String> {
        let mut out: Vec<String> = self
            .rules
            .iter()
            .filter(|r| r.kind == kind)
            .flat_map(|r| r.anchor_identifiers())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Identifiers of which at least one must occur in a file for any rule
    /// of the pack to find an acquire there.
    pub fn acquire_identifiers(&self) -> Vec<String> {
        self.callees_of(RuleKind::Acquire)
    }

    /// Callee names of the plain rewrite rules.
    pub fn rewrite_identifiers(&self) -> Vec<String> {
        self.callees_of(RuleKind::Rewrite)
    }

    /// Callee names of every release rule.
    pub fn release_identifiers(&self) -> Vec<String> {
        let mut out = self.callees_of(RuleKind::Release);
        out.extend(self.flow.releases.iter().cloned());
        out.sort();
        out.dedup();
        out
    }
}

fn collect_toml(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect_toml(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}
