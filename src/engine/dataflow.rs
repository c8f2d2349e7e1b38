//! Small syntactic facts the dataflow needs: whether a loop index is dead
//! after a loop, which declarator declares a name and how to remove it, and
//! a call's text on one line for reports.

use crate::c::NodeExt;
use tree_sitter::Node;

/// Whether the loop index `name` is dead after `end`: its first later use,
/// if any, is the left side of a plain assignment.
pub(crate) fn index_dead_after(nodes: &[Node], src: &[u8], name: &[u8], end: usize) -> bool {
    let first = nodes
        .iter()
        .filter(|n| {
            n.start_byte() >= end && n.kind_str() == "identifier" && &src[n.byte_range()] == name
        })
        .min_by_key(|n| n.start_byte());
    let Some(first) = first else { return true };
    let Some(parent) = first.parent() else {
        return false;
    };
    parent.kind_str() == "assignment_expression"
        && parent.field("left") == Some(*first)
        && parent.field("operator").map(|o| o.kind_str()) == Some("=")
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
