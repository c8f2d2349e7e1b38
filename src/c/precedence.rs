//! How tightly a C expression binds, and how tightly one must bind to stand
//! where a rewrite puts it.
//!
//! A template writes a bound expression into a new context: `$flags |
//! FOLL_LONGTERM` puts the flags argument of a call under `|`, `$write ?
//! FOLL_WRITE : 0` makes it the condition of `?:`. Written there as it was,
//! `write ? FOLL_WRITE : 0` would become `write ? FOLL_WRITE : 0 |
//! FOLL_LONGTERM`, which C reads as `write ? FOLL_WRITE : (0 |
//! FOLL_LONGTERM)`. The rewriter compares the two levels here and puts the
//! expression in parentheses when it binds more loosely than its new place
//! asks (`rewrite::template::fill`).

use crate::c::NodeExt;
use tree_sitter::Node;

/// C's expression precedence levels, loosest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Precedence {
    Comma,
    Assignment,
    Conditional,
    LogicalOr,
    LogicalAnd,
    BitOr,
    BitXor,
    BitAnd,
    Equality,
    Relational,
    Shift,
    Additive,
    Multiplicative,
    /// Casts and prefix operators (`(int)x`, `*p`, `&x`, `!x`, `sizeof x`).
    Unary,
    /// Postfix expressions and primaries: calls, subscripts, fields,
    /// names, literals, anything in parentheses.
    Postfix,
}

impl Precedence {
    /// The level one level tighter (the right operand of a left-associative
    /// operator); `Postfix` stays.
    fn tighter(self) -> Precedence {
        use Precedence::*;
        match self {
            Comma => Assignment,
            Assignment => Conditional,
            Conditional => LogicalOr,
            LogicalOr => LogicalAnd,
            LogicalAnd => BitOr,
            BitOr => BitXor,
            BitXor => BitAnd,
            BitAnd => Equality,
            Equality => Relational,
            Relational => Shift,
            Shift => Additive,
            Additive => Multiplicative,
            Multiplicative => Unary,
            Unary | Postfix => Postfix,
        }
    }
}

/// The level of a binary operator.
fn binary_level(operator: &[u8]) -> Option<Precedence> {
    use Precedence::*;
    Some(match operator {
        b"||" => LogicalOr,
        b"&&" => LogicalAnd,
        b"|" => BitOr,
        b"^" => BitXor,
        b"&" => BitAnd,
        b"==" | b"!=" => Equality,
        b"<" | b">" | b"<=" | b">=" => Relational,
        b"<<" | b">>" => Shift,
        b"+" | b"-" => Additive,
        b"*" | b"/" | b"%" => Multiplicative,
        _ => return None,
    })
}

/// The operator of a binary expression, as written.
fn operator<'s>(node: Node, src: &'s [u8]) -> Option<&'s [u8]> {
    node.field("operator").map(|op| &src[op.byte_range()])
}

/// How tightly an expression binds: the level of its outermost operator.
pub fn of(node: Node, src: &[u8]) -> Precedence {
    use Precedence::*;
    match node.kind_str() {
        "comma_expression" => Comma,
        "assignment_expression" => Assignment,
        "conditional_expression" => Conditional,
        "binary_expression" => operator(node, src).and_then(binary_level).unwrap_or(Comma),
        "cast_expression" | "unary_expression" | "pointer_expression" | "sizeof_expression"
        | "alignof_expression" => Unary,
        // A prefix `++x` is unary; a postfix `x++` is postfix.
        "update_expression" => match node.child(0).map(|c| c.kind_str()) {
            Some("++" | "--") => Unary,
            _ => Postfix,
        },
        "identifier"
        | "number_literal"
        | "string_literal"
        | "concatenated_string"
        | "char_literal"
        | "true"
        | "false"
        | "null"
        | "parenthesized_expression"
        | "call_expression"
        | "subscript_expression"
        | "field_expression"
        | "compound_literal_expression" => Postfix,
        // Anything else (a macro the grammar read oddly, an error) is
        // taken as the loosest, so that it is always put in parentheses
        // where a level is asked for.
        _ => Comma,
    }
}

/// How tightly an expression must bind to stand as `child` of `parent`
/// without parentheses: an argument or an initialiser takes anything but a
/// comma expression, an operand of `|` what binds at least as tightly as
/// `|` on its left and more tightly on its right, a condition of `?:` a
/// `||` expression, an operand of a prefix operator a unary expression; a
/// type or a statement (a `type` or `statement` metavariable) anything.
pub fn required(parent: Node, child: Node, src: &[u8]) -> Precedence {
    use Precedence::*;
    let is = |field: &str| parent.field(field) == Some(child);
    match parent.kind_str() {
        "init_declarator" if is("value") => Assignment,
        "argument_list" | "initializer_list" => Assignment,
        "parenthesized_expression" | "expression_statement" | "return_statement" => Comma,
        "binary_expression" => match operator(parent, src).and_then(binary_level) {
            Some(level) if is("left") => level,
            Some(level) => level.tighter(),
            None => Postfix,
        },
        "conditional_expression" if is("condition") => LogicalOr,
        "conditional_expression" if is("consequence") => Comma,
        "conditional_expression" => Conditional,
        "assignment_expression" if is("right") => Assignment,
        "comma_expression" if is("left") => Comma,
        "comma_expression" => Assignment,
        "cast_expression" | "sizeof_expression" if is("value") => Unary,
        "unary_expression" | "pointer_expression" => Unary,
        // The callee of a call, the array of a subscript, the base of a
        // field, an operand of `++`/`--`, an assignment's target: a primary.
        "call_expression"
        | "subscript_expression"
        | "field_expression"
        | "update_expression"
        | "assignment_expression" => Postfix,
        // Not an operand (a type, a declarator, a statement of its own):
        // nothing around it to regroup.
        _ => Comma,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::c::parse::parse_raw;

    /// The level of the expression `expr` and what its operand `operand`
    /// (by its text) must bind at.
    fn check(expr: &str, operand: &str) -> (Precedence, Precedence) {
        let text = format!("int f(void) {{ return {expr}; }}\n");
        let tree = parse_raw(text.as_bytes()).unwrap();
        let src = text.as_bytes();
        let mut found = None;
        crate::c::syntax::preorder(tree.root_node(), |n| {
            if found.is_none() && &src[n.byte_range()] == operand.as_bytes() {
                if let Some(p) = n.parent() {
                    found = Some((of(n, src), required(p, n, src)));
                }
            }
            found.is_none()
        });
        found.expect("the operand is in the expression")
    }

    #[test]
    fn operands_that_bind_more_loosely_than_their_place_are_seen() {
        use Precedence::*;
        // The conditional under `|`: looser than `|` asks, so parenthesised.
        assert_eq!(
            check(
                "(w ? FOLL_WRITE : 0) | FOLL_LONGTERM",
                "(w ? FOLL_WRITE : 0)"
            ),
            (Postfix, BitOr)
        );
        assert_eq!(check("f(a = b, c)", "a = b"), (Assignment, Assignment));
        assert_eq!(check("a | b | c", "a | b"), (BitOr, BitOr));
        assert_eq!(check("a | (b | c)", "(b | c)"), (Postfix, BitXor));
        assert_eq!(check("a || b ? x : y", "a || b"), (LogicalOr, LogicalOr));
        assert_eq!(check("&p[i]", "p[i]"), (Postfix, Unary));
        assert_eq!(check("*p++", "p++"), (Postfix, Unary));
        assert_eq!(check("-x * y", "-x"), (Unary, Multiplicative));
        assert_eq!(check("a << 1 == b", "a << 1"), (Shift, Equality));
        assert_eq!(check("f(x)(y)", "f(x)"), (Postfix, Postfix));
        assert_eq!(check("(a + b)->f", "(a + b)"), (Postfix, Postfix));
    }

    /// A type or a declarator is no operand: whatever binds there asks for
    /// no parentheses (a `type` metavariable bound to `unsigned long`; the
    /// type of `sizeof`, as its node and as the struct inside it).
    #[test]
    fn types_and_declarators_ask_for_nothing() {
        use Precedence::*;
        let text = "int f(void) { unsigned long *p = 0; return sizeof(struct page); }\n";
        let tree = parse_raw(text.as_bytes()).unwrap();
        let src = text.as_bytes();
        let mut asked = Vec::new();
        crate::c::syntax::preorder(tree.root_node(), |n| {
            let spelled = &src[n.byte_range()];
            if spelled == b"unsigned long" || spelled == b"struct page" || spelled == b"*p" {
                asked.push((of(n, src), required(n.parent().unwrap(), n, src)));
            }
            true
        });
        assert_eq!(asked, [(Comma, Comma); 4]);
    }
}
