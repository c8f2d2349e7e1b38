//! The serde mirror of a rule file, exactly as written in TOML.
//!
//! Nothing here is checked beyond TOML syntax and field names
//! (`deny_unknown_fields`); `compile.rs` turns a `RawRule` into a checked
//! `Rule` and points every error at the rule file's line and column, which is
//! why the C snippets are kept as `Spanned` strings.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub id: Spanned<String>,
    pub kind: Spanned<String>,
    pub title: String,
    #[serde(default)]
    pub doc: RawDoc,
    #[serde(default)]
    pub metavars: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub defaults: BTreeMap<String, Spanned<String>>,
    #[serde(default, rename = "match")]
    pub matches: Vec<RawMatch>,
    pub acquire: Option<RawAcquire>,
    pub release: Option<RawRelease>,
    #[serde(default)]
    pub constraints: RawConstraints,
    #[serde(default)]
    pub rewrite: BTreeMap<String, Spanned<String>>,
    pub flow: Option<RawFlow>,
    #[serde(default, rename = "example")]
    pub examples: Vec<RawExample>,
    #[serde(default, rename = "counterexample")]
    pub counterexamples: Vec<RawCounterexample>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDoc {
    #[serde(default)]
    pub what: String,
    #[serde(default)]
    pub why: String,
    #[serde(default)]
    pub safety: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMatch {
    pub pattern: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAcquire {
    pub family: Spanned<String>,
    pub pages: Spanned<String>,
    pub count: Option<Spanned<String>>,
    pub flags: Option<Spanned<String>>,
    /// Flags the call takes whatever its flags argument says
    /// (`get_user_pages_longterm()` is `FOLL_LONGTERM`).
    #[serde(default)]
    pub implied_flags: Vec<String>,
    /// The address space the pages come from (`get_user_pages_remote()`).
    pub mm: Option<Spanned<String>>,
    /// Why this acquire is never rewritten for a target, by target name.
    #[serde(default)]
    pub manual: BTreeMap<String, String>,
    /// Functions the rewrite for a target calls that not every kernel
    /// declares, by target name.
    #[serde(default)]
    pub requires: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRelease {
    pub family: Spanned<String>,
    pub page: Option<Spanned<String>>,
    pub array: Option<Spanned<String>>,
    pub count: Option<Spanned<String>>,
    pub index: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConstraints {
    /// metavariable -> metavariables whose binding it must not mention.
    #[serde(default)]
    pub not_mentions: BTreeMap<String, Vec<Spanned<String>>>,
    /// metavariable -> regular expression its text must match.
    #[serde(default)]
    pub regex: BTreeMap<String, Spanned<String>>,
    /// Patterns the match must not also match.
    #[serde(default)]
    pub not: Vec<Spanned<String>>,
    /// Patterns of which one must match a node enclosing the match.
    #[serde(default)]
    pub inside: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFlow {
    #[serde(default)]
    pub allocators: Vec<String>,
    #[serde(default)]
    pub page_allocators: Vec<String>,
    #[serde(default)]
    pub clearing_calls: Vec<String>,
    #[serde(default)]
    pub array_uses: Vec<String>,
    #[serde(default)]
    pub page_uses: Vec<String>,
    #[serde(default)]
    pub extra_references: Vec<String>,
    #[serde(default)]
    pub releases: Vec<String>,
    #[serde(default)]
    pub evidence_dma: Vec<String>,
    #[serde(default)]
    pub evidence_write: Vec<String>,
    #[serde(default)]
    pub data_access: Vec<String>,
    #[serde(default)]
    pub metadata_only: Vec<String>,
    #[serde(default)]
    pub notifier_registrations: Vec<String>,
    #[serde(default)]
    pub symbol_exports: Vec<String>,
    #[serde(default)]
    pub tracepoint_macros: Vec<String>,
    #[serde(default)]
    pub element_stores: Vec<RawElementCall>,
    #[serde(default)]
    pub element_loads: Vec<RawElementCall>,
    #[serde(default)]
    pub element_steps: Vec<RawElementCall>,
    #[serde(default)]
    pub iterators: Vec<RawIterator>,
    #[serde(default)]
    pub element_fields: Vec<String>,
    #[serde(default)]
    pub container_fields: Vec<String>,
    #[serde(default)]
    pub borrowing_fields: Vec<String>,
    #[serde(default)]
    pub transparent: Vec<String>,
    #[serde(default)]
    pub identities: Vec<String>,
    #[serde(default)]
    pub error_pointers: Vec<String>,
    #[serde(default)]
    pub identity_types: Vec<String>,
    #[serde(default)]
    pub narrow_types: Vec<String>,
    #[serde(default)]
    pub unsigned_types: Vec<String>,
    #[serde(default)]
    pub error_value_tests: Vec<String>,
}

/// A call that stores a page into, reads a page from, or steps through an
/// array of containers (`sg_set_page(sg, page, ...)`, `sg_page(sg)`,
/// `sg_next(sg)`); arguments are 0-based.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawElementCall {
    pub call: String,
    pub container: usize,
    pub page: Option<usize>,
    /// For a store: the argument is an array whose every page is stored.
    pub array: Option<usize>,
}

/// An iterator macro whose argument `cursor` walks the array `array`
/// (`for_each_sg(sgl, sg, nents, i)`: cursor 1, array 0).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIterator {
    pub name: String,
    pub cursor: usize,
    pub array: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExample {
    pub target: Spanned<String>,
    pub before: String,
    pub after: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCounterexample {
    pub target: Spanned<String>,
    pub before: String,
    #[serde(default)]
    pub why: String,
}
