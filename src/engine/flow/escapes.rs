//! After the fixpoint: values from elsewhere that make a location mixed
//! (`Info::others`), stores and calls the analysis cannot follow (escapes),
//! evidence for a pin from the vocabulary, and what to read next (`Needs`).

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
use crate::c::syntax::{declarator_identifier, shape, strip, Assignment, Call, ExprShape};
use crate::c::NodeExt;
use crate::engine::reason::{Blocker, Origin, Place, Separation};
use crate::engine::types::TypeIndex;
use crate::rule::ElementStore;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

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
    let mut answers: HashMap<(usize, usize), Answer> = HashMap::new();
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

/// An assignment: another value into a tracked location, pages into a
/// field (a need) or somewhere the analysis cannot follow, another value
/// into an element of a unit's array.
fn store<'t>(
    cx: &mut FlowContext<'_, 't>,
    scanned: &Needs,
    func: FuncId,
    asg: &Assignment<'t>,
    mixed: &mut Vec<MixedStore<'t>>,
) {
    let v = cx.eval(func, asg.rhs, 0);
    let src = cx.src(func);
    let place = cx.place(func, asg.node);
    let unfollowed = |cx: &mut FlowContext, v: &Val| {
        let target = text(asg.lhs, src);
        for u in v.units() {
            push_unique(
                &mut cx.units[u].escapes,
                Blocker::StoredUnfollowed {
                    target: target.clone(),
                    place: place.clone(),
                },
            );
        }
    };
    // A page into an element field: checked like a container store.
    if let Some(home) = element_field_home(cx, func, asg.lhs) {
        if !v.pages.is_empty() {
            for u in v.units() {
                let at = cx.place_at(func, asg.node);
                cx.units[u].note_evidence("stored in a container element".into(), at);
            }
        }
        match home {
            None if !v.is_empty() => unfollowed(cx, &v),
            Some((home, _)) if v.pages.is_empty() && !cx.holds_no_page(func, asg.rhs) => {
                let why = Blocker::ElementAssigned {
                    array: text(asg.lhs, src),
                    value: text(asg.rhs, src),
                    place,
                };
                let units = cx.val_of(&home).units();
                mixed.push(MixedStore {
                    at: (func, asg.node),
                    storage: Some(home),
                    object: None,
                    why,
                    units,
                });
            }
            _ => {}
        }
        return;
    }
    match shape(asg.lhs, src) {
        ExprShape::Ident(_) | ExprShape::Field { .. } => match cx.loc_of(func, asg.lhs) {
            // A field that borrows the pages: its readers take their own.
            Some(loc) if cx.borrowing(&loc) => {}
            Some(loc) => store_into(cx, scanned, func, asg, &loc, &v, &place),
            None if !v.is_empty() => {
                unfollowed(cx, &v);
                // A field of a struct whose definition is not read yet
                // (`obj->userptr.pvec`): read it, the store may be followed
                // then.
                if let Some((s, f)) = cx.missing_field_type(func, asg.lhs) {
                    let units = v.units();
                    cx.need(Need::Field(s.clone(), f.clone()), &units);
                    cx.needs.fields.insert((s, f));
                }
            }
            None => {}
        },
        // An element of a `u32` array holds a number: storing one there
        // neither hides a page nor puts another value among the pages of
        // an array it aliases.
        ExprShape::Subscript { base, .. } | ExprShape::Deref(base)
            if cx.has_narrow_elements(func, base) => {}
        ExprShape::Subscript { base, .. } | ExprShape::Deref(base) => {
            let b = cx.eval(func, base, 0);
            // Pages stored into an element of an array the analysis cannot
            // name, and arrays stored into an element (an array of arrays is
            // not followed), leave the flow.
            if !v.arrays.is_empty()
                || (!v.pages.is_empty() && element_home(cx, func, base).is_none())
            {
                unfollowed(cx, &v);
            }
            if !b.arrays.is_empty() && v.pages.is_empty() && !cx.holds_no_page(func, asg.rhs) {
                let why = Blocker::ElementAssigned {
                    array: text(base, src),
                    value: text(asg.rhs, src),
                    place,
                };
                // The object whose field is written (`d` of `d->pfns[i]`).
                let object = match shape(base, src) {
                    ExprShape::Field {
                        base: object,
                        arrow: true,
                        ..
                    } => Some((func, object)),
                    _ => None,
                };
                mixed.push(MixedStore {
                    at: (func, asg.node),
                    storage: element_home(cx, func, base).map(|(l, _)| l),
                    object,
                    why,
                    units: b.arrays,
                });
            }
        }
        _ if !v.is_empty() => unfollowed(cx, &v),
        _ => {}
    }
}

/// An assignment into a tracked variable or field: another value there is
/// a value from elsewhere (waiting on what it reads when that may turn out
/// to be no page), and pages stored into a field make its readers and
/// writers a need.
fn store_into<'t>(
    cx: &mut FlowContext<'_, 't>,
    scanned: &Needs,
    func: FuncId,
    asg: &Assignment<'t>,
    loc: &Loc,
    v: &Val,
    place: &str,
) {
    // An array aliased from a field of a struct whose definition
    // is not read yet (`plist = &umem->chunk[i].plist[got]`):
    // read it, the alias may be followed then.
    if cx.tracked(loc) && asg.plain && alias_loc(cx, func, asg.rhs).is_none() {
        if let Some((s, f)) = cx.missing_field_type(func, asg.rhs) {
            let units = cx.val_of(loc).units();
            cx.need(Need::Field(s.clone(), f.clone()), &units);
            cx.needs.fields.insert((s, f));
        }
    }
    let slot = || {
        let mut wanted = Vec::new();
        let slot = slot_only_by_address(cx, scanned, func, asg.rhs, &mut wanted);
        (slot, wanted)
    };
    let (is_slot, slot_wanted) = match cx.tracked(loc) && v.is_empty() && asg.plain {
        true => slot(),
        false => (false, Vec::new()),
    };
    if cx.tracked(loc) && v.is_empty() && asg.plain && !is_slot && !cx.holds_no_page(func, asg.rhs)
    {
        // The slot may turn out to be storage once the files
        // naming its field are read.
        let pending = !slot_wanted.is_empty();
        if pending {
            let units = cx.val_of(loc).units();
            cx.ask(slot_wanted, &units);
        }
        add_other_value(cx, func, loc, asg.rhs, place, pending);
    }
    if let (Loc::Field(s, f), false) = (loc, v.is_empty()) {
        need_field(cx, s, f, &v.units());
        for u in v.units() {
            let at = cx.place_at(func, asg.node);
            cx.units[u].note_evidence(format!("stored in struct {s}::{f}"), at);
        }
    }
}

/// Another value (`value`, which holds none of the units' pages) stored
/// into a tracked location: its releases may see it. What a function not
/// read yet returns may be no page (entries it has just cleared): its
/// definition is read and the value waits on it, as it does when
/// `pending` says something else is being read for it.
fn add_other_value(
    cx: &mut FlowContext,
    func: FuncId,
    loc: &Loc,
    value: tree_sitter::Node,
    place: &str,
    mut pending: bool,
) {
    if let Some(name) = unread_callee(cx, func, value) {
        let units = cx.val_of(loc).units();
        cx.ask_definition(name, &units);
        pending = true;
    }
    let origin = Origin::Assigned {
        value: text(value, cx.src(func)),
        place: place.to_string(),
    };
    if pending {
        cx.pending_origins.insert(origin.clone());
    }
    let info = cx.locs.get_mut(loc).expect("tracked");
    info.others.add(origin);
}

/// Another value stored into an element of storage that holds units' pages.
pub(crate) struct MixedStore<'t> {
    /// The store: its function and its assignment or call.
    at: (FuncId, tree_sitter::Node<'t>),
    /// The storage's location, when the analysis can name it.
    storage: Option<Loc>,
    /// The pointer to the object whose field the storage is, when the
    /// store goes through one (`d` of `d->pfns[i] = ...`).
    object: Option<(FuncId, tree_sitter::Node<'t>)>,
    why: Blocker,
    units: BTreeSet<UnitId>,
}

/// Mixed storage blocks its units only when a release may read it: when a
/// release reads through it, or when its pointer or an element of it is
/// handed to a location a release reads (through assignments and followed
/// calls), to a call the analysis does not follow (neither a known use nor
/// a container call), or stored where no location names it. A side
/// table of the pages (the scatterlist of an `ivtv` DMA, bounce pages and
/// all, released through the pages array only) does not block. Nor does a
/// store into a field of objects no release reads the field of
/// (`objects`): a release reading through a pointer that only ever points
/// at objects of other allocations never sees the stored value.
fn block_mixed_storage<'t>(
    cx: &mut FlowContext<'_, 't>,
    scanned: &Needs,
    k: &Constraints<'t>,
    releases: &[MatchSite<'t>],
    mixed: Vec<MixedStore<'t>>,
) {
    if mixed.is_empty() {
        return;
    }
    // Storage the analysis cannot name blocks whatever reads it; only named
    // storage needs to know what the releases read.
    let reads = ReleaseReads::of(cx, k, releases);
    let mut verdicts = Vec::new();
    let mut wanted = Vec::new();
    let mut separations = Vec::new();
    let mut definitions = Vec::new();
    {
        let mut trace = ObjectTrace::new(cx, k, scanned);
        let guards = Guards::new(cx, k, scanned);
        for m in &mixed {
            #[cfg(debug_assertions)]
            if let Some(l) = &m.storage {
                reads.check_against_whole(cx, l);
            }
            // Storage read only by code not followed yet is an escape: its
            // needs stay wanted, and once that code is read the edge is
            // known.
            let verdict = match m.storage.as_ref().map(|l| (l, reads.reach(cx, l, &[]))) {
                Some((l, Reach::Released)) => {
                    let (asked, guards_asked) = (trace.wanted.len(), guards.asked());
                    let by_objects = separate(&mut trace, &reads, m, l);
                    let by_branch = match &by_objects {
                        Some((Reach::Released, _)) | None => {
                            separate_by_branch(&guards, &mut trace, &reads, m, l)
                        }
                        Some(_) => None,
                    };
                    let branch_asked = guards.wanted_since(guards_asked);
                    let mut asked_now = trace.wanted[asked..].to_vec();
                    asked_now.extend(branch_asked.iter().cloned());
                    match by_branch.or(by_objects) {
                        // The branches may tell the reads apart once what
                        // they asked for is read.
                        Some((Reach::Released, _)) if !branch_asked.is_empty() => {
                            wanted.push((branch_asked, m.units.clone()));
                            Reach::Unfollowed
                        }
                        Some((Reach::Released, _)) => Reach::Released,
                        Some((v, separation)) => {
                            separations.push((separation, m.units.clone()));
                            v
                        }
                        // The objects (or the branches) may tell the reads
                        // apart once what the trace asked for is read.
                        None if !asked_now.is_empty() => {
                            wanted.push((asked_now, m.units.clone()));
                            Reach::Unfollowed
                        }
                        None => Reach::Released,
                    }
                }
                Some((_, reach)) => reach,
                None => Reach::Released,
            };
            // A store into the elements of a parameter lands in the
            // arrays the callers pass for it.
            let verdict = match &m.storage {
                Some(l) if !matches!(verdict, Reach::Released) => reads
                    .callers_arrays(cx, l)
                    .iter()
                    .fold(verdict, |v, a| v.or(reads.reach(cx, a, &[]))),
                _ => verdict,
            };
            if let (Reach::Unfollowed, Some(l)) = (&verdict, &m.storage) {
                definitions.push((reads.unread_callees(cx, l), m.units.clone()));
            }
            verdicts.push(verdict);
        }
    }
    for (separation, units) in separations {
        for u in units {
            push_unique(&mut cx.units[u].told_apart, separation.clone());
        }
    }
    for (asked, units) in wanted {
        cx.ask(asked, &units);
    }
    for (names, units) in definitions {
        for name in names {
            cx.ask_definition(name, &units);
        }
    }
    for (m, verdict) in mixed.into_iter().zip(verdicts) {
        let blocks = match verdict {
            Reach::Released => true,
            Reach::Unfollowed => false,
            Reach::Nothing => continue,
        };
        for u in m.units {
            let unit = &mut cx.units[u];
            let list = if blocks {
                &mut unit.blockers
            } else {
                &mut unit.escapes
            };
            push_unique(list, m.why.clone());
        }
    }
}

/// What a store into a field reaches once the releases that read the field
/// through pointers to other objects are left out, with the separation to
/// show; `None` when no release is told apart (the objects are unknown, or
/// shared).
fn separate<'t>(
    trace: &mut ObjectTrace<'_, '_, 't>,
    reads: &ReleaseReads<'_, 't>,
    m: &MixedStore<'t>,
    storage: &Loc,
) -> Option<(Reach, Separation)> {
    let (func, object) = m.object?;
    if !matches!(storage, Loc::Field(..)) {
        return None;
    }
    let stored = trace.objects(func, object);
    stored.as_ref()?;
    let mut apart_reads = Vec::new();
    let mut read_objects = Vec::new();
    let mut releases = Vec::new();
    for (i, (l, through)) in reads.direct.iter().enumerate() {
        if l != storage {
            continue;
        }
        let Some((g, pointer)) = through else {
            return None;
        };
        let read = trace.objects(*g, *pointer);
        if !objects::apart(&stored, &read) {
            return None;
        }
        apart_reads.push(i);
        read_objects.extend(objects::places(trace.cx(), &read));
        releases.push(reads.places[i].clone());
    }
    if apart_reads.is_empty() {
        return None;
    }
    let reach = reads.reach(trace.cx(), storage, &apart_reads);
    read_objects.sort();
    read_objects.dedup();
    releases.sort();
    releases.dedup();
    let separation = Separation::Objects {
        store: m.why.clone(),
        store_objects: objects::places(trace.cx(), &stored),
        releases,
        release_objects: read_objects,
    };
    Some((reach, separation))
}

/// What a store into a local array reaches once the releases that cannot
/// run in the same call of its function are left out (`Guards::read_apart`:
/// the store is in one branch of an `if` whose test cannot change during
/// the call, and each left-out release reads the array in the other branch,
/// or reads it through an object whose flag only the other branch sets);
/// `None` when no release is told apart.
fn separate_by_branch<'t>(
    guards: &Guards<'_, '_, 't>,
    trace: &mut ObjectTrace<'_, '_, 't>,
    reads: &ReleaseReads<'_, 't>,
    m: &MixedStore<'t>,
    storage: &Loc,
) -> Option<(Reach, Separation)> {
    let branch = guards.store_branch(m.at, storage)?;
    let mut apart = Vec::new();
    let mut releases = Vec::new();
    for i in reads.reading(trace.cx(), storage) {
        if guards.read_apart(
            trace,
            &branch,
            storage,
            reads.subjects[i],
            &reads.direct[i].0,
        ) {
            apart.push(i);
            releases.push(reads.places[i].clone());
        }
    }
    if apart.is_empty() {
        return None;
    }
    let (condition, holds) = (branch.condition.clone(), branch.in_then);
    let reach = reads.reach(trace.cx(), storage, &apart);
    releases.sort();
    releases.dedup();
    let separation = Separation::Branch {
        store: m.why.clone(),
        condition,
        set: holds,
        releases,
    };
    Some((reach, separation))
}

/// The (struct, field) pairs that hold a unit's pages or arrays.
fn tracked_field_pairs(cx: &FlowContext) -> Vec<(String, String)> {
    cx.locs
        .iter()
        .filter(|(_, i)| !i.arrays.is_empty() || !i.pages.is_empty())
        .filter_map(|(l, _)| match l {
            Loc::Field(s, f) => Some((s.clone(), f.clone())),
            _ => None,
        })
        .collect()
}

/// Fields that hold pages: every struct field read or written elsewhere is
/// a need.
fn tracked_fields(cx: &mut FlowContext) {
    for (s, f) in tracked_field_pairs(cx) {
        let v = cx.val_of(&Loc::Field(s.clone(), f.clone()));
        need_field(cx, &s, &f, &v.units());
    }
}

/// The readers and writers of a field that holds pages are needed, under
/// every name its storage has (the members of a union).
fn need_field(cx: &mut FlowContext, s: &str, f: &str, units: &BTreeSet<UnitId>) {
    // Code may reach the field through a struct that holds this one
    // (`o->pb.pages`) without naming it: that struct's mentions are needed
    // too.
    let mut names = vec![s.to_string()];
    names.extend(cx.types.holders(s));
    for name in names {
        let file_local = cx.types.is_file_local(&name);
        // The structs that embed it, which only their definitions name,
        // are holders too: a header's struct may be embedded anywhere.
        if !file_local {
            cx.need(Need::Holders(name.clone()), units);
            cx.needs.holders.insert(name.clone());
        }
        for spelling in cx.types.spellings(s, f) {
            cx.need(Need::Field(name.clone(), spelling.clone()), units);
            cx.needs.add_field(name.clone(), spelling, file_local);
        }
    }
}

/// Pages put into an initialiser that does not make an array of them (a
/// struct's `{ .page = page }`, a compound literal) are not followed: the
/// fields they land in are not told by the initialiser. Another value an
/// initialiser of a struct puts into a tracked field (`struct toy_dev d =
/// { .page = alloc_page(GFP_KERNEL) };`, `*dev = (struct toy_dev){ ... }`)
/// is a store into that field, as an assignment is
/// (`initialiser_stores`).
fn initialised_structs(cx: &mut FlowContext) {
    let mut unfollowed = Vec::new();
    let tracked = tracked_field_pairs(cx);
    let mut stores: Vec<(FuncId, Loc, tree_sitter::Node, String)> = Vec::new();
    for (g, f) in cx.funcs.iter_enumerated() {
        if !tracked.is_empty() {
            for &(n, _) in &f.constraints.initializers {
                initialiser_stores(cx, g, n, None, &tracked, &mut stores);
            }
        }
        for (n, mentions) in &f.constraints.initializers {
            // Only an initialiser that names something tracked holds pages.
            if !mentions.hot(g, &cx.hot) {
                continue;
            }
            let n = *n;
            // `struct page *list[2] = { ... }`: the name is declared an
            // array (the declarator next to it is the array's).
            let array = n.kind_str() == "initializer_list"
                && n.parent()
                    .filter(|d| d.kind_str() == "init_declarator")
                    .and_then(|d| d.field("declarator"))
                    .and_then(crate::c::syntax::declarator_identifier)
                    .and_then(|name| name.parent())
                    .is_some_and(|a| a.kind_str() == "array_declarator");
            if array {
                continue;
            }
            let v = cx.eval(g, n, 0);
            if !v.is_empty() {
                let why = Blocker::StoredUnfollowed {
                    target: text(n, cx.src(g)),
                    place: cx.place(g, n),
                };
                unfollowed.push((v.units(), why));
            }
        }
    }
    for (units, why) in unfollowed {
        for u in units {
            push_unique(&mut cx.units[u].escapes, why.clone());
        }
    }
    for (g, loc, value, place) in stores {
        add_other_value(cx, g, &loc, value, &place, false);
    }
}

/// The values an initialiser of a struct puts into the tracked fields
/// (`tracked`, as struct and field) that hold none of the units' pages
/// and may be pages, as (function, field, value, place). The struct is the
/// declared one (`struct toy_dev d = { ... }`), a compound literal's
/// (`(struct toy_dev){ ... }`), or, for an initialiser nested in one, the
/// type of the field it initialises (`.ring = { .page = p }`, `strukt`).
/// A designated entry (`.page = p`) goes into its field; a positional one
/// into any tracked field of the struct, whose order is not known here.
fn initialiser_stores<'t>(
    cx: &FlowContext<'_, 't>,
    g: FuncId,
    n: tree_sitter::Node<'t>,
    strukt: Option<String>,
    tracked: &[(String, String)],
    out: &mut Vec<(FuncId, Loc, tree_sitter::Node<'t>, String)>,
) {
    let src = cx.src(g);
    let f = &cx.funcs[g];
    let (list, strukt) = match n.kind_str() {
        "compound_literal_expression" => {
            let ty = n.field("type").map(|t| text(t, src));
            let strukt = ty
                .and_then(|t| crate::engine::types::type_name_from_text(&t))
                .map(|t| cx.types.resolve(&t));
            let Some(list) = n.field("value") else {
                return;
            };
            (list, strukt)
        }
        "initializer_list" => {
            let declared = n
                .parent()
                .filter(|d| d.kind_str() == "init_declarator")
                .and_then(|d| d.field("declarator"))
                .filter(|d| d.kind_str() == "identifier")
                .and_then(|d| f.types.get(&text(d, src)).cloned());
            (n, strukt.or(declared))
        }
        _ => return,
    };
    let Some(strukt) = strukt else {
        return;
    };
    let tracked_here: Vec<&String> = (tracked.iter())
        .filter(|(s, _)| *s == strukt)
        .map(|(_, f)| f)
        .collect();
    let mut cursor = list.walk();
    for entry in list.named_children(&mut cursor) {
        if entry.kind_str() == "comment" {
            continue;
        }
        let (fields, value) = match entry.kind_str() {
            "initializer_pair" => {
                let designator = entry.field("designator");
                let field = designator
                    .filter(|d| d.kind_str() == "field_designator")
                    .and_then(|d| d.named_child(0))
                    .map(|name| text(name, src));
                let Some(value) = entry.field("value") else {
                    continue;
                };
                match field {
                    Some(field) => (vec![cx.types.canonical_field(&strukt, &field)], value),
                    None => continue,
                }
            }
            _ => (tracked_here.iter().map(|f| (*f).clone()).collect(), entry),
        };
        if value.kind_str() == "initializer_list" {
            // A nested struct: its type is the field's, when one field.
            let inner = match fields.as_slice() {
                [field] => cx.types.field_type(&strukt, field),
                _ => None,
            };
            initialiser_stores(cx, g, value, inner, tracked, out);
            continue;
        }
        for field in fields {
            let loc = Loc::Field(strukt.clone(), field);
            if cx.tracked(&loc) && cx.eval(g, value, 0).is_empty() && !cx.holds_no_page(g, value) {
                out.push((g, loc, value, cx.place(g, value)));
            }
        }
    }
}

/// Whether an expression is the address of a struct field that the
/// program only ever uses by its address, each time stored into an array
/// pointer (`batch->pages = &batch->fallback_page`, a one-page array
/// inside the object for when no array could be allocated): the slot is
/// storage, like an allocation, and whatever is put into it goes through
/// the pointers that hold its address, which the analysis follows. Needs
/// for the files naming the field not read yet go to `wanted`.
fn slot_only_by_address<'t>(
    cx: &FlowContext<'_, 't>,
    scanned: &Needs,
    func: FuncId,
    e: tree_sitter::Node<'t>,
    wanted: &mut Vec<(Need, bool)>,
) -> bool {
    let src = cx.src(func);
    let ExprShape::AddressOf(inner) = shape(e, src) else {
        return false;
    };
    let Some(Loc::Field(s, f)) = cx.loc_of(func, inner) else {
        return false;
    };
    let by_address = |n: tree_sitter::Node<'t>| {
        let up = |n: tree_sitter::Node<'t>| {
            let mut n = n;
            while let Some(p) = n
                .parent()
                .filter(|p| p.kind_str() == "parenthesized_expression")
            {
                n = p;
            }
            n.parent()
        };
        let Some(address) = up(n).filter(|p| {
            p.kind_str() == "pointer_expression"
                && p.field("operator").map(|o| o.kind_str()) == Some("&")
        }) else {
            return false;
        };
        up(address)
            .and_then(Assignment::new)
            .is_some_and(|a| a.plain && crate::c::syntax::strip(a.rhs) == address)
    };
    let every = objects::every_field_mention(cx, scanned, (&s, &f), wanted, |_, n| {
        by_address(n).then_some(())
    });
    every.is_some()
}

/// A call that passes or may receive tracked values.
fn check_call<'t>(
    cx: &mut FlowContext<'_, 't>,
    (index, answers): (usize, &mut HashMap<(usize, usize), Answer>),
    func: FuncId,
    call: &Call<'t>,
    args: &[tree_sitter::Node<'t>],
    in_release: bool,
    mixed: &mut Vec<MixedStore<'t>>,
) {
    // A cast the parser read as a call: its operand is checked where the
    // cast is used.
    if cx.cast_operand(func, call).is_some() {
        return;
    }
    let src = cx.src(func);
    let callee = call
        .callee_name(src)
        .map(|c| String::from_utf8_lossy(c).into_owned());
    // A page stored into an element of a container: checked like a store
    // into an array element.
    if let Some(store) = callee
        .as_ref()
        .and_then(|c| cx.engine.pack.flow.element_stores.get(c).copied())
    {
        element_store(
            cx,
            func,
            call,
            callee.as_deref().unwrap_or(""),
            store,
            mixed,
        );
        return;
    }
    let targets = cx.targets(func, call);
    let slot = if callee.is_none() {
        cx.callee_slot(func, call)
    } else {
        None
    };
    for (position, &arg) in args.iter().enumerate() {
        let answer = answers
            .remove(&(index, position))
            .unwrap_or(Answer::Unknown);
        let (v, wanted) = match answer {
            Answer::Known(g) => (g.val, Vec::new()),
            Answer::Waiting(wanted) => (cx.eval(func, arg, 0), wanted),
            Answer::Unknown => (cx.eval(func, arg, 0), Vec::new()),
        };
        if !targets.is_empty() {
            followed_argument(cx, func, call, &targets, position, arg, &v);
            continue;
        }
        // The tests the release runs under may leave the pages out once
        // what they wait on is read: an escape until then.
        if !wanted.is_empty() && !v.is_empty() {
            let units = v.units();
            cx.ask(wanted, &units);
            let why = Blocker::UnconvertedRelease {
                call: callee.clone().unwrap_or_default(),
                place: cx.place(func, call.node),
            };
            for u in units {
                push_unique(&mut cx.units[u].escapes, why.clone());
            }
            continue;
        }
        if v.is_empty() {
            continue;
        }
        let units = v.units();
        match (&callee, &slot) {
            (None, None) => unknown_struct_of_pointer(cx, func, call, &units),
            (None, Some((s, f))) => ops_slot(cx, s, f, &units),
            _ => {}
        }
        // A page's identity handed to a function is read, not kept.
        let identity = v.arrays.is_empty() && cx.is_identity(func, arg);
        match &callee {
            Some(c) => named_call(cx, func, call, c, position, &v, in_release, identity),
            // A page's identity handed to a function pointer is read, as
            // when it is handed to a named function pinpatch cannot read.
            None if identity => {}
            None => {
                let place = cx.place(func, call.node);
                for u in units {
                    push_unique(
                        &mut cx.units[u].escapes,
                        Blocker::IndirectCall {
                            place: place.clone(),
                        },
                    );
                }
            }
        }
    }
}

/// Loops headed by an iterator macro the vocabulary does not list
/// (`propagate::Walk`): the loop may hand the pages, or the pages a
/// container or array holds, to its other arguments, and the releases in
/// its body would then be the unit's without being tied to it. A tracked
/// value passed to one leaves the flow, unless every definition of the
/// macro in the files read only reads that argument.
fn unknown_walks(cx: &mut FlowContext) {
    let mut found = Vec::new();
    for (g, f) in cx.funcs.iter_enumerated() {
        for walk in f
            .constraints
            .walks
            .iter()
            .filter(|w| w.mentions.hot(g, &cx.hot))
        {
            for (position, &arg) in walk.args.iter().enumerate() {
                let v = cx.eval(g, arg, 0);
                if v.is_empty() || cx.macro_use(&walk.name, position) == Some(IdentityUse::Read) {
                    continue;
                }
                let why = Blocker::WalkedBy {
                    iterator: walk.name.clone(),
                    place: cx.place(g, walk.node),
                };
                found.push((v.units(), why));
            }
        }
    }
    for (units, why) in found {
        for u in units {
            push_unique(&mut cx.units[u].escapes, why.clone());
        }
    }
}

/// Function-like macros whose bodies name a struct field that holds pages
/// (`#define buf_page(b, i) ((b)->pages[i])`, or `PUT_ALL(b)` whose body
/// releases `(b)->pages[i]`): the macro pass does not expand them, so what
/// such a body does with the pages is not followed, and a release in it
/// would stay while the rest of the flow converts. A use of one in a
/// function the analysis reads makes the field's units escape. The field
/// is the one of the argument's struct when the body reaches it from that
/// parameter and the argument's type is known; else, as for any code that
/// reaches a field (`read_for_needs`, `collect::Interest`), a field whose
/// struct both the macro's file and the using function name. The
/// vocabulary's element fields (`bv_page`) are its containers' business.
fn fields_in_macros(cx: &mut FlowContext, k: &Constraints, tracked: &TrackedFields) {
    // A function of that name read, or one the vocabulary describes, is
    // what a call of the name reaches.
    let flow = &cx.engine.pack.flow;
    let followed = |name: &str| {
        cx.by_name.contains_key(name)
            || cx.engine.is_vocabulary(name)
            || flow.is_use(name)
            || flow.is_element_call(name)
    };
    // The macros, the tracked fields their bodies may name (the member as
    // written, and the fields whose struct a defining file names), and
    // whether every definition is in a `.c` file (its uses are then there).
    let mut reaching: BTreeMap<String, MacroReach> = BTreeMap::new();
    let mut files_naming = NamedStructs::new(&cx.types);
    let all = tracked.all();
    for (i, (file, facts)) in cx.files.iter().zip(cx.facts.iter()).enumerate() {
        for (name, members) in &facts.macro_members {
            if followed(name) {
                continue;
            }
            let mut words: Option<Vec<u8>> = None;
            for m in members {
                // A member each use names (`d->member`) may be any tracked
                // field of a struct the body names (`struct toy_dev *d`);
                // reached from a parameter (`(d)->member`), of a struct the
                // file names, the argument's type telling at each use.
                // Else (`(s)->stats.member++`) it is no field holding pages.
                let fields: Vec<(String, String)> = match m.named_by {
                    Some(_) => {
                        let words = words.get_or_insert_with(|| body_words(file.parsed, name));
                        let in_body: Vec<(String, String)> = (all.iter())
                            .filter(|(s, _)| files_naming.names_in(words, s))
                            .cloned()
                            .collect();
                        match (in_body.is_empty(), m.from) {
                            (false, _) => in_body,
                            (true, Some(_)) => (all.iter())
                                .filter(|(s, _)| files_naming.names(i, &file.parsed.original, s))
                                .cloned()
                                .collect(),
                            (true, None) => Vec::new(),
                        }
                    }
                    None => (tracked.named(&m.member).iter())
                        .filter(|(s, _)| files_naming.names(i, &file.parsed.original, s))
                        .cloned()
                        .collect(),
                };
                if fields.is_empty() {
                    continue;
                }
                let entry = reaching.entry(name.clone()).or_insert_with(|| MacroReach {
                    members: Vec::new(),
                    fields: BTreeSet::new(),
                    file_local: true,
                });
                entry.file_local &= file.path.ends_with(".c");
                entry.fields.extend(fields);
                if !entry.members.contains(m) {
                    entry.members.push(m.clone());
                }
            }
        }
    }
    if reaching.is_empty() {
        return;
    }
    // Its uses are read like a followed function's callers: a function that
    // uses it without naming the field then takes part too.
    for (name, reach) in &reaching {
        let units: BTreeSet<UnitId> = reach
            .fields
            .iter()
            .flat_map(|(s, f)| cx.val_of(&Loc::Field(s.clone(), f.clone())).units())
            .collect();
        if !units.is_empty() {
            cx.ask_callers(name.clone(), reach.file_local, &units);
        }
    }
    let mut found: Vec<(BTreeSet<UnitId>, Blocker)> = Vec::new();
    let mut functions_naming = NamedStructs::new(&cx.types);
    for (i, (func, call)) in k.calls.iter().enumerate() {
        let src = cx.src(*func);
        let Some(name) = call.callee_name(src).map(String::from_utf8_lossy) else {
            continue;
        };
        let Some(reach) = reaching.get(name.as_ref()) else {
            continue;
        };
        if !k.call_targets[i].is_empty() {
            continue;
        }
        let body = &src[cx.funcs[*func].def.node.byte_range()];
        for m in &reach.members {
            let owner = m
                .from
                .and_then(|p| k.call_args[i].get(p))
                .and_then(|&arg| cx.type_of(*func, arg));
            // The member this use names, when a parameter names it.
            let member = match m.named_by {
                Some(p) => match k.call_args[i].get(p) {
                    Some(&arg) => text(arg, src),
                    None => continue,
                },
                None => m.member.clone(),
            };
            let fields: Vec<(String, String)> = match owner {
                Some(s) => {
                    let f = cx.types.canonical_field(&s, &member);
                    vec![(s, f)]
                }
                None => tracked
                    .named(&member)
                    .iter()
                    .filter(|field| {
                        reach.fields.contains(*field)
                            && functions_naming.names(*func, body, &field.0)
                    })
                    .cloned()
                    .collect(),
            };
            for (s, f) in fields {
                let units = cx.val_of(&Loc::Field(s.clone(), f.clone())).units();
                if units.is_empty() {
                    continue;
                }
                let why = Blocker::ReachedInMacro {
                    field: format!("{s}::{f}"),
                    macro_name: name.to_string(),
                    place: cx.place(*func, call.node),
                };
                found.push((units, why));
            }
        }
    }
    // Uses outside the functions read (`DEFINE_TOY_DROP(toy_drop_page,
    // page)` at file scope, a function the macro defines): what the body
    // does is code no function shows.
    for (file, facts) in cx.files.iter().zip(cx.facts.iter()) {
        let src: &[u8] = &file.parsed.original;
        for (name, reach) in &reaching {
            for (at, args) in facts.macro_uses_outside(src, name).iter() {
                let at = *at;
                for m in &reach.members {
                    let member = match m.named_by {
                        Some(p) => match args.get(p) {
                            Some(arg) => arg.clone(),
                            None => continue,
                        },
                        None => m.member.clone(),
                    };
                    for (s, f) in tracked.named(&member) {
                        if !reach.fields.contains(&(s.clone(), f.clone())) {
                            continue;
                        }
                        let place = format!("{}:{}", file.path, file.parsed.line_of(at));
                        found.extend(reached_in_macro(cx, s, f, name, place));
                    }
                }
            }
        }
    }
    for (units, why) in found {
        for u in units {
            push_unique(&mut cx.units[u].escapes, why.clone());
        }
    }
}

/// A tracked field reached in the arguments of a macro used outside any
/// function (`DEFINE_FREE(toy, struct toy_dev *, put_page(_T->page))`,
/// which defines a function releasing the field): code no function read
/// shows. Each `->f` or `.f` of a tracked member outside the functions,
/// comments, the preprocessor lines (macro bodies, read by
/// `fields_in_macros`) and designators (`.f = ...`) makes the units of the fields so named escape:
/// those of the structs the use names (`struct toy_dev *`), or when it
/// names none, of those the file names.
fn fields_in_file_scope_macro_arguments(
    cx: &FlowContext,
    tracked: &TrackedFields,
) -> Vec<(BTreeSet<UnitId>, Blocker)> {
    let mut found = Vec::new();
    let mut files_naming = NamedStructs::new(&cx.types);
    for (i, (file, facts)) in cx.files.iter().zip(cx.facts.iter()).enumerate() {
        let src: &[u8] = &file.parsed.original;
        for (member, fields) in &tracked.by_member {
            for used in facts.members_in_arguments(src, member).iter() {
                // The structs the use names (`struct toy_dev *`), else
                // those the file names.
                let text = &src[used.open..used.at];
                let in_use: Vec<&(String, String)> = (fields.iter())
                    .filter(|(s, _)| files_naming.names_in(text, s))
                    .collect();
                for (s, f) in fields.iter() {
                    let named = match in_use.is_empty() {
                        false => in_use.contains(&&(s.clone(), f.clone())),
                        true => files_naming.names(i, src, s),
                    };
                    if !named {
                        continue;
                    }
                    let place = format!("{}:{}", file.path, file.parsed.line_of(used.at));
                    found.extend(reached_in_macro(cx, s, f, &used.macro_name, place));
                }
            }
        }
    }
    found
}

/// The units of the field `s::f`, and why they escape, when a macro
/// reaches it at `place`; nothing when the field holds no unit's pages.
fn reached_in_macro(
    cx: &FlowContext,
    s: &str,
    f: &str,
    macro_name: &str,
    place: String,
) -> Option<(BTreeSet<UnitId>, Blocker)> {
    let units = cx.val_of(&Loc::Field(s.to_string(), f.to_string())).units();
    (!units.is_empty()).then(|| {
        let why = Blocker::ReachedInMacro {
            field: format!("{s}::{f}"),
            macro_name: macro_name.to_string(),
            place,
        };
        (units, why)
    })
}

/// The identifiers of a file's definitions of the macro `name`, joined by
/// spaces: what `NamedStructs::names_in` reads.
fn body_words(parsed: &crate::c::Parsed, name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for def in parsed.macro_definitions(name) {
        for token in &def.body {
            if let crate::c::defines::Token::Ident(word) = token {
                out.extend_from_slice(word.as_bytes());
                out.push(b' ');
            }
        }
    }
    out
}

/// What the bodies of one macro's definitions may reach (`fields_in_macros`).
struct MacroReach {
    members: Vec<MemberReach>,
    fields: BTreeSet<(String, String)>,
    file_local: bool,
}

/// The tracked fields by the member names they are spelled with (every
/// member of a union), leaving out the vocabulary's element fields.
struct TrackedFields {
    by_member: HashMap<String, Vec<(String, String)>>,
}

impl TrackedFields {
    fn of(cx: &FlowContext) -> TrackedFields {
        let mut by_member: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for (s, f) in tracked_field_pairs(cx) {
            for spelling in cx.types.spellings(&s, &f) {
                if cx.engine.pack.flow.element_fields.contains(&spelling) {
                    continue;
                }
                by_member
                    .entry(spelling)
                    .or_default()
                    .push((s.clone(), f.clone()));
            }
        }
        TrackedFields { by_member }
    }

    fn is_empty(&self) -> bool {
        self.by_member.is_empty()
    }

    /// Every tracked field, each once, in order.
    fn all(&self) -> Vec<(String, String)> {
        let every: BTreeSet<&(String, String)> = self.by_member.values().flatten().collect();
        every.into_iter().cloned().collect()
    }

    /// The tracked fields a member name may be.
    fn named(&self, member: &str) -> &[(String, String)] {
        self.by_member.get(member).map_or(&[], Vec::as_slice)
    }
}

/// `(struct view *)dev`, `memcpy(&view, dev, n)` or `void *raw = dev;
/// struct view *v = raw;` (a `void *` of the function given the struct's
/// pointer and read back as another's) in a function read,
/// `dev` pointing to a struct with fields holding pages and `view` another
/// struct (neither holding the other, as a struct and its first member
/// do): the fields may be reached as `view`'s (`put_page(v->first)`),
/// which are other locations, so the units of the struct's tracked fields
/// escape.
///
/// An `offsetof()` of a tracked field that may reach it (added to a
/// pointer, passed on, stored: `c::offsets`), in a function body, a
/// file-scope initialiser or a macro body of a file read, lets code reach
/// the pages without naming the field (`put_page(*(struct page **)((char
/// *)obj + off))`): the field's units escape too. An offset only compared
/// or subtracted from a size (`PAGE_SIZE - offsetof(...)`) does not.
fn fields_reached_aside(cx: &mut FlowContext) {
    let mut tracked_by_struct: HashMap<String, Vec<Loc>> = HashMap::new();
    for (s, f) in tracked_field_pairs(cx) {
        tracked_by_struct
            .entry(s.clone())
            .or_default()
            .push(Loc::Field(s, f));
    }
    if tracked_by_struct.is_empty() {
        return;
    }
    let mut found: Vec<(Vec<Loc>, Blocker)> = Vec::new();
    let mut punned =
        |cx: &FlowContext, func: FuncId, n: tree_sitter::Node, from: &str, to: &str| {
            let (from, to) = (cx.types.resolve(from), cx.types.resolve(to));
            let Some(locs) = tracked_by_struct.get(&from) else {
                return;
            };
            if from == to
                || cx.types.holders(&from).contains(&to)
                || cx.types.holders(&to).contains(&from)
            {
                return;
            }
            let why = Blocker::StructPunned {
                from: from.clone(),
                to,
                place: cx.place(func, n),
            };
            found.push((locs.clone(), why));
        };
    let mut offsets: Vec<(Loc, Blocker)> = Vec::new();
    for (file, facts) in cx.files.iter().zip(cx.facts.iter()) {
        for offset in &facts.field_offsets {
            let strukt = cx.types.resolve(&offset.strukt);
            let field = cx.types.canonical_field(&strukt, &offset.member);
            let loc = Loc::Field(strukt.clone(), field);
            if cx.tracked(&loc) {
                let why = Blocker::FieldOffsetTaken {
                    field: format!("{strukt}::{}", offset.member),
                    place: format!("{}:{}", file.path, file.parsed.line_of(offset.at)),
                };
                offsets.push((loc, why));
            }
        }
    }
    for (func, f) in cx.funcs.iter_enumerated() {
        let src = cx.src(func);
        // The struct pointers a `void *` of the function is given, and what
        // is given a `void *`'s value: `void *raw = dev; struct view *v =
        // raw;` reads `dev`'s struct as `view`.
        let mut given: Vec<(String, String)> = Vec::new();
        let mut read_back: Vec<(String, String, tree_sitter::Node)> = Vec::new();
        for &n in &f.constraints.struct_views {
            if let Some((name, value)) = assigned_name(n, src) {
                let value = strip(value);
                if f.void_pointers.contains(&name) {
                    if let Some(from) = cx.type_of(func, value) {
                        given.push((name, from));
                    }
                } else if let (Some(to), "identifier") = (f.types.get(&name), value.kind_str()) {
                    let raw = text(value, src);
                    if f.void_pointers.contains(&raw) {
                        read_back.push((raw, to.clone(), n));
                    }
                }
                continue;
            }
            if let Some(call) = Call::new(n) {
                let copies =
                    (call.callee_name(src)).is_some_and(|c| c == b"memcpy" || c == b"memmove");
                if let (true, [dst, from, ..]) = (copies, call.args().as_slice()) {
                    let types = (cx.type_of(func, *dst), cx.type_of(func, *from));
                    if let (Some(to), Some(from)) = types {
                        punned(cx, func, n, &from, &to);
                    }
                }
                continue;
            }
            if n.kind_str() != "cast_expression" {
                continue;
            }
            let (Some(ty), Some(value)) = (n.field("type"), n.field("value")) else {
                continue;
            };
            let to_pointer = ty
                .field("declarator")
                .is_some_and(|d| d.kind_str() == "abstract_pointer_declarator");
            let Some(to) = (ty.field("type"))
                .filter(|t| {
                    t.kind_str() == "struct_specifier"
                        || cx.types.is_defined(&cx.types.resolve(&text(*t, src)))
                })
                .and_then(|t| crate::engine::types::type_name(t, src))
            else {
                continue;
            };
            if !to_pointer {
                continue;
            }
            if let Some(from) = cx.type_of(func, value) {
                punned(cx, func, n, &from, &to);
            }
        }
        for (raw, to, n) in &read_back {
            for (_, from) in given.iter().filter(|(name, _)| name == raw) {
                punned(cx, func, *n, from, to);
            }
        }
    }
    let found = (offsets.into_iter())
        .map(|(loc, why)| (vec![loc], why))
        .chain(found);
    for (locs, why) in found {
        for loc in locs {
            for u in cx.val_of(&loc).units() {
                push_unique(&mut cx.units[u].escapes, why.clone());
            }
        }
    }
}

/// Whether `text` names the struct `tag` or one of its typedef names, as a
/// whole word.
fn name_in(types: &TypeIndex, text: &[u8], tag: &str) -> bool {
    std::iter::once(tag.to_string())
        .chain(types.typedef_names(tag))
        .any(|name| objects::mentions_word(text, name.as_bytes()))
}

/// The variable a node gives a value to, and the value: `name = value`
/// (an assignment) or `type name = value` (a declaration), the name plain.
fn assigned_name<'t>(
    n: tree_sitter::Node<'t>,
    src: &[u8],
) -> Option<(String, tree_sitter::Node<'t>)> {
    let (target, value) = match n.kind_str() {
        "init_declarator" => (
            declarator_identifier(n.field("declarator")?)?,
            n.field("value")?,
        ),
        "assignment_expression" if n.field("operator").is_some_and(|o| o.kind_str() == "=") => {
            let left = n.field("left")?;
            (left.kind_str() == "identifier").then_some(left)?;
            (left, n.field("right")?)
        }
        _ => return None,
    };
    Some((text(target, src), value))
}

/// Whether a text names a struct, remembered for one pass by text (a file
/// or a function, `K`) and struct: a header's macros and a function's field
/// reads ask about the same struct many times.
struct NamedStructs<'i, K> {
    types: &'i TypeIndex,
    seen: HashMap<K, HashMap<String, bool>>,
}

impl<'i, K: std::hash::Hash + Eq> NamedStructs<'i, K> {
    fn new(types: &'i TypeIndex) -> NamedStructs<'i, K> {
        NamedStructs {
            types,
            seen: HashMap::new(),
        }
    }

    /// Whether a text not remembered names the struct (as `names`).
    fn names_in(&self, text: &[u8], strukt: &str) -> bool {
        name_in(self.types, text, strukt.split('.').next().unwrap_or(strukt))
    }

    /// Whether `text`, the text `key` stands for, names the struct: its
    /// tag (the outer struct's, for an anonymous struct nested in it:
    /// `outer.inner`) or one of its typedef names, as a whole word.
    fn names(&mut self, key: K, text: &[u8], strukt: &str) -> bool {
        let tag = strukt.split('.').next().unwrap_or(strukt);
        let known = self.seen.entry(key).or_default();
        if let Some(&named) = known.get(tag) {
            return named;
        }
        let named = name_in(self.types, text, tag);
        known.insert(tag.to_string(), named);
        named
    }
}

/// A tracked field named through an expression whose struct the analysis
/// cannot tell (`TOY_RING(dev)->pages[i]`, the base a macro's result): it
/// may be the field of any struct with a field so named that the function
/// names (as any code reaching a field does), and a release of what it
/// holds would be tied to nothing. Those fields' units escape. Only the
/// calls, assignments and returns that mention a tracked field are looked
/// at.
fn untyped_field_reads(cx: &mut FlowContext, k: &Constraints, tracked: &TrackedFields) {
    let mut roots: Vec<(FuncId, tree_sitter::Node)> = Vec::new();
    for (i, (func, _)) in k.calls.iter().enumerate() {
        if k.call_mentions[i].hot(*func, &cx.hot) {
            roots.extend(k.call_args[i].iter().map(|&arg| (*func, arg)));
        }
    }
    for (i, (func, asg)) in k.assignments.iter().enumerate() {
        if k.assignment_mentions[i].hot(*func, &cx.hot) {
            roots.push((*func, asg.lhs));
            roots.push((*func, asg.rhs));
        }
    }
    for (i, &(func, e)) in k.returns.iter().enumerate() {
        if k.return_mentions[i].hot(func, &cx.hot) {
            roots.push((func, e));
        }
    }
    let mut found: Vec<((String, String), Blocker)> = Vec::new();
    let mut functions_naming = NamedStructs::new(&cx.types);
    for (func, root) in roots {
        let src = cx.src(func);
        let body = &src[cx.funcs[func].def.node.byte_range()];
        crate::c::syntax::preorder(root, |n| {
            if n.kind_str() != "field_expression" {
                return true;
            }
            let (Some(base), Some(field)) = (n.field("argument"), n.field("field")) else {
                return true;
            };
            let name = String::from_utf8_lossy(&src[field.byte_range()]);
            let named = tracked.named(&name);
            let naming: Vec<bool> = named
                .iter()
                .map(|(s, _)| functions_naming.names(func, body, s))
                .collect();
            if naming.contains(&true) && cx.type_of(func, base).is_none() {
                let why = Blocker::UntypedFieldRead {
                    expression: text(n, src),
                    place: cx.place(func, n),
                };
                let fields = named.iter().zip(&naming).filter(|(_, &named)| named);
                found.extend(fields.map(|(field, _)| (field.clone(), why.clone())));
            }
            true
        });
    }
    for ((s, f), why) in found {
        for u in cx.val_of(&Loc::Field(s, f)).units() {
            push_unique(&mut cx.units[u].escapes, why.clone());
        }
    }
}

/// `sg_set_page(container, page, ...)` (or a container filled from a whole
/// array): other pages into a unit's container block it; the store is
/// evidence.
fn element_store<'t>(
    cx: &mut FlowContext<'_, 't>,
    func: FuncId,
    call: &Call<'t>,
    callee: &str,
    store: ElementStore,
    mixed: &mut Vec<MixedStore<'t>>,
) {
    let src = cx.src(func);
    let args = call.args();
    let (Some(&container), Some(&value)) = (args.get(store.container), args.get(store.value))
    else {
        return;
    };
    let b = cx.eval(func, container, 0);
    let stored = stored_units(cx, func, value, store);
    if !stored.is_empty() && element_home(cx, func, container).is_none() {
        let why = Blocker::StoredUnfollowed {
            target: text(container, src),
            place: cx.place(func, call.node),
        };
        for &u in &stored {
            push_unique(&mut cx.units[u].escapes, why.clone());
        }
    }
    if !b.arrays.is_empty() && stored.is_empty() && !cx.holds_no_page(func, value) {
        let why = Blocker::ElementSet {
            container: text(container, src),
            value: text(value, src),
            place: cx.place(func, call.node),
        };
        mixed.push(MixedStore {
            at: (func, call.node),
            storage: element_home(cx, func, container).map(|(l, _)| l),
            object: None,
            why,
            units: b.arrays,
        });
    }
    let place = cx.place_at(func, call.node);
    for u in stored {
        cx.units[u].note_evidence(format!("{callee}()"), place.clone());
    }
}

/// An argument of a followed call: the callee's parameter must only receive
/// acquired pages when it holds them, and the callee's callers are needed.
fn followed_argument(
    cx: &mut FlowContext,
    func: FuncId,
    call: &Call,
    targets: &[FuncId],
    position: usize,
    arg: tree_sitter::Node,
    v: &Val,
) {
    let src = cx.src(func);
    for &g in targets {
        let Some(param) = cx.funcs[g].params.get(position).cloned() else {
            continue;
        };
        let ploc = Loc::Var(g, param);
        if !cx.tracked(&ploc) {
            continue;
        }
        let (gname, file_local) = (cx.funcs[g].name.clone(), cx.funcs[g].file_local);
        // The parameter's value is settled: its callers are asked for once,
        // however many calls reach it.
        if cx.callers_asked.insert(ploc.clone()) {
            let units = cx.val_of(&ploc).units();
            cx.ask_callers(gname.clone(), file_local, &units);
        }
        if v.is_empty() && !cx.holds_no_page(func, arg) {
            // The callee as the call writes it: a macro that forwards to
            // `g` is named, not `g`.
            let written = call
                .callee_name(src)
                .map(|c| String::from_utf8_lossy(c).into_owned());
            let origin = Origin::Argument {
                value: text(arg, src),
                callee: written.unwrap_or(gname),
                caller: cx.funcs[func].name.clone(),
                place: cx.place(func, call.node),
            };
            let info = cx.locs.get_mut(&ploc).expect("tracked");
            info.others.add(origin);
        }
    }
}

/// A call through a function pointer whose struct is not known yet: read
/// the definition of the struct on the way.
fn unknown_struct_of_pointer(
    cx: &mut FlowContext,
    func: FuncId,
    call: &Call,
    units: &BTreeSet<UnitId>,
) {
    let base = call.callee().and_then(|c| strip(c).field("argument"));
    if let Some((s, f)) = base.and_then(|b| cx.missing_field_type(func, b)) {
        cx.need(Need::Field(s.clone(), f.clone()), units);
        cx.needs.fields.insert((s, f));
    }
}

/// A call through a function pointer field: read the ops tables that fill
/// it, the other calls through it, and the functions the tables name.
fn ops_slot(cx: &mut FlowContext, s: &str, f: &str, units: &BTreeSet<UnitId>) {
    let named: Vec<String> = cx
        .ops
        .get(&(s.to_string(), f.to_string()))
        .map(|v| v.iter().map(|(_, n)| n.clone()).collect())
        .unwrap_or_default();
    for name in named {
        cx.ask_definition(name, units);
    }
    cx.need(Need::Field(s.to_string(), f.to_string()), units);
    let file_local = cx.types.is_file_local(s);
    cx.needs.add_field(s.to_string(), f.to_string(), file_local);
}

/// Pages passed to a named function the analysis does not follow: the
/// vocabulary tells evidence, extra references and releases; anything else
/// is an escape (unless only the pages' identity is passed, or `c` is a
/// macro that only reads its argument number `position`), and its
/// definition a need. A call listed both as a release and as an array use
/// (`free_page()`) given only the array frees the array, not its pages.
#[allow(clippy::too_many_arguments)]
fn named_call(
    cx: &mut FlowContext,
    func: FuncId,
    call: &Call,
    c: &str,
    position: usize,
    v: &Val,
    in_release: bool,
    identity: bool,
) {
    let flow = &cx.engine.pack.flow;
    let units = &v.units();
    let passes_pages = !v.pages.is_empty();
    let at = cx.place_at(func, call.node);
    let place = at.to_string();
    let resolved = cx.resolve(func, c);
    let (macro_use, helper_use) = undefined_use(cx, &resolved, c, position, v.arrays.is_empty());
    let handed = cx.funcs[func].constraints.handed.is_handed(call.node);
    let known_use = flow.is_use(c)
        || flow.is_element_call(c)
        || cx.engine.acquire_names().iter().any(|a| a == c)
        || macro_use == Some(IdentityUse::Read)
        || helper_use == Some(IdentityUse::Read);
    for &u in units {
        let unit = &mut cx.units[u];
        if flow.evidence_dma.contains(c) || flow.evidence_write.contains(c) {
            unit.note_evidence(format!("{c}()"), at.clone());
        }
        if flow.data_access.contains(c) {
            unit.note_data_access(format!("{c}()"), at.clone());
        }
        if flow.metadata_only.contains(c) {
            unit.metadata.insert(format!("{c}()"));
        }
        if in_release {
            // Part of a release the rules convert (a dirtying loop).
            continue;
        }
        let (call, place) = (c.to_string(), place.clone());
        if flow.extra_references.contains(c) {
            // A reference taken for the store next to it is that store's.
            if handed {
                continue;
            }
            push_unique(&mut unit.blockers, Blocker::ExtraReference { call, place });
        } else if flow.releases.contains(c) && (passes_pages || !flow.array_uses.contains(c)) {
            push_unique(
                &mut unit.blockers,
                Blocker::UnconvertedRelease { call, place },
            );
        } else if !known_use && !identity {
            let why = match resolved {
                Err(Unresolved::Ambiguous) => Blocker::PassedToAmbiguous { call, place },
                _ => Blocker::PassedTo { call, place },
            };
            push_unique(&mut unit.escapes, why);
        }
    }
    if !known_use && !in_release && resolved == Err(Unresolved::Undefined) {
        // A macro that forwards to a function not read yet: that function's
        // definition.
        let end = cx.forward_end(c);
        let wanted = if end != c {
            !cx.engine.is_vocabulary(&end) && !cx.by_name.contains_key(&end)
        } else {
            !is_macro_name(c) && macro_use.is_none()
        };
        if wanted {
            cx.ask_definition(end, units);
        }
    }
}

/// What a function the tree does not define does with its argument
/// number `position`, when its definition is a macro, or (for a page, not
/// an array) a shared header's `static inline` helper that only reads it.
pub(super) fn undefined_use(
    cx: &FlowContext,
    resolved: &Result<Definitions, Unresolved>,
    c: &str,
    position: usize,
    page: bool,
) -> (Option<IdentityUse>, Option<IdentityUse>) {
    let macro_use = match resolved {
        Err(Unresolved::Undefined) => cx.macro_use(c, position),
        _ => None,
    };
    let helper_use = match (resolved, macro_use) {
        (Err(Unresolved::Undefined), None) if page => {
            cx.shared_helper_use(c, position, &mut HashSet::new())
        }
        _ => None,
    };
    (macro_use, helper_use)
}

/// A followed function whose address is taken has callers nobody can list.
fn address_taken(cx: &mut FlowContext, scanned: &Needs) {
    let followed: Vec<FuncId> = cx
        .funcs
        .ids()
        .filter(|&g| cx.has_tracked_param(g) || cx.tracked(&Loc::Ret(g)))
        .collect();
    let followed_names: BTreeSet<&str> = followed
        .iter()
        .map(|&g| cx.funcs[g].name.as_str())
        .collect();
    // The first reference to each name, in function and node order.
    let mut taken_at: HashMap<String, String> = HashMap::new();
    for g in cx.funcs.ids() {
        if taken_at.len() == followed_names.len() {
            break;
        }
        let references = &cx.funcs[g].constraints.references;
        for &name in &followed_names {
            if taken_at.contains_key(name) {
                continue;
            }
            if let Some(&n) = references.get(name) {
                taken_at.insert(name.to_string(), cx.place(g, n));
            }
        }
    }
    for g in followed {
        let name = cx.funcs[g].name.clone();
        let taken = taken_at
            .get(&name)
            .cloned()
            .or_else(|| cx.address_taken_at_file_scope(&name, scanned));
        let Some(place) = taken else { continue };
        for prm in cx.funcs[g].params.clone() {
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
            unit.note_evidence("FOLL_LONGTERM".into(), at);
        }
    }
}
