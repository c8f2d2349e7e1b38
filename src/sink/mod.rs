//! Sinks: the only code with side effects. Each consumes a pipeline
//! `Outcome`; which one runs is chosen once, by the command.

pub mod files;
pub mod print;
