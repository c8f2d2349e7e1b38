//! Structural matching of rule patterns against a function's syntax tree.
//!
//! One matcher serves finding and fixing: a `Match` carries the metavariable
//! bindings and, for every token of the pattern, the span of the target it
//! matched, which the rewriter uses to keep the original spelling of the
//! tokens a rewrite does not change.
//!
//! Matching is exact on node kinds and literal tokens, ignores comments and
//! whitespace, and treats a braced block holding one statement as that
//! statement (`for (...) { put_page(p[i]); }` matches a brace-less pattern).
//! A metavariable used twice must bind equal text (whitespace and comments
//! aside). Parentheses around an expression are transparent too, a named
//! alternative (`{|$f: a | b |}`) tries its branches in order, and a
//! metavariable of a C type accepts an identifier whose declaration, read
//! from the enclosing blocks, the parameters or the file, has that type.
//!
//! A pattern of several statements matches as many consecutive statements
//! of one block (comments between them allowed), anchored at the first: the
//! `Match` spans from its start to the end of the last.

use crate::c::syntax::{children_no_comments, normalized};
use crate::c::NodeExt;
use crate::rule::metavar::{is_statement, CType};
use crate::rule::pattern::TokKey;
use crate::rule::{MetaKind, Pattern, Rule};
use std::collections::BTreeMap;
use tree_sitter::Node;

/// A metavariable's binding: the target node's span and normalised text.
#[derive(Clone, Debug)]
pub struct Binding {
    pub start: usize,
    pub end: usize,
    pub text: String,
    /// How tightly the bound expression binds, for a template that writes
    /// it where an operator asks for more (`c::precedence`).
    pub precedence: crate::c::precedence::Precedence,
}

/// A pattern token and the target span it matched.
#[derive(Clone, Debug)]
pub struct MatchedToken {
    pub key: TokKey,
    pub start: usize,
    pub end: usize,
}

/// One occurrence of a rule's pattern.
#[derive(Clone, Debug)]
pub struct Match {
    pub rule: usize,
    pub pattern: usize,
    pub start: usize,
    pub end: usize,
    pub bindings: BTreeMap<String, Binding>,
    pub tokens: Vec<MatchedToken>,
    /// When the match is the only statement of a braced body of an `if`
    /// without `else`, a `for` or a `while`: the body a one-statement
    /// rewrite replaces so that no needless braces are left behind.
    pub sole_block: Option<SoleBlock>,
    /// For a sequence pattern, the span of each statement it matched, in
    /// order (empty for a pattern matched at one node).
    pub statements: Vec<(usize, usize)>,
}

/// A braced body holding a match alone, which a one-statement rewrite
/// replaces with its statement.
#[derive(Clone, Debug)]
pub struct SoleBlock {
    /// What owns the block.
    pub owner: BlockOwner,
    /// The end of the closing brace.
    pub block_end: usize,
}

/// What a braced body holding a match alone belongs to.
#[derive(Clone, Debug)]
pub enum BlockOwner {
    /// The head of an `if` (without `else`), `for` or `while`.
    Head {
        /// The end of the head (after its `)`).
        end: usize,
        /// The offsets of the parentheses of the head's condition that
        /// kernel style calls needless (around a comparison that is an
        /// operand of `&&` or `||`), dropped as the head's line changes
        /// anyway.
        needless_parens: Vec<usize>,
    },
    /// Nothing: a bare block among statements (`{ stmt; }`), which the
    /// statement replaces on its line.
    Bare {
        /// Where the block starts.
        start: usize,
    },
}

impl Match {
    pub fn binding(&self, name: &str) -> Option<&Binding> {
        self.bindings.get(name)
    }

    /// The node of the target that a binding holds, found from the node
    /// the match is anchored at (or, for a sequence, from its block).
    pub fn binding_node<'t>(&self, anchor: Node<'t>, name: &str) -> Option<Node<'t>> {
        let b = self.binding(name)?;
        let scope = if self.statements.is_empty() {
            anchor
        } else {
            anchor.parent()?
        };
        scope.named_descendant_for_byte_range(b.start, b.end)
    }
}

struct State {
    bindings: BTreeMap<String, Binding>,
    tokens: Vec<MatchedToken>,
}

/// The bindings and matched tokens of one pattern at one node, and the
/// statement spans of a sequence pattern.
pub struct PatternMatch {
    pub bindings: BTreeMap<String, Binding>,
    pub tokens: Vec<MatchedToken>,
    pub statements: Vec<(usize, usize)>,
}

impl PatternMatch {
    /// The end of the matched code: the node's, or the last statement's.
    pub fn end(&self, node: Node) -> usize {
        self.statements.last().map_or(node.end_byte(), |s| s.1)
    }
}

/// The blocks whose statements a sequence pattern may match.
const SEQUENCE_PARENTS: [&str; 2] = ["compound_statement", "case_statement"];

/// Tries every pattern of `rule` against `node`.
pub fn match_rule(rule_index: usize, rule: &Rule, node: Node, src: &[u8]) -> Option<Match> {
    // A sequence pattern reads the statements after `node` too.
    // The parent is asked last: it is a walk from the root in tree-sitter.
    let sequence = rule.patterns.iter().any(Pattern::is_sequence);
    let reach = match sequence.then(|| node.parent()).flatten() {
        Some(p) => p.end_byte(),
        None => node.end_byte(),
    };
    let text = &src[node.start_byte()..reach];
    if rule
        .required_words
        .iter()
        .any(|w| memchr::memmem::find(text, w.as_bytes()).is_none())
    {
        return None;
    }
    for (pi, pattern) in rule.patterns.iter().enumerate() {
        if pattern.root_kind_str() != node.kind_str() {
            continue;
        }
        let Some(found) = match_pattern(pattern, &rule.metavars, node, src, BTreeMap::new()) else {
            continue;
        };
        if constraints_hold(rule, &found, node, src) {
            return Some(Match {
                rule: rule_index,
                pattern: pi,
                start: node.start_byte(),
                end: found.end(node),
                bindings: found.bindings,
                tokens: found.tokens,
                sole_block: None,
                statements: found.statements,
            });
        }
    }
    None
}

/// Matches one pattern at `node`, starting from `bindings` (a metavariable
/// bound there must match the same text again).
pub fn match_pattern(
    pattern: &Pattern,
    metavars: &BTreeMap<String, MetaKind>,
    node: Node,
    src: &[u8],
    bindings: BTreeMap<String, Binding>,
) -> Option<PatternMatch> {
    let mut state = State {
        bindings,
        tokens: Vec::new(),
    };
    let m = Matcher { metavars, src };
    if !pattern.is_sequence() {
        return m
            .node(pattern, pattern.root(), node, &mut state)
            .then_some(PatternMatch {
                bindings: state.bindings,
                tokens: state.tokens,
                statements: Vec::new(),
            });
    }
    if !node
        .parent()
        .is_some_and(|p| SEQUENCE_PARENTS.contains(&p.kind_str()))
    {
        return None;
    }
    let wanted = pattern.statements();
    let targets = crate::rule::pattern::sequence_nodes(node, wanted.len());
    if targets.len() != wanted.len() {
        return None;
    }
    for (p, t) in wanted.into_iter().zip(&targets) {
        if !m.node(pattern, p, *t, &mut state) {
            return None;
        }
    }
    Some(PatternMatch {
        bindings: state.bindings,
        tokens: state.tokens,
        statements: targets
            .iter()
            .map(|t| (t.start_byte(), t.end_byte()))
            .collect(),
    })
}

/// The first node at or below `root` (in preorder) where a pattern matches.
pub fn find_first<'t>(
    pattern: &Pattern,
    metavars: &BTreeMap<String, MetaKind>,
    root: Node<'t>,
    src: &[u8],
) -> Option<(Node<'t>, PatternMatch)> {
    let mut found = None;
    crate::c::syntax::preorder(root, |n| {
        if found.is_some() {
            return false;
        }
        if let Some(m) = match_pattern(pattern, metavars, n, src, BTreeMap::new()) {
            found = Some((n, m));
            return false;
        }
        true
    });
    found
}

fn constraints_hold(rule: &Rule, found: &PatternMatch, node: Node, src: &[u8]) -> bool {
    let bindings = &found.bindings;
    // The bindings of a sequence lie in the statements after `node` too.
    let sequence = !found.statements.is_empty();
    let scope = match sequence.then(|| node.parent()).flatten() {
        Some(p) => p,
        None => node,
    };
    for (subject, other) in &rule.not_mentions {
        let (Some(s), Some(o)) = (bindings.get(subject), bindings.get(other)) else {
            continue;
        };
        // `o` is an identifier binding; look for it as a whole identifier in `s`.
        let needle = o.text.as_bytes();
        let mut mentioned = false;
        crate::c::syntax::preorder(scope, |n| {
            if mentioned || n.end_byte() <= s.start || n.start_byte() >= s.end {
                return false;
            }
            if n.kind_str() == "identifier"
                && n.start_byte() >= s.start
                && n.end_byte() <= s.end
                && src[n.byte_range()] == *needle
            {
                mentioned = true;
            }
            true
        });
        if mentioned {
            return false;
        }
    }
    for (name, re) in &rule.constraints.regex {
        if let Some(b) = bindings.get(name) {
            if !re.is_match(&b.text) {
                return false;
            }
        }
    }
    for other in &rule.constraints.not {
        if match_pattern(other, &rule.metavars, node, src, bindings.clone()).is_some() {
            return false;
        }
    }
    if !rule.constraints.inside.is_empty() {
        let mut ancestor = node.parent();
        let mut inside = false;
        while let Some(a) = ancestor {
            if rule
                .constraints
                .inside
                .iter()
                .any(|p| match_pattern(p, &rule.metavars, a, src, bindings.clone()).is_some())
            {
                inside = true;
                break;
            }
            ancestor = a.parent();
        }
        if !inside {
            return false;
        }
    }
    true
}

struct Matcher<'a> {
    metavars: &'a BTreeMap<String, MetaKind>,
    src: &'a [u8],
}

impl Matcher<'_> {
    /// The metavariable a pattern node stands for: `$name`, or `$name;` for
    /// a statement metavariable.
    fn metavar<'p>(&self, pattern: &'p Pattern, p: Node) -> Option<&'p str> {
        if let Some(name) = pattern.metavar(p) {
            return Some(name);
        }
        if p.kind_str() == "expression_statement" {
            let inner = children_no_comments(p);
            if inner.len() == 2 {
                let name = pattern.metavar(inner[0])?;
                return (self.metavars.get(name) == Some(&MetaKind::Statement)).then_some(name);
            }
        }
        None
    }

    fn bind(&self, name: &str, kind: &MetaKind, t: Node, st: &mut State) -> bool {
        if !kind.accepts_shape(t) {
            return false;
        }
        if let MetaKind::CType(want) = kind {
            if declared_type(t, self.src).as_ref() != Some(want) {
                return false;
            }
        }
        let text = normalized(t, self.src);
        if let Some(prev) = st.bindings.get(name) {
            if prev.text != text {
                return false;
            }
        } else {
            st.bindings.insert(
                name.to_string(),
                Binding {
                    start: t.start_byte(),
                    end: t.end_byte(),
                    text,
                    precedence: crate::c::precedence::of(t, self.src),
                },
            );
        }
        st.tokens.push(MatchedToken {
            key: TokKey::Meta(name.to_string()),
            start: t.start_byte(),
            end: t.end_byte(),
        });
        true
    }

    fn node(&self, pattern: &Pattern, p: Node, t: Node, st: &mut State) -> bool {
        if let Some(name) = self.metavar(pattern, p) {
            let kind = self
                .metavars
                .get(name)
                .cloned()
                .unwrap_or(MetaKind::Expression);
            if let Some(branches) = pattern.choices.get(name) {
                // A named alternative: the first branch that matches, and
                // the metavariable binds the code it matched.
                for branch in branches {
                    let mut trial = State {
                        bindings: st.bindings.clone(),
                        tokens: st.tokens.clone(),
                    };
                    if self.node(branch, branch.root(), t, &mut trial) {
                        trial.tokens.truncate(st.tokens.len());
                        *st = trial;
                        return self.bind(name, &MetaKind::Expression, t, st)
                            || is_statement(t) && self.bind(name, &MetaKind::Statement, t, st);
                    }
                }
                return false;
            }
            return self.bind(name, &kind, t, st);
        }
        if p.kind_str() != t.kind_str() {
            // A block of one statement and that statement are the same
            // body; `(e)` and `e` are the same expression.
            for wrapper in ["compound_statement", "parenthesized_expression"] {
                if p.kind_str() == wrapper {
                    if let Some(inner) = sole_inner(p) {
                        return self.node(pattern, inner, t, st);
                    }
                } else if t.kind_str() == wrapper {
                    if let Some(inner) = sole_inner(t) {
                        return self.node(pattern, p, inner, st);
                    }
                }
            }
            return false;
        }
        if p.child_count() == 0 || t.child_count() == 0 {
            if p.child_count() != t.child_count() {
                return false;
            }
            let ptext = pattern.text();
            if ptext[p.byte_range()] != self.src[t.byte_range()] {
                return false;
            }
            st.tokens.push(MatchedToken {
                key: TokKey::Lit(String::from_utf8_lossy(&ptext[p.byte_range()]).into_owned()),
                start: t.start_byte(),
                end: t.end_byte(),
            });
            return true;
        }
        let pc = children_no_comments(p);
        let tc = children_no_comments(t);
        if pc.len() != tc.len() {
            return false;
        }
        pc.into_iter()
            .zip(tc)
            .all(|(a, b)| self.node(pattern, a, b, st))
    }
}

/// The one node between the delimiters of a block or parentheses.
fn sole_inner(node: Node) -> Option<Node> {
    let inner = children_no_comments(node);
    (inner.len() == 3).then(|| inner[1])
}

/// The declared type of an identifier, read from the nearest declaration in
/// scope: the enclosing blocks (declarations before it), the function's
/// parameters, then the file.
fn declared_type(ident: Node, src: &[u8]) -> Option<CType> {
    let name = &src[ident.byte_range()];
    let mut scope = ident.parent();
    while let Some(s) = scope {
        let candidates: Vec<Node> = match s.kind_str() {
            "compound_statement" | "translation_unit" => children_no_comments(s)
                .into_iter()
                .filter(|c| c.kind_str() == "declaration" && c.start_byte() < ident.start_byte())
                .collect(),
            "function_definition" => {
                let mut out = Vec::new();
                crate::c::syntax::preorder(s, |n| {
                    if n.kind_str() == "compound_statement" {
                        return false;
                    }
                    if n.kind_str() == "parameter_declaration" {
                        out.push(n);
                        return false;
                    }
                    true
                });
                out
            }
            "for_statement" => s
                .field("initializer")
                .filter(|i| i.kind_str() == "declaration")
                .into_iter()
                .collect(),
            _ => Vec::new(),
        };
        for decl in candidates {
            let Some(base) = decl.field("type") else {
                continue;
            };
            let mut cursor = decl.walk();
            for d in decl.children_by_field_name("declarator", &mut cursor) {
                let Some(id) = crate::c::syntax::declarator_identifier(d) else {
                    continue;
                };
                if &src[id.byte_range()] != name {
                    continue;
                }
                let mut pointers = 0;
                let mut n = d;
                while n != id {
                    if matches!(n.kind_str(), "pointer_declarator" | "array_declarator") {
                        pointers += 1;
                    }
                    match n.field("declarator") {
                        Some(inner) => n = inner,
                        None => break,
                    }
                }
                return Some(CType {
                    base: normalized(base, src),
                    pointers,
                });
            }
        }
        scope = s.parent();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::compile_rule;

    /// The text of every node of `code` (a file) the rule matches.
    fn matches(rule: &str, code: &str) -> Vec<String> {
        let rule = compile_rule("r.toml", rule).unwrap();
        let tree = crate::c::parse::parse_raw(code.as_bytes()).unwrap();
        let mut out = Vec::new();
        crate::c::syntax::preorder(tree.root_node(), |n| {
            if let Some(m) = match_rule(0, &rule, n, code.as_bytes()) {
                out.push(code[m.start..m.end].to_string());
            }
            true
        });
        out
    }

    fn rule(metavars: &str, pattern: &str, constraints: &str) -> String {
        format!(
            "id = \"t\"\nkind = \"rewrite\"\ntitle = \"t\"\n[metavars]\n{metavars}\n[[match]]\npattern = \"{pattern}\"\n[constraints]\n{constraints}\n[rewrite]\nany = \"x()\"\n"
        )
    }

    #[test]
    fn c_types_are_read_from_declarations() {
        let code = "struct page *g;\nvoid f(struct page **arg, unsigned long cookie)\n{\n\tstruct page *pages[4], *one;\n\tput_page(one);\n\tput_page(cookie);\n\tput_page(g);\n\tput_page(pages);\n\tput_page(arg);\n\t{ long one; put_page(one); }\n}\n";
        let one = rule("p = \"struct page *\"", "put_page($p)", "");
        assert_eq!(matches(&one, code), ["put_page(one)", "put_page(g)"]);
        let array = rule("p = \"struct page **\"", "put_page($p)", "");
        assert_eq!(matches(&array, code), ["put_page(pages)", "put_page(arg)"]);
        let typedef = rule("p = \"unsigned long\"", "put_page($p)", "");
        assert_eq!(matches(&typedef, code), ["put_page(cookie)"]);
        let inner = rule("p = \"long\"", "put_page($p)", "");
        assert_eq!(matches(&inner, code), ["put_page(one)"]);
    }

    #[test]
    fn constraints_filter_matches() {
        let code = "void f(struct page **pages, int n)\n{\n\tint i;\n\n\tput_page(pages[0]);\n\tfor (i = 0; i < n; i++)\n\t\tput_page(pages[i]);\n\tput_page(user_pages[1]);\n}\n";
        let metavars = "p = \"expression\"\nq = \"expression\"\ni = \"identifier\"\nn = \"expression\"\nb = \"statement\"";
        let all = rule(metavars, "put_page($p)", "");
        assert_eq!(matches(&all, code).len(), 3);
        let not = rule(metavars, "put_page($p)", "not = [\"put_page($q[0])\"]");
        assert_eq!(
            matches(&not, code),
            ["put_page(pages[i])", "put_page(user_pages[1])"]
        );
        let inside = rule(
            metavars,
            "put_page($p)",
            "inside = [\"for ($i = 0; $i < $n; $i++) $b;\"]",
        );
        assert_eq!(matches(&inside, code), ["put_page(pages[i])"]);
        let regex = rule(metavars, "put_page($p)", "regex = { p = \"^user_\" }");
        assert_eq!(matches(&regex, code), ["put_page(user_pages[1])"]);
    }

    #[test]
    fn sequences_match_consecutive_statements() {
        let code = "void f(struct page *p, struct page *q)\n{\n\tdirty(p);\n\t/* done */\n\tput_page(p);\n\tdirty(q);\n\tuse(q);\n\tput_page(q);\n\tif (p)\n\t\tdirty(p);\n\tput_page(q);\n}\n";
        let seq = rule("x = \"expression\"", "dirty($x); put_page($x);", "");
        assert_eq!(
            matches(&seq, code),
            ["dirty(p);\n\t/* done */\n\tput_page(p);"]
        );
        let compiled = compile_rule("r.toml", &seq).unwrap();
        let tree = crate::c::parse::parse_raw(code.as_bytes()).unwrap();
        let mut spans = Vec::new();
        crate::c::syntax::preorder(tree.root_node(), |n| {
            if let Some(m) = match_rule(0, &compiled, n, code.as_bytes()) {
                spans = m.statements.clone();
            }
            true
        });
        let texts: Vec<&str> = spans.iter().map(|&(s, e)| &code[s..e]).collect();
        assert_eq!(texts, ["dirty(p);", "put_page(p);"]);
    }

    #[test]
    fn other_kinds_match_their_shapes() {
        let code = "void f(int n)\n{\n\tg(3);\n\tg(n);\n\tg(\"s\");\n}\n";
        let constant = rule("c = \"constant\"", "g($c)", "");
        assert_eq!(matches(&constant, code), ["g(3)", "g(\"s\")"]);
        let named = rule(
            "f = \"identifier\"\nx = \"expression\"",
            "{|$f: g | h |}($x)",
            "regex = { f = \"^g$\" }",
        );
        assert_eq!(matches(&named, code).len(), 3);
    }
}
