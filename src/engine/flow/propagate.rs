//! The fixpoint: assignments (and iterator macros, read as assignments of
//! the cursor from the array), calls (arguments into parameters, arrays a
//! callee fills back into the caller's, pages stored into containers) and
//! returns, evaluated until nothing changes or `FIXPOINT_ROUNDS` is reached.
//! A constraint is only evaluated when it mentions a name that holds
//! tracked values.

use super::ids::{FuncId, UnitId};
use super::references::HandedReferences;
use super::summaries::IdentityUse;
use super::values::{alias_loc, element_field_home, element_home};
use super::{name_key, FlowContext, Hot, HotName, Limit, Loc, Mentions, ReadKey, Val};
use crate::c::syntax::{shape, strip, Assignment, Call, ExprShape};
use crate::c::NodeExt;
use crate::engine::hash::{HashMap, HashSet};
use crate::engine::types::TypeIndex;
use crate::engine::Engine;
use crate::rule::ElementStore;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::sync::Arc;
use tree_sitter::Node;

/// How many rounds the propagation may take before it is abandoned (and
/// every unit blocked).
pub(crate) const FIXPOINT_ROUNDS: usize = 32;

/// The constraints of the program, with what each mentions.
pub(crate) struct Constraints<'t> {
    pub assignments: Vec<(FuncId, Assignment<'t>)>,
    pub assignment_mentions: Vec<Arc<Mentions>>,
    pub calls: Vec<(FuncId, Call<'t>)>,
    pub call_mentions: Vec<Arc<Mentions>>,
    pub call_targets: CallTargets,
    /// Per call: its callee's name when the callee is a plain identifier
    /// (`Call::callee_name`).
    pub call_callees: Vec<Option<Arc<str>>>,
    /// Per call: its argument expressions (`Call::args`).
    pub call_args: Vec<Arc<[Node<'t>]>>,
    /// For a call of a container store (`sg_set_page`,
    /// `sg_alloc_table_from_pages`): which arguments it stores where.
    element_stores: Vec<Option<ElementStore>>,
    /// Per call: whether the vocabulary lists its callee as a use or a
    /// container call (`FlowSpec::is_use`, `FlowSpec::is_element_call`).
    pub vocabulary_calls: Vec<bool>,
    /// Per call: whether the vocabulary lists its callee as a release
    /// (`FlowSpec::releases`, `__free_page()` as well as `put_page()`).
    pub release_calls: Vec<bool>,
    pub returns: Vec<(FuncId, Node<'t>)>,
    pub return_mentions: Vec<Arc<Mentions>>,
    /// Which constraints mention each name.
    pub mentioned: MentionIndex,
}

/// The functions each call may reach, in call order, in one buffer: most
/// calls reach none or one, and a vector per call would hold more beside
/// them than they are. `call_targets[i]` is call `i`'s.
#[derive(Default)]
pub(crate) struct CallTargets {
    targets: Vec<FuncId>,
    /// Where the targets of each call end in `targets`.
    ends: Vec<u32>,
}

impl CallTargets {
    fn with_capacity(calls: usize) -> CallTargets {
        CallTargets {
            targets: Vec::new(),
            ends: Vec::with_capacity(calls),
        }
    }

    /// Adds the targets of the next call.
    fn push(&mut self, targets: Vec<FuncId>) {
        self.targets.extend(targets);
        let end = u32::try_from(self.targets.len()).expect("fewer targets than 2^32");
        self.ends.push(end);
    }

    /// The targets of each call, in call order.
    pub fn iter(&self) -> impl Iterator<Item = &[FuncId]> {
        (0..self.ends.len()).map(|i| &self[i])
    }
}

impl std::ops::Index<usize> for CallTargets {
    type Output = [FuncId];

    fn index(&self, call: usize) -> &[FuncId] {
        let start = match call {
            0 => 0,
            _ => self.ends[call - 1] as usize,
        };
        &self.targets[start..self.ends[call] as usize]
    }
}

/// A constraint of `Constraints`, by kind and index (ordered as the
/// program's constraints are).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Slot {
    Assignment(usize),
    Call(usize),
    Return(usize),
}

/// Which constraints mention what, for the fixpoint's hot constraints and
/// the searches of what releases read: per field name (by `name_key`) the
/// constraints that mention it, per function where its constraints of
/// each kind lie, and the calls that may reach each function. Built once
/// per round; the identifiers of a function are indexed the first time one
/// of them is asked about, and the identifiers of the whole program the
/// first time one is asked about anywhere (for a function whose return
/// value is tracked).
#[derive(Default)]
pub(crate) struct MentionIndex {
    by_field: KeySlots,
    /// Per function (by index): its assignments (plain, then iterator
    /// macros), calls and returns, as ranges of `Constraints`' lists.
    of_func: Vec<[std::ops::Range<usize>; 4]>,
    calls_of: HashMap<FuncId, Vec<usize>>,
    by_var: RefCell<HashMap<FuncId, KeySlots>>,
    by_ident: std::cell::OnceCell<KeySlots>,
}

/// The constraints that mention each name, by `name_key`.
type KeySlots = HashMap<u64, Vec<Slot>>;

/// What a constraint mentions.
fn mentions<'k>(k: &'k Constraints, slot: Slot) -> &'k Mentions {
    match slot {
        Slot::Assignment(i) => &k.assignment_mentions[i],
        Slot::Call(i) => &k.call_mentions[i],
        Slot::Return(i) => &k.return_mentions[i],
    }
}

impl MentionIndex {
    fn of(k: &Constraints, of_func: Vec<[std::ops::Range<usize>; 4]>) -> MentionIndex {
        let mut index = MentionIndex {
            of_func,
            ..MentionIndex::default()
        };
        for slot in all_slots(k) {
            for &key in mentions(k, slot).field_keys() {
                index.by_field.entry(key).or_default().push(slot);
            }
        }
        for (i, targets) in k.call_targets.iter().enumerate() {
            for &g in targets {
                let calls = index.calls_of.entry(g).or_default();
                if calls.last() != Some(&i) {
                    calls.push(i);
                }
            }
        }
        index
    }

    /// The constraints that mention identifier `name` anywhere, in
    /// constraint order.
    pub fn ident(&self, k: &Constraints, name: &str) -> Vec<Slot> {
        let index = self.by_ident.get_or_init(|| {
            let mut index = KeySlots::default();
            for slot in all_slots(k) {
                for &key in mentions(k, slot).ident_keys() {
                    index.entry(key).or_default().push(slot);
                }
            }
            index
        });
        index.get(&name_key(name)).cloned().unwrap_or_default()
    }

    /// The constraints of `func` that mention identifier `name`, in
    /// constraint order.
    pub fn var(&self, k: &Constraints, func: FuncId, name: &str) -> Vec<Slot> {
        let mut by_var = self.by_var.borrow_mut();
        let of_func = by_var.entry(func).or_insert_with(|| {
            let mut index = KeySlots::default();
            if let Some([plain, iterations, calls, returns]) = self.of_func.get(func.index()) {
                let slots = (plain.clone().chain(iterations.clone()))
                    .map(Slot::Assignment)
                    .chain(calls.clone().map(Slot::Call))
                    .chain(returns.clone().map(Slot::Return));
                for slot in slots {
                    for &key in mentions(k, slot).ident_keys() {
                        index.entry(key).or_default().push(slot);
                    }
                }
            }
            index
        });
        of_func.get(&name_key(name)).cloned().unwrap_or_default()
    }

    /// The constraints that mention field name `name`.
    pub fn field(&self, name: &str) -> &[Slot] {
        self.by_field
            .get(&name_key(name))
            .map_or(&[], Vec::as_slice)
    }

    /// The constraints that name field `field` of struct `s` under any of
    /// its spellings (`TypeIndex::spellings`): the only ones that can read
    /// or write it; each once, in constraint order.
    pub fn naming_field(&self, types: &TypeIndex, s: &str, field: &str) -> Vec<Slot> {
        let mut names = types.spellings(s, field);
        if !names.iter().any(|n| n == field) {
            names.push(field.to_string());
        }
        let mut slots: Vec<Slot> = names.iter().flat_map(|n| self.field(n)).copied().collect();
        slots.sort_unstable();
        slots.dedup();
        slots
    }

    /// The calls that may reach `func`, each once, in program order.
    pub fn calls_of(&self, func: FuncId) -> &[usize] {
        self.calls_of.get(&func).map_or(&[], Vec::as_slice)
    }
}

/// Every constraint, by kind, in order.
fn all_slots(k: &Constraints) -> impl Iterator<Item = Slot> {
    (0..k.assignments.len())
        .map(Slot::Assignment)
        .chain((0..k.calls.len()).map(Slot::Call))
        .chain((0..k.returns.len()).map(Slot::Return))
}

/// The constraints of one function, in node order, with what each
/// mentions. They depend on its body and the rules only, so they are
/// built once, when the function first takes part, and kept across
/// analysis rounds (`collect::FileFacts`); a round only resolves the calls.
pub(crate) struct FunctionConstraints<'t> {
    assignments: Vec<(Assignment<'t>, Arc<Mentions>)>,
    /// Iterator macros read as assignments (`iterator_assignments`).
    iterations: Vec<(Assignment<'t>, Arc<Mentions>)>,
    /// Loops headed by an iterator macro the vocabulary does not know
    /// (`unknown_walks`).
    pub walks: Vec<Walk<'t>>,
    calls: Vec<FunctionCall<'t>>,
    returns: Vec<(Node<'t>, Arc<Mentions>)>,
    /// The identifiers used other than as the callee of a call, by name,
    /// each with its first use in node order: where a function's address
    /// may be taken.
    pub references: HashMap<String, Node<'t>>,
    /// References taken for the store next to them.
    pub handed: HandedReferences,
    /// Initialiser lists and compound literals, outermost only, each with
    /// what it mentions.
    pub initializers: Vec<(Node<'t>, Mentions)>,
    /// The field expressions (`a->b`, `a.b`), each with its field name's
    /// node, in node order: what `FlowContext::field_mentions` indexes.
    pub field_expressions: Vec<(Node<'t>, Node<'t>)>,
    /// The nodes that may read a struct as another struct's, in node order,
    /// their parts read once: `escapes::aside::fields_reached_aside` asks
    /// them every round.
    pub struct_views: Vec<StructView<'t>>,
}

/// A node that may read a struct as another struct's.
#[derive(Clone, Copy)]
pub enum StructView<'t> {
    /// `name = value` or `type name = value` (the name a plain identifier,
    /// the value without the parentheses and casts around it).
    Assigned {
        node: Node<'t>,
        name: Node<'t>,
        value: Node<'t>,
    },
    /// `memcpy(dst, from, ...)` or `memmove(dst, from, ...)`.
    Copied {
        node: Node<'t>,
        dst: Node<'t>,
        from: Node<'t>,
    },
    /// A cast to a pointer, `(to *)value`: `to` is the type named.
    PointerCast {
        node: Node<'t>,
        to: Node<'t>,
        value: Node<'t>,
    },
}

impl<'t> StructView<'t> {
    /// The view a node is, if any.
    fn of(n: Node<'t>, src: &[u8]) -> Option<StructView<'t>> {
        match n.kind_str() {
            "init_declarator" | "assignment_expression" => {
                let a = Assignment::new(n).filter(|a| a.plain)?;
                let plain_name =
                    n.kind_str() == "init_declarator" || a.lhs.kind_str() == "identifier";
                plain_name.then(|| StructView::Assigned {
                    node: n,
                    name: a.lhs,
                    value: strip(a.rhs),
                })
            }
            "call_expression" => {
                let call = Call::new(n)?;
                let copies =
                    (call.callee_name(src)).is_some_and(|c| c == b"memcpy" || c == b"memmove");
                match (copies, call.args().as_slice()) {
                    (true, [dst, from, ..]) => Some(StructView::Copied {
                        node: n,
                        dst: *dst,
                        from: *from,
                    }),
                    _ => None,
                }
            }
            "cast_expression" => {
                let (ty, value) = (n.field("type")?, n.field("value")?);
                let to_pointer = (ty.field("declarator"))
                    .is_some_and(|d| d.kind_str() == "abstract_pointer_declarator");
                to_pointer.then_some(())?;
                Some(StructView::PointerCast {
                    node: n,
                    to: ty.field("type")?,
                    value,
                })
            }
            _ => None,
        }
    }
}

/// A call of a function, with what its arguments mention and what the
/// vocabulary says of its callee.
struct FunctionCall<'t> {
    call: Call<'t>,
    /// The callee's name, when it is a plain identifier.
    callee: Option<Arc<str>>,
    args: Arc<[Node<'t>]>,
    mentions: Arc<Mentions>,
    element_store: Option<ElementStore>,
    /// The callee is a use or a container call of the vocabulary.
    vocabulary: bool,
    /// The callee is a release of the vocabulary.
    release: bool,
}

impl<'t> FunctionConstraints<'t> {
    /// The arguments of the call `call` of the function's body, as listed
    /// when the constraints were made (`Call::args`, no walk of the tree);
    /// `None` for a node that is no call of the body.
    pub fn args_of(&self, call: Node) -> Option<&[Node<'t>]> {
        let start = call.start_byte();
        let from = self
            .calls
            .partition_point(|c| c.call.node.start_byte() < start);
        (self.calls[from..].iter())
            .take_while(|c| c.call.node.start_byte() == start)
            .find(|c| c.call.node.id() == call.id() && c.call.node.end_byte() == call.end_byte())
            .map(|c| &c.args[..])
    }

    /// The expressions it returns.
    pub fn returned(&self) -> Vec<Node<'t>> {
        self.returns.iter().map(|(e, _)| *e).collect()
    }

    /// Its assignments and the iterator macros read as assignments.
    pub fn stores(&self) -> impl Iterator<Item = &Assignment<'t>> {
        self.assignments
            .iter()
            .chain(&self.iterations)
            .map(|(a, _)| a)
    }

    /// One pass over a function's nodes.
    pub fn of(engine: &Engine, nodes: &[Node<'t>], src: &[u8]) -> FunctionConstraints<'t> {
        let flow = &engine.pack.flow;
        let mut out = FunctionConstraints {
            assignments: Vec::new(),
            iterations: Vec::new(),
            walks: unknown_walks(engine, nodes, src),
            calls: Vec::new(),
            returns: Vec::new(),
            references: HashMap::default(),
            handed: HandedReferences::of(engine, nodes, src),
            initializers: Vec::new(),
            field_expressions: Vec::new(),
            struct_views: Vec::new(),
        };
        for &n in nodes {
            if let Some(a) = Assignment::new(n) {
                out.assignments
                    .push((a, Arc::new(Mentions::of(&[a.lhs, a.rhs], src))));
            }
        }
        for a in iterator_assignments(engine, nodes, src) {
            out.iterations
                .push((a, Arc::new(Mentions::of(&[a.lhs, a.rhs], src))));
        }
        for &n in nodes {
            if let Some(call) = Call::new(n) {
                let callee = call.callee_name(src).map(String::from_utf8_lossy);
                let callee = callee.as_deref();
                let args: Arc<[Node<'t>]> = call.args().into();
                out.calls.push(FunctionCall {
                    call,
                    callee: callee.map(Arc::from),
                    mentions: Arc::new(Mentions::of(&args, src)),
                    args,
                    element_store: callee.and_then(|c| flow.element_stores.get(c).copied()),
                    vocabulary: callee.is_some_and(|c| flow.is_use(c) || flow.is_element_call(c)),
                    release: callee.is_some_and(|c| flow.releases.contains(c)),
                });
            }
        }
        out.struct_views = (nodes.iter())
            .filter_map(|&n| StructView::of(n, src))
            .collect();
        for &n in nodes {
            if n.kind_str() == "field_expression" {
                if let Some(field) = n.field("field") {
                    out.field_expressions.push((n, field));
                }
            }
        }
        for &n in nodes {
            let returned = (n.kind_str() == "return_statement")
                .then(|| n.named_child(0))
                .flatten();
            if let Some(e) = returned {
                out.returns.push((e, Arc::new(Mentions::of(&[e], src))));
            }
        }
        // What the walk below asks of a node's parent, gathered from the
        // parents (a node's parent is a walk from the root in tree-sitter):
        // the callees of calls, and the children of initialisers.
        let callees: HashSet<usize> = out
            .calls
            .iter()
            .filter_map(|c| c.call.node.field("function"))
            .map(|f| f.id())
            .collect();
        let mut in_initializer: HashSet<usize> = HashSet::default();
        for &n in nodes {
            if matches!(
                n.kind_str(),
                "initializer_list" | "initializer_pair" | "compound_literal_expression"
            ) {
                let mut cursor = n.walk();
                in_initializer.extend(n.children(&mut cursor).map(|c| c.id()));
            }
        }
        for &n in nodes {
            let initializer = matches!(
                n.kind_str(),
                "initializer_list" | "compound_literal_expression"
            );
            if initializer && !in_initializer.contains(&n.id()) {
                out.initializers.push((n, Mentions::of(&[n], src)));
            }
            if n.kind_str() != "identifier" {
                continue;
            }
            if !callees.contains(&n.id()) {
                let name = String::from_utf8_lossy(&src[n.byte_range()]).into_owned();
                out.references.entry(name).or_insert(n);
            }
        }
        out
    }
}

impl<'t> Constraints<'t> {
    /// The program's constraints: those of every function (assignments,
    /// then iterator macros, calls and returns, each in function order),
    /// and the functions each call reaches in this program.
    pub fn of(cx: &FlowContext<'_, 't>) -> Constraints<'t> {
        let each = || {
            cx.funcs
                .iter_enumerated()
                .map(|(g, f)| (g, &*f.constraints))
        };
        // Sized at once: the program's constraints are held beside the
        // functions' own for the whole analysis, at the peak of the run's
        // memory, where a vector grown by doubling would hold up to twice
        // what it needs.
        let (mut stores, mut calls, mut returns) = (0, 0, 0);
        for (_, fc) in each() {
            stores += fc.assignments.len() + fc.iterations.len();
            calls += fc.calls.len();
            returns += fc.returns.len();
        }
        let mut k = Constraints {
            assignments: Vec::with_capacity(stores),
            assignment_mentions: Vec::with_capacity(stores),
            calls: Vec::with_capacity(calls),
            call_mentions: Vec::with_capacity(calls),
            call_targets: CallTargets::with_capacity(calls),
            call_callees: Vec::with_capacity(calls),
            call_args: Vec::with_capacity(calls),
            element_stores: Vec::with_capacity(calls),
            vocabulary_calls: Vec::with_capacity(calls),
            release_calls: Vec::with_capacity(calls),
            returns: Vec::with_capacity(returns),
            return_mentions: Vec::with_capacity(returns),
            mentioned: MentionIndex::default(),
        };
        let mut of_func = vec![[0..0, 0..0, 0..0, 0..0]; cx.funcs.len()];
        for (g, fc) in each() {
            let start = k.assignments.len();
            for (a, m) in &fc.assignments {
                k.assignments.push((g, *a));
                k.assignment_mentions.push(m.clone());
            }
            of_func[g.index()][0] = start..k.assignments.len();
        }
        for (g, fc) in each() {
            let start = k.assignments.len();
            for (a, m) in &fc.iterations {
                k.assignments.push((g, *a));
                k.assignment_mentions.push(m.clone());
            }
            of_func[g.index()][1] = start..k.assignments.len();
        }
        for (g, fc) in each() {
            of_func[g.index()][2] = k.calls.len()..k.calls.len() + fc.calls.len();
            for c in &fc.calls {
                k.calls.push((g, c.call));
                k.call_mentions.push(c.mentions.clone());
                k.call_targets
                    .push(cx.targets_named(g, &c.call, c.callee.as_deref()));
                k.call_callees.push(c.callee.clone());
                k.call_args.push(c.args.clone());
                k.element_stores.push(c.element_store);
                k.vocabulary_calls.push(c.vocabulary);
                k.release_calls.push(c.release);
            }
        }
        for (g, fc) in each() {
            let start = k.returns.len();
            for (e, m) in &fc.returns {
                k.returns.push((g, *e));
                k.return_mentions.push(m.clone());
            }
            of_func[g.index()][3] = start..k.returns.len();
        }
        k.mentioned = MentionIndex::of(&k, of_func);
        k
    }
}

/// The name of the iterator macro heading a loop: the macro pass reads
/// `for_each_x(args) body` as `while (args) body`, so a `while` statement
/// whose text does not begin with the keyword begins with the macro's name.
fn iterator_macro<'s>(n: Node, src: &'s [u8]) -> Option<&'s str> {
    if n.kind_str() != "while_statement" {
        return None;
    }
    let head = &src[n.start_byte()..n.end_byte().min(n.start_byte() + 64)];
    let name_len = head
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count();
    let name = std::str::from_utf8(&head[..name_len]).ok()?;
    (!name.is_empty() && name != "while").then_some(name)
}

/// A loop headed by an iterator macro the flow vocabulary does not list
/// (`for_each_sgt_page(page, iter, sgt)`, a driver's own): what it walks
/// and which of its arguments receive what it walks are unknown.
pub(crate) struct Walk<'t> {
    pub node: Node<'t>,
    pub name: String,
    pub args: Vec<Node<'t>>,
    /// What the arguments mention: a loop that names nothing tracked
    /// hands nothing tracked on.
    pub mentions: Mentions,
}

/// The loops of a function headed by an iterator macro the vocabulary
/// does not list.
fn unknown_walks<'t>(engine: &Engine, nodes: &[Node<'t>], src: &[u8]) -> Vec<Walk<'t>> {
    nodes
        .iter()
        .filter_map(|&n| {
            let name = iterator_macro(n, src)?;
            if engine.pack.flow.iterators.contains_key(name) {
                return None;
            }
            let args = n.field("condition").map(comma_operands).unwrap_or_default();
            Some(Walk {
                node: n,
                name: name.to_string(),
                mentions: Mentions::of(&args, src),
                args,
            })
        })
        .collect()
}

/// Iterator macros (read as `while (args)` by the macro pass): the cursor
/// walks the array, as if assigned from it.
fn iterator_assignments<'t>(
    engine: &Engine,
    nodes: &[Node<'t>],
    src: &[u8],
) -> Vec<Assignment<'t>> {
    let mut out = Vec::new();
    for &n in nodes {
        let Some(name) = iterator_macro(n, src) else {
            continue;
        };
        let Some(&(cursor, array)) = engine.pack.flow.iterators.get(name) else {
            continue;
        };
        let args = n.field("condition").map(comma_operands).unwrap_or_default();
        if let (Some(&lhs), Some(&rhs)) = (args.get(cursor), args.get(array)) {
            // A cursor passed by address (`&piter`) is the variable itself.
            let lhs = match shape(lhs, src) {
                ExprShape::AddressOf(inner) => inner,
                _ => lhs,
            };
            out.push(Assignment {
                node: n,
                lhs,
                rhs,
                plain: true,
            });
        }
    }
    out
}

/// The operands of `(a, b, c)`, a parenthesised comma expression.
fn comma_operands(node: Node) -> Vec<Node> {
    let mut out = Vec::new();
    let mut cur = match node.kind_str() {
        "parenthesized_expression" => node.named_child(0),
        _ => Some(node),
    };
    while let Some(n) = cur {
        if n.kind_str() == "comma_expression" {
            if let Some(l) = n.field("left") {
                out.push(l);
            }
            cur = n.field("right");
        } else {
            out.push(n);
            cur = None;
        }
    }
    out
}

/// Propagates to a fixpoint; reports `Limit::FixpointRounds` when the
/// bound is reached first. Each pass evaluates the constraints that
/// mention a name holding tracked values, except those whose last
/// evaluation read nothing that has changed since (`Memo`): evaluating
/// them again would store what they stored then.
pub(crate) fn fixpoint(cx: &mut FlowContext, k: &Constraints) {
    let mut hot = HotConstraints::new(k);
    let mut memos = Memos {
        assignments: vec![None; k.assignments.len()],
        calls: vec![None; k.calls.len()],
        returns: vec![None; k.returns.len()],
    };
    for _ in 0..FIXPOINT_ROUNDS {
        if !pass(cx, k, &mut hot, Some(&mut memos)) {
            // In debug builds (the test suite's), a pass that evaluates
            // every hot constraint again must find nothing to change.
            #[cfg(debug_assertions)]
            assert!(
                !pass(cx, k, &mut hot, None),
                "a constraint read something its memo did not record"
            );
            return;
        }
    }
    cx.hit(Limit::FixpointRounds(FIXPOINT_ROUNDS));
}

/// What a constraint read when last evaluated: the change count then,
/// whether it was hot, and the reads.
#[derive(Clone)]
struct Memo {
    at: u64,
    hot: bool,
    reads: Vec<ReadKey>,
}

/// The memo of each constraint, by kind and index.
struct Memos {
    assignments: Vec<Option<Memo>>,
    calls: Vec<Option<Memo>>,
    returns: Vec<Option<Memo>>,
}

/// Evaluates `step` unless `memo` says its reads are unchanged since it
/// last ran with the same hotness; keeps what it read. Without a memo,
/// always evaluates. Whether anything changed.
fn memoised(
    cx: &mut FlowContext,
    memo: Option<&mut Option<Memo>>,
    hot: bool,
    step: impl FnOnce(&mut FlowContext) -> bool,
) -> bool {
    let Some(memo) = memo else {
        return step(cx);
    };
    if let Some(m) = memo.as_ref() {
        let unchanged = |r: &ReadKey| cx.changed_at.get(r).is_none_or(|&t| t <= m.at);
        if m.hot == hot && m.reads.iter().all(unchanged) {
            return false;
        }
    }
    let at = cx.changes;
    *cx.reads.borrow_mut() = Some(Vec::new());
    let changed = step(cx);
    let mut reads = cx.reads.borrow_mut().take().unwrap_or_default();
    reads.sort_unstable();
    reads.dedup();
    *memo = Some(Memo { at, hot, reads });
    changed
}

/// One pass over the constraints; whether anything changed.
fn pass(
    cx: &mut FlowContext,
    k: &Constraints,
    hot: &mut HotConstraints,
    mut memos: Option<&mut Memos>,
) -> bool {
    let mut changed = false;
    for (i, (func, asg)) in k.assignments.iter().enumerate() {
        hot.update(&cx.hot);
        if hot.assignments[i] {
            let memo = memos.as_deref_mut().map(|m| &mut m.assignments[i]);
            changed |= memoised(cx, memo, true, |cx| assignment(cx, *func, asg));
        }
    }
    for (i, (func, call)) in k.calls.iter().enumerate() {
        hot.update(&cx.hot);
        let is_hot = hot.calls[i];
        let memo = memos.as_deref_mut().map(|m| &mut m.calls[i]);
        changed |= match k.element_stores[i] {
            Some(store) if is_hot => {
                memoised(cx, memo, true, |cx| element_store(cx, *func, call, store))
            }
            Some(_) => false,
            None => memoised(cx, memo, is_hot, |cx| {
                arguments(cx, *func, &k.call_args[i], &k.call_targets[i], is_hot)
            }),
        };
    }
    for (i, (func, e)) in k.returns.iter().enumerate() {
        hot.update(&cx.hot);
        if hot.returns[i] {
            let memo = memos.as_deref_mut().map(|m| &mut m.returns[i]);
            changed |= memoised(cx, memo, true, |cx| {
                let v = cx.eval(*func, *e, 0);
                cx.merge(Loc::Ret(*func), &v)
            });
        }
    }
    changed
}

/// Which constraints mention a name that holds tracked values: what
/// `Mentions::hot` answers for each, kept up to date as `Hot` gains names
/// (it never loses one), so that a round of the fixpoint asks nothing of
/// the constraints that mention no such name.
struct HotConstraints<'k, 't> {
    assignments: Vec<bool>,
    calls: Vec<bool>,
    returns: Vec<bool>,
    k: &'k Constraints<'t>,
    /// How many of `Hot`'s names have been applied.
    seen: usize,
}

impl<'k, 't> HotConstraints<'k, 't> {
    /// None of the constraints hot yet.
    fn new(k: &'k Constraints<'t>) -> HotConstraints<'k, 't> {
        HotConstraints {
            assignments: vec![false; k.assignments.len()],
            calls: vec![false; k.calls.len()],
            returns: vec![false; k.returns.len()],
            k,
            seen: 0,
        }
    }

    /// Marks the constraints that mention the names `hot` gained since the
    /// last call.
    fn update(&mut self, hot: &Hot) {
        let added = hot.added_since(self.seen);
        if added.is_empty() {
            return;
        }
        self.seen += added.len();
        for name in added {
            let index = &self.k.mentioned;
            let slots = match name {
                HotName::Var(func, n) => index.var(self.k, *func, n),
                HotName::Ret(n) => index.ident(self.k, n),
                HotName::Field(n) => index.field(n).to_vec(),
            };
            for slot in slots {
                match slot {
                    Slot::Assignment(i) => self.assignments[i] = true,
                    Slot::Call(i) => self.calls[i] = true,
                    Slot::Return(i) => self.returns[i] = true,
                }
            }
        }
    }
}

/// `lhs = rhs`: the value into the location, arrays aliased both ways, pages
/// stored into an element of another unit's array joining the two units.
fn assignment(cx: &mut FlowContext, func: FuncId, asg: &Assignment) -> bool {
    let mut changed = false;
    let v = cx.eval(func, asg.rhs, 0);
    let src = cx.src(func);
    // A page into an element field (`bvec[i].bv_page = page`) is a page
    // into the element's container, not into every struct of that type.
    if let Some(home) = element_field_home(cx, func, asg.lhs) {
        if let (Some((home, single)), false) = (home, v.pages.is_empty()) {
            changed |= store_into(cx, home, single, &v.pages);
        }
        return changed;
    }
    match shape(asg.lhs, src) {
        ExprShape::Ident(_) | ExprShape::Field { .. } => {
            if let Some(loc) = cx.loc_of(func, asg.lhs).filter(|l| !cx.borrowing(l)) {
                changed |= cx.merge(loc.clone(), &v);
                // Arrays alias both ways: filling one fills the other. A
                // compound assignment (`pages += n`) moves the left side; its
                // right side is a count, not an alias.
                let alias = if asg.plain {
                    alias_loc(cx, func, asg.rhs)
                } else {
                    None
                };
                if let Some(rloc) = alias {
                    if let Some(filled) = cx.fills_of(&loc).cloned() {
                        changed |= cx.merge(rloc.clone(), &Val::arrays(filled.clone()));
                        changed |= cx.add_fills(rloc, filled);
                    }
                }
            }
        }
        // A number into an element of a `u32` array stores no page.
        ExprShape::Subscript { base, .. } | ExprShape::Deref(base)
            if cx.has_narrow_elements(func, base) => {}
        ExprShape::Subscript { base, .. } | ExprShape::Deref(base) => {
            let b = cx.eval(func, base, 0);
            // A store through a page, or its address, that is no array of
            // pages (`*(u64 *)sge->vaddr = sum`) writes into the page's
            // data: a number there is the user's data, never a reference
            // the kernel reads back and releases.
            if !b.pages.is_empty() && b.arrays.is_empty() {
                return changed;
            }
            for &x in &b.arrays {
                for &y in &v.pages {
                    cx.union(x, y);
                }
            }
            // Pages (or their identities) stored into an element: the array
            // holds them, whatever its type.
            if !v.pages.is_empty() {
                if let Some((home, single)) = element_home(cx, func, base) {
                    changed |= store_into(cx, home, single, &v.pages);
                }
            }
        }
        _ => {}
    }
    changed
}

/// Records that `units`' pages are stored into the elements of `home` (or
/// into `home` itself when it is a single-element container).
fn store_into(cx: &mut FlowContext, home: Loc, single: bool, units: &BTreeSet<UnitId>) -> bool {
    let v = if single {
        Val::pages(units.clone())
    } else {
        Val::arrays(units.clone())
    };
    let mut changed = cx.merge(home.clone(), &v);
    changed |= cx.add_fills(home, units.iter().copied());
    changed
}

/// A page stored into an element of a container array, or every page of
/// an array stored into a container's elements.
fn element_store(cx: &mut FlowContext, func: FuncId, call: &Call, store: ElementStore) -> bool {
    let args = call.args();
    let (Some(&container), Some(&value)) = (args.get(store.container), args.get(store.value))
    else {
        return false;
    };
    let stored = stored_units(cx, func, value, store);
    if stored.is_empty() {
        return false;
    }
    let existing = cx.eval(func, container, 0).arrays;
    for &x in &existing {
        for &y in &stored {
            cx.union(x, y);
        }
    }
    match element_home(cx, func, container) {
        // A container filled from a whole array holds many pages, even when
        // it is passed as `&table`.
        Some((home, single)) => store_into(cx, home, single && !store.whole_array, &stored),
        None => false,
    }
}

/// The units whose pages a container store puts into the container: the
/// pages the value holds, or for a whole-array store the pages of the
/// arrays it holds.
pub(crate) fn stored_units(
    cx: &FlowContext,
    func: FuncId,
    value: Node,
    store: ElementStore,
) -> BTreeSet<UnitId> {
    let v = cx.eval(func, value, 0);
    if store.whole_array {
        v.arrays
    } else {
        v.pages
    }
}

/// Arguments into the parameters of the functions a call reaches, and what
/// a callee fills back into the caller's array (or page). `hot`: whether
/// the call mentions a name that holds tracked values.
fn arguments(
    cx: &mut FlowContext,
    func: FuncId,
    args: &[Node],
    targets: &[FuncId],
    hot: bool,
) -> bool {
    let mut changed = false;
    let src = cx.src(func);
    for &g in targets {
        if !hot && !cx.is_filling(g) {
            continue;
        }
        let params = cx.funcs[g].params.clone();
        for (k, &arg) in args.iter().enumerate() {
            let Some(param) = params.get(k) else { break };
            let v = cx.eval(func, arg, 0);
            // A page's identity the callee only reads (or hands back, see
            // `eval_call`) stays here.
            let read_only = v.arrays.is_empty()
                && cx.is_identity(func, arg)
                && cx.identity_use(g, k) != IdentityUse::Kept;
            if !read_only {
                changed |= cx.merge(Loc::Var(g, param.clone()), &v);
            }
            // The callee may fill the caller's array (or page).
            let filled: BTreeSet<_> = cx
                .fills_of(&Loc::Var(g, param.clone()))
                .cloned()
                .unwrap_or_default();
            if filled.is_empty() {
                continue;
            }
            let target = match shape(arg, src) {
                ExprShape::AddressOf(inner)
                    if matches!(
                        shape(inner, src),
                        ExprShape::Ident(_) | ExprShape::Field { .. }
                    ) =>
                {
                    cx.loc_of(func, inner)
                        .map(|l| (l, Val::pages(filled.clone())))
                }
                _ => alias_loc(cx, func, arg).map(|l| (l, Val::arrays(filled.clone()))),
            };
            if let Some((l, v)) = target {
                changed |= cx.merge(l.clone(), &v);
                changed |= cx.add_fills(l, filled);
            }
        }
    }
    changed
}
