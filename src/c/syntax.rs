//! Typed views over the tree-sitter C tree.
//!
//! The engine asks questions in C terms (is this a call, what is its callee,
//! is this `a[i]`, `*(a + i)`, `&x`, `s->f`) through the functions here, so
//! that node kinds are spelled as strings in one place. Every view keeps the
//! node, hence its byte span in the original file. Traversals are iterative:
//! deeply nested expressions never overflow the stack.

use crate::c::NodeExt;
use tree_sitter::Node;

/// Visits `root` and its descendants in source order. The callback returns
/// whether to descend into the node's children.
pub fn preorder<'t>(root: Node<'t>, mut visit: impl FnMut(Node<'t>) -> bool) {
    let mut cursor = root.walk();
    loop {
        let descend = visit(cursor.node());
        if descend && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.node() == root {
                return;
            }
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}

/// The nodes of `nodes` in `root`'s subtree, `root` first: a slice of
/// `nodes`, which lists a tree's named nodes (comments left out, as a
/// function's body nodes are) in the order `preorder` meets them, so a
/// subtree is a run of it. `None` when `root` is not in `nodes`.
pub fn subtree_in<'a, 't>(nodes: &'a [Node<'t>], root: Node<'t>) -> Option<&'a [Node<'t>]> {
    let start = root.start_byte();
    let mut i = nodes.partition_point(|n| n.start_byte() < start);
    // The nodes starting where `root` does are its ancestors, `root`, then
    // its first descendants.
    while nodes
        .get(i)
        .is_some_and(|n| n.start_byte() == start && *n != root)
    {
        i += 1;
    }
    if nodes.get(i) != Some(&root) {
        return None;
    }
    let end = root.end_byte();
    let below = (nodes[i + 1..]).partition_point(|n| n.start_byte() < end && n.end_byte() <= end);
    Some(&nodes[i..=i + below])
}

/// How deep a tree below one function may go before the function is left
/// alone. The engine's expression walks (`eval`, `base_key`, `root_of`,
/// `match_node`) recurse once per level, so this bounds their stack use;
/// kernel functions stay far below it (their deepest trees are well under
/// a hundred levels), generated or hostile code may not.
pub const MAX_DEPTH: usize = 512;

/// Whether a node of `root`'s subtree lies more than `limit` levels below
/// it. Iterative, and it stops at the first node past the limit.
pub fn deeper_than(root: Node, limit: usize) -> bool {
    let mut cursor = root.walk();
    let mut depth = 0usize;
    loop {
        if depth > limit {
            return true;
        }
        if cursor.goto_first_child() {
            depth += 1;
            continue;
        }
        loop {
            if depth == 0 {
                return false;
            }
            if cursor.goto_next_sibling() {
                break;
            }
            cursor.goto_parent();
            depth -= 1;
        }
    }
}

/// The ancestors of `node` up to `top`, one of them, innermost first (`top`
/// included): what `parent()` asked from `node` until `top` gives, found in
/// one walk down from `top`. tree-sitter finds a node's parent by a walk
/// down from the root of the tree, so a climb asking each parent in turn
/// walks down once per level.
pub fn ancestors_up_to<'t>(top: Node<'t>, node: Node<'t>) -> Vec<Node<'t>> {
    let mut path = Vec::new();
    let mut at = top;
    while at.id() != node.id() {
        path.push(at);
        match at.child_with_descendant(node) {
            Some(next) => at = next,
            // Not below `top`: its ancestors as the climb finds them.
            None => return climb_to(top, node),
        }
    }
    path.reverse();
    path
}

/// The ancestors of `node` by asking each parent in turn, up to `top` or
/// the root.
fn climb_to<'t>(top: Node<'t>, node: Node<'t>) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    let mut at = node;
    while let Some(parent) = at.parent() {
        out.push(parent);
        if parent.id() == top.id() {
            break;
        }
        at = parent;
    }
    out
}

/// The children of a node, comments left out.
pub fn children_no_comments(node: Node) -> Vec<Node> {
    let mut cursor = node.walk();
    node.children(&mut cursor)
        .filter(|c| c.kind_str() != "comment")
        .collect()
}

/// A function definition with a name and a body.
#[derive(Clone, Copy)]
pub struct FunctionDef<'t> {
    pub node: Node<'t>,
    pub body: Node<'t>,
    pub name_node: Option<Node<'t>>,
}

impl<'t> FunctionDef<'t> {
    /// The function's name as written (bytes of the original file).
    pub fn name(&self, src: &[u8]) -> String {
        match self.name_node {
            Some(n) => String::from_utf8_lossy(&src[n.byte_range()]).into_owned(),
            None => String::from("<unnamed>"),
        }
    }

    /// Whether the definition holds an ERROR node, or a MISSING node other
    /// than a statement's `;`. Tree-sitter reads a statement whose `;` is
    /// not written (a statement macro used without one, `CLEAR_STATUS(x)`
    /// then the next statement; a label that ends a block) by supplying
    /// the `;`, and nothing else: that reading is the one the macro's
    /// expansion or the compiler gives, so such a function is analysed.
    pub fn has_error(&self) -> bool {
        self.node.has_error() && !only_statement_ends_missing(self.node)
    }

    /// The names of the declared parameters.
    pub fn parameter_names(&self, src: &[u8]) -> Vec<String> {
        let mut names = Vec::new();
        let Some(decl) = self.node.field("declarator") else {
            return names;
        };
        let Some(func) = find_function_declarator(decl) else {
            return names;
        };
        let Some(params) = func.field("parameters") else {
            return names;
        };
        let mut cursor = params.walk();
        for p in params.named_children(&mut cursor) {
            if p.kind_str() == "parameter_declaration" {
                if let Some(d) = p.field("declarator") {
                    if let Some(id) = declarator_identifier(d) {
                        names.push(String::from_utf8_lossy(&src[id.byte_range()]).into_owned());
                    }
                }
            }
        }
        names
    }
}

fn find_function_declarator(mut node: Node) -> Option<Node> {
    loop {
        if node.kind_str() == "function_declarator" {
            return Some(node);
        }
        node = node.field("declarator")?;
    }
}

/// The identifier a (possibly pointer, array or init) declarator declares.
pub fn declarator_identifier(mut node: Node) -> Option<Node> {
    loop {
        match node.kind_str() {
            "identifier" | "field_identifier" => return Some(node),
            "parenthesized_declarator" => node = node.named_child(0)?,
            _ => node = node.field("declarator")?,
        }
    }
}

/// All function definitions of a file, including those inside `#if` blocks.
pub fn functions(root: Node) -> Vec<FunctionDef> {
    let mut out = Vec::new();
    for_each_function(root, |def| out.push(def));
    out
}

/// How many definitions `functions` lists, counted without making them:
/// a list kept for long is allocated once at its size (a generated file
/// may define a million functions, and a vector grown by doubling holds up
/// to three times what it keeps while it moves).
pub fn function_count(root: Node) -> usize {
    let mut count = 0;
    preorder(root, |n| {
        if n.kind_str() != "function_definition" {
            return true;
        }
        count += usize::from(n.field("body").is_some());
        false
    });
    count
}

/// Hands `visit` each function definition with a body below `root`, in
/// file order, not looking inside any.
pub fn for_each_function<'t>(root: Node<'t>, mut visit: impl FnMut(FunctionDef<'t>)) {
    preorder(root, |n| {
        if n.kind_str() == "function_definition" {
            if let Some(body) = n.field("body") {
                let name_node = n
                    .field("declarator")
                    .and_then(find_function_declarator)
                    .and_then(|f| f.field("declarator"))
                    .and_then(declarator_identifier);
                visit(FunctionDef {
                    node: n,
                    body,
                    name_node,
                });
            }
            return false;
        }
        true
    });
}

/// A call expression.
#[derive(Clone, Copy, Debug)]
pub struct Call<'t> {
    pub node: Node<'t>,
}

impl<'t> Call<'t> {
    pub fn new(node: Node<'t>) -> Option<Call<'t>> {
        (node.kind_str() == "call_expression").then_some(Call { node })
    }

    /// The callee when it is a plain identifier.
    pub fn callee_name<'s>(&self, src: &'s [u8]) -> Option<&'s [u8]> {
        let f = self.node.field("function")?;
        (f.kind_str() == "identifier").then(|| &src[f.byte_range()])
    }

    pub fn callee(&self) -> Option<Node<'t>> {
        self.node.field("function")
    }

    /// The argument expressions, comments left out.
    pub fn args(&self) -> Vec<Node<'t>> {
        match self.node.field("arguments") {
            Some(list) => {
                let mut cursor = list.walk();
                list.named_children(&mut cursor)
                    .filter(|c| c.kind_str() != "comment")
                    .collect()
            }
            None => Vec::new(),
        }
    }
}

/// An expression seen through parentheses and casts.
pub fn strip(mut node: Node) -> Node {
    loop {
        match node.kind_str() {
            "parenthesized_expression" => match node.named_child(0) {
                Some(inner) if inner.kind_str() != "comment" => node = inner,
                _ => return node,
            },
            "cast_expression" => match node.field("value") {
                Some(inner) => node = inner,
                None => return node,
            },
            _ => return node,
        }
    }
}

/// The shapes of expression the dataflow understands.
#[derive(Clone, Copy, Debug)]
pub enum ExprShape<'t> {
    /// `x`
    Ident(Node<'t>),
    /// `a[i]`
    Subscript {
        base: Node<'t>,
        index: Node<'t>,
    },
    /// `*p`
    Deref(Node<'t>),
    /// `&x`
    AddressOf(Node<'t>),
    /// `a + i`, `a - i`, `i + a`
    Offset {
        base: Node<'t>,
        other: Node<'t>,
        /// `a - i`: `i` is subtracted from `a`.
        subtracted: bool,
    },
    /// `s->f` or `s.f`
    Field {
        base: Node<'t>,
        field: Node<'t>,
        arrow: bool,
    },
    /// `f(...)`
    Call(Call<'t>),
    /// `c ? a : b`
    Conditional {
        then: Option<Node<'t>>,
        otherwise: Node<'t>,
    },
    /// `NULL` or `0`
    Null,
    Other,
}

/// Classifies an expression (after stripping parentheses and casts).
pub fn shape<'t>(node: Node<'t>, src: &[u8]) -> ExprShape<'t> {
    let node = strip(node);
    match node.kind_str() {
        "identifier" => {
            if &src[node.byte_range()] == b"NULL" {
                ExprShape::Null
            } else {
                ExprShape::Ident(node)
            }
        }
        "null" => ExprShape::Null,
        "number_literal" if &src[node.byte_range()] == b"0" => ExprShape::Null,
        "subscript_expression" => match (node.field("argument"), node.field("index")) {
            (Some(base), Some(index)) => ExprShape::Subscript { base, index },
            _ => ExprShape::Other,
        },
        // The operator is the node's first byte.
        "pointer_expression" => match (src.get(node.start_byte()), node.field("argument")) {
            (Some(b'*'), Some(arg)) => ExprShape::Deref(arg),
            (Some(b'&'), Some(arg)) => ExprShape::AddressOf(arg),
            _ => ExprShape::Other,
        },
        "binary_expression" => match (node.field("left"), node.field("right")) {
            (Some(l), Some(r)) => match operator_between(node, l, r, src) {
                Some(op @ ("+" | "-")) => ExprShape::Offset {
                    base: l,
                    other: r,
                    subtracted: op == "-",
                },
                _ => ExprShape::Other,
            },
            _ => ExprShape::Other,
        },
        "field_expression" => match (node.field("argument"), node.field("field")) {
            (Some(base), Some(field)) => {
                let arrow = operator_between(node, base, field, src) == Some("->");
                ExprShape::Field { base, field, arrow }
            }
            _ => ExprShape::Other,
        },
        "call_expression" => ExprShape::Call(Call { node }),
        "conditional_expression" => match node.field("alternative") {
            Some(otherwise) => ExprShape::Conditional {
                then: node.field("consequence"),
                otherwise,
            },
            None => ExprShape::Other,
        },
        _ => ExprShape::Other,
    }
}

/// The operator of a node with two operands, `left` and `right`: the text
/// between them less the blanks around it when that is one operator token;
/// else (a comment beside it, a parse error) the grammar's `operator`
/// field, a scan of the node's children.
fn operator_between<'t>(
    node: Node<'t>,
    left: Node<'t>,
    right: Node<'t>,
    src: &[u8],
) -> Option<&'static str> {
    let between = src
        .get(left.end_byte()..right.start_byte())
        .unwrap_or_default();
    let blank = |b: &u8| b.is_ascii_whitespace();
    let token = match (
        between.iter().position(|b| !blank(b)),
        between.iter().rposition(|b| !blank(b)),
    ) {
        (Some(start), Some(end)) => &between[start..=end],
        _ => &[][..],
    };
    let operator = match token {
        b"+" => "+",
        b"-" => "-",
        b"*" => "*",
        b"/" => "/",
        b"%" => "%",
        b"<<" => "<<",
        b">>" => ">>",
        b"&" => "&",
        b"|" => "|",
        b"^" => "^",
        b"&&" => "&&",
        b"||" => "||",
        b"==" => "==",
        b"!=" => "!=",
        b"<" => "<",
        b"<=" => "<=",
        b">" => ">",
        b">=" => ">=",
        b"->" => "->",
        b"." => ".",
        _ => return node.field("operator").map(|o| o.kind_str()),
    };
    Some(operator)
}

/// An assignment-like binding: `lhs = rhs`, or a declarator with an
/// initialiser (`struct page *p = rhs`, where `lhs` is the identifier).
#[derive(Clone, Copy)]
pub struct Assignment<'t> {
    pub node: Node<'t>,
    pub lhs: Node<'t>,
    pub rhs: Node<'t>,
    /// `=` (false for `+=`, `-=`, ...).
    pub plain: bool,
}

impl<'t> Assignment<'t> {
    pub fn new(node: Node<'t>) -> Option<Assignment<'t>> {
        match node.kind_str() {
            "assignment_expression" => {
                let lhs = node.field("left")?;
                let rhs = node.field("right")?;
                let plain = node.field("operator").map(|o| o.kind_str()) == Some("=");
                Some(Assignment {
                    node,
                    lhs,
                    rhs,
                    plain,
                })
            }
            "init_declarator" => {
                let lhs = declarator_identifier(node.field("declarator")?)?;
                let rhs = node.field("value")?;
                Some(Assignment {
                    node,
                    lhs,
                    rhs,
                    plain: true,
                })
            }
            _ => None,
        }
    }
}

/// Text without whitespace and comments, to compare expressions as written.
/// A space is kept only where two words would otherwise run together
/// (`unsigned long`).
pub fn normalized(node: Node, src: &[u8]) -> String {
    // A token (most nodes asked for: identifiers) is its own text.
    if node.child_count() == 0 {
        return match node.kind_str() {
            "comment" => String::new(),
            _ => String::from_utf8_lossy(&src[node.byte_range()]).into_owned(),
        };
    }
    let mut out = String::new();
    preorder(node, |n| {
        if n.kind_str() == "comment" {
            return false;
        }
        if n.child_count() == 0 {
            let tok = String::from_utf8_lossy(&src[n.byte_range()]);
            let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
            if out.chars().last().is_some_and(word) && tok.chars().next().is_some_and(word) {
                out.push(' ');
            }
            out.push_str(&tok);
            return false;
        }
        true
    });
    out
}

/// Whether `node` or a descendant is the identifier `name`.
pub fn mentions_identifier(node: Node, src: &[u8], name: &[u8]) -> bool {
    let mut found = false;
    preorder(node, |n| {
        if found {
            return false;
        }
        if n.kind_str() == "identifier" && &src[n.byte_range()] == name {
            found = true;
        }
        true
    });
    found
}

/// Whether every error under `node` is a MISSING `;` (no ERROR node, no
/// other MISSING token).
fn only_statement_ends_missing(node: Node) -> bool {
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        if n.is_error() || (n.is_missing() && n.kind_str() != ";") {
            return false;
        }
        let mut cursor = n.walk();
        stack.extend(
            n.children(&mut cursor)
                .filter(|c| c.has_error() || c.is_missing()),
        );
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The operator read from the bytes between the operands is the
    /// grammar's `operator` field, with blanks, line breaks, comments and
    /// a parse error around it.
    #[test]
    fn operators_between_operands_are_the_grammars() {
        let src = b"int f(struct s *p, int a)\n{\n\ta = p->x + a - *p . y * 2;\n\ta = p\n\t\t->next /* c */ -> x;\n\ta = a /* + */ + (a << 2) >= &a - a;\n\ta = a + + ) b;\n\tg(& /* x */ a, * (int *)p);\n\treturn a /**/- p -> z.w;\n}\n";
        let parsed = crate::c::parse(src).unwrap();
        let mut checked = 0;
        preorder(parsed.tree.root_node(), |n| {
            let operands = match n.kind_str() {
                "pointer_expression" => {
                    let first = &src[n.start_byte()..n.start_byte() + 1];
                    let operator = n.field("operator").map(|o| o.kind_str().as_bytes());
                    assert_eq!(Some(first), operator);
                    checked += 1;
                    return true;
                }
                "binary_expression" => (n.field("left"), n.field("right")),
                "field_expression" => (n.field("argument"), n.field("field")),
                _ => return true,
            };
            if let (Some(l), Some(r)) = operands {
                let expected = n.field("operator").map(|o| o.kind_str());
                assert_eq!(
                    operator_between(n, l, r, src),
                    expected,
                    "{}",
                    String::from_utf8_lossy(&src[n.byte_range()])
                );
                checked += 1;
            }
            true
        });
        assert!(checked >= 12, "only {checked} operators checked");
    }

    #[test]
    fn a_subtree_in_the_named_nodes_is_what_a_walk_down_meets() {
        let parsed = crate::c::parse(
            b"int f(struct s *a, int n)\n{\n\t/* c */ int x = a->b[n] + g(a, (n), h(a->c->d));\n\tif (x) { return -x; }\n\twhile (n--) x += k[n] /* d */ ;\n\treturn x;\n}\n",
        )
        .unwrap();
        fn named(root: Node) -> Vec<Node> {
            let mut out = Vec::new();
            preorder(root, |n| {
                if n.is_named() && n.kind_str() != "comment" {
                    out.push(n);
                }
                true
            });
            out
        }
        let root = parsed.tree.root_node();
        let nodes = named(root);
        assert!(nodes.len() > 40);
        for &n in &nodes {
            assert_eq!(subtree_in(&nodes, n).map(<[Node]>::to_vec), Some(named(n)));
        }
        // A node not listed (an anonymous token) has no run.
        let token = (0..root.descendant_count())
            .map(|i| {
                let mut cursor = root.walk();
                cursor.goto_descendant(i);
                cursor.node()
            })
            .find(|n| !n.is_named())
            .unwrap();
        assert_eq!(subtree_in(&nodes, token), None);
    }

    /// The ancestors found walking down from a function are those its
    /// nodes' parents give (`climb_to`), for every node, empty ones (a `MISSING` `;`)
    /// and nodes spanning the same bytes as their parent included; a node
    /// outside the function has those of its climb.
    #[test]
    fn ancestors_walked_down_are_the_parents_climbed() {
        let text =
            b"int g;\nstatic int f(int a)\n{\n\tif (a) { x = (y); } else z(&w[1])\n\treturn a\n}\n";
        let tree = crate::c::parse::parse_raw(text).unwrap();
        let function = functions(tree.root_node())[0].node;
        let mut nodes = 0;
        preorder(function, |n| {
            if n.id() != function.id() {
                assert_eq!(ancestors_up_to(function, n), climb_to(function, n), "{n:?}");
                nodes += 1;
            }
            true
        });
        assert!(nodes > 40, "{nodes} nodes");
        let outside = tree.root_node().named_child(0).unwrap();
        assert_eq!(outside.kind_str(), "declaration");
        assert_eq!(ancestors_up_to(function, outside), [tree.root_node()]);
    }

    #[test]
    fn depth_is_measured_without_recursion() {
        let text = format!("int x = {}1{};", "(".repeat(100_000), ")".repeat(100_000));
        let tree = crate::c::parse::parse_raw(text.as_bytes()).unwrap();
        assert!(deeper_than(tree.root_node(), MAX_DEPTH));
        let tree = crate::c::parse::parse_raw(b"int x = (1);").unwrap();
        assert!(!deeper_than(tree.root_node(), MAX_DEPTH));
        assert!(deeper_than(tree.root_node(), 2));
    }

    #[test]
    fn a_statement_with_no_semicolon_is_not_a_parse_error() {
        let cases = [
            (
                "void f(struct t *s)\n{\n\tCLEAR_STATUS(s->x)\n\tg();\n}\n",
                false,
            ),
            (
                "void f(void)\n{\n\tif (g())\n\t\tgoto out;\n\th();\nout:\n}\n",
                false,
            ),
            ("void f(void)\n{\n\tg(;\n}\n", true),
            ("void f(void)\n{\n\tx = 1 +;\n}\n", true),
        ];
        for (text, broken) in cases {
            let parsed = crate::c::parse(text.as_bytes()).unwrap();
            let defs = functions(parsed.tree.root_node());
            assert_eq!(defs.len(), 1, "{text}");
            assert_eq!(defs[0].has_error(), broken, "{text}");
        }
    }
}
