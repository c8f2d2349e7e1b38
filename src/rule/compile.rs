//! `RawRule` -> `Rule`: every check a rule file must pass, with errors that
//! point at the rule file's line and column.
//!
//! Checked here: the kind and family names, that every `$metavariable` used in
//! a pattern, a rewrite, a role or a constraint is declared, that every
//! rewrite uses only metavariables each pattern binds (or that have a
//! default), that snippets parse as C, and that rewrite and example targets
//! exist.

use super::iso::IsoSet;
use super::pattern::{
    expand_alternatives, metavariables, parse_snippet_root, parse_template, SnippetError,
};
use super::raw::{RawAcquire, RawRelease, RawRule};
use super::*;
use crate::c::NodeExt;
use std::ops::Range;
use toml::Spanned;

/// A rule file that cannot be used, with the position of the problem.
#[derive(Debug, thiserror::Error)]
#[error("{path}{}: {message}", position(.line, .column))]
pub struct RuleError {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl RuleError {
    pub fn io(path: &Path, err: std::io::Error) -> RuleError {
        RuleError {
            path: path.display().to_string(),
            line: 0,
            column: 0,
            message: match err.kind() {
                std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
                std::io::ErrorKind::InvalidData => "not UTF-8 text".to_string(),
                _ => format!("cannot read: {err}"),
            },
        }
    }
}

/// `:line:column`, or nothing for an error about a whole file (line 0).
fn position(line: &usize, column: &usize) -> String {
    if *line == 0 {
        String::new()
    } else {
        format!(":{line}:{column}")
    }
}

struct Ctx<'a> {
    path: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn at(&self, offset: usize, message: impl Into<String>) -> RuleError {
        let mut offset = offset.min(self.text.len());
        // An offset computed inside a string with escapes may fall inside a
        // character: point at that character.
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
        RuleError {
            path: self.path.to_string(),
            line,
            column,
            message: message.into(),
        }
    }

    /// An error at `offset` bytes into the value of a string whose TOML span is `span`.
    fn in_string(
        &self,
        span: Range<usize>,
        offset: usize,
        message: impl Into<String>,
    ) -> RuleError {
        let raw = &self.text[span.start..span.end.min(self.text.len())];
        let mut start = span.start;
        if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
            start += 3;
            if self.text[start..].starts_with('\n') {
                start += 1;
            } else if self.text[start..].starts_with("\r\n") {
                start += 2;
            }
        } else if raw.starts_with('"') || raw.starts_with('\'') {
            start += 1;
        }
        self.at(start + offset, message)
    }

    fn snippet(&self, s: &Spanned<String>, e: SnippetError, what: &str) -> RuleError {
        // Snippets are trimmed before parsing; shift by the leading blanks.
        let lead = s.get_ref().len() - s.get_ref().trim_start().len();
        self.in_string(s.span(), lead + e.offset, format!("{what}: {}", e.message))
    }
}

/// A table keyed by target name (`[acquire.manual]`), keyed by `Target`.
fn by_target<V: Clone>(
    ctx: &Ctx,
    table: &BTreeMap<String, V>,
    name: &str,
) -> Result<BTreeMap<Target, V>, RuleError> {
    let mut out = BTreeMap::new();
    for (t, value) in table {
        let target = Target::from_name(t)
            .ok_or_else(|| ctx.at(0, format!("unknown target `{t}` in [{name}]")))?;
        out.insert(target, value.clone());
    }
    Ok(out)
}

fn metavar_ref(
    ctx: &Ctx,
    s: &Spanned<String>,
    declared: &BTreeMap<String, MetaKind>,
) -> Result<String, RuleError> {
    let value = s.get_ref().trim();
    let Some(name) = value.strip_prefix('$') else {
        return Err(ctx.in_string(
            s.span(),
            0,
            format!("expected a metavariable like `$pages`, found `{value}`"),
        ));
    };
    if !declared.contains_key(name) {
        return Err(ctx.in_string(
            s.span(),
            0,
            format!("unknown metavariable `${name}`: declare it in [metavars]"),
        ));
    }
    Ok(name.to_string())
}

/// `metavar_ref` of an optional entry.
fn optional_metavar(
    ctx: &Ctx,
    s: &Option<Spanned<String>>,
    declared: &BTreeMap<String, MetaKind>,
) -> Result<Option<String>, RuleError> {
    s.as_ref()
        .map(|v| metavar_ref(ctx, v, declared))
        .transpose()
}

fn check_declared(
    ctx: &Ctx,
    s: &Spanned<String>,
    declared: &BTreeMap<String, MetaKind>,
) -> Result<Vec<String>, RuleError> {
    let mut names = Vec::new();
    for (offset, name) in metavariables(s.get_ref()) {
        if name.is_empty() {
            return Err(ctx.in_string(
                s.span(),
                offset,
                "`$` must be followed by a metavariable name",
            ));
        }
        if !declared.contains_key(&name) {
            return Err(ctx.in_string(
                s.span(),
                offset,
                format!("unknown metavariable `${name}`: declare it in [metavars]"),
            ));
        }
        names.push(name);
    }
    Ok(names)
}

/// Compiles an isomorphism file (`kind = "iso"`); an empty text is no
/// isomorphism at all.
pub fn compile_isos(path: &str, text: &str) -> Result<IsoSet, RuleError> {
    if text.trim().is_empty() {
        return Ok(IsoSet::default());
    }
    let ctx = Ctx { path, text };
    IsoSet::parse(path, text).map_err(|e| ctx.at(e.offset, e.message))
}

/// Every pattern a snippet stands for: its unnamed alternatives expanded,
/// each shape the isomorphisms make equivalent, and its named alternatives
/// attached (themselves expanded the same way).
pub(crate) fn build_patterns(source: &str, isos: &IsoSet) -> Result<Vec<Pattern>, SnippetError> {
    let expanded = expand_alternatives(source)?;
    let mut out = Vec::new();
    for (k, e) in expanded.iter().enumerate() {
        let located = |err: SnippetError| {
            if expanded.len() == 1 {
                err
            } else {
                SnippetError {
                    offset: 0,
                    message: format!(
                        "alternative {} (`{}`): {}",
                        k + 1,
                        e.source.trim(),
                        err.message
                    ),
                }
            }
        };
        // The snippet as written must parse before its shapes are made.
        let first = parse_snippet_root(&e.source).map_err(located)?;
        let mut choices = BTreeMap::new();
        for (name, branches) in &e.choices {
            let mut alternatives = Vec::new();
            for b in branches {
                alternatives.extend(build_patterns(b, isos)?);
            }
            choices.insert(name.clone(), alternatives);
        }
        let shapes = isos
            .expand(&e.source, first)
            .map_err(|message| SnippetError { offset: 0, message })?;
        for mut shape in shapes {
            shape.choices = choices.clone();
            out.push(shape);
        }
    }
    Ok(out)
}

/// The identifiers every pattern spells out, outside named alternatives.
fn required_words(patterns: &[Pattern]) -> Vec<String> {
    let mut common: Option<BTreeSet<String>> = None;
    for p in patterns {
        let mut words = BTreeSet::new();
        for statement in p.statements() {
            crate::c::syntax::preorder(statement, |n| {
                if n.kind_str() == "identifier" && p.metavar(n).is_none() {
                    words.insert(String::from_utf8_lossy(&p.text()[n.byte_range()]).into_owned());
                }
                true
            });
        }
        common = Some(match common {
            None => words,
            Some(c) => c.intersection(&words).cloned().collect(),
        });
    }
    common.unwrap_or_default().into_iter().collect()
}

/// The metavariables a snippet binds whatever alternative matches.
fn bound_names(source: &str) -> BTreeSet<String> {
    let Ok(expanded) = expand_alternatives(source) else {
        return BTreeSet::new();
    };
    let mut all: Option<BTreeSet<String>> = None;
    for e in expanded {
        let mut names: BTreeSet<String> = metavariables(&e.source)
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        for (_, branches) in &e.choices {
            let mut common: Option<BTreeSet<String>> = None;
            for b in branches {
                let here = bound_names(b);
                common = Some(match common {
                    None => here,
                    Some(c) => c.intersection(&here).cloned().collect(),
                });
            }
            names.extend(common.unwrap_or_default());
        }
        all = Some(match all {
            None => names,
            Some(a) => a.intersection(&names).cloned().collect(),
        });
    }
    all.unwrap_or_default()
}

/// Compiles one rule file with no isomorphisms.
pub fn compile_rule(path: &str, text: &str) -> Result<Rule, RuleError> {
    compile_rule_with(path, text, &IsoSet::default())
}

/// Compiles one rule file, its patterns expanded with `isos`.
pub fn compile_rule_with(path: &str, text: &str, isos: &IsoSet) -> Result<Rule, RuleError> {
    let ctx = Ctx { path, text };
    let raw: RawRule = toml::from_str(text).map_err(|e| {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        ctx.at(offset, e.message().trim().to_string())
    })?;

    let id = raw.id.get_ref().trim().to_string();
    if id.is_empty() || id.contains(char::is_whitespace) {
        return Err(ctx.in_string(
            raw.id.span(),
            0,
            "a rule id is a non-empty word such as `gup/put_page`",
        ));
    }
    let kind = rule_kind(&ctx, &raw)?;
    let metavars = rule_metavars(&ctx, &raw, isos)?;
    let defaults = rule_defaults(&ctx, &raw, &metavars)?;
    let (patterns, bound) = rule_patterns(&ctx, &raw, &metavars, isos)?;
    let acquire = raw
        .acquire
        .as_ref()
        .map(|a| acquire_role(&ctx, a, &metavars))
        .transpose()?;
    let release = raw
        .release
        .as_ref()
        .map(|r| release_role(&ctx, r, &metavars))
        .transpose()?;
    check_tables(&ctx, &raw, kind, &patterns)?;
    let (not_mentions, constraints) = rule_constraints(&ctx, &raw, &metavars, isos)?;
    let rewrite = rule_rewrite(&ctx, &raw, kind, &metavars, &bound, &defaults)?;
    let flow = rule_flow(&ctx, &raw)?;
    let (examples, counterexamples) = rule_examples(&ctx, &raw)?;

    let required_words = required_words(&patterns);
    Ok(Rule {
        id,
        required_words,
        anchors: super::call_anchors(&patterns),
        path: path.to_string(),
        kind,
        title: raw.title.clone(),
        doc: Doc {
            what: raw.doc.what.clone(),
            why: raw.doc.why.clone(),
            safety: raw.doc.safety.clone(),
        },
        metavars,
        defaults,
        patterns,
        acquire,
        release,
        not_mentions,
        constraints,
        rewrite,
        flow,
        examples,
        counterexamples,
    })
}

/// The rule's kind, from `kind`.
fn rule_kind(ctx: &Ctx, raw: &RawRule) -> Result<RuleKind, RuleError> {
    let kind = match raw.kind.get_ref().as_str() {
        "acquire" => RuleKind::Acquire,
        "release" => RuleKind::Release,
        "flow" => RuleKind::Flow,
        "rewrite" => RuleKind::Rewrite,
        other => {
            return Err(ctx.in_string(
                raw.kind.span(),
                0,
                format!("unknown kind `{other}`: expected acquire, release, flow or rewrite"),
            ))
        }
    };
    Ok(kind)
}

/// The declared metavariables, with those the isomorphisms bring.
fn rule_metavars(
    ctx: &Ctx,
    raw: &RawRule,
    isos: &IsoSet,
) -> Result<BTreeMap<String, MetaKind>, RuleError> {
    let mut metavars = BTreeMap::new();
    for (name, k) in &raw.metavars {
        let Some(mk) = MetaKind::from_name(k.get_ref()) else {
            return Err(ctx.in_string(
                k.span(),
                0,
                format!(
                    "unknown metavariable kind `{}`: expected expression, identifier, statement, constant, type or a C type such as `struct page **`",
                    k.get_ref()
                ),
            ));
        };
        metavars.insert(name.clone(), mk);
    }
    for (name, kind) in isos.fresh_metavars() {
        metavars.entry(name).or_insert(kind);
    }
    Ok(metavars)
}

/// The `[defaults]`: plain C for declared metavariables.
fn rule_defaults(
    ctx: &Ctx,
    raw: &RawRule,
    metavars: &BTreeMap<String, MetaKind>,
) -> Result<BTreeMap<String, String>, RuleError> {
    let mut defaults = BTreeMap::new();
    for (name, value) in &raw.defaults {
        if !metavars.contains_key(name) {
            return Err(ctx.in_string(
                value.span(),
                0,
                format!("default for unknown metavariable `${name}`"),
            ));
        }
        // A default is C text put into the output: parsed like a template
        // here, so that a bad one is a rule error rather than bad C later.
        if let Some((offset, other)) = metavariables(value.get_ref()).into_iter().next() {
            return Err(ctx.in_string(
                value.span(),
                offset,
                format!(
                    "default for `${name}` names the metavariable `${other}`; a default is plain C"
                ),
            ));
        }
        parse_template(value.get_ref()).map_err(|e| ctx.snippet(value, e, "default"))?;
        defaults.insert(name.clone(), value.get_ref().clone());
    }
    Ok(defaults)
}

/// The `[[match]]` patterns, expanded by the isomorphisms, and the
/// metavariables every pattern binds.
fn rule_patterns(
    ctx: &Ctx,
    raw: &RawRule,
    metavars: &BTreeMap<String, MetaKind>,
    isos: &IsoSet,
) -> Result<(Vec<Pattern>, BTreeSet<String>), RuleError> {
    let mut patterns = Vec::new();
    let mut bound_by_all: Option<BTreeSet<String>> = None;
    for m in &raw.matches {
        check_declared(ctx, &m.pattern, metavars)?;
        let names = bound_names(m.pattern.get_ref());
        patterns.extend(
            build_patterns(m.pattern.get_ref(), isos)
                .map_err(|e| ctx.snippet(&m.pattern, e, "pattern"))?,
        );
        bound_by_all = Some(match bound_by_all {
            None => names,
            Some(prev) => prev.intersection(&names).cloned().collect(),
        });
    }
    let bound = bound_by_all.unwrap_or_default();
    Ok((patterns, bound))
}

/// The `[acquire]` table.
fn acquire_role(
    ctx: &Ctx,
    a: &RawAcquire,
    metavars: &BTreeMap<String, MetaKind>,
) -> Result<AcquireRole, RuleError> {
    let family = match a.family.get_ref().as_str() {
        "get" => AcquireFamily::Get,
        "pin" => AcquireFamily::Pin,
        "iov_iter" => AcquireFamily::IovIter,
        other => {
            return Err(ctx.in_string(
                a.family.span(),
                0,
                format!("unknown acquire family `{other}`: expected get, pin or iov_iter"),
            ))
        }
    };
    let manual = by_target(ctx, &a.manual, "acquire.manual")?;
    let requires = by_target(ctx, &a.requires, "acquire.requires")?;
    Ok(AcquireRole {
        family,
        pages: metavar_ref(ctx, &a.pages, metavars)?,
        count: optional_metavar(ctx, &a.count, metavars)?,
        flags: optional_metavar(ctx, &a.flags, metavars)?,
        implied_flags: a.implied_flags.clone(),
        mm: optional_metavar(ctx, &a.mm, metavars)?,
        manual,
        requires,
    })
}

/// The `[release]` table: exactly one of `page` or `array`.
fn release_role(
    ctx: &Ctx,
    r: &RawRelease,
    metavars: &BTreeMap<String, MetaKind>,
) -> Result<ReleaseRole, RuleError> {
    let family = match r.family.get_ref().as_str() {
        "put" => ReleaseFamily::Put,
        "unpin" => ReleaseFamily::Unpin,
        other => {
            return Err(ctx.in_string(
                r.family.span(),
                0,
                format!("unknown release family `{other}`: expected put or unpin"),
            ))
        }
    };
    let role = ReleaseRole {
        family,
        page: optional_metavar(ctx, &r.page, metavars)?,
        array: optional_metavar(ctx, &r.array, metavars)?,
        count: optional_metavar(ctx, &r.count, metavars)?,
        index: optional_metavar(ctx, &r.index, metavars)?,
    };
    if role.page.is_none() == role.array.is_none() {
        return Err(ctx.in_string(
            r.family.span(),
            0,
            "a [release] names exactly one of `page` or `array`",
        ));
    }
    Ok(role)
}

/// The tables a rule of `kind` needs, and those it must not have.
fn check_tables(
    ctx: &Ctx,
    raw: &RawRule,
    kind: RuleKind,
    patterns: &[Pattern],
) -> Result<(), RuleError> {
    match kind {
        RuleKind::Acquire if raw.acquire.is_none() => {
            return Err(ctx.at(0, "an acquire rule needs an [acquire] table"))
        }
        RuleKind::Release if raw.release.is_none() => {
            return Err(ctx.at(0, "a release rule needs a [release] table"))
        }
        RuleKind::Flow if raw.flow.is_none() => {
            return Err(ctx.at(0, "a flow rule needs a [flow] table"))
        }
        RuleKind::Acquire | RuleKind::Release | RuleKind::Rewrite if patterns.is_empty() => {
            return Err(ctx.at(
                0,
                "an acquire, release or rewrite rule needs at least one [[match]] pattern",
            ))
        }
        RuleKind::Rewrite if raw.acquire.is_some() || raw.release.is_some() || raw.flow.is_some() => {
            return Err(ctx.at(
                0,
                "a rewrite rule has no [acquire], [release] or [flow] table: it does not follow pages",
            ))
        }
        RuleKind::Rewrite if raw.rewrite.is_empty() => {
            return Err(ctx.at(0, "a rewrite rule needs a [rewrite] template"))
        }
        _ => {}
    }
    Ok(())
}

/// The `[constraints]`: metavariables a match must not mention, regular
/// expressions, patterns a match must not be or must be inside.
fn rule_constraints(
    ctx: &Ctx,
    raw: &RawRule,
    metavars: &BTreeMap<String, MetaKind>,
    isos: &IsoSet,
) -> Result<(Vec<(String, String)>, Constraints), RuleError> {
    let mut not_mentions = Vec::new();
    for (name, others) in &raw.constraints.not_mentions {
        if !metavars.contains_key(name) {
            return Err(ctx.at(0, format!("constraint on unknown metavariable `${name}`")));
        }
        for o in others {
            not_mentions.push((name.clone(), metavar_ref(ctx, o, metavars)?));
        }
    }

    let mut constraints = Constraints::default();
    for (name, re) in &raw.constraints.regex {
        if !metavars.contains_key(name) {
            return Err(ctx.in_string(
                re.span(),
                0,
                format!("constraint on unknown metavariable `${name}`"),
            ));
        }
        let compiled = regex::Regex::new(re.get_ref())
            .map_err(|e| ctx.in_string(re.span(), 0, format!("not a regular expression: {e}")))?;
        constraints.regex.push((name.clone(), compiled));
    }
    for (list, out) in [
        (&raw.constraints.not, &mut constraints.not),
        (&raw.constraints.inside, &mut constraints.inside),
    ] {
        for s in list {
            check_declared(ctx, s, metavars)?;
            out.extend(
                build_patterns(s.get_ref(), isos)
                    .map_err(|e| ctx.snippet(s, e, "constraint pattern"))?,
            );
        }
    }
    Ok((not_mentions, constraints))
}

/// The `[rewrite]` templates per target; every metavariable they name is
/// declared, and bound by every pattern or given a default.
fn rule_rewrite(
    ctx: &Ctx,
    raw: &RawRule,
    kind: RuleKind,
    metavars: &BTreeMap<String, MetaKind>,
    bound: &BTreeSet<String>,
    defaults: &BTreeMap<String, String>,
) -> Result<BTreeMap<Target, Template>, RuleError> {
    let mut rewrite = BTreeMap::new();
    for (t, template) in &raw.rewrite {
        // A plain rewrite does the same for every target: `any`.
        let targets = match Target::from_name(t) {
            Some(target) => vec![target],
            None if t == "any" && kind == RuleKind::Rewrite => {
                vec![Target::Unpin, Target::PutUserPage]
            }
            None => {
                return Err(ctx.in_string(
                    template.span(),
                    0,
                    format!("unknown target `{t}`: expected unpin or put_user_page"),
                ))
            }
        };
        for (offset, name) in metavariables(template.get_ref()) {
            if !metavars.contains_key(&name) {
                return Err(ctx.in_string(
                    template.span(),
                    offset,
                    format!("unknown metavariable `${name}`: declare it in [metavars]"),
                ));
            }
            if !bound.contains(&name) && !defaults.contains_key(&name) {
                return Err(ctx.in_string(
                    template.span(),
                    offset,
                    format!(
                        "`${name}` is not bound by every pattern and has no default in [defaults]"
                    ),
                ));
            }
        }
        let parsed =
            parse_template(template.get_ref()).map_err(|e| ctx.snippet(template, e, "rewrite"))?;
        for target in targets {
            rewrite.insert(target, parsed.clone());
        }
    }
    Ok(rewrite)
}

/// The `[flow]` table.
fn rule_flow(ctx: &Ctx, raw: &RawRule) -> Result<Option<FlowSpec>, RuleError> {
    if let Some(e) = raw.flow.as_ref().and_then(|f| {
        f.element_stores
            .iter()
            .find(|e| e.page.is_some() && e.array.is_some())
    }) {
        let offset = ctx.text.find(&format!("\"{}\"", e.call)).unwrap_or(0);
        return Err(ctx.at(
            offset,
            format!(
                "element_stores: `{}` names both `page` and `array`; a store takes one page or one array",
                e.call
            ),
        ));
    }
    for (key, list) in raw.flow.iter().flat_map(|f| {
        [
            ("container_fields", &f.container_fields),
            ("borrowing_fields", &f.borrowing_fields),
        ]
    }) {
        if let Some(c) = list.iter().find(|c| c.split_once("::").is_none()) {
            let offset = ctx.text.find(&format!("\"{c}\"")).unwrap_or(0);
            return Err(ctx.at(
                offset,
                format!("{key}: `{c}` is not of the form STRUCT::FIELD"),
            ));
        }
    }
    let flow = raw.flow.as_ref().map(|f| FlowSpec {
        allocators: f.allocators.iter().cloned().collect(),
        page_allocators: f.page_allocators.iter().cloned().collect(),
        clearing_calls: f.clearing_calls.iter().cloned().collect(),
        array_uses: f.array_uses.iter().cloned().collect(),
        page_uses: f.page_uses.iter().cloned().collect(),
        extra_references: f.extra_references.iter().cloned().collect(),
        releases: f.releases.iter().cloned().collect(),
        evidence_dma: f.evidence_dma.iter().cloned().collect(),
        evidence_write: f.evidence_write.iter().cloned().collect(),
        data_access: f.data_access.iter().cloned().collect(),
        metadata_only: f.metadata_only.iter().cloned().collect(),
        notifier_registrations: f.notifier_registrations.iter().cloned().collect(),
        symbol_exports: f.symbol_exports.iter().cloned().collect(),
        tracepoint_macros: f.tracepoint_macros.iter().cloned().collect(),
        element_stores: f
            .element_stores
            .iter()
            .map(|e| {
                let store = match e.array {
                    Some(array) => ElementStore {
                        container: e.container,
                        value: array,
                        whole_array: true,
                    },
                    None => ElementStore {
                        container: e.container,
                        value: e.page.unwrap_or(1),
                        whole_array: false,
                    },
                };
                (e.call.clone(), store)
            })
            .collect(),
        element_loads: f
            .element_loads
            .iter()
            .map(|e| (e.call.clone(), e.container))
            .collect(),
        element_steps: f
            .element_steps
            .iter()
            .map(|e| (e.call.clone(), e.container))
            .collect(),
        iterators: f
            .iterators
            .iter()
            .map(|i| (i.name.clone(), (i.cursor, i.array)))
            .collect(),
        element_fields: f.element_fields.iter().cloned().collect(),
        container_fields: field_pairs(&f.container_fields),
        borrowing_fields: field_pairs(&f.borrowing_fields),
        transparent: f.transparent.iter().cloned().collect(),
        identities: f.identities.iter().cloned().collect(),
        error_pointers: f.error_pointers.iter().cloned().collect(),
        identity_types: f.identity_types.iter().cloned().collect(),
        narrow_types: f.narrow_types.iter().cloned().collect(),
        unsigned_types: f.unsigned_types.iter().cloned().collect(),
        error_value_tests: f.error_value_tests.iter().cloned().collect(),
        use_prefixes: Vec::new(),
        use_names: Default::default(),
    });
    let flow = flow.map(|mut f| {
        f.index_prefixes();
        f
    });
    Ok(flow)
}

/// The `[[examples]]` and `[[counterexamples]]`.
fn rule_examples(
    ctx: &Ctx,
    raw: &RawRule,
) -> Result<(Vec<Example>, Vec<Counterexample>), RuleError> {
    let mut examples = Vec::new();
    for e in &raw.examples {
        let Some(target) = Target::from_name(e.target.get_ref()) else {
            return Err(ctx.in_string(
                e.target.span(),
                0,
                format!("unknown target `{}`", e.target.get_ref()),
            ));
        };
        examples.push(Example {
            target,
            before: e.before.clone(),
            after: e.after.clone(),
        });
    }

    let mut counterexamples = Vec::new();
    for c in &raw.counterexamples {
        let Some(target) = Target::from_name(c.target.get_ref()) else {
            return Err(ctx.in_string(
                c.target.span(),
                0,
                format!("unknown target `{}`", c.target.get_ref()),
            ));
        };
        counterexamples.push(Counterexample {
            target,
            before: c.before.clone(),
            why: c.why.trim().to_string(),
        });
    }
    Ok((examples, counterexamples))
}

/// `STRUCT::FIELD` entries (checked for the form beforehand) as pairs.
fn field_pairs(entries: &[String]) -> std::collections::BTreeSet<(String, String)> {
    entries
        .iter()
        .filter_map(|c| c.split_once("::"))
        .map(|(s, f)| (s.to_string(), f.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        compile_rule("r.toml", text).unwrap_err().to_string()
    }

    const HEAD: &str = "id = \"t\"\nkind = \"release\"\ntitle = \"t\"\n[release]\nfamily = \"put\"\npage = \"$page\"\n[metavars]\npage = \"expression\"\n";

    #[test]
    fn errors_point_at_the_rule_file() {
        assert_eq!(
            err(&format!("{HEAD}[[match]]\npattern = \"put_page($pge)\"\n")),
            "r.toml:10:21: unknown metavariable `$pge`: declare it in [metavars]"
        );
        assert_eq!(
            err(&format!("{HEAD}[[match]]\npattern = \"put_page($page\"\n")),
            "r.toml:10:26: pattern: the snippet does not parse as C"
        );
        assert!(err("id = \"t\"\nkind = 3\n").starts_with("r.toml:2:8: "));
        assert_eq!(
            err(&format!(
                "{HEAD}[[match]]\npattern = \"put_page($page)\"\n[rewrite]\nunpn = \"x($page)\"\n"
            )),
            "r.toml:12:9: unknown target `unpn`: expected unpin or put_user_page"
        );
    }

    #[test]
    fn role_and_table_errors_point_at_the_rule_file() {
        let acquire = "id = \"a\"\nkind = \"acquire\"\ntitle = \"t\"\n";
        assert_eq!(
            err(&format!("{acquire}[[match]]\npattern = \"f()\"\n")),
            "r.toml:1:1: an acquire rule needs an [acquire] table"
        );
        assert_eq!(
            err(&format!(
                "{acquire}[acquire]\nfamily = \"got\"\npages = \"$p\"\n"
            )),
            "r.toml:5:11: unknown acquire family `got`: expected get, pin or iov_iter"
        );
        assert_eq!(
            err(&HEAD.replace("page = \"$page\"", "page = \"$page\"\narray = \"$page\"")),
            "r.toml:5:11: a [release] names exactly one of `page` or `array`"
        );
        assert_eq!(
            err(HEAD),
            "r.toml:1:1: an acquire, release or rewrite rule needs at least one [[match]] pattern"
        );
    }

    #[test]
    fn flow_vocabulary_errors_point_at_the_entry() {
        let flow = "id = \"f\"\nkind = \"flow\"\ntitle = \"t\"\n[flow]\n";
        assert_eq!(
            err(&format!(
                "{flow}element_stores = [{{ call = \"fill\", container = 0, page = 1, array = 1 }}]\n"
            )),
            "r.toml:5:28: element_stores: `fill` names both `page` and `array`; a store takes one page or one array"
        );
        assert_eq!(
            err(&format!("{flow}container_fields = [\"sgl\"]\n")),
            "r.toml:5:21: container_fields: `sgl` is not of the form STRUCT::FIELD"
        );
    }

    #[test]
    fn new_features_point_at_the_rule_file_too() {
        assert_eq!(
            err(&format!(
                "{HEAD}[[match]]\npattern = \"{{| put_page | free_page ($page)\"\n"
            )),
            "r.toml:10:12: pattern: the alternative `{|` is not closed by `|}`"
        );
        assert_eq!(
            err(&format!("{HEAD}[[match]]\npattern = \"{{| put_page | put_user_page |}}($page\"\n")),
            "r.toml:10:12: pattern: alternative 1 (`put_page($page`): the snippet does not parse as C"
        );
        assert_eq!(
            err(&HEAD.replace("page = \"expression\"", "page = \"struct page *[\"")),
            "r.toml:8:9: unknown metavariable kind `struct page *[`: expected expression, identifier, statement, constant, type or a C type such as `struct page **`"
        );
        assert_eq!(
            err(&format!("{HEAD}[[match]]\npattern = \"put_page($page)\"\n[constraints]\nregex = {{ page = \"(\" }}\n")),
            format!("r.toml:12:19: not a regular expression: {}", regex::Regex::new(&String::from("(")).unwrap_err())
        );
        assert!(err(&format!(
            "{HEAD}[[match]]\npattern = \"put_page($page)\"\n[rewrite]\nany = \"x($page)\"\n"
        ))
        .starts_with("r.toml:12:8: unknown target `any`"));
    }
}
