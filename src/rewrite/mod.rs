//! Turning edits into new file contents and unified diffs.
//!
//! This module knows nothing about matching or about patch series; it only
//! renders what changed in one file.

pub mod diff;
