//! The last phase: each unit's `Decision` (the blockers, the acquire policy
//! of Documentation/core-api/pin_user_pages.rst, the target's rewrites), its
//! class and plans, the loop-index declarations converted loops leave
//! unused, and every site with its unit and reason.

use super::dataflow::{declarator_of, declarator_removal_range, one_line, NameUses};
use super::flow::ids::{FileId, FuncId, UnitId};
use super::flow::{push_unique, FlowContext, Info, Loc};
use super::flow::{AcquireSite, MatchSite, ReleaseSite, UnitState};
use super::reason::{Blocker, Decision, Evidence, PinCase};
use super::{AcquirePolicy, Class, FileFindings, Plan, Site, SiteKind, Unit};
use crate::c::NodeExt;
use crate::engine::hash::{HashMap, HashSet};
use crate::rule::{AcquireFamily, ReleaseFamily, Target};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// Decides every unit (in representative order), plans the removal of dead
/// loop indices, and records the sites in `out_files`.
pub(crate) fn decide_all(
    cx: &FlowContext,
    representatives: &[UnitId],
    acquire_sites: Vec<AcquireSite>,
    release_sites: Vec<ReleaseSite>,
    rewrite_sites: Vec<MatchSite>,
    out_files: &mut [FileFindings],
) -> Vec<Unit> {
    let limits: Vec<Blocker> = cx
        .limits
        .borrow()
        .iter()
        .filter(|l| l.blocks_units())
        .map(|&l| Blocker::LimitReached(l))
        .collect();
    let vars = VarsByFunction::of(cx);
    let notifiers = NotifierRegistrations::default();
    let mut unit_index: HashMap<UnitId, usize> = HashMap::default();
    let mut units: Vec<Unit> = Vec::new();
    for u in cx.units.ids() {
        if representatives[u.index()] != u {
            continue;
        }
        unit_index.insert(u, units.len());
        units.push(decide(cx, &vars, &notifiers, u, representatives, &limits));
    }
    remove_dead_indices(cx, &mut units);
    let index_of = |u: UnitId| unit_index[&representatives[u.index()]];
    // The names each unit's flow depends on, for the pipeline to hold
    // against the files and functions it could not analyse.
    for (need, waiting) in &cx.need_units {
        for &u in waiting {
            units[index_of(u)].depends.push(need.clone());
        }
    }
    for unit in &mut units {
        unit.depends.sort();
        unit.depends.dedup();
    }
    for a in acquire_sites {
        let index = a.unit.map(index_of);
        let (class, unit_reason) = match index {
            Some(i) => (
                units[i].class,
                (!units[i].is_converted()).then(|| units[i].decision.reasons()),
            ),
            None => (Class::Manual, None),
        };
        let site = site(
            cx,
            SiteKind::Acquire,
            a.func,
            a.node,
            &a.matched,
            index,
            class,
        );
        let reason = a.reason.map(|r| vec![r]).or(unit_reason);
        push_site(cx, out_files, a.func, Site { reason, ..site });
    }
    for r in release_sites {
        let i = index_of(r.unit);
        let unit = &units[i];
        let site = site(
            cx,
            SiteKind::Release,
            r.func,
            r.node,
            &r.matched,
            Some(i),
            unit.class,
        );
        let reason = r
            .mixed
            .map(|m| vec![m])
            .or_else(|| (!unit.is_converted()).then(|| unit.decision.reasons()));
        push_site(cx, out_files, r.func, Site { reason, ..site });
    }
    plain_rewrites(cx, rewrite_sites, &mut units, out_files);
    for f in out_files.iter_mut() {
        f.sites.sort_by_key(|s| (s.start, s.kind));
        f.skipped
            .sort_by(|a, b| (a.line, &a.function).cmp(&(b.line, &b.function)));
    }
    units
}

/// Plain rewrites (`kind = "rewrite"`): each match is a unit of its own,
/// converted when the rule has a template for the target.
fn plain_rewrites(
    cx: &FlowContext,
    rewrites: Vec<MatchSite>,
    units: &mut Vec<Unit>,
    out_files: &mut [FileFindings],
) {
    for MatchSite {
        func,
        node,
        matched,
    } in rewrites
    {
        let rule = &cx.engine.pack.rules[matched.rule];
        let file = cx.funcs[func].file;
        let decision = if rule.rewrite.contains_key(&cx.engine.target) {
            Decision::Convert
        } else {
            Decision::Manual(vec![Blocker::NoTemplate {
                rule: rule.id.clone(),
            }])
        };
        let site = site(
            cx,
            SiteKind::Rewrite,
            func,
            node,
            &matched,
            Some(units.len()),
            Class::Easy,
        );
        let reason = (decision != Decision::Convert).then(|| decision.reasons());
        push_site(cx, out_files, func, Site { reason, ..site });
        units.push(Unit {
            file: cx.file(file).path.to_string(),
            function: cx.funcs[func].name.clone(),
            line: cx.line(func, node),
            pages: String::new(),
            decision,
            class: Class::Easy,
            rules: vec![rule.id.clone()],
            mismatches: Vec::new(),
            evidence: Vec::new(),
            evidence_at: BTreeMap::new(),
            releases: Vec::new(),
            plans: vec![(file.index(), Plan::Replace { matched })],
            depends: Vec::new(),
            case: None,
            told_apart: Vec::new(),
        });
    }
}

/// A site without its reason.
fn site(
    cx: &FlowContext,
    kind: SiteKind,
    func: FuncId,
    node: tree_sitter::Node,
    matched: &super::Match,
    unit: Option<usize>,
    class: Class,
) -> Site {
    let src = cx.src(func);
    // A sequence match starts at `node` and spans the statements after it.
    Site {
        kind,
        line: cx.line(func, node),
        function: cx.funcs[func].name.clone(),
        call: one_line(&src[matched.start..matched.end]),
        rule: cx.engine.pack.rules[matched.rule].id.clone(),
        unit,
        rewrite: None,
        reason: None,
        class,
        start: matched.start,
        end: matched.end,
    }
}

fn push_site(cx: &FlowContext, out_files: &mut [FileFindings], func: FuncId, site: Site) {
    out_files[cx.funcs[func].file.index()].sites.push(site);
}

/// Removes repeated items, keeping the first of each.
fn dedup(v: &[Blocker]) -> Vec<Blocker> {
    let mut out: Vec<Blocker> = Vec::new();
    for x in v {
        if !out.contains(x) {
            out.push(x.clone());
        }
    }
    out
}

/// The locals and parameters that hold something, per function, so that a
/// unit's decision looks at its own function's only; and, built when a
/// decision first asks, where each identifier of a function's body occurs,
/// so that the units of one long function do not each walk its body.
struct VarsByFunction<'c> {
    vars: HashMap<FuncId, Vec<(&'c str, &'c Info)>>,
    places: RefCell<HashMap<FuncId, Rc<IdentifierPlaces>>>,
    /// Per function, read on first use: the locals (not of a declared
    /// type) holding each unit's pages, by the unit's representative.
    holders: RefCell<HashMap<FuncId, Rc<HoldersByUnit<'c>>>>,
}

/// The locals of one function holding each unit's pages, by the unit's
/// representative.
type HoldersByUnit<'c> = HashMap<UnitId, Vec<&'c str>>;

/// The offsets of the identifiers of one function body, by name, in order.
type IdentifierPlaces = HashMap<String, Vec<usize>>;

impl<'c> VarsByFunction<'c> {
    fn of(cx: &'c FlowContext) -> VarsByFunction<'c> {
        let mut vars: HashMap<FuncId, Vec<(&str, &Info)>> = HashMap::default();
        for (loc, info) in &cx.locs {
            if let Loc::Var(g, name) = loc {
                vars.entry(*g).or_default().push((name.as_str(), info));
            }
        }
        VarsByFunction {
            vars,
            places: RefCell::new(HashMap::default()),
            holders: RefCell::new(HashMap::default()),
        }
    }

    /// The names of `func` with no declared type that hold the pages of
    /// the unit `u` represents.
    fn holders_of(
        &self,
        cx: &FlowContext,
        func: FuncId,
        u: UnitId,
        representatives: &[UnitId],
    ) -> Vec<&'c str> {
        let mut all = self.holders.borrow_mut();
        let by_unit = all.entry(func).or_insert_with(|| {
            let mut by_unit: HashMap<UnitId, Vec<&'c str>> = HashMap::default();
            let identity_types = &cx.engine.pack.flow.identity_types;
            for &(name, info) in self.of_function(func) {
                // A variable of a struct type points at the pages or at
                // what holds them; one of an integer typedef (`u64`,
                // `phys_addr_t`) holds an identity, as a plain integer does.
                if cx
                    .var_types(func)
                    .get(name)
                    .is_some_and(|t| !identity_types.contains(t))
                {
                    continue;
                }
                let mut seen: Vec<UnitId> = info
                    .pages
                    .iter()
                    .map(|&p| representatives[p.index()])
                    .collect();
                seen.sort_unstable();
                seen.dedup();
                for r in seen {
                    by_unit.entry(r).or_default().push(name);
                }
            }
            Rc::new(by_unit)
        });
        by_unit.get(&u).cloned().unwrap_or_default()
    }

    fn of_function(&self, func: FuncId) -> &[(&'c str, &'c Info)] {
        self.vars.get(&func).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Where each identifier of `func`'s body occurs.
    fn identifier_places(&self, cx: &FlowContext, func: FuncId) -> Rc<IdentifierPlaces> {
        let mut places = self.places.borrow_mut();
        let entry = places.entry(func).or_insert_with(|| {
            let src = cx.src(func);
            let mut by_name = IdentifierPlaces::default();
            for n in cx.funcs[func].nodes.iter() {
                if n.kind_str() == "identifier" {
                    let name = String::from_utf8_lossy(&src[n.byte_range()]).into_owned();
                    by_name.entry(name).or_default().push(n.start_byte());
                }
            }
            Rc::new(by_name)
        });
        Rc::clone(entry)
    }
}

/// Whether a reason is about how the pages would be pinned, not about
/// where they go: it stands in the way of a conversion, not of keeping
/// the reference.
fn is_about_pin_form(reason: &Blocker) -> bool {
    matches!(
        reason,
        Blocker::RuleManual { .. } | Blocker::MissingApi { .. } | Blocker::NoUnpinRewrite { .. }
    )
}

/// Orders reasons so that those not looked into further
/// (`Blocker::Unsettled`) come after those that were, each kept in order.
fn settled_first(reasons: &mut [Blocker]) {
    reasons.sort_by_key(|b| matches!(b, Blocker::Unsettled(_)));
}

/// The rules (by id, in release order) of the unit's releases of a
/// reference (`put_page()` and the like, not unpins) that have no rewrite
/// for `target`: converting the unit would leave those releases as they
/// are beside the others' new forms.
fn releases_without(engine: &super::Engine, s: &UnitState, target: Target) -> Vec<String> {
    let mut rules = Vec::new();
    for (_, m) in &s.releases {
        let rule = &engine.pack.rules[m.rule];
        let put = rule.release.as_ref().map(|r| r.family) == Some(ReleaseFamily::Put);
        if put && !rule.rewrite.contains_key(&target) {
            push_unique(&mut rules, rule.id.clone());
        }
    }
    rules
}

/// The decision for one unit.
fn decide(
    cx: &FlowContext,
    vars: &VarsByFunction,
    notifiers: &NotifierRegistrations,
    u: UnitId,
    representatives: &[UnitId],
    limits: &[Blocker],
) -> Unit {
    let s = &cx.units[u];
    let engine = cx.engine;
    let escapes = dedup(&s.escapes);
    let mut blockers = dedup(&s.blockers);
    blockers.extend(limits.iter().cloned());
    let mut reasons: Vec<Blocker> = blockers.clone();
    if s.releases.is_empty() {
        reasons.push(Blocker::NoRelease);
    }
    settled_first(&mut reasons);
    let evidence: Vec<Evidence> = s.evidence.keys().cloned().collect();
    let decision = match (engine.target, s.family) {
        (_, AcquireFamily::Pin) => Decision::AlreadyPinned { also: reasons },
        (Target::Unpin, _) => {
            reasons.extend(escapes.iter().cloned());
            for (_, m) in &s.acquires {
                let rule = &engine.pack.rules[m.rule];
                let manual = rule
                    .acquire
                    .as_ref()
                    .expect("acquire")
                    .manual
                    .contains_key(&Target::Unpin);
                if !rule.rewrite.contains_key(&Target::Unpin) && !manual {
                    reasons.push(Blocker::NoUnpinRewrite {
                        rule: rule.id.clone(),
                    });
                }
            }
            // A release of a reference with no unpin form would stay
            // beside the others' unpins.
            for rule in releases_without(engine, s, Target::Unpin) {
                push_unique(&mut reasons, Blocker::NoUnpinRewrite { rule });
            }
            settled_first(&mut reasons);
            // A reason about the pin form alone (no template, no pin
            // helper, an API the tree lacks) gives way to a flow followed
            // to its end that shows why its reference is enough: a lookup,
            // a brief access to another process, an MMU notifier.
            let (form, analysis): (Vec<Blocker>, Vec<Blocker>) =
                reasons.iter().cloned().partition(is_about_pin_form);
            if !analysis.is_empty() {
                Decision::Manual(reasons)
            } else if let Some(why) = lookup_only(cx, vars, s, u, representatives) {
                Decision::Keep(why)
            } else if let Some(why) = brief_remote_access(cx, s) {
                Decision::Keep(why)
            } else if let Some(why) = (!dma_or_write(cx, s))
                .then(|| notifiers.of_file(cx, s.file))
                .flatten()
                .filter(|_| engine.policy == AcquirePolicy::Evidence)
            {
                Decision::Keep(why)
            } else if !form.is_empty() {
                // No evidence is not enough to keep them here: the rule
                // asks a human to choose the pin form.
                Decision::Manual(form)
            } else if evidence.is_empty() && engine.policy == AcquirePolicy::Evidence {
                policy(s)
            } else {
                Decision::Convert
            }
        }
        (Target::PutUserPage, _) => {
            // The 2018 plan rewrites the releases alone: each must have a
            // form for it.
            for rule in releases_without(engine, s, Target::PutUserPage) {
                push_unique(&mut reasons, Blocker::NoTemplate { rule });
            }
            match reasons.is_empty() {
                true => Decision::Convert,
                false => Decision::Manual(reasons),
            }
        }
    };
    let mut plans = Vec::new();
    if decision == Decision::Convert {
        for (func, m) in s.acquires.iter().chain(&s.releases) {
            if engine.pack.rules[m.rule]
                .rewrite
                .contains_key(&engine.target)
            {
                let file = cx.funcs[*func].file.index();
                plans.push((file, Plan::Replace { matched: m.clone() }));
            }
        }
    }
    let class = class(cx, s, decision == Decision::Convert);
    let decision = match decision {
        Decision::Convert if plans.is_empty() => Decision::Manual(Vec::new()),
        d => d,
    };
    let mut release_places: Vec<String> = s
        .releases
        .iter()
        .map(|(func, m)| {
            let file = cx.file(cx.funcs[*func].file);
            format!("{}:{}", file.path, file.parsed.line_of(m.start))
        })
        .collect();
    release_places.sort();
    release_places.dedup();
    let case = pin_case(cx, s, &decision);
    Unit {
        function: cx.funcs[s.func].name.clone(),
        file: cx.file(s.file).path.to_string(),
        line: s.line,
        pages: s.pages_text.clone(),
        decision,
        class,
        rules: s.rules.iter().cloned().collect(),
        // A release that may also see pages from elsewhere is mixed, not a
        // mismatch: only a pure flow proves one.
        mismatches: if blockers.is_empty() {
            s.mismatches.clone()
        } else {
            Vec::new()
        },
        evidence,
        evidence_at: s.evidence.clone(),
        releases: release_places,
        case,
        told_apart: s.told_apart.clone(),
        plans,
        depends: Vec::new(),
    }
}

/// The case of `pin_user_pages.rst` a unit falls under: from a decision to
/// keep it, else from its evidence: DMA (case 2 when the pages are also
/// kept long-term, else case 1), then a write to the data (case 5), then
/// long-term use alone; with where that evidence was first seen. Pages are
/// kept long-term with `FOLL_LONGTERM`, or when stored in a struct field
/// and released in another function than the one that takes them.
fn pin_case(cx: &FlowContext, s: &UnitState, decision: &Decision) -> Option<PinCase> {
    match decision {
        Decision::Keep(Blocker::StructPageOnly { .. }) => return Some(PinCase::StructPageOnly),
        Decision::Keep(Blocker::LookupOnly { .. }) => return Some(PinCase::Lookup),
        Decision::Keep(Blocker::RemoteAccess { .. }) => return Some(PinCase::BriefRemoteAccess),
        Decision::Keep(Blocker::MmuNotifier { call, place }) => {
            return Some(PinCase::MmuNotifier {
                call: call.clone(),
                at: place.clone(),
            })
        }
        _ => {}
    }
    let find = |kind: EvidenceKind| {
        s.evidence
            .iter()
            .find(|(e, _)| evidence_kind(cx, e) == Some(kind))
            .map(|(e, at)| (e.clone(), at.clone()))
    };
    // A struct field holds the pages long-term only when they are released
    // in another function than the one that takes them.
    let held_beyond_call = s.releases.iter().any(|(f, _)| *f != s.func);
    let stored = find(EvidenceKind::Stored).filter(|_| held_beyond_call);
    let flagged = find(EvidenceKind::LongTermFlag);
    if let Some((evidence, at)) = find(EvidenceKind::Dma) {
        return Some(match (&stored, &flagged) {
            (None, None) => PinCase::Dma { evidence, at },
            _ => PinCase::LongTermDma {
                evidence,
                at,
                kept: stored.and_then(|(e, at)| match e {
                    Evidence::StoredIn(field) => Some((field, at)),
                    _ => None,
                }),
            },
        });
    }
    if let Some((evidence, at)) = find(EvidenceKind::Write) {
        return Some(PinCase::WriteData { evidence, at });
    }
    if let Some((evidence, at)) = stored.or(flagged) {
        return Some(PinCase::LongTerm { evidence, at });
    }
    // The first call reading the data, in file and line order.
    s.data
        .iter()
        .min_by_key(|(_, at)| (&at.path, at.line))
        .map(|(call, at)| PinCase::DataAccess {
            call: call.clone(),
            at: at.clone(),
        })
}

/// What a piece of a unit's evidence shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum EvidenceKind {
    /// The pages reach a device (`evidence_dma`, a container element).
    Dma,
    /// The CPU writes to their data (`evidence_write`).
    Write,
    /// They are taken for a long-term use (`FOLL_LONGTERM`).
    LongTermFlag,
    /// They are stored in a struct field.
    Stored,
}

/// The kind of a piece of evidence: a call's from the vocabulary's lists
/// (`evidence_dma`, `evidence_write`; the container stores the escapes
/// record are among the first).
fn evidence_kind(cx: &FlowContext, evidence: &Evidence) -> Option<EvidenceKind> {
    let flow = &cx.engine.pack.flow;
    match evidence {
        Evidence::ContainerElement => Some(EvidenceKind::Dma),
        Evidence::LongTermFlag => Some(EvidenceKind::LongTermFlag),
        Evidence::StoredIn(_) => Some(EvidenceKind::Stored),
        Evidence::Call(call) if flow.evidence_dma.contains(call) => Some(EvidenceKind::Dma),
        Evidence::Call(call) if flow.evidence_write.contains(call) => Some(EvidenceKind::Write),
        Evidence::Call(_) => None,
    }
}

/// The acquire policy for a unit with no blocker and no evidence for a pin:
/// converted when the CPU reaches the pages' data (FOLL_PIN is for pages
/// "whose data *will* get accessed"), kept when only struct page is looked
/// at (case 4), else left for a decision.
fn policy(s: &UnitState) -> Decision {
    if !s.data.is_empty() {
        Decision::Convert
    } else if !s.metadata.is_empty() {
        Decision::Keep(Blocker::StructPageOnly {
            uses: s.metadata.iter().cloned().collect(),
        })
    } else {
        Decision::Manual(vec![Blocker::NeedsDecision])
    }
}

/// A unit whose acquire and releases are in one function, where a local
/// holding the pages' identity (`paddr = page_to_phys(page)`) is read after
/// the last release: the page is only looked up (its address outlives the
/// reference), so it is not pinned. Returns the reason, with the places.
fn lookup_only(
    cx: &FlowContext,
    vars: &VarsByFunction,
    s: &UnitState,
    u: UnitId,
    representatives: &[UnitId],
) -> Option<Blocker> {
    let func = s.acquires.first()?.0;
    if s.releases.is_empty()
        || s.acquires
            .iter()
            .chain(&s.releases)
            .any(|(g, _)| *g != func)
    {
        return None;
    }
    let last = s.releases.iter().max_by_key(|(_, m)| m.end)?;
    let f = &cx.funcs[func];
    let holders = vars.holders_of(cx, func, u, representatives);
    let file = cx.file(f.file);
    let release = format!("{}:{}", file.path, file.parsed.line_of(last.1.start));
    // The first mention of a holder after the release.
    let places = vars.identifier_places(cx, func);
    let used = holders
        .iter()
        .filter_map(|h| {
            let at = places.get(*h)?;
            at.get(at.partition_point(|&p| p < last.1.end)).copied()
        })
        .min();
    if let Some(used) = used {
        let node = f.def.node.descendant_for_byte_range(used, used)?;
        return Some(Blocker::LookupOnly {
            release,
            use_place: cx.place(func, node),
        });
    }
    // The identity handed back through a pointer parameter (`*paddr =
    // page_to_phys(page)`): the callers use it after the release.
    let out = f.params.iter().find(|p| {
        !cx.var_types(func).contains_key(*p)
            && cx
                .locs
                .get(&super::flow::Loc::Var(func, (*p).clone()))
                .is_some_and(|i| i.arrays.iter().any(|&a| representatives[a.index()] == u))
    })?;
    Some(Blocker::LookupOnly {
        release,
        use_place: format!("by the callers of {}() through `*{out}`", f.name),
    })
}

/// A flow that takes another process's pages (`get_user_pages_remote()`
/// on an `mm` other than the caller's) without `FOLL_LONGTERM`, and
/// releases them in the file that took them, with no DMA use and never
/// stored in a struct: a brief access such as ptrace's or exec's argument
/// copy, which `pin_user_pages.rst` leaves on a reference. An accessor
/// that always takes the pages to write them (`FOLL_WRITE` among constant
/// flags) and writes them is case 5's "pin, write to the data, unpin",
/// not such an access: ptrace's accessors write only when their caller
/// asks (`gup_flags` handed in, `write ? FOLL_WRITE : 0`).
fn brief_remote_access(cx: &FlowContext, s: &UnitState) -> Option<Blocker> {
    let mm = s.remote.as_ref()?;
    let always_written = s.flags.iter().any(|f| constant_flags_with(f, "FOLL_WRITE"))
        && s.evidence
            .keys()
            .any(|e| evidence_kind(cx, e) == Some(EvidenceKind::Write));
    if always_written {
        return None;
    }
    let func = s.acquires.first()?.0;
    let file = cx.funcs[func].file;
    let one_file = s
        .acquires
        .iter()
        .chain(&s.releases)
        .all(|(g, _)| cx.funcs[*g].file == file);
    let kept_or_dma = s.evidence.keys().any(|e| {
        matches!(
            evidence_kind(cx, e),
            Some(EvidenceKind::Dma | EvidenceKind::LongTermFlag | EvidenceKind::Stored)
        )
    });
    (one_file && !s.releases.is_empty() && !kept_or_dma).then(|| Blocker::RemoteAccess {
        mm: mm.clone(),
        function: cx.funcs[func].name.clone(),
    })
}

/// Whether a flags argument is a constant naming `flag`: names joined by
/// `|`, in parentheses or not (`FOLL_WRITE | FOLL_NOFAULT`), with no
/// condition or variable deciding which flags are passed.
fn constant_flags_with(flags: &str, flag: &str) -> bool {
    let names: Vec<&str> = flags
        .split(|c: char| c == '|' || c == '(' || c == ')' || c.is_whitespace())
        .filter(|n| !n.is_empty())
        .collect();
    let constant = names.iter().all(|n| {
        n.starts_with(|c: char| c.is_ascii_uppercase())
            && n.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    });
    constant && names.contains(&flag)
}

/// Whether a unit's evidence shows DMA or a write to the data (not only
/// long-term storage, which a driver with an MMU notifier does by design).
fn dma_or_write(cx: &FlowContext, s: &UnitState) -> bool {
    s.evidence.keys().any(|e| {
        matches!(
            evidence_kind(cx, e),
            Some(EvidenceKind::Dma | EvidenceKind::Write)
        )
    })
}

/// The first call of each file that registers an MMU notifier, searched
/// for once per file however many of its units ask (a generated file may
/// hold thousands).
#[derive(Default)]
struct NotifierRegistrations {
    of_file: RefCell<HashMap<FileId, Option<Blocker>>>,
}

impl NotifierRegistrations {
    /// `notifier_registration` of the file, remembered.
    fn of_file(&self, cx: &FlowContext, file: FileId) -> Option<Blocker> {
        self.of_file
            .borrow_mut()
            .entry(file)
            .or_insert_with(|| notifier_registration(cx, file))
            .clone()
    }
}

/// The first call of a file (that of a unit's acquire) that registers an
/// MMU notifier (`notifier_registrations`), with its place.
fn notifier_registration(cx: &FlowContext, file: FileId) -> Option<Blocker> {
    let file = cx.file(file);
    let src: &[u8] = &file.parsed.original;
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    cx.engine
        .pack
        .flow
        .notifier_registrations
        .iter()
        .filter_map(|call| {
            memchr::memmem::find_iter(src, call.as_bytes())
                .find(|&at| {
                    !at.checked_sub(1).is_some_and(|p| is_word(src[p]))
                        && src.get(at + call.len()) == Some(&b'(')
                })
                .map(|at| (at, call))
        })
        .min()
        .map(|(at, call)| Blocker::MmuNotifier {
            call: call.clone(),
            place: format!("{}:{}", file.path, file.parsed.line_of(at)),
        })
}

/// How hard a unit is to review.
fn class(cx: &FlowContext, s: &UnitState, convertible: bool) -> Class {
    let funcs: BTreeSet<FuncId> = s
        .acquires
        .iter()
        .chain(&s.releases)
        .map(|(func, _)| *func)
        .collect();
    let files: BTreeSet<_> = funcs.iter().map(|&g| cx.funcs[g].file).collect();
    if !convertible {
        Class::Manual
    } else if funcs.len() <= 1 {
        Class::Easy
    } else if files.len() <= 1 {
        Class::Local
    } else {
        Class::CrossFile
    }
}

/// Plans the removal of loop-index declarations that converted loops leave unused.
fn remove_dead_indices(cx: &FlowContext, units: &mut [Unit]) {
    // Per function: the byte ranges converted loops replace, and their indices.
    let mut replaced: BTreeMap<FuncId, Vec<(usize, usize)>> = BTreeMap::new();
    let mut indices: Vec<(FuncId, String, usize)> = Vec::new();
    for (ui, unit) in units.iter().enumerate() {
        if !unit.is_converted() {
            continue;
        }
        for (file, plan) in &unit.plans {
            let Plan::Replace { matched } = plan else {
                continue;
            };
            let Some(func) = holder(cx, *file, matched.start, matched.end) else {
                continue;
            };
            replaced
                .entry(func)
                .or_default()
                .push((matched.start, matched.end));
            let rule = &cx.engine.pack.rules[matched.rule];
            if let Some(b) = rule
                .release
                .as_ref()
                .and_then(|r| r.index.as_ref())
                .and_then(|i| matched.binding(i))
            {
                indices.push((func, b.text.clone(), ui));
            }
        }
    }
    let mut done = HashSet::<_>::default();
    for (func, name, ui) in indices.into_iter().rev() {
        if !done.insert((func, name.clone())) {
            continue;
        }
        let src = cx.src(func);
        let ranges = &replaced[&func];
        let outside = |at: usize| !ranges.iter().any(|&(s, e)| s <= at && at < e);
        // Each declaration of the name is a variable of its own, seen from
        // its declarator to the end of the block that holds it: a function
        // may declare a loop index again in each block that needs one.
        let nodes = &cx.funcs[func].nodes;
        let uses = NameUses::of(nodes, src, name.as_bytes());
        let file = cx.funcs[func].file.index();
        let declarators = nodes.iter().filter(|n| {
            n.kind_str() == "identifier"
                && src[n.byte_range()] == *name.as_bytes()
                && outside(n.start_byte())
        });
        for &id in declarators {
            let Some(declarator) = declarator_of(id) else {
                continue;
            };
            // Only the index of a converted loop goes: its scope holds a
            // converted match, and nothing outside the matches reads it.
            let Some((_, scope_end)) = uses.scope_of(id.start_byte()) else {
                continue;
            };
            let converted_inside = ranges
                .iter()
                .any(|&(s, e)| id.end_byte() <= s && e <= scope_end);
            if !converted_inside || uses.read_where(id.start_byte(), outside) {
                continue;
            }
            if let Some((start, end, text)) = declarator_removal_range(declarator, src) {
                units[ui].plans.push((
                    file,
                    Plan::RemoveDeclarator {
                        start,
                        end,
                        text,
                        name: name.clone(),
                    },
                ));
            } else if let Some((before, after)) = scope_block_around(declarator, ranges) {
                // `{ unsigned long i; <the converted loop> }`: the declaration
                // and the braces go, the statement stays.
                for (start, end) in [before, after] {
                    units[ui].plans.push((
                        file,
                        Plan::RemoveDeclarator {
                            start,
                            end,
                            text: String::new(),
                            name: name.clone(),
                        },
                    ));
                }
            }
        }
    }
}

/// For a declarator whose declaration opens a block that holds nothing
/// else but one statement containing a converted match
/// (`{ unsigned long i; for (...) ...; }`): the byte ranges before and
/// after that statement (from `{` through the declaration, and from the
/// statement's end through `}`), whose removal leaves the statement alone.
fn scope_block_around(
    declarator: tree_sitter::Node,
    replaced: &[(usize, usize)],
) -> Option<((usize, usize), (usize, usize))> {
    let decl = declarator.parent()?;
    let block = decl
        .parent()
        .filter(|b| b.kind_str() == "compound_statement")?;
    let mut cursor = block.walk();
    let inner: Vec<tree_sitter::Node> = block.named_children(&mut cursor).collect();
    let [first, stmt] = inner.as_slice() else {
        return None;
    };
    let mut c = decl.walk();
    let single = decl.children_by_field_name("declarator", &mut c).count() == 1;
    let holds_match = replaced
        .iter()
        .any(|&(s, e)| stmt.start_byte() <= s && e <= stmt.end_byte());
    (*first == decl && single && holds_match).then(|| {
        (
            (block.start_byte(), stmt.start_byte()),
            (stmt.end_byte(), block.end_byte()),
        )
    })
}

/// The function holding `start..end` of a file. Functions are in (file,
/// offset) order: the last one that starts at or before the match holds it,
/// if any does.
fn holder(cx: &FlowContext, file: usize, start: usize, end: usize) -> Option<FuncId> {
    let funcs = cx.funcs.as_slice();
    let at = funcs.partition_point(|f| (f.file.index(), f.def.node.start_byte()) <= (file, start));
    let i = at.checked_sub(1)?;
    let f = &funcs[i];
    (f.file.index() == file && end <= f.def.node.end_byte()).then(|| FuncId::from_index(i))
}
