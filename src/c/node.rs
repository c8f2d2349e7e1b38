//! Node kinds and fields looked up by number. tree-sitter's `Node::kind`
//! measures and checks the kind's C string on every call, and
//! `Node::child_by_field_name` scans the grammar's field names with a
//! string comparison each; the analysis asks both millions of times per
//! run, so the kind names (by kind id) and the field ids (by name) of the
//! C grammar are read once, and `NodeExt` answers from them. The fields
//! the analysis names (`KNOWN_FIELDS`) are found by position in a list,
//! which a call with a literal name folds to one load; others by a hash
//! of the name.

use foldhash::fast::FixedState;
use std::collections::HashMap;
use std::sync::LazyLock;
use tree_sitter::{Language, Node};

/// The C grammar's kind names by kind id, and field ids by field name;
/// `known[i]` is the id of `KNOWN_FIELDS[i]` (0, which no field has, when
/// the grammar has no such field).
struct Grammar {
    kinds: Vec<&'static str>,
    fields: HashMap<&'static str, u16, FixedState>,
    known: Vec<u16>,
}

/// Declares the fields the analysis asks for by name, and the function
/// that tells a name's position among them.
macro_rules! known_fields {
    ($($name:literal),* $(,)?) => {
        /// The fields of the C grammar the analysis asks for by name.
        const KNOWN_FIELDS: &[&str] = &[$($name),*];

        /// The position of `name` in `KNOWN_FIELDS`. Inlined where the
        /// name is a literal, the comparisons fold away.
        #[inline(always)]
        fn known_field(name: &str) -> Option<usize> {
            let mut at = 0usize;
            $(
                if name == $name {
                    return Some(at);
                }
                at += 1;
            )*
            let _ = at;
            None
        }
    };
}

known_fields!(
    "alternative",
    "argument",
    "arguments",
    "body",
    "condition",
    "consequence",
    "declarator",
    "designator",
    "field",
    "function",
    "index",
    "initializer",
    "label",
    "left",
    "name",
    "operator",
    "parameters",
    "right",
    "type",
    "value",
);

static LANGUAGE: LazyLock<Language> = LazyLock::new(|| Language::from(tree_sitter_c::LANGUAGE));

static GRAMMAR: LazyLock<Grammar> = LazyLock::new(|| {
    let language: &'static Language = &LANGUAGE;
    let kinds = (0..language.node_kind_count() as u16)
        .map(|id| language.node_kind_for_id(id).unwrap_or(""))
        .collect();
    let fields: HashMap<&'static str, u16, FixedState> = (1..=language.field_count() as u16)
        .filter_map(|id| Some((language.field_name_for_id(id)?, id)))
        .collect();
    let known = (KNOWN_FIELDS.iter())
        .map(|name| fields.get(name).copied().unwrap_or(0))
        .collect();
    Grammar {
        kinds,
        fields,
        known,
    }
});

/// What the analysis asks of a node, answered without string scans.
pub trait NodeExt<'t> {
    /// The node's kind (`Node::kind`).
    fn kind_str(&self) -> &'static str;
    /// The child in a field of the grammar (`Node::child_by_field_name`).
    fn field(&self, name: &str) -> Option<Node<'t>>;
}

impl<'t> NodeExt<'t> for Node<'t> {
    #[inline]
    fn kind_str(&self) -> &'static str {
        let id = self.kind_id();
        match GRAMMAR.kinds.get(usize::from(id)) {
            Some(kind) => kind,
            // The two kinds past the grammar's own (`Language::id_for_node_kind`).
            None if id == u16::MAX => "ERROR",
            None => "_ERROR",
        }
    }

    #[inline(always)]
    fn field(&self, name: &str) -> Option<Node<'t>> {
        let id = match known_field(name) {
            Some(at) => GRAMMAR.known[at],
            None => GRAMMAR.fields.get(name).copied().unwrap_or(0),
        };
        match id {
            0 => None,
            id => self.child_by_field_id(id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::NodeExt;

    #[test]
    fn kinds_and_fields_match_tree_sitter() {
        let parsed = crate::c::parse(b"int f(int a) { return a->b[1] + g(a, 2) +; }\n").unwrap();
        let mut checked = 0;
        crate::c::syntax::preorder(parsed.tree.root_node(), |n| {
            assert_eq!(n.kind_str(), n.kind());
            for &name in super::KNOWN_FIELDS.iter().chain(&["path", "no_such_field"]) {
                assert_eq!(
                    n.field(name),
                    n.child_by_field_name(name),
                    "{name} of {}",
                    n.kind()
                );
            }
            checked += 1;
            true
        });
        assert!(checked > 10, "only {checked} nodes walked");
    }
}
