//! Callee summaries: what a followed function does with a page's identity
//! (a frame number, a physical or virtual address) it receives in a
//! parameter. Most callees only compute with it (an IOMMU mapping, a
//! trace point, a size check); following the identity into them would
//! join every flow that calls them into one. A parameter is followed only
//! when its function may *keep* the identity: turn it back into a page
//! (`pfn_to_page()`), store it where other code can read it (a field, an
//! element, a global), return it, hand it to a container store as the
//! element's page (`sg_set_buf()`; as the buffer a copy reads or writes,
//! `memcpy()`, it is the page's data) or to a release, or pass it on to a
//! callee that keeps it, or to one not read yet.
//!
//! Inside the function, the identity is traced through locals with the
//! rules of `values::eval` (offsets, bit operations, conditionals, casts,
//! identity and transparent calls); any other call's result is a new value.
//! A callee that is part of a cycle being summarised, or deeper than
//! `SUMMARY_DEPTH`, is taken to keep it.
//!
//! The `static inline` helpers of the kernel's shared headers are never
//! followed (`calls::pick_definition`), but they are summarised the same
//! way: a page or identity that every variant read only reads is used
//! there, whatever flows call them.
//!
//! Function-like macros (`#define dbg(fmt, args...) pr_debug(fmt, ##args)`)
//! are summarised from their body's tokens: an argument only stringified,
//! tested (`if`, `while`, `sizeof`) or handed to a call that reads it (the
//! vocabulary's uses, or another macro that only reads it) is read; one that
//! becomes the macro's value, is assigned, or reaches any other call is
//! kept. Every definition of the name in the files read must only read it
//! (`#ifdef` variants).

use super::calls::Unresolved;
use super::ids::FuncId;
use super::{text, FlowContext, Limit};
use crate::c::defines::{MacroDef, Token};
use crate::c::syntax::{shape, Assignment, Call, ExprShape};
use crate::c::NodeExt;
use crate::engine::hash::{HashMap, HashSet};
use std::rc::Rc;
use tree_sitter::Node;

/// How many nested callees a summary may read before it gives up (and
/// takes the identity as kept).
pub(crate) const SUMMARY_DEPTH: usize = 16;

/// How many forwarding macros in a row a call's name is followed through
/// (`#define a(x) b(x)`, `#define b(x) c(x, 0)`); a longer chain is not
/// followed (`Limit::ForwardDepth`), and its first macro stays a macro.
pub(crate) const FORWARD_DEPTH: usize = 4;

/// What a function does with an identity received in one parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IdentityUse {
    /// Only computed with, compared, or handed to code that only reads it.
    Read,
    /// Otherwise read, but handed back as (part of) the return value: the
    /// caller's result holds what that call site passed.
    Returned,
    /// May become a page again, or be stored, returned or passed on where
    /// that can happen.
    Kept,
}

/// The summaries computed so far in one analysis.
#[derive(Default)]
pub(crate) struct Cache {
    /// Per function and parameter position: what it does with an identity.
    identity: HashMap<(FuncId, usize), IdentityUse>,
    /// Per macro name: its definitions in the files read.
    macro_defs: HashMap<String, Rc<[MacroDef]>>,
    /// Per macro name and argument position: what it does with the value.
    macro_uses: HashMap<(String, usize), IdentityUse>,
    /// Per macro name: the function every definition read forwards to.
    forwards: HashMap<String, Option<String>>,
    /// Per function: the macros of the files read that forward to it,
    /// directly or through other such macros; built when first asked.
    forwarders: Option<HashMap<String, Vec<String>>>,
}

/// Calls whose parenthesised operand is only tested or measured.
const TESTS: &[&str] = &[
    "if",
    "while",
    "switch",
    "sizeof",
    "typeof",
    "__typeof__",
    "__builtin_constant_p",
];

impl<'a, 't> FlowContext<'a, 't> {
    /// What `g` does with a page's identity passed as its argument number
    /// `position`.
    pub fn identity_use(&self, g: FuncId, position: usize) -> IdentityUse {
        if let Some(&u) = self.summaries.borrow().identity.get(&(g, position)) {
            return u;
        }
        let mut open = HashSet::default();
        self.summarise(g, position, &mut open)
    }

    fn summarise(
        &self,
        g: FuncId,
        position: usize,
        open: &mut HashSet<(FuncId, usize)>,
    ) -> IdentityUse {
        if let Some(&u) = self.summaries.borrow().identity.get(&(g, position)) {
            return u;
        }
        if open.len() >= SUMMARY_DEPTH {
            self.hit(Limit::SummaryDepth(SUMMARY_DEPTH));
            return IdentityUse::Kept;
        }
        if !open.insert((g, position)) {
            // A recursive call: its answer is not known yet.
            return IdentityUse::Kept;
        }
        let u = self.identity_use_in(g, position, open);
        open.remove(&(g, position));
        self.summaries
            .borrow_mut()
            .identity
            .insert((g, position), u);
        u
    }

    /// The summary of one parameter, reading `g`'s body.
    fn identity_use_in(
        &self,
        g: FuncId,
        position: usize,
        open: &mut HashSet<(FuncId, usize)>,
    ) -> IdentityUse {
        let f = &self.funcs[g];
        let Some(param) = f.params.get(position) else {
            return IdentityUse::Read;
        };
        let src = self.src(g);
        let mut carriers: HashSet<String> = HashSet::from_iter([param.clone()]);
        let assignments: Vec<Assignment> =
            f.nodes.iter().filter_map(|&n| Assignment::new(n)).collect();
        // The locals the identity reaches, to a fixpoint; a store anywhere
        // else keeps it.
        loop {
            let before = carriers.len();
            for asg in &assignments {
                if !self.carries(g, asg.rhs, &carriers, open) {
                    continue;
                }
                match shape(asg.lhs, src) {
                    ExprShape::Ident(n) if f.locals.contains(&text(n, src)) => {
                        carriers.insert(text(n, src));
                    }
                    ExprShape::Ident(n) if f.params.contains(&text(n, src)) => {
                        carriers.insert(text(n, src));
                    }
                    _ => return IdentityUse::Kept,
                }
            }
            if carriers.len() == before {
                break;
            }
        }
        let mut returned = false;
        for &n in f.nodes.iter() {
            if n.kind_str() == "return_statement"
                && n.named_child(0)
                    .is_some_and(|e| self.carries(g, e, &carriers, open))
            {
                returned = true;
            }
            let Some(call) = Call::new(n) else { continue };
            if self.cast_operand(g, &call).is_some() {
                continue;
            }
            let kept = self.with_args(g, &call, |args| {
                args.iter().enumerate().any(|(k, &arg)| {
                    self.carries(g, arg, &carriers, open)
                        && self.call_keeps(g, &call, k, open) == IdentityUse::Kept
                })
            });
            if kept {
                return IdentityUse::Kept;
            }
        }
        if returned {
            IdentityUse::Returned
        } else {
            IdentityUse::Read
        }
    }

    /// What a call in `g` does with an identity passed as argument `k`.
    fn call_keeps(
        &self,
        g: FuncId,
        call: &Call,
        k: usize,
        open: &mut HashSet<(FuncId, usize)>,
    ) -> IdentityUse {
        let flow = &self.engine.pack.flow;
        let name = call
            .callee_name(self.src(g))
            .map(|c| String::from_utf8_lossy(c).into_owned());
        if let Some(c) = &name {
            if flow.transparent.contains(c)
                || flow.releases.contains(c)
                || flow.extra_references.contains(c)
            {
                return IdentityUse::Kept;
            }
            // An address stored as an element's page (`sg_set_buf(sg,
            // vaddr, len)`) is kept. Handed as the container, or as the
            // array a whole-array store copies (`memcpy(buf, vaddr, len)`),
            // it is where the call writes or reads the page's data, and
            // the data of a user page holds no page of the kernel's.
            if let Some(store) = flow.element_stores.get(c) {
                return match k == store.value && !store.whole_array {
                    true => IdentityUse::Kept,
                    false => IdentityUse::Read,
                };
            }
            // Identity calls pass it on as a value, checked where it goes.
            if flow.identities.contains(c) {
                return IdentityUse::Returned;
            }
            if self.resolve(g, c) == Err(Unresolved::Undefined) {
                if let Some(u) = self.macro_use(c, k) {
                    return u;
                }
                if let Some(u) = self.shared_helper_use(c, k, open) {
                    return u;
                }
                if !self.is_read_only_call(c) && !self.searched_definitions.contains(c) {
                    // Not read yet: followed until its definition is
                    // searched for (an identity handed to a function the
                    // tree does not define is read, as in
                    // `escapes::arguments::named_call`).
                    return IdentityUse::Kept;
                }
            }
        }
        let mut u = IdentityUse::Read;
        for t in self.targets(g, call) {
            match self.summarise(t, k, open) {
                IdentityUse::Kept => return IdentityUse::Kept,
                IdentityUse::Returned => u = IdentityUse::Returned,
                IdentityUse::Read => {}
            }
        }
        u
    }

    /// What the `static inline` helpers of the kernel's shared headers
    /// named `name` (every variant read: one per architecture, or per
    /// `#ifdef`) do with a page or its identity passed as argument
    /// `position`, or `None` when no such definition was read. They are
    /// never followed (`calls::pick_definition`), so a page they only read
    /// is used there, one handed back is in the call's value, and one any
    /// variant may keep leaves the flow.
    pub fn shared_helper_use(
        &self,
        name: &str,
        position: usize,
        open: &mut HashSet<(FuncId, usize)>,
    ) -> Option<IdentityUse> {
        let helpers = self.shared_helpers(name);
        if helpers.is_empty() {
            return None;
        }
        let mut u = IdentityUse::Read;
        for d in helpers {
            match self.summarise(d, position, open) {
                IdentityUse::Kept => return Some(IdentityUse::Kept),
                IdentityUse::Returned => u = IdentityUse::Returned,
                IdentityUse::Read => {}
            }
        }
        Some(u)
    }

    /// Whether a call of `name` that reaches no definition it follows hands
    /// back, in its value, the identity passed as argument `position`. A
    /// shared header's helper: when one of its variants returns it. A
    /// macro: unless its definitions read only look at it (one no file
    /// read defines is known by its upper-case name), so that a page
    /// turned back from its result (`pfn_to_page(PFN_DOWN(addr))`) is
    /// still the flow's. A function the tree does not define (a hypercall,
    /// an assembly routine) computes with it and returns a status; a call
    /// of the vocabulary says itself what it returns.
    pub fn unfollowed_hands_back(
        &self,
        name: &str,
        position: usize,
        open: &mut HashSet<(FuncId, usize)>,
    ) -> bool {
        if self.engine.is_vocabulary(name) {
            return false;
        }
        if let Some(u) = self.shared_helper_use(name, position, open) {
            return u == IdentityUse::Returned;
        }
        match self.macro_use(name, position) {
            Some(u) => u != IdentityUse::Read,
            None => is_macro_name(name),
        }
    }

    /// A call the analysis never asks the definition of when it is given
    /// an identity: a known use, or a macro-like name.
    fn is_read_only_call(&self, c: &str) -> bool {
        let flow = &self.engine.pack.flow;
        flow.is_use(c) || flow.is_element_call(c) || is_macro_name(c)
    }

    /// Whether an expression's value may be one of `carriers`' values, by
    /// the rules of `eval`; a call carries what it returns of them.
    fn carries(
        &self,
        g: FuncId,
        node: Node,
        carriers: &HashSet<String>,
        open: &mut HashSet<(FuncId, usize)>,
    ) -> bool {
        let src = self.src(g);
        let flow = &self.engine.pack.flow;
        if super::values::casts_to_user_space(node, src) {
            return false;
        }
        match shape(node, src) {
            ExprShape::Ident(n) => carriers.contains(&text(n, src)),
            ExprShape::Offset {
                base,
                other,
                subtracted,
            } => {
                self.carries(g, base, carriers, open)
                    || (!subtracted && self.carries(g, other, carriers, open))
            }
            ExprShape::Other => super::values::bit_operands(node, src).is_some_and(|(l, r)| {
                self.carries(g, l, carriers, open)
                    || r.is_some_and(|r| self.carries(g, r, carriers, open))
            }),
            ExprShape::Conditional { then, otherwise } => {
                self.carries(g, otherwise, carriers, open)
                    || then.is_some_and(|t| self.carries(g, t, carriers, open))
            }
            ExprShape::Call(call) => {
                if let Some(operand) = self.cast_operand(g, &call) {
                    return self.carries(g, operand, carriers, open);
                }
                let passes = call.callee_name(src).is_some_and(|c| {
                    let c = String::from_utf8_lossy(c);
                    flow.identities.contains(c.as_ref()) || flow.transparent.contains(c.as_ref())
                });
                if passes {
                    return self.with_args(g, &call, |args| {
                        args.first()
                            .is_some_and(|a| self.carries(g, *a, carriers, open))
                    });
                }
                let targets = self.targets(g, &call);
                let name = call
                    .callee_name(src)
                    .map(|c| String::from_utf8_lossy(c).into_owned());
                self.with_args(g, &call, |args| {
                    args.iter().enumerate().any(|(k, a)| {
                        self.carries(g, *a, carriers, open)
                            && (targets
                                .iter()
                                .any(|&t| self.summarise(t, k, open) == IdentityUse::Returned)
                                || (targets.is_empty()
                                    && name
                                        .as_deref()
                                        .is_some_and(|c| self.unfollowed_hands_back(c, k, open))))
                    })
                })
            }
            _ => false,
        }
    }
}

impl<'a, 't> FlowContext<'a, 't> {
    /// The function the macro `name` hands its arguments to unchanged
    /// (`MacroDef::forwarded_to`), when every definition of it in the files
    /// read is such a call of the same function and no function of that
    /// name is read.
    pub fn forwarded_to(&self, name: &str) -> Option<String> {
        if !self.forwarding_macros.contains(name.as_bytes()) || self.by_name.contains_key(name) {
            return None;
        }
        if let Some(f) = self.summaries.borrow().forwards.get(name) {
            return f.clone();
        }
        let defs = self.macro_definitions(name);
        let mut target: Option<&str> = None;
        let mut agree = !defs.is_empty();
        for d in defs.iter() {
            match (d.forwarded_to(), target) {
                (None, _) => agree = false,
                (Some(g), Some(t)) if g != t => agree = false,
                (Some(g), _) => target = Some(g),
            }
        }
        let out = target.filter(|_| agree).map(str::to_string);
        self.summaries
            .borrow_mut()
            .forwards
            .insert(name.to_string(), out.clone());
        out
    }

    /// The name a call of `name` ends up calling through forwarding
    /// macros (`name` itself when it is not one), at most `FORWARD_DEPTH`
    /// macros on.
    pub fn forward_end(&self, name: &str) -> String {
        let mut at = name.to_string();
        for _ in 0..FORWARD_DEPTH {
            match self.forwarded_to(&at) {
                Some(next) if next != name => at = next,
                _ => return at,
            }
        }
        if self.forwarded_to(&at).is_some() {
            self.hit(Limit::ForwardDepth(FORWARD_DEPTH));
        }
        at
    }

    /// The macros of the files read whose uses call `function` through
    /// forwarding (`forward_end`), in name order.
    pub fn forwarders_of(&self, function: &str) -> Vec<String> {
        if self.summaries.borrow().forwarders.is_none() {
            let mut names: Vec<&[u8]> = self.forwarding_macros.iter().copied().collect();
            names.sort_unstable();
            let mut index: HashMap<String, Vec<String>> = HashMap::default();
            for name in names {
                let name = String::from_utf8_lossy(name).into_owned();
                let end = self.forward_end(&name);
                if end != name {
                    index.entry(end).or_default().push(name);
                }
            }
            self.summaries.borrow_mut().forwarders = Some(index);
        }
        self.summaries
            .borrow()
            .forwarders
            .as_ref()
            .and_then(|index| index.get(function).cloned())
            .unwrap_or_default()
    }

    /// What the function-like macro `name` does with its argument number
    /// `position` (pages or their identity), or `None` when no file read
    /// defines it.
    pub fn macro_use(&self, name: &str, position: usize) -> Option<IdentityUse> {
        self.macro_use_at(name, position, 0)
    }

    fn macro_use_at(&self, name: &str, position: usize, depth: usize) -> Option<IdentityUse> {
        let key = (name.to_string(), position);
        if let Some(&u) = self.summaries.borrow().macro_uses.get(&key) {
            return Some(u);
        }
        let defs = self.macro_definitions(name);
        if defs.is_empty() {
            return None;
        }
        if depth >= SUMMARY_DEPTH {
            self.hit(Limit::SummaryDepth(SUMMARY_DEPTH));
            return Some(IdentityUse::Kept);
        }
        let u = if defs.iter().all(|d| {
            d.param_at(position)
                .is_some_and(|p| self.macro_param_use(d, p, depth) == IdentityUse::Read)
        }) {
            IdentityUse::Read
        } else {
            IdentityUse::Kept
        };
        self.summaries.borrow_mut().macro_uses.insert(key, u);
        Some(u)
    }

    /// Whether a call of `name` may store into its argument number
    /// `position` when that argument is a variable or a field: a macro
    /// defined in the files read whose body assigns the parameter, takes
    /// its address or hands it to a macro written in capitals; a name in
    /// capitals defined nowhere read. A lower-case name defined nowhere read
    /// is taken for a function, which cannot.
    pub fn may_store_argument(&self, name: &str, position: usize) -> bool {
        let defs = self.macro_definitions(name);
        if defs.is_empty() {
            return is_macro_name(name);
        }
        defs.iter().any(|d| {
            let Some(param) = d.param_at(position) else {
                return true;
            };
            let body = &d.body;
            body.iter().enumerate().any(|(i, tok)| {
                if !matches!(tok, Token::Ident(n) if n == param) {
                    return false;
                }
                let punct = |at: Option<usize>| match at.and_then(|j| body.get(j)) {
                    Some(Token::Punct(p)) => p.as_str(),
                    _ => "",
                };
                // The parameter through the parentheses around it.
                let mut next = i + 1;
                while punct(Some(next)) == ")" {
                    next += 1;
                }
                let mut prev = i.checked_sub(1);
                let mut opened = false;
                while punct(prev) == "(" {
                    opened = true;
                    prev = prev.and_then(|j| j.checked_sub(1));
                }
                let before = punct(prev);
                let after = punct(Some(next));
                // `p = v`, `p += v`, `p <<= v` (`<<` then `=`), `p++`.
                let assigns = (after.ends_with('=') && !matches!(after, "==" | "!=" | "<=" | ">="))
                    || (matches!(after, "<<" | ">>") && punct(Some(next + 1)) == "=")
                    || matches!(after, "++" | "--");
                let address_or_step = matches!(before, "&" | "++" | "--");
                let in_capitals = opened
                    && matches!(prev.and_then(|j| body.get(j)),
                        Some(Token::Ident(c)) if is_macro_name(c));
                assigns || address_or_step || in_capitals
            })
        })
    }

    /// Whether the files read define a function-like macro of this name.
    pub fn is_defined_macro(&self, name: &str) -> bool {
        !self.macro_definitions(name).is_empty()
    }

    /// The definitions of a macro in the files read, in file order. Most
    /// names asked are defined by no file: those cost one look-up in the
    /// index of names and are not kept.
    fn macro_definitions(&self, name: &str) -> Rc<[MacroDef]> {
        let files = self.macro_files(name);
        if files.is_empty() {
            return Rc::new([]);
        }
        if let Some(d) = self.summaries.borrow().macro_defs.get(name) {
            return d.clone();
        }
        let defs: Rc<[MacroDef]> = (files.iter())
            .flat_map(|&file| self.files[file.index()].parsed.macro_definitions(name))
            .collect();
        self.summaries
            .borrow_mut()
            .macro_defs
            .insert(name.to_string(), defs.clone());
        defs
    }

    /// What one definition does with the parameter `param`: every
    /// occurrence must be stringified, or sit inside a call that only reads
    /// it (through calls that pass the value on unchanged).
    fn macro_param_use(&self, def: &MacroDef, param: &str, depth: usize) -> IdentityUse {
        let flow = &self.engine.pack.flow;
        let body = &def.body;
        // The open parentheses: the call each belongs to (the identifier
        // before it) and the argument being read.
        let mut frames: Vec<(Option<&str>, usize)> = Vec::new();
        for (i, tok) in body.iter().enumerate() {
            let prev = i.checked_sub(1).map(|p| &body[p]);
            match tok {
                Token::Punct(p) if p == "(" => {
                    let callee = match prev {
                        Some(Token::Ident(n)) => Some(n.as_str()),
                        _ => None,
                    };
                    frames.push((callee, 0));
                }
                Token::Punct(p) if p == "," => {
                    if let Some(f) = frames.last_mut() {
                        f.1 += 1;
                    }
                }
                Token::Punct(p) if p == ")" => {
                    frames.pop();
                }
                Token::Ident(n) if n == param => {
                    let pasted = matches!(prev, Some(Token::Punct(p)) if p == "##");
                    let comma_paste = pasted
                        && matches!(i.checked_sub(2).map(|p| &body[p]), Some(Token::Punct(p)) if p == ",");
                    let stringified = matches!(prev, Some(Token::Punct(p)) if p == "#");
                    let next_pastes = matches!(body.get(i + 1), Some(Token::Punct(p)) if p == "##");
                    if stringified {
                        continue;
                    }
                    if (pasted && !comma_paste) || next_pastes {
                        return IdentityUse::Kept;
                    }
                    let mut read = false;
                    for &(callee, arg) in frames.iter().rev() {
                        let Some(c) = callee else { continue };
                        if flow.transparent.contains(c) || flow.identities.contains(c) {
                            continue;
                        }
                        read = TESTS.contains(&c)
                            || flow.is_use(c)
                            || self.macro_use_at(c, arg, depth + 1) == Some(IdentityUse::Read);
                        break;
                    }
                    if !read {
                        return IdentityUse::Kept;
                    }
                }
                _ => {}
            }
        }
        IdentityUse::Read
    }
}

/// Whether a callee's name is written as a macro's: upper case, digits and
/// underscores (`PFN_DOWN`, `WARN_ON`).
pub(crate) fn is_macro_name(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}
