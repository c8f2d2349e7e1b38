//! Self-checks on rewritten text: it must parse with no more errors than the
//! original had.
//!
//! The check counts ERROR and MISSING nodes after the same macro pass the
//! original went through, over the whole file or, for a rewrite, over both
//! texts with the function bodies it does not touch left out alike
//! (`rewrite_parses_no_worse`). A rewrite that adds one is a
//! bug in a rule or in the rewriter; the caller drops the units responsible
//! and reports them instead of writing a file it cannot read back.

use crate::c::macros::{neutralise, MacroTable};
use crate::c::parse::{parse, skeleton_error_count};
use crate::c::skeleton::{body_candidates, remove_misled, BodyCandidate};
use crate::rewrite::Edit;

/// Errors in `text`, or `None` when no tree could be built.
pub fn error_count(text: &[u8]) -> Option<usize> {
    parse(text).map(|p| p.error_count())
}

/// Whether `after` parses with no more errors than `before_errors`.
pub fn parses_no_worse(before_errors: usize, after: &[u8]) -> bool {
    error_count(after).is_some_and(|n| n <= before_errors)
}

/// Whether `after`, the text `edits` (sorted, disjoint) make of `before`,
/// parses with no more errors than `before`. The function bodies no edit
/// touches are the same text on both sides: both are counted with those
/// left out (`parse::skeleton_error_count`), so a rewrite of a few
/// functions of a large file parses only those. A body either side's tree
/// does not hold as a function's is read as written on both sides, as
/// `parse_skeleton` does; when that fails too, both are parsed whole.
pub fn rewrite_parses_no_worse(before: &[u8], after: &[u8], edits: &[Edit]) -> bool {
    // The macro pass of each side, made for the bodies; the first count
    // takes the one of `before`. Each count takes its side's text (its
    // parse blanks bodies in it), and the pass of `after` is made again for
    // its count, so that while a tree is built only its own side's text is
    // alive beside the two files: on a large file each is many times
    // smaller than the tree, but not negligible.
    let neutral = |text: &[u8]| neutralise(text, MacroTable::builtin());
    let neutral_before = neutral(before);
    let (mut left_before, mut left_after) = {
        let neutral_after = neutral(after);
        untouched_bodies((before, &neutral_before), (after, &neutral_after), edits)
    };
    let mut first = Some(neutral_before);
    for _attempt in 0..2 {
        if left_before.is_empty() {
            break;
        }
        let neutral_before = first.take().unwrap_or_else(|| neutral(before));
        let counted_before = skeleton_error_count(neutral_before, &left_before);
        // The first tree's pages go back before the second is built: on a
        // large file each is many times the text.
        crate::memory::give_back();
        let counted_after = skeleton_error_count(neutral(after), &left_after);
        let misled = match (counted_before, counted_after) {
            (Ok(b), Ok(a)) => return a <= b,
            (b, a) => {
                let mut misled: Vec<usize> = b.err().into_iter().chain(a.err()).flatten().collect();
                misled.sort_unstable();
                misled.dedup();
                misled
            }
        };
        if misled.is_empty() {
            break;
        }
        // The two lists are twins, index for index.
        remove_misled(&mut left_before, &misled);
        remove_misled(&mut left_after, &misled);
    }
    match (error_count(before), error_count(after)) {
        (Some(b), Some(a)) => a <= b,
        _ => false,
    }
}

/// The candidate bodies (`skeleton::body_candidates`) of `before` that no
/// edit touches and that are, moved by the edits before them, candidate
/// bodies of `after` with the same text: in `before`, and in `after`. Each
/// side is given as written and after the macro pass.
fn untouched_bodies(
    (before, neutral_before): (&[u8], &[u8]),
    (after, neutral_after): (&[u8], &[u8]),
    edits: &[Edit],
) -> (Vec<BodyCandidate>, Vec<BodyCandidate>) {
    let in_after = body_candidates(neutral_after);
    let mut left_before = Vec::new();
    let mut left_after = Vec::new();
    // The candidates and the edits are both in file order: one sweep keeps
    // the shift of the edits wholly before the candidate's region.
    let mut shift: isize = 0;
    let mut next = 0;
    for c in body_candidates(neutral_before) {
        let (start, end) = (c.region.start, c.close + 1);
        while let Some(e) = edits.get(next).filter(|e| e.end < start) {
            shift += e.text.len() as isize - (e.end - e.start) as isize;
            next += 1;
        }
        // The first edit not wholly before the region touches it (an edit
        // ending where the region starts counts) unless it starts past it.
        if edits.get(next).is_some_and(|e| e.start <= end) {
            continue;
        }
        let moved = |x: usize| x.checked_add_signed(shift);
        let (Some(open), Some(close)) = (moved(c.open), moved(c.close)) else {
            continue;
        };
        let Ok(i) = in_after.binary_search_by_key(&open, |a| a.open) else {
            continue;
        };
        let twin = &in_after[i];
        if twin.close == close && after.get(open..=close) == before.get(c.open..=c.close) {
            left_after.push(twin.clone());
            left_before.push(c);
        }
    }
    (left_before, left_after)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "int a;\n\nstatic int one(int x)\n{\n\treturn put_page(x);\n}\n\nstatic int broken(int x)\n{\n\treturn x +;\n}\n\nstatic int three(int x)\n{\n\treturn x;\n}\n";

    /// `untouched_bodies` of two texts, each with its macro pass.
    fn untouched(
        before: &[u8],
        after: &[u8],
        edits: &[Edit],
    ) -> (Vec<BodyCandidate>, Vec<BodyCandidate>) {
        let table = MacroTable::builtin();
        let (neutral_before, neutral_after) = (neutralise(before, table), neutralise(after, table));
        untouched_bodies((before, &neutral_before), (after, &neutral_after), edits)
    }

    /// `FILE` with `from` replaced by `to` (once), and the edit.
    fn edited(from: &str, to: &str) -> (Vec<u8>, Vec<Edit>) {
        let start = FILE.find(from).unwrap();
        let edit = Edit {
            start,
            end: start + from.len(),
            text: to.as_bytes().to_vec(),
        };
        let edits = vec![edit];
        (crate::rewrite::apply_edits(FILE.as_bytes(), &edits), edits)
    }

    #[test]
    fn a_rewrite_is_checked_beside_the_errors_it_did_not_make() {
        // A function the edit leaves alone keeps its parse error on both
        // sides, and the edit (which moves it) adds none.
        let (after, edits) = edited("put_page(x)", "unpin_user_page(x)\n\t\t/* moved */");
        assert!(rewrite_parses_no_worse(FILE.as_bytes(), &after, &edits));
        let (left_before, left_after) = untouched(FILE.as_bytes(), &after, &edits);
        assert_eq!(left_before.len(), 2);
        assert_eq!(left_after.len(), 2);
        assert!(left_after[0].open > left_before[0].open);
        // An edit ending where a body's region begins touches that body:
        // only the last one is left out then.
        let at = FILE.find("}\n\nstatic int broken").unwrap() + 1;
        let edits = vec![Edit {
            start: at,
            end: at,
            text: b"\n".to_vec(),
        }];
        let after = crate::rewrite::apply_edits(FILE.as_bytes(), &edits);
        let (left_before, left_after) = untouched(FILE.as_bytes(), &after, &edits);
        assert_eq!(left_before.len(), 1);
        assert_eq!(left_after[0].open, left_before[0].open + 1);
        assert!(rewrite_parses_no_worse(FILE.as_bytes(), &after, &edits));
        // An edit that breaks the function it rewrites is caught.
        let (after, edits) = edited("put_page(x)", "unpin_user_page(x,");
        assert!(!rewrite_parses_no_worse(FILE.as_bytes(), &after, &edits));
    }

    #[test]
    fn a_body_the_layout_misled_is_read_as_written_on_both_sides() {
        // A block after a macro is laid out like a body but is no
        // function's: both texts are counted with it read as written and
        // the functions left out, and a broken rewrite is still caught.
        let file = format!("#define twice(a) ((a) + (a))\n{{\n\tx = 1;\n}}\n\n{FILE}");
        let start = file.find("put_page(x)").unwrap();
        let check = |to: &str| {
            let edits = vec![Edit {
                start,
                end: start + "put_page(x)".len(),
                text: to.as_bytes().to_vec(),
            }];
            let after = crate::rewrite::apply_edits(file.as_bytes(), &edits);
            let (left_before, left_after) = untouched(file.as_bytes(), &after, &edits);
            assert_eq!(left_before.len(), 3);
            let neutral = |text: &[u8]| neutralise(text, MacroTable::builtin());
            assert_eq!(
                skeleton_error_count(neutral(file.as_bytes()), &left_before),
                Err(vec![0])
            );
            assert_eq!(
                skeleton_error_count(neutral(&after), &left_after),
                Err(vec![0])
            );
            rewrite_parses_no_worse(file.as_bytes(), &after, &edits)
        };
        assert!(check("unpin_user_page(x)"));
        assert!(!check("unpin_user_page(x,"));
    }
}
