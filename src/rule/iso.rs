//! Isomorphisms: C shapes that mean the same thing, declared as data
//! (`rules/iso.toml`), as Coccinelle's `standard.iso`.
//!
//! An isomorphism lists equivalent forms, C snippets with metavariables.
//! Before a rule's patterns are matched, every pattern is expanded: wherever
//! one form matches a part of the pattern, a copy of the pattern with that
//! part written as each other form is added, until nothing new comes out.
//! Isomorphisms apply in file order, each to every pattern the previous
//! ones produced, so a later one (the index declared in the `for`) sees the
//! shapes an earlier one (the loop step) wrote. A metavariable of a form
//! that the matched form does not bind (the type of a declared index) becomes
//! a fresh metavariable of the rule, named `<iso id>_<name>`.
//!
//! Three isomorphisms are built into the matcher instead (`builtin`):
//! parentheses around an expression, a braced block of one statement, and
//! comments and blank lines. They are listed in the file so that their
//! examples run with the others.

use super::metavar::{is_statement, MetaKind};
use super::pattern::{
    metavar_name, metavariables, node_at, parse_snippet_root, unmangle, Pattern, Snippet,
    SnippetError,
};
use crate::c::syntax::{children_no_comments, normalized, preorder};
use crate::c::NodeExt;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use toml::Spanned;
use tree_sitter::{Node, Tree};

/// The most patterns the isomorphisms may expand one pattern into.
pub const MAX_ISO_EXPANSIONS: usize = 1024;

/// Isomorphisms that are part of the matcher rather than pattern expansion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    /// `(e)` and `e` match each other.
    Parentheses,
    /// `{ s }` and `s` match each other.
    Braces,
    /// Comments and blank lines are ignored.
    Comments,
}

/// A parsed form of an isomorphism.
struct Form {
    source: String,
    text: Vec<u8>,
    tree: Tree,
    root_path: Vec<usize>,
}

impl Form {
    fn root(&self) -> Node<'_> {
        node_at(&self.tree, &self.root_path)
    }
}

/// A pattern and a piece of code: an isomorphism's test case.
#[derive(Clone, Debug)]
pub struct IsoCase {
    pub pattern: String,
    pub code: String,
}

/// One isomorphism.
pub struct Iso {
    pub id: String,
    pub doc: String,
    pub builtin: Option<Builtin>,
    forms: Vec<Form>,
    metavars: BTreeMap<String, MetaKind>,
    /// Code the pattern must match.
    pub examples: Vec<IsoCase>,
    /// Code the pattern must not match.
    pub counterexamples: Vec<IsoCase>,
}

impl std::fmt::Debug for Iso {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Iso").field("id", &self.id).finish()
    }
}

impl Iso {
    /// The forms as written.
    pub fn forms(&self) -> impl Iterator<Item = &str> {
        self.forms.iter().map(|f| f.source.as_str())
    }
}

/// The isomorphisms of a pack.
#[derive(Debug, Default)]
pub struct IsoSet {
    pub path: String,
    pub isos: Vec<Iso>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIsoFile {
    #[allow(dead_code)]
    kind: String,
    #[allow(dead_code)]
    title: String,
    #[serde(default)]
    iso: Vec<RawIso>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIso {
    id: String,
    doc: String,
    #[serde(default)]
    builtin: Option<Spanned<String>>,
    #[serde(default)]
    forms: Vec<Spanned<String>>,
    #[serde(default)]
    metavars: BTreeMap<String, Spanned<String>>,
    #[serde(default, rename = "example")]
    examples: Vec<RawIsoCase>,
    #[serde(default, rename = "counterexample")]
    counterexamples: Vec<RawIsoCase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIsoCase {
    pattern: String,
    code: String,
}

/// Why an isomorphism file cannot be used: a byte offset into the file and a
/// message (the caller turns the offset into a line and column).
#[derive(Debug)]
pub struct IsoError {
    pub offset: usize,
    pub message: String,
}

impl IsoSet {
    /// Compiles an isomorphism file (`kind = "iso"`).
    pub fn parse(path: &str, text: &str) -> Result<IsoSet, IsoError> {
        let raw: RawIsoFile = toml::from_str(text).map_err(|e| IsoError {
            offset: e.span().map(|s| s.start).unwrap_or(0),
            message: e.message().trim().to_string(),
        })?;
        let mut isos = Vec::new();
        let mut ids = BTreeSet::new();
        for r in raw.iso {
            let at = |s: &Spanned<String>, message: String| IsoError {
                offset: s.span().start,
                message,
            };
            if !ids.insert(r.id.clone()) {
                return Err(IsoError {
                    offset: 0,
                    message: format!("isomorphism id `{}` is used twice", r.id),
                });
            }
            let builtin = match &r.builtin {
                None => None,
                Some(b) => Some(match b.get_ref().as_str() {
                    "parentheses" => Builtin::Parentheses,
                    "braces" => Builtin::Braces,
                    "comments" => Builtin::Comments,
                    other => {
                        let why = format!(
                            "unknown builtin `{other}`: expected parentheses, braces or comments"
                        );
                        return Err(at(b, why));
                    }
                }),
            };
            let mut metavars = BTreeMap::new();
            for (name, k) in &r.metavars {
                let kind = MetaKind::from_name(k.get_ref())
                    .ok_or_else(|| at(k, format!("unknown metavariable kind `{}`", k.get_ref())))?;
                metavars.insert(name.clone(), kind);
            }
            let mut forms = Vec::new();
            for f in &r.forms {
                for (_, name) in metavariables(f.get_ref()) {
                    if !metavars.contains_key(&name) {
                        return Err(at(f, format!("unknown metavariable `${name}` in a form")));
                    }
                }
                let snippet = parse_snippet_root(f.get_ref())
                    .map_err(|e: SnippetError| at(f, format!("form: {}", e.message)))?;
                if snippet.statements != 1 {
                    return Err(at(
                        f,
                        "a form is one statement or one expression".to_string(),
                    ));
                }
                let (text, tree, root_path) = (snippet.text, snippet.tree, snippet.path);
                forms.push(Form {
                    source: f.get_ref().trim().to_string(),
                    text,
                    tree,
                    root_path,
                });
            }
            if builtin.is_none() && forms.len() < 2 {
                return Err(IsoError {
                    offset: 0,
                    message: format!("isomorphism `{}` needs at least two forms", r.id),
                });
            }
            if r.examples.is_empty() || r.counterexamples.is_empty() {
                return Err(IsoError {
                    offset: 0,
                    message: format!(
                        "isomorphism `{}` needs an [[iso.example]] and an [[iso.counterexample]]",
                        r.id
                    ),
                });
            }
            let case = |c: &RawIsoCase| IsoCase {
                pattern: c.pattern.clone(),
                code: c.code.clone(),
            };
            isos.push(Iso {
                id: r.id.clone(),
                doc: r.doc.clone(),
                builtin,
                forms,
                metavars,
                examples: r.examples.iter().map(case).collect(),
                counterexamples: r.counterexamples.iter().map(case).collect(),
            });
        }
        Ok(IsoSet {
            path: path.to_string(),
            isos,
        })
    }

    /// The metavariables an expansion may add to a rule, with their kinds.
    pub fn fresh_metavars(&self) -> Vec<(String, MetaKind)> {
        let mut out = Vec::new();
        for iso in &self.isos {
            for (name, kind) in &iso.metavars {
                let everywhere = iso
                    .forms
                    .iter()
                    .all(|f| metavariables(&f.source).iter().any(|(_, n)| n == name));
                if !everywhere {
                    out.push((fresh_name(&iso.id, name), kind.clone()));
                }
            }
        }
        out
    }

    /// Every shape of a pattern the isomorphisms make equivalent, the
    /// pattern itself first, parsed (`first`, the caller's parse of
    /// `source`). Each shape is parsed once: its tree gives its key, the
    /// shapes one step away for every isomorphism, and the pattern.
    pub(crate) fn expand(&self, source: &str, first: Snippet) -> Result<Vec<Pattern>, String> {
        let mut seen = BTreeSet::new();
        seen.insert(shape_key(&first));
        let mut out = vec![source.trim().to_string()];
        let mut written: HashSet<String> = out.iter().cloned().collect();
        let mut snippets = vec![first];
        for iso in self.isos.iter().filter(|i| i.builtin.is_none()) {
            let mut i = 0;
            while i < out.len() {
                for variant in iso.variants(&snippets[i]) {
                    // A shape written again is known without its parse.
                    if !written.insert(variant.clone()) {
                        continue;
                    }
                    let snippet = parse_snippet_root(&variant).map_err(|e| {
                        format!("isomorphism `{}` wrote `{variant}`: {}", iso.id, e.message)
                    })?;
                    if seen.insert(shape_key(&snippet)) {
                        out.push(variant);
                        snippets.push(snippet);
                        if out.len() > MAX_ISO_EXPANSIONS {
                            return Err(format!(
                                "the isomorphisms expand this pattern into more than {MAX_ISO_EXPANSIONS} shapes"
                            ));
                        }
                    }
                }
                i += 1;
            }
        }
        Ok(out
            .into_iter()
            .zip(snippets)
            .map(|(source, snippet)| Pattern::from_snippet(source, snippet))
            .collect())
    }

    /// Whether a matcher-built isomorphism is on.
    pub fn has_builtin(&self, b: Builtin) -> bool {
        self.isos.iter().any(|i| i.builtin == Some(b))
    }
}

fn fresh_name(iso: &str, name: &str) -> String {
    let id: String = iso
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{id}_{name}")
}

/// A pattern's tokens, to tell shapes apart whatever their spacing.
fn shape_key(snippet: &Snippet) -> String {
    let keys: Vec<String> = snippet
        .nodes()
        .into_iter()
        .map(|n| normalized(n, &snippet.text))
        .collect();
    keys.join(" ")
}

impl Iso {
    /// The patterns one rewriting step of this isomorphism makes from a
    /// parsed pattern.
    fn variants(&self, snippet: &Snippet) -> Vec<String> {
        let text = &snippet.text;
        let statements = snippet.nodes();
        let (first, last) = (statements[0], statements[statements.len() - 1]);
        // Each form's root, found once: a node is a walk down its path.
        let roots: Vec<Node> = self.forms.iter().map(Form::root).collect();
        let mut out = Vec::new();
        for root in statements {
            preorder(root, |n| {
                for (k, form) in self.forms.iter().enumerate() {
                    let mut binds = BTreeMap::new();
                    if !self.unify(form, roots[k], n, text, &mut binds) {
                        continue;
                    }
                    for (j, other) in self.forms.iter().enumerate() {
                        if j == k {
                            continue;
                        }
                        let written = self.instantiate(&other.source, &binds, text);
                        out.push(format!(
                            "{}{}{}",
                            unmangle(&text[first.start_byte()..n.start_byte()]),
                            written,
                            unmangle(&text[n.end_byte()..last.end_byte()])
                        ));
                    }
                }
                true
            });
        }
        out
    }

    /// The kind of a form's metavariable node, when it is one; a statement
    /// metavariable is written `$s;`.
    fn metavar_of<'f>(&self, form: &'f Form, f: Node) -> Option<(&'f str, &MetaKind)> {
        if let Some(name) = metavar_name(f, &form.text) {
            return self.metavars.get(name).map(|k| (name, k));
        }
        if f.kind_str() == "expression_statement" {
            let inner = children_no_comments(f);
            if inner.len() == 2 {
                if let Some(name) = metavar_name(inner[0], &form.text) {
                    return self
                        .metavars
                        .get(name)
                        .filter(|k| **k == MetaKind::Statement)
                        .map(|k| (name, k));
                }
            }
        }
        None
    }

    /// Matches a form's node against a pattern's node, binding the form's
    /// metavariables to the pattern's nodes; a metavariable the form names
    /// twice must be bound to the same tokens both times.
    fn unify<'f, 'p>(
        &self,
        form: &'f Form,
        f: Node,
        p: Node<'p>,
        text: &[u8],
        binds: &mut BTreeMap<&'f str, Node<'p>>,
    ) -> bool {
        if let Some((name, kind)) = self.metavar_of(form, f) {
            let fits = match kind {
                MetaKind::Statement => is_statement(p),
                other => other.accepts_shape(p) || metavar_name(p, text).is_some(),
            };
            if !fits {
                return false;
            }
            return match binds.get(name) {
                Some(&prev) => normalized(prev, text) == normalized(p, text),
                None => {
                    binds.insert(name, p);
                    true
                }
            };
        }
        if f.kind_str() != p.kind_str() {
            return false;
        }
        if f.child_count() == 0 || p.child_count() == 0 {
            return f.child_count() == p.child_count()
                && form.text[f.byte_range()] == text[p.byte_range()];
        }
        let fc = children_no_comments(f);
        let pc = children_no_comments(p);
        fc.len() == pc.len()
            && fc
                .into_iter()
                .zip(pc)
                .all(|(a, b)| self.unify(form, a, b, text, binds))
    }

    /// A form written with the text of the pattern's nodes its
    /// metavariables are bound to; unbound metavariables get fresh names.
    fn instantiate(&self, source: &str, binds: &BTreeMap<&str, Node>, text: &[u8]) -> String {
        let mut out = source.to_string();
        for (offset, name) in metavariables(source).into_iter().rev() {
            let mut end = offset + 1 + name.len();
            let replacement = match binds.get(name.as_str()) {
                Some(bound) => {
                    if self.metavars.get(&name) == Some(&MetaKind::Statement)
                        && out[end..].starts_with(';')
                    {
                        end += 1;
                    }
                    unmangle(&text[bound.byte_range()])
                }
                None => format!("${}", fresh_name(&self.id, &name)),
            };
            out.replace_range(offset..end, &replacement);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An isomorphism file of one isomorphism: its forms and metavariables
    /// (TOML values), a pattern and the code it must and must not match.
    fn iso_file(forms: &str, metavars: &str, case: (&str, &str, &str)) -> String {
        let (pattern, example, counterexample) = case;
        format!(
            "kind = \"iso\"\ntitle = \"t\"\n\n[[iso]]\nid = \"toy\"\ndoc = \"d\"\n\
             forms = {forms}\nmetavars = {metavars}\n\
             [[iso.example]]\npattern = \"{pattern}\"\ncode = \"{example}\"\n\
             [[iso.counterexample]]\npattern = \"{pattern}\"\ncode = \"{counterexample}\"\n"
        )
    }

    /// The shapes the isomorphisms of `file` expand each pattern into.
    fn check_expand(file: &str, cases: &[(&str, &[&str])]) {
        let set = IsoSet::parse("iso.toml", file).unwrap();
        for (source, expected) in cases {
            let shapes = set.expand(source, parse_snippet_root(source).unwrap());
            let shapes: Vec<String> = shapes.unwrap().into_iter().map(|p| p.source).collect();
            assert_eq!(&shapes, expected, "{source}");
        }
    }

    #[test]
    fn forms_expand_both_ways() {
        let file = iso_file(
            r#"["$a < $b", "$b > $a"]"#,
            r#"{ a = "expression", b = "expression" }"#,
            ("$x < $y", "n > i", "i > n"),
        );
        check_expand(
            &file,
            &[
                (
                    "if ($i < $n) f($i);",
                    &["if ($i < $n) f($i);", "if ($n > $i) f($i);"],
                ),
                ("$n > $i", &["$n > $i", "$i < $n"]),
            ],
        );
        // An isomorphism with a key the format does not know is refused.
        assert!(IsoSet::parse("iso.toml", &format!("{file}\n[[iso.iso]]\n")).is_err());
    }

    #[test]
    fn a_metavariable_named_twice_binds_the_same_tokens() {
        let file = iso_file(
            r#"["$i = $i + 1", "$i += 1"]"#,
            r#"{ i = "expression" }"#,
            ("$x += 1;", "n = n + 1;", "n = m + 1;"),
        );
        check_expand(
            &file,
            &[
                ("x->n = x->n + 1;", &["x->n = x->n + 1;", "x->n += 1;"]),
                // The same tokens, spaced otherwise, are the same expression.
                ("x->n = x -> n + 1;", &["x->n = x -> n + 1;", "x->n += 1;"]),
                ("$a = $a + 1;", &["$a = $a + 1;", "$a += 1;"]),
                // Two different expressions are not one metavariable.
                ("x->n = x->m + 1;", &["x->n = x->m + 1;"]),
                ("$a = $b + 1;", &["$a = $b + 1;"]),
            ],
        );
    }
}
