//! Releases under a flag that tells the pages apart. A driver that keeps
//! user pages and pages of its own in one place often records which is
//! which next to them, and its release path tests the record:
//!
//! ```c
//! if (put) put_page(page); else __free_page(page);      /* a parameter */
//! if (f->user) put_page(f->page); else __free_page(f->page); /* a field */
//! ```
//!
//! The fixpoint is flow-insensitive: both branches see every value the
//! location ever holds. Here a release subject read under such a test is
//! evaluated again with the test in mind: a parameter's value is what the
//! callers pass for it, leaving out the calls whose argument for the flag
//! is a constant that fails the test; a field's value is what its stores
//! put there, leaving out the stores whose sibling store of the flag (same
//! object expression, same block) fails it, following a flag that is
//! itself a parameter to the callers (`GUARD_DEPTH` levels); a local
//! variable's value is what its assignments put there, leaving out those
//! under a test of the same flag (a parameter its function never changes)
//! that fails, since one call runs with one value of the flag.
//!
//! Only when it is sure: the function's callers are all read and its
//! address is never taken; the flag and the value parameters are assigned
//! only together (`page = NULL; put = 0;`, counted like a call), never
//! incremented nor their address taken; every mention of a flag field in
//! the files read is a read or a paired store (or another struct's
//! member); two stores are a pair only with nothing but assignments
//! between them; and the values and values from elsewhere the calls and
//! stores account for cover everything the fixpoint put in the location.
//! Otherwise the answer is `Answer::Unknown` (or `Answer::Waiting` for
//! callers and fields not read yet), and the location's whole value
//! stands. `explain` shows each value left out (`Separation::Flag`).
//!
//! `Guards::store_branch` and `Guards::read_apart` tell apart the two branches of one `if` the
//! same way, for another value stored into a local array: one call of the
//! function runs one branch when the test only reads parameters it never
//! changes, so a release that reads the array in the other branch, or
//! through an object whose flag only the other branch sets, never sees
//! the value when the array and the object are allocated afresh by each
//! call (`Separation::Branch`).

use super::escapes::value_sources;
use super::ids::FuncId;
use super::objects::{every_field_mention, macro_mentions, ObjectTrace};
use super::propagate::{Constraints, Slot};
use super::{text, FlowContext, Limit, Loc, Need, Needs, Origins, Val};
use crate::c::syntax::{ancestors_up_to, shape, strip, Assignment, ExprShape};
use crate::c::NodeExt;
use crate::engine::hash::{HashMap, HashSet};
use crate::engine::reason::Origin;
use std::cell::RefCell;
use std::rc::Rc;
use tree_sitter::Node;

/// How many calls deep a flag passed on as a parameter is followed
/// (`Limit::GuardDepth` when a caller further away passes it on too).
pub(crate) const GUARD_DEPTH: usize = 3;

/// What a release subject holds under the tests it runs under.
#[derive(Default, Debug)]
pub(crate) struct Guarded {
    pub val: Val,
    pub others: Origins,
    /// The flag tested (as the test reads it), whether the subject is read
    /// where it is set, and the values from elsewhere the test leaves out.
    pub told: Option<(String, bool, Vec<Origin>)>,
}

impl Guarded {
    /// A value and the values from elsewhere that come with it.
    fn new(val: Val, others: Vec<Origin>) -> Guarded {
        Guarded {
            val,
            others: others.into_iter().collect(),
            told: None,
        }
    }

    fn add(&mut self, other: Guarded) {
        self.val.extend(other.val);
        for o in other.others.into_vec() {
            self.others.add(o);
        }
    }

    /// Whether `self` and `dropped` together account for everything a
    /// location holds.
    fn covers(&self, dropped: &Guarded, full: &super::Info) -> bool {
        let units = |v: &Val, u| v.arrays.contains(u) || v.pages.contains(u);
        let arrays = full
            .arrays
            .iter()
            .all(|u| self.val.arrays.contains(u) || dropped.val.arrays.contains(u));
        let pages = full
            .pages
            .iter()
            .all(|u| units(&self.val, u) || units(&dropped.val, u));
        let others = full
            .others
            .iter()
            .all(|o| self.others.contains(o) || dropped.others.contains(o));
        arrays && pages && others
    }
}

/// A test a node runs under: the flag tested (a parameter or a field read)
/// and the truth it must have.
struct Test<'t> {
    flag: Node<'t>,
    holds: bool,
    /// The branch the node is in.
    branch: Node<'t>,
}

/// The tests a node of `function` (its definition) runs under, innermost
/// first: the conditions of the `if` statements whose branch holds it,
/// when each tests a variable or a field for being set (`x`, `!x`,
/// `x != 0`, `x == 0`, `x != NULL`).
fn tests<'t>(function: Node<'t>, node: Node<'t>, src: &[u8]) -> Vec<Test<'t>> {
    let mut out = Vec::new();
    let mut child = node;
    for parent in ancestors_up_to(function, node) {
        if parent.kind_str() == "function_definition" {
            break;
        }
        if parent.kind_str() == "if_statement" {
            let then = parent.field("consequence") == Some(child);
            let otherwise = child.kind_str() == "else_clause";
            if then || otherwise {
                if let Some((flag, set)) =
                    parent.field("condition").and_then(|c| tested_flag(c, src))
                {
                    out.push(Test {
                        flag,
                        holds: set == then,
                        branch: child,
                    });
                }
            }
        }
        child = parent;
    }
    out
}

/// The variable or field a condition tests, and whether the condition
/// holds when it is set.
fn tested_flag<'t>(cond: Node<'t>, src: &[u8]) -> Option<(Node<'t>, bool)> {
    let cond = strip(cond);
    match cond.kind_str() {
        "identifier" | "field_expression" => Some((cond, true)),
        "unary_expression" => {
            let not = cond.field("operator").map(|o| o.kind_str()) == Some("!");
            let (flag, set) = tested_flag(cond.field("argument")?, src)?;
            not.then_some((flag, !set))
        }
        "binary_expression" => {
            let op = cond.field("operator")?.kind_str();
            let right = cond.field("right")?;
            if literal_truth(right, src) != Some(false) {
                return None;
            }
            let (flag, set) = tested_flag(cond.field("left")?, src)?;
            match op {
                "!=" => Some((flag, set)),
                "==" => Some((flag, !set)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether a constant is set: `0`, `false` and `NULL` are not, any other
/// number and `true` are; `None` for anything else.
fn literal_truth(node: Node, src: &[u8]) -> Option<bool> {
    let node = strip(node);
    let word = &src[node.byte_range()];
    match node.kind_str() {
        "number_literal" => super::values::number_value(word).map(|v| v != 0),
        "true" => Some(true),
        "false" | "null" => Some(false),
        "identifier" if word == b"NULL" => Some(false),
        _ => None,
    }
}

/// Whether a constant argument fails a test that wants the flag `holds`.
fn fails(arg: Node, holds: bool, src: &[u8]) -> bool {
    literal_truth(arg, src).is_some_and(|t| t != holds)
}

/// A store into a local array in one branch of an `if` that runs the same
/// way throughout one call (`Guards::store_branch`).
pub(crate) struct StoreBranch<'t> {
    func: FuncId,
    /// The array stored into.
    array: Node<'t>,
    /// The other branch of the `if`.
    other: Node<'t>,
    /// The test of the `if`, as written.
    pub condition: String,
    /// The store runs when the test holds.
    pub in_then: bool,
}

/// The guarded evaluation: `cx` after the fixpoint, `k` its constraints.
pub(crate) struct Guards<'c, 'a, 't> {
    cx: &'c FlowContext<'a, 't>,
    k: &'c Constraints<'t>,
    scanned: &'c Needs,
    /// What an answer waits on: callers or fields not read yet (each with
    /// whether it is local to a `.c` file).
    wanted: RefCell<Vec<(Need, bool)>>,
    /// Per function, read on first use: the words its body changes and
    /// declares `static` (`BodyWords`), so that the releases of one long
    /// function do not each walk its body.
    body_words: RefCell<HashMap<FuncId, Rc<BodyWords>>>,
    /// The answers of `flag_stores` so far, with the needs each asked for:
    /// every release under a test of one flag field asks the same.
    flag_stores: RefCell<HashMap<(String, String, Loc), FlagStores<'t>>>,
}

/// What `Guards::flag_stores` found, and the needs it asked for.
type FlagStores<'t> = (Option<Vec<(FuncId, Node<'t>, Node<'t>)>>, Vec<(Need, bool)>);

/// What a guarded evaluation asks of a whole function body.
struct BodyWords {
    /// The names incremented, decremented or whose address is taken
    /// (`changes_word`).
    changed: HashSet<String>,
    /// The identifiers of its `static` declarations (`declared_static`).
    statics: HashSet<String>,
}

impl BodyWords {
    fn of(nodes: &[Node], src: &[u8]) -> BodyWords {
        let mut changed = HashSet::default();
        let mut statics = HashSet::default();
        for &n in nodes {
            if let Some(name) = changed_word(n, src) {
                changed.insert(name);
            }
            if declares_static(n, src) {
                statics.extend(identifiers(n, src));
            }
        }
        BodyWords { changed, statics }
    }

    /// Whether the body changes one of `names` (`x++`, `--x`, `&x`).
    fn changes_any(&self, names: &[&str]) -> bool {
        names.iter().any(|n| self.changed.contains(*n))
    }
}

/// What a guarded evaluation found.
pub(crate) enum Answer {
    /// The tests tell the values apart: what they let through.
    Known(Guarded),
    /// They may, once these are read.
    Waiting(Vec<(Need, bool)>),
    /// No test applies, or the answer is not sure.
    Unknown,
}

impl<'c, 'a, 't> Guards<'c, 'a, 't> {
    pub fn new(cx: &'c FlowContext<'a, 't>, k: &'c Constraints<'t>, scanned: &'c Needs) -> Self {
        Guards {
            cx,
            k,
            scanned,
            wanted: RefCell::new(Vec::new()),
            body_words: RefCell::new(HashMap::default()),
            flag_stores: RefCell::new(HashMap::default()),
        }
    }

    /// How many needs the answers so far asked for.
    pub fn asked(&self) -> usize {
        self.wanted.borrow().len()
    }

    /// The needs asked for since `asked` returned `since`.
    pub fn wanted_since(&self, since: usize) -> Vec<(Need, bool)> {
        self.wanted.borrow()[since..].to_vec()
    }

    /// What the body of `g` changes and declares `static`.
    fn body_words(&self, g: FuncId) -> Rc<BodyWords> {
        let mut all = self.body_words.borrow_mut();
        let words = all
            .entry(g)
            .or_insert_with(|| Rc::new(BodyWords::of(&self.cx.funcs[g].nodes, self.cx.src(g))));
        Rc::clone(words)
    }

    /// What `subject` (an expression of `func`) holds under the tests it
    /// runs under.
    pub fn answer(&self, func: FuncId, subject: Node<'t>) -> Answer {
        let asked = self.wanted.borrow().len();
        let found = self.value(func, subject);
        let wanted = self.wanted.borrow_mut().split_off(asked);
        // An answer given before everything it asks about is read may
        // tell more once it is.
        match found {
            _ if !wanted.is_empty() => Answer::Waiting(wanted),
            Some(g) => Answer::Known(g),
            None => Answer::Unknown,
        }
    }

    /// What `subject` holds under the tests it runs under, when a test
    /// tells some of the location's values apart; `None` when no test
    /// applies or the answer is not sure.
    fn value(&self, func: FuncId, subject: Node<'t>) -> Option<Guarded> {
        let cx = self.cx;
        let src = cx.src(func);
        let subject = strip(subject);
        for test in tests(cx.funcs[func].def.node, subject, src) {
            let found = match (shape(subject, src), shape(test.flag, src)) {
                (ExprShape::Ident(_), ExprShape::Ident(_)) => {
                    let params = &cx.funcs[func].params;
                    let value = params.iter().position(|p| *p == text(subject, src));
                    let flag = params.iter().position(|p| *p == text(test.flag, src));
                    match (value, flag) {
                        (Some(value), Some(flag)) if flag != value => {
                            self.parameter(func, value, (flag, test.holds), 0)
                        }
                        (None, Some(_)) => {
                            self.local(func, &text(subject, src), &text(test.flag, src), test.holds)
                        }
                        _ => None,
                    }
                }
                (
                    ExprShape::Field { base, .. },
                    ExprShape::Field {
                        base: flag_base, ..
                    },
                ) if text(base, src) == text(flag_base, src)
                    && !assigns_any(test.branch, &identifiers(base, src), src) =>
                {
                    self.field(func, subject, test.flag, test.holds)
                }
                _ => None,
            };
            if let Some((mut kept, dropped)) = found {
                kept.told = Some((text(test.flag, src), test.holds, dropped.others.into_vec()));
                return Some(kept);
            }
        }
        None
    }

    /// Whether a function's callers are all known: a `static` function of
    /// a `.c` file whose callers were read and whose address is never
    /// taken.
    fn callers_known(&self, g: FuncId) -> bool {
        let cx = self.cx;
        let f = &cx.funcs[g];
        if !f.file_local {
            return false;
        }
        if !self.scanned.local_callers.contains(&f.name) && !self.scanned.callers.contains(&f.name)
        {
            self.wanted
                .borrow_mut()
                .push((Need::Callers(f.name.clone()), true));
            return false;
        }
        let taken = cx
            .funcs
            .iter()
            .any(|h| h.constraints.references.contains_key(&f.name))
            || cx
                .address_taken_at_file_scope(&f.name, self.scanned)
                .is_some()
            || macro_mentions(cx, f.file, &f.name);
        !taken
    }

    /// The assignments of `g` to parameter `value`, each with the value it
    /// gives parameter `flag` beside it (`partner`): `None` when one of the
    /// two is assigned alone, or incremented, or its address taken.
    fn local_pairs(
        &self,
        g: FuncId,
        value: &str,
        flag: &str,
    ) -> Option<Vec<(Assignment<'t>, Node<'t>)>> {
        let f = &self.cx.funcs[g];
        let src = self.cx.src(g);
        if self.body_words(g).changes_any(&[value, flag]) {
            return None;
        }
        let assigns = |a: &Assignment, name: &str| assigns_variable(a, name, src);
        let mut pairs = Vec::new();
        for a in f.constraints.stores() {
            if assigns(a, flag) {
                partner(a, |b| assigns(b, value))?;
            } else if assigns(a, value) {
                let flag_store = partner(a, |b| assigns(b, flag))?;
                pairs.push((*a, flag_store.rhs));
            }
        }
        Some(pairs)
    }

    /// What parameter `value` of `g` holds where parameter `flag` is
    /// (`holds`) or is not set: what the callers pass for it and what `g`
    /// assigns to it, less the calls and assignments whose flag fails the
    /// test; and, apart, what those left out hold.
    fn parameter(
        &self,
        g: FuncId,
        value: usize,
        (flag, holds): (usize, bool),
        depth: usize,
    ) -> Option<(Guarded, Guarded)> {
        let cx = self.cx;
        let f = &cx.funcs[g];
        let (value_name, flag_name) = (f.params.get(value)?, f.params.get(flag)?);
        if !self.callers_known(g) {
            return None;
        }
        let pairs = self.local_pairs(g, value_name, flag_name)?;
        let loc = Loc::Var(g, value_name.clone());
        if cx.fills.get(&loc).is_some_and(|u| !u.is_empty()) {
            return None;
        }
        let mut kept = Guarded::default();
        let mut dropped = Guarded::default();
        let src = cx.src(g);
        for (asg, flag_value) in &pairs {
            match fails(*flag_value, holds, src) {
                true => dropped.add(self.stored(g, asg)),
                false => kept.add(self.stored(g, asg)),
            }
        }
        for &i in self.k.mentioned.calls_of(g) {
            let (h, call) = &self.k.calls[i];
            let args = &self.k.call_args[i];
            let (arg, flag_arg) = (*args.get(value)?, *args.get(flag)?);
            // The callee as the call writes it (a forwarding macro's name),
            // as `escapes` records the values the call passes.
            let written = call
                .callee_name(cx.src(*h))
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .unwrap_or_else(|| f.name.clone());
            let passed = || self.argument(*h, call.node, arg, &written);
            if fails(flag_arg, holds, cx.src(*h)) {
                dropped.add(passed());
                continue;
            }
            match self.forwarded(*h, arg, flag_arg, holds, depth + 1) {
                Some((k, d)) => {
                    kept.add(k);
                    dropped.add(d);
                }
                None => kept.add(passed()),
            }
        }
        let full = cx.locs.get(&loc)?;
        kept.covers(&dropped, full).then_some((kept, dropped))
    }

    /// What local variable `value` of `g` holds where parameter `flag` is
    /// (`holds`) or is not set, when `g` never changes the flag: what the
    /// assignments to the variable put there, less those that run under a
    /// test of the flag that fails (`if (map_data) page = map_data->pages[i];
    /// else page = alloc_page(gfp);` then `if (!map_data)
    /// __free_page(page);`): one call of `g` runs with one value of the
    /// flag, and the variable holds nothing from another call. And, apart,
    /// what those left out hold.
    fn local(&self, g: FuncId, value: &str, flag: &str, holds: bool) -> Option<(Guarded, Guarded)> {
        let cx = self.cx;
        let f = &cx.funcs[g];
        let src = cx.src(g);
        let words = self.body_words(g);
        if !f.locals.contains(value) || words.statics.contains(value) {
            return None;
        }
        if words.changes_any(&[value, flag]) {
            return None;
        }
        let assigns = |a: &Assignment, name: &str| assigns_variable(a, name, src);
        if f.constraints.stores().any(|a| assigns(a, flag)) {
            return None;
        }
        let loc = Loc::Var(g, value.to_string());
        if cx.fills.get(&loc).is_some_and(|u| !u.is_empty()) {
            return None;
        }
        let mut kept = Guarded::default();
        let mut dropped = Guarded::default();
        for a in f.constraints.stores().filter(|a| assigns(a, value)) {
            let under = tests(f.def.node, a.node, src)
                .into_iter()
                .find(|t| t.flag.kind_str() == "identifier" && text(t.flag, src) == flag);
            match under {
                Some(t) if t.holds != holds => dropped.add(self.stored(g, a)),
                _ => kept.add(self.stored(g, a)),
            }
        }
        let full = cx.locs.get(&loc)?;
        kept.covers(&dropped, full).then_some((kept, dropped))
    }

    /// The branch a store into a local array (`storage`) runs in, when the
    /// store is in one branch of an `if` whose test only reads parameters
    /// its function never changes, so one call runs one branch: what
    /// `read_apart` asks of each release.
    pub fn store_branch(
        &self,
        (f, store): (FuncId, Node<'t>),
        storage: &Loc,
    ) -> Option<StoreBranch<'t>> {
        let cx = self.cx;
        let Loc::Var(owner, _) = storage else {
            return None;
        };
        if *owner != f {
            return None;
        }
        let src = cx.src(f);
        let array = match Assignment::new(store).map(|a| shape(a.lhs, src)) {
            Some(ExprShape::Subscript { base, .. } | ExprShape::Deref(base)) => base,
            _ => return None,
        };
        let (branch_if, in_then) = self.fixed_branch(f, store)?;
        let other = match in_then {
            true => branch_if.field("alternative")?,
            false => branch_if.field("consequence")?,
        };
        let condition = text(branch_if.field("condition")?, src);
        let condition = condition
            .strip_prefix('(')
            .and_then(|c| c.strip_suffix(')'))
            .map(str::to_string)
            .unwrap_or(condition);
        Some(StoreBranch {
            func: f,
            array,
            other,
            condition,
            in_then,
        })
    }

    /// Whether the release reading `subject` (in `g`, through `read`) can
    /// never see what the store of `branch` stores: the array is allocated
    /// afresh by each call, and the release either reads the array in the
    /// other branch, or reads it through a field of an object, also
    /// allocated by each call, under a test of a flag of that object which
    /// only the other branch sets (every store of the flag and of the
    /// field is in that function, into that object, and the field only
    /// ever holds the array).
    pub fn read_apart(
        &self,
        trace: &mut ObjectTrace<'_, '_, 't>,
        branch: &StoreBranch<'t>,
        storage: &Loc,
        (g, subject): (FuncId, Node<'t>),
        read: &Loc,
    ) -> bool {
        let cx = self.cx;
        let StoreBranch {
            func: f,
            array,
            other,
            ..
        } = *branch;
        let fresh = |trace: &mut ObjectTrace<'_, '_, 't>, node: Node<'t>| {
            trace
                .objects(f, node)
                .is_some_and(|o| !o.is_empty() && o.iter().all(|a| a.func() == f))
        };
        let within =
            |n: Node, b: Node| n.start_byte() >= b.start_byte() && n.end_byte() <= b.end_byte();
        // The array read in the other branch of the same call.
        if read == storage && g == f && within(subject, other) {
            return fresh(trace, array);
        }
        // The array read through a field, under a test of a flag.
        let Loc::Field(s, field) = read else {
            return false;
        };
        let read_src = cx.src(g);
        let mut node = strip(subject);
        let read_base = loop {
            match shape(node, read_src) {
                ExprShape::Field { base, .. } => break base,
                ExprShape::Subscript { base, .. } | ExprShape::Deref(base) => node = strip(base),
                _ => return false,
            }
        };
        for test in tests(cx.funcs[g].def.node, subject, read_src) {
            let ExprShape::Field { base, .. } = shape(test.flag, read_src) else {
                continue;
            };
            if text(base, read_src) != text(read_base, read_src)
                || assigns_any(test.branch, &identifiers(read_base, read_src), read_src)
            {
                continue;
            }
            let Some(Loc::Field(flag_s, flag)) = cx.loc_of(g, test.flag) else {
                continue;
            };
            if flag_s != *s || flag == *field {
                continue;
            }
            let Some(object) = self.set_only_in(f, other, (s, &flag, field), test.holds, storage)
            else {
                continue;
            };
            if fresh(trace, object) && fresh(trace, array) {
                return true;
            }
        }
        false
    }

    /// The innermost `if` of `f` a node is in a branch of, and whether it
    /// is the first branch, when the test only reads parameters `f` never
    /// changes (and constants in capitals): every run of the `if` in one
    /// call of `f` takes the same branch.
    fn fixed_branch(&self, f: FuncId, node: Node<'t>) -> Option<(Node<'t>, bool)> {
        let cx = self.cx;
        let src = cx.src(f);
        let mut child = node;
        let (branch_if, in_then) = loop {
            let parent = child.parent()?;
            if parent.kind_str() == "function_definition" {
                return None;
            }
            if parent.kind_str() == "if_statement" {
                if parent.field("consequence") == Some(child) {
                    break (parent, true);
                }
                if child.kind_str() == "else_clause" {
                    break (parent, false);
                }
            }
            child = parent;
        };
        let condition = branch_if.field("condition")?;
        let params = &cx.funcs[f].params;
        let mut names = Vec::new();
        let mut plain = true;
        crate::c::syntax::preorder(condition, |n| {
            match n.kind_str() {
                "call_expression"
                | "field_expression"
                | "subscript_expression"
                | "assignment_expression"
                | "update_expression"
                | "pointer_expression" => plain = false,
                "identifier" => {
                    let name = text(n, src);
                    if params.contains(&name) {
                        names.push(name);
                    } else if !super::summaries::is_macro_name(&name) && name != "NULL" {
                        plain = false;
                    }
                }
                _ => {}
            }
            plain
        });
        if !plain {
            return None;
        }
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let fc = &cx.funcs[f];
        let assigned = fc.constraints.stores().any(|a| {
            let lhs = strip(a.lhs);
            lhs.kind_str() == "identifier" && names.contains(&&*text(lhs, src))
        });
        let changed = self.body_words(f).changes_any(&names);
        (!assigned && !changed).then_some((branch_if, in_then))
    }

    /// The object expression every store of flag field `flag` of struct
    /// `s` writes through, when every such store is in `f`, stores a
    /// constant, and stores one that passes the test (`holds`) only inside
    /// `branch`; and every store of the field `field` of `s` is in `f`,
    /// writes through the same object expression and stores the array
    /// `storage`.
    fn set_only_in(
        &self,
        f: FuncId,
        branch: Node<'t>,
        (s, flag, field): (&str, &str, &str),
        holds: bool,
        storage: &Loc,
    ) -> Option<Node<'t>> {
        let cx = self.cx;
        let src = cx.src(f);
        let within =
            |n: Node| n.start_byte() >= branch.start_byte() && n.end_byte() <= branch.end_byte();
        let mut objects: Vec<Node<'t>> = Vec::new();
        let mut wanted = Vec::new();
        // Every store of `name` must be one in `f` (whose text `src` is)
        // that `accepts`; the object each writes through is kept.
        let mut stores_in_f = |name: &str, accepts: &dyn Fn(&Assignment<'t>) -> Option<bool>| {
            every_field_mention(
                cx,
                self.scanned,
                (s, name),
                &mut wanted,
                |id, n| match written(n) {
                    Written::Read => Some(()),
                    Written::Changed => None,
                    Written::Stored(_) if id != f => None,
                    Written::Stored(asg) => {
                        let ExprShape::Field { base, .. } = shape(n, src) else {
                            return None;
                        };
                        accepts(&asg)?.then(|| objects.push(base))
                    }
                },
            )
        };
        let flag_stores = |asg: &Assignment<'t>| {
            let passes = literal_truth(asg.rhs, src)? == holds;
            Some(!passes || within(asg.node))
        };
        let field_stores = |asg: &Assignment<'t>| {
            Some(super::values::alias_loc(cx, f, asg.rhs).as_ref() == Some(storage))
        };
        let fields =
            stores_in_f(flag, &flag_stores).and_then(|()| stores_in_f(field, &field_stores));
        self.wanted.borrow_mut().extend(wanted);
        fields?;
        let first = *objects.first()?;
        let same = objects.iter().all(|&o| text(o, src) == text(first, src));
        same.then_some(first)
    }

    /// A value and a flag a caller passes on from its own parameters.
    fn forwarded(
        &self,
        h: FuncId,
        value: Node<'t>,
        flag: Node<'t>,
        holds: bool,
        depth: usize,
    ) -> Option<(Guarded, Guarded)> {
        let src = self.cx.src(h);
        let params = &self.cx.funcs[h].params;
        let position = |n: Node| {
            let n = strip(n);
            (n.kind_str() == "identifier")
                .then(|| params.iter().position(|p| *p == text(n, src)))
                .flatten()
        };
        let (v, p) = (position(value)?, position(flag)?);
        if v == p {
            return None;
        }
        if depth > GUARD_DEPTH {
            self.cx.hit(Limit::GuardDepth(GUARD_DEPTH));
            return None;
        }
        self.parameter(h, v, (p, holds), depth)
    }

    /// What one call passes for a parameter that holds pages: the value,
    /// or the argument as a value from elsewhere, with the values from
    /// elsewhere it carries.
    fn argument(&self, h: FuncId, call: Node<'t>, arg: Node<'t>, callee: &str) -> Guarded {
        let cx = self.cx;
        let val = cx.eval(h, arg, 0);
        let mut others = Vec::new();
        if val.is_empty() && !cx.holds_no_page(h, arg) {
            others.push(Origin::Argument {
                value: text(arg, cx.src(h)),
                callee: callee.to_string(),
                caller: cx.funcs[h].name.clone(),
                place: cx.place(h, call),
            });
        }
        self.carried(h, arg, &mut others);
        Guarded::new(val, others)
    }

    /// What a store puts into a field, as `argument` for a call.
    fn stored(&self, h: FuncId, asg: &Assignment<'t>) -> Guarded {
        let cx = self.cx;
        let val = cx.eval(h, asg.rhs, 0);
        let mut others = Vec::new();
        if val.is_empty() && !cx.holds_no_page(h, asg.rhs) {
            others.push(Origin::Assigned {
                value: text(asg.rhs, cx.src(h)),
                place: cx.place(h, asg.node),
            });
        }
        self.carried(h, asg.rhs, &mut others);
        Guarded::new(val, others)
    }

    /// The values from elsewhere the locations an expression reads hold.
    fn carried(&self, h: FuncId, e: Node<'t>, others: &mut Vec<Origin>) {
        for l in value_sources(self.cx, h, e) {
            if let Some(info) = self.cx.locs.get(&l) {
                others.extend(info.others.iter().cloned());
            }
        }
    }

    /// What field `subject` holds when the field `flag` of the same object
    /// is (`holds`) or is not set.
    fn field(
        &self,
        func: FuncId,
        subject: Node<'t>,
        flag: Node<'t>,
        holds: bool,
    ) -> Option<(Guarded, Guarded)> {
        let cx = self.cx;
        let value_loc = cx.loc_of(func, subject)?;
        let flag_loc = cx.loc_of(func, flag)?;
        let (Loc::Field(s, value_field), Loc::Field(flag_s, flag_field)) = (&value_loc, &flag_loc)
        else {
            return None;
        };
        if s != flag_s || value_field == flag_field {
            return None;
        }
        let pairs = self.flag_stores(s, flag_field, &value_loc)?;
        if cx.fills.get(&value_loc).is_some_and(|u| !u.is_empty()) {
            return None;
        }
        let mut kept = Guarded::default();
        let mut dropped = Guarded::default();
        // Only an assignment that names the field (under one of its
        // spellings) can store into it; in program order.
        let stores = (self.k.mentioned)
            .naming_field(&cx.types, s, value_field)
            .into_iter()
            .filter_map(|slot| match slot {
                Slot::Assignment(i) => Some(i),
                _ => None,
            });
        for (h, asg) in stores.map(|i| &self.k.assignments[i]) {
            if cx.loc_of(*h, asg.lhs).as_ref() != Some(&value_loc) {
                continue;
            }
            let src = cx.src(*h);
            let paired = pairs
                .iter()
                .find(|(g, value, _)| g == h && *value == asg.node)
                .map(|(_, _, flag_value)| *flag_value);
            match paired {
                Some(w) if fails(w, holds, src) => dropped.add(self.stored(*h, asg)),
                Some(w) => match self.forwarded(*h, asg.rhs, w, holds, 1) {
                    Some((k, d)) => {
                        kept.add(k);
                        dropped.add(d);
                    }
                    None => kept.add(self.stored(*h, asg)),
                },
                None => kept.add(self.stored(*h, asg)),
            }
        }
        let full = cx.locs.get(&value_loc)?;
        kept.covers(&dropped, full).then_some((kept, dropped))
    }

    /// Every store of a flag field, each with the store of the value field
    /// beside it (same object expression, same block): (function, the
    /// value's store node, the flag's value). `None` when a mention of the
    /// flag field is anything else than a read or such a store, or when
    /// the files that name the flag field were not all read
    /// (`objects::every_field_mention`).
    fn flag_stores(
        &self,
        s: &str,
        flag_field: &str,
        value_loc: &Loc,
    ) -> Option<Vec<(FuncId, Node<'t>, Node<'t>)>> {
        let key = (s.to_string(), flag_field.to_string(), value_loc.clone());
        if let Some((pairs, wanted)) = self.flag_stores.borrow().get(&key) {
            self.wanted.borrow_mut().extend(wanted.iter().cloned());
            return pairs.clone();
        }
        let cx = self.cx;
        let mut pairs = Vec::new();
        let mut wanted = Vec::new();
        let read = every_field_mention(cx, self.scanned, (s, flag_field), &mut wanted, |id, n| {
            match written(n) {
                Written::Read => {}
                Written::Changed => return None,
                Written::Stored(asg) => {
                    let ExprShape::Field { base, .. } = shape(n, cx.src(id)) else {
                        return None;
                    };
                    let value = sibling_store(cx, id, &asg, base, value_loc)?;
                    pairs.push((id, value, asg.rhs));
                }
            }
            Some(())
        });
        self.wanted.borrow_mut().extend(wanted.iter().cloned());
        let found = read.map(|()| pairs);
        self.flag_stores
            .borrow_mut()
            .insert(key, (found.clone(), wanted));
        found
    }
}

/// How an expression is used.
enum Written<'t> {
    Read,
    /// The left side of a plain assignment.
    Stored(Assignment<'t>),
    /// Assigned otherwise, incremented, or its address taken.
    Changed,
}

fn written(n: Node) -> Written {
    let mut up = n;
    while let Some(p) = up.parent() {
        if p.kind_str() != "parenthesized_expression" {
            break;
        }
        up = p;
    }
    let Some(p) = up.parent() else {
        return Written::Read;
    };
    match p.kind_str() {
        "assignment_expression" if p.field("left") == Some(up) => match Assignment::new(p) {
            Some(a) if a.plain => Written::Stored(a),
            _ => Written::Changed,
        },
        "update_expression" => Written::Changed,
        "pointer_expression" if p.field("operator").map(|o| o.kind_str()) == Some("&") => {
            Written::Changed
        }
        _ => Written::Read,
    }
}

/// The plain assignment paired with `first`: one `matches` accepts, in
/// the same run of assignment statements of a block (nothing but
/// assignments between them, so no code runs that could see one done and
/// the other not).
fn partner<'t>(
    first: &Assignment<'t>,
    matches: impl Fn(&Assignment<'t>) -> bool,
) -> Option<Assignment<'t>> {
    let assignment = |st: Node<'t>| {
        (st.kind_str() == "expression_statement")
            .then(|| st.named_child(0))
            .flatten()
            .and_then(Assignment::new)
    };
    let statement = first.node.parent()?;
    if statement.kind_str() != "expression_statement" {
        return None;
    }
    for forward in [true, false] {
        let mut at = statement;
        loop {
            let next = if forward {
                at.next_named_sibling()
            } else {
                at.prev_named_sibling()
            };
            let Some(next) = next else {
                break;
            };
            at = next;
            if next.kind_str() == "comment" {
                continue;
            }
            let Some(asg) = assignment(next) else {
                break;
            };
            if asg.plain && matches(&asg) {
                return Some(asg);
            }
        }
    }
    None
}

/// The store of the value field beside a store of the flag field, into
/// the same object expression (`partner`).
fn sibling_store<'t>(
    cx: &FlowContext<'_, 't>,
    func: FuncId,
    flag_store: &Assignment<'t>,
    flag_base: Node<'t>,
    value_loc: &Loc,
) -> Option<Node<'t>> {
    let src = cx.src(func);
    let base_text = text(flag_base, src);
    let found = partner(flag_store, |asg| match shape(asg.lhs, src) {
        ExprShape::Field { base, .. } => {
            text(base, src) == base_text && cx.loc_of(func, asg.lhs).as_ref() == Some(value_loc)
        }
        _ => false,
    });
    found.map(|a| a.node)
}

/// The identifiers of an expression.
fn identifiers(node: Node, src: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    crate::c::syntax::preorder(node, |n| {
        if n.kind_str() == "identifier" {
            out.push(text(n, src));
        }
        true
    });
    out
}

/// Whether a subtree assigns, increments or takes the address of one of
/// `names`.
fn assigns_any(branch: Node, names: &[String], src: &[u8]) -> bool {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut found = false;
    crate::c::syntax::preorder(branch, |n| {
        if found {
            return false;
        }
        if let Some(a) = Assignment::new(n) {
            let lhs = strip(a.lhs);
            if lhs.kind_str() == "identifier" && names.contains(&&*text(lhs, src)) {
                found = true;
            }
        }
        if changes_word(n, &names, src) {
            found = true;
        }
        true
    });
    found
}

/// Whether an assignment stores into the variable `name` itself.
fn assigns_variable(a: &Assignment, name: &str, src: &[u8]) -> bool {
    let lhs = strip(a.lhs);
    lhs.kind_str() == "identifier" && text(lhs, src) == name
}

/// Whether a node is a `static` declaration: the variables it declares
/// keep their values from one call to the next.
fn declares_static(n: Node, src: &[u8]) -> bool {
    n.kind_str() == "declaration"
        && n.named_children(&mut n.walk())
            .any(|c| c.kind_str() == "storage_class_specifier" && &src[c.byte_range()] == b"static")
}

/// The name `x++`, `--x` or `&x` changes, when `n` is one of those on a
/// plain name.
fn changed_word(n: Node, src: &[u8]) -> Option<String> {
    let operand = match n.kind_str() {
        "update_expression" => n.field("argument"),
        "pointer_expression" if n.field("operator").map(|o| o.kind_str()) == Some("&") => {
            n.field("argument")
        }
        _ => None,
    };
    operand
        .map(strip)
        .filter(|o| o.kind_str() == "identifier")
        .map(|o| text(o, src))
}

/// `x++`, `--x` or `&x` for one of `names`.
fn changes_word(n: Node, names: &[&str], src: &[u8]) -> bool {
    changed_word(n, src).is_some_and(|w| names.contains(&w.as_str()))
}

#[cfg(test)]
mod tests {
    use super::{literal_truth, tested_flag, tests};
    use crate::c::syntax::{functions, preorder};
    use crate::c::NodeExt;

    fn parse(code: &str) -> tree_sitter::Tree {
        let mut p = tree_sitter::Parser::new();
        p.set_language(&tree_sitter_c::LANGUAGE.into()).unwrap();
        p.parse(code, None).unwrap()
    }

    /// The flag and its truth for the condition of the only `if` of `code`.
    fn flag(code: &str) -> Option<(String, bool)> {
        let tree = parse(code);
        let mut cond = None;
        preorder(tree.root_node(), |n| {
            if n.kind_str() == "if_statement" && cond.is_none() {
                cond = n.field("condition");
            }
            true
        });
        let (f, set) = tested_flag(cond?, code.as_bytes())?;
        Some((code[f.byte_range()].to_string(), set))
    }

    #[test]
    fn conditions_name_their_flag() {
        let f = |c: &str| flag(&format!("void f(void) {{ if ({c}) g(); }}"));
        assert_eq!(f("put"), Some(("put".into(), true)));
        assert_eq!(f("!put"), Some(("put".into(), false)));
        assert_eq!(f("!!put"), Some(("put".into(), true)));
        assert_eq!(f("p->a[i].user != 0"), Some(("p->a[i].user".into(), true)));
        assert_eq!(f("x == NULL"), Some(("x".into(), false)));
        assert_eq!(f("x == 1"), None);
        assert_eq!(f("x & FLAG"), None);
        assert_eq!(f("a && b"), None);
    }

    /// The tests the call of `callee` runs under, innermost first.
    fn tests_of(code: &str, callee: &str) -> Vec<(String, bool)> {
        let tree = parse(code);
        let mut call = None;
        preorder(tree.root_node(), |n| {
            if n.kind_str() == "call_expression" && code[n.byte_range()].starts_with(callee) {
                call = Some(n);
            }
            true
        });
        let function = functions(tree.root_node())[0].node;
        tests(function, call.unwrap(), code.as_bytes())
            .into_iter()
            .map(|t| (code[t.flag.byte_range()].to_string(), t.holds))
            .collect()
    }

    #[test]
    fn branches_of_an_else_chain_run_under_its_tests() {
        let code = "void f(void) { if (a) x(); else if (!b) { y(); } else z(); w(); }";
        let t = |s: &str| (s.to_string(), true);
        let f = |s: &str| (s.to_string(), false);
        assert_eq!(tests_of(code, "x"), vec![t("a")]);
        assert_eq!(tests_of(code, "y"), vec![f("b"), f("a")]);
        assert_eq!(tests_of(code, "z"), vec![t("b"), f("a")]);
        assert!(tests_of(code, "w").is_empty());
        // A test whose condition is not a flag is left out.
        let code = "void f(void) { if (n > 2) { if (p->user) x(); } }";
        assert_eq!(tests_of(code, "x"), vec![t("p->user")]);
    }

    #[test]
    fn constants_have_a_truth() {
        let truth = |c: &str| {
            let code = format!("int x = {c};");
            let tree = parse(&code);
            let mut value = None;
            preorder(tree.root_node(), |n| {
                if n.kind_str() == "init_declarator" {
                    value = n.field("value");
                }
                true
            });
            literal_truth(value.unwrap(), code.as_bytes())
        };
        assert_eq!(truth("0"), Some(false));
        assert_eq!(truth("1U"), Some(true));
        assert_eq!(truth("0x0"), Some(false));
        assert_eq!(truth("(u16)2"), Some(true));
        assert_eq!(truth("NULL"), Some(false));
        assert_eq!(truth("true"), Some(true));
        assert_eq!(truth("n"), None);
    }
}
