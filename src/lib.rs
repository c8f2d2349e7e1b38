//! pinpatch rewrites C the way Coccinelle does, and follows pinned user pages
//! from the `get_user_pages*()` call that acquires them to every `put_page()`
//! that releases them.
//!
//! Modules in pipeline order:
//! - `memory`: freed memory given back to the system between phases, as
//!   the binary says (every layer may ask).
//! - `source`: which files a run reads (git index aware), and reading them.
//! - `c`: the C front end, tree-sitter on unpreprocessed code after a
//!   same-length macro pass; typed views over the tree.
//! - `rule`: declarative rule files (TOML with C snippets) -> checked rules.
//! - `engine`: pattern matching and page-provenance dataflow -> sites,
//!   units and planned replacements. Never edits text.
//! - `rewrite`: plans -> byte edits -> new text, verified by re-parsing;
//!   git-style diffs.
//! - `pipeline`: runs all of the above over a tree, in parallel, in a
//!   deterministic order.
//! - `sink`: diff and report printers, in-place writes.
//! - `ruletest`: a pack's examples, counterexamples and isomorphism cases
//!   run through the pipeline (`pinpatch test-rules`).
//! - `cli`: arguments, exit codes.

pub mod c;
pub mod cli;
pub mod engine;
pub mod memory;
pub mod pipeline;
pub mod rewrite;
pub mod rule;
pub mod ruletest;
pub mod series;
pub mod sink;
pub mod source;
