//! Small syntactic facts the dataflow needs: whether a loop index is dead
//! after a loop, which declarator declares a name and how to remove it, and
//! a call's text on one line for reports.

use crate::c::NodeExt;
use tree_sitter::Node;

/// Whether the loop index `name` is dead after the loop at `start..end`:
/// the first later use of the same variable, if any, is the left side of
/// a plain assignment. A later block that declares `name` again holds
/// another variable, whose uses say nothing of this one.
pub(crate) fn index_dead_after(
    nodes: &[Node],
    src: &[u8],
    name: &[u8],
    start: usize,
    end: usize,
) -> bool {
    let named: Vec<Node> = nodes
        .iter()
        .copied()
        .filter(|n| n.kind_str() == "identifier" && &src[n.byte_range()] == name)
        .collect();
    let declared = |n: &Node| declaration_of(*n).is_some();
    let variable = binding_at(&named, start);
    let first = named
        .iter()
        .filter(|n| n.start_byte() >= end && !declared(n))
        .filter(|n| binding_at(&named, n.start_byte()) == variable)
        .min_by_key(|n| n.start_byte());
    let Some(first) = first else { return true };
    let Some(parent) = first.parent() else {
        return false;
    };
    parent.kind_str() == "assignment_expression"
        && parent.field("left") == Some(*first)
        && parent.field("operator").map(|o| o.kind_str()) == Some("=")
}

/// The declaration an identifier names in, when it is the name a local
/// declaration declares (`int i;`, `int i = 0, *p;`, `int a[4];`).
pub(crate) fn declaration_of(id: Node) -> Option<Node> {
    let mut child = id;
    let mut parent = id.parent()?;
    loop {
        match parent.kind_str() {
            "declaration" => {
                return (parent.field("type") != Some(child)).then_some(parent);
            }
            "init_declarator" if parent.field("declarator") == Some(child) => {}
            "pointer_declarator" | "array_declarator" | "parenthesized_declarator"
                if parent.field("declarator") == Some(child) => {}
            _ => return None,
        }
        child = parent;
        parent = parent.parent()?;
    }
}

/// Of `named` (the identifiers of one name in a function body, in any
/// order), the declaring identifier of the variable that name means at
/// `at`: the innermost declaration before `at` whose block (or `for`
/// statement) holds `at`; `None` when no declaration in the body does (a
/// parameter or a global).
pub(crate) fn binding_at<'t>(named: &[Node<'t>], at: usize) -> Option<Node<'t>> {
    named
        .iter()
        .filter(|n| n.start_byte() < at)
        .filter(|n| {
            declaration_of(**n)
                .and_then(|d| d.parent())
                .is_some_and(|scope| scope.start_byte() <= at && at < scope.end_byte())
        })
        .max_by_key(|n| n.start_byte())
        .copied()
}

/// The declarator (or init declarator) an identifier is declared by, when
/// it is the identifier of a local declaration with at most a constant initialiser.
pub(crate) fn declarator_of(id: Node) -> Option<Node> {
    let parent = id.parent()?;
    let (decl_child, decl) = match parent.kind_str() {
        "declaration" => (id, parent),
        "init_declarator" => {
            let value = parent.field("value")?;
            if value.kind_str() != "number_literal" {
                return None;
            }
            (
                parent,
                parent.parent().filter(|p| p.kind_str() == "declaration")?,
            )
        }
        _ => return None,
    };
    (decl.kind_str() == "declaration").then_some(decl_child)
}

/// The bytes to delete to remove one declarator: the whole line when it is
/// the only one, else the declarator and one adjacent comma.
pub(crate) fn declarator_removal_range(
    declarator: Node,
    src: &[u8],
) -> Option<(usize, usize, String)> {
    let decl = declarator.parent()?;
    let mut cursor = decl.walk();
    let all: Vec<Node> = decl
        .children_by_field_name("declarator", &mut cursor)
        .collect();
    if all.len() == 1 {
        let line_start = src[..decl.start_byte()]
            .iter()
            .rposition(|&b| b == b'\n')
            .map(|i| i + 1)
            .unwrap_or(0);
        if !src[line_start..decl.start_byte()]
            .iter()
            .all(|b| *b == b' ' || *b == b'\t')
        {
            return None;
        }
        let mut end = decl.end_byte();
        while end < src.len() && (src[end] == b' ' || src[end] == b'\t') {
            end += 1;
        }
        if src.get(end) == Some(&b'\r') {
            end += 1;
        }
        if src.get(end) != Some(&b'\n') {
            return None;
        }
        let mut end = end + 1;
        // The only declaration right after `{`: the blank line that
        // separated it from the code would now follow the brace.
        let before = src[..line_start]
            .iter()
            .rev()
            .find(|b| !b.is_ascii_whitespace());
        let blank = src[end..]
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t' || **b == b'\r')
            .count();
        if before == Some(&b'{') && src.get(end + blank) == Some(&b'\n') {
            end += blank + 1;
        }
        return Some((line_start, end, String::new()));
    }
    let pos = all.iter().position(|d| *d == declarator)?;
    // The edited line is checked again by checkpatch, which wants
    // `unsigned int`, not a bare `unsigned`.
    let ty = decl.field("type");
    let bare_unsigned = ty.is_some_and(|t| &src[t.byte_range()] == b"unsigned");
    match (pos + 1 < all.len(), ty) {
        (true, Some(t)) if bare_unsigned && pos == 0 => Some((
            t.start_byte(),
            all[pos + 1].start_byte(),
            "unsigned int ".to_string(),
        )),
        (true, _) => Some((
            declarator.start_byte(),
            all[pos + 1].start_byte(),
            String::new(),
        )),
        (false, _) => Some((
            all[pos - 1].end_byte(),
            declarator.end_byte(),
            String::new(),
        )),
    }
}

/// A call's text on one line, whitespace runs collapsed.
pub(crate) fn one_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for ch in text.chars() {
        if ch.is_whitespace() {
            space = true;
        } else {
            if space && !out.is_empty() && !out.ends_with('(') && ch != ')' {
                out.push(' ');
            }
            space = false;
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::c::syntax::preorder;

    /// Every node of a tree, in order.
    fn all_nodes(tree: &tree_sitter::Tree) -> Vec<Node<'_>> {
        let mut out = Vec::new();
        preorder(tree.root_node(), |n| {
            out.push(n);
            true
        });
        out
    }

    /// The identifiers named `name` in `code`.
    fn named<'t>(tree: &'t tree_sitter::Tree, code: &[u8], name: &[u8]) -> Vec<Node<'t>> {
        all_nodes(tree)
            .into_iter()
            .filter(|n| n.kind_str() == "identifier" && &code[n.byte_range()] == name)
            .collect()
    }

    #[test]
    fn a_name_declared_again_in_a_block_is_another_variable() {
        let code = b"void f(int i)\n{\n\tint j;\n\tj = i;\n\t{ unsigned long i; for (i = 0; i < j; i++) g(i); }\n\ti++;\n\t{ int i = 2; h(i); }\n}\n";
        let tree = crate::c::parse::parse_raw(code).unwrap();
        let ids = named(&tree, code, b"i");
        let at = |needle: &str| {
            let text = std::str::from_utf8(code).unwrap();
            text.find(needle).unwrap()
        };
        let declared = |n: Option<Node>| n.map(|d| d.start_byte());
        // The parameter is no declaration of the body.
        assert_eq!(binding_at(&ids, at("j = i")), None);
        assert_eq!(binding_at(&ids, at("i++;\n\t{ int")), None);
        // Inside each block, the block's own declaration.
        let first = at("unsigned long i") + "unsigned long ".len();
        assert_eq!(declared(binding_at(&ids, at("g(i)") + 2)), Some(first));
        let second = at("int i = 2") + "int ".len();
        assert_eq!(declared(binding_at(&ids, at("h(i)") + 2)), Some(second));
        // A declaration is known as one; a use is not.
        let declarations = ids.iter().filter(|n| declaration_of(**n).is_some()).count();
        assert_eq!(declarations, 2);
    }

    #[test]
    fn an_index_is_dead_when_only_another_block_declares_its_name_again() {
        let code = b"void f(void)\n{\n\t{ unsigned long i; for (i = 0; i < 4; i++) g(i); }\n\t{ unsigned long i; for (i = 0; i < 4; i++) g(i); }\n}\nvoid k(void)\n{\n\tunsigned long i;\n\tfor (i = 0; i < 4; i++) g(i);\n\t{ unsigned long i; for (i = 0; i < 4; i++) g(i); }\n\th(i);\n}\n";
        let tree = crate::c::parse::parse_raw(code).unwrap();
        let text = std::str::from_utf8(code).unwrap();
        let nodes = all_nodes(&tree);
        let loop_at = |nth: usize| {
            let start = text.match_indices("for (").nth(nth).unwrap().0;
            let end = start + text[start..].find(';').unwrap();
            let end = end + text[end..].find(")").unwrap();
            let end = end + text[end..].find(';').unwrap() + 1;
            (start, end)
        };
        let dead = |nth: usize| {
            let (start, end) = loop_at(nth);
            index_dead_after(&nodes, code, b"i", start, end)
        };
        // f(): the second block's `i` is another variable.
        assert!(dead(0));
        assert!(dead(1));
        // k(): the function's `i` is read after the inner block.
        assert!(!dead(2));
        assert!(dead(3));
    }
}
