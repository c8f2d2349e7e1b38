//! References a function takes for the store next to them. Kernel code
//! that hands a page to something with a lifetime of its own takes a plain
//! reference for it right there: `get_page(page); skb_fill_page_desc(skb,
//! i, page, off, len);`, `*buf = (struct pipe_buffer){ .page = page };
//! get_page(page);`, `map->bounce_page = pages[i]; get_page(pages[i]);`,
//! `pages[i] = kmap_to_page(addr); get_page(pages[i]);` (the reference of
//! the page just stored), a loop filling several slots with one page
//! before one `get_page()`, or `get_page(page); return page;` for the
//! caller. What is stored holds
//! that new reference, released with `put_page()` by whoever owns the
//! store, and not the acquire's: the stored copy carries none of the
//! acquire's pages, and the reference-taking call does not block the flow. The pairing is syntactic and strict, so that a reference
//! taken for anything else still blocks its flow.

use crate::c::syntax::{normalized, shape, Assignment, Call, ExprShape};
use crate::c::NodeExt;
use crate::engine::hash::HashSet;
use crate::engine::Engine;
use tree_sitter::Node;

/// The references of one function handed to the statement next to them.
#[derive(Default)]
pub(crate) struct HandedReferences {
    /// The reference-taking calls (`get_page(page)`), by start byte.
    calls: HashSet<usize>,
    /// The stored copies (the `page` of the store), by byte range.
    copies: HashSet<(usize, usize)>,
}

impl HandedReferences {
    /// The pairs of a function's nodes: a statement that is only a call
    /// taking a reference (`extra_references`), and the nearest statement
    /// before or after it that mentions the same expression and hands it
    /// on (`handoff`). The pair is kept only when that expression is stored
    /// or released nowhere else in the function, so that the new reference
    /// has one place to go.
    pub fn of(engine: &Engine, nodes: &[Node], src: &[u8]) -> HandedReferences {
        let mut out = HandedReferences::default();
        let flow = &engine.pack.flow;
        for &n in nodes {
            let Some(call) = Call::new(n) else { continue };
            let taken = call
                .callee_name(src)
                .is_some_and(|c| flow.extra_references.contains(&*String::from_utf8_lossy(c)));
            // Asked only then: a node's parent is a walk from the root.
            if !taken {
                continue;
            }
            let statement = n
                .parent()
                .filter(|p| p.kind_str() == "expression_statement");
            let args = call.args();
            let (Some(statement), [arg]) = (statement, args.as_slice()) else {
                continue;
            };
            let key = normalized(*arg, src);
            let handed: Vec<(Node, Node)> = [
                neighbour(statement, true, &key, src).map(|t| (t, true)),
                neighbour(statement, false, &key, src).map(|t| (t, false)),
            ]
            .into_iter()
            .flatten()
            .filter_map(|(t, before)| handoff(engine, t, &key, before, src).map(|copy| (t, copy)))
            .collect();
            // Both neighbours storing it: which one holds the reference is
            // not written down.
            let [(next_to, copy)] = handed.as_slice() else {
                continue;
            };
            if kept_elsewhere(engine, nodes, *next_to, &key, src) {
                continue;
            }
            out.calls.insert(n.start_byte());
            out.copies.insert((copy.start_byte(), copy.end_byte()));
        }
        out
    }

    /// Whether the call at `node` takes a reference handed to a store.
    pub fn is_handed(&self, node: Node) -> bool {
        !self.calls.is_empty() && self.calls.contains(&node.start_byte())
    }

    /// Whether `node` is a stored copy holding a reference of its own.
    pub fn is_copy(&self, node: Node) -> bool {
        !self.copies.is_empty() && self.copies.contains(&(node.start_byte(), node.end_byte()))
    }
}

/// The nearest statement before (or after) `statement` in its block that
/// mentions `key`, comments and statements that do not mention it skipped.
fn neighbour<'t>(statement: Node<'t>, before: bool, key: &str, src: &[u8]) -> Option<Node<'t>> {
    let mut cur = statement;
    loop {
        cur = if before {
            cur.prev_named_sibling()?
        } else {
            cur.next_named_sibling()?
        };
        if cur.kind_str() != "comment" && mentions(cur, key, src) {
            return Some(cur);
        }
    }
}

/// Whether an expression written as `key` occurs in `node`.
fn mentions(node: Node, key: &str, src: &[u8]) -> bool {
    let mut found = false;
    crate::c::syntax::preorder(node, |n| {
        if found || n.kind_str() == "comment" {
            return false;
        }
        if n.is_named() && n.byte_range().len() >= key.len() && normalized(n, src) == key {
            found = true;
            return false;
        }
        true
    });
    found
}

/// The copy of `key` a statement hands on: the right side of a store into
/// memory (a field, an element, through a pointer), a member of a compound
/// literal stored so, the one argument equal to `key` of a call the
/// vocabulary does not know, or `key` returned to the caller; for a loop
/// or a block, that of the one statement in it that names `key`. Just
/// before the reference is taken (`before`), a store into `key` itself
/// hands on what it stores: `pages[i] = kmap_to_page(addr);
/// get_page(pages[i]);` takes the reference for the page just stored.
fn handoff<'t>(
    engine: &Engine,
    statement: Node<'t>,
    key: &str,
    before: bool,
    src: &[u8],
) -> Option<Node<'t>> {
    // `out: return page;`: the statement the label names.
    if statement.kind_str() == "labeled_statement" {
        let labelled = statement
            .named_children(&mut statement.walk())
            .filter(|n| n.kind_str() != "statement_identifier" && n.kind_str() != "comment")
            .last()?;
        return handoff(engine, labelled, key, before, src);
    }
    // A loop or block whose one statement naming `key` stores it (one
    // reference for every element the loop fills with the same page).
    if matches!(
        statement.kind_str(),
        "for_statement" | "while_statement" | "do_statement" | "compound_statement"
    ) {
        let mut naming = Vec::new();
        crate::c::syntax::preorder(statement, |n| {
            if n.kind_str() == "expression_statement" && mentions(n, key, src) {
                naming.push(n);
                return false;
            }
            true
        });
        return match naming.as_slice() {
            [only] => handoff(engine, *only, key, before, src),
            _ => None,
        };
    }
    // The reference handed to the caller: `get_page(page); return page;`.
    if statement.kind_str() == "return_statement" {
        return statement
            .named_child(0)
            .filter(|e| normalized(*e, src) == key);
    }
    if statement.kind_str() != "expression_statement" {
        return None;
    }
    let expr = statement.named_child(0)?;
    if let Some(a) = Assignment::new(expr) {
        if !a.plain || matches!(shape(a.lhs, src), ExprShape::Ident(_)) {
            return None;
        }
        if normalized(a.rhs, src) == key {
            return Some(a.rhs);
        }
        if before && normalized(a.lhs, src) == key {
            return Some(a.rhs);
        }
        let literal = crate::c::syntax::strip(a.rhs);
        if literal.kind_str() != "compound_literal_expression" {
            return None;
        }
        let list = literal.field("value")?;
        let mut found = None;
        let mut cursor = list.walk();
        for member in list.named_children(&mut cursor) {
            let value = match member.kind_str() {
                "initializer_pair" => member.field("value"),
                _ => Some(member),
            };
            if let Some(v) = value.filter(|v| normalized(*v, src) == key) {
                if found.replace(v).is_some() {
                    return None;
                }
            }
        }
        return found;
    }
    let call = Call::new(expr)?;
    let callee = String::from_utf8_lossy(call.callee_name(src)?);
    if engine.is_vocabulary(&callee) {
        return None;
    }
    let mut equal = call
        .args()
        .into_iter()
        .filter(|a| normalized(*a, src) == key);
    match (equal.next(), equal.next()) {
        (Some(a), None) => Some(a),
        _ => None,
    }
}

/// Whether the function stores `key` into memory or releases it anywhere
/// but in `except`.
fn kept_elsewhere(engine: &Engine, nodes: &[Node], except: Node, key: &str, src: &[u8]) -> bool {
    let inside =
        |n: Node| n.start_byte() >= except.start_byte() && n.end_byte() <= except.end_byte();
    nodes.iter().any(|&n| {
        if inside(n) {
            return false;
        }
        if let Some(a) = Assignment::new(n) {
            let into_memory = !matches!(shape(a.lhs, src), ExprShape::Ident(_));
            return into_memory && normalized(a.rhs, src) == key;
        }
        let Some(call) = Call::new(n) else {
            return false;
        };
        let releases = call.callee_name(src).is_some_and(|c| {
            let c = String::from_utf8_lossy(c);
            engine.pack.flow.releases.contains(&*c) || engine.is_release(&c)
        });
        releases && call.args().iter().any(|a| normalized(*a, src) == key)
    })
}
