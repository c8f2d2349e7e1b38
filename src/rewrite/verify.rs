//! Self-checks on rewritten text: it must parse with no more errors than the
//! original had.
//!
//! The check counts ERROR and MISSING nodes over the whole file after the
//! same macro pass the original went through. A rewrite that adds one is a
//! bug in a rule or in the rewriter; the caller drops the units responsible
//! and reports them instead of writing a file it cannot read back.

use crate::c::parse::parse;

/// Errors in `text`, or `None` when no tree could be built.
pub fn error_count(text: &[u8]) -> Option<usize> {
    parse(text).map(|p| p.error_count())
}

/// Whether `after` parses with no more errors than `before_errors`.
pub fn parses_no_worse(before_errors: usize, after: &[u8]) -> bool {
    error_count(after).is_some_and(|n| n <= before_errors)
}
