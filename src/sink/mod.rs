//! Sinks: the only code with side effects. Each consumes what the pipeline
//! (and, for series, the series layer) produced; which one runs is chosen
//! once, by the command, so a preview cannot drift from what is written.

pub mod files;
pub mod git;
pub mod mbox;
pub mod print;
pub mod reason;
