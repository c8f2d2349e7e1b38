//! Releases tied to units: a release rule's page (or array) argument is
//! evaluated; overlapping matches keep the widest; the units a release sees
//! become one flow, and units are merged into their representatives.

use super::collect::MatchSite;
use super::guards::{Answer, Guards};
use super::ids::{FileId, FuncId, UnitId};
use super::locals;
use super::objects::ObjectTrace;
use super::propagate::Constraints;
use super::{push_unique, FlowContext, Need, Needs};
use crate::c::syntax::strip as strip_node;
use crate::c::NodeExt;
use crate::engine::dataflow::{CountFacts, NameUses};
use crate::engine::hash::HashMap;
use crate::engine::matcher::{BlockOwner, Match, SoleBlock};
use crate::engine::reason::{Blocker, Origin, Separation};
use crate::rule::{AcquireFamily, ReleaseFamily};
use std::collections::{BTreeMap, BTreeSet};
use tree_sitter::Node;

/// A release tied to a unit.
pub(crate) struct ReleaseSite<'t> {
    pub func: FuncId,
    pub node: Node<'t>,
    pub matched: Match,
    /// The representative of the unit's flow.
    pub unit: UnitId,
    /// The release may also see values from elsewhere.
    pub mixed: Option<Blocker>,
}

/// The releases tied to units, and each unit's representative.
pub(crate) struct Releases<'t> {
    pub sites: Vec<ReleaseSite<'t>>,
    pub representatives: Vec<UnitId>,
}

/// A release that sees some units' pages.
struct Candidate<'t> {
    site: MatchSite<'t>,
    units: BTreeSet<UnitId>,
    mixed: Option<Blocker>,
    /// Every value from elsewhere the release may see waits on a
    /// definition not read yet, and a later round may read it: the mixed
    /// blocker is an escape for now.
    pending: bool,
    /// What the tests the release runs under wait on (`guards`).
    wanted: Vec<(Need, bool)>,
    /// Values from elsewhere a test the release runs under leaves out, or
    /// that stay in locals (`locals::apart_on_stack`).
    told_apart: Vec<Separation>,
}

/// Byte ranges of one file that do not overlap one another (`start < end'`
/// and `start' < end` never both hold for two of them), to ask in
/// logarithmic time whether a new range overlaps one.
#[derive(Default)]
struct Spans {
    /// Non-empty ranges, by start: their ends rise with their starts.
    ranges: BTreeMap<usize, usize>,
    /// Empty ranges, by position.
    points: BTreeSet<usize>,
}

impl Spans {
    /// Whether `start..end` overlaps a range held.
    fn overlaps(&self, start: usize, end: usize) -> bool {
        // Of the non-empty ranges starting before `end`, the last ends last.
        let range = self
            .ranges
            .range(..end)
            .next_back()
            .is_some_and(|(_, &e)| start < e);
        let point = start < end && self.points.range(start + 1..end).next().is_some();
        range || point
    }

    fn insert(&mut self, start: usize, end: usize) {
        if start < end {
            self.ranges.insert(start, end);
        } else {
            self.points.insert(start);
        }
    }
}

/// Ties releases to units and merges the units they join.
pub(crate) fn tie<'t>(
    cx: &mut FlowContext<'_, 't>,
    (k, scanned): (&Constraints<'t>, &Needs),
    releases: Vec<MatchSite<'t>>,
    final_round: bool,
) -> Releases<'t> {
    let mut candidates: Vec<Candidate> = {
        let guards = Guards::new(cx, k, scanned);
        let mut trace = ObjectTrace::new(cx, k, scanned);
        let mut loops = LoopFacts::default();
        releases
            .into_iter()
            .filter_map(|r| candidate(cx, &guards, &mut trace, &mut loops, r, final_round))
            .collect()
    };
    for c in &mut candidates {
        let wanted = std::mem::take(&mut c.wanted);
        cx.ask(wanted, &c.units);
    }
    candidates.sort_by_key(|c| {
        (
            cx.funcs[c.site.func].file,
            std::cmp::Reverse(c.site.matched.end - c.site.matched.start),
            c.site.matched.start,
        )
    });
    // Of overlapping matches in a file, the widest (then the first) wins.
    let mut accepted: Vec<Candidate> = Vec::new();
    let mut taken: HashMap<FileId, Spans> = HashMap::default();
    for c in candidates {
        let file = cx.funcs[c.site.func].file;
        let (start, end) = (c.site.matched.start, c.site.matched.end);
        let spans = taken.entry(file).or_default();
        if spans.overlaps(start, end) {
            continue;
        }
        spans.insert(start, end);
        accepted.push(c);
    }
    for c in &accepted {
        let first = *c.units.iter().next().expect("non-empty");
        for &u in &c.units {
            cx.union(first, u);
        }
    }
    let representatives = merge_units(cx);
    let sites = accepted
        .into_iter()
        .map(|c| attach(cx, c, &representatives))
        .collect();
    Releases {
        sites,
        representatives,
    }
}

/// What the release loops of a function ask of it, read once per
/// function and name: whether a loop index is dead after its loop
/// (`NameUses`) and whether a loop's count may be negative (`CountFacts`).
#[derive(Default)]
struct LoopFacts {
    indices: HashMap<(FuncId, String), NameUses>,
    counts: HashMap<(FuncId, String), CountFacts>,
}

impl LoopFacts {
    fn index_dead_after(&mut self, cx: &FlowContext, func: FuncId, index: &str, m: &Match) -> bool {
        self.indices
            .entry((func, index.to_string()))
            .or_insert_with(|| NameUses::of(&cx.funcs[func].nodes, cx.src(func), index.as_bytes()))
            .index_dead_after(m.start, m.end)
    }

    fn count_may_be_negative(
        &mut self,
        cx: &FlowContext,
        func: FuncId,
        count: Node,
        the_loop: Node,
    ) -> bool {
        let src = cx.src(func);
        let flow = &cx.engine.pack.flow;
        let name = String::from_utf8_lossy(&src[count.byte_range()]).into_owned();
        self.counts
            .entry((func, name))
            .or_insert_with_key(|(_, name)| {
                CountFacts::of(&cx.funcs[func].nodes, src, name.as_bytes(), flow)
            })
            .may_be_negative(the_loop, src, flow)
    }
}

/// The units a release sees, unless it sees none: what its subject holds,
/// or what the tests it runs under let through (`guards`).
fn candidate<'t>(
    cx: &FlowContext<'_, 't>,
    guards: &Guards<'_, '_, 't>,
    trace: &mut ObjectTrace<'_, '_, 't>,
    loops: &mut LoopFacts,
    site: MatchSite<'t>,
    final_round: bool,
) -> Option<Candidate<'t>> {
    let rule = &cx.engine.pack.rules[site.matched.rule];
    let role = rule
        .release
        .as_ref()
        .expect("release rules have a [release] table");
    let (subject, want_array) = match (&role.page, &role.array) {
        (Some(pg), _) => (pg, false),
        (None, Some(arr)) => (arr, true),
        (None, None) => return None,
    };
    let bnode = site.matched.binding_node(site.node, subject)?;
    let (guarded, mut wanted) = match guards.answer(site.func, bnode) {
        Answer::Known(g) => (Some(g), Vec::new()),
        Answer::Waiting(wanted) => (None, wanted),
        Answer::Unknown => (None, Vec::new()),
    };
    let v = match &guarded {
        Some(g) => g.val.clone(),
        None => cx.eval(site.func, bnode, 0),
    };
    let units = if want_array { v.arrays } else { v.pages };
    if units.is_empty() {
        return None;
    }
    if let Some(ib) = role.index.as_ref().and_then(|i| site.matched.binding(i)) {
        if !loops.index_dead_after(cx, site.func, &ib.text, &site.matched) {
            return None;
        }
        // A loop over a count that may be negative runs no time then; the
        // one call that would replace it would not (the release in its
        // body stays a candidate on its own).
        let count = role
            .count
            .as_ref()
            .and_then(|c| site.matched.binding_node(site.node, c))
            .map(strip_node)
            .filter(|c| c.kind_str() == "identifier");
        if count.is_some_and(|c| loops.count_may_be_negative(cx, site.func, c, site.node)) {
            return None;
        }
    }
    let others = match &guarded {
        Some(g) => Some(&g.others),
        None => cx
            .base_loc(site.func, bnode)
            .and_then(|l| cx.locs.get(&l))
            .map(|i| &i.others),
    }
    .filter(|o| !o.is_empty());
    // Values stored into locals that never reach the objects the release
    // reads are left out.
    let place = cx.place(site.func, site.node);
    let mut on_stack = None;
    let others: Option<Vec<Origin>> = others.map(|others| {
        let asked = trace.wanted.len();
        let apart = locals::apart_on_stack(trace, site.func, bnode, others, place.clone());
        wanted.extend(trace.wanted[asked..].iter().cloned());
        match apart {
            Some((left_out, separation)) => {
                on_stack = Some(separation);
                others
                    .iter()
                    .filter(|o| !left_out.contains(o))
                    .cloned()
                    .collect()
            }
            None => others.to_vec(),
        }
    });
    // A branch of a conditional subject that holds none of the units'
    // pages (`all ? pages[i] : spare`) is a value from elsewhere: it names
    // no location whose values from elsewhere the fixpoint kept.
    let mut others = others;
    for branch in conditional_branches(bnode) {
        if cx.eval(site.func, branch, 0).is_empty() && !cx.holds_no_page(site.func, branch) {
            others.get_or_insert_with(Vec::new).push(Origin::Assigned {
                value: super::text(branch, cx.src(site.func)),
                place: cx.place(site.func, branch),
            });
        }
    }
    let others = others.filter(|o| !o.is_empty());
    let mixed = others.as_ref().map(|others| Blocker::MixedRelease {
        place: place.clone(),
        others: others.clone(),
    });
    // Tests the release runs under may tell the values apart once what
    // they wait on is read, and a value from a function not read yet may
    // be no page. In the last round nothing more is read: the wait is
    // over, and the release blocks its unit.
    let waiting = !wanted.is_empty()
        || others
            .as_ref()
            .is_some_and(|o| o.iter().all(|o| cx.pending_origins.contains(o)));
    let pending = !final_round && waiting;
    // A release still waiting when the last analysis is made (the last
    // round, or one whose needs are all dropped) was not looked into
    // further: its unit was blocked already (a blocked unit's needs are
    // not followed), or the rounds ran out. It says so.
    let mixed = match mixed {
        Some(m) if waiting => Some(Blocker::Unsettled(Box::new(m))),
        m => m,
    };
    let by_flag = guarded
        .and_then(|g| g.told)
        .and_then(|(flag, set, left_out)| {
            (!left_out.is_empty()).then(|| Separation::Flag {
                release: place.clone(),
                flag,
                set,
                left_out,
            })
        });
    let told_apart = by_flag.into_iter().chain(on_stack).collect();
    Some(Candidate {
        site,
        units,
        mixed,
        pending,
        wanted,
        told_apart,
    })
}

/// Moves every unit's state into its representative; returns the
/// representative of each unit.
fn merge_units(cx: &mut FlowContext) -> Vec<UnitId> {
    let ids: Vec<UnitId> = cx.units.ids().collect();
    let representatives: Vec<UnitId> = ids.iter().map(|&u| cx.find(u)).collect();
    for u in ids {
        let r = representatives[u.index()];
        if r == u {
            continue;
        }
        let moved = std::mem::take(&mut cx.units[u]);
        let family = moved.family;
        let target = &mut cx.units[r];
        target.escapes.extend(moved.escapes);
        target.blockers.extend(moved.blockers);
        for s in moved.told_apart {
            push_unique(&mut target.told_apart, s);
        }
        target.acquires.extend(moved.acquires);
        target.rules.extend(moved.rules);
        for (what, at) in moved.evidence {
            target.note_evidence(what, at);
        }
        target.metadata.extend(moved.metadata);
        for (what, at) in moved.data {
            target.note_data_access(what, at);
        }
        target.flags.extend(moved.flags);
        if family != target.family {
            target.blockers.push(Blocker::MixedFamilyFlow);
        }
    }
    representatives
}

/// Attaches an accepted release to its unit: mismatches, the mixed blocker.
fn attach<'t>(
    cx: &mut FlowContext<'_, 't>,
    c: Candidate<'t>,
    representatives: &[UnitId],
) -> ReleaseSite<'t> {
    let Candidate {
        site,
        units,
        mixed,
        pending,
        told_apart,
        ..
    } = c;
    let mut matched = site.matched;
    matched.sole_block = sole_block(site.node, matched.end);
    let u = representatives[units.iter().next().expect("non-empty").index()];
    let rule = &cx.engine.pack.rules[matched.rule];
    let family = rule.release.as_ref().expect("release rule").family;
    let place = cx.place(site.func, site.node);
    match (cx.units[u].family, family) {
        (AcquireFamily::Pin, ReleaseFamily::Put) => cx.units[u].mismatches.push(format!(
            "pages pinned with pin_user_pages*() are released with put_page() at {place}"
        )),
        (AcquireFamily::Get | AcquireFamily::IovIter, ReleaseFamily::Unpin) => {
            cx.units[u].mismatches.push(format!(
                "pages from get_user_pages*() are released with unpin_user_page*() at {place}"
            ))
        }
        _ => {}
    }
    if let Some(why) = &mixed {
        if pending {
            push_unique(&mut cx.units[u].escapes, why.clone());
        } else {
            cx.units[u].blockers.push(why.clone());
        }
    }
    for s in told_apart {
        push_unique(&mut cx.units[u].told_apart, s);
    }
    cx.units[u].rules.insert(rule.id.clone());
    cx.units[u].releases.push((site.func, matched.clone()));
    ReleaseSite {
        func: site.func,
        node: site.node,
        matched,
        unit: u,
        mixed,
    }
}

/// The span a one-statement rewrite of the match at `node` (ending at
/// `end`: a sequence of statements may start at `node`) may take over: from
/// the end of the head of the `if` (without `else`), `for` or `while` whose
/// braced body holds the match alone, to the closing brace; or the whole
/// of a bare block among statements that holds it alone (it scopes
/// nothing then).
fn sole_block(node: Node, end: usize) -> Option<SoleBlock> {
    let block = node
        .parent()
        .filter(|b| b.kind_str() == "compound_statement")?;
    let mut cursor = block.walk();
    let children: Vec<Node> = block.children(&mut cursor).collect();
    // `{`, the matched statements, `}`: no comment or other statement.
    let n = children.len();
    if n < 3
        || children[1] != node
        || children[n - 2].end_byte() != end
        || children[1..n - 1].iter().any(|c| c.kind_str() == "comment")
    {
        return None;
    }
    let owner = block.parent()?;
    let mut needless_parens = Vec::new();
    let head_end = match owner.kind_str() {
        "if_statement" => {
            let else_free = owner.field("alternative").is_none();
            let nested_else = owner
                .parent()
                .is_some_and(|p| p.kind_str() == "else_clause");
            if !else_free || nested_else || owner.field("consequence") != Some(block) {
                return None;
            }
            let condition = owner.field("condition")?;
            if let Some(inner) = condition.named_child(0) {
                parenthesised_comparisons(inner, &mut needless_parens);
            }
            condition.end_byte()
        }
        "for_statement" | "while_statement" => {
            if owner.field("body") != Some(block) {
                return None;
            }
            let mut c = owner.walk();
            let close = owner
                .children(&mut c)
                .filter(|k| k.kind_str() == ")")
                .last()?;
            close.end_byte()
        }
        "compound_statement" | "labeled_statement" | "case_statement" => {
            return Some(SoleBlock {
                owner: BlockOwner::Bare {
                    start: block.start_byte(),
                },
                block_end: block.end_byte(),
            });
        }
        _ => return None,
    };
    Some(SoleBlock {
        owner: BlockOwner::Head {
            end: head_end,
            needless_parens,
        },
        block_end: block.end_byte(),
    })
}

/// The parentheses around comparisons that are operands of the `&&` and
/// `||` chain `node` heads (`a && (n > 0)`): comparisons bind tighter, so
/// the parentheses change nothing, and checkpatch asks for them to go.
fn parenthesised_comparisons(node: Node, out: &mut Vec<usize>) {
    if node.kind_str() != "binary_expression" {
        return;
    }
    let logical = node
        .field("operator")
        .is_some_and(|o| matches!(o.kind_str(), "&&" | "||"));
    if !logical {
        return;
    }
    for side in ["left", "right"] {
        let Some(operand) = node.field(side) else {
            continue;
        };
        if operand.kind_str() == "parenthesized_expression" {
            let inner = operand.named_child(0);
            let comparison = inner.is_some_and(|i| {
                i.kind_str() == "binary_expression"
                    && operand.named_child_count() == 1
                    && operand.child_count() == 3
                    && i.field("operator").is_some_and(|o| {
                        matches!(o.kind_str(), "==" | "!=" | "<" | "<=" | ">" | ">=")
                    })
            });
            if comparison {
                out.push(operand.start_byte());
                out.push(operand.end_byte() - 1);
            }
        } else {
            parenthesised_comparisons(operand, out);
        }
    }
}

/// The operands a conditional expression may evaluate to, through nested
/// conditionals, parentheses and casts; none for any other expression.
fn conditional_branches(node: Node) -> Vec<Node> {
    let node = strip_node(node);
    if node.kind_str() != "conditional_expression" {
        return Vec::new();
    }
    let mut out = Vec::new();
    // GNU `a ?: b` is worth `a` when it holds.
    let first = if node.field("consequence").is_some() {
        "consequence"
    } else {
        "condition"
    };
    for field in [first, "alternative"] {
        if let Some(branch) = node.field(field) {
            let nested = conditional_branches(branch);
            if nested.is_empty() {
                out.push(strip_node(branch));
            } else {
                out.extend(nested);
            }
        }
    }
    out
}
