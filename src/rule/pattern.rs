//! C snippets with metavariables: match patterns and rewrite templates.
//!
//! A snippet is C code in which `$name` stands for a metavariable. It is
//! parsed with the same tree-sitter grammar as the files it matches: each
//! `$name` becomes the identifier `pp__mv_name`, and the snippet is wrapped in
//! a function body. A snippet ending in `;` or `}` is a statement, any other
//! an expression. Templates are kept as a token list (literal tokens and
//! metavariables, each with the whitespace written before it) so that the
//! rewriter can keep the original spelling of every token it does not change.
//!
//! Alternatives are written `{| a | b |}` inside a snippet: an unnamed group
//! expands the snippet into one pattern per branch (a branch may be empty),
//! a named group `{|$name: a | b |}` stays one pattern in which `$name`
//! matches any one branch and binds the code that branch matched.
//!
//! A statement snippet may hold several statements (`set_page_dirty($p);
//! put_page($p);`): it matches that many consecutive statements of one
//! block. Its root is the first statement; `Pattern::statements` gives all.

use crate::c::parse::{count_errors, parse_raw};
use crate::c::precedence::{self, Precedence};
use crate::c::syntax::preorder;
use crate::c::NodeExt;
use tree_sitter::{Node, Tree};

/// The identifier prefix a metavariable is parsed as.
pub const MV_PREFIX: &str = "pp__mv_";

const WRAP_HEAD: &str = "void pp__pattern(void)\n{\n";
const WRAP_TAIL: &str = "\n}\n";

/// A parsed match pattern. A clone shares the parse tree (tree-sitter
/// counts references to it).
#[derive(Clone)]
pub struct Pattern {
    pub source: String,
    text: Vec<u8>,
    tree: Tree,
    root_path: Vec<usize>,
    /// The grammar's kind of the root node (id and name), which every node
    /// the pattern may match has: kept to tell most nodes apart without
    /// walking down to the root.
    root_kind: (u16, &'static str),
    /// How many consecutive statements the snippet is (1 for an expression
    /// or a single statement).
    statement_count: usize,
    /// Named alternatives: `$name` matches any one of these patterns.
    pub choices: std::collections::BTreeMap<String, Vec<Pattern>>,
}

impl std::fmt::Debug for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pattern")
            .field("source", &self.source)
            .finish()
    }
}

impl Pattern {
    /// The node the pattern's root matches against.
    pub fn root(&self) -> Node<'_> {
        let mut node = self.tree.root_node();
        for &i in &self.root_path {
            node = node
                .child(i as _)
                .expect("the root path was taken from this tree");
        }
        node
    }

    /// The grammar's kind of the root node (`Node::kind_id`).
    pub fn root_kind(&self) -> u16 {
        self.root_kind.0
    }

    /// The name of the root node's kind (`NodeExt::kind_str`).
    pub fn root_kind_str(&self) -> &'static str {
        self.root_kind.1
    }

    /// The pattern's statements in order: the root alone, or the root and
    /// the statements that follow it in a sequence pattern.
    pub fn statements(&self) -> Vec<Node<'_>> {
        sequence_nodes(self.root(), self.statement_count)
    }

    /// Whether the pattern is a sequence of several statements.
    pub fn is_sequence(&self) -> bool {
        self.statement_count > 1
    }

    /// The bytes the pattern nodes index into.
    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// The metavariable a node stands for, when it is one.
    pub fn metavar<'a>(&'a self, node: Node) -> Option<&'a str> {
        metavar_name(node, &self.text)
    }
}

/// `first` and the `count - 1` statements that follow it in its block
/// (comments skipped).
pub(crate) fn sequence_nodes(first: Node<'_>, count: usize) -> Vec<Node<'_>> {
    let mut out = vec![first];
    let mut next = first.next_named_sibling();
    while out.len() < count {
        let Some(n) = next else { break };
        if n.kind_str() != "comment" {
            out.push(n);
        }
        next = n.next_named_sibling();
    }
    out
}

/// The metavariable name of a `pp__mv_*` identifier node.
pub fn metavar_name<'a>(node: Node, text: &'a [u8]) -> Option<&'a str> {
    if !matches!(
        node.kind_str(),
        "identifier" | "type_identifier" | "field_identifier"
    ) {
        return None;
    }
    let t = std::str::from_utf8(&text[node.byte_range()]).ok()?;
    t.strip_prefix(MV_PREFIX)
}

/// A literal token or a metavariable of a template.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TokKey {
    Lit(String),
    Meta(String),
}

/// A rewrite template as tokens.
#[derive(Debug, Clone)]
pub struct Template {
    pub source: String,
    pub tokens: Vec<TemplateToken>,
}

#[derive(Debug, Clone)]
pub struct TemplateToken {
    pub key: TokKey,
    /// Whitespace written before the token in the template.
    pub space_before: String,
    /// For a metavariable, how tightly what it binds must bind where the
    /// template puts it (`c::precedence::required`): looser, it is written
    /// in parentheses.
    pub operand: Precedence,
}

/// Where a problem in a snippet is, as a byte offset into the snippet as written.
#[derive(Debug)]
pub struct SnippetError {
    pub offset: usize,
    pub message: String,
}

/// The `$name` metavariables a snippet uses, with their offsets.
pub fn metavariables(source: &str) -> Vec<(usize, String)> {
    let bytes = source.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let start = i;
            i += 1;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            out.push((start, source[start + 1..i].to_string()));
        } else {
            i += 1;
        }
    }
    out
}

fn mangle(source: &str) -> String {
    source.replace('$', MV_PREFIX)
}

/// A parsed snippet: the wrapped text, its tree, the child-index path to
/// the snippet's root node and the number of consecutive statements.
pub(crate) struct Snippet {
    pub text: Vec<u8>,
    pub tree: Tree,
    pub path: Vec<usize>,
    pub statements: usize,
}

impl Snippet {
    /// The snippet's statements (or its one expression) in order.
    pub fn nodes(&self) -> Vec<Node<'_>> {
        sequence_nodes(node_at(&self.tree, &self.path), self.statements)
    }
}

/// Parses a snippet.
fn parse_snippet(source: &str) -> Result<Snippet, SnippetError> {
    let body = mangle(source.trim());
    if body.is_empty() {
        return Err(SnippetError {
            offset: 0,
            message: "the snippet is empty".into(),
        });
    }
    let is_statement = body.ends_with(';') || body.ends_with('}');
    let inner = if is_statement {
        body.clone()
    } else {
        format!("{body};")
    };
    let text = format!("{WRAP_HEAD}{inner}{WRAP_TAIL}").into_bytes();
    let tree = parse_raw(&text).ok_or_else(|| SnippetError {
        offset: 0,
        message: "the C parser gave no tree".into(),
    })?;
    let root = tree.root_node();
    if count_errors(root) > 0 {
        let mut first = None;
        preorder(root, |n| {
            if first.is_none() && (n.is_error() || n.is_missing()) {
                first = Some(n.start_byte());
            }
            first.is_none()
        });
        let at = first
            .unwrap_or(WRAP_HEAD.len())
            .saturating_sub(WRAP_HEAD.len());
        return Err(SnippetError {
            offset: unmangled_offset(&body, at).min(source.len()),
            message: "the snippet does not parse as C".into(),
        });
    }
    let (path, statements) = snippet_root_path(&tree, is_statement)?;
    Ok(Snippet {
        text,
        tree,
        path,
        statements,
    })
}

/// The child-index path from the wrapper's root to the snippet's root node
/// (its first statement), and how many statements the snippet has.
fn snippet_root_path(tree: &Tree, is_statement: bool) -> Result<(Vec<usize>, usize), SnippetError> {
    let root = tree.root_node();
    // translation_unit > function_definition > compound_statement > statement
    let func = root
        .named_child(0)
        .filter(|n| n.kind_str() == "function_definition");
    let body_node = func.and_then(|f| f.field("body"));
    let Some(body_node) = body_node else {
        return Err(SnippetError {
            offset: 0,
            message: "the snippet is not a statement or an expression".into(),
        });
    };
    let mut cursor = body_node.walk();
    let statements: Vec<(usize, Node)> = body_node
        .children(&mut cursor)
        .enumerate()
        .filter(|(_, c)| c.is_named() && c.kind_str() != "comment")
        .collect();
    if statements.is_empty() || !is_statement && statements.len() != 1 {
        return Err(SnippetError {
            offset: 0,
            message: format!(
                "a snippet must be statements or one expression, found {} statements",
                statements.len()
            ),
        });
    }
    let (index, statement) = statements[0];
    let mut path = vec![0, body_field_index(func.unwrap()), index];
    if !is_statement {
        if statement.kind_str() != "expression_statement" {
            return Err(SnippetError {
                offset: 0,
                message: "the snippet is not an expression".into(),
            });
        }
        path.push(0);
    }
    Ok((path, statements.len()))
}

fn body_field_index(func: Node) -> usize {
    let mut cursor = func.walk();
    let body = func.field("body").expect("checked by the caller");
    let index = func
        .children(&mut cursor)
        .position(|c| c == body)
        .expect("body is a child");
    index
}

/// Maps an offset in the mangled snippet back to the snippet as written.
fn unmangled_offset(mangled: &str, offset: usize) -> usize {
    let extra = MV_PREFIX.len() - 1;
    let before = &mangled[..offset.min(mangled.len())];
    offset - before.matches(MV_PREFIX).count() * extra
}

/// Parses a match pattern (a snippet without alternatives).
pub fn parse_pattern(source: &str) -> Result<Pattern, SnippetError> {
    Ok(Pattern::from_snippet(
        source.to_string(),
        parse_snippet(source)?,
    ))
}

impl Pattern {
    /// The pattern of a parsed snippet, with no named alternatives.
    pub(crate) fn from_snippet(source: String, snippet: Snippet) -> Pattern {
        let Snippet {
            text,
            tree,
            path,
            statements,
        } = snippet;
        let root = node_at(&tree, &path);
        let root_kind = (root.kind_id(), root.kind_str());
        Pattern {
            source,
            text,
            tree,
            root_path: path,
            root_kind,
            statement_count: statements,
            choices: Default::default(),
        }
    }
}

/// The most patterns the alternatives of one snippet may expand to.
pub const MAX_ALTERNATIVES: usize = 256;

/// One expansion of a snippet's unnamed alternatives: the snippet, and its
/// named groups as (name, branch snippets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    pub source: String,
    pub choices: Vec<(String, Vec<String>)>,
}

/// A `{| ... |}` group found in a snippet.
struct Group {
    start: usize,
    end: usize,
    name: Option<String>,
    branches: Vec<String>,
}

/// The first `{| ... |}` group of a snippet. Branches are separated by a
/// `|` outside parentheses, brackets and braces that is not part of `||` or
/// `|=` (a bitwise or at a branch's top level must be parenthesised).
fn first_group(s: &str) -> Result<Option<Group>, SnippetError> {
    let b = s.as_bytes();
    let Some(start) = s.find("{|") else {
        if let Some(at) = s.find("|}") {
            return Err(SnippetError {
                offset: at,
                message: "`|}` closes no alternative `{|`".into(),
            });
        }
        return Ok(None);
    };
    let mut k = start + 2;
    let mut name = None;
    let rest = &s[k..];
    let lead = rest.len() - rest.trim_start().len();
    if rest.trim_start().starts_with('$') {
        let after = &rest[lead + 1..];
        let len = after
            .bytes()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
            .count();
        let tail = after[len..].trim_start();
        if len > 0 && tail.starts_with(':') {
            name = Some(after[..len].to_string());
            k += lead + 1 + len + (after[len..].len() - tail.len()) + 1;
        }
    }
    let (mut depth, mut nest) = (0i32, 0usize);
    let mut branch_start = k;
    let mut branches = Vec::new();
    while k < b.len() {
        if b[k..].starts_with(b"{|") {
            nest += 1;
            k += 2;
            continue;
        }
        if b[k..].starts_with(b"|}") && depth == 0 {
            if nest == 0 {
                branches.push(s[branch_start..k].trim().to_string());
                return Ok(Some(Group {
                    start,
                    end: k + 2,
                    name,
                    branches,
                }));
            }
            nest -= 1;
            k += 2;
            continue;
        }
        match b[k] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b'|' if depth == 0
                && nest == 0
                && b.get(k + 1).is_none_or(|c| *c != b'|' && *c != b'=')
                && (k == 0 || b[k - 1] != b'|') =>
            {
                branches.push(s[branch_start..k].trim().to_string());
                branch_start = k + 1;
            }
            _ => {}
        }
        k += 1;
    }
    Err(SnippetError {
        offset: start,
        message: "the alternative `{|` is not closed by `|}`".into(),
    })
}

/// Expands the unnamed alternatives of a snippet; named groups become their
/// `$name`, with their branches listed.
pub fn expand_alternatives(source: &str) -> Result<Vec<Expanded>, SnippetError> {
    let mut out = Vec::new();
    expand_into(source, Vec::new(), &mut out)?;
    Ok(out)
}

fn expand_into(
    source: &str,
    choices: Vec<(String, Vec<String>)>,
    out: &mut Vec<Expanded>,
) -> Result<(), SnippetError> {
    let Some(g) = first_group(source)? else {
        if out.len() == MAX_ALTERNATIVES {
            return Err(SnippetError {
                offset: 0,
                message: format!(
                    "the alternatives expand to more than {MAX_ALTERNATIVES} patterns"
                ),
            });
        }
        out.push(Expanded {
            source: source.to_string(),
            choices,
        });
        return Ok(());
    };
    if g.branches.len() < 2 {
        return Err(SnippetError {
            offset: g.start,
            message: "an alternative `{| a | b |}` needs at least two branches (one may be empty)"
                .into(),
        });
    }
    let (head, tail) = (&source[..g.start], &source[g.end..]);
    match g.name {
        Some(name) => {
            if g.branches.iter().any(String::is_empty) {
                return Err(SnippetError {
                    offset: g.start,
                    message: format!("a branch of the named alternative `${name}` is empty"),
                });
            }
            let mut choices = choices;
            choices.push((name.clone(), g.branches));
            expand_into(&format!("{head}${name}{tail}"), choices, out)
        }
        None => {
            for branch in &g.branches {
                expand_into(&format!("{head}{branch}{tail}"), choices.clone(), out)?;
            }
            Ok(())
        }
    }
}

/// A snippet's tree and text, for the isomorphism expander.
pub(crate) fn parse_snippet_root(source: &str) -> Result<Snippet, SnippetError> {
    parse_snippet(source)
}

/// A node of a snippet's tree by its child-index path.
pub(crate) fn node_at<'t>(tree: &'t Tree, path: &[usize]) -> Node<'t> {
    let mut node = tree.root_node();
    for &i in path {
        node = node
            .child(i as _)
            .expect("the path was taken from this tree");
    }
    node
}

/// The snippet text of a mangled range, with `$name` written back.
pub(crate) fn unmangle(text: &[u8]) -> String {
    String::from_utf8_lossy(text).replace(MV_PREFIX, "$")
}

/// Parses a rewrite template into tokens.
pub fn parse_template(source: &str) -> Result<Template, SnippetError> {
    let snippet = parse_snippet(source)?;
    let text = &snippet.text;
    let nodes = snippet.nodes();
    let mut tokens = Vec::new();
    let mut prev_end = nodes[0].start_byte();
    for root in nodes {
        preorder(root, |n| {
            if let Some(name) = metavar_name(n, text) {
                let operand = n
                    .parent()
                    .map_or(Precedence::Comma, |p| precedence::required(p, n, text));
                tokens.push(TemplateToken {
                    key: TokKey::Meta(name.to_string()),
                    space_before: String::from_utf8_lossy(&text[prev_end..n.start_byte()])
                        .into_owned(),
                    operand,
                });
                prev_end = n.end_byte();
                return false;
            }
            if n.child_count() == 0 {
                // A statement template parsed from `x;` has a real `;` token;
                // an expression template was given one by the wrapper, which is
                // outside the root and never seen here.
                tokens.push(TemplateToken {
                    key: TokKey::Lit(String::from_utf8_lossy(&text[n.byte_range()]).into_owned()),
                    space_before: String::from_utf8_lossy(&text[prev_end..n.start_byte()])
                        .into_owned(),
                    operand: Precedence::Comma,
                });
                prev_end = n.end_byte();
                return false;
            }
            true
        });
    }
    if let Some(first) = tokens.first_mut() {
        first.space_before.clear();
    }
    Ok(Template {
        source: source.to_string(),
        tokens,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_and_templates_parse() {
        let p = parse_pattern("put_page($page)").unwrap();
        assert_eq!(p.root().kind_str(), "call_expression");
        let l = parse_pattern("for ($i = 0; $i < $n; $i++)\n\tput_page($pages[$i]);").unwrap();
        assert_eq!(l.root().kind_str(), "for_statement");
        let t = parse_template("unpin_user_pages($pages, $n);").unwrap();
        let keys: Vec<_> = t.tokens.iter().map(|t| t.key.clone()).collect();
        assert_eq!(keys[0], TokKey::Lit("unpin_user_pages".into()));
        assert_eq!(keys[2], TokKey::Meta("pages".into()));
        assert_eq!(t.tokens[4].space_before, " ");
        let seq = parse_pattern("set_page_dirty($p);\n/* then */\nput_page($p);").unwrap();
        let kinds: Vec<&str> = seq.statements().iter().map(|n| n.kind_str()).collect();
        assert_eq!(kinds, ["expression_statement", "expression_statement"]);
        assert!(seq.is_sequence() && !p.is_sequence());
        let two = parse_template("a($x);\nb($x);").unwrap();
        assert_eq!(two.tokens.len(), 10);
        assert_eq!(two.tokens[5].space_before, "\n");
        assert!(parse_pattern("a; b").is_err());
        let err = parse_pattern("put_page($page").unwrap_err();
        assert_eq!(err.message, "the snippet does not parse as C");
    }

    #[test]
    fn alternatives_expand() {
        let e = expand_alternatives("{| if ($d) | |} {| f | g |}($p);").unwrap();
        let sources: Vec<&str> = e.iter().map(|x| x.source.as_str()).collect();
        assert_eq!(
            sources,
            ["if ($d) f($p);", "if ($d) g($p);", " f($p);", " g($p);"]
        );
        let named =
            expand_alternatives("{|$fn: set_page_dirty | set_page_dirty_lock |}($p)").unwrap();
        assert_eq!(named[0].source, "$fn($p)");
        assert_eq!(
            named[0].choices,
            [(
                "fn".to_string(),
                vec![
                    "set_page_dirty".to_string(),
                    "set_page_dirty_lock".to_string()
                ]
            )]
        );
        // A bitwise or inside parentheses does not split a branch.
        let or = expand_alternatives("x = {| (a | b) | c |}").unwrap();
        assert_eq!(or[0].source, "x = (a | b)");
        assert_eq!(or.len(), 2);
        assert_eq!(expand_alternatives("{| a | b").unwrap_err().offset, 0);
        assert_eq!(expand_alternatives("{| a |}").unwrap_err().offset, 0);
    }
}
