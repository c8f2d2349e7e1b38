//! Calls after the fixpoint: pages or their identities passed to a call
//! the analysis does not follow (`check_call`), container stores from the
//! vocabulary (`element_store`), loops of iterator macros it does not know
//! (`unknown_walks`), and what a call of a name no function read defines
//! may do with them (`named_call`, `undefined_use`).

use super::*;

/// A call that passes or may receive tracked values.
pub(super) fn check_call<'t>(
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
pub(super) fn unknown_walks(cx: &mut FlowContext) {
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

/// `sg_set_page(container, page, ...)` (or a container filled from a whole
/// array): other pages into a unit's container block it; the store is
/// evidence.
pub(super) fn element_store<'t>(
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
    let home = match stored.is_empty() && b.arrays.is_empty() {
        true => None,
        false => element_home(cx, func, container),
    };
    if !stored.is_empty() && home.is_none() {
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
            storage: home.as_ref().map(|(l, _)| l.clone()),
            object: None,
            why,
            units: b.arrays,
        });
    }
    let place = cx.place_at(func, call.node);
    // A container that is a struct's field (`&umem->sgt`) keeps the pages
    // as a store into the field would.
    let kept_in = match &home {
        Some((Loc::Field(s, f), _)) => Some(Evidence::StoredIn(format!("{s}::{f}"))),
        _ => None,
    };
    for u in stored {
        cx.units[u].note_evidence(Evidence::Call(callee.to_string()), place.clone());
        if let Some(kept_in) = &kept_in {
            cx.units[u].note_evidence(kept_in.clone(), place.clone());
        }
    }
}

/// An argument of a followed call: the callee's parameter must only receive
/// acquired pages when it holds them, and the callee's callers are needed.
pub(super) fn followed_argument(
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
pub(super) fn unknown_struct_of_pointer(
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
pub(super) fn ops_slot(cx: &mut FlowContext, s: &str, f: &str, units: &BTreeSet<UnitId>) {
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
pub(super) fn named_call(
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
            unit.note_evidence(Evidence::Call(c.to_string()), at.clone());
        }
        if flow.data_access.contains(c) {
            unit.note_data_access(c.to_string(), at.clone());
        }
        if flow.metadata_only.contains(c) {
            unit.metadata.insert(c.to_string());
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
pub(crate) fn undefined_use(
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
            cx.shared_helper_use(c, position, &mut HashSet::default())
        }
        _ => None,
    };
    (macro_use, helper_use)
}
