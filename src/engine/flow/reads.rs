//! What the releases read, and where a value stored into a location goes
//! through followed code: the graph `escapes::stores::block_mixed_storage` asks
//! whether another value stored into a unit's storage can reach a release,
//! or code the analysis does not follow.
//!
//! The graph is built as the searches walk it. A search that reaches a
//! location evaluates only the constraints that may read it, those that
//! name it (the variable in its function, the field under any of its
//! spellings), each once; a search for the arrays a parameter stands for
//! evaluates only the calls of its function. A round of a whole-tree run
//! holds some 36,000 assignments and calls and a few dozen mixed stores,
//! whose searches reach a small part of them; building every edge up
//! front took most of the phase.

use super::calls::Unresolved;
use super::collect::MatchSite;
use super::ids::{FileId, FuncId};
use super::objects;
use super::propagate::{Constraints, Slot};
use super::summaries::IdentityUse;
use super::values::alias_loc;
use super::{push_unique, FlowContext, Loc};
use crate::engine::hash::{HashMap, HashSet};
use std::cell::RefCell;
use tree_sitter::Node;

/// What a mixed store reaches.
pub(super) enum Reach {
    /// A release may read it.
    Released,
    /// Only code the analysis does not follow yet may read it.
    Unfollowed,
    /// Nothing that releases or escapes reads it.
    Nothing,
}

impl Reach {
    /// What a store reaches that reaches both.
    pub fn or(self, other: Reach) -> Reach {
        match (self, other) {
            (Reach::Released, _) | (_, Reach::Released) => Reach::Released,
            (Reach::Unfollowed, _) | (_, Reach::Unfollowed) => Reach::Unfollowed,
            _ => Reach::Nothing,
        }
    }
}

/// Byte ranges per file, to ask in logarithmic time whether one of them
/// holds a given range.
#[derive(Clone)]
pub(super) struct Enclosing {
    /// Per file, (start, end) sorted, with the largest end up to each.
    ranges: HashMap<FileId, Vec<(usize, usize, usize)>>,
}

impl Enclosing {
    pub fn of(ranges: impl IntoIterator<Item = (FileId, usize, usize)>) -> Enclosing {
        let mut by_file: HashMap<FileId, Vec<(usize, usize, usize)>> = HashMap::default();
        for (file, start, end) in ranges {
            by_file.entry(file).or_default().push((start, end, end));
        }
        for list in by_file.values_mut() {
            list.sort_unstable();
            let mut furthest = 0;
            for r in list.iter_mut() {
                furthest = furthest.max(r.1);
                r.2 = furthest;
            }
        }
        Enclosing { ranges: by_file }
    }

    /// Whether a range of `file` starts at or before `start` and ends at or
    /// after `end`.
    pub fn encloses(&self, file: FileId, start: usize, end: usize) -> bool {
        let Some(list) = self.ranges.get(&file) else {
            return false;
        };
        let before = list.partition_point(|r| r.0 <= start);
        before > 0 && list[before - 1].2 >= end
    }
}

/// An argument handed to a call the analysis does not follow.
struct UnfollowedArgument<'t> {
    func: FuncId,
    arg: Node<'t>,
    position: usize,
    callee: Option<String>,
}

impl UnfollowedArgument<'_> {
    /// Whether the callee only reads the argument: a macro or a shared
    /// header's helper that only reads what it is given is a use too, and
    /// a page's identity handed to a function is read, not kept (as
    /// `check_call` has it).
    fn only_read(&self, cx: &FlowContext) -> bool {
        let (func, arg, position) = (self.func, self.arg, self.position);
        // A variable is a page, not an array, when it holds pages only.
        let page = alias_loc(cx, func, arg).is_none() || {
            let v = cx.eval(func, arg, 0);
            !v.pages.is_empty() && v.arrays.is_empty()
        };
        let read = |c: &str| {
            let uses = super::escapes::undefined_use(cx, &cx.resolve(func, c), c, position, page);
            uses.0 == Some(IdentityUse::Read) || uses.1 == Some(IdentityUse::Read)
        };
        (page && cx.is_identity(func, arg)) || self.callee.as_deref().is_some_and(read)
    }
}

/// The part of the graph the searches have walked so far.
#[derive(Default)]
struct Graph<'t> {
    /// (sources, target): `None` for code the analysis does not follow.
    edges: Vec<(Vec<Loc>, Option<Loc>)>,
    /// Per edge into a call the analysis does not follow: the argument,
    /// which makes no edge when the callee only reads it
    /// (`UnfollowedArgument::only_read`), asked the first time a search
    /// reaches the edge.
    unfollowed: Vec<Option<UnfollowedArgument<'t>>>,
    /// The edges out of each source.
    out_of: HashMap<Loc, Vec<usize>>,
    /// Per parameter of a followed function, the arrays its callers pass
    /// for it (`values::alias_loc`).
    param_args: HashMap<Loc, Vec<Loc>>,
    /// The constraints evaluated, the locations whose readers are all
    /// evaluated, and the functions whose calls are.
    assignments_done: HashSet<usize>,
    calls_done: HashSet<usize>,
    locs_done: HashSet<Loc>,
    callees_done: HashSet<FuncId>,
}

/// What the releases read, and how values move between locations through
/// followed code.
pub(super) struct ReleaseReads<'k, 't> {
    /// Per release subject: the location it reads through, and the pointer
    /// whose object holds that location when it is a field read through
    /// `->` (`objects::read_through`).
    pub direct: Vec<(Loc, Option<(FuncId, Node<'t>)>)>,
    /// Per direct read, where its release is (`file:line`).
    pub places: Vec<String>,
    /// Per direct read, the release's subject expression.
    pub subjects: Vec<(FuncId, Node<'t>)>,
    k: &'k Constraints<'t>,
    release_ranges: Enclosing,
    graph: RefCell<Graph<'t>>,
    only_read: RefCell<HashMap<usize, bool>>,
}

/// The locations a value in `e` may be read back through: the array it
/// aliases, and the variable or field it is read from.
fn sources(cx: &FlowContext, func: FuncId, e: Node) -> Vec<Loc> {
    let mut out: Vec<Loc> = alias_loc(cx, func, e).into_iter().collect();
    out.extend(cx.base_loc(func, e));
    out
}

impl<'k, 't> ReleaseReads<'k, 't> {
    pub fn of(
        cx: &FlowContext<'_, 't>,
        k: &'k Constraints<'t>,
        releases: &[MatchSite<'t>],
    ) -> Self {
        let mut direct = Vec::new();
        let mut places = Vec::new();
        let mut subjects = Vec::new();
        for r in releases {
            let rule = &cx.engine.pack.rules[r.matched.rule];
            let Some(role) = rule.release.as_ref() else {
                continue;
            };
            for subject in role.page.iter().chain(&role.array) {
                if let Some(b) = r.matched.binding_node(r.node, subject) {
                    if let Some(l) = cx.base_loc(r.func, b) {
                        let through = objects::read_through(cx, r.func, b).map(|p| (r.func, p));
                        direct.push((l, through));
                        places.push(cx.place(r.func, r.node));
                        subjects.push((r.func, b));
                    }
                    if let Some(l) = alias_loc(cx, r.func, b) {
                        direct.push((l, None));
                        places.push(cx.place(r.func, r.node));
                        subjects.push((r.func, b));
                    }
                }
            }
        }
        let release_ranges = Enclosing::of(
            releases
                .iter()
                .map(|r| (cx.funcs[r.func].file, r.matched.start, r.matched.end)),
        );
        ReleaseReads {
            direct,
            places,
            subjects,
            k,
            release_ranges,
            graph: RefCell::default(),
            only_read: RefCell::default(),
        }
    }

    /// Evaluates every constraint that may read `l`: the edges out of it
    /// are then all in the graph.
    fn readers_of(&self, cx: &FlowContext<'_, 't>, l: &Loc) {
        if !self.graph.borrow_mut().locs_done.insert(l.clone()) {
            return;
        }
        let index = &self.k.mentioned;
        let mut slots: Vec<Slot> = Vec::new();
        match l {
            Loc::Var(func, name) => slots.extend(index.var(self.k, *func, name)),
            Loc::Field(s, f) => slots.extend(index.naming_field(&cx.types, s, f)),
            // No expression reads a location through what a function returns.
            Loc::Ret(_) => {}
        }
        for slot in slots {
            match slot {
                Slot::Assignment(i) => self.assignment(cx, i),
                Slot::Call(i) => self.call(cx, i),
                Slot::Return(_) => {}
            }
        }
    }

    /// The edge of assignment `i`: from where its value is read back to
    /// what it assigns.
    fn assignment(&self, cx: &FlowContext<'_, 't>, i: usize) {
        if !self.graph.borrow_mut().assignments_done.insert(i) {
            return;
        }
        let (func, asg) = &self.k.assignments[i];
        let from = sources(cx, *func, asg.rhs);
        if !from.is_empty() {
            let to = cx.loc_of(*func, asg.lhs);
            self.graph.borrow_mut().add(from, to, None);
        }
    }

    /// The edges of call `i`: each argument's value into the parameters of
    /// the functions it calls, or out of the analysis when it calls none;
    /// and, per parameter, the array the caller passes.
    fn call(&self, cx: &FlowContext<'_, 't>, i: usize) {
        if !self.graph.borrow_mut().calls_done.insert(i) {
            return;
        }
        let k = self.k;
        let (func, call) = &k.calls[i];
        // What the vocabulary says a call only uses is not a way out, nor
        // is the release call of a matched release: what it reads is in
        // `direct`.
        let in_release = || {
            let file = cx.funcs[*func].file;
            call.callee_name(cx.src(*func))
                .is_some_and(|c| cx.engine.is_release(&String::from_utf8_lossy(c)))
                && self
                    .release_ranges
                    .encloses(file, call.node.start_byte(), call.node.end_byte())
        };
        // A reference taken for the store next to it, and the stored copy,
        // which holds that reference: whoever owns the store releases its
        // own reference, never the one read here.
        let handed = &cx.funcs[*func].constraints.handed;
        if k.vocabulary_calls[i] || in_release() || handed.is_handed(call.node) {
            return;
        }
        let targets = &k.call_targets[i];
        let callee = call
            .callee_name(cx.src(*func))
            .map(|c| String::from_utf8_lossy(c).into_owned());
        // An acquire fills the array it is given; it neither reads nor
        // releases what the array held.
        let acquire = callee
            .as_deref()
            .is_some_and(|c| cx.engine.acquire_names().iter().any(|a| a == c));
        let mut graph = self.graph.borrow_mut();
        for (position, &arg) in k.call_args[i].iter().enumerate() {
            let from = sources(cx, *func, arg);
            if from.is_empty() || handed.is_copy(arg) {
                continue;
            }
            if targets.is_empty() && !acquire {
                let argument = UnfollowedArgument {
                    func: *func,
                    arg,
                    position,
                    callee: callee.clone(),
                };
                graph.add(from.clone(), None, Some(argument));
            }
            // What the callee stores through its parameter lands in the
            // caller's array, or in the variable or field whose address
            // the caller passes (`&page`).
            let back = alias_loc(cx, *func, arg).or_else(|| {
                match crate::c::syntax::shape(arg, cx.src(*func)) {
                    crate::c::syntax::ExprShape::AddressOf(inner) => cx.loc_of(*func, inner),
                    _ => None,
                }
            });
            for &g in targets {
                let to = cx.funcs[g]
                    .params
                    .get(position)
                    .map(|p| Loc::Var(g, p.clone()));
                if let (Some(param), Some(back)) = (&to, &back) {
                    push_unique(
                        graph.param_args.entry(param.clone()).or_default(),
                        back.clone(),
                    );
                }
                graph.add(from.clone(), to, None);
            }
        }
    }

    /// Whether an edge leads anywhere: one into an argument of a call not
    /// followed does not when the callee only reads it.
    fn leads(&self, cx: &FlowContext, e: usize) -> bool {
        let graph = self.graph.borrow();
        let Some(argument) = &graph.unfollowed[e] else {
            return true;
        };
        let mut known = self.only_read.borrow_mut();
        !*known.entry(e).or_insert_with(|| argument.only_read(cx))
    }

    /// The locations a value stored into `storage` reaches through
    /// followed code (`storage` included), and the edges into code not
    /// followed it reaches on the way: a search forwards from the storage,
    /// each location visited once.
    fn forward(&self, cx: &FlowContext<'_, 't>, storage: &Loc) -> (HashSet<Loc>, Vec<usize>) {
        let mut seen: HashSet<Loc> = HashSet::from_iter([storage.clone()]);
        let mut unfollowed = Vec::new();
        let mut frontier = vec![storage.clone()];
        while let Some(l) = frontier.pop() {
            self.readers_of(cx, &l);
            let graph = self.graph.borrow();
            for &e in graph.out_of.get(&l).into_iter().flatten() {
                match &graph.edges[e].1 {
                    Some(t) if !seen.contains(t) => {
                        seen.insert(t.clone());
                        frontier.push(t.clone());
                    }
                    Some(_) => {}
                    None => unfollowed.push(e),
                }
            }
        }
        (seen, unfollowed)
    }

    /// The direct reads (by index, in order) of a location a value stored
    /// into `storage` may reach through followed code, `storage` itself
    /// included: the only reads that telling apart from the store can
    /// change what the store reaches.
    pub fn reading(&self, cx: &FlowContext<'_, 't>, storage: &Loc) -> Vec<usize> {
        let (seen, _) = self.forward(cx, storage);
        (self.direct.iter().enumerate())
            .filter(|(_, (l, _))| seen.contains(l))
            .map(|(i, _)| i)
            .collect()
    }

    /// The arrays a store into the elements of `storage` also lands in,
    /// when `storage` is a parameter: those its callers pass for it, and
    /// theirs in turn. Only the store's own storage is widened so: a
    /// helper called with several arrays does not join them.
    pub fn callers_arrays(&self, cx: &FlowContext<'_, 't>, storage: &Loc) -> Vec<Loc> {
        let mut seen: Vec<Loc> = Vec::new();
        let mut frontier: Vec<Loc> = vec![storage.clone()];
        while let Some(l) = frontier.pop() {
            if let Loc::Var(g, _) = &l {
                let first = self.graph.borrow_mut().callees_done.insert(*g);
                if first {
                    for &i in self.k.mentioned.calls_of(*g) {
                        self.call(cx, i);
                    }
                }
            }
            let graph = self.graph.borrow();
            for a in graph.param_args.get(&l).into_iter().flatten() {
                if a != storage && !seen.contains(a) {
                    seen.push(a.clone());
                    frontier.push(a.clone());
                }
            }
        }
        seen
    }

    /// The functions, not read yet, whose calls a value stored into
    /// `storage` reaches through followed code: once read, the calls that
    /// only read what they are given are no way out.
    pub fn unread_callees(
        &self,
        cx: &FlowContext<'_, 't>,
        storage: &Loc,
    ) -> std::collections::BTreeSet<String> {
        let (_, unfollowed) = self.forward(cx, storage);
        let mut out = std::collections::BTreeSet::new();
        for e in unfollowed {
            let callee = {
                let graph = self.graph.borrow();
                let Some(argument) = &graph.unfollowed[e] else {
                    continue;
                };
                let Some(c) = argument.callee.clone() else {
                    continue;
                };
                let unread = cx.resolve(argument.func, &c) == Err(Unresolved::Undefined)
                    && !cx.engine.is_vocabulary(&c)
                    && !super::summaries::is_macro_name(&c)
                    && cx.macro_use(&c, argument.position).is_none()
                    && cx.shared_helpers(&c).is_empty();
                if !unread {
                    continue;
                }
                c
            };
            if self.leads(cx, e) {
                out.insert(callee);
            }
        }
        out
    }

    /// What a value stored into `storage` reaches once the direct reads
    /// listed in `skip` (sorted) are left out: a release's read through
    /// followed code, else code the analysis does not follow (which reads
    /// whatever reaches it), else nothing.
    pub fn reach(&self, cx: &FlowContext<'_, 't>, storage: &Loc, skip: &[usize]) -> Reach {
        let (seen, unfollowed) = self.forward(cx, storage);
        let read = (self.direct.iter().enumerate())
            .any(|(i, (l, _))| skip.binary_search(&i).is_err() && seen.contains(l));
        if read {
            Reach::Released
        } else if unfollowed.into_iter().any(|e| self.leads(cx, e)) {
            Reach::Unfollowed
        } else {
            Reach::Nothing
        }
    }
}

/// In debug builds (the test suite's), every search of the lazily built
/// graph is checked against the whole graph: the same locations reached,
/// the same calls not followed, the same arrays of the callers.
#[cfg(debug_assertions)]
impl<'k, 't> ReleaseReads<'k, 't> {
    pub fn check_against_whole(&self, cx: &FlowContext<'_, 't>, storage: &Loc) {
        let whole = ReleaseReads {
            direct: Vec::new(),
            places: Vec::new(),
            subjects: Vec::new(),
            k: self.k,
            release_ranges: self.release_ranges.clone(),
            graph: RefCell::default(),
            only_read: RefCell::default(),
        };
        for i in 0..self.k.assignments.len() {
            whole.assignment(cx, i);
        }
        for i in 0..self.k.calls.len() {
            whole.call(cx, i);
        }
        {
            let mut graph = whole.graph.borrow_mut();
            let sources: Vec<Loc> = graph.out_of.keys().cloned().collect();
            graph.locs_done.extend(sources);
            graph
                .callees_done
                .extend(cx.funcs.iter_enumerated().map(|(g, _)| g));
        }
        let unfollowed = |reads: &ReleaseReads, edges: Vec<usize>| {
            let graph = reads.graph.borrow();
            let mut out: Vec<String> = (edges.iter())
                .map(|&e| {
                    let argument = graph.unfollowed[e].as_ref();
                    let at = argument.map(|a| (a.func, a.arg.start_byte(), a.position));
                    format!("{at:?} {:?}", graph.edges[e].1)
                })
                .collect();
            out.sort();
            out.dedup();
            out
        };
        let (seen, edges) = self.forward(cx, storage);
        let (whole_seen, whole_edges) = whole.forward(cx, storage);
        assert_eq!(seen, whole_seen, "locations reached from {storage:?}");
        assert_eq!(
            unfollowed(self, edges),
            unfollowed(&whole, whole_edges),
            "calls not followed reached from {storage:?}"
        );
        let sorted = |mut v: Vec<Loc>| {
            v.sort_by_key(|l| format!("{l:?}"));
            v
        };
        assert_eq!(
            sorted(self.callers_arrays(cx, storage)),
            sorted(whole.callers_arrays(cx, storage)),
            "callers' arrays of {storage:?}"
        );
    }
}

impl<'t> Graph<'t> {
    /// Adds an edge from `from` to `to` (`None`: out of the analysis,
    /// through `argument` when it is a call's).
    fn add(&mut self, from: Vec<Loc>, to: Option<Loc>, argument: Option<UnfollowedArgument<'t>>) {
        let e = self.edges.len();
        for l in &from {
            self.out_of.entry(l.clone()).or_default().push(e);
        }
        self.edges.push((from, to));
        self.unfollowed.push(argument);
    }
}
