//! Parsing: original bytes -> macro pass -> tree-sitter tree with errors.
//!
//! The tree is built from the neutralised copy of the file (same length as the
//! original, see `macros.rs`), so every node span indexes the original bytes
//! as well. One parser per thread is reused; parsing never fails. A file whose
//! parse tree cannot be built at all (tree-sitter gives up) is reported by
//! the caller as skipped.

use crate::c::defines::{DefineIndex, MacroDef};
use crate::c::macros::{neutralise, MacroTable};
use crate::c::skeleton::{body_candidates, left_out_at, remove_misled, BodyCandidate};
use std::cell::RefCell;
use std::sync::Arc;
use tree_sitter::{InputEdit, Node, Parser, Point, Range, Tree};

thread_local! {
    static PARSER: RefCell<Parser> = RefCell::new({
        let mut parser = Parser::new();
        parser
            .set_language(&tree_sitter_c::LANGUAGE.into())
            .expect("tree-sitter-c matches the linked tree-sitter ABI");
        parser
    });
}

/// A parsed C file: the original bytes, the tree built from their
/// neutralised copy (dropped once parsed: every node's span indexes the
/// original), and where its lines and function-like macro definitions
/// begin.
pub struct Parsed {
    /// Shared with the parses of the same file made again (`Parsed::again`)
    /// and with what the pipeline keeps of it once its tree is dropped.
    pub original: Arc<[u8]>,
    pub tree: Tree,
    pub lines: LineIndex,
    defines: DefineIndex,
    /// The function bodies whose inside the tree leaves out
    /// (`parse_skeleton`), in file order; empty for a whole parse.
    pub left_out: Vec<BodyCandidate>,
}

/// Parses C source bytes. `None` only when tree-sitter returns no tree at all.
pub fn parse(original: &[u8]) -> Option<Parsed> {
    let neutral = neutralise(original, MacroTable::builtin());
    let tree = parse_raw(&neutral)?;
    Some(Parsed::new(original.into(), tree, Vec::new()))
}

/// Parses C source bytes, leaving out the inside of each function body
/// (`skeleton::body_candidates`) whose region `keep` refuses: the grammar
/// reads it as blanks, so the tree holds those functions with an empty
/// body. A body the tree does not show as the body of a function
/// definition lying inside its region (the layout misled the candidates)
/// is read as written and the file parsed again; the whole file is parsed
/// when no body is left out, or when that tree fails the check too.
/// `None` only when tree-sitter returns no tree at all.
pub fn parse_skeleton(original: Arc<[u8]>, keep: &dyn Fn(&[u8]) -> bool) -> Option<Parsed> {
    skeleton(original, None, keep)
}

impl Parsed {
    /// The file parsed again as `parse_skeleton` parses it, reusing this
    /// parse's tree wherever its text is the same (tree-sitter's
    /// incremental parse: only the bodies whose inside is read now and was
    /// not before, or the reverse, are parsed).
    pub fn again(&self, keep: &dyn Fn(&[u8]) -> bool) -> Option<Parsed> {
        skeleton(
            self.original.clone(),
            Some((&self.tree, &self.left_out, &self.lines)),
            keep,
        )
    }
}

/// A skeleton parse, incremental from an earlier one's tree and the bodies
/// it left out.
///
/// When the tree does not hold some bodies left out as function bodies
/// (a layout that misled the candidates, such as `SYSCALL_DEFINE2(...)`
/// heads the grammar reads as no declarator), those are read as written and
/// the file parsed once more, from scratch; the whole file is parsed only
/// when that tree fails the check too.
fn skeleton(
    original: Arc<[u8]>,
    earlier: Option<(&Tree, &[BodyCandidate], &LineIndex)>,
    keep: &dyn Fn(&[u8]) -> bool,
) -> Option<Parsed> {
    let lines = match earlier {
        Some((_, _, lines)) => lines.clone(),
        None => LineIndex::new(&original),
    };
    let mut earlier = earlier.map(|(tree, before, _)| (tree, before));
    let mut neutral = neutralise(&original, MacroTable::builtin());
    let mut left_out: Vec<BodyCandidate> = body_candidates(&neutral)
        .into_iter()
        .filter(|c| !keep(&original[c.region.clone()]))
        .collect();
    // Whether a parse blanked bodies in `neutral`, which must then be made
    // again before the bodies found misled are read as written.
    let mut blanked = false;
    for _attempt in 0..2 {
        if left_out.is_empty() {
            break;
        }
        if std::mem::take(&mut blanked) {
            neutral = neutralise(&original, MacroTable::builtin());
        }
        let earlier_tree = earlier
            .take()
            .map(|(tree, before)| edited(tree, before, &left_out, &lines));
        blanked = blanks_some(&left_out);
        let Some(tree) = parse_outside(&mut neutral, &left_out, &lines, earlier_tree.as_ref())
        else {
            break;
        };
        let misled = left_out_not_bodies(&tree, &left_out);
        if misled.is_empty() {
            return Some(Parsed::with_lines(original, tree, left_out, lines));
        }
        remove_misled(&mut left_out, &misled);
    }
    if blanked {
        neutral = neutralise(&original, MacroTable::builtin());
    }
    let tree = parse_raw(&neutral)?;
    Some(Parsed::with_lines(original, tree, Vec::new(), lines))
}

/// The parse errors of a text after the macro pass (`neutral`) without the
/// inside of the bodies `left_out`, as `parse_skeleton` would parse it;
/// else the indices (in order) of the bodies the tree does not hold as a
/// function's, as `parse_skeleton` finds them (none when tree-sitter gives
/// up). The parse may blank bodies in the text, which it takes: a large
/// file is not copied while its tree is built.
pub fn skeleton_error_count(
    mut neutral: Vec<u8>,
    left_out: &[BodyCandidate],
) -> Result<usize, Vec<usize>> {
    // The macro pass keeps every newline where it was: the lines are the
    // original's.
    let lines = LineIndex::new(&neutral);
    let tree = parse_outside(&mut neutral, left_out, &lines, None).ok_or_else(Vec::new)?;
    let misled = left_out_not_bodies(&tree, left_out);
    match misled.is_empty() {
        true => Ok(count_errors(tree.root_node())),
        false => Err(misled),
    }
}

/// How many bodies left out a parse skips at most (tree-sitter's included
/// ranges); the others are read as blanks. The lexer looks each token's
/// position up among the ranges one by one, so a file of many small
/// functions skipped whole would cost its tokens times its functions.
pub const MAX_SKIPPED_BODIES: usize = 64;

/// Parses `text` reading nothing inside the bodies `left_out` (in file
/// order), so that each is an empty block and every node keeps its offset,
/// line and column. The widest `MAX_SKIPPED_BODIES` bodies are skipped: the
/// grammar is given the text outside them as its included ranges, each
/// body's braces with them, and its lexer passes over them at once. The
/// inside of the others, when there are more, is blanked in `text` itself
/// (spaces, newlines kept; a large file's text is not copied), which the
/// lexer reads byte by byte. With no body left out, the whole text is read.
fn parse_outside(
    text: &mut [u8],
    left_out: &[BodyCandidate],
    lines: &LineIndex,
    earlier: Option<&Tree>,
) -> Option<Tree> {
    let mut skipped = vec![true; left_out.len()];
    if blanks_some(left_out) {
        let mut widest: Vec<usize> = (0..left_out.len()).collect();
        widest.sort_by_key(|&i| (std::cmp::Reverse(left_out[i].close - left_out[i].open), i));
        for &i in &widest[MAX_SKIPPED_BODIES..] {
            skipped[i] = false;
            let c = &left_out[i];
            for b in text[c.open + 1..c.close]
                .iter_mut()
                .filter(|b| **b != b'\n')
            {
                *b = b' ';
            }
        }
    }
    let point = |offset: usize| point_at(lines, offset);
    let range = |start: usize, end: usize| Range {
        start_byte: start,
        end_byte: end,
        start_point: point(start),
        end_point: point(end),
    };
    let mut ranges = Vec::with_capacity(left_out.len().min(MAX_SKIPPED_BODIES) + 1);
    let mut start = 0;
    for (c, _) in left_out.iter().zip(&skipped).filter(|(_, &skip)| skip) {
        ranges.push(range(start, c.open + 1));
        start = c.close;
    }
    ranges.push(range(start, text.len()));
    PARSER.with(|p| {
        let mut parser = p.borrow_mut();
        // Ranges out of order (bodies not in file order) would be refused:
        // the whole text is read then.
        let limited = !left_out.is_empty() && parser.set_included_ranges(&ranges).is_ok();
        let tree = parser.parse(&*text, earlier);
        if limited {
            parser
                .set_included_ranges(&[])
                .expect("no ranges is the whole text");
        }
        tree
    })
}

/// Whether `parse_outside` blanks some of the bodies `left_out` in its text
/// (more than it skips).
fn blanks_some(left_out: &[BodyCandidate]) -> bool {
    left_out.len() > MAX_SKIPPED_BODIES
}

/// The row and column (both from 0) of a byte offset, as tree-sitter counts
/// them.
fn point_at(lines: &LineIndex, offset: usize) -> Point {
    Point {
        row: lines.line_of(offset).saturating_sub(1),
        column: offset - lines.line_start(offset),
    }
}

/// An earlier skeleton's tree, told of the bodies whose inside it read as
/// blanks and is now read as written, or the reverse (`Tree::edit`), so
/// that an incremental parse reads those again and reuses the rest.
fn edited(tree: &Tree, before: &[BodyCandidate], now: &[BodyCandidate], lines: &LineIndex) -> Tree {
    let point = |offset: usize| point_at(lines, offset);
    let mut tree = tree.clone();
    let changed = before
        .iter()
        .filter(|c| !left_out_at(now, c.open))
        .chain(now.iter().filter(|c| !left_out_at(before, c.open)));
    for c in changed {
        let (start, end) = (c.open + 1, c.close);
        tree.edit(&InputEdit {
            start_byte: start,
            old_end_byte: end,
            new_end_byte: end,
            start_position: point(start),
            old_end_position: point(end),
            new_end_position: point(end),
        });
    }
    tree
}

/// The indices (in order) of the bodies left out that are not, in `tree`,
/// the whole body of a function definition starting inside the body's
/// region. One walk in file order enters only the nodes that hold the next
/// body, so a file of many small functions costs its number of nodes, not
/// that times the tree's depth.
fn left_out_not_bodies(tree: &Tree, left_out: &[BodyCandidate]) -> Vec<usize> {
    let mut misled = Vec::new();
    let mut cursor = tree.walk();
    let mut walked_all = false;
    let mut next = 0;
    while let Some(c) = left_out.get(next) {
        let node = cursor.node();
        let body = (c.open, c.close + 1);
        if walked_all || node.start_byte() > c.open {
            // Walked past the body without finding its function: the next
            // body is looked for from the same node.
            misled.push(next);
            next += 1;
            continue;
        }
        if node.kind() == "function_definition"
            && node.start_byte() >= c.region.start
            && node.child_by_field_name("body").is_some_and(|b| {
                b.kind() == "compound_statement" && (b.start_byte(), b.end_byte()) == body
            })
        {
            next += 1;
        } else if node.end_byte() >= body.1 && cursor.goto_first_child() {
            continue;
        }
        // On to the next node that does not lie inside this one.
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                walked_all = true;
                break;
            }
        }
    }
    misled
}

/// Parses bytes as they are, without the macro pass (rule patterns).
pub fn parse_raw(text: &[u8]) -> Option<Tree> {
    PARSER.with(|p| p.borrow_mut().parse(text, None))
}

impl Parsed {
    fn new(original: Arc<[u8]>, tree: Tree, left_out: Vec<BodyCandidate>) -> Parsed {
        let lines = LineIndex::new(&original);
        Parsed::with_lines(original, tree, left_out, lines)
    }

    fn with_lines(
        original: Arc<[u8]>,
        tree: Tree,
        left_out: Vec<BodyCandidate>,
        lines: LineIndex,
    ) -> Parsed {
        Parsed {
            lines,
            defines: DefineIndex::of(&original),
            original,
            tree,
            left_out,
        }
    }

    /// The original bytes a node spans.
    pub fn text(&self, node: Node) -> &[u8] {
        &self.original[node.start_byte()..node.end_byte()]
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.lines.line_of(offset)
    }

    /// The function-like macro definitions of `name` in this file, in file
    /// order (see `DefineIndex::definitions_of`).
    pub fn macro_definitions(&self, name: &str) -> Vec<MacroDef> {
        self.defines.definitions_of(&self.original, name)
    }

    /// The names of this file's function-like macro definitions, each
    /// once (`DefineIndex::names`).
    pub fn macro_names(&self) -> impl Iterator<Item = &[u8]> {
        self.defines.names(&self.original)
    }

    /// Every function-like macro definition of this file, in file order.
    pub fn all_macro_definitions(&self) -> Vec<MacroDef> {
        self.defines.definitions(&self.original)
    }

    /// The names of this file's function-like macros whose body begins with
    /// a call: those that may forward to a function
    /// (`MacroDef::forwarded_to`).
    pub fn forwarding_macro_names(&self) -> Vec<&[u8]> {
        self.defines.forwarding_names(&self.original)
    }

    /// Number of ERROR and MISSING nodes in the whole tree.
    pub fn error_count(&self) -> usize {
        count_errors(self.tree.root_node())
    }
}

/// Counts ERROR and MISSING nodes below (and including) `node`, without recursion.
pub fn count_errors(node: Node) -> usize {
    let mut count = 0;
    crate::c::syntax::preorder(node, |n| {
        if n.is_error() || n.is_missing() {
            count += 1;
        }
        n.has_error()
    });
    count
}

/// Maps byte offsets to 1-based line numbers. Cheap to clone: the parses
/// of one file made again share it.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: LineStarts,
}

/// The byte offset of each line's first byte, in order: four bytes each
/// for any text under 4 GiB (a kernel file's lines take a quarter of a
/// byte each per byte of text), eight past that.
#[derive(Debug, Clone)]
enum LineStarts {
    Narrow(Arc<[u32]>),
    Wide(Arc<[usize]>),
}

impl LineIndex {
    pub fn new(text: &[u8]) -> LineIndex {
        let lines = memchr::memchr_iter(b'\n', text).count() + 1;
        let starts = std::iter::once(0).chain(memchr::memchr_iter(b'\n', text).map(|i| i + 1));
        let starts = match u32::try_from(text.len()) {
            Ok(_) => {
                let mut narrow = Vec::with_capacity(lines);
                // Every offset is at most the text's length, which fits.
                narrow.extend(starts.map(|at| at as u32));
                LineStarts::Narrow(narrow.into())
            }
            Err(_) => {
                let mut wide = Vec::with_capacity(lines);
                wide.extend(starts);
                LineStarts::Wide(wide.into())
            }
        };
        LineIndex { starts }
    }

    pub fn line_of(&self, offset: usize) -> usize {
        let found = match &self.starts {
            LineStarts::Narrow(starts) => match u32::try_from(offset) {
                Ok(offset) => starts.binary_search(&offset),
                Err(_) => Err(starts.len()),
            },
            LineStarts::Wide(starts) => starts.binary_search(&offset),
        };
        match found {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    /// Byte offset where the line holding `offset` starts.
    pub fn line_start(&self, offset: usize) -> usize {
        let line = self.line_of(offset) - 1;
        match &self.starts {
            LineStarts::Narrow(starts) => starts[line] as usize,
            LineStarts::Wide(starts) => starts[line],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_finds_each_offsets_line_and_its_start() {
        let lines = LineIndex::new(b"ab\n\ncd\n");
        let want = [
            (0, 1, 0),
            (2, 1, 0),
            (3, 2, 3),
            (4, 3, 4),
            (6, 3, 4),
            (7, 4, 7),
        ];
        for (offset, line, start) in want {
            assert_eq!(lines.line_of(offset), line, "offset {offset}");
            assert_eq!(lines.line_start(offset), start, "offset {offset}");
        }
        assert_eq!(lines.line_of(usize::MAX), 4);
    }

    #[test]
    fn counts_errors_and_lines() {
        let p = parse(b"int f(void)\n{\n\treturn 1 +;\n}\n").unwrap();
        assert!(p.error_count() >= 1);
        assert_eq!(p.line_of(0), 1);
        assert_eq!(p.line_of(13), 2);
        let clean = parse(b"static int __init f(void __user *p)\n{\n\treturn 0;\n}\n").unwrap();
        assert_eq!(clean.error_count(), 0);
    }

    /// Every node of a tree outside the ranges `left_out`, as (kind, start,
    /// end), in tree order.
    fn nodes_outside(tree: &Tree, left_out: &[BodyCandidate]) -> Vec<(String, usize, usize)> {
        let mut out = Vec::new();
        crate::c::syntax::preorder(tree.root_node(), |n| {
            let inside = left_out
                .iter()
                .any(|c| n.start_byte() > c.open && n.end_byte() <= c.close);
            if !inside {
                out.push((n.kind().to_string(), n.start_byte(), n.end_byte()));
            }
            true
        });
        out
    }

    const TWO_FUNCTIONS: &str = "struct s { int a; };\n\nstatic int used(struct s *p)\n{\n\treturn p->a + wanted();\n}\n\nvoid other(int x)\n{\n\tif (x) {\n\t\tx = 1 +;\n\t}\n}\n\nint last;\n";

    #[test]
    fn a_skeleton_leaves_out_the_bodies_refused_and_keeps_every_other_node() {
        let src = TWO_FUNCTIONS.as_bytes();
        let keep = |region: &[u8]| memchr::memmem::find(region, b"wanted").is_some();
        let skeleton = parse_skeleton(src.into(), &keep).unwrap();
        assert_eq!(skeleton.left_out.len(), 1);
        let body = &skeleton.left_out[0];
        assert_eq!(
            &TWO_FUNCTIONS[body.open..body.close + 1],
            "{\n\tif (x) {\n\t\tx = 1 +;\n\t}\n}"
        );
        // The function left out is still defined over its whole text, with
        // an empty body.
        let defs = crate::c::syntax::functions(skeleton.tree.root_node());
        let names: Vec<String> = defs.iter().map(|d| d.name(src)).collect();
        assert_eq!(names, ["used", "other"]);
        assert_eq!(defs[1].node.end_byte(), body.close + 1);
        assert_eq!(defs[1].body.named_child_count(), 0);
        // Every node outside the body is the whole parse's.
        let whole = parse(src).unwrap();
        assert_eq!(
            nodes_outside(&skeleton.tree, &skeleton.left_out),
            nodes_outside(&whole.tree, &skeleton.left_out)
        );
        // The body's parse error is not in the tree.
        assert_eq!(skeleton.error_count(), 0);
        assert!(whole.error_count() >= 1);
        assert_eq!(
            skeleton_error_count(src.to_vec(), &skeleton.left_out),
            Ok(0)
        );
    }

    #[test]
    fn parsed_again_a_skeleton_reads_the_bodies_now_kept() {
        let src = TWO_FUNCTIONS.as_bytes();
        let skeleton = parse_skeleton(src.into(), &|_: &[u8]| false).unwrap();
        assert_eq!(skeleton.left_out.len(), 2);
        let again = skeleton
            .again(&|region: &[u8]| memchr::memmem::find(region, b"x = 1").is_some())
            .unwrap();
        assert_eq!(again.left_out.len(), 1);
        assert_eq!(
            &TWO_FUNCTIONS[again.left_out[0].open..again.left_out[0].close + 1],
            "{\n\treturn p->a + wanted();\n}"
        );
        // The tree reused from the earlier parse is the tree a parse from
        // scratch with the same bodies left out builds.
        let fresh = parse_skeleton(src.into(), &|region: &[u8]| {
            memchr::memmem::find(region, b"x = 1").is_some()
        })
        .unwrap();
        assert_eq!(fresh.left_out, again.left_out);
        assert_eq!(
            again.tree.root_node().to_sexp(),
            fresh.tree.root_node().to_sexp()
        );
        let whole = skeleton.again(&|_: &[u8]| true).unwrap();
        assert!(whole.left_out.is_empty());
        assert_eq!(
            whole.tree.root_node().to_sexp(),
            parse(src).unwrap().tree.root_node().to_sexp()
        );
    }

    #[test]
    fn every_body_left_out_is_found_in_one_walk_or_the_check_fails() {
        // Functions at file scope and inside a conditional block are found
        // in order; a block no function owns, after them, fails the check.
        let good = "static int a(int x)\n{\n\treturn x;\n}\n\n#ifdef B\nint b(void)\n{\n\treturn 0;\n}\n#endif\n\nint c(int y)\n{\n\treturn y;\n}\n";
        let bad = format!("{good}#define twice(a) ((a) + (a))\n{{\n\tx = 1;\n}}\n");
        let check = |src: &str| {
            let candidates = body_candidates(src.as_bytes());
            let tree = parse_raw(src.as_bytes()).unwrap();
            (
                candidates.len(),
                left_out_not_bodies(&tree, &candidates).is_empty(),
            )
        };
        assert_eq!(check(good), (3, true));
        assert_eq!(check(&bad), (4, false));
        let tree = parse_raw(bad.as_bytes()).unwrap();
        assert_eq!(
            left_out_not_bodies(&tree, &body_candidates(bad.as_bytes())),
            vec![3]
        );
        // Any one body alone is found too.
        let tree = parse_raw(good.as_bytes()).unwrap();
        for c in body_candidates(good.as_bytes()) {
            assert!(left_out_not_bodies(&tree, &[c]).is_empty());
        }
    }

    #[test]
    fn a_body_the_layout_misled_is_read_as_written_and_the_others_left_out() {
        // The block after the macro is laid out like a body but is no
        // function's: it is read as written, the function's body still
        // left out, and every node outside it is the whole parse's.
        let src = b"#define twice(a) ((a) + (a))\n{\n\tx = 1;\n}\n\nstatic int used(int x)\n{\n\treturn x;\n}\n";
        assert_eq!(body_candidates(src).len(), 2);
        let p = parse_skeleton(src[..].into(), &|_: &[u8]| false).unwrap();
        assert_eq!(p.left_out.len(), 1);
        let body = &p.left_out[0];
        assert_eq!(&src[body.open..=body.close], b"{\n\treturn x;\n}");
        let whole = parse(src).unwrap();
        assert_eq!(
            nodes_outside(&p.tree, &p.left_out),
            nodes_outside(&whole.tree, &p.left_out)
        );
        assert_eq!(
            left_out_not_bodies(&whole.tree, &body_candidates(src)),
            vec![0]
        );
    }

    #[test]
    fn bodies_past_the_skipped_ones_are_read_as_blanks_with_the_same_tree() {
        // More bodies than a parse skips: the widest are skipped, the rest
        // blanked, and the tree is that of the same functions with empty
        // bodies, also when parsed again keeping some.
        let n = MAX_SKIPPED_BODIES + 9;
        let function = |i: usize, body: &str| format!("static int f{i}(int x)\n{{{body}}}\n\n");
        let full: String = (0..n)
            .map(|i| function(i, &format!("{}\n", "\n\tx += 1;".repeat(1 + i % 5))))
            .collect();
        let empty: String = (0..n).map(|i| function(i, "\n")).collect();
        let skeleton = parse_skeleton(full.as_bytes().into(), &|_: &[u8]| false).unwrap();
        assert_eq!(skeleton.left_out.len(), n);
        assert_eq!(skeleton.error_count(), 0);
        let want = parse(empty.as_bytes()).unwrap().tree.root_node().to_sexp();
        assert_eq!(skeleton.tree.root_node().to_sexp(), want);
        let keep = |region: &[u8]| region.windows(3).any(|w| w == b"f7(");
        let again = skeleton.again(&keep).unwrap();
        let fresh = parse_skeleton(full.as_bytes().into(), &keep).unwrap();
        assert_eq!(again.left_out.len(), n - 1);
        assert_eq!(
            again.tree.root_node().to_sexp(),
            fresh.tree.root_node().to_sexp()
        );
        assert_ne!(again.tree.root_node().to_sexp(), want);
    }

    #[test]
    fn a_layout_that_misleads_gives_a_whole_parse() {
        // A block at file scope after a macro ending in `)`: laid out like a
        // body, parsed as no function's.
        let src = b"#define twice(a) ((a) + (a))\n{\n\tx = 1;\n}\n";
        assert_eq!(body_candidates(src).len(), 1);
        let p = parse_skeleton(src[..].into(), &|_: &[u8]| false).unwrap();
        assert!(p.left_out.is_empty());
        assert_eq!(
            p.tree.root_node().to_sexp(),
            parse(src).unwrap().tree.root_node().to_sexp()
        );
    }
}
