//! Stores after the fixpoint: another value stored where a unit's pages
//! are (a location made mixed, `Info::others`), pages stored where the
//! analysis cannot follow them, initialisers that fill tracked fields, and
//! the releases of mixed storage that no flag or branch tells apart
//! (`block_mixed_storage`).

use super::*;

/// An assignment: another value into a tracked location, pages into a
/// field (a need) or somewhere the analysis cannot follow, another value
/// into an element of a unit's array.
pub(super) fn store<'t>(
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
                cx.units[u].note_evidence(Evidence::ContainerElement, at);
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
pub(super) fn store_into<'t>(
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
            cx.units[u].note_evidence(Evidence::StoredIn(format!("{s}::{f}")), at);
        }
    }
}

/// Another value (`value`, which holds none of the units' pages) stored
/// into a tracked location: its releases may see it. What a function not
/// read yet returns may be no page (entries it has just cleared): its
/// definition is read and the value waits on it, as it does when
/// `pending` says something else is being read for it.
pub(super) fn add_other_value(
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
pub(super) struct MixedStore<'t> {
    /// The store: its function and its assignment or call.
    pub(super) at: (FuncId, tree_sitter::Node<'t>),
    /// The storage's location, when the analysis can name it.
    pub(super) storage: Option<Loc>,
    /// The pointer to the object whose field the storage is, when the
    /// store goes through one (`d` of `d->pfns[i] = ...`).
    pub(super) object: Option<(FuncId, tree_sitter::Node<'t>)>,
    pub(super) why: Blocker,
    pub(super) units: BTreeSet<UnitId>,
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
pub(super) fn block_mixed_storage<'t>(
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
pub(super) fn separate<'t>(
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
pub(super) fn separate_by_branch<'t>(
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
pub(super) fn tracked_field_pairs(cx: &FlowContext) -> Vec<(String, String)> {
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
pub(super) fn tracked_fields(cx: &mut FlowContext) {
    for (s, f) in tracked_field_pairs(cx) {
        let v = cx.val_of(&Loc::Field(s.clone(), f.clone()));
        need_field(cx, &s, &f, &v.units());
    }
}

/// The readers and writers of a field that holds pages are needed, under
/// every name its storage has (the members of a union).
pub(super) fn need_field(cx: &mut FlowContext, s: &str, f: &str, units: &BTreeSet<UnitId>) {
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
pub(super) fn initialised_structs(cx: &mut FlowContext) {
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
pub(super) fn initialiser_stores<'t>(
    cx: &FlowContext<'_, 't>,
    g: FuncId,
    n: tree_sitter::Node<'t>,
    strukt: Option<String>,
    tracked: &[(String, String)],
    out: &mut Vec<(FuncId, Loc, tree_sitter::Node<'t>, String)>,
) {
    let src = cx.src(g);
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
                .and_then(|d| cx.var_types(g).get(&text(d, src)).cloned());
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
pub(super) fn slot_only_by_address<'t>(
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
