//! The only code that writes anything: format-patch files and git branches.
//!
//! Both sinks consume the same `Series` values that the dry run prints, so a
//! preview cannot drift from what is written.

pub mod git;
pub mod mbox;
