//! The types the rewriter hands to the series layer, and the one operation
//! on them that the series layer needs: applying a file's edits to its
//! original bytes.
//!
//! Everything here works on bytes, not strings, because kernel sources may
//! contain Latin-1 comments and CRLF line endings that must survive untouched.

pub use crate::engine::Class;
pub use crate::rewrite::Edit;
pub use crate::rule::Target;

/// A group of edits that must land together (an acquire and all its releases), in one file or several.
#[derive(Clone, Debug)]
pub struct Unit {
    pub class: Class,
    pub rule_ids: Vec<String>,
    /// Path relative to the tree root, `/` separated, and the edit on it.
    pub edits: Vec<(String, Edit)>,
    pub acquire_sites: usize,
    pub release_sites: usize,
    /// One line such as `drivers/foo/bar.c:123 foo_pin(): get_user_pages_fast() -> pin_user_pages_fast(), 2 releases`.
    pub summary: String,
}

/// A site pinpatch found but left for a human, listed in cover letters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ManualSite {
    pub path: String,
    pub line: usize,
    pub function: String,
    pub reason: String,
}

/// Applies non-overlapping edits to `original` and returns the new bytes.
///
/// The edits may come in any order; they are applied in order of their start
/// offset. The rewriter guarantees that they do not overlap and lie within
/// `original`.
pub fn apply_edits(original: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut sorted: Vec<Edit> = edits.to_vec();
    sorted.sort_by_key(|e| (e.start, e.end));
    crate::rewrite::apply_edits(original, &sorted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_edits_in_offset_order() {
        let edits = [
            Edit {
                start: 6,
                end: 11,
                text: b"there".to_vec(),
            },
            Edit {
                start: 0,
                end: 5,
                text: b"Hi".to_vec(),
            },
        ];
        assert_eq!(apply_edits(b"hello world\r\n", &edits), b"Hi there\r\n");
    }
}
