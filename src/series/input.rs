//! The types the rewriter hands to the series layer, and the one operation
//! on them that the series layer needs: applying a file's edits to its
//! original bytes.
//!
//! Everything here works on bytes, not strings, because kernel sources may
//! contain Latin-1 comments and CRLF line endings that must survive untouched.

/// One byte-range replacement on a file's original bytes (half-open, non-overlapping within a file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub start: usize,
    pub end: usize,
    pub text: Vec<u8>,
}

/// How hard a conversion unit is to review; decides which series it goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Class {
    Easy,
    Local,
    CrossFile,
    Manual,
}

impl Class {
    /// The stable slug used in series names, e.g. `cross-file`.
    pub fn slug(self) -> &'static str {
        match self {
            Class::Easy => "easy",
            Class::Local => "local",
            Class::CrossFile => "cross-file",
            Class::Manual => "manual",
        }
    }
}

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

/// What a converted release becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// `pin_user_pages*()` and `unpin_user_page*()` (Linux 5.6 and later).
    Unpin,
    /// The 2018 proposal: keep the acquire, release with `put_user_page*()`.
    PutUserPage,
}

/// Applies non-overlapping edits to `original` and returns the new bytes.
///
/// The edits may come in any order; they are applied in order of their start
/// offset. Callers guarantee that they do not overlap and lie within
/// `original`; an edit that violates this panics, because it is a bug in the
/// rewriter rather than a property of the input.
pub fn apply_edits(original: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.start, e.end));
    let mut out = Vec::with_capacity(original.len() + 64);
    let mut pos = 0;
    for e in sorted {
        assert!(
            e.start >= pos && e.start <= e.end && e.end <= original.len(),
            "overlapping or out-of-range edit {}..{}",
            e.start,
            e.end
        );
        out.extend_from_slice(&original[pos..e.start]);
        out.extend_from_slice(&e.text);
        pos = e.end;
    }
    out.extend_from_slice(&original[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_edits_in_offset_order() {
        let edits = [
            Edit { start: 6, end: 11, text: b"there".to_vec() },
            Edit { start: 0, end: 5, text: b"Hi".to_vec() },
        ];
        assert_eq!(apply_edits(b"hello world\r\n", &edits), b"Hi there\r\n");
    }
}
