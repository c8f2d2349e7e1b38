//! After the fixpoint: values from elsewhere that make a location mixed
//! (`Info::others`), stores and calls the analysis cannot follow (escapes),
//! evidence for a pin from the vocabulary, and what to read next (`Needs`).
//!
//! `collect` runs the checks in order over the program's constraints. The
//! checks of stores are in `stores`, those of calls in `arguments`, those
//! of tracked fields reached where no constraint shows it (macros, offsets,
//! casts) in `aside`; this file keeps what they share and the checks of
//! returns, addresses taken and flags.

use super::calls::{Definitions, Unresolved};
use super::collect::MatchSite;
use super::guards::{Answer, Guards};
use super::ids::{FuncId, UnitId};
use super::objects::{self, ObjectTrace};
use super::propagate::{stored_units, Constraints};
use super::reads::{Enclosing, Reach, ReleaseReads};
use super::summaries::{is_macro_name, IdentityUse};
use super::values::{alias_loc, element_field_home, element_home};
use super::{push_unique, text, FlowContext, Loc, Need, Needs, Val};
use crate::c::defines::MemberReach;
use crate::c::syntax::{shape, strip, Assignment, Call, ExprShape};
use crate::c::NodeExt;
use crate::engine::hash::{HashMap, HashSet};
use crate::engine::reason::{Blocker, Evidence, Origin, Place, Separation};
use crate::engine::types::TypeIndex;
use crate::rule::ElementStore;
use std::collections::{BTreeMap, BTreeSet};

mod arguments;
mod aside;
mod stores;

pub(crate) use arguments::undefined_use;
use arguments::*;
use aside::*;
use stores::*;

/// Runs the checks of this phase over every constraint.
pub(crate) fn collect<'t>(
    cx: &mut FlowContext<'_, 't>,
    (scanned, final_round): (&Needs, bool),
    k: &Constraints<'t>,
    releases: &[MatchSite<'t>],
) {
    let mut mixed = Vec::new();
    for (i, (func, asg)) in k.assignments.iter().enumerate() {
        // Only a statement that names something tracked can store pages or
        // overwrite a tracked location.
        if k.assignment_mentions[i].hot(*func, &cx.hot) {
            store(cx, scanned, *func, asg, &mut mixed);
        }
    }
    tracked_fields(cx);
    initialised_structs(cx);
    let release_ranges = Enclosing::of(
        releases
            .iter()
            .map(|r| (cx.funcs[r.func].file, r.matched.start, r.matched.end)),
    );
    // A call matters when it passes something tracked, or when it calls a
    // function whose parameters hold pages (its other arguments must then
    // come from acquires too).
    let matters = |cx: &FlowContext, i: usize| {
        k.call_mentions[i].hot(k.calls[i].0, &cx.hot)
            || k.call_targets[i].iter().any(|&g| cx.has_tracked_param(g))
    };
    // A release the rules do not convert (`__free_page(page)`) sees what
    // the tests it runs under let through (`guards`), asked of one
    // `Guards` for the whole program.
    let mut answers: HashMap<(usize, usize), Answer> = HashMap::default();
    {
        let guards = Guards::new(cx, k, scanned);
        for (i, (func, _)) in k.calls.iter().enumerate() {
            if !k.release_calls[i] || !matters(cx, i) {
                continue;
            }
            for (position, &arg) in k.call_args[i].iter().enumerate() {
                answers.insert((i, position), guards.answer(*func, arg));
            }
        }
    }
    let release_callees: HashSet<String> =
        cx.engine.pack.release_identifiers().into_iter().collect();
    for (i, (func, call)) in k.calls.iter().enumerate() {
        if !matters(cx, i) {
            continue;
        }
        let file = cx.funcs[*func].file;
        let range = (call.node.start_byte(), call.node.end_byte());
        let in_release = release_ranges.encloses(file, range.0, range.1)
            && !in_released_value(call.node, cx.src(*func), &release_callees);
        check_call(
            cx,
            (i, &mut answers),
            *func,
            call,
            &k.call_args[i],
            in_release,
            &mut mixed,
        );
    }
    unknown_walks(cx);
    fields_reached_aside(cx);
    let tracked = TrackedFields::of(cx);
    if !tracked.is_empty() {
        fields_in_macros(cx, k, &tracked);
        for (units, why) in fields_in_file_scope_macro_arguments(cx, &tracked) {
            for u in units {
                push_unique(&mut cx.units[u].escapes, why.clone());
            }
        }
        untyped_field_reads(cx, k, &tracked);
    }
    block_mixed_storage(cx, scanned, k, releases, mixed);
    // Returns of pages: the function's callers must be read. Another
    // value a function that returns pages may return (`return copy;`) is a
    // value from elsewhere in what its calls evaluate to.
    for (func, e) in &k.returns {
        let v = cx.eval(*func, *e, 0);
        if !v.is_empty() {
            let f = &cx.funcs[*func];
            let (name, file_local) = (f.name.clone(), f.file_local);
            cx.ask_callers(name, file_local, &v.units());
        } else if cx.tracked(&Loc::Ret(*func)) && !cx.holds_no_page(*func, *e) {
            let origin = Origin::Assigned {
                value: text(*e, cx.src(*func)),
                place: cx.place(*func, *e),
            };
            // What a function not read yet returns may be no page: read
            // its definition, and let the value wait on it.
            if let Some(name) = unread_callee(cx, *func, *e) {
                let units = cx.val_of(&Loc::Ret(*func)).units();
                cx.ask_definition(name, &units);
                cx.pending_origins.insert(origin.clone());
            }
            let info = cx.locs.get_mut(&Loc::Ret(*func)).expect("tracked");
            info.others.add(origin);
        }
    }
    // Pages put into the caller's array or page through a parameter: the
    // callers hold them, so they must be read.
    let mut filling: BTreeMap<FuncId, BTreeSet<UnitId>> = BTreeMap::new();
    for (loc, units) in &cx.fills {
        if let Loc::Var(g, name) = loc {
            if cx.funcs[*g].params.contains(name) {
                filling.entry(*g).or_default().extend(units);
            }
        }
    }
    for (g, units) in filling {
        let f = &cx.funcs[g];
        let (name, file_local) = (f.name.clone(), f.file_local);
        cx.ask_callers(name, file_local, &units);
    }
    address_taken(cx, scanned);
    super::needs::open_fields(cx, scanned, final_round);
    flag_evidence(cx);
    spread_others(cx, k);
}

/// Whether a call sits inside the value a release is given
/// (`put_page(READ_ONCE(pages[i]))`): what it returns is the page
/// released, so it is checked as any call is, not taken for a part of the
/// release (as `set_page_dirty_lock(page)` next to it is).
fn in_released_value(node: tree_sitter::Node, src: &[u8], releases: &HashSet<String>) -> bool {
    let mut at = node;
    while let Some(parent) = at.parent() {
        let kind = parent.kind_str();
        if kind.ends_with("_statement") || kind == "declaration" {
            return false;
        }
        if kind == "argument_list" {
            let callee = parent
                .parent()
                .and_then(Call::new)
                .and_then(|c| c.callee_name(src));
            if callee.is_some_and(|c| releases.contains(String::from_utf8_lossy(c).as_ref())) {
                return true;
            }
        }
        at = parent;
    }
    false
}

/// The function an expression calls, when it is a call of a function not
/// read yet (through the macros that forward to it) whose definition was
/// not searched for: what it returns is not known yet.
fn unread_callee(cx: &FlowContext, func: FuncId, e: tree_sitter::Node) -> Option<String> {
    let src = cx.src(func);
    let ExprShape::Call(call) = shape(e, src) else {
        return None;
    };
    let name = call.callee_name(src).map(String::from_utf8_lossy)?;
    if !cx.targets(func, &call).is_empty() {
        return None;
    }
    let name = cx.forward_end(&name);
    (!cx.engine.is_vocabulary(&name) && !cx.searched_definitions.contains(&name)).then_some(name)
}

/// How many values from elsewhere a location lists: enough to name them
/// in a reason; more would only lengthen it.
const ORIGINS_LISTED: usize = 4;

/// Values from elsewhere travel with the values: a location that receives
/// a mixed location's value (an assignment, an argument, a return) may
/// hold what it holds, so `m->addr = addr` makes `m->addr` mixed when a
/// caller passes another page's address for `addr`. Forward along the
/// same edges the fixpoint follows, in constraint order, to a fixpoint.
fn spread_others(cx: &mut FlowContext, k: &Constraints) {
    if cx.locs.values().all(|i| i.others.is_empty()) {
        return;
    }
    // Only tracked locations matter (a release sees units' pages), and a
    // constraint can only reach one if it names something tracked.
    let mut edges: Vec<(Vec<Loc>, Loc)> = Vec::new();
    for (i, (func, asg)) in k.assignments.iter().enumerate() {
        if !k.assignment_mentions[i].hot(*func, &cx.hot) {
            continue;
        }
        let to = cx
            .loc_of(*func, asg.lhs)
            .or_else(|| element_target(cx, *func, asg.lhs));
        if let Some(to) = to.filter(|t| cx.tracked(t)) {
            let from = value_sources(cx, *func, asg.rhs);
            if !from.is_empty() {
                edges.push((from, to));
            }
        }
    }
    for (i, (func, _)) in k.calls.iter().enumerate() {
        if !k.call_targets[i].iter().any(|&g| cx.has_tracked_param(g)) {
            continue;
        }
        for (position, &arg) in k.call_args[i].iter().enumerate() {
            let targets = k.call_targets[i].iter().filter_map(|&g| {
                let p = cx.funcs[g].params.get(position)?;
                Some(Loc::Var(g, p.clone())).filter(|l| cx.tracked(l))
            });
            let targets: Vec<Loc> = targets.collect();
            if targets.is_empty() {
                continue;
            }
            let from = value_sources(cx, *func, arg);
            if !from.is_empty() {
                edges.extend(targets.into_iter().map(|t| (from.clone(), t)));
            }
        }
    }
    for (func, e) in &k.returns {
        if cx.tracked(&Loc::Ret(*func)) {
            let from = value_sources(cx, *func, *e);
            if !from.is_empty() {
                edges.push((from, Loc::Ret(*func)));
            }
        }
    }
    let mut changed = true;
    while changed {
        changed = false;
        for (from, to) in &edges {
            let mut incoming: Vec<Origin> = Vec::new();
            for l in from {
                if l == to {
                    continue;
                }
                if let Some(info) = cx.locs.get(l) {
                    incoming.extend(info.others.iter().cloned());
                }
            }
            if incoming.is_empty() {
                continue;
            }
            let info = cx.locs.get_mut(to).expect("tracked");
            for o in incoming {
                if info.others.len() >= ORIGINS_LISTED {
                    break;
                }
                changed |= info.others.add(o);
            }
        }
    }
}

/// The array an element store writes into (`a[i] = v`, `*p = v`).
fn element_target(cx: &FlowContext, func: FuncId, lhs: tree_sitter::Node) -> Option<Loc> {
    match shape(lhs, cx.src(func)) {
        ExprShape::Subscript { base, .. } | ExprShape::Deref(base) => {
            element_home(cx, func, base).map(|(l, _)| l)
        }
        _ => None,
    }
}

/// The locations whose values an expression's value may carry, as `eval`
/// reads them: variables and fields, the arrays elements are read from,
/// both sides of a sum, the operands of bit operations, both branches of a
/// conditional, the operand of a call that stands for its argument, the
/// container of an element load, and what followed callees return.
pub(crate) fn value_sources(cx: &FlowContext, func: FuncId, node: tree_sitter::Node) -> Vec<Loc> {
    let mut out = Vec::new();
    let mut stack = vec![(node, 0usize)];
    let src = cx.src(func);
    while let Some((n, depth)) = stack.pop() {
        if depth > super::values::EXPRESSION_DEPTH {
            continue;
        }
        let next = depth + 1;
        match shape(n, src) {
            ExprShape::Ident(_) | ExprShape::Field { .. } => out.extend(cx.loc_of(func, n)),
            ExprShape::Subscript { base, .. } | ExprShape::Deref(base) => stack.push((base, next)),
            ExprShape::AddressOf(inner) => stack.push((inner, next)),
            ExprShape::Offset {
                base,
                other,
                subtracted,
            } => {
                stack.push((base, next));
                if !subtracted {
                    stack.push((other, next));
                }
            }
            ExprShape::Other => {
                if let Some((operands, _)) = super::values::value_operands(n, src) {
                    stack.extend(operands.into_iter().map(|o| (o, next)));
                }
            }
            ExprShape::Conditional { then, otherwise } => {
                stack.push((otherwise, next));
                if let Some(t) = then {
                    stack.push((t, next));
                }
            }
            ExprShape::Call(call) => match cx.identity_operand(func, &call) {
                Some(a) => stack.push((a, next)),
                None => out.extend(cx.targets(func, &call).into_iter().map(Loc::Ret)),
            },
            _ => {}
        }
    }
    out
}

/// A followed function whose address is taken has callers nobody can list.
fn address_taken(cx: &mut FlowContext, scanned: &Needs) {
    let followed: Vec<FuncId> = cx
        .funcs
        .ids()
        .filter(|&g| cx.has_tracked_param(g) || cx.tracked(&Loc::Ret(g)))
        .collect();
    let followed_names: HashSet<&str> = followed
        .iter()
        .map(|&g| cx.funcs[g].name.as_str())
        .collect();
    // The first reference to each name, in function order (a function
    // references a name at its first node that does). Each function's
    // references are walked once, not asked for every name followed.
    let mut taken_at: HashMap<String, String> = HashMap::default();
    for g in cx.funcs.ids() {
        if taken_at.len() == followed_names.len() {
            break;
        }
        for (name, &n) in &cx.funcs[g].constraints.references {
            if followed_names.contains(name.as_str()) && !taken_at.contains_key(name) {
                taken_at.insert(name.clone(), cx.place(g, n));
            }
        }
    }
    // The names no function body references, looked for at file scope.
    let mut unreferenced: Vec<&str> = followed_names
        .iter()
        .copied()
        .filter(|name| !taken_at.contains_key(*name))
        .collect();
    unreferenced.sort_unstable();
    let at_file_scope: Vec<(String, String)> = cx
        .addresses_taken_at_file_scope(&unreferenced, scanned)
        .into_iter()
        .map(|(i, place)| (unreferenced[i].to_string(), place))
        .collect();
    taken_at.extend(at_file_scope);
    for g in followed {
        let name = cx.funcs[g].name.clone();
        let Some(place) = taken_at.get(&name).cloned() else {
            continue;
        };
        for prm in cx.funcs[g].params.clone().iter().cloned() {
            let loc = Loc::Var(g, prm);
            if let Some(info) = cx
                .locs
                .get_mut(&loc)
                .filter(|i| !i.arrays.is_empty() || !i.pages.is_empty())
            {
                info.others.add(Origin::AddressTaken {
                    function: name.clone(),
                    place: place.clone(),
                });
            }
        }
    }
}

/// Evidence from the acquire's flags. (`FOLL_WRITE` with a brief `kmap()`
/// is weak evidence: such users, uprobes and ptrace-style access, are left
/// for a decision.)
fn flag_evidence(cx: &mut FlowContext) {
    let files = cx.files;
    let funcs = &cx.funcs;
    for unit in cx.units.iter_mut() {
        if unit.flags.iter().any(|f| f.contains("FOLL_LONGTERM")) {
            let at = Place {
                path: files[unit.file.index()].path.to_string(),
                line: unit.line,
                function: funcs[unit.func].name.clone(),
            };
            unit.note_evidence(Evidence::LongTermFlag, at);
        }
    }
}
