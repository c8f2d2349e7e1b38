//! The C front end: unpreprocessed kernel C in, a tree-sitter syntax tree with
//! its parse errors out, plus typed views for the engine.
//!
//! This module knows nothing about rules, patches or git. Parsing never fails:
//! a region with parse errors is part of the result, reported by the callers
//! and never rewritten.

pub mod defines;
pub mod macros;
pub mod node;
pub mod offsets;
pub mod parse;
pub mod precedence;
pub mod skeleton;
pub mod syntax;

pub use node::NodeExt;
pub use parse::{parse, LineIndex, Parsed};
