//! Metavariable kinds: what a `$name` of a pattern may stand for.
//!
//! The kinds are Coccinelle's (`expression`, `identifier`, `statement`,
//! `constant`, `type`) plus C types (`struct page **`, `int`), which accept
//! an identifier whose declaration, as the matcher reads it from the
//! enclosing function or file, has that type. The shape test on the node is
//! here; reading declarations is the matcher's.

use crate::c::NodeExt;
use tree_sitter::Node;

/// What a metavariable may match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetaKind {
    /// A plain name.
    Identifier,
    /// Any expression.
    Expression,
    /// Any statement (written `$s;` in a snippet).
    Statement,
    /// A literal: a number, a character, a string, `true`, `false` or `NULL`.
    Constant,
    /// A type specifier (`int`, `unsigned long`, `size_t`, `struct page`).
    Type,
    /// An identifier declared with this C type.
    CType(CType),
}

/// Words that start a C type spelling in `[metavars]` without `type `.
const C_TYPE_WORDS: &[&str] = &[
    "struct", "union", "enum", "unsigned", "signed", "int", "long", "short", "char", "bool",
    "void", "size_t", "ssize_t", "u8", "u16", "u32", "u64", "s8", "s16", "s32", "s64",
];

/// A C type as a rule writes it: a base type and a number of pointer levels
/// (an array declarator counts as one level, as the array decays).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CType {
    /// The base type with single spaces between words (`struct page`).
    pub base: String,
    pub pointers: usize,
}

impl CType {
    /// Parses `struct page **`; `None` when the text is not a type name.
    pub fn parse(text: &str) -> Option<CType> {
        let t = text.trim();
        let stars = t
            .chars()
            .rev()
            .take_while(|c| *c == '*' || c.is_whitespace())
            .filter(|c| *c == '*')
            .count();
        let base = t.trim_end_matches(|c: char| c == '*' || c.is_whitespace());
        let words: Vec<&str> = base.split_whitespace().collect();
        let word_ok = |w: &&str| {
            w.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        if words.is_empty() || !words.iter().all(word_ok) {
            return None;
        }
        Some(CType {
            base: words.join(" "),
            pointers: stars,
        })
    }

    /// The type as text (`struct page **`).
    pub fn spelled(&self) -> String {
        if self.pointers == 0 {
            self.base.clone()
        } else {
            format!("{} {}", self.base, "*".repeat(self.pointers))
        }
    }
}

impl MetaKind {
    /// The kind named in `[metavars]`.
    pub fn from_name(name: &str) -> Option<MetaKind> {
        Some(match name.trim() {
            "identifier" => MetaKind::Identifier,
            "expression" => MetaKind::Expression,
            "statement" => MetaKind::Statement,
            "constant" => MetaKind::Constant,
            "type" => MetaKind::Type,
            other => {
                // A C type: `type T` for any name, or a spelling that can
                // only be a type (a pointer, a struct, a C keyword type).
                let spelled = match other.strip_prefix("type ") {
                    Some(t) => t,
                    None => {
                        let first = other
                            .split(|c: char| c.is_whitespace() || c == '*')
                            .next()?;
                        if !other.contains('*') && !C_TYPE_WORDS.contains(&first) {
                            return None;
                        }
                        other
                    }
                };
                MetaKind::CType(CType::parse(spelled)?)
            }
        })
    }

    /// Whether a node has the shape this kind accepts (for a C type: an
    /// identifier; its declaration is checked by the matcher).
    pub fn accepts_shape(&self, node: Node) -> bool {
        match self {
            MetaKind::Identifier | MetaKind::CType(_) => node.kind_str() == "identifier",
            MetaKind::Expression => is_expression(node),
            MetaKind::Statement => is_statement(node),
            MetaKind::Constant => matches!(
                node.kind_str(),
                "number_literal"
                    | "char_literal"
                    | "string_literal"
                    | "concatenated_string"
                    | "true"
                    | "false"
                    | "null"
            ),
            MetaKind::Type => matches!(
                node.kind_str(),
                "primitive_type"
                    | "sized_type_specifier"
                    | "type_identifier"
                    | "struct_specifier"
                    | "union_specifier"
                    | "enum_specifier"
            ),
        }
    }
}

/// Whether a node is an expression (not a statement, declaration or token).
pub fn is_expression(node: Node) -> bool {
    node.is_named()
        && !node.kind_str().ends_with("statement")
        && !matches!(
            node.kind_str(),
            "comment" | "declaration" | "compound_statement"
        )
}

/// Whether a node is a statement (a declaration counts).
pub fn is_statement(node: Node) -> bool {
    node.kind_str().ends_with("_statement") || node.kind_str() == "declaration"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_types_parse() {
        let t = CType::parse("struct  page **").unwrap();
        assert_eq!((t.base.as_str(), t.pointers), ("struct page", 2));
        assert_eq!(t.spelled(), "struct page **");
        assert_eq!(CType::parse("int").unwrap().pointers, 0);
        assert!(CType::parse("struct page *[").is_none());
        assert_eq!(
            MetaKind::from_name("type struct page *"),
            Some(MetaKind::CType(CType::parse("struct page*").unwrap()))
        );
        assert_eq!(MetaKind::from_name("expresion"), None);
        assert_eq!(
            MetaKind::from_name("struct page **"),
            Some(MetaKind::CType(CType::parse("struct page **").unwrap()))
        );
        assert!(matches!(
            MetaKind::from_name("type gfp_t"),
            Some(MetaKind::CType(_))
        ));
    }
}
