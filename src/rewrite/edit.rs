//! Byte-range edits on a file's original text.

/// Replace `start..end` of the original bytes with `text`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edit {
    pub start: usize,
    pub end: usize,
    pub text: Vec<u8>,
}

impl Edit {
    /// True when the edit changes nothing: no bytes replaced, none written.
    pub fn is_empty(&self) -> bool {
        self.start == self.end && self.text.is_empty()
    }
}

/// Applies edits, which must be sorted and non-overlapping.
pub fn apply_edits(original: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut out = Vec::with_capacity(original.len() + 64);
    let mut pos = 0;
    for e in edits {
        debug_assert!(
            e.start >= pos && e.end >= e.start,
            "edits are sorted and disjoint"
        );
        out.extend_from_slice(&original[pos..e.start]);
        out.extend_from_slice(&e.text);
        pos = e.end;
    }
    out.extend_from_slice(&original[pos..]);
    out
}

/// Whether two edits touch the same bytes (an insertion at the boundary of
/// another edit counts as touching).
pub fn overlaps(a: &Edit, b: &Edit) -> bool {
    a.start < b.end && b.start < a.end
        || (a.start == a.end || b.start == b.end) && a.start <= b.end && b.start <= a.end
}

/// Shrinks an edit to the bytes that really change.
pub fn minimize(original: &[u8], mut edit: Edit) -> Edit {
    let old = &original[edit.start..edit.end];
    let prefix = old
        .iter()
        .zip(&edit.text)
        .take_while(|(a, b)| a == b)
        .count();
    let old_rest = &old[prefix..];
    let new_rest = &edit.text[prefix..];
    let suffix = old_rest
        .iter()
        .rev()
        .zip(new_rest.iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let text = edit.text[prefix..edit.text.len() - suffix].to_vec();
    edit.end -= suffix;
    edit.start += prefix;
    edit.text = text;
    edit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimize_and_apply() {
        let src = b"x = get_user_pages_fast(a, b);";
        let e = minimize(
            src,
            Edit {
                start: 4,
                end: 29,
                text: b"pin_user_pages_fast(a, b)".to_vec(),
            },
        );
        assert_eq!((e.start, e.end, e.text.as_slice()), (4, 7, &b"pin"[..]));
        assert_eq!(apply_edits(src, &[e]), b"x = pin_user_pages_fast(a, b);");
    }
}
