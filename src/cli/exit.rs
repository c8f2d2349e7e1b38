//! The exit codes of pinpatch, in one table.

/// Everything went as asked.
pub const SUCCESS: u8 = 0;
/// `check` found unconverted GUP releases or mismatches missing from the
/// baseline, or `test-rules` found a failing case.
pub const FINDINGS: u8 = 1;
/// The command line could not be understood (clap's own code).
pub const USAGE: u8 = 2;
/// Input could not be read: a missing path, or files skipped as unreadable,
/// binary, links out of the tree or changed during the run (the rest of the
/// run was still done and printed); for `series` and `commit`, a work tree
/// that differs from the base, an unborn HEAD or a bare repository.
pub const INPUT: u8 = 3;
/// A rule file is malformed.
pub const RULES: u8 = 4;
/// Output could not be written, or would replace what pinpatch did not
/// write (a directory that is not a series output, a checked-out branch).
pub const OUTPUT: u8 = 5;
/// Interrupted (SIGINT, SIGTERM or SIGHUP) while writing: every file is
/// whole, old or new, no flow is half-written, and the message says how many
/// files were written (128 + SIGINT, as a shell reports it).
pub const INTERRUPTED: u8 = 130;
