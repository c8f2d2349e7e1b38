//! From the engine's plans to new file text: byte edits, verification and
//! diffs.
//!
//! This module never decides what matches; it renders what the engine
//! planned. Edits are byte ranges on the original file, so comments,
//! whitespace, line endings and non-UTF-8 bytes outside an edit are kept
//! exactly. A rewritten file must re-parse with no new errors, or the units
//! that broke it are dropped and reported.

pub mod diff;
pub mod edit;
pub mod patch;
pub mod template;
pub mod verify;

pub use edit::{apply_edits, Edit};
