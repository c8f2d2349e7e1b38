//! What an expression holds: the location it names (`loc_of`, `base_loc`,
//! `alias_loc`, `root_of`), its struct type, and its value (`eval`): which
//! units' pages or arrays of pages it may hold.

use super::ids::FuncId;
use super::summaries::IdentityUse;
use super::{text, FlowContext, Limit, Loc, Val};
use crate::c::syntax::{shape, ExprShape};
use crate::c::NodeExt;
use crate::engine::types::{type_name_from_text, type_of};
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
        let f = &self.funcs[func];
        let global = |name: &str| {
            if f.locals.contains(name) || f.params.iter().any(|p| p == name) {
                return None;
            }
            let own = self.globals.per_file[f.file.index()].get(name);
            own.or_else(|| self.globals.shared.get(name)).cloned()
        };
        type_of(
            node,
            src,
            self.var_types(func),
            &global,
            &self.types,
            &returns,
        )
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
            ExprShape::Field { base, field, .. } => self.field_loc(func, base, field).0,
            _ => None,
        }
    }

    /// The location `base.field` (or `base->field`) names, and whether the
    /// field points at a container's elements (`sg_table::sgl`): then the
    /// location is the table's own (`table_loc`).
    fn field_loc(&self, func: FuncId, base: Node, field: Node) -> (Option<Loc>, bool) {
        let Some(s) = self.type_of(func, base) else {
            return (None, false);
        };
        let f = self.types.canonical_field(&s, &text(field, self.src(func)));
        if self.engine.pack.flow.is_container_field(&s, &f) {
            (self.table_loc(func, base), true)
        } else {
            (Some(Loc::Field(s, f)), false)
        }
    }

    /// Where a table lives whose container field (`t->sgl`, `req->sgt.sgl`)
    /// an expression names: the field points at that table's elements, so
    /// its pages are the table's own, not one location shared by every
    /// table of the kernel. A table the analysis cannot name (a global, a
    /// call's result) has no location: pages stored there leave the flow.
    fn table_loc(&self, func: FuncId, table: Node) -> Option<Loc> {
        let src = self.src(func);
        match shape(table, src) {
            ExprShape::Ident(_) | ExprShape::Field { .. } => self.loc_of(func, table),
            ExprShape::Subscript { base, .. } | ExprShape::Deref(base) => {
                alias_loc(self, func, base)
            }
            _ => None,
        }
    }

    /// Whether an expression names a field declared as an array of arrays
    /// (`ctx->pages` of `struct page *pages[N][M]`): its rows and their
    /// elements are one array's.
    pub fn is_array_of_arrays(&self, func: FuncId, node: Node) -> bool {
        let src = self.src(func);
        let ExprShape::Field { base, field, .. } = shape(node, src) else {
            return false;
        };
        // The field's name first: most fields are no struct's array of
        // arrays, and their base's type need not be worked out.
        let name = String::from_utf8_lossy(&src[field.byte_range()]);
        self.types.has_array_of_arrays_named(&name)
            && self
                .type_of(func, base)
                .is_some_and(|s| self.types.is_array_of_arrays(&s, &name))
    }

    /// Whether an expression is a variable declared as a pointer to (or an
    /// array of) pages arrays (`Func::page_array_rows`).
    pub fn points_at_page_arrays(&self, func: FuncId, node: Node) -> bool {
        let f = &self.funcs[func];
        !f.page_array_rows.is_empty()
            && matches!(shape(node, self.src(func)), ExprShape::Ident(n)
                if f.page_array_rows.contains(&text(n, self.src(func))))
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
                ExprShape::Call(call) => node = self.identity_operand(func, &call)?,
                ExprShape::Other => node = bit_operands(node, src)?.0,
                _ => return None,
            }
        }
        self.hit(Limit::ExpressionDepth(EXPRESSION_DEPTH));
        None
    }

    /// The argument a call hands back the identity of: the first argument
    /// of a transparent call (`pfn_to_page(x)`), the container of an
    /// element load (`sg_page(sg)`).
    pub fn identity_operand<'n>(
        &self,
        func: FuncId,
        call: &crate::c::syntax::Call<'n>,
    ) -> Option<Node<'n>> {
        let flow = &self.engine.pack.flow;
        let name = String::from_utf8_lossy(call.callee_name(self.src(func))?).into_owned();
        let at = if flow.transparent.contains(&name) || flow.identities.contains(&name) {
            0
        } else {
            *flow.element_loads.get(&name)?
        };
        call.args().get(at).copied()
    }

    /// What a location holds.
    pub fn val_of(&self, loc: &Loc) -> Val {
        self.note_read(super::Read::Value(loc));
        match self.locs.get(loc) {
            Some(i) => Val {
                arrays: i.arrays.clone(),
                pages: i.pages.clone(),
            },
            None => Val::default(),
        }
    }

    /// Whether the elements of an array expression (`addrs` of
    /// `addrs[k]`, `pl->addrs`) are of a narrow type: a variable or a
    /// field declared as a pointer to or an array of one (`u32 *addrs`).
    /// An element of one holds no page, whatever the array aliases (a
    /// buffer carved into a `u32` part and a `struct page *` part).
    pub fn has_narrow_elements(&self, func: FuncId, base: Node) -> bool {
        let src = self.src(func);
        match shape(base, src) {
            ExprShape::Ident(n) => (self.scalar_names(func))
                .narrow_elements
                .contains(&text(n, src)),
            ExprShape::Field { base, field, .. } => self.type_of(func, base).is_some_and(|s| {
                let f = self.types.canonical_field(&s, &text(field, src));
                self.narrow_field(&s, &f, true)
            }),
            _ => false,
        }
    }

    /// What an expression may hold.
    pub fn eval(&self, func: FuncId, node: Node, depth: usize) -> Val {
        if depth > EXPRESSION_DEPTH {
            self.hit(Limit::ExpressionDepth(EXPRESSION_DEPTH));
            return Val::default();
        }
        // A stored copy that holds a reference of its own carries none of
        // the acquire's pages.
        if self.funcs[func].constraints.handed.is_copy(node) {
            return Val::default();
        }
        let src = self.src(func);
        if casts_to_user_space(node, src) {
            return Val::default();
        }
        let eval = |n: Node| self.eval(func, n, depth + 1);
        // A pointer cast to an integer type (`(dma_addr_t *)(pages + n)`)
        // points at numbers, not at a pages array.
        if is_integer_pointer_cast(node, src, &self.engine.pack.flow.identity_types) {
            let mut v = eval(crate::c::syntax::strip(node));
            v.arrays.clear();
            return v;
        }
        // A statement expression (GNU C: `({ struct page *p = pages[i]; p; })`)
        // is worth the expression of its last statement; its declarations
        // are the function's locals.
        let inner = crate::c::syntax::strip(node);
        if inner.kind_str() == "compound_statement" {
            let mut cursor = inner.walk();
            let last = inner
                .named_children(&mut cursor)
                .filter(|c| c.kind_str() != "comment")
                .last();
            return match last {
                Some(s) if s.kind_str() == "expression_statement" => {
                    s.named_child(0).map(eval).unwrap_or_default()
                }
                _ => Val::default(),
            };
        }
        self.eval_shape(func, node, depth)
    }

    /// What an expression holds by its shape: a field, a variable, an
    /// element or what a pointer points at, an address, an offset, the
    /// operands that carry their value, or a call's result.
    fn eval_shape(&self, func: FuncId, node: Node, depth: usize) -> Val {
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
                // The page of a container element: `bv->bv_page` of a bio_vec
                // walked by a bio iterator, `bvec[i].bv_page` of an array of
                // them, `bv.bv_page` of one.
                let mut v = self
                    .loc_of(func, node)
                    .map(|l| self.val_of(&l))
                    .unwrap_or_default();
                v.pages.extend(eval(base).units());
                v
            }
            ExprShape::Field { base, field, .. } => {
                let (loc, container) = self.field_loc(func, base, field);
                let mut v = loc.as_ref().map(|l| self.val_of(l)).unwrap_or_default();
                // A field pointing at a container's elements (`t->sgl`)
                // points at the pages its table holds, however they were
                // put there (a whole array, or one page through `&table`).
                if container {
                    let pages = std::mem::take(&mut v.pages);
                    v.arrays.extend(pages);
                }
                v
            }
            ExprShape::Ident(_) => self
                .loc_of(func, node)
                .map(|l| self.val_of(&l))
                .unwrap_or_default(),
            // A row of an array of arrays is that array, flattened; so is
            // what a pointer to a pages array points at (`*pagesp`).
            ExprShape::Subscript { base, .. } if self.is_array_of_arrays(func, base) => {
                Val::arrays(eval(base).arrays)
            }
            ExprShape::Subscript { base, .. } | ExprShape::Deref(base)
                if self.points_at_page_arrays(func, base) =>
            {
                Val::arrays(eval(base).arrays)
            }
            // An element of a `u32` array is a number, whatever the array
            // aliases.
            ExprShape::Subscript { base, .. } | ExprShape::Deref(base)
                if self.has_narrow_elements(func, base) =>
            {
                Val::default()
            }
            ExprShape::Subscript { base, .. } | ExprShape::Deref(base) => {
                Val::pages(eval(base).arrays)
            }
            // `&x` points at x's page, or at the container x is (a table
            // filled from an array: `&req->sgt`).
            ExprShape::AddressOf(inner) => self.eval_address_of(func, inner, depth),
            // An offset into an array is the array; an offset from a page's
            // identity (`page_to_phys(page) + off`) still names that page. A
            // difference is a distance, not what is subtracted
            // (`end - page_to_phys(page)`).
            ExprShape::Offset {
                base,
                other,
                subtracted,
            } => {
                let mut v = eval(base);
                if subtracted {
                    // The distance between two addresses of the same pages
                    // (`end - start`), or between two pointers into the
                    // same array (`cur - pages`), is a size.
                    let o = eval(other);
                    v.pages.retain(|u| !o.pages.contains(u));
                    v.arrays.retain(|u| !o.arrays.contains(u));
                } else {
                    v.extend(eval(other));
                }
                v
            }
            // An initialiser holds an array of what its members hold; the
            // other expressions that carry an operand's value hold it
            // (`value_operands`).
            ExprShape::Other => match value_operands(node, src) {
                Some((operands, initializer)) => {
                    let mut v = Val::default();
                    for operand in operands {
                        let m = eval(operand);
                        if initializer {
                            v.arrays.extend(m.pages.into_iter().chain(m.arrays));
                        } else {
                            v.extend(m);
                        }
                    }
                    v
                }
                None => Val::default(),
            },
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

    /// What `&inner` holds: it points at the page `inner` holds, or at
    /// the container `inner` is (a table filled from an array:
    /// `&req->sgt`).
    fn eval_address_of(&self, func: FuncId, inner: Node, depth: usize) -> Val {
        let src = self.src(func);
        let eval = |n: Node| self.eval(func, n, depth + 1);
        match shape(inner, src) {
            ExprShape::Subscript { base, .. } => Val::arrays(eval(base).arrays),
            // `&page->lru`: a member of a `struct page` leads back to the
            // page (`list_add(&page->lru, &list)` puts it on the list).
            ExprShape::Field {
                base, arrow: true, ..
            } if self.type_of(func, base).as_deref() == Some("page") => {
                let v = eval(inner);
                let mut out = Val::arrays(v.pages.union(&v.arrays).copied().collect());
                out.pages.extend(eval(base).pages);
                out
            }
            _ => {
                let v = eval(inner);
                Val::arrays(v.pages.union(&v.arrays).copied().collect())
            }
        }
    }

    /// What a call returns: an element of a container, its argument for a
    /// transparent call, a step through a container, or what the functions
    /// it reaches return.
    fn eval_call(&self, func: FuncId, call: &crate::c::syntax::Call, depth: usize) -> Val {
        if let Some(operand) = self.cast_operand(func, call) {
            return self.eval(func, operand, depth + 1);
        }
        let src = self.src(func);
        let flow = &self.engine.pack.flow;
        if let Some(name) = call.callee_name(src) {
            let name = String::from_utf8_lossy(name);
            // The arrays the container argument points into.
            let container = |c: usize| {
                self.with_args(func, call, |args| {
                    args.get(c)
                        .map(|a| self.eval(func, *a, depth + 1).arrays)
                        .unwrap_or_default()
                })
            };
            if let Some(&c) = flow.element_loads.get(name.as_ref()) {
                return Val::pages(container(c));
            }
            if flow.transparent.contains(name.as_ref()) || flow.identities.contains(name.as_ref()) {
                return self.with_args(func, call, |args| {
                    args.first()
                        .map(|a| self.eval(func, *a, depth + 1))
                        .unwrap_or_default()
                });
            }
            if let Some(&c) = flow.element_steps.get(name.as_ref()) {
                return Val::arrays(container(c));
            }
        }
        self.with_args(func, call, |args| {
            self.eval_call_with(func, call, args, depth)
        })
    }

    /// What a call returns that no rule of the vocabulary tells, given its
    /// arguments: what the functions it reaches (or, reaching none, the
    /// helper or macro of its name) hand back.
    fn eval_call_with(
        &self,
        func: FuncId,
        call: &crate::c::syntax::Call,
        args: &[Node],
        depth: usize,
    ) -> Val {
        let src = self.src(func);
        let mut v = Val::default();
        let targets = self.targets(func, call);
        // A shared header's helper is never followed, so nothing a caller
        // passes reaches its parameters: what it returns is what it reads
        // elsewhere (`return (struct page **)vec->ptrs;`), the same for
        // every caller.
        if targets.is_empty() {
            if let Some(name) = call.callee_name(src) {
                let name = String::from_utf8_lossy(name);
                v.extend(self.unfollowed_call_value(func, &name, args, depth));
            }
        }
        for g in targets {
            v.extend(self.val_of(&Loc::Ret(g)));
            // An identity the callee hands back is what this call passed.
            for (k, &arg) in args.iter().enumerate() {
                if self.is_identity(func, arg) && self.identity_use(g, k) == IdentityUse::Returned {
                    let a = self.eval(func, arg, depth + 1);
                    if a.arrays.is_empty() {
                        v.extend(a);
                    }
                }
            }
        }
        v
    }

    /// The value of a call to a function the analysis does not follow
    /// (`targets` is empty): what a shared header's helper returns from
    /// elsewhere (nothing a caller passes reaches its parameters: `return
    /// (struct page **)vec->ptrs;`), the identities the call hands back
    /// (`unfollowed_hands_back`), and, for a macro the files read define,
    /// whatever its arguments hold: its expansion may be one of them
    /// (`READ_ONCE(pages[i])`, `rcu_dereference_protected(p, c)`), and a
    /// release of it must be tied to their units.
    fn unfollowed_call_value(&self, func: FuncId, name: &str, args: &[Node], depth: usize) -> Val {
        let mut v = Val::default();
        if self.engine.is_vocabulary(name) {
            return v;
        }
        if self.is_defined_macro(name) {
            for &arg in args {
                v.extend(self.eval(func, arg, depth + 1));
            }
            return v;
        }
        for h in self.shared_helpers(name) {
            v.extend(self.val_of(&Loc::Ret(h)));
        }
        for (k, &arg) in args.iter().enumerate() {
            if self.is_identity(func, arg)
                && self.unfollowed_hands_back(name, k, &mut Default::default())
            {
                let a = self.eval(func, arg, depth + 1);
                if a.arrays.is_empty() {
                    v.extend(a);
                }
            }
        }
        v
    }

    /// The operand of a cast to a typedef that the parser read as a call
    /// (`(u64)(x | y)`): the callee is a parenthesised name that is neither
    /// a local nor a parameter.
    pub fn cast_operand<'n>(
        &self,
        func: FuncId,
        call: &crate::c::syntax::Call<'n>,
    ) -> Option<Node<'n>> {
        let callee = call.callee()?;
        if callee.kind_str() != "parenthesized_expression" {
            return None;
        }
        let name = callee
            .named_child(0)
            .filter(|n| n.kind_str() == "identifier")?;
        let name = text(name, self.src(func));
        let f = &self.funcs[func];
        let args = call.args();
        (args.len() == 1 && !f.locals.contains(&name) && !f.params.contains(&name)).then(|| args[0])
    }

    /// Whether an expression is known to hold a page's identity (a frame
    /// number or an address) rather than a `struct page` pointer: the
    /// result of an identity call, bits of one, or a variable, field or
    /// element whose declared type is not a struct.
    pub fn is_identity(&self, func: FuncId, node: Node) -> bool {
        let src = self.src(func);
        let flow = &self.engine.pack.flow;
        let is_page = |t: &str| t == "page" || t == "folio";
        match shape(node, src) {
            ExprShape::Call(call) => {
                if let Some(operand) = self.cast_operand(func, &call) {
                    return self.is_identity(func, operand);
                }
                call.callee_name(src)
                    .is_some_and(|n| flow.identities.contains(&*String::from_utf8_lossy(n)))
            }
            ExprShape::Offset { base, .. } => self.is_identity(func, base),
            ExprShape::Other => bit_operands(node, src).is_some(),
            ExprShape::Ident(n) => {
                let name = text(n, src);
                let f = &self.funcs[func];
                (f.locals.contains(&name) || f.params.contains(&name))
                    && self
                        .var_types(func)
                        .get(&name)
                        .is_none_or(|t| is_scalar_type(t, &flow.identity_types))
            }
            ExprShape::Field { base, field, .. } => self.type_of(func, base).is_some_and(|s| {
                self.types.is_defined(&s)
                    && !self
                        .types
                        .field_type(&s, &text(field, src))
                        .is_some_and(|t| is_page(&t))
            }),
            ExprShape::Subscript { base, .. } | ExprShape::Deref(base) => {
                matches!(
                    shape(base, src),
                    ExprShape::Ident(_) | ExprShape::Field { .. }
                ) && self.is_identity(func, base)
            }
            _ => false,
        }
    }

    /// Whether an expression cannot be another page: `NULL`, a constant (a
    /// number, a macro constant in capitals, either negated or
    /// complemented), a call of an allocator (a fresh pages array), an
    /// error pointer (`ERR_PTR(ret)`), or a call of functions that return
    /// only entries they have just cleared (`returns_cleared`).
    pub fn holds_no_page(&self, func: FuncId, node: Node) -> bool {
        self.no_page(func, node, true)
    }

    fn no_page(&self, func: FuncId, node: Node, follow_calls: bool) -> bool {
        let src = self.src(func);
        match shape(node, src) {
            ExprShape::Null => true,
            // An allocation, or an error code dressed as a pointer.
            ExprShape::Call(call) => {
                call.callee_name(src).is_some_and(|c| {
                    let c = String::from_utf8_lossy(c);
                    let flow = &self.engine.pack.flow;
                    flow.error_pointers.contains(c.as_ref()) || flow.allocators.contains(c.as_ref())
                }) || (follow_calls && {
                    let targets = self.targets(func, &call);
                    !targets.is_empty() && targets.iter().all(|&g| self.returns_cleared(g))
                })
            }
            ExprShape::Ident(n) => {
                let name = text(n, src);
                let f = &self.funcs[func];
                !f.locals.contains(&name)
                    && !f.params.contains(&name)
                    && name.bytes().any(|b| b.is_ascii_uppercase())
                    && super::summaries::is_macro_name(&name)
            }
            _ => {
                let node = crate::c::syntax::strip(node);
                match node.kind_str() {
                    "number_literal" => true,
                    "unary_expression" => node
                        .field("argument")
                        .is_some_and(|a| self.no_page(func, a, follow_calls)),
                    _ => false,
                }
            }
        }
    }

    /// Whether a function returns only what holds no page (without
    /// following further calls) or a local it has just cleared with a
    /// clearing call (`sg_init_table(sg_ret, nents); return sg_ret;`): the
    /// call is a statement of the function's body itself (it runs on every
    /// path that reaches the return after it), every assignment of the
    /// local comes before it and outside loops, nothing is stored into its
    /// entries, and its address is never taken. A caller gets entries with
    /// no page in them.
    fn returns_cleared(&self, g: FuncId) -> bool {
        let f = &self.funcs[g];
        let returned = f.constraints.returned();
        !returned.is_empty()
            && returned
                .iter()
                .all(|&e| self.no_page(g, e, false) || self.cleared_local(g, e))
    }

    fn cleared_local(&self, g: FuncId, returned: Node) -> bool {
        let f = &self.funcs[g];
        let src = self.src(g);
        let ExprShape::Ident(id) = shape(returned, src) else {
            return false;
        };
        let name = text(id, src);
        if !f.locals.contains(&name) {
            return false;
        }
        let is_var = |n: Node| matches!(shape(n, src), ExprShape::Ident(i) if text(i, src) == name);
        let flow = &self.engine.pack.flow;
        let in_loop = |n: Node| {
            let mut at = n;
            while let Some(p) = at.parent() {
                match p.kind_str() {
                    "for_statement" | "while_statement" | "do_statement" => return true,
                    "function_definition" => return false,
                    _ => at = p,
                }
            }
            false
        };
        let mut cleared_at = None;
        for &n in f.nodes.iter() {
            let Some(call) = crate::c::syntax::Call::new(n) else {
                if matches!(shape(n, src), ExprShape::AddressOf(inner) if is_var(inner)) {
                    return false;
                }
                continue;
            };
            let Some(callee) = call.callee_name(src).map(String::from_utf8_lossy) else {
                continue;
            };
            let first = call.args().first().copied();
            let container = flow
                .element_stores
                .get(callee.as_ref())
                .and_then(|s| call.args().get(s.container).copied());
            if container.is_some_and(&is_var) {
                return false;
            }
            if flow.clearing_calls.contains(callee.as_ref()) && first.is_some_and(&is_var) {
                // Cleared on every path: a statement of the body itself.
                let statement = n
                    .parent()
                    .filter(|p| p.kind_str() == "expression_statement");
                let in_body = statement
                    .and_then(|s| s.parent())
                    .and_then(|b| b.parent())
                    .is_some_and(|d| d.kind_str() == "function_definition");
                if !in_body {
                    return false;
                }
                cleared_at = Some(n.start_byte());
            }
        }
        let Some(cleared_at) = cleared_at else {
            return false;
        };
        returned.start_byte() > cleared_at
            && f.constraints.stores().all(|asg| match shape(asg.lhs, src) {
                ExprShape::Ident(_) if is_var(asg.lhs) => {
                    asg.node.start_byte() < cleared_at && !in_loop(asg.node)
                }
                ExprShape::Subscript { base, .. } | ExprShape::Deref(base) => !is_var(base),
                _ => true,
            })
    }
}

/// Whether an expression, through its parentheses and casts, is declared a
/// user-space address: cast to a `__user` pointer without `__force`
/// (`(void __user *)(unsigned long)addr`). What the kernel turns back into
/// a page (`virt_to_page()`, `pfn_to_page()`) is a kernel address or a
/// frame number; a kernel pointer becomes a `__user` one only through a
/// `__force` cast (sparse's address spaces), so a number cast to a user
/// pointer without one is a user address, not a page's identity (vhost's
/// iotlb holds a user address for one device and a physical address for
/// another, in the same field).
pub(crate) fn casts_to_user_space(node: Node, src: &[u8]) -> bool {
    let mut node = node;
    loop {
        match node.kind_str() {
            "parenthesized_expression" => match node.named_child(0) {
                Some(inner) => node = inner,
                None => return false,
            },
            "cast_expression" => {
                if let Some(t) = node.field("type") {
                    let has = |word: &[u8]| {
                        src[t.byte_range()]
                            .split(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
                            .any(|w| w == word)
                    };
                    if has(b"__force") {
                        return false;
                    }
                    if has(b"__user") {
                        return true;
                    }
                }
                match node.field("value") {
                    Some(inner) => node = inner,
                    None => return false,
                }
            }
            _ => return false,
        }
    }
}

/// Whether an expression (in parentheses or not) is a cast to a pointer to
/// an integer type (`(dma_addr_t *)x`, `(unsigned long *)x`).
fn is_integer_pointer_cast(
    node: Node,
    src: &[u8],
    identity_types: &std::collections::BTreeSet<String>,
) -> bool {
    let mut node = node;
    while node.kind_str() == "parenthesized_expression" {
        match node.named_child(0) {
            Some(inner) => node = inner,
            None => return false,
        }
    }
    let Some(ty) = node
        .field("type")
        .filter(|_| node.kind_str() == "cast_expression")
    else {
        return false;
    };
    let pointer = ty
        .field("declarator")
        .is_some_and(|d| d.kind_str() == "abstract_pointer_declarator");
    pointer
        && ty
            .field("type")
            .and_then(|t| type_name_from_text(&text(t, src)))
            .is_some_and(|t| is_scalar_type(&t, identity_types))
}

/// A C integer type (`unsigned long`, `char`) or one of the kernel's
/// integer typedefs (`identity_types`: `u64`, `dma_addr_t`).
fn is_scalar_type(t: &str, identity_types: &std::collections::BTreeSet<String>) -> bool {
    const C_WORDS: &[&str] = &[
        "char", "short", "int", "long", "unsigned", "signed", "_Bool", "bool",
    ];
    identity_types.contains(t) || t.split_whitespace().all(|w| C_WORDS.contains(&w))
}

/// The operands of `a << b`, `a >> b` (the right one left out: it counts
/// bits), `a | b`, `a & b` and `a ^ b`.
pub(crate) fn bit_operands<'n>(node: Node<'n>, src: &[u8]) -> Option<(Node<'n>, Option<Node<'n>>)> {
    let node = crate::c::syntax::strip(node);
    if node.kind_str() != "binary_expression" {
        return None;
    }
    let op = node.field("operator")?.kind_str();
    if !matches!(op, "<<" | ">>" | "|" | "&" | "^") {
        return None;
    }
    let left = node.field("left")?;
    let right = node.field("right")?;
    // The offset within a page (`pa & (PAGE_SIZE - 1)`, `addr & ~PAGE_MASK`)
    // names no page: the low bits are the same in every page.
    if op == "&" && (is_in_page_mask(left, src) || is_in_page_mask(right, src)) {
        return None;
    }
    // A shift's right operand is a count of bits, never the value.
    let shift = matches!(op, "<<" | ">>");
    Some((left, (!shift).then_some(right)))
}

/// The operands whose value an expression carries, and whether it is an
/// initialiser (which holds an array of its members): `x = v` carries `v`,
/// `x += n` what `x` becomes; `pfn++` and `--p` what they step; `(a, b)`
/// carries `b`; `pfn * PAGE_SIZE` and `phys / PAGE_SIZE` what they scale;
/// `{ page, NULL }`, `{ .page = page }` and `(struct x){ ... }` their
/// members; a page's identity shifted, masked or tagged (`bit_operands`:
/// `page_to_pfn(page) << PAGE_SHIFT`, `hpa | DIRTY`) its operands.
/// `None` for anything else.
pub(crate) fn value_operands<'n>(node: Node<'n>, src: &[u8]) -> Option<(Vec<Node<'n>>, bool)> {
    let n = crate::c::syntax::strip(node);
    let one = |field: &str| n.field(field).map(|o| (vec![o], false));
    match n.kind_str() {
        "assignment_expression" => {
            let plain = n.field("operator").map(|o| o.kind_str()) == Some("=");
            one(if plain { "right" } else { "left" })
        }
        "update_expression" => one("argument"),
        "comma_expression" => one("right"),
        "initializer_list" | "compound_literal_expression" => Some((initializer_members(n), true)),
        _ => {
            if let Some(scaled) = scaled_operand(n, src) {
                return Some((vec![scaled], false));
            }
            let (left, right) = bit_operands(n, src)?;
            Some((std::iter::once(left).chain(right).collect(), false))
        }
    }
}

/// The operand of `x * n` or `x / n` (or `n * x`) that is not a number:
/// the value that is scaled.
pub(crate) fn scaled_operand<'n>(node: Node<'n>, src: &[u8]) -> Option<Node<'n>> {
    let node = crate::c::syntax::strip(node);
    if node.kind_str() != "binary_expression" {
        return None;
    }
    let op = node.field("operator")?.kind_str();
    let left = node.field("left")?;
    let right = node.field("right")?;
    let constant = |n: Node| {
        let n = crate::c::syntax::strip(n);
        let word = &src[n.byte_range()];
        n.kind_str() == "number_literal"
            || (n.kind_str() == "identifier"
                && word
                    .iter()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_'))
            || n.kind_str() == "sizeof_expression"
    };
    match op {
        "*" if constant(left) => Some(right),
        "*" | "/" if constant(right) => Some(left),
        _ => None,
    }
}

/// The member values of an initialiser list (`{ a, .f = b, [2] = c }`),
/// or of a compound literal's list, nested lists included.
pub(crate) fn initializer_members(node: Node) -> Vec<Node> {
    let list = match node.kind_str() {
        "compound_literal_expression" => node.field("value"),
        _ => Some(node),
    };
    let mut out = Vec::new();
    let Some(list) = list else {
        return out;
    };
    let mut cursor = list.walk();
    for child in list.named_children(&mut cursor) {
        let value = match child.kind_str() {
            "initializer_pair" => child.field("value"),
            "comment" => None,
            _ => Some(child),
        };
        match value {
            Some(v) if v.kind_str() == "initializer_list" => out.extend(initializer_members(v)),
            Some(v) => out.push(v),
            None => {}
        }
    }
    out
}

/// The value of an integer literal (decimal or hexadecimal, any integer
/// suffixes: `0x1000UL`); `None` for anything else.
pub(crate) fn number_value(literal: &[u8]) -> Option<u64> {
    let digits = std::str::from_utf8(without_suffix(literal)).ok()?;
    match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => digits.parse::<u64>().ok(),
    }
}

/// A number's digits without its integer suffixes (`1UL` -> `1`).
fn without_suffix(mut t: &[u8]) -> &[u8] {
    while let [rest @ .., b'u' | b'U' | b'l' | b'L'] = t {
        t = rest;
    }
    t
}

/// Whether an expression is a mask of the bits below a page:
/// `PAGE_SIZE - 1`, `~PAGE_MASK`, `(1 << PAGE_SHIFT) - 1` (any integer
/// suffixes), or a number below 4096, the smallest page size.
fn is_in_page_mask(node: Node, src: &[u8]) -> bool {
    // A token's bytes: the nodes compared here are single tokens.
    let word = |n: Node| -> &[u8] { &src[crate::c::syntax::strip(n).byte_range()] };
    let node = crate::c::syntax::strip(node);
    match node.kind_str() {
        "number_literal" => number_value(word(node)).is_some_and(|v| v < 4096),
        "unary_expression" => {
            node.field("operator").map(|o| o.kind_str()) == Some("~")
                && node
                    .field("argument")
                    .is_some_and(|a| word(a) == b"PAGE_MASK")
        }
        "binary_expression" => {
            let minus = node.field("operator").map(|o| o.kind_str()) == Some("-");
            let one = node
                .field("right")
                .is_some_and(|r| without_suffix(word(r)) == b"1");
            let size = node.field("left").is_some_and(|l| {
                let l = crate::c::syntax::strip(l);
                word(l) == b"PAGE_SIZE"
                    || (l.kind_str() == "binary_expression"
                        && l.field("operator").map(|o| o.kind_str()) == Some("<<")
                        && l.field("right").is_some_and(|r| word(r) == b"PAGE_SHIFT"))
            });
            minus && one && size
        }
        _ => false,
    }
}

/// For a store into an element field (`bvec[i].bv_page = page`,
/// `bv->bv_page = page`, `bv.bv_page = page`): where the page lands, as
/// `element_home` tells it for the element's container (`&bvec[i]`, `bv`,
/// `&bv`).
pub(crate) fn element_field_home(
    cx: &FlowContext,
    func: FuncId,
    lhs: Node,
) -> Option<Option<(Loc, bool)>> {
    let src = cx.src(func);
    let ExprShape::Field { base, field, arrow } = shape(lhs, src) else {
        return None;
    };
    if !cx
        .engine
        .pack
        .flow
        .element_fields
        .contains(&text(field, src))
    {
        return None;
    }
    let home = match shape(base, src) {
        ExprShape::Subscript { base: array, .. } => alias_loc(cx, func, array).map(|l| (l, false)),
        _ if arrow => element_home(cx, func, base),
        ExprShape::Ident(_) | ExprShape::Field { .. } => cx.loc_of(func, base).map(|l| (l, true)),
        _ => None,
    };
    Some(home)
}

/// Where pages stored into an element of `container` land: the array it
/// aliases (`false`), or the single-element container `x` of `&x` (`true`).
pub(crate) fn element_home(cx: &FlowContext, func: FuncId, container: Node) -> Option<(Loc, bool)> {
    if let Some(l) = alias_loc(cx, func, container) {
        return Some((l, false));
    }
    let src = cx.src(func);
    match shape(container, src) {
        ExprShape::AddressOf(inner)
            if matches!(
                shape(inner, src),
                ExprShape::Ident(_) | ExprShape::Field { .. }
            ) =>
        {
            cx.loc_of(func, inner).map(|l| (l, true))
        }
        _ => None,
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
        // A row of an array of arrays (`ctx->pages[i]`).
        ExprShape::Subscript { base, .. } if cx.is_array_of_arrays(func, base) => {
            alias_loc(cx, func, base)
        }
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
