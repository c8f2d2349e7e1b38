//! Provenance of page pointers inside one function.
//!
//! Each acquire seeds a *unit*: the location its pages argument names (a
//! local array `pages`, a single page `&page`, a field `vsg->pages`). The
//! analysis then follows, flow-insensitively and to a fixpoint, every
//! assignment and initialiser: aliases of the array (`p = pages + n`), pages
//! taken out of it (`page = pages[i]`, `*(pages + i)`), and every way the
//! values leave the function (passed to a call the flow vocabulary does not
//! know, stored in a field or global, returned). A release is tied to a unit
//! when the value it releases comes from that unit, and it is *mixed* when the
//! same variable may also hold a page from elsewhere.
//!
//! Flow-insensitivity makes the analysis conservative: a variable assigned a
//! non-GUP page anywhere in the function is mixed everywhere. A unit converts
//! only when nothing blocks it (see `decide`), so imprecision costs a
//! conversion, never correctness.

use super::matcher::{match_rule, Match};
use super::{Class, Engine, FileFindings, Plan, Site, SiteKind, Unit};
use crate::c::syntax::{
    declarator_identifier, normalized, preorder, shape, Assignment, Call, ExprShape, FunctionDef,
};
use crate::c::Parsed;
use crate::rule::{AcquireFamily, ReleaseFamily, RuleKind, Target};
use std::collections::{BTreeSet, HashMap, HashSet};
use tree_sitter::Node;

/// What a variable (or field path) may hold.
#[derive(Default, Debug)]
struct VarInfo {
    /// Units whose pages array the variable may point into.
    arrays: BTreeSet<usize>,
    /// Units whose pages the variable may hold.
    pages: BTreeSet<usize>,
    /// Assignments of values that come from no unit, as `rhs (line N)`.
    others: Vec<String>,
}

/// The value an expression may have.
#[derive(Default, Debug, Clone)]
struct Val {
    arrays: BTreeSet<usize>,
    pages: BTreeSet<usize>,
}

impl Val {
    fn is_empty(&self) -> bool {
        self.arrays.is_empty() && self.pages.is_empty()
    }
    fn units(&self) -> BTreeSet<usize> {
        self.arrays.union(&self.pages).copied().collect()
    }
}

/// A unit while the function is analysed.
struct UnitState {
    line: usize,
    pages_text: String,
    family: AcquireFamily,
    acquires: Vec<Match>,
    releases: Vec<Match>,
    escapes: Vec<String>,
    blockers: Vec<String>,
    mismatches: Vec<String>,
    rules: BTreeSet<String>,
}

struct Analysis<'a, 't> {
    engine: &'a Engine<'a>,
    parsed: &'t Parsed,
    src: &'t [u8],
    vars: HashMap<String, VarInfo>,
    units: Vec<UnitState>,
    /// Union-find parents over unit ids.
    parent: Vec<usize>,
    locals: HashSet<String>,
    params: HashSet<String>,
}

impl Analysis<'_, '_> {
    fn find(&mut self, u: usize) -> usize {
        let mut r = u;
        while self.parent[r] != r {
            r = self.parent[r];
        }
        self.parent[u] = r;
        r
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (keep, drop) = (ra.min(rb), ra.max(rb));
            self.parent[drop] = keep;
        }
    }

    fn text(&self, node: Node) -> String {
        normalized(node, self.src)
    }

    fn line(&self, node: Node) -> usize {
        self.parsed.line_of(node.start_byte())
    }

    /// The variable or field path an lvalue-ish expression names.
    fn key_of(&self, node: Node) -> Option<String> {
        match shape(node, self.src) {
            ExprShape::Ident(n) => Some(self.text(n)),
            ExprShape::Field { .. } => Some(self.text(crate::c::syntax::strip(node))),
            _ => None,
        }
    }

    /// The variable an expression reads its pages through (`pages` in
    /// `pages[i]`, `*(pages + i)`, `page`).
    fn base_key(&self, node: Node) -> Option<String> {
        match shape(node, self.src) {
            ExprShape::Ident(_) | ExprShape::Field { .. } => self.key_of(node),
            ExprShape::Subscript { base, .. }
            | ExprShape::Deref(base)
            | ExprShape::Offset { base, .. } => self.base_key(base),
            ExprShape::AddressOf(inner) => self.base_key(inner),
            _ => None,
        }
    }

    fn eval(&self, node: Node) -> Val {
        match shape(node, self.src) {
            ExprShape::Ident(_) | ExprShape::Field { .. } => {
                match self.key_of(node).and_then(|k| self.vars.get(&k)) {
                    Some(info) => Val {
                        arrays: info.arrays.clone(),
                        pages: info.pages.clone(),
                    },
                    None => Val::default(),
                }
            }
            ExprShape::Subscript { base, .. } | ExprShape::Deref(base) => Val {
                arrays: BTreeSet::new(),
                pages: self.eval(base).arrays,
            },
            ExprShape::AddressOf(inner) => match shape(inner, self.src) {
                ExprShape::Subscript { base, .. } => Val {
                    arrays: self.eval(base).arrays,
                    pages: BTreeSet::new(),
                },
                _ => Val {
                    arrays: self.eval(inner).pages,
                    pages: BTreeSet::new(),
                },
            },
            ExprShape::Offset { base, other } => {
                let mut arrays = self.eval(base).arrays;
                arrays.extend(self.eval(other).arrays);
                Val {
                    arrays,
                    pages: BTreeSet::new(),
                }
            }
            ExprShape::Conditional { then, otherwise } => {
                let mut v = self.eval(otherwise);
                if let Some(t) = then {
                    let t = self.eval(t);
                    v.arrays.extend(t.arrays);
                    v.pages.extend(t.pages);
                }
                v
            }
            _ => Val::default(),
        }
    }

    /// Whether an expression is a null pointer or a call to an allocator.
    fn is_null_or_allocation(&self, node: Node) -> bool {
        match shape(node, self.src) {
            ExprShape::Null => true,
            ExprShape::Call(call) => call.callee_name(self.src).is_some_and(|c| {
                self.engine
                    .pack
                    .flow
                    .allocators
                    .contains(&*String::from_utf8_lossy(c))
            }),
            _ => false,
        }
    }
}

/// Analyses one function free of parse errors and appends its sites and
/// units to `findings`.
pub(crate) fn analyse_function(
    engine: &Engine,
    parsed: &Parsed,
    func: FunctionDef,
    name: &str,
    findings: &mut FileFindings,
) {
    let src: &[u8] = &parsed.original;
    let mut nodes = Vec::new();
    preorder(func.body, |n| {
        if n.kind() != "comment" {
            nodes.push(n);
        }
        true
    });

    // 1. Every match of every acquire and release rule.
    let mut acquires = Vec::new();
    let mut releases = Vec::new();
    for &n in &nodes {
        for &ri in engine.rules_for_kind(n.kind()) {
            let rule = &engine.pack.rules[ri];
            if let Some(m) = match_rule(ri, rule, n, src) {
                match rule.kind {
                    RuleKind::Acquire => acquires.push((n, m)),
                    RuleKind::Release => releases.push((n, m)),
                    RuleKind::Flow => {}
                }
            }
        }
    }
    if acquires.is_empty() {
        return;
    }

    let mut locals = HashSet::new();
    for &n in &nodes {
        if n.kind() == "declaration" {
            let mut c = n.walk();
            for d in n.children_by_field_name("declarator", &mut c) {
                if let Some(id) = declarator_identifier(d) {
                    locals.insert(normalized(id, src));
                }
            }
        }
    }
    let params: HashSet<String> = func.parameter_names(src).into_iter().collect();
    let mut a = Analysis {
        engine,
        parsed,
        src,
        vars: HashMap::new(),
        units: Vec::new(),
        parent: Vec::new(),
        locals,
        params,
    };

    // 2. Seed units from the acquires' pages arguments.
    let mut acquire_sites: Vec<(Node, Match, Option<usize>, Option<String>)> = Vec::new();
    let mut root_units: HashMap<String, usize> = HashMap::new();
    for (node, m) in acquires {
        let rule = &engine.pack.rules[m.rule];
        let role = rule
            .acquire
            .as_ref()
            .expect("acquire rules have an [acquire] table");
        let pages_binding = m.binding(&role.pages).cloned();
        let pages_node = pages_binding
            .as_ref()
            .and_then(|b| node.descendant_for_byte_range(b.start, b.end));
        let Some(pages_node) = pages_node else {
            acquire_sites.push((
                node,
                m,
                None,
                Some("the pages argument was not found".into()),
            ));
            continue;
        };
        if matches!(shape(pages_node, src), ExprShape::Null) {
            acquire_sites.push((
                node,
                m,
                None,
                Some("pages is NULL: the call only faults pages in, nothing is released".into()),
            ));
            continue;
        }
        let Some((key, is_array, root_node)) = root_of(&a, pages_node) else {
            let text = a.text(pages_node);
            acquire_sites.push((
                node,
                m,
                None,
                Some(format!(
                    "the pages argument `{text}` is not a variable or field pinpatch can follow"
                )),
            ));
            continue;
        };
        let unit = match root_units.get(&key) {
            Some(&u) => u,
            None => {
                let u = a.units.len();
                a.units.push(UnitState {
                    line: a.line(node),
                    pages_text: a.text(pages_node),
                    family: role.family,
                    acquires: Vec::new(),
                    releases: Vec::new(),
                    escapes: Vec::new(),
                    blockers: Vec::new(),
                    mismatches: Vec::new(),
                    rules: BTreeSet::new(),
                });
                a.parent.push(u);
                root_units.insert(key.clone(), u);
                let info = a.vars.entry(key.clone()).or_default();
                if is_array {
                    info.arrays.insert(u);
                } else {
                    info.pages.insert(u);
                }
                // Where the pages live decides whether they can escape.
                match shape(root_node, src) {
                    ExprShape::Ident(_) if a.params.contains(&key) => {
                        a.units[u].escapes.push(format!(
                            "the pages {} `{key}` is a parameter: the caller may release the pages",
                            if is_array { "array" } else { "pointer" }
                        ))
                    }
                    ExprShape::Ident(_) if !a.locals.contains(&key) => a.units[u]
                        .escapes
                        .push(format!("`{key}` is not a local variable of this function")),
                    ExprShape::Field { .. } => a.units[u].escapes.push(format!(
                        "the pages are stored in `{key}`, which outlives this function"
                    )),
                    _ => {}
                }
                u
            }
        };
        if a.units[unit].family != role.family {
            let why = "pages of one array are acquired both with and without a pin";
            a.units[unit].blockers.push(why.into());
        }
        if let Some(flags) = role.flags.as_ref().and_then(|f| m.binding(f)) {
            if flags.text.contains("FOLL_GET") {
                let why = format!("FOLL_GET is already in gup_flags (line {})", a.line(node));
                a.units[unit].blockers.push(why);
            }
        }
        if let Some(why) = role.manual.get(&engine.target) {
            a.units[unit].blockers.push(why.clone());
        }
        a.units[unit].rules.insert(rule.id.clone());
        a.units[unit].acquires.push(m.clone());
        acquire_sites.push((node, m, Some(unit), None));
    }
    if a.units.is_empty() {
        push_acquire_only_sites(&a, name, acquire_sites, findings);
        return;
    }

    // 3. Assignments, to a fixpoint.
    let assignments: Vec<Assignment> = nodes.iter().filter_map(|&n| Assignment::new(n)).collect();
    for _round in 0..16 {
        let mut changed = false;
        for asg in &assignments {
            let v = a.eval(asg.rhs);
            if v.is_empty() {
                continue;
            }
            match shape(asg.lhs, src) {
                ExprShape::Ident(_) | ExprShape::Field { .. } => {
                    let key = a.key_of(asg.lhs).expect("identifier or field");
                    let info = a.vars.entry(key).or_default();
                    let before = (info.arrays.len(), info.pages.len());
                    info.arrays.extend(v.arrays.iter().copied());
                    info.pages.extend(v.pages.iter().copied());
                    changed |= before != (info.arrays.len(), info.pages.len());
                }
                ExprShape::Subscript { base, .. } | ExprShape::Deref(base) => {
                    // Pages of one unit stored into the array of another:
                    // the two are released together.
                    let b = a.eval(base);
                    for &x in &b.arrays {
                        for &y in &v.pages {
                            a.union(x, y);
                        }
                    }
                }
                _ => {}
            }
        }
        if !changed {
            break;
        }
    }
    // Values from elsewhere, and pages leaving through stores.
    for asg in &assignments {
        let v = a.eval(asg.rhs);
        let line = a.line(asg.node);
        match shape(asg.lhs, src) {
            ExprShape::Ident(_) | ExprShape::Field { .. } => {
                let key = a.key_of(asg.lhs).expect("identifier or field");
                let tracked = a
                    .vars
                    .get(&key)
                    .is_some_and(|i| !i.arrays.is_empty() || !i.pages.is_empty());
                if tracked && v.is_empty() && asg.plain && !a.is_null_or_allocation(asg.rhs) {
                    let rhs = a.text(asg.rhs);
                    a.vars
                        .get_mut(&key)
                        .unwrap()
                        .others
                        .push(format!("`{rhs}` (line {line})"));
                }
                let is_local = matches!(shape(asg.lhs, src), ExprShape::Ident(_))
                    && (a.locals.contains(&key) || a.params.contains(&key));
                if !v.is_empty() && !is_local {
                    for u in v.units() {
                        a.units[u]
                            .escapes
                            .push(format!("the pages are stored into `{key}` (line {line})"));
                    }
                }
            }
            ExprShape::Subscript { base, .. } | ExprShape::Deref(base) => {
                let b = a.eval(base);
                if !b.arrays.is_empty()
                    && v.pages.is_empty()
                    && !matches!(shape(asg.rhs, src), ExprShape::Null)
                {
                    let rhs = a.text(asg.rhs);
                    let base_text = a.text(base);
                    for u in b.arrays {
                        a.units[u].blockers.push(format!(
                            "an element of `{base_text}` is assigned `{rhs}` (line {line}), which does not come from the acquire"
                        ));
                    }
                }
            }
            _ => {
                if !v.is_empty() {
                    let lhs = a.text(asg.lhs);
                    for u in v.units() {
                        a.units[u]
                            .escapes
                            .push(format!("the pages are stored into `{lhs}` (line {line})"));
                    }
                }
            }
        }
    }

    // 4. Releases: tie each to its unit; loops must leave their index dead.
    let mut candidates: Vec<(Node, Match, BTreeSet<usize>, Option<String>)> = Vec::new();
    for (node, m) in releases {
        let rule = &engine.pack.rules[m.rule];
        let role = rule
            .release
            .as_ref()
            .expect("release rules have a [release] table");
        let (subject, want_array) = match (&role.page, &role.array) {
            (Some(p), _) => (p, false),
            (None, Some(arr)) => (arr, true),
            (None, None) => continue,
        };
        let Some(b) = m.binding(subject) else {
            continue;
        };
        let Some(bnode) = node.descendant_for_byte_range(b.start, b.end) else {
            continue;
        };
        let v = a.eval(bnode);
        let units = if want_array {
            v.arrays.clone()
        } else {
            v.pages.clone()
        };
        if units.is_empty() {
            continue;
        }
        if let Some(index) = &role.index {
            if let Some(ib) = m.binding(index) {
                if !index_dead_after(&nodes, src, ib.text.as_bytes(), m.end) {
                    continue;
                }
            }
        }
        let mixed = a
            .base_key(bnode)
            .and_then(|k| a.vars.get(&k))
            .filter(|i| !i.others.is_empty())
            .map(|i| {
                format!(
                    "the release at line {} may also see {}",
                    a.line(node),
                    i.others.join(", ")
                )
            });
        candidates.push((node, m, units, mixed));
    }
    // Larger matches (loops) win over the calls inside them.
    candidates.sort_by_key(|(_, m, _, _)| (std::cmp::Reverse(m.end - m.start), m.start));
    let mut accepted: Vec<(Node, Match, BTreeSet<usize>, Option<String>)> = Vec::new();
    for c in candidates {
        if accepted
            .iter()
            .any(|(_, m, _, _)| c.1.start < m.end && m.start < c.1.end)
        {
            continue;
        }
        accepted.push(c);
    }
    accepted.sort_by_key(|(_, m, _, _)| m.start);
    for (_, _, units, _) in &accepted {
        let first = *units.iter().next().unwrap();
        for &u in units {
            a.union(first, u);
        }
    }

    // 5. Calls and returns the pages flow into.
    let release_ranges: Vec<(usize, usize)> = accepted
        .iter()
        .map(|(_, m, _, _)| (m.start, m.end))
        .collect();
    let acquire_ranges: HashSet<(usize, usize)> = acquire_sites
        .iter()
        .map(|(n, _, _, _)| (n.start_byte(), n.end_byte()))
        .collect();
    let flow = &engine.pack.flow;
    let acquire_names: HashSet<String> = engine.pack.acquire_identifiers().into_iter().collect();
    for &n in &nodes {
        if n.kind() == "return_statement" {
            if let Some(e) = n.named_child(0) {
                let v = a.eval(e);
                for u in v.units() {
                    let line = a.line(n);
                    a.units[u]
                        .escapes
                        .push(format!("the pages are returned (line {line})"));
                }
            }
            continue;
        }
        let Some(call) = Call::new(n) else { continue };
        let range = (n.start_byte(), n.end_byte());
        if acquire_ranges.contains(&range)
            || release_ranges
                .iter()
                .any(|&(s, e)| s <= range.0 && range.1 <= e)
        {
            continue;
        }
        let callee = call
            .callee_name(src)
            .map(|c| String::from_utf8_lossy(c).into_owned());
        for arg in call.args() {
            let v = a.eval(arg);
            if v.is_empty() {
                continue;
            }
            let line = a.line(n);
            let (kind, why) = match &callee {
                Some(c)
                    if flow.array_uses.contains(c)
                        || flow.page_uses.contains(c)
                        || acquire_names.contains(c) =>
                {
                    continue
                }
                Some(c) if flow.extra_references.contains(c) => (
                    Blocker,
                    format!("an extra reference is taken with {c}() (line {line})"),
                ),
                Some(c) if flow.releases.contains(c) => (
                    Blocker,
                    format!(
                        "the pages are released with {c}() (line {line}), which no rule converts"
                    ),
                ),
                Some(c) => (
                    Escape,
                    format!("the pages are passed to {c}() (line {line})"),
                ),
                None => (
                    Escape,
                    format!("the pages are passed to an indirect call (line {line})"),
                ),
            };
            for u in v.units() {
                match kind {
                    Blocker => a.units[u].blockers.push(why.clone()),
                    Escape => a.units[u].escapes.push(why.clone()),
                }
            }
        }
    }

    // 6. Merge units, attach releases and decide.
    let ids: Vec<usize> = (0..a.units.len()).map(|u| a.find(u)).collect();
    for u in 0..a.units.len() {
        let r = ids[u];
        if r != u {
            let moved = std::mem::take(&mut a.units[u].escapes);
            a.units[r].escapes.extend(moved);
            let moved = std::mem::take(&mut a.units[u].blockers);
            a.units[r].blockers.extend(moved);
            let moved = std::mem::take(&mut a.units[u].acquires);
            a.units[r].acquires.extend(moved);
            let moved = std::mem::take(&mut a.units[u].rules);
            a.units[r].rules.extend(moved);
            if a.units[u].family != a.units[r].family {
                a.units[r]
                    .blockers
                    .push("pages of one flow are acquired both with and without a pin".into());
            }
        }
    }
    let mut release_sites: Vec<(Node, Match, usize, Option<String>)> = Vec::new();
    for (node, m, units, mixed) in accepted {
        let u = ids[*units.iter().next().unwrap()];
        let rule = &engine.pack.rules[m.rule];
        let family = rule.release.as_ref().unwrap().family;
        let line = a.line(node);
        match (a.units[u].family, family) {
            (AcquireFamily::Pin, ReleaseFamily::Put) => a.units[u]
                .mismatches
                .push(format!("pages pinned with pin_user_pages*() are released with put_page() at line {line}")),
            (AcquireFamily::Get | AcquireFamily::IovIter, ReleaseFamily::Unpin) => a.units[u]
                .mismatches
                .push(format!("pages from get_user_pages*() are released with unpin_user_page*() at line {line}")),
            _ => {}
        }
        if let Some(why) = &mixed {
            a.units[u].blockers.push(why.clone());
        }
        a.units[u].rules.insert(rule.id.clone());
        a.units[u].releases.push(m.clone());
        release_sites.push((node, m, u, mixed));
    }

    let unit_base = findings.units.len();
    let mut decided: HashMap<usize, usize> = HashMap::new();
    for u in 0..a.units.len() {
        if ids[u] != u {
            continue;
        }
        let unit = decide(&a, u, name);
        decided.insert(u, unit_base + decided.len());
        findings.units.push(unit);
    }

    // 7. Loop indices a conversion leaves unused lose their declaration.
    remove_dead_indices(engine, &nodes, src, func, findings, unit_base);

    // 8. Sites.
    for (node, m, unit, reason) in acquire_sites {
        let rule = &engine.pack.rules[m.rule];
        let unit_index = unit.map(|u| decided[&ids[u]]);
        let (class, unit_reason) = match unit_index {
            Some(i) => {
                let u = &findings.units[i];
                (u.class, (!u.converted).then(|| u.reasons.join("; ")))
            }
            None => (Class::Manual, None),
        };
        findings.sites.push(Site {
            kind: SiteKind::Acquire,
            line: parsed.line_of(node.start_byte()),
            function: name.to_string(),
            call: one_line(&src[node.byte_range()]),
            rule: rule.id.clone(),
            unit: unit_index,
            rewrite: None,
            reason: reason.or(unit_reason),
            class,
            start: node.start_byte(),
            end: node.end_byte(),
        });
    }
    for (node, m, u, mixed) in release_sites {
        let rule = &engine.pack.rules[m.rule];
        let i = decided[&ids[u]];
        let unit = &findings.units[i];
        findings.sites.push(Site {
            kind: SiteKind::Release,
            line: parsed.line_of(node.start_byte()),
            function: name.to_string(),
            call: one_line(&src[node.byte_range()]),
            rule: rule.id.clone(),
            unit: Some(i),
            rewrite: None,
            reason: mixed.or_else(|| (!unit.converted).then(|| unit.reasons.join("; "))),
            class: unit.class,
            start: node.start_byte(),
            end: node.end_byte(),
        });
    }
}

#[derive(Clone, Copy)]
enum UseKind {
    Blocker,
    Escape,
}
use UseKind::{Blocker, Escape};

/// Where an acquire's pages live: (key, is an array, the node naming it).
fn root_of<'t>(a: &Analysis, node: Node<'t>) -> Option<(String, bool, Node<'t>)> {
    match shape(node, a.src) {
        ExprShape::Ident(n) => Some((a.text(n), true, n)),
        ExprShape::Field { .. } => {
            let n = crate::c::syntax::strip(node);
            Some((a.text(n), true, n))
        }
        ExprShape::Offset { base, .. } => root_of(a, base),
        ExprShape::AddressOf(inner) => match shape(inner, a.src) {
            ExprShape::Subscript { base, .. } => root_of(a, base),
            ExprShape::Ident(n) => Some((a.text(n), false, n)),
            ExprShape::Field { .. } => {
                let n = crate::c::syntax::strip(inner);
                Some((a.text(n), false, n))
            }
            _ => None,
        },
        _ => None,
    }
}

/// Whether the loop index `name` is dead after `end`: its first later use,
/// if any, is the left side of a plain assignment.
fn index_dead_after(nodes: &[Node], src: &[u8], name: &[u8], end: usize) -> bool {
    let first = nodes
        .iter()
        .filter(|n| {
            n.start_byte() >= end && n.kind() == "identifier" && &src[n.byte_range()] == name
        })
        .min_by_key(|n| n.start_byte());
    let Some(first) = first else { return true };
    let Some(parent) = first.parent() else {
        return false;
    };
    parent.kind() == "assignment_expression"
        && parent.child_by_field_name("left") == Some(*first)
        && parent.child_by_field_name("operator").map(|o| o.kind()) == Some("=")
}

/// The decision for one unit.
fn decide(a: &Analysis, u: usize, function: &str) -> Unit {
    let s = &a.units[u];
    let engine = a.engine;
    let mut reasons: Vec<String> = Vec::new();
    let dedup = |v: &Vec<String>| {
        let mut seen = BTreeSet::new();
        v.iter()
            .filter(|x| seen.insert((*x).clone()))
            .cloned()
            .collect::<Vec<_>>()
    };
    let escapes = dedup(&s.escapes);
    let blockers = dedup(&s.blockers);
    reasons.extend(blockers.iter().cloned());
    if s.releases.is_empty() {
        reasons.push("no release of these pages in this function".into());
    }
    let convertible = match (engine.target, s.family) {
        (_, AcquireFamily::Pin) => {
            reasons.insert(
                0,
                "the pages are already pinned with pin_user_pages*()".into(),
            );
            false
        }
        (Target::Unpin, _) => {
            reasons.extend(escapes.iter().cloned());
            for m in &s.acquires {
                let rule = &engine.pack.rules[m.rule];
                if !rule.rewrite.contains_key(&Target::Unpin)
                    && !rule
                        .acquire
                        .as_ref()
                        .unwrap()
                        .manual
                        .contains_key(&Target::Unpin)
                {
                    reasons.push(format!(
                        "rule {} has no rewrite for the unpin target",
                        rule.id
                    ));
                }
            }
            reasons.is_empty()
        }
        (Target::PutUserPage, _) => reasons.is_empty(),
    };
    let mut plans = Vec::new();
    if convertible {
        for m in s.acquires.iter().chain(&s.releases) {
            if engine.pack.rules[m.rule]
                .rewrite
                .contains_key(&engine.target)
            {
                plans.push(Plan::Replace { matched: m.clone() });
            }
        }
    }
    let class = if convertible && (escapes.is_empty() || engine.target == Target::PutUserPage) {
        Class::Easy
    } else {
        Class::Manual
    };
    let _ = &a.parsed;
    Unit {
        function: function.to_string(),
        line: s.line,
        pages: s.pages_text.clone(),
        converted: convertible && !plans.is_empty(),
        pinned: s.family == AcquireFamily::Pin,
        class,
        reasons,
        rules: s.rules.iter().cloned().collect(),
        mismatches: s.mismatches.clone(),
        plans,
    }
}

/// Plans the removal of loop-index declarations that converted loops leave unused.
fn remove_dead_indices(
    engine: &Engine,
    nodes: &[Node],
    src: &[u8],
    _func: FunctionDef,
    findings: &mut FileFindings,
    unit_base: usize,
) {
    let mut replaced: Vec<(usize, usize)> = Vec::new();
    let mut indices: Vec<(String, usize)> = Vec::new();
    for (ui, unit) in findings.units.iter().enumerate().skip(unit_base) {
        if !unit.converted {
            continue;
        }
        for p in &unit.plans {
            if let Plan::Replace { matched } = p {
                replaced.push((matched.start, matched.end));
                let rule = &engine.pack.rules[matched.rule];
                if let Some(index) = rule.release.as_ref().and_then(|r| r.index.as_ref()) {
                    if let Some(b) = matched.binding(index) {
                        indices.push((b.text.clone(), ui));
                    }
                }
            }
        }
    }
    let mut done = HashSet::new();
    for (name, ui) in indices.into_iter().rev() {
        if !done.insert(name.clone()) {
            continue;
        }
        let mut declarators = Vec::new();
        let mut other_uses = 0;
        for n in nodes {
            if n.kind() != "identifier" || src[n.byte_range()] != *name.as_bytes() {
                continue;
            }
            if replaced
                .iter()
                .any(|&(s, e)| s <= n.start_byte() && n.end_byte() <= e)
            {
                continue;
            }
            match declarator_of(*n) {
                Some(d) => declarators.push(d),
                None => other_uses += 1,
            }
        }
        if other_uses > 0 || declarators.len() != 1 {
            continue;
        }
        if let Some((start, end)) = declarator_removal_range(declarators[0], src) {
            findings.units[ui]
                .plans
                .push(Plan::RemoveDeclarator { start, end, name });
        }
    }
}

/// The declarator (or init declarator) an identifier is declared by, when
/// it is the identifier of a local declaration with at most a constant initialiser.
fn declarator_of(id: Node) -> Option<Node> {
    let parent = id.parent()?;
    let (decl_child, decl) = match parent.kind() {
        "declaration" => (id, parent),
        "init_declarator" => {
            let value = parent.child_by_field_name("value")?;
            if value.kind() != "number_literal" {
                return None;
            }
            (
                parent,
                parent.parent().filter(|p| p.kind() == "declaration")?,
            )
        }
        _ => return None,
    };
    (decl.kind() == "declaration").then_some(decl_child)
}

/// The bytes to delete to remove one declarator: the whole line when it is
/// the only one, else the declarator and one adjacent comma.
fn declarator_removal_range(declarator: Node, src: &[u8]) -> Option<(usize, usize)> {
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
        return Some((line_start, end + 1));
    }
    let pos = all.iter().position(|d| *d == declarator)?;
    if pos + 1 < all.len() {
        Some((declarator.start_byte(), all[pos + 1].start_byte()))
    } else {
        Some((all[pos - 1].end_byte(), declarator.end_byte()))
    }
}

/// Acquire sites of a function where no unit could be formed.
fn push_acquire_only_sites(
    a: &Analysis,
    name: &str,
    sites: Vec<(Node, Match, Option<usize>, Option<String>)>,
    findings: &mut FileFindings,
) {
    for (node, m, _, reason) in sites {
        let rule = &a.engine.pack.rules[m.rule];
        findings.sites.push(Site {
            kind: SiteKind::Acquire,
            line: a.line(node),
            function: name.to_string(),
            call: one_line(&a.src[node.byte_range()]),
            rule: rule.id.clone(),
            unit: None,
            rewrite: None,
            reason,
            class: Class::Manual,
            start: node.start_byte(),
            end: node.end_byte(),
        });
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
