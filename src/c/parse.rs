//! Parsing: original bytes -> macro pass -> tree-sitter tree with errors.
//!
//! The tree is built from the neutralised copy of the file (same length as the
//! original, see `macros.rs`), so every node span indexes the original bytes
//! as well. One parser per thread is reused; parsing never fails. A file whose
//! parse tree cannot be built at all (tree-sitter gives up) is reported by
//! the caller as skipped.

use crate::c::defines::{DefineIndex, MacroDef};
use crate::c::macros::{neutralise, MacroTable};
use std::cell::RefCell;
use tree_sitter::{Node, Parser, Tree};

thread_local! {
    static PARSER: RefCell<Parser> = RefCell::new({
        let mut parser = Parser::new();
        parser
            .set_language(&tree_sitter_c::LANGUAGE.into())
            .expect("tree-sitter-c matches the linked tree-sitter ABI");
        parser
    });
}

/// A parsed C file: the original bytes, the neutralised bytes the tree was
/// built from, the tree, and where its lines and function-like macro
/// definitions begin.
pub struct Parsed {
    pub original: Vec<u8>,
    pub neutral: Vec<u8>,
    pub tree: Tree,
    pub lines: LineIndex,
    defines: DefineIndex,
}

/// Parses C source bytes. `None` only when tree-sitter returns no tree at all.
pub fn parse(original: &[u8]) -> Option<Parsed> {
    let neutral = neutralise(original, MacroTable::builtin());
    let tree = parse_raw(&neutral)?;
    Some(Parsed {
        original: original.to_vec(),
        lines: LineIndex::new(original),
        defines: DefineIndex::of(original),
        neutral,
        tree,
    })
}

/// Parses bytes as they are, without the macro pass (rule patterns).
pub fn parse_raw(text: &[u8]) -> Option<Tree> {
    PARSER.with(|p| p.borrow_mut().parse(text, None))
}

impl Parsed {
    /// The original bytes a node spans.
    pub fn text(&self, node: Node) -> &[u8] {
        &self.original[node.start_byte()..node.end_byte()]
    }

    /// The neutralised bytes a node spans (what the grammar saw).
    pub fn neutral_text(&self, node: Node) -> &[u8] {
        &self.neutral[node.start_byte()..node.end_byte()]
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

/// Maps byte offsets to 1-based line numbers.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &[u8]) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text).map(|i| i + 1));
        LineIndex { starts }
    }

    pub fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    /// Byte offset where the line holding `offset` starts.
    pub fn line_start(&self, offset: usize) -> usize {
        self.starts[self.line_of(offset) - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_errors_and_lines() {
        let p = parse(b"int f(void)\n{\n\treturn 1 +;\n}\n").unwrap();
        assert!(p.error_count() >= 1);
        assert_eq!(p.line_of(0), 1);
        assert_eq!(p.line_of(13), 2);
        let clean = parse(b"static int __init f(void __user *p)\n{\n\treturn 0;\n}\n").unwrap();
        assert_eq!(clean.error_count(), 0);
    }
}
