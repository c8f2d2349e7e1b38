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
//! aside).

use crate::c::syntax::{children_no_comments, normalized};
use crate::rule::pattern::{metavar_name, TokKey};
use crate::rule::{MetaKind, Rule};
use std::collections::BTreeMap;
use tree_sitter::Node;

/// A metavariable's binding: the target node's span and normalised text.
#[derive(Clone, Debug)]
pub struct Binding {
    pub start: usize,
    pub end: usize,
    pub text: String,
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
    /// without `else`, a `for` or a `while`: the bytes from the end of the
    /// head (after its `)`) to the closing brace, which a one-statement
    /// rewrite replaces so that no needless braces are left behind.
    pub sole_block: Option<(usize, usize)>,
}

impl Match {
    pub fn binding(&self, name: &str) -> Option<&Binding> {
        self.bindings.get(name)
    }
}

struct State {
    bindings: BTreeMap<String, Binding>,
    tokens: Vec<MatchedToken>,
}

/// Tries every pattern of `rule` against `node`.
pub fn match_rule(rule_index: usize, rule: &Rule, node: Node, src: &[u8]) -> Option<Match> {
    for (pi, pattern) in rule.patterns.iter().enumerate() {
        let proot = pattern.root();
        if proot.kind() != node.kind() {
            continue;
        }
        let mut state = State {
            bindings: BTreeMap::new(),
            tokens: Vec::new(),
        };
        if match_node(rule, pattern.text(), proot, node, src, &mut state)
            && constraints_hold(rule, &state, node, src)
        {
            return Some(Match {
                rule: rule_index,
                pattern: pi,
                start: node.start_byte(),
                end: node.end_byte(),
                bindings: state.bindings,
                tokens: state.tokens,
                sole_block: None,
            });
        }
    }
    None
}

fn constraints_hold(rule: &Rule, state: &State, node: Node, src: &[u8]) -> bool {
    for (subject, other) in &rule.not_mentions {
        let (Some(s), Some(o)) = (state.bindings.get(subject), state.bindings.get(other)) else {
            continue;
        };
        // `o` is an identifier binding; look for it as a whole identifier in `s`.
        let needle = o.text.as_bytes();
        let mut found = false;
        crate::c::syntax::preorder(node, |n| {
            if found || n.end_byte() <= s.start || n.start_byte() >= s.end {
                return false;
            }
            if n.kind() == "identifier"
                && n.start_byte() >= s.start
                && n.end_byte() <= s.end
                && src[n.byte_range()] == *needle
            {
                found = true;
            }
            true
        });
        if found {
            return false;
        }
    }
    true
}

fn is_expression(node: Node) -> bool {
    node.is_named()
        && !node.kind().ends_with("statement")
        && !matches!(
            node.kind(),
            "comment" | "declaration" | "compound_statement"
        )
}

fn match_node(rule: &Rule, ptext: &[u8], p: Node, t: Node, src: &[u8], st: &mut State) -> bool {
    if let Some(name) = metavar_name(p, ptext) {
        let kind = rule
            .metavars
            .get(name)
            .copied()
            .unwrap_or(MetaKind::Expression);
        let ok_kind = match kind {
            MetaKind::Identifier => t.kind() == "identifier",
            MetaKind::Expression => is_expression(t),
        };
        if !ok_kind {
            return false;
        }
        let text = normalized(t, src);
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
                },
            );
        }
        st.tokens.push(MatchedToken {
            key: TokKey::Meta(name.to_string()),
            start: t.start_byte(),
            end: t.end_byte(),
        });
        return true;
    }
    if p.kind() != t.kind() {
        // A block of one statement and that statement are the same body.
        if p.kind() == "compound_statement" {
            let inner = children_no_comments(p);
            if inner.len() == 3 {
                return match_node(rule, ptext, inner[1], t, src, st);
            }
        } else if t.kind() == "compound_statement" {
            let inner = children_no_comments(t);
            if inner.len() == 3 {
                return match_node(rule, ptext, p, inner[1], src, st);
            }
        }
        return false;
    }
    if p.child_count() == 0 || t.child_count() == 0 {
        if p.child_count() != t.child_count() {
            return false;
        }
        if ptext[p.byte_range()] != src[t.byte_range()] {
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
        .all(|(a, b)| match_node(rule, ptext, a, b, src, st))
}
