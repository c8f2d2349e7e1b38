//! What an expression holds: the location it names (`loc_of`, `base_loc`,
//! `alias_loc`, `root_of`), its struct type, and its value (`eval`): which
//! units' pages or arrays of pages it may hold.

use super::ids::FuncId;
use super::{text, FlowContext, Limit, Loc, Val};
use crate::c::syntax::{shape, ExprShape};
use crate::engine::types::type_of;
use tree_sitter::Node;

/// How deep `eval` and `base_loc` follow an expression's operands.
pub(crate) const EXPRESSION_DEPTH: usize = 64;

impl<'a, 't> FlowContext<'a, 't> {
    /// The struct type of an expression, when it is known.
    pub fn type_of(&self, func: FuncId, node: Node) -> Option<String> {
        let src = self.src(func);
        let returns = |name: &str| {
            self.by_name
                .get(name)
                .and_then(|d| d.first())
                .and_then(|&d| self.funcs[d].return_type.clone())
        };
        type_of(node, src, &self.funcs[func].types, &self.types, &returns)
    }

    /// The location an lvalue-ish expression names.
    pub fn loc_of(&self, func: FuncId, node: Node) -> Option<Loc> {
        let src = self.src(func);
        match shape(node, src) {
            ExprShape::Ident(n) => {
                let name = text(n, src);
                let f = &self.funcs[func];
                (f.locals.contains(&name) || f.params.contains(&name))
                    .then_some(Loc::Var(func, name))
            }
            ExprShape::Field { base, field, .. } => {
                let s = self.type_of(func, base)?;
                Some(Loc::Field(s, text(field, src)))
            }
            _ => None,
        }
    }

    /// The location an element or alias expression reads its pages through.
    pub fn base_loc(&self, func: FuncId, node: Node) -> Option<Loc> {
        let src = self.src(func);
        let mut node = node;
        for _ in 0..EXPRESSION_DEPTH {
            match shape(node, src) {
                ExprShape::Ident(_) | ExprShape::Field { .. } => return self.loc_of(func, node),
                ExprShape::Subscript { base, .. }
                | ExprShape::Deref(base)
                | ExprShape::Offset { base, .. } => node = base,
                ExprShape::AddressOf(inner) => node = inner,
                _ => return None,
            }
        }
        self.hit(Limit::ExpressionDepth(EXPRESSION_DEPTH));
        None
    }

    /// What a location holds.
    pub fn val_of(&self, loc: &Loc) -> Val {
        match self.locs.get(loc) {
            Some(i) => Val {
                arrays: i.arrays.clone(),
                pages: i.pages.clone(),
            },
            None => Val::default(),
        }
    }

    /// What an expression may hold.
    pub fn eval(&self, func: FuncId, node: Node, depth: usize) -> Val {
        if depth > EXPRESSION_DEPTH {
            self.hit(Limit::ExpressionDepth(EXPRESSION_DEPTH));
            return Val::default();
        }
        let src = self.src(func);
        let eval = |n: Node| self.eval(func, n, depth + 1);
        match shape(node, src) {
            ExprShape::Field { base, field, .. }
                if self
                    .engine
                    .pack
                    .flow
                    .element_fields
                    .contains(&text(field, src)) =>
            {
                // The page of a container element (`bv->bv_page` of a bio_vec
                // walked by a bio iterator).
                let mut v = self
                    .loc_of(func, node)
                    .map(|l| self.val_of(&l))
                    .unwrap_or_default();
                v.pages.extend(eval(base).arrays);
                v
            }
            ExprShape::Ident(_) | ExprShape::Field { .. } => self
                .loc_of(func, node)
                .map(|l| self.val_of(&l))
                .unwrap_or_default(),
            ExprShape::Subscript { base, .. } | ExprShape::Deref(base) => {
                Val::pages(eval(base).arrays)
            }
            ExprShape::AddressOf(inner) => match shape(inner, src) {
                ExprShape::Subscript { base, .. } => Val::arrays(eval(base).arrays),
                _ => Val::arrays(eval(inner).pages),
            },
            ExprShape::Offset { base, other } => {
                let mut arrays = eval(base).arrays;
                arrays.extend(eval(other).arrays);
                Val::arrays(arrays)
            }
            ExprShape::Conditional { then, otherwise } => {
                let mut v = eval(otherwise);
                if let Some(t) = then {
                    v.extend(eval(t));
                }
                v
            }
            ExprShape::Call(call) => self.eval_call(func, &call, depth),
            _ => Val::default(),
        }
    }

    /// What a call returns: an element of a container, its argument for a
    /// transparent call, a step through a container, or what the functions
    /// it reaches return.
    fn eval_call(&self, func: FuncId, call: &crate::c::syntax::Call, depth: usize) -> Val {
        let src = self.src(func);
        let flow = &self.engine.pack.flow;
        if let Some(name) = call.callee_name(src) {
            let name = String::from_utf8_lossy(name);
            // The arrays the container argument points into.
            let container = |c: usize| {
                call.args()
                    .get(c)
                    .map(|a| self.eval(func, *a, depth + 1).arrays)
                    .unwrap_or_default()
            };
            if let Some(&c) = flow.element_loads.get(name.as_ref()) {
                return Val::pages(container(c));
            }
            if flow.transparent.contains(name.as_ref()) {
                return call
                    .args()
                    .first()
                    .map(|a| self.eval(func, *a, depth + 1))
                    .unwrap_or_default();
            }
            if let Some(&c) = flow.element_steps.get(name.as_ref()) {
                return Val::arrays(container(c));
            }
        }
        let mut v = Val::default();
        for g in self.targets(func, call) {
            v.extend(self.val_of(&Loc::Ret(g)));
        }
        v
    }

    /// Whether an expression is `NULL` or a call of an allocator.
    pub fn is_null_or_allocation(&self, func: FuncId, node: Node) -> bool {
        let src = self.src(func);
        match shape(node, src) {
            ExprShape::Null => true,
            ExprShape::Call(call) => call.callee_name(src).is_some_and(|c| {
                self.engine
                    .pack
                    .flow
                    .allocators
                    .contains(&*String::from_utf8_lossy(c))
            }),
            _ => false,
        }
    }
}

/// The location an array expression aliases (`pages`, `p->pages`, `pages + n`).
pub(crate) fn alias_loc(cx: &FlowContext, func: FuncId, node: Node) -> Option<Loc> {
    let src = cx.src(func);
    match shape(node, src) {
        ExprShape::Ident(_) | ExprShape::Field { .. } => cx.loc_of(func, node),
        ExprShape::Offset { base, .. } => alias_loc(cx, func, base),
        ExprShape::AddressOf(inner) => match shape(inner, src) {
            ExprShape::Subscript { base, .. } => alias_loc(cx, func, base),
            _ => None,
        },
        _ => None,
    }
}

/// Where an acquire's pages live: the location and whether it is an array.
pub(crate) fn root_of(cx: &FlowContext, func: FuncId, node: Node) -> Option<(Loc, bool)> {
    let src = cx.src(func);
    match shape(node, src) {
        ExprShape::Ident(_) | ExprShape::Field { .. } => cx.loc_of(func, node).map(|l| (l, true)),
        ExprShape::Offset { base, .. } => root_of(cx, func, base),
        ExprShape::AddressOf(inner) => match shape(inner, src) {
            ExprShape::Subscript { base, .. } => root_of(cx, func, base),
            ExprShape::Ident(_) | ExprShape::Field { .. } => {
                cx.loc_of(func, inner).map(|l| (l, false))
            }
            _ => None,
        },
        _ => None,
    }
}
