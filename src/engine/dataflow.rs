//! Small syntactic facts the dataflow needs: whether a loop index is dead
//! after a loop and whether its count may be negative there, which
//! declarator declares a name and how to remove it, and a call's text on
//! one line for reports.

use crate::c::NodeExt;
use crate::rule::FlowSpec;
use tree_sitter::Node;

/// The identifiers of one name in one function body, read once so that
/// every loop of the function that uses the name as its index asks them
/// without walking the body again: for each, whether it declares the name,
/// which declaration it means, and whether it is the left side of a plain
/// assignment.
pub(crate) struct NameUses {
    /// In source order.
    uses: Vec<NameUse>,
    /// The declaring identifiers' offsets and their scopes, in any order.
    declared: Vec<(usize, usize, usize)>,
}

struct NameUse {
    start: usize,
    declares: bool,
    /// The offset of the declaring identifier it means (`variable_at`).
    variable: Option<usize>,
    assigned: bool,
}

impl NameUses {
    pub fn of(nodes: &[Node], src: &[u8], name: &[u8]) -> NameUses {
        let named: Vec<Node> = nodes
            .iter()
            .copied()
            .filter(|n| n.kind_str() == "identifier" && &src[n.byte_range()] == name)
            .collect();
        let declared: Vec<(usize, usize, usize)> =
            named.iter().filter_map(|n| declared_scope(*n)).collect();
        let mut uses: Vec<NameUse> = named
            .iter()
            .map(|n| {
                let declares = declared.iter().any(|d| d.0 == n.start_byte());
                let assigned = !declares
                    && n.parent().is_some_and(|p| {
                        p.kind_str() == "assignment_expression"
                            && p.field("left") == Some(*n)
                            && p.field("operator").map(|o| o.kind_str()) == Some("=")
                    });
                NameUse {
                    start: n.start_byte(),
                    declares,
                    variable: variable_at(&declared, n.start_byte()),
                    assigned,
                }
            })
            .collect();
        uses.sort_by_key(|u| u.start);
        NameUses { uses, declared }
    }

    /// Whether a use of the variable declared by the identifier at
    /// `declaration` is at an offset `counts` accepts.
    pub fn read_where(&self, declaration: usize, counts: impl Fn(usize) -> bool) -> bool {
        self.uses
            .iter()
            .any(|u| !u.declares && u.variable == Some(declaration) && counts(u.start))
    }

    /// The scope (start, end) of the declaration whose identifier is at
    /// `declaration`.
    pub fn scope_of(&self, declaration: usize) -> Option<(usize, usize)> {
        self.declared
            .iter()
            .find(|d| d.0 == declaration)
            .map(|d| (d.1, d.2))
    }

    /// Whether the loop index is dead after the loop at `start..end`: the
    /// first later use of the same variable, if any, is the left side of
    /// a plain assignment. A later block that declares the name again
    /// holds another variable, whose uses say nothing of this one.
    pub fn index_dead_after(&self, start: usize, end: usize) -> bool {
        let variable = variable_at(&self.declared, start);
        let from = self.uses.partition_point(|u| u.start < end);
        self.uses[from..]
            .iter()
            .find(|u| !u.declares && u.variable == variable)
            .is_none_or(|u| u.assigned)
    }
}

/// For an identifier a local declaration declares: its offset and the
/// span of the block (or `for` statement) the declaration is seen in.
fn declared_scope(id: Node) -> Option<(usize, usize, usize)> {
    let scope = declaration_of(id)?.parent()?;
    Some((id.start_byte(), scope.start_byte(), scope.end_byte()))
}

/// Of the declarations `(identifier, scope start, scope end)` of a name,
/// the identifier offset of the one the name means at `at`: the innermost
/// declared before `at` whose scope holds `at`.
fn variable_at(declared: &[(usize, usize, usize)], at: usize) -> Option<usize> {
    declared
        .iter()
        .filter(|&&(id, scope_start, scope_end)| id < at && scope_start <= at && at < scope_end)
        .map(|d| d.0)
        .max()
}

/// What decides whether a release loop's count, a local variable, may be
/// negative, read once per function and name so that the loops of one
/// long function do not each walk its body: the name's declarations (with
/// their scopes and whether their type is signed), the stores into it,
/// the tests that leave when it is negative, and the function's labels
/// and `goto`s.
///
/// A count may be negative at a loop when it is declared in the function
/// with a signed type, set from a call (a GUP call returns `-errno`), and
/// the loop is neither under a test that it is positive (`if (n > 0)`) nor
/// after a test that leaves when it is negative (`if (n < 0) goto out;`)
/// with no store to it in between and no `goto` written before the test
/// that reaches the loop. Such a loop runs no time for a negative count,
/// while one `unpin_user_pages*()` call takes it as a huge unsigned count.
/// A parameter, a global or a field is not looked at.
pub(crate) struct CountFacts {
    name: Vec<u8>,
    /// (identifier offset, scope start, scope end), as `variable_at` reads
    /// them.
    declared: Vec<(usize, usize, usize)>,
    /// The identifier offsets of the declarations of a signed type.
    signed: Vec<usize>,
    /// Where each store is done, and whether it stores a call's result.
    stores: Vec<(usize, bool)>,
    /// The `if` statements that leave when the name is negative: their
    /// span and the span of the block that holds them.
    guards: Vec<((usize, usize), (usize, usize))>,
    labels: Vec<(usize, Vec<u8>)>,
    gotos: Vec<(usize, Vec<u8>)>,
}

impl CountFacts {
    pub fn of(nodes: &[Node], src: &[u8], name: &[u8], flow: &FlowSpec) -> CountFacts {
        let mut facts = CountFacts {
            name: name.to_vec(),
            declared: Vec::new(),
            signed: Vec::new(),
            stores: Vec::new(),
            guards: Vec::new(),
            labels: Vec::new(),
            gotos: Vec::new(),
        };
        for &n in nodes {
            match n.kind_str() {
                "identifier" if &src[n.byte_range()] == name => facts.read_identifier(n, src, flow),
                "if_statement" => {
                    let leaves_when_negative = n
                        .field("condition")
                        .is_some_and(|c| implies_sign(c, src, name, false, flow))
                        && n.field("consequence").is_some_and(leaves);
                    let block = n.parent().filter(|b| b.kind_str() == "compound_statement");
                    if let (true, Some(block)) = (leaves_when_negative, block) {
                        facts.guards.push((
                            (n.start_byte(), n.end_byte()),
                            (block.start_byte(), block.end_byte()),
                        ));
                    }
                }
                "labeled_statement" => {
                    if let Some(l) = n.field("label") {
                        facts
                            .labels
                            .push((n.start_byte(), src[l.byte_range()].to_vec()));
                    }
                }
                "goto_statement" => {
                    if let Some(l) = n.field("label") {
                        facts
                            .gotos
                            .push((n.start_byte(), src[l.byte_range()].to_vec()));
                    }
                }
                _ => {}
            }
        }
        facts
    }

    /// Records what one mention of the name is: a declaration, a store.
    fn read_identifier(&mut self, n: Node, src: &[u8], flow: &FlowSpec) {
        if let Some(declared) = declared_scope(n) {
            self.declared.push(declared);
            let ty = declaration_of(n).and_then(|d| d.field("type"));
            if ty.is_some_and(|t| is_signed_type(&src[t.byte_range()], flow)) {
                self.signed.push(n.start_byte());
            }
        }
        let Some(p) = n.parent() else { return };
        let value = match p.kind_str() {
            "assignment_expression" if p.field("left") == Some(n) => p.field("right"),
            "init_declarator" if p.field("declarator") == Some(n) => p.field("value"),
            _ => None,
        };
        if let Some(value) = value {
            let call = crate::c::syntax::strip(value).kind_str() == "call_expression";
            self.stores.push((p.start_byte(), call));
        }
    }

    /// Whether the count may be negative at the loop `the_loop`.
    pub fn may_be_negative(&self, the_loop: Node, src: &[u8], flow: &FlowSpec) -> bool {
        let at = the_loop.start_byte();
        let signed = variable_at(&self.declared, at).is_some_and(|d| self.signed.contains(&d));
        let from_call = self.stores.iter().any(|&(_, call)| call);
        if !signed || !from_call {
            return false;
        }
        !tested_positive(the_loop, src, &self.name, flow) && !self.left_when_negative(at)
    }

    /// Whether, before the loop at `at` in a block that holds it, a test
    /// leaves when the count is negative, with no store to the count from
    /// there to the loop and no `goto` written before the test that
    /// reaches a label between the two.
    fn left_when_negative(&self, at: usize) -> bool {
        self.guards
            .iter()
            .any(|&((start, end), (block_start, block_end))| {
                let before = block_start < at && at < block_end && end <= at;
                let stored_after = self.stores.iter().any(|&(s, _)| s > end && s < at);
                let jumped_past =
                    self.labels
                        .iter()
                        .filter(|(l, _)| *l > end && *l < at)
                        .any(|(_, label)| {
                            self.gotos
                                .iter()
                                .any(|(g, target)| target == label && *g < start)
                        });
                before && !stored_after && !jumped_past
            })
    }
}

/// Whether a statement leaves the function or the loop: a `return`,
/// `goto`, `break` or `continue`, alone or last in its block.
fn leaves(st: Node) -> bool {
    let last = if st.kind_str() == "compound_statement" {
        let count = st.named_child_count();
        count
            .checked_sub(1)
            .and_then(|last| st.named_child(last as u32))
    } else {
        Some(st)
    };
    last.is_some_and(|l| {
        matches!(
            l.kind_str(),
            "return_statement" | "goto_statement" | "break_statement" | "continue_statement"
        )
    })
}

/// Whether a C type, as written, is a signed integer type or one not known
/// to be unsigned: not written with `unsigned` or as `_Bool`, and not one of
/// the kernel's unsigned typedefs (`FlowSpec::unsigned_types`).
fn is_signed_type(ty: &[u8], flow: &FlowSpec) -> bool {
    let ty = String::from_utf8_lossy(ty);
    let ty = ty.trim();
    let unsigned = ty.split_whitespace().any(|w| w == "unsigned")
        || ty == "_Bool"
        || flow.unsigned_types.contains(ty);
    !unsigned
}

/// Whether `node` runs only where a test says `name` is positive: the
/// consequence of an `if` whose condition, or one `&&` operand of it,
/// is `name > k` or `name >= k` with `k` a non-negative number (or
/// `k < name`, `k <= name`).
fn tested_positive(node: Node, src: &[u8], name: &[u8], flow: &FlowSpec) -> bool {
    let mut child = node;
    while let Some(parent) = child.parent() {
        if parent.kind_str() == "function_definition" {
            return false;
        }
        if parent.kind_str() == "if_statement"
            && parent.field("consequence") == Some(child)
            && parent
                .field("condition")
                .is_some_and(|c| implies_sign(c, src, name, true, flow))
        {
            return true;
        }
        child = parent;
    }
    false
}

/// Whether the condition `cond` (through parentheses and, for
/// `positive`, `&&`; else `||`) holds only when `name` is positive
/// (`positive`), or whenever `name` is negative (not `positive`; a call of
/// `FlowSpec::error_value_tests` on the name, `IS_ERR_VALUE(n)`, holds for
/// every -errno).
fn implies_sign(cond: Node, src: &[u8], name: &[u8], positive: bool, flow: &FlowSpec) -> bool {
    let cond = crate::c::syntax::strip(cond);
    if cond.kind_str() == "call_expression" && !positive {
        let callee = cond
            .field("function")
            .map(|f| String::from_utf8_lossy(&src[f.byte_range()]));
        let args = cond.field("arguments");
        return callee.is_some_and(|c| flow.error_value_tests.contains(c.as_ref()))
            && args.is_some_and(|a| {
                a.named_child_count() == 1
                    && a.named_child(0)
                        .is_some_and(|x| &src[crate::c::syntax::strip(x).byte_range()] == name)
            });
    }
    if cond.kind_str() != "binary_expression" {
        return false;
    }
    let (Some(op), Some(left), Some(right)) = (
        cond.field("operator"),
        cond.field("left"),
        cond.field("right"),
    ) else {
        return false;
    };
    let op = op.kind_str();
    let chain = if positive { "&&" } else { "||" };
    if op == chain {
        return implies_sign(left, src, name, positive, flow)
            || implies_sign(right, src, name, positive, flow);
    }
    let is_name = |n: Node| &src[crate::c::syntax::strip(n).byte_range()] == name;
    let number = |n: Node| {
        let n = crate::c::syntax::strip(n);
        (n.kind_str() == "number_literal")
            .then(|| {
                String::from_utf8_lossy(&src[n.byte_range()])
                    .parse::<i64>()
                    .ok()
            })
            .flatten()
    };
    // Written as `name OP k`, or `k OP name` turned around.
    let (op, k) = if is_name(left) {
        (op, number(right))
    } else if is_name(right) {
        let turned = match op {
            "<" => ">",
            "<=" => ">=",
            ">" => "<",
            ">=" => "<=",
            other => other,
        };
        (turned, number(left))
    } else {
        return false;
    };
    let Some(k) = k else { return false };
    match (positive, op) {
        (true, ">") => k >= -1,
        (true, ">=") => k >= 0,
        (false, "<") => k >= 0,
        (false, "<=") => k >= -1,
        _ => false,
    }
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

    #[test]
    fn a_name_declared_again_in_a_block_is_another_variable() {
        let code = b"void f(int i)\n{\n\tint j;\n\tj = i;\n\t{ unsigned long i; for (i = 0; i < j; i++) g(i); }\n\ti++;\n\t{ int i = 2; h(i); }\n}\n";
        let tree = crate::c::parse::parse_raw(code).unwrap();
        let text = std::str::from_utf8(code).unwrap();
        let at = |needle: &str| text.find(needle).unwrap();
        let uses = NameUses::of(&all_nodes(&tree), code, b"i");
        let first = at("unsigned long i") + "unsigned long ".len();
        let second = at("int i = 2") + "int ".len();
        // Each block's declaration is read in its block only.
        assert_eq!(uses.scope_of(first).map(|s| s.0), Some(at("{ unsigned")));
        assert_eq!(uses.scope_of(second).map(|s| s.0), Some(at("{ int i")));
        let in_first = |p: usize| p > first && p < at("\ti++;");
        assert!(uses.read_where(first, in_first));
        assert!(!uses.read_where(first, |p| p > at("\ti++;")));
        assert!(uses.read_where(second, |p| p == at("h(i)") + 2));
        // The parameter is no declaration of the body.
        assert_eq!(uses.scope_of(at("int i)") + 4), None);
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
        let uses = NameUses::of(&nodes, code, b"i");
        let dead = |nth: usize| {
            let (start, end) = loop_at(nth);
            uses.index_dead_after(start, end)
        };
        // f(): the second block's `i` is another variable.
        assert!(dead(0));
        assert!(dead(1));
        // k(): the function's `i` is read after the inner block.
        assert!(!dead(2));
        assert!(dead(3));
    }
    #[test]
    fn types_are_unsigned_by_keyword_or_by_the_vocabulary() {
        let mut flow = FlowSpec::default();
        flow.unsigned_types.insert("u32".to_string());
        for ty in [
            "u32",
            "unsigned long",
            "long unsigned int",
            "unsigned",
            "_Bool",
        ] {
            assert!(!is_signed_type(ty.as_bytes(), &flow), "{ty}");
        }
        for ty in ["int", "long", "ssize_t", "u32x", "s64"] {
            assert!(is_signed_type(ty.as_bytes(), &flow), "{ty}");
        }
    }

    #[test]
    fn tests_that_say_the_sign_of_a_count() {
        let holds = |cond: &str, positive: bool| {
            let code = format!("void f(void)\n{{\n\tif ({cond})\n\t\treturn;\n}}\n");
            let tree = crate::c::parse::parse_raw(code.as_bytes()).unwrap();
            let test = all_nodes(&tree)
                .into_iter()
                .find(|n| n.kind_str() == "if_statement")
                .and_then(|n| n.field("condition"))
                .unwrap();
            let mut flow = FlowSpec::default();
            flow.error_value_tests.insert("IS_ERR_VALUE".to_string());
            implies_sign(test, code.as_bytes(), b"n", positive, &flow)
        };
        // Holds whenever n is negative.
        for cond in [
            "n < 0",
            "n <= 0",
            "n < 1",
            "0 > n",
            "(n < 0)",
            "x || n < 0",
            "IS_ERR_VALUE(n)",
        ] {
            assert!(holds(cond, false), "{cond}");
        }
        for cond in [
            "n < -1",
            "n != 0",
            "n == -1",
            "x && n < 0",
            "m < 0",
            "IS_ERR_VALUE(m)",
        ] {
            assert!(!holds(cond, false), "{cond}");
        }
        // Holds only when n is positive or zero.
        for cond in [
            "n > 0",
            "n >= 0",
            "n > -1",
            "0 < n",
            "x && n > 0",
            "(n > 2)",
        ] {
            assert!(holds(cond, true), "{cond}");
        }
        for cond in ["n != 0", "n > -2", "x || n > 0", "n", "m > 0"] {
            assert!(!holds(cond, true), "{cond}");
        }
    }
}
