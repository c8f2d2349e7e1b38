//! Struct variables on the stack as objects of their own. The analysis
//! keys fields by struct and field name, so a value a function stores into
//! a field of its local struct (`fib.fmt0.aibv = virt_to_phys(v)`, the
//! struct then handed to firmware) lands in the same location as the user
//! page's address a driver keeps in that field of an object it allocated,
//! and the release that reads the allocated object's field seems to see
//! both. A local whose address only ever goes into calls is one object,
//! reached by its function through its name and by the callees through
//! the parameter they are handed it in; a value stored there reaches
//! another object only through a store into the field that reads it,
//! which the analysis sees (`apart_on_stack`). Such a copy carries nothing
//! from the local when its function has just overwritten the field
//! (`overwritten_before`): `fib->aibv = gaddr; kept->aibv = fib->aibv;`
//! copies `gaddr`, not what the caller had put there.
//!
//! A local's address handed to a function pinpatch cannot read, with no
//! other address beside it (`memcpy()` would copy the local there), is
//! taken as read there (firmware, an instruction), as a page's identity
//! handed there is; a copy of a whole struct made in code pinpatch does
//! not read is not seen (ARCHITECTURE.md, assumptions).

use super::ids::FuncId;
use super::objects::{
    declaration_in_scope, handed_to_unknown_call, outer, stored_unseen, ObjectTrace, Objects,
};
use super::values::bit_operands;
use super::{text, FlowContext, Limit, Loc};
use crate::c::syntax::{normalized, shape, ExprShape};
use crate::c::NodeExt;
use crate::engine::reason::{Blocker, Origin, Separation};
use std::collections::BTreeSet;
use tree_sitter::Node;

/// How many calls deep a local's address is followed into the parameters
/// it is handed in (`Limit::LocalAddressDepth` when a callee further away
/// is handed it too: the local is then an object nobody can tell apart).
pub(crate) const LOCAL_ADDRESS_DEPTH: usize = 4;

/// How many assignments of locals a release subject is followed back
/// through to the field reads its value comes from.
const READ_DEPTH: usize = 4;

/// Whether a local of `func`, declared by the identifier `decl`, keeps its
/// address to calls: each mention stores a field of it or reads a plain
/// one (`s.f`, never `&s.f`, a struct-valued member read whole, or a read
/// into an initialiser), hands `&s` as an argument to a call (`handed`),
/// or is an operand of an `asm` statement or of `sizeof`.
pub(crate) fn address_stays_in_calls(cx: &FlowContext, func: FuncId, decl: Node) -> bool {
    let src = cx.src(func);
    let name = text(decl, src);
    cx.funcs[func].nodes.iter().all(|&n| {
        n.kind_str() != "identifier"
            || n == decl
            || src[n.byte_range()] != *name.as_bytes()
            || declaration_in_scope(cx.funcs[func].def.node, n, &name, src) != Some(decl)
            || mention_stays(cx, func, n, false, 0)
    })
}

/// Whether every mention of parameter number `position` of `func` (a
/// pointer to a local handed down) keeps the local's address to calls.
fn parameter_stays(cx: &FlowContext, func: FuncId, position: usize, depth: usize) -> bool {
    if depth > LOCAL_ADDRESS_DEPTH {
        cx.hit(Limit::LocalAddressDepth(LOCAL_ADDRESS_DEPTH));
        return false;
    }
    let f = &cx.funcs[func];
    let Some(name) = f.params.get(position) else {
        return false;
    };
    let src = cx.src(func);
    f.nodes.iter().all(|&n| {
        n.kind_str() != "identifier"
            || src[n.byte_range()] != *name.as_bytes()
            || declaration_in_scope(cx.funcs[func].def.node, n, name, src).is_some()
            || mention_stays(cx, func, n, true, depth)
    })
}

/// One mention of a local (`pointer` false) or of a parameter that points
/// at it (`pointer` true).
fn mention_stays(cx: &FlowContext, func: FuncId, n: Node, pointer: bool, depth: usize) -> bool {
    if in_asm_operand(n) {
        return true;
    }
    let up = outer(n);
    let Some(p) = up.parent() else {
        return false;
    };
    match p.kind_str() {
        "field_expression" if p.field("argument") == Some(up) => {
            let arrow = p.child(1).is_some_and(|op| op.kind_str() == "->");
            arrow == pointer && member_stays(cx, func, p)
        }
        "pointer_expression"
            if !pointer && p.field("operator").map(|o| o.kind_str()) == Some("&") =>
        {
            handed(cx, func, outer(p), depth)
        }
        "argument_list" if pointer => handed(cx, func, up, depth),
        "sizeof_expression" => true,
        _ => false,
    }
}

/// Whether a field expression on the local (`s.a.b`, `p->a`) only reads a
/// value that is no struct of its own, or stores into a member: its
/// address is not taken, and no macro that may store into it is handed it.
fn member_stays(cx: &FlowContext, func: FuncId, member: Node) -> bool {
    let top = chain_top(member);
    let up = outer(top);
    let parent = up.parent();
    let stored = parent
        .is_some_and(|p| p.kind_str() == "assignment_expression" && p.field("left") == Some(up));
    let address = parent.is_some_and(|p| {
        p.kind_str() == "pointer_expression"
            || p.kind_str() == "update_expression"
            || (p.kind_str() == "subscript_expression" && p.field("argument") == Some(up))
    });
    if address || handed_to_unknown_call(cx, func, top) {
        return false;
    }
    if stored {
        return true;
    }
    // A member read whole must be a plain value, not a struct copied out,
    // nor put into an initialiser, whose fields the analysis does not
    // follow.
    scalar_member(cx, func, top) && !in_initializer(top)
}

/// Whether an expression is inside an initialiser list (`{ .f = x }`) or
/// a compound literal.
fn in_initializer(n: Node) -> bool {
    let mut at = n;
    while let Some(p) = at.parent() {
        match p.kind_str() {
            "initializer_list" | "initializer_pair" | "compound_literal_expression" => return true,
            "expression_statement" | "declaration" | "compound_statement" => return false,
            _ => at = p,
        }
    }
    false
}

/// Whether a field expression reads a field declared as a plain integer
/// value.
fn scalar_member(cx: &FlowContext, func: FuncId, member: Node) -> bool {
    let src = cx.src(func);
    let ExprShape::Field { base, field, .. } = shape(member, src) else {
        return false;
    };
    cx.type_of(func, base).is_some_and(|s| {
        let f = cx.types.canonical_field(&s, &text(field, src));
        cx.types
            .scalar_field(&s, &f)
            .is_some_and(|scalar| !scalar.elements)
    })
}

/// Whether the argument `arg` of a call keeps the address it holds to
/// calls: a function read takes it in a parameter that does too; a
/// function not read takes it as read; a macro only when it only reads it.
fn handed(cx: &FlowContext, func: FuncId, arg: Node, depth: usize) -> bool {
    let src = cx.src(func);
    let Some(list) = arg.parent().filter(|p| p.kind_str() == "argument_list") else {
        return false;
    };
    let mut c = list.walk();
    let Some(position) = list.named_children(&mut c).position(|a| a == arg) else {
        return false;
    };
    let Some(call) = list.parent().and_then(crate::c::syntax::Call::new) else {
        return false;
    };
    let Some(callee) = call.callee_name(src) else {
        return false;
    };
    let callee = String::from_utf8_lossy(callee).into_owned();
    match cx.resolve(func, &callee) {
        Ok(defs) => defs
            .into_iter()
            .all(|g| parameter_stays(cx, g, position, depth + 1)),
        Err(super::calls::Unresolved::Ambiguous) => false,
        Err(unread) => {
            let read = match (unread, cx.macro_use(&callee, position)) {
                (super::calls::Unresolved::Vocabulary, _) => true,
                (_, Some(used)) => used == super::summaries::IdentityUse::Read,
                (_, None) => !super::summaries::is_macro_name(&callee),
            };
            // A function not read (the vocabulary's too) that is also
            // handed another address may copy the local there
            // (`memcpy(&kept->fib, &fib, ...)`).
            let mut c = list.walk();
            let others_plain = list
                .named_children(&mut c)
                .filter(|&a| a != arg)
                .all(|a| plain_argument(cx, func, a));
            read && others_plain
        }
    }
}

/// Whether a call argument holds no address: a number, a plain integer
/// variable, the address of one (`&status`), a `sizeof`, or arithmetic,
/// casts and calls of such.
fn plain_argument(cx: &FlowContext, func: FuncId, arg: Node) -> bool {
    let src = cx.src(func);
    let f = &cx.funcs[func];
    let plain_name = |n: Node| {
        let name = text(n, src);
        cx.scalar_names(func).plain_values.contains(&name)
            || (declaration_in_scope(cx.funcs[func].def.node, n, &name, src).is_none()
                && !f.params.contains(&name)
                && super::summaries::is_macro_name(&name))
    };
    let mut plain = true;
    crate::c::syntax::preorder(arg, |n| {
        match n.kind_str() {
            "number_literal" | "char_literal" | "sizeof_expression" | "type_descriptor" => {
                return false
            }
            "identifier" => plain &= plain_name(n),
            "field_expression" => {
                plain &= scalar_member(cx, func, n);
                return false;
            }
            "string_literal" | "subscript_expression" => plain = false,
            _ => {}
        }
        plain
    });
    plain
}

/// Whether a node is inside an operand of an `asm` statement.
fn in_asm_operand(n: Node) -> bool {
    let mut at = n;
    while let Some(p) = at.parent() {
        match p.kind_str() {
            "gnu_asm_output_operand" | "gnu_asm_input_operand" => return true,
            "expression_statement" | "compound_statement" | "function_definition" => return false,
            _ => at = p,
        }
    }
    false
}

/// What holds the value of a field expression: the object a pointer points
/// at (`kz->fib.aibv`: `kz`), or a variable itself (`fib.aibv`: `fib`).
enum Holder<'n> {
    Pointer(Node<'n>),
    Variable(Node<'n>),
}

fn holder<'n>(cx: &FlowContext, func: FuncId, member: Node<'n>) -> Option<Holder<'n>> {
    let src = cx.src(func);
    let mut n = member;
    loop {
        match shape(n, src) {
            ExprShape::Field {
                base, arrow: true, ..
            } => return Some(Holder::Pointer(base)),
            ExprShape::Field {
                base, arrow: false, ..
            } => n = base,
            ExprShape::Ident(i) if n != member => return Some(Holder::Variable(i)),
            _ => return None,
        }
    }
}

/// The objects whose field a field expression reads or writes.
fn holder_objects<'t>(
    trace: &mut ObjectTrace<'_, '_, 't>,
    func: FuncId,
    member: Node<'t>,
) -> Objects {
    match holder(trace.cx(), func, member)? {
        Holder::Pointer(p) => trace.objects(func, p),
        Holder::Variable(v) => trace.local_object(func, v),
    }
}

/// The field expressions a release subject's value is read from: the
/// subject itself through identity calls and bit operations (as
/// `FlowContext::base_loc` steps), or what a local it names is assigned
/// (`vpage = phys_to_page(kz->fib.aibv)`), `NULL` adding none, through at
/// most `locals` assignments; `None` when some value comes from anything
/// else.
fn field_reads<'t>(
    cx: &FlowContext<'_, 't>,
    func: FuncId,
    node: Node<'t>,
    locals: usize,
) -> Option<Vec<Node<'t>>> {
    let src = cx.src(func);
    match shape(node, src) {
        ExprShape::Null => Some(Vec::new()),
        ExprShape::Field { .. } => Some(vec![crate::c::syntax::strip(node)]),
        ExprShape::Call(call) => field_reads(cx, func, cx.identity_operand(func, &call)?, locals),
        ExprShape::Offset { base, .. } => field_reads(cx, func, base, locals),
        ExprShape::Other => field_reads(cx, func, bit_operands(node, src)?.0, locals),
        ExprShape::Ident(i) if locals > 0 => {
            let name = text(i, src);
            let decl = declaration_in_scope(cx.funcs[func].def.node, i, &name, src)?;
            let f = &cx.funcs[func];
            let same = |n: Node| {
                matches!(shape(n, src), ExprShape::Ident(j)
                    if &src[j.byte_range()] == name.as_bytes() && declaration_in_scope(cx.funcs[func].def.node, j, &name, src) == Some(decl))
            };
            if stored_unseen(cx, func, &name, &same) {
                return None;
            }
            let mut out = Vec::new();
            for asg in f.constraints.stores() {
                if asg.lhs != decl && !same(asg.lhs) {
                    continue;
                }
                if !asg.plain {
                    return None;
                }
                out.extend(field_reads(cx, func, asg.rhs, locals - 1)?);
            }
            Some(out)
        }
        _ => None,
    }
}

/// A store into a field a release reads, with what it writes and, for a
/// copy of the field, what it copies.
struct FieldStore<'t> {
    func: FuncId,
    node: Node<'t>,
    lhs: Node<'t>,
    rhs: Node<'t>,
    loc: Loc,
    /// The objects it writes and what it copies, traced when first asked:
    /// a trace may ask for files to be read, which only the stores a value
    /// reaches should.
    target: std::cell::OnceCell<Objects>,
    copy: std::cell::OnceCell<FieldCopy>,
}

impl<'t> FieldStore<'t> {
    fn target(&self, trace: &mut ObjectTrace<'_, '_, 't>) -> Objects {
        self.target
            .get_or_init(|| holder_objects(trace, self.func, self.lhs))
            .clone()
    }

    /// What it takes from the field: a copy reads the field itself,
    /// through identity calls at most.
    fn copy(&self, trace: &mut ObjectTrace<'_, '_, 't>) -> &FieldCopy {
        self.copy.get_or_init(|| {
            let (cx, g) = (trace.cx(), self.func);
            let read = field_reads(cx, g, self.rhs, 0)
                .filter(|r| r.len() == 1)
                .map(|r| r[0])
                .filter(|&r| cx.loc_of(g, r).as_ref() == Some(&self.loc));
            match read {
                None => FieldCopy::No,
                Some(r) if overwritten_before(trace, g, r) => FieldCopy::Overwritten,
                Some(r) => FieldCopy::From(holder_objects(trace, g, r)),
            }
        })
    }
}

/// What a store into a field takes from the same field.
enum FieldCopy {
    /// It stores no read of the field.
    No,
    /// It reads the field just after its function overwrote it: nothing
    /// that was there before.
    Overwritten,
    /// It reads the field of these objects.
    From(Objects),
}

/// The stores into a field location in the functions analysed (`+=` and
/// the like too).
fn stores_into<'t>(cx: &FlowContext<'_, 't>, loc: &Loc) -> Vec<FieldStore<'t>> {
    let Loc::Field(_, field) = loc else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for &(g, n) in cx.field_mentions(field) {
        let up = outer(n);
        let Some(asg) = up.parent().and_then(crate::c::syntax::Assignment::new) else {
            continue;
        };
        if asg.lhs != up || cx.loc_of(g, n).as_ref() != Some(loc) {
            continue;
        }
        out.push(FieldStore {
            func: g,
            node: asg.node,
            lhs: n,
            rhs: asg.rhs,
            loc: loc.clone(),
            target: std::cell::OnceCell::new(),
            copy: std::cell::OnceCell::new(),
        });
    }
    out
}

/// Whether a value may carry a value from elsewhere: it names a location
/// (variable, field, what a function read returns) that holds it, or calls
/// a function not read, which may return what it reads (a local's field
/// through the address it is handed); the vocabulary's calls and the
/// identity calls carry what they are given.
fn carries(cx: &FlowContext, func: FuncId, value: Node, origin: &Origin) -> bool {
    let src = cx.src(func);
    let flow = &cx.engine.pack.flow;
    let mut found = false;
    crate::c::syntax::preorder(value, |n| {
        let locs: Vec<Loc> = match n.kind_str() {
            "identifier" | "field_expression" => cx.loc_of(func, n).into_iter().collect(),
            "call_expression" => {
                let callee = crate::c::syntax::Call::new(n)
                    .and_then(|c| c.callee_name(src))
                    .map(|c| String::from_utf8_lossy(c).into_owned());
                match callee.as_deref().map(|c| (c, cx.resolve(func, c))) {
                    Some((_, Ok(defs))) => defs.into_iter().map(Loc::Ret).collect(),
                    Some((_, Err(super::calls::Unresolved::Vocabulary))) => Vec::new(),
                    Some((c, Err(_)))
                        if flow.transparent.contains(c) || flow.identities.contains(c) =>
                    {
                        Vec::new()
                    }
                    _ => {
                        found = true;
                        Vec::new()
                    }
                }
            }
            _ => Vec::new(),
        };
        found |= locs
            .iter()
            .filter_map(|l| cx.locs.get(l))
            .any(|i| i.others.contains(origin));
        !found
    });
    found
}

/// Whether the value a field read gives was stored by its own function
/// just before: a plain store to the same expression comes first in a
/// block that holds the read, no label lies between (nothing jumps in past
/// the store), nothing between stores into the field or mentions the
/// object other than through a field, and the object is a local, or what
/// a pointer that is never assigned points at, whose address stays in
/// calls (so no callee between can write it).
fn overwritten_before<'t>(
    trace: &mut ObjectTrace<'_, '_, 't>,
    func: FuncId,
    read: Node<'t>,
) -> bool {
    let cx = trace.cx();
    let src = cx.src(func);
    let f = &cx.funcs[func];
    let base = match holder(cx, func, read) {
        Some(Holder::Pointer(p)) => match shape(p, src) {
            ExprShape::Ident(i) => i,
            _ => return false,
        },
        Some(Holder::Variable(v)) => v,
        None => return false,
    };
    let on_stack = |o: &Objects| {
        o.as_ref()
            .is_some_and(|s| !s.is_empty() && s.iter().all(|a| a.on_stack()))
    };
    let objects = holder_objects(trace, func, read);
    if !on_stack(&objects) {
        return false;
    }
    let name = text(base, src);
    let decl = declaration_in_scope(cx.funcs[func].def.node, base, &name, src);
    let same_base = |n: Node| {
        n.kind_str() == "identifier"
            && src[n.byte_range()] == *name.as_bytes()
            && declaration_in_scope(cx.funcs[func].def.node, n, &name, src) == decl
    };
    // The base is never assigned (its initialiser is its value).
    if f.constraints.stores().any(|a| same_base(a.lhs)) {
        return false;
    }
    let key = normalized(read, src);
    let Some(store) = f
        .constraints
        .stores()
        .filter(|a| a.plain && a.node.end_byte() <= read.start_byte())
        .filter(|a| normalized(a.lhs, src) == key)
        .last()
    else {
        return false;
    };
    let Some(statement) = outer(store.node)
        .parent()
        .filter(|s| s.kind_str() == "expression_statement")
    else {
        return false;
    };
    let Some(block) = statement
        .parent()
        .filter(|b| b.kind_str() == "compound_statement")
    else {
        return false;
    };
    if read.end_byte() > block.end_byte() {
        return false;
    }
    let Some(loc) = cx.loc_of(func, read) else {
        return false;
    };
    let (from, to) = (statement.end_byte(), read.start_byte());
    // What runs between: the store into the copy's target (an ancestor
    // of the read) comes after the read.
    let between =
        |n: &Node| n.start_byte() >= from && n.start_byte() < to && n.end_byte() < read.end_byte();
    f.nodes
        .iter()
        .filter(|n| between(n))
        .all(|&n| match n.kind_str() {
            "labeled_statement" | "case_statement" => false,
            "identifier" if same_base(n) => {
                let up = outer(n);
                up.parent().is_some_and(|p| {
                    p.kind_str() == "field_expression"
                        && p.field("argument") == Some(up)
                        && !stores_field(cx, func, p, &loc)
                })
            }
            "assignment_expression" => n
                .field("left")
                .is_none_or(|l| cx.loc_of(func, l).as_ref() != Some(&loc)),
            "update_expression" => n
                .field("argument")
                .is_none_or(|a| cx.loc_of(func, a).as_ref() != Some(&loc)),
            _ => true,
        })
}

/// The outermost field expression of the chain a field expression starts
/// (`s.a` of `s.a.b`: `s.a.b`).
fn chain_top(member: Node) -> Node {
    let mut top = member;
    while let Some(p) = outer(top).parent() {
        if p.kind_str() != "field_expression" || p.field("argument") != Some(outer(top)) {
            break;
        }
        top = p;
    }
    top
}

/// Whether the field chain a field expression starts writes to `loc`.
fn stores_field(cx: &FlowContext, func: FuncId, member: Node, loc: &Loc) -> bool {
    let top = chain_top(member);
    let up = outer(top);
    let written = up.parent().is_some_and(|p| match p.kind_str() {
        "assignment_expression" => p.field("left") == Some(up),
        "update_expression" | "pointer_expression" => true,
        _ => false,
    });
    written && cx.loc_of(func, top).as_ref() == Some(loc)
}

/// The values from elsewhere a release never sees because they were stored
/// into locals whose address stays in calls, and stay there: every store
/// into the field that may carry one out writes locals too, or reads the
/// field after its function overwrote it. Returns the values left out and
/// the separation to show; `None` when none is.
pub(crate) fn apart_on_stack<'t>(
    trace: &mut ObjectTrace<'_, '_, 't>,
    func: FuncId,
    subject: Node<'t>,
    others: &[Origin],
    release: String,
) -> Option<(Vec<Origin>, Separation)> {
    let cx = trace.cx();
    if !others.iter().any(|o| matches!(o, Origin::Assigned { .. })) {
        return None;
    }
    let reads = field_reads(cx, func, subject, READ_DEPTH)?;
    let mut read_locs: Vec<Loc> = Vec::new();
    let mut read_objects = BTreeSet::new();
    for &r in &reads {
        let loc = cx.loc_of(func, r)?;
        if !read_locs.contains(&loc) {
            read_locs.push(loc);
        }
        read_objects.extend(holder_objects(trace, func, r)?);
    }
    let stores: Vec<_> = read_locs.iter().flat_map(|l| stores_into(cx, l)).collect();
    let mut left_out = Vec::new();
    let mut store_objects = BTreeSet::new();
    for o in others {
        let Origin::Assigned { value, place } = o else {
            continue;
        };
        let own: Vec<usize> = (0..stores.len())
            .filter(|&i| {
                let st = &stores[i];
                cx.place(st.func, st.node) == *place && text(st.rhs, cx.src(st.func)) == *value
            })
            .collect();
        if own.is_empty() {
            continue;
        }
        let Some(reached) = objects_reached(trace, &stores, &own, o) else {
            continue;
        };
        if reached.is_disjoint(&read_objects) {
            store_objects.extend(reached);
            left_out.push(o.clone());
        }
    }
    if left_out.is_empty() {
        return None;
    }
    let places = |set: &BTreeSet<super::objects::Allocation>| {
        let mut v: Vec<String> = set.iter().map(|a| a.place(cx)).collect();
        v.sort();
        v.dedup();
        v
    };
    let separation = Separation::Objects {
        store: Blocker::MixedRelease {
            place: release.clone(),
            others: left_out.clone(),
        },
        store_objects: places(&store_objects),
        releases: vec![release],
        release_objects: places(&read_objects),
    };
    Some((left_out, separation))
}

/// The objects a value from elsewhere may be in, from its own stores
/// (`own`, indices into `stores`) on through the stores that may copy it
/// on; `None` when one of them writes objects other than locals whose
/// address stays in calls, or objects unknown.
fn objects_reached<'t>(
    trace: &mut ObjectTrace<'_, '_, 't>,
    stores: &[FieldStore<'t>],
    own: &[usize],
    origin: &Origin,
) -> Option<BTreeSet<super::objects::Allocation>> {
    let only_stack = |o: &BTreeSet<super::objects::Allocation>| o.iter().all(|a| a.on_stack());
    let mut reached = BTreeSet::new();
    for &i in own {
        reached.extend(stores[i].target(trace)?);
    }
    if !only_stack(&reached) {
        return None;
    }
    // Stores that carry it on, until none adds an object.
    let mut copied = vec![false; stores.len()];
    loop {
        let mut grew = false;
        for (i, st) in stores.iter().enumerate() {
            if copied[i] || own.contains(&i) {
                continue;
            }
            let moves = match st.copy(trace) {
                FieldCopy::Overwritten => false,
                FieldCopy::From(from) => from.as_ref().is_none_or(|f| !f.is_disjoint(&reached)),
                FieldCopy::No => carries(trace.cx(), st.func, st.rhs, origin),
            };
            if moves {
                copied[i] = true;
                reached.extend(st.target(trace)?);
                grew = true;
            }
        }
        if !only_stack(&reached) {
            return None;
        }
        if !grew {
            return Some(reached);
        }
    }
}
