//! Which objects a pointer may point to, named by the allocations that
//! made them. The analysis keys struct fields by struct and field name, so
//! a field that holds a unit's pages in one object and another page in
//! another (`desc->pfns[i]` filled from the user's pages in the descriptors
//! one ioctl allocates, from a kernel page in those another function
//! allocates) is mixed for every release that reads it. When the pointer
//! the other value is stored through and the pointer a release reads
//! through can only ever point at objects of different allocations, that
//! release never sees the other value.
//!
//! The trace goes backwards from a pointer expression: through the
//! assignments of a local, through the callers of a `static` function
//! (none may be hidden in a macro, none may take its address), through a
//! struct field whose every mention the analysis has read and whose every
//! store it can follow, through the calls that stand for the same object
//! (`page_address()`, `virt_to_page()`), down to allocator calls. Anything
//! else is unknown, and an unknown set tells no objects apart. What must
//! be read before the trace can answer is returned as needs.

use super::ids::{FileId, FuncId};
use super::propagate::Constraints;
use super::{text, FlowContext, Limit, Need, Needs};
use crate::c::syntax::{preorder, shape, ExprShape};
use crate::c::NodeExt;
use crate::engine::hash::{HashMap, HashSet};
use std::collections::BTreeSet;
use tree_sitter::Node;

/// How many expressions one question may visit before its answer is
/// unknown.
pub(crate) const OBJECT_TRACE_STEPS: usize = 512;

/// An allocation: the function and the byte offset of the allocator call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Allocation {
    func: FuncId,
    at: usize,
    /// A local variable of the function (`locals.rs`), declared at `at`.
    on_stack: bool,
}

impl Allocation {
    /// The function that makes it.
    pub fn func(&self) -> FuncId {
        self.func
    }

    /// Whether it is a local variable whose address stays in calls.
    pub fn on_stack(&self) -> bool {
        self.on_stack
    }

    /// Where the allocation is, as `file:line` (and `(a local variable)`
    /// for one on the stack).
    pub fn place(&self, cx: &FlowContext) -> String {
        let file = cx.file(cx.funcs[self.func].file);
        let line = file.parsed.line_of(self.at);
        match self.on_stack {
            true => format!("{}:{} (a local variable)", file.path, line),
            false => format!("{}:{}", file.path, line),
        }
    }
}

/// The places of a known set of allocations, in order.
pub(crate) fn places(cx: &FlowContext, objects: &Objects) -> Vec<String> {
    let mut out: Vec<String> = objects.iter().flatten().map(|a| a.place(cx)).collect();
    out.sort();
    out.dedup();
    out
}

/// The allocations a pointer may come from; `None` when unknown.
pub(crate) type Objects = Option<BTreeSet<Allocation>>;

/// What a trace is in the middle of, to cut cycles.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Visit {
    /// A local by its declaration's offset.
    Local(FuncId, usize),
    /// A parameter by its name.
    Param(FuncId, String),
    Field(String, String, bool),
}

/// One trace, over the functions that take part in the analysis.
pub(crate) struct ObjectTrace<'c, 'a, 't> {
    cx: &'c FlowContext<'a, 't>,
    k: &'c Constraints<'t>,
    scanned: &'c Needs,
    /// Needs (and whether each is local to a file) that would let an
    /// unknown answer be known.
    pub wanted: Vec<(Need, bool)>,
    visiting: HashSet<Visit>,
    /// How many times a cycle was cut (a visit met again answers empty).
    cuts: usize,
    /// How many stores of traced fields were met.
    stores_seen: usize,
    steps: usize,
    fields: HashMap<(String, String, bool), Objects>,
}

impl<'c, 'a, 't> ObjectTrace<'c, 'a, 't> {
    pub fn new(cx: &'c FlowContext<'a, 't>, k: &'c Constraints<'t>, scanned: &'c Needs) -> Self {
        ObjectTrace {
            cx,
            k,
            scanned,
            wanted: Vec::new(),
            visiting: HashSet::default(),
            cuts: 0,
            stores_seen: 0,
            steps: 0,
            fields: HashMap::default(),
        }
    }

    /// The context the trace reads.
    pub fn cx(&self) -> &'c FlowContext<'a, 't> {
        self.cx
    }

    /// The allocations the objects `node` may point at come from.
    pub fn objects(&mut self, func: FuncId, node: Node<'t>) -> Objects {
        self.steps = 0;
        self.trace(func, node)
    }

    fn trace(&mut self, func: FuncId, node: Node<'t>) -> Objects {
        self.steps += 1;
        if self.steps > OBJECT_TRACE_STEPS {
            self.cx.hit(Limit::ObjectTrace(OBJECT_TRACE_STEPS));
            return None;
        }
        let cx = self.cx;
        let src = cx.src(func);
        match shape(node, src) {
            ExprShape::Null => Some(BTreeSet::new()),
            ExprShape::Call(call) => {
                let name = String::from_utf8_lossy(call.callee_name(src)?).into_owned();
                let flow = &cx.engine.pack.flow;
                if flow.allocators.contains(&name) || flow.page_allocators.contains(&name) {
                    let at = call.node.start_byte();
                    return Some(BTreeSet::from([Allocation {
                        func,
                        at,
                        on_stack: false,
                    }]));
                }
                if flow.transparent.contains(&name) || flow.identities.contains(&name) {
                    let arg = *call.args().first()?;
                    return self.trace(func, arg);
                }
                None
            }
            ExprShape::Conditional { then, otherwise } => {
                let mut out = self.trace(func, otherwise)?;
                out.extend(self.trace(func, then?)?);
                Some(out)
            }
            ExprShape::Ident(n) => self.variable(func, n),
            ExprShape::AddressOf(inner) => match shape(inner, src) {
                ExprShape::Ident(n) => self.local_object(func, n),
                _ => None,
            },
            // An array member (`pl->addrs`) points into the object itself.
            ExprShape::Field {
                base,
                field,
                arrow: true,
            } if cx
                .type_of(func, base)
                .is_some_and(|s| cx.types.is_array_member(&s, &text(field, src))) =>
            {
                self.trace(func, base)
            }
            ExprShape::Field { base, field, .. } => self.field(func, base, field, false),
            // A pointer moved along (`p + n`, a buffer carved into parts)
            // still points into the object it pointed into.
            ExprShape::Offset { base, .. } => self.trace(func, base),
            ExprShape::Subscript { base, .. } => match shape(base, src) {
                ExprShape::Field { base, field, .. } => self.field(func, base, field, true),
                _ => None,
            },
            _ => None,
        }
    }

    /// The local variable `use_site` names, as an object of its own, when
    /// it is declared as a value (no pointer, no array) and its address
    /// stays in calls (`locals::address_stays_in_calls`).
    pub fn local_object(&mut self, func: FuncId, use_site: Node<'t>) -> Objects {
        let cx = self.cx;
        let src = cx.src(func);
        let name = text(use_site, src);
        let declared = declaration_in_scope(cx.funcs[func].def.node, use_site, &name, src)?;
        let plain = declared
            .parent()
            .is_some_and(|p| matches!(p.kind_str(), "declaration" | "init_declarator"));
        if !plain || !super::locals::address_stays_in_calls(cx, func, declared) {
            return None;
        }
        Some(BTreeSet::from([Allocation {
            func,
            at: declared.start_byte(),
            on_stack: true,
        }]))
    }

    /// A local or parameter, as the declaration in scope at `use_site`
    /// tells: what is assigned to it, and for a parameter what its callers
    /// pass. Locals of one name in sibling blocks are different variables.
    fn variable(&mut self, func: FuncId, use_site: Node<'t>) -> Objects {
        let cx = self.cx;
        let src = cx.src(func);
        let name = text(use_site, src);
        let f = &cx.funcs[func];
        let declared = declaration_in_scope(cx.funcs[func].def.node, use_site, &name, src);
        let is_param = declared.is_none() && f.params.contains(&name);
        if declared.is_none() && !is_param {
            return None;
        }
        let visit = match declared {
            Some(d) => Visit::Local(func, d.start_byte()),
            None => Visit::Param(func, name.clone()),
        };
        if !self.visiting.insert(visit.clone()) {
            self.cuts += 1;
            return Some(BTreeSet::new());
        }
        let out = self.variable_objects(func, &name, declared, is_param);
        self.visiting.remove(&visit);
        out
    }

    fn variable_objects(
        &mut self,
        func: FuncId,
        name: &str,
        declared: Option<Node<'t>>,
        is_param: bool,
    ) -> Objects {
        let cx = self.cx;
        let f = &cx.funcs[func];
        let src = cx.src(func);
        let same = |n: Node| {
            matches!(shape(n, src), ExprShape::Ident(i)
                if &src[i.byte_range()] == name.as_bytes() && declaration_in_scope(cx.funcs[func].def.node, i, name, src) == declared)
        };
        if stored_unseen(cx, func, name, &same) {
            return None;
        }
        let mut out = BTreeSet::new();
        let mut assigned = false;
        for asg in f.constraints.stores() {
            // An initialiser's identifier is the declaration itself.
            let initialises = declared == Some(asg.lhs);
            if !initialises && !same(asg.lhs) {
                continue;
            }
            if !asg.plain {
                return None;
            }
            out.extend(self.trace(func, asg.rhs)?);
            assigned = true;
        }
        if is_param {
            out.extend(self.passed(func, name)?);
        } else if !assigned {
            return None;
        }
        Some(out)
    }

    /// What the callers of a `static` function pass for its parameter
    /// `name`.
    fn passed(&mut self, func: FuncId, name: &str) -> Objects {
        let cx = self.cx;
        let f = &cx.funcs[func];
        if !f.file_local {
            return None;
        }
        let fname = f.name.clone();
        if !self.scanned.local_callers.contains(&fname) && !self.scanned.callers.contains(&fname) {
            self.wanted.push((Need::Callers(fname), true));
            return None;
        }
        if self.address_taken(func) {
            return None;
        }
        let position = f.params.iter().position(|p| p == name)?;
        let mut out = BTreeSet::new();
        for &i in self.k.mentioned.calls_of(func) {
            let g = &self.k.calls[i].0;
            let arg = *self.k.call_args[i].get(position)?;
            out.extend(self.trace(*g, arg)?);
        }
        Some(out)
    }

    /// Whether a `static` function may be reached other than by the calls
    /// the analysis sees: its name used as a value in a function or at
    /// file scope, or written in a macro definition of its file.
    fn address_taken(&self, func: FuncId) -> bool {
        let cx = self.cx;
        let f = &cx.funcs[func];
        let in_functions = cx
            .funcs
            .iter()
            .any(|g| g.file == f.file && g.constraints.references.contains_key(&f.name));
        let facts = &cx.facts[f.file.index()];
        let src: &[u8] = &cx.file(f.file).parsed.original;
        in_functions
            || facts
                .file_scope_uses(&f.name)
                .into_iter()
                .any(|n| !cx.exported_at(n, src))
            || macro_mentions(cx, f.file, &f.name)
    }

    /// What a struct field holds when read through `base` (an element of
    /// it when `subscripted`): every value stored into it, once every
    /// mention of it has been read and each is a store the trace follows
    /// or a read.
    fn field(
        &mut self,
        func: FuncId,
        base: Node<'t>,
        field: Node<'t>,
        subscripted: bool,
    ) -> Objects {
        let cx = self.cx;
        let s = cx.type_of(func, base)?;
        let g = cx.types.canonical_field(&s, &text(field, cx.src(func)));
        let key = (s.clone(), g.clone(), subscripted);
        if let Some(known) = self.fields.get(&key) {
            return known.clone();
        }
        let visit = Visit::Field(s.clone(), g.clone(), subscripted);
        if !self.visiting.insert(visit.clone()) {
            self.cuts += 1;
            return Some(BTreeSet::new());
        }
        let (asked, cuts) = (self.wanted.len(), self.cuts);
        let out = self.field_objects(&s, &g, subscripted);
        self.visiting.remove(&visit);
        // An answer that waits on reading more is asked again, so that
        // every question that meets it asks for the reading too; one
        // computed while a cycle was cut lacks what the cut left out, and
        // is complete only for the question that opened the cycle.
        if (out.is_some() || self.wanted.len() == asked) && self.cuts == cuts {
            self.fields.insert(key, out.clone());
        }
        out
    }

    fn field_objects(&mut self, s: &str, g: &str, subscripted: bool) -> Objects {
        let cx = self.cx;
        let mut out = BTreeSet::new();
        let stores_before = self.stores_seen;
        let mut wanted = Vec::new();
        let read = every_field_mention(cx, self.scanned, (s, g), &mut wanted, |id, n| {
            out.extend(self.mention(id, n, subscripted)?);
            Some(())
        });
        self.wanted.extend(wanted);
        read?;
        // A field never assigned is an array inside the object (its value
        // points into the object itself) or filled some other way: unknown.
        if self.stores_seen == stores_before {
            return None;
        }
        Some(out)
    }

    /// One mention of a traced field: a read adds nothing, a plain store
    /// adds what it stores, anything else (its address taken, the array
    /// handed whole, read other than the trace reads it) is unknown.
    fn mention(&mut self, func: FuncId, n: Node<'t>, subscripted: bool) -> Objects {
        let mut top = outer(n);
        if handed_to_unknown_call(self.cx, func, n) {
            return None;
        }
        let parent = top.parent()?;
        let is_subscript =
            parent.kind_str() == "subscript_expression" && parent.field("argument") == Some(top);
        if is_subscript != subscripted {
            return None;
        }
        if is_subscript {
            top = outer(parent);
        }
        let parent = top.parent()?;
        // A row of an array of arrays: its elements are stored elsewhere.
        if parent.kind_str() == "subscript_expression" && parent.field("argument") == Some(top) {
            return None;
        }
        match parent.kind_str() {
            "assignment_expression" if parent.field("left") == Some(top) => {
                let plain = parent.field("operator").map(|o| o.kind_str()) == Some("=");
                if !plain {
                    return None;
                }
                self.stores_seen += 1;
                self.trace(func, parent.field("right")?)
            }
            "update_expression" => None,
            "pointer_expression" if parent.field("operator").map(|o| o.kind_str()) == Some("&") => {
                None
            }
            _ => Some(BTreeSet::new()),
        }
    }
}

/// The identifier that declares the local `name` seen at `use_site`, in the
/// definition `function`: the nearest enclosing block (or `for`
/// initialiser) that declares it before the use; `None` when no block does
/// (a parameter, or a global).
pub(crate) fn declaration_in_scope<'t>(
    function: Node<'t>,
    use_site: Node<'t>,
    name: &str,
    src: &[u8],
) -> Option<Node<'t>> {
    for scope in crate::c::syntax::ancestors_up_to(function, use_site) {
        if scope.kind_str() == "function_definition" {
            return None;
        }
        if matches!(scope.kind_str(), "compound_statement" | "for_statement") {
            let mut c = scope.walk();
            for child in scope.named_children(&mut c) {
                if child.start_byte() > use_site.start_byte() {
                    break;
                }
                if child.kind_str() != "declaration" {
                    continue;
                }
                let mut d = child.walk();
                for decl in child.children_by_field_name("declarator", &mut d) {
                    if let Some(id) = crate::c::syntax::declarator_identifier(decl) {
                        if text(id, src) == name {
                            return Some(id);
                        }
                    }
                }
            }
        }
    }
    None
}

/// Whether the variable `name` (each of its mentions is one `same` says yes to) may
/// be stored into unseen: its address handed anywhere lets anything be
/// stored into it, and so does the variable itself handed to a macro
/// (`swap(a, b)`, a loop macro that moves its cursor).
pub(crate) fn stored_unseen(
    cx: &FlowContext,
    func: FuncId,
    name: &str,
    same: &dyn Fn(Node) -> bool,
) -> bool {
    let src = cx.src(func);
    // Every node an `&` or a use of the name strips down to is itself one
    // of the function's nodes: those are the only ones looked at.
    cx.funcs[func].nodes.iter().any(|&n| match n.kind_str() {
        "pointer_expression" => matches!(shape(n, src), ExprShape::AddressOf(inner) if same(inner)),
        "identifier" => {
            &src[n.byte_range()] == name.as_bytes()
                && same(n)
                && handed_to_unknown_call(cx, func, n)
        }
        _ => false,
    })
}

/// Whether an expression (a variable, a field or an element of one) is
/// handed as it is to a call that may store into it: a macro
/// (`WRITE_ONCE(s->f[i], v)`, a loop macro's cursor) as
/// `FlowContext::may_store_argument` tells, unless the call is defined in
/// the files read or in the vocabulary.
pub(crate) fn handed_to_unknown_call(cx: &FlowContext, func: FuncId, node: Node) -> bool {
    let src = cx.src(func);
    // The node's ancestors, found once: `chain[k]` is the parent of the
    // node at height `k` (the node itself at 0, `chain[k - 1]` above it).
    let chain = crate::c::syntax::ancestors_up_to(cx.funcs[func].def.node, node);
    let node_at = |k: usize| if k == 0 { node } else { chain[k - 1] };
    let outer_at = |mut k: usize| {
        while chain
            .get(k)
            .is_some_and(|p| p.kind_str() == "parenthesized_expression")
        {
            k += 1;
        }
        k
    };
    let mut at = outer_at(0);
    if let Some(p) = chain.get(at) {
        if p.kind_str() == "subscript_expression" && p.field("argument") == Some(node_at(at)) {
            at = outer_at(at + 1);
        }
    }
    let known = |name: &str, position: usize| {
        let flow = &cx.engine.pack.flow;
        cx.by_name.contains_key(name)
            || cx.engine.is_vocabulary(name)
            || flow.is_use(name)
            || flow.page_allocators.contains(name)
            || !cx.may_store_argument(name, position)
    };
    let mut up = at;
    // The argument's position among a loop macro's (`for_each_sg(sgl, sg,
    // n, i)`, read as `while (sgl, sg, n, i)`): one more for each comma
    // it comes after, the grammar nesting `a, b, c` as `a, (b, c)`.
    let mut position = 0;
    while let Some(&p) = chain.get(up) {
        match p.kind_str() {
            "argument_list" => {
                let mut c = p.walk();
                let position = p.named_children(&mut c).position(|a| a == node_at(up));
                let callee = (chain.get(up + 1).copied())
                    .and_then(crate::c::syntax::Call::new)
                    .and_then(|c| c.callee_name(src));
                return match (callee, position) {
                    (Some(c), Some(at)) => !known(&String::from_utf8_lossy(c), at),
                    _ => true,
                };
            }
            "comma_expression" => {
                if p.field("right") == Some(node_at(up)) {
                    position += 1;
                }
                up += 1;
            }
            "parenthesized_expression" => up += 1,
            "while_statement" => {
                // A loop macro the macro pass reads as `while (args)`: the
                // original text still names it.
                let head = &src[p.start_byte()..p.end_byte()];
                let name_len = head
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                    .count();
                return match &head[..name_len] {
                    b"while" => false,
                    b"" => true,
                    name => !known(&String::from_utf8_lossy(name), position),
                };
            }
            _ => return false,
        }
    }
    false
}

/// A node through the parentheses around it.
pub(crate) fn outer(mut n: Node) -> Node {
    while let Some(p) = n.parent() {
        if p.kind_str() != "parenthesized_expression" {
            break;
        }
        n = p;
    }
    n
}

/// Visits every mention of field `g` of struct `s` in the functions of the
/// files read (`visit` gets the function and the `field_expression`), once
/// every file that names it and its struct (or a struct holding it) has
/// been read; the needs for those not read yet go to `wanted`. `None` when
/// a mention's struct is unknown, when `visit` gives up, or when the field
/// is named elsewhere in a way that may store into it unseen
/// (`only_examined_mentions`).
pub(crate) fn every_field_mention<'t>(
    cx: &FlowContext<'_, 't>,
    scanned: &Needs,
    (s, g): (&str, &str),
    wanted: &mut Vec<(Need, bool)>,
    mut visit: impl FnMut(FuncId, Node<'t>) -> Option<()>,
) -> Option<()> {
    let mut structs = vec![s.to_string()];
    structs.extend(cx.types.holders(s));
    let spellings = cx.types.spellings(s, g);
    let mut missing = false;
    for held in &structs {
        for spelling in &spellings {
            let pair = (held.clone(), spelling.clone());
            if !scanned.fields.contains(&pair) && !scanned.local_fields.contains(&pair) {
                let local = cx.types.is_file_local(held);
                wanted.push((Need::Field(held.clone(), spelling.clone()), local));
                missing = true;
            }
        }
    }
    if missing
        || spellings
            .iter()
            .any(|sp| scanned.overflowed(&Need::Field(s.to_string(), sp.clone())))
    {
        return None;
    }
    let file_local = cx.types.is_file_local(s);
    // Where each mention visited names the field, to check that no other
    // mention exists in the files read.
    let mut examined: HashSet<(FileId, usize)> = HashSet::default();
    let mut mentions: Vec<(FuncId, Node<'t>)> = spellings
        .iter()
        .flat_map(|sp| cx.field_mentions(sp).iter().copied())
        .collect();
    // In function and node order, whatever the spelling.
    mentions.sort_by_key(|&(id, n)| (id, n.start_byte()));
    for (id, n) in mentions {
        let f = &cx.funcs[id];
        let src = cx.src(id);
        let ExprShape::Field { base, field, .. } = shape(n, src) else {
            continue;
        };
        examined.insert((f.file, field.start_byte()));
        // A field of that name in another struct is another field;
        // one whose struct is unknown may be this one, unless the
        // struct is defined in a `.c` file and this is another file.
        match cx.type_of(id, base) {
            Some(t) if t != s => continue,
            Some(_) => {}
            None if file_local && !cx.facts[f.file.index()].defines_struct(s) => continue,
            None => return None,
        }
        visit(id, n)?;
    }
    // Only a file that defines a struct of a `.c` file can name its fields.
    let may_name = |i: usize| !file_local || cx.facts[i].defines_struct(s);
    spellings
        .iter()
        .all(|sp| only_examined_mentions(cx, sp, &structs, &examined, &may_name))
        .then_some(())
}

/// Whether every mention of a field name in the files read is one
/// examined, a member of a struct definition, a comment or a string, the
/// designator of another struct's initialiser, or an identifier that is no
/// field (a function, variable, label or type of the same name, in code or
/// in a macro's body): a function that names the field without taking part
/// in the analysis (reaching the struct through a pointer whose type it
/// never writes), or a macro that names it as a member, may store into it
/// unseen.
fn only_examined_mentions(
    cx: &FlowContext,
    name: &str,
    structs: &[String],
    examined: &HashSet<(FileId, usize)>,
    may_name: &dyn Fn(usize) -> bool,
) -> bool {
    cx.files.iter().enumerate().all(|(i, file)| {
        if !may_name(i) {
            return true;
        }
        let src: &[u8] = &file.parsed.original;
        let root = file.parsed.tree.root_node();
        word_positions(src, name.as_bytes()).all(|at| {
            if examined.contains(&(FileId::from_index(i), at)) {
                return true;
            }
            let Some(node) = root.descendant_for_byte_range(at, at + name.len()) else {
                return false;
            };
            if matches!(
                node.kind_str(),
                "identifier" | "statement_identifier" | "type_identifier"
            ) {
                return true;
            }
            // Macro bodies are text: a member access there names a field.
            if node.kind_str() == "preproc_arg" {
                let before = src[..at].trim_ascii_end();
                return !(before.ends_with(b".") || before.ends_with(b"->"));
            }
            if initialises_other_struct(node, structs, src) {
                return true;
            }
            let mut up = Some(node);
            while let Some(n) = up {
                match n.kind_str() {
                    "comment" | "string_literal" | "char_literal" | "field_declaration" => {
                        return true
                    }
                    "function_definition" | "translation_unit" => return false,
                    _ => up = n.parent(),
                }
            }
            false
        })
    })
}

/// Whether a field name is a designator of the initialiser of a variable
/// declared with a struct type other than `structs` (`.put_page = f` in
/// `static struct ops x = { ... }`).
fn initialises_other_struct(node: Node, structs: &[String], src: &[u8]) -> bool {
    let declared = (|| {
        // The field's designator, up to the declaration it initialises.
        let mut at = node;
        for kind in [
            "field_designator",
            "initializer_pair",
            "initializer_list",
            "init_declarator",
            "declaration",
        ] {
            at = at.parent().filter(|p| p.kind_str() == kind)?;
        }
        let ty = at
            .field("type")
            .filter(|t| t.kind_str() == "struct_specifier")?;
        Some(text(ty.field("name")?, src))
    })();
    declared.is_some_and(|s| !structs.contains(&s))
}

/// Whether a macro definition of a file mentions `name` as a word.
pub(crate) fn macro_mentions(cx: &FlowContext, file: super::ids::FileId, name: &str) -> bool {
    let parsed = cx.file(file).parsed;
    let src: &[u8] = &parsed.original;
    let mut found = false;
    preorder(parsed.tree.root_node(), |n| {
        if found || n.kind_str() == "function_definition" {
            return false;
        }
        if matches!(n.kind_str(), "preproc_def" | "preproc_function_def") {
            found = mentions_word(&src[n.byte_range()], name.as_bytes());
            return false;
        }
        true
    });
    found
}

/// Whether `text` holds `word` with no identifier character on either side.
pub(super) fn mentions_word(text: &[u8], word: &[u8]) -> bool {
    word_positions(text, word).next().is_some()
}

/// Where `text` holds `word` with no identifier character on either side.
fn word_positions<'b>(text: &'b [u8], word: &'b [u8]) -> impl Iterator<Item = usize> + 'b {
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    memchr::memmem::find_iter(text, word).filter(move |&at| {
        let before = at.checked_sub(1).map(|i| text[i]);
        let after = text.get(at + word.len()).copied();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// Whether two known sets of objects share none.
pub(crate) fn apart(a: &Objects, b: &Objects) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.is_disjoint(b),
        _ => false,
    }
}

/// The pointer whose object holds the field a release subject reads
/// (`desc` of `pfn_to_page(desc->pfns[i])`), through the same steps as
/// `base_loc`; `None` when the subject does not end in a field read
/// through `->`.
pub(crate) fn read_through<'n>(cx: &FlowContext, func: FuncId, node: Node<'n>) -> Option<Node<'n>> {
    let src = cx.src(func);
    let mut node = node;
    for _ in 0..super::values::EXPRESSION_DEPTH {
        match shape(node, src) {
            ExprShape::Field { base, arrow, .. } => return arrow.then_some(base),
            ExprShape::Subscript { base, .. } | ExprShape::Deref(base) => node = base,
            ExprShape::Call(call) => node = cx.identity_operand(func, &call)?,
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::mentions_word;

    #[test]
    fn words_are_whole() {
        assert!(mentions_word(b"#define F(p) free_desc(p)", b"free_desc"));
        assert!(!mentions_word(
            b"#define F(p) free_desc_all(p)",
            b"free_desc"
        ));
        assert!(!mentions_word(
            b"#define F(p) do_free_desc(p)",
            b"free_desc"
        ));
    }
}
