//! The types the rewriter hands to the series layer, and the one operation
//! on them that the series layer needs: applying a file's edits to its
//! original bytes.
//!
//! Everything here works on bytes, not strings, because kernel sources may
//! contain Latin-1 comments and CRLF line endings that must survive untouched.

pub use crate::engine::reason::Place;
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
    /// What the commit message says about the unit.
    pub facts: Facts,
    /// Set when the unit repairs a mismatch instead of converting a flow.
    pub fix: Option<Fix>,
}

/// A call the unit changes: its name before and after, and where it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallChange {
    pub from: String,
    pub to: String,
    /// Where the call is: its file, line and function.
    pub at: Place,
    /// The call is a loop releasing the pages one at a time.
    pub looped: bool,
    /// The argument of a one-page release (`vm->monitor_page`).
    pub argument: String,
    /// The dirtying call a one-page release folds in
    /// (`set_page_dirty_lock(p); put_page(p);` becoming one
    /// `unpin_user_pages_dirty_lock()`), or empty.
    pub folded: String,
    /// What the call becomes, on one line (`unpin_user_pages(pages, n)`).
    pub rewritten: String,
}

/// The facts of a unit a commit message explains.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    /// The function holding the (first) acquire.
    pub function: String,
    /// The pages expression of the acquire (`pages`, `&page`).
    pub pages: String,
    /// Acquires, with what they become (`to` empty when unchanged).
    pub acquires: Vec<CallChange>,
    /// Releases, with what they become (`to` empty when unchanged).
    pub releases: Vec<CallChange>,
    /// Why the pages need a pin, each with the `file:line` that shows it.
    pub evidence: Vec<(Evidence, Place)>,
    /// The acquire asks for write access (`FOLL_WRITE`).
    pub write: bool,
    /// The condition under which it does, for `cond ? FOLL_WRITE : 0`.
    pub write_condition: Option<String>,
    /// The acquire passes `FOLL_LONGTERM`.
    pub longterm: bool,
    /// The pages are released in another function than the one that takes
    /// them, so they are held beyond the acquiring call.
    pub held_beyond_call: bool,
    /// Changes of behaviour beyond the renaming, as sentences.
    pub changes: Vec<String>,
    /// The case of `pin_user_pages.rst` the engine found for the unit.
    pub case: Option<crate::engine::reason::PinCase>,
}

/// One piece of evidence for a pin, as the engine names it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Evidence {
    /// The pages are handed to a device or hypervisor (`sg_set_page()`,
    /// `page_to_phys()`, `dma_map_page()`...): the call's name.
    Dma(String),
    /// The data within the pages is written or the pages are dirtied.
    Write(String),
    /// The pages are kept in a struct field (`struct x::y`) or a container
    /// element (`stored_in`).
    Stored(String),
    /// The acquire passes `FOLL_LONGTERM`.
    LongTerm,
}

/// Where a piece of the engine's evidence says the pages are stored, as
/// the messages name it (`struct x::y`, `a container element`); `None`
/// when it is no store.
pub fn stored_in(evidence: &crate::engine::Evidence) -> Option<String> {
    use crate::engine::Evidence as E;
    match evidence {
        E::StoredIn(field) => Some(format!("struct {field}")),
        E::ContainerElement => Some("a container element".to_string()),
        E::LongTermFlag | E::Call(_) => None,
    }
}

/// Which mismatch a fix repairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FixKind {
    /// Pinned pages released with `put_page()`: the releases are fixed.
    PinnedPut,
    /// Referenced pages released with `unpin_user_page*()`: the acquire is
    /// fixed to pin them.
    GotUnpinned,
}

/// A mismatch between acquire and release: what the fix patch says.
#[derive(Clone, Debug)]
pub struct Fix {
    pub kind: FixKind,
    /// The acquire, e.g. `pin_user_pages_fast`, and where it is; for
    /// `GotUnpinned`, with what it becomes.
    pub acquire: CallChange,
    /// The wrong releases and what they become (none for `GotUnpinned`).
    pub releases: Vec<CallChange>,
    /// Releases of the same pages already done right (`file:line` and call).
    pub correct: Vec<CallChange>,
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
