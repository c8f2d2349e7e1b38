//! Provenance of page pointers across functions, struct fields and files.
//!
//! Every acquire seeds a *unit*: the location its pages argument names. The
//! analysis then propagates, flow-insensitively and to a fixpoint over every
//! function of every parsed file, where those pages may be:
//!
//! * locals and parameters (`Loc::Var`): assignments and initialisers,
//!   aliases of arrays in both directions (an array passed to a helper that
//!   fills it is the caller's array too), elements (`pages[i]`,
//!   `*(pages + i)`), pointer arithmetic, `&page`;
//! * function parameters and return values (`Loc::Ret`) of functions the
//!   parsed files define (a `static` definition in the calling file first,
//!   else the one global definition);
//! * struct fields (`Loc::Field`), identified by struct type and field name
//!   (`types.rs`), in whatever function and file they are read or written.
//!
//! A location that may also receive a value from elsewhere (another page,
//! another array, a call site of a followed helper passing other pages) is
//! *mixed*; a release through it blocks its unit. Values that reach code the
//! analysis cannot see (a call with no definition in the tree, an indirect
//! call, a global, a function whose address is taken) *escape*. What the
//! analysis still needs to read (definitions, callers, field accessors) is
//! returned as `Needs`, and the pipeline parses the files that mention them
//! and runs the analysis again, for a bounded number of rounds.
//!
//! A unit converts only when nothing blocks it and, for the unpin target,
//! the acquire policy finds evidence that the pages are used for DMA or
//! written (`decide`). Flow-insensitivity costs conversions, never
//! correctness.

use super::dataflow::{declarator_of, declarator_removal_range, index_dead_after, one_line};
use super::matcher::{match_rule, Match};
use super::types::{declared_types, type_of, TypeIndex};
use super::{Class, Engine, FileFindings, Plan, Site, SiteKind, SkippedFunction, Unit};
use crate::c::syntax::{
    functions, normalized, preorder, shape, Assignment, Call, ExprShape, FunctionDef,
};
use crate::c::Parsed;
use crate::rule::{AcquireFamily, ReleaseFamily, RuleKind, Target};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use tree_sitter::Node;

/// A file given to the analysis.
pub struct ProgramFile<'p> {
    pub path: &'p str,
    pub parsed: &'p Parsed,
}

/// What the analysis would like to read next: files that mention these.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// Functions whose definitions matter (pages are passed to them).
    pub definitions: BTreeSet<String>,
    /// Functions whose callers matter (their parameters or return values
    /// hold pages).
    pub callers: BTreeSet<String>,
    /// (struct, field) pairs whose readers and writers matter.
    pub fields: BTreeSet<(String, String)>,
    /// Names the pipeline did not follow because too many files use them.
    pub overflow: BTreeSet<String>,
    /// `static` functions of `.c` files whose callers matter: they are all in
    /// files already read, but must take part in the next analysis.
    pub local_callers: BTreeSet<String>,
    /// Fields of structs defined in a `.c` file, likewise.
    pub local_fields: BTreeSet<(String, String)>,
}

impl Needs {
    pub fn is_empty(&self) -> bool {
        self.definitions.is_empty()
            && self.callers.is_empty()
            && self.fields.is_empty()
            && self.local_callers.is_empty()
            && self.local_fields.is_empty()
    }
    pub fn extend(&mut self, other: &Needs) {
        self.definitions.extend(other.definitions.iter().cloned());
        self.callers.extend(other.callers.iter().cloned());
        self.fields.extend(other.fields.iter().cloned());
        self.local_callers
            .extend(other.local_callers.iter().cloned());
        self.local_fields.extend(other.local_fields.iter().cloned());
    }
    /// Whether a function is needed at all.
    pub fn mentions_function(&self, name: &str) -> bool {
        self.definitions.contains(name) || self.callers.contains(name)
    }
}

/// The analysis of a set of files.
#[derive(Debug, Default)]
pub struct ProgramAnalysis {
    /// Per input file, in input order.
    pub files: Vec<FileFindings>,
    /// Units, indexed by `Site::unit`.
    pub units: Vec<Unit>,
    pub needs: Needs,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Loc {
    Var(usize, String),
    Field(String, String),
    Ret(usize),
}

#[derive(Default, Debug, Clone)]
struct Info {
    arrays: BTreeSet<usize>,
    pages: BTreeSet<usize>,
    others: Vec<String>,
}

#[derive(Default, Debug, Clone)]
struct Val {
    arrays: BTreeSet<usize>,
    pages: BTreeSet<usize>,
}

impl Val {
    fn is_empty(&self) -> bool {
        self.arrays.is_empty() && self.pages.is_empty()
    }
    fn units(&self) -> BTreeSet<usize> {
        self.arrays.union(&self.pages).copied().collect()
    }
}

struct Func<'t> {
    file: usize,
    /// A `static` function of a `.c` file: all its callers are in that file.
    file_local: bool,
    name: String,
    def: FunctionDef<'t>,
    is_static: bool,
    nodes: Vec<Node<'t>>,
    params: Vec<String>,
    locals: HashSet<String>,
    types: HashMap<String, String>,
    return_type: Option<String>,
}

struct UnitState {
    file: usize,
    func: usize,
    line: usize,
    pages_text: String,
    family: AcquireFamily,
    acquires: Vec<(usize, Match)>,
    releases: Vec<(usize, Match)>,
    escapes: Vec<String>,
    blockers: Vec<String>,
    mismatches: Vec<String>,
    rules: BTreeSet<String>,
    evidence: BTreeSet<String>,
    metadata: BTreeSet<String>,
    data: BTreeSet<String>,
    flags: Vec<String>,
}

struct Program<'a, 't> {
    engine: &'a Engine<'a>,
    files: &'a [ProgramFile<'t>],
    funcs: Vec<Func<'t>>,
    by_name: HashMap<String, Vec<usize>>,
    types: TypeIndex,
    locs: HashMap<Loc, Info>,
    /// Units whose acquire fills the array (or page) a location points to,
    /// directly or through helpers: the only values that flow back from a
    /// callee to its caller's argument, or from an alias to what it aliases.
    fills: HashMap<Loc, BTreeSet<usize>>,
    units: Vec<UnitState>,
    parent: Vec<usize>,
    needs: Needs,
    /// Need key (`def:f`, `call:f`, `field:s::f`) -> the units waiting on it.
    need_units: HashMap<String, BTreeSet<usize>>,
    /// Names that hold tracked values, to skip constraints that mention none.
    hot: Hot,
    /// (struct, function-pointer field) -> (file, function) stored in it by
    /// a file-scope initialiser (`.get_mr = rds_ib_get_mr`).
    ops: HashMap<(String, String), Vec<(usize, String)>>,
}

/// What holds tracked values, by name.
#[derive(Default)]
struct Hot {
    vars: HashSet<(usize, String)>,
    fields: HashSet<String>,
    rets: HashSet<String>,
}

/// The names an expression mentions: identifiers, field names and callees.
#[derive(Default)]
struct Mentions {
    idents: Vec<String>,
    fields: Vec<String>,
}

impl Mentions {
    fn of(nodes: &[Node], src: &[u8]) -> Mentions {
        let mut m = Mentions::default();
        for &root in nodes {
            preorder(root, |n| {
                match n.kind() {
                    "identifier" => m
                        .idents
                        .push(String::from_utf8_lossy(&src[n.byte_range()]).into_owned()),
                    "field_identifier" => m
                        .fields
                        .push(String::from_utf8_lossy(&src[n.byte_range()]).into_owned()),
                    _ => {}
                }
                true
            });
        }
        m.idents.sort();
        m.idents.dedup();
        m.fields.sort();
        m.fields.dedup();
        m
    }

    fn hot(&self, fi: usize, hot: &Hot) -> bool {
        self.idents
            .iter()
            .any(|i| hot.vars.contains(&(fi, i.clone())) || hot.rets.contains(i))
            || self.fields.iter().any(|f| hot.fields.contains(f))
    }
}

fn text(node: Node, src: &[u8]) -> String {
    normalized(node, src)
}

impl<'a, 't> Program<'a, 't> {
    fn src(&self, fi: usize) -> &'t [u8] {
        &self.files[self.funcs[fi].file].parsed.original
    }

    fn line(&self, fi: usize, node: Node) -> usize {
        self.files[self.funcs[fi].file]
            .parsed
            .line_of(node.start_byte())
    }

    fn place(&self, fi: usize, node: Node) -> String {
        let f = &self.funcs[fi];
        format!("{}:{}", self.files[f.file].path, self.line(fi, node))
    }

    fn find(&mut self, u: usize) -> usize {
        let mut r = u;
        while self.parent[r] != r {
            r = self.parent[r];
        }
        self.parent[u] = r;
        r
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra.max(rb)] = ra.min(rb);
        }
    }

    /// The definitions a call may reach: the one it names, or every function
    /// an ops table stores in the struct field it calls through.
    fn targets(&self, fi: usize, call: &Call) -> Vec<usize> {
        let src = self.src(fi);
        if let Some(name) = call.callee_name(src) {
            return self
                .resolve(fi, &String::from_utf8_lossy(name))
                .ok()
                .into_iter()
                .collect();
        }
        let Some((s, f)) = self.callee_slot(fi, call) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (file, name) in self.ops.get(&(s, f)).map(Vec::as_slice).unwrap_or(&[]) {
            if let Some(defs) = self.by_name.get(name) {
                let pick = defs
                    .iter()
                    .copied()
                    .find(|&d| self.funcs[d].file == *file)
                    .or_else(|| {
                        let globals: Vec<usize> = defs
                            .iter()
                            .copied()
                            .filter(|&d| !self.funcs[d].is_static)
                            .collect();
                        (globals.len() == 1).then(|| globals[0])
                    });
                out.extend(pick);
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// For `a->b->f(...)` whose struct types stop being known at some step:
    /// the (struct, field) whose definition would tell the next type.
    fn missing_field_type(&self, fi: usize, node: Node) -> Option<(String, String)> {
        let src = self.src(fi);
        let node = crate::c::syntax::strip(node);
        if node.kind() != "field_expression" {
            return None;
        }
        let base = node.child_by_field_name("argument")?;
        let field = node.child_by_field_name("field")?;
        match self.type_of(fi, base) {
            Some(s) => {
                let f = text(field, src);
                self.types.field_type(&s, &f).is_none().then_some((s, f))
            }
            None => self.missing_field_type(fi, base),
        }
    }

    /// The (struct, field) a call through a function pointer field uses.
    fn callee_slot(&self, fi: usize, call: &Call) -> Option<(String, String)> {
        let src = self.src(fi);
        let callee = crate::c::syntax::strip(call.callee()?);
        match shape(callee, src) {
            ExprShape::Field { base, field, .. } => {
                Some((self.type_of(fi, base)?, text(field, src)))
            }
            _ => None,
        }
    }

    /// The definition a call in function `fi` to `name` reaches.
    fn resolve(&self, fi: usize, name: &str) -> Result<usize, &'static str> {
        // The vocabulary is described by the rules; its definitions (mm/gup.c
        // and friends) are never followed.
        if self.engine.is_vocabulary(name) {
            return Err("vocabulary");
        }
        let Some(defs) = self.by_name.get(name) else {
            return Err("undefined");
        };
        let file = self.funcs[fi].file;
        if let Some(&d) = defs.iter().find(|&&d| self.funcs[d].file == file) {
            return Ok(d);
        }
        let globals: Vec<usize> = defs
            .iter()
            .copied()
            .filter(|&d| !self.funcs[d].is_static)
            .collect();
        match globals.len() {
            1 => Ok(globals[0]),
            0 => Err("undefined"),
            _ => Err("ambiguous"),
        }
    }

    fn type_of(&self, fi: usize, node: Node) -> Option<String> {
        let src = self.src(fi);
        let returns = |name: &str| {
            self.by_name
                .get(name)
                .and_then(|d| d.first())
                .and_then(|&d| self.funcs[d].return_type.clone())
        };
        type_of(node, src, &self.funcs[fi].types, &self.types, &returns)
    }

    /// The location an lvalue-ish expression names.
    fn loc_of(&self, fi: usize, node: Node) -> Option<Loc> {
        let src = self.src(fi);
        match shape(node, src) {
            ExprShape::Ident(n) => {
                let name = text(n, src);
                let f = &self.funcs[fi];
                (f.locals.contains(&name) || f.params.contains(&name)).then(|| Loc::Var(fi, name))
            }
            ExprShape::Field { base, field, .. } => {
                let s = self.type_of(fi, base)?;
                Some(Loc::Field(s, text(field, src)))
            }
            _ => None,
        }
    }

    /// The location an element or alias expression reads its pages through.
    fn base_loc(&self, fi: usize, node: Node) -> Option<Loc> {
        let src = self.src(fi);
        let mut node = node;
        for _ in 0..64 {
            match shape(node, src) {
                ExprShape::Ident(_) | ExprShape::Field { .. } => return self.loc_of(fi, node),
                ExprShape::Subscript { base, .. }
                | ExprShape::Deref(base)
                | ExprShape::Offset { base, .. } => node = base,
                ExprShape::AddressOf(inner) => node = inner,
                _ => return None,
            }
        }
        None
    }

    fn val_of(&self, loc: &Loc) -> Val {
        match self.locs.get(loc) {
            Some(i) => Val {
                arrays: i.arrays.clone(),
                pages: i.pages.clone(),
            },
            None => Val::default(),
        }
    }

    fn eval(&self, fi: usize, node: Node, depth: usize) -> Val {
        if depth > 64 {
            return Val::default();
        }
        let src = self.src(fi);
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
                    .loc_of(fi, node)
                    .map(|l| self.val_of(&l))
                    .unwrap_or_default();
                v.pages.extend(self.eval(fi, base, depth + 1).arrays);
                v
            }
            ExprShape::Ident(_) | ExprShape::Field { .. } => self
                .loc_of(fi, node)
                .map(|l| self.val_of(&l))
                .unwrap_or_default(),
            ExprShape::Subscript { base, .. } | ExprShape::Deref(base) => Val {
                arrays: BTreeSet::new(),
                pages: self.eval(fi, base, depth + 1).arrays,
            },
            ExprShape::AddressOf(inner) => match shape(inner, src) {
                ExprShape::Subscript { base, .. } => Val {
                    arrays: self.eval(fi, base, depth + 1).arrays,
                    pages: BTreeSet::new(),
                },
                _ => Val {
                    arrays: self.eval(fi, inner, depth + 1).pages,
                    pages: BTreeSet::new(),
                },
            },
            ExprShape::Offset { base, other } => {
                let mut arrays = self.eval(fi, base, depth + 1).arrays;
                arrays.extend(self.eval(fi, other, depth + 1).arrays);
                Val {
                    arrays,
                    pages: BTreeSet::new(),
                }
            }
            ExprShape::Conditional { then, otherwise } => {
                let mut v = self.eval(fi, otherwise, depth + 1);
                if let Some(t) = then {
                    let t = self.eval(fi, t, depth + 1);
                    v.arrays.extend(t.arrays);
                    v.pages.extend(t.pages);
                }
                v
            }
            ExprShape::Call(call) => {
                let flow = &self.engine.pack.flow;
                if let Some(name) = call.callee_name(src) {
                    let name = String::from_utf8_lossy(name);
                    // The arrays the container argument points into.
                    let container = |c: usize| {
                        call.args()
                            .get(c)
                            .map(|a| self.eval(fi, *a, depth + 1).arrays)
                            .unwrap_or_default()
                    };
                    if let Some(&c) = flow.element_loads.get(name.as_ref()) {
                        return Val {
                            arrays: BTreeSet::new(),
                            pages: container(c),
                        };
                    }
                    if flow.transparent.contains(name.as_ref()) {
                        return call
                            .args()
                            .first()
                            .map(|a| self.eval(fi, *a, depth + 1))
                            .unwrap_or_default();
                    }
                    if let Some(&c) = flow.element_steps.get(name.as_ref()) {
                        return Val {
                            arrays: container(c),
                            pages: BTreeSet::new(),
                        };
                    }
                }
                let mut v = Val::default();
                for g in self.targets(fi, &call) {
                    let r = self.val_of(&Loc::Ret(g));
                    v.arrays.extend(r.arrays);
                    v.pages.extend(r.pages);
                }
                v
            }
            _ => Val::default(),
        }
    }

    fn merge(&mut self, loc: Loc, v: &Val) -> bool {
        if v.is_empty() {
            return false;
        }
        match &loc {
            Loc::Var(fi, name) => {
                self.hot.vars.insert((*fi, name.clone()));
            }
            Loc::Field(_, f) => {
                self.hot.fields.insert(f.clone());
            }
            Loc::Ret(g) => {
                self.hot.rets.insert(self.funcs[*g].name.clone());
            }
        }
        let info = self.locs.entry(loc).or_default();
        let before = (info.arrays.len(), info.pages.len());
        info.arrays.extend(v.arrays.iter().copied());
        info.pages.extend(v.pages.iter().copied());
        before != (info.arrays.len(), info.pages.len())
    }

    fn need(&mut self, key: String, units: &BTreeSet<usize>) {
        self.need_units
            .entry(key)
            .or_default()
            .extend(units.iter().copied());
    }

    fn tracked(&self, loc: &Loc) -> bool {
        self.locs
            .get(loc)
            .is_some_and(|i| !i.arrays.is_empty() || !i.pages.is_empty())
    }

    fn is_null_or_allocation(&self, fi: usize, node: Node) -> bool {
        let src = self.src(fi);
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

/// Analyses a set of parsed files as one program. `scanned` lists what the
/// pipeline has already searched the tree for; needs outside it are returned.
pub fn analyse_program(
    engine: &Engine,
    files: &[ProgramFile],
    scanned: &Needs,
    final_round: bool,
) -> ProgramAnalysis {
    // The per-file work (struct definitions, functions, node lists, rule
    // matches) runs in parallel; results are joined in file order.
    use rayon::prelude::*;
    let partial: Vec<TypeIndex> = files
        .par_iter()
        .map(|f| {
            let mut t = TypeIndex::default();
            t.add_file(f.path, f.parsed);
            t
        })
        .collect();
    let mut types = TypeIndex::default();
    for t in partial {
        types.merge(t);
    }
    let mut out_files: Vec<FileFindings> = files
        .iter()
        .map(|f| FileFindings {
            path: f.path.to_string(),
            ..FileFindings::default()
        })
        .collect();

    // Functions: clean ones join the program; broken ones are reported when
    // they mention anything the rules or the flow care about.
    let interest = interest_words(engine, scanned);
    let comment_id =
        tree_sitter::Language::from(tree_sitter_c::LANGUAGE).id_for_node_kind("comment", true);
    let call_id = tree_sitter::Language::from(tree_sitter_c::LANGUAGE)
        .id_for_node_kind("call_expression", true);
    type Prepared<'t> = (
        Vec<Func<'t>>,
        Vec<(usize, String, usize, usize, FunctionDef<'t>)>,
        Vec<SkippedFunction>,
        Vec<(usize, Node<'t>, Match, RuleKind)>,
    );
    let prepared: Vec<Prepared> = files
        .par_iter()
        .enumerate()
        .map(|(file_index, f)| {
            let mut funcs: Vec<Func> = Vec::new();
            let mut broken = Vec::new();
            let mut deep = Vec::new();
            let mut matches = Vec::new();
            let src: &[u8] = &f.parsed.original;
            for def in functions(f.parsed.tree.root_node()) {
                // A function that names nothing the rules or the flow care
                // about can neither receive nor pass on acquired pages.
                let body = &src[def.node.byte_range()];
                if !interest.is_match(body) {
                    continue;
                }
                let name = def.name(src);
                // The vocabulary's own definitions (mm/gup.c) are described
                // by the rules, never analysed.
                if engine.is_vocabulary(&name) {
                    continue;
                }
                // A function that names a field of interest but none of the
                // structs it belongs to cannot reach that field.
                if !interest_fields_ok(body, scanned, engine) {
                    continue;
                }
                // One walk collects the body's nodes and measures its depth.
                let Some(nodes) = body_nodes(def.node, def.body, comment_id) else {
                    deep.push(SkippedFunction {
                        function: name,
                        line: f.parsed.line_of(def.node.start_byte()),
                        reason: format!(
                            "nested deeper than {} levels",
                            crate::c::syntax::MAX_DEPTH
                        ),
                    });
                    continue;
                };
                if def.has_error() {
                    let line = f.parsed.line_of(def.node.start_byte());
                    broken.push((
                        file_index,
                        name,
                        line,
                        first_error_line(def.node, f.parsed),
                        def,
                    ));
                    continue;
                }
                let mut locals = HashSet::new();
                for &n in &nodes {
                    if n.kind() == "declaration" {
                        let mut c = n.walk();
                        for d in n.children_by_field_name("declarator", &mut c) {
                            if let Some(id) = crate::c::syntax::declarator_identifier(d) {
                                locals.insert(text(id, src));
                            }
                        }
                    }
                }
                let local_index = funcs.len();
                for &n in &nodes {
                    let mut try_rule = |ri: usize| {
                        let rule = &engine.pack.rules[ri];
                        if let Some(m) = match_rule(ri, rule, n, src) {
                            if rule.kind != RuleKind::Flow {
                                matches.push((local_index, n, m, rule.kind));
                            }
                        }
                    };
                    // A call is only tried against the rules naming its callee.
                    if n.kind_id() == call_id {
                        let callee = Call::new(n).and_then(|c| c.callee_name(src));
                        for ri in engine.rules_for_call(callee) {
                            try_rule(ri);
                        }
                    } else {
                        for &ri in engine.rules_for_kind(n.kind_id()) {
                            try_rule(ri);
                        }
                    }
                }
                let is_static = {
                    let head = &src[def.node.start_byte()..def.body.start_byte()];
                    memchr::memmem::find(head, b"static").is_some()
                };
                let return_type = def
                    .node
                    .child_by_field_name("type")
                    .and_then(|t| super::types::type_name(t, src));
                let types_map = declared_types(def.node, &nodes, src, &types);
                funcs.push(Func {
                    file: file_index,
                    file_local: is_static && f.path.ends_with(".c"),
                    params: def.parameter_names(src),
                    name,
                    def,
                    is_static,
                    nodes,
                    locals,
                    types: types_map,
                    return_type,
                });
            }
            (funcs, broken, deep, matches)
        })
        .collect();
    let mut funcs = Vec::new();
    let mut broken: Vec<(usize, String, usize, usize, FunctionDef)> = Vec::new();
    let mut acquires: Vec<(usize, Node, Match)> = Vec::new();
    let mut releases: Vec<(usize, Node, Match)> = Vec::new();
    let mut rewrites: Vec<(usize, Node, Match)> = Vec::new();
    for (file_index, (f_funcs, f_broken, f_deep, f_matches)) in prepared.into_iter().enumerate() {
        let base = funcs.len();
        funcs.extend(f_funcs);
        broken.extend(f_broken);
        out_files[file_index].skipped.extend(f_deep);
        for (local, n, m, kind) in f_matches {
            match kind {
                RuleKind::Acquire => acquires.push((base + local, n, m)),
                RuleKind::Release => releases.push((base + local, n, m)),
                RuleKind::Rewrite => rewrites.push((base + local, n, m)),
                RuleKind::Flow => {}
            }
        }
    }
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, f) in funcs.iter().enumerate() {
        by_name.entry(f.name.clone()).or_default().push(i);
    }
    let mut p = Program {
        engine,
        files,
        funcs,
        by_name,
        types,
        locs: HashMap::new(),
        fills: HashMap::new(),
        units: Vec::new(),
        parent: Vec::new(),
        needs: Needs::default(),
        need_units: HashMap::new(),
        hot: Hot::default(),
        ops: HashMap::new(),
    };
    p.ops = ops_index(files, &p.types);

    // 1. Functions with an acquire.
    let with_acquire: HashSet<usize> = acquires.iter().map(|(fi, _, _)| *fi).collect();
    for fi in with_acquire {
        out_files[p.funcs[fi].file].functions_analysed += 1;
    }

    // 2. Units from the acquires.
    let mut acquire_sites: Vec<(usize, Node, Match, Option<usize>, Option<String>)> = Vec::new();
    let mut root_units: HashMap<Loc, usize> = HashMap::new();
    for (fi, node, m) in acquires {
        let rule = &engine.pack.rules[m.rule];
        let role = rule
            .acquire
            .as_ref()
            .expect("acquire rules have an [acquire] table");
        let src = p.src(fi);
        let pages_node = m
            .binding(&role.pages)
            .and_then(|b| node.named_descendant_for_byte_range(b.start, b.end));
        let Some(pages_node) = pages_node else {
            acquire_sites.push((
                fi,
                node,
                m,
                None,
                Some("the pages argument was not found".into()),
            ));
            continue;
        };
        if matches!(shape(pages_node, src), ExprShape::Null) {
            acquire_sites.push((
                fi,
                node,
                m,
                None,
                Some("pages is NULL: the call only faults pages in, nothing is released".into()),
            ));
            continue;
        }
        let root = root_of(&p, fi, pages_node);
        let Some((loc, is_array)) = root else {
            let t = text(pages_node, src);
            acquire_sites.push((
                fi,
                node,
                m,
                None,
                Some(format!(
                    "the pages argument `{t}` is not a variable or a field of a known struct"
                )),
            ));
            continue;
        };
        let unit = match root_units.get(&loc) {
            Some(&u) => u,
            None => {
                let u = p.units.len();
                p.units.push(UnitState {
                    file: p.funcs[fi].file,
                    func: fi,
                    line: p.line(fi, node),
                    pages_text: text(pages_node, src),
                    family: role.family,
                    ..UnitState::default()
                });
                p.parent.push(u);
                root_units.insert(loc.clone(), u);
                let v = if is_array {
                    Val {
                        arrays: [u].into(),
                        pages: BTreeSet::new(),
                    }
                } else {
                    Val {
                        arrays: BTreeSet::new(),
                        pages: [u].into(),
                    }
                };
                p.merge(loc.clone(), &v);
                p.fills.entry(loc.clone()).or_default().insert(u);
                if let Loc::Field(s, f) = &loc {
                    p.units[u]
                        .evidence
                        .insert(format!("stored in struct {s}::{f}"));
                }
                u
            }
        };
        if p.units[unit].family != role.family {
            p.units[unit]
                .blockers
                .push("pages of one array are acquired both with and without a pin".into());
        }
        if let Some(flags) = role.flags.as_ref().and_then(|f| m.binding(f)) {
            if flags.text.contains("FOLL_GET") {
                let why = format!(
                    "FOLL_GET is already in gup_flags (line {})",
                    p.line(fi, node)
                );
                p.units[unit].blockers.push(why);
            }
            p.units[unit].flags.push(flags.text.clone());
        }
        if let Some(why) = role.manual.get(&engine.target) {
            p.units[unit].blockers.push(why.clone());
        }
        p.units[unit].rules.insert(rule.id.clone());
        p.units[unit].acquires.push((fi, m.clone()));
        acquire_sites.push((fi, node, m, Some(unit), None));
    }

    // 3. Propagation to a fixpoint.
    let mut assignments: Vec<(usize, Assignment)> = (0..p.funcs.len())
        .flat_map(|fi| {
            p.funcs[fi]
                .nodes
                .iter()
                .filter_map(move |&n| Assignment::new(n).map(|a| (fi, a)))
        })
        .collect();
    // Iterator macros (read as `while (args)` by the macro pass): the
    // cursor walks the array, as if assigned from it.
    for fi in 0..p.funcs.len() {
        let src = p.src(fi);
        for &n in &p.funcs[fi].nodes {
            if n.kind() != "while_statement" {
                continue;
            }
            let head = &src[n.start_byte()..n.end_byte().min(n.start_byte() + 64)];
            let name_len = head
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                .count();
            let name = String::from_utf8_lossy(&head[..name_len]);
            let Some(&(cursor, array)) = engine.pack.flow.iterators.get(name.as_ref()) else {
                continue;
            };
            let args = n
                .child_by_field_name("condition")
                .map(comma_operands)
                .unwrap_or_default();
            if let (Some(&lhs), Some(&rhs)) = (args.get(cursor), args.get(array)) {
                assignments.push((
                    fi,
                    Assignment {
                        node: n,
                        lhs,
                        rhs,
                        plain: true,
                    },
                ));
            }
        }
    }
    let calls: Vec<(usize, Call)> = (0..p.funcs.len())
        .flat_map(|fi| {
            p.funcs[fi]
                .nodes
                .iter()
                .filter_map(move |&n| Call::new(n).map(|c| (fi, c)))
        })
        .collect();
    let returns: Vec<(usize, Node)> = (0..p.funcs.len())
        .flat_map(|fi| {
            p.funcs[fi]
                .nodes
                .iter()
                .filter(|n| n.kind() == "return_statement")
                .filter_map(move |n| n.named_child(0).map(|e| (fi, e)))
        })
        .collect();
    let asg_mentions: Vec<Mentions> = assignments
        .iter()
        .map(|(fi, a)| Mentions::of(&[a.lhs, a.rhs], p.src(*fi)))
        .collect();
    let call_mentions: Vec<Mentions> = calls
        .iter()
        .map(|(fi, c)| Mentions::of(&c.args(), p.src(*fi)))
        .collect();
    let call_targets: Vec<Vec<usize>> = calls.iter().map(|(fi, c)| p.targets(*fi, c)).collect();
    let element_stores: Vec<Option<(usize, usize)>> = calls
        .iter()
        .map(|(fi, c)| {
            c.callee_name(p.src(*fi)).and_then(|n| {
                engine
                    .pack
                    .flow
                    .element_stores
                    .get(String::from_utf8_lossy(n).as_ref())
                    .copied()
            })
        })
        .collect();
    let ret_mentions: Vec<Mentions> = returns
        .iter()
        .map(|(fi, e)| Mentions::of(&[*e], p.src(*fi)))
        .collect();
    if !p.units.is_empty() {
        for _round in 0..32 {
            let mut changed = false;
            for (ai, (fi, asg)) in assignments.iter().enumerate() {
                if !asg_mentions[ai].hot(*fi, &p.hot) {
                    continue;
                }
                let v = p.eval(*fi, asg.rhs, 0);
                let src = p.src(*fi);
                match shape(asg.lhs, src) {
                    ExprShape::Ident(_) | ExprShape::Field { .. } => {
                        if let Some(loc) = p.loc_of(*fi, asg.lhs) {
                            changed |= p.merge(loc.clone(), &v);
                            // Arrays alias both ways: filling one fills the other.
                            if let Some(rloc) = alias_loc(&p, *fi, asg.rhs) {
                                if let Some(filled) = p.fills.get(&loc).cloned() {
                                    let back = Val {
                                        arrays: filled.clone(),
                                        pages: BTreeSet::new(),
                                    };
                                    changed |= p.merge(rloc.clone(), &back);
                                    let f = p.fills.entry(rloc).or_default();
                                    let before = f.len();
                                    f.extend(filled);
                                    changed |= f.len() != before;
                                }
                            }
                        }
                    }
                    ExprShape::Subscript { base, .. } | ExprShape::Deref(base) => {
                        let b = p.eval(*fi, base, 0);
                        for &x in &b.arrays {
                            for &y in &v.pages {
                                p.union(x, y);
                            }
                        }
                    }
                    _ => {}
                }
            }
            for (ci, (fi, call)) in calls.iter().enumerate() {
                let src = p.src(*fi);
                // A page stored into an element of a container array.
                if let Some((c, pg)) = element_stores[ci] {
                    if !call_mentions[ci].hot(*fi, &p.hot) {
                        continue;
                    }
                    let args = call.args();
                    let (Some(&container), Some(&page)) = (args.get(c), args.get(pg)) else {
                        continue;
                    };
                    let v = p.eval(*fi, page, 0);
                    if v.pages.is_empty() {
                        continue;
                    }
                    let existing = p.eval(*fi, container, 0).arrays;
                    for &x in &existing {
                        for &y in &v.pages {
                            p.union(x, y);
                        }
                    }
                    if let Some(l) = alias_loc(&p, *fi, container) {
                        let filled = Val {
                            arrays: v.pages.clone(),
                            pages: BTreeSet::new(),
                        };
                        changed |= p.merge(l.clone(), &filled);
                        let f = p.fills.entry(l).or_default();
                        let before = f.len();
                        f.extend(v.pages.iter().copied());
                        changed |= f.len() != before;
                    }
                    continue;
                }
                for g in call_targets[ci].clone() {
                    let callee_fills = p.funcs[g]
                        .params
                        .iter()
                        .any(|prm| p.fills.contains_key(&Loc::Var(g, prm.clone())));
                    if !callee_fills && !call_mentions[ci].hot(*fi, &p.hot) {
                        continue;
                    }
                    let params = p.funcs[g].params.clone();
                    for (k, arg) in call.args().into_iter().enumerate() {
                        let Some(param) = params.get(k) else { break };
                        let v = p.eval(*fi, arg, 0);
                        changed |= p.merge(Loc::Var(g, param.clone()), &v);
                        // The callee may fill the caller's array (or page).
                        let filled = p
                            .fills
                            .get(&Loc::Var(g, param.clone()))
                            .cloned()
                            .unwrap_or_default();
                        if !filled.is_empty() {
                            let target = match shape(arg, src) {
                                ExprShape::AddressOf(inner)
                                    if matches!(
                                        shape(inner, src),
                                        ExprShape::Ident(_) | ExprShape::Field { .. }
                                    ) =>
                                {
                                    p.loc_of(*fi, inner).map(|l| {
                                        (
                                            l,
                                            Val {
                                                arrays: BTreeSet::new(),
                                                pages: filled.clone(),
                                            },
                                        )
                                    })
                                }
                                _ => alias_loc(&p, *fi, arg).map(|l| {
                                    (
                                        l,
                                        Val {
                                            arrays: filled.clone(),
                                            pages: BTreeSet::new(),
                                        },
                                    )
                                }),
                            };
                            if let Some((l, v)) = target {
                                changed |= p.merge(l.clone(), &v);
                                let f = p.fills.entry(l).or_default();
                                let before = f.len();
                                f.extend(filled);
                                changed |= f.len() != before;
                            }
                        }
                    }
                }
            }
            for (ri, (fi, e)) in returns.iter().enumerate() {
                if !ret_mentions[ri].hot(*fi, &p.hot) {
                    continue;
                }
                let v = p.eval(*fi, *e, 0);
                changed |= p.merge(Loc::Ret(*fi), &v);
            }
            if !changed {
                break;
            }
        }
    }

    // 4. Values from elsewhere, escapes, evidence and needs.
    if !p.units.is_empty() {
        collect_others_and_escapes(
            &mut p,
            scanned,
            &assignments,
            &asg_mentions,
            &calls,
            &call_mentions,
            &returns,
            &releases,
        );
    }

    // 5. Releases.
    let mut candidates: Vec<(usize, Node, Match, BTreeSet<usize>, Option<String>)> = Vec::new();
    for (fi, node, m) in releases {
        let rule = &engine.pack.rules[m.rule];
        let role = rule
            .release
            .as_ref()
            .expect("release rules have a [release] table");
        let (subject, want_array) = match (&role.page, &role.array) {
            (Some(pg), _) => (pg, false),
            (None, Some(arr)) => (arr, true),
            (None, None) => continue,
        };
        let Some(b) = m.binding(subject) else {
            continue;
        };
        let Some(bnode) = node.named_descendant_for_byte_range(b.start, b.end) else {
            continue;
        };
        let v = p.eval(fi, bnode, 0);
        let units = if want_array {
            v.arrays.clone()
        } else {
            v.pages.clone()
        };
        if units.is_empty() {
            continue;
        }
        if let Some(index) = &role.index {
            if let Some(ib) = m.binding(index) {
                if !index_dead_after(&p.funcs[fi].nodes, p.src(fi), ib.text.as_bytes(), m.end) {
                    continue;
                }
            }
        }
        let mixed = p
            .base_loc(fi, bnode)
            .and_then(|l| p.locs.get(&l))
            .filter(|i| !i.others.is_empty())
            .map(|i| {
                format!(
                    "the release at {} may also see {}",
                    p.place(fi, node),
                    i.others.join(", ")
                )
            });
        candidates.push((fi, node, m, units, mixed));
    }
    candidates.sort_by_key(|(fi, _, m, _, _)| {
        (
            p.funcs[*fi].file,
            std::cmp::Reverse(m.end - m.start),
            m.start,
        )
    });
    let mut accepted: Vec<(usize, Node, Match, BTreeSet<usize>, Option<String>)> = Vec::new();
    for c in candidates {
        let file = p.funcs[c.0].file;
        if accepted.iter().any(|(fi, _, m, _, _)| {
            p.funcs[*fi].file == file && c.2.start < m.end && m.start < c.2.end
        }) {
            continue;
        }
        accepted.push(c);
    }
    for (_, _, _, units, _) in &accepted {
        let first = *units.iter().next().expect("non-empty");
        for &u in units {
            p.union(first, u);
        }
    }

    // 6. Merge units and attach releases.
    let ids: Vec<usize> = (0..p.units.len()).map(|u| p.find(u)).collect();
    for u in 0..p.units.len() {
        let r = ids[u];
        if r != u {
            let moved = std::mem::take(&mut p.units[u]);
            let family = moved.family;
            let target = &mut p.units[r];
            target.escapes.extend(moved.escapes);
            target.blockers.extend(moved.blockers);
            target.acquires.extend(moved.acquires);
            target.rules.extend(moved.rules);
            target.evidence.extend(moved.evidence);
            target.metadata.extend(moved.metadata);
            target.data.extend(moved.data);
            target.flags.extend(moved.flags);
            if family != target.family {
                target
                    .blockers
                    .push("pages of one flow are acquired both with and without a pin".into());
            }
        }
    }
    let mut release_sites: Vec<(usize, Node, Match, usize, Option<String>)> = Vec::new();
    for (fi, node, mut m, units, mixed) in accepted {
        m.sole_block = sole_block(node);
        let u = ids[*units.iter().next().expect("non-empty")];
        let rule = &engine.pack.rules[m.rule];
        let family = rule.release.as_ref().expect("release rule").family;
        let place = p.place(fi, node);
        match (p.units[u].family, family) {
            (AcquireFamily::Pin, ReleaseFamily::Put) => p.units[u].mismatches.push(format!(
                "pages pinned with pin_user_pages*() are released with put_page() at {place}"
            )),
            (AcquireFamily::Get | AcquireFamily::IovIter, ReleaseFamily::Unpin) => {
                p.units[u].mismatches.push(format!(
                    "pages from get_user_pages*() are released with unpin_user_page*() at {place}"
                ))
            }
            _ => {}
        }
        if let Some(why) = &mixed {
            p.units[u].blockers.push(why.clone());
        }
        p.units[u].rules.insert(rule.id.clone());
        p.units[u].releases.push((fi, m.clone()));
        release_sites.push((fi, node, m, u, mixed));
    }

    // 7. Needs only matter for units that may still convert (or be checked
    // for a mismatch); a unit already blocked is not followed further.
    let hopeless: Vec<bool> = (0..p.units.len())
        .map(|u| !p.units[ids[u]].blockers.is_empty())
        .collect();
    let wanted = |key: &str, p: &Program| {
        p.need_units
            .get(key)
            .is_some_and(|us| us.iter().any(|&u| !hopeless[u]))
    };
    let needs = Needs {
        definitions: p
            .needs
            .definitions
            .iter()
            .filter(|f| wanted(&format!("def:{f}"), &p))
            .cloned()
            .collect(),
        callers: p
            .needs
            .callers
            .iter()
            .filter(|f| wanted(&format!("call:{f}"), &p))
            .cloned()
            .collect(),
        fields: p
            .needs
            .fields
            .iter()
            .filter(|(s, f)| wanted(&format!("field:{s}::{f}"), &p))
            .cloned()
            .collect(),
        overflow: BTreeSet::new(),
        local_callers: p
            .needs
            .local_callers
            .iter()
            .filter(|f| wanted(&format!("call:{f}"), &p))
            .cloned()
            .collect(),
        local_fields: p
            .needs
            .local_fields
            .iter()
            .filter(|(s, f)| wanted(&format!("field:{s}::{f}"), &p))
            .cloned()
            .collect(),
    };
    p.needs = needs;
    // Functions in the flow that could not be parsed, and needs left.
    let mut unmet = p.needs.clone();
    unmet
        .definitions
        .retain(|f| !scanned.definitions.contains(f));
    unmet.callers.retain(|f| !scanned.callers.contains(f));
    unmet.fields.retain(|f| !scanned.fields.contains(f));
    unmet
        .local_callers
        .retain(|f| !scanned.local_callers.contains(f));
    unmet
        .local_fields
        .retain(|f| !scanned.local_fields.contains(f));
    for (file, name, line, err_line, def) in &broken {
        let src: &[u8] = &files[*file].parsed.original;
        let body = &src[def.node.byte_range()];
        let mentions_acquire = engine
            .acquire_names()
            .iter()
            .any(|a| memchr::memmem::find(body, a.as_bytes()).is_some());
        let has = |w: &str| memchr::memmem::find(body, w.as_bytes()).is_some();
        let mut hit: BTreeSet<usize> = BTreeSet::new();
        for (key, units) in &p.need_units {
            let touches = match key.split_once(':') {
                Some(("def", f)) => name == f,
                Some(("call", f)) => name == f || has(&format!("{f}(")),
                Some(("field", sf)) => sf.split_once("::").is_some_and(|(s, f)| has(s) && has(f)),
                _ => false,
            };
            if touches {
                hit.extend(units.iter().copied());
            }
        }
        if mentions_acquire || !hit.is_empty() {
            out_files[*file].skipped.push(SkippedFunction {
                function: name.clone(),
                line: *line,
                reason: format!("parse error at line {err_line}"),
            });
        }
        let why = format!(
            "{}() at {}:{} is in the flow but does not parse",
            name, files[*file].path, line
        );
        for u in hit {
            let r = ids[u];
            push_unique(&mut p.units[r].escapes, why.clone());
        }
    }
    // Callers that were searched for but not all read (too widely used, or
    // the search stopped) leave the parameters they feed open.
    let open_callers: Vec<String> = p
        .needs
        .callers
        .iter()
        .filter(|c| scanned.overflow.contains(*c) || (final_round && unmet.callers.contains(*c)))
        .cloned()
        .collect();
    for name in open_callers {
        let why =
            format!("{name}() has callers pinpatch did not read (it is used in too many files)");
        for &g in p.by_name.get(&name).map(Vec::as_slice).unwrap_or(&[]) {
            let mut units = BTreeSet::new();
            for prm in &p.funcs[g].params {
                if let Some(i) = p.locs.get(&Loc::Var(g, prm.clone())) {
                    units.extend(i.arrays.iter().chain(&i.pages).copied());
                }
            }
            if let Some(i) = p.locs.get(&Loc::Ret(g)) {
                units.extend(i.arrays.iter().chain(&i.pages).copied());
            }
            for u in units {
                let r = ids[u];
                push_unique(&mut p.units[r].escapes, why.clone());
            }
        }
    }
    // Fields whose readers and writers were not all read are open too.
    let open_fields: Vec<(String, String)> = p
        .needs
        .fields
        .iter()
        .filter(|(s, f)| {
            scanned.overflow.contains(&format!("{s}::{f}"))
                || (final_round && unmet.fields.contains(&(s.clone(), f.clone())))
        })
        .cloned()
        .collect();
    for (s, f) in open_fields {
        if let Some(info) = p.locs.get_mut(&Loc::Field(s.clone(), f.clone())) {
            push_unique(
                &mut info.others,
                format!("whatever the files pinpatch did not read store in {s}::{f}"),
            );
        }
    }
    report_unparsed_regions(engine, files, &mut out_files);

    // 8. Decisions.
    let mut unit_index: HashMap<usize, usize> = HashMap::new();
    let mut units_out: Vec<Unit> = Vec::new();
    for u in 0..p.units.len() {
        if ids[u] != u {
            continue;
        }
        unit_index.insert(u, units_out.len());
        units_out.push(decide(&p, u));
    }

    // 9. Loop indices left unused by converted loops lose their declaration.
    remove_dead_indices(&p, &mut units_out);

    // 10. Sites.
    for (fi, node, m, unit, reason) in acquire_sites {
        let rule = &engine.pack.rules[m.rule];
        let file = p.funcs[fi].file;
        let index = unit.map(|u| unit_index[&ids[u]]);
        let (class, unit_reason) = match index {
            Some(i) => (
                units_out[i].class,
                (!units_out[i].converted).then(|| units_out[i].reasons.join("; ")),
            ),
            None => (Class::Manual, None),
        };
        let src = p.src(fi);
        out_files[file].sites.push(Site {
            kind: SiteKind::Acquire,
            line: p.line(fi, node),
            function: p.funcs[fi].name.clone(),
            call: one_line(&src[node.byte_range()]),
            rule: rule.id.clone(),
            unit: index,
            rewrite: None,
            reason: reason.or(unit_reason),
            class,
            start: node.start_byte(),
            end: node.end_byte(),
        });
    }
    for (fi, node, m, u, mixed) in release_sites {
        let rule = &engine.pack.rules[m.rule];
        let file = p.funcs[fi].file;
        let i = unit_index[&ids[u]];
        let unit = &units_out[i];
        let src = p.src(fi);
        out_files[file].sites.push(Site {
            kind: SiteKind::Release,
            line: p.line(fi, node),
            function: p.funcs[fi].name.clone(),
            call: one_line(&src[node.byte_range()]),
            rule: rule.id.clone(),
            unit: Some(i),
            rewrite: None,
            reason: mixed.or_else(|| (!unit.converted).then(|| unit.reasons.join("; "))),
            class: unit.class,
            start: node.start_byte(),
            end: node.end_byte(),
        });
    }
    rewrite_sites(&p, rewrites, &mut units_out, &mut out_files);
    for f in out_files.iter_mut() {
        f.sites.sort_by_key(|s| (s.start, s.kind));
        f.skipped
            .sort_by(|a, b| (a.line, &a.function).cmp(&(b.line, &b.function)));
    }
    ProgramAnalysis {
        files: out_files,
        units: units_out,
        needs: unmet,
    }
}

/// Plain rewrites (`kind = "rewrite"`): each match is a unit of its own,
/// converted when the rule has a template for the target.
fn rewrite_sites(
    p: &Program,
    rewrites: Vec<(usize, Node, Match)>,
    units_out: &mut Vec<Unit>,
    out_files: &mut [FileFindings],
) {
    for (fi, node, m) in rewrites {
        let rule = &p.engine.pack.rules[m.rule];
        let file = p.funcs[fi].file;
        let converted = rule.rewrite.contains_key(&p.engine.target);
        let src = p.src(fi);
        out_files[file].sites.push(Site {
            kind: SiteKind::Rewrite,
            line: p.line(fi, node),
            function: p.funcs[fi].name.clone(),
            call: one_line(&src[node.byte_range()]),
            rule: rule.id.clone(),
            unit: Some(units_out.len()),
            rewrite: None,
            reason: (!converted).then(|| "the rule has no template for this target".to_string()),
            class: Class::Easy,
            start: node.start_byte(),
            end: node.end_byte(),
        });
        units_out.push(Unit {
            file: p.files[file].path.to_string(),
            function: p.funcs[fi].name.clone(),
            line: p.line(fi, node),
            pages: String::new(),
            converted,
            pinned: false,
            kept: false,
            class: Class::Easy,
            reasons: Vec::new(),
            rules: vec![rule.id.clone()],
            mismatches: Vec::new(),
            evidence: Vec::new(),
            releases: Vec::new(),
            plans: vec![(file, Plan::Replace { matched: m })],
        });
    }
}

impl Default for UnitState {
    fn default() -> Self {
        UnitState {
            file: 0,
            func: 0,
            line: 0,
            pages_text: String::new(),
            family: AcquireFamily::Get,
            acquires: Vec::new(),
            releases: Vec::new(),
            escapes: Vec::new(),
            blockers: Vec::new(),
            mismatches: Vec::new(),
            rules: BTreeSet::new(),
            evidence: BTreeSet::new(),
            metadata: BTreeSet::new(),
            data: BTreeSet::new(),
            flags: Vec::new(),
        }
    }
}

/// Whether a function that matched the interest words only through field
/// names also names one of those fields' structs.
fn interest_fields_ok(body: &[u8], scanned: &Needs, engine: &Engine) -> bool {
    let has = |w: &str| memchr::memmem::find(body, w.as_bytes()).is_some();
    let direct = engine.acquire_names().iter().any(|w| has(w))
        || engine.pack.release_identifiers().iter().any(|w| has(w))
        || engine.pack.rewrite_identifiers().iter().any(|w| has(w))
        || scanned.definitions.iter().any(|w| has(w))
        || scanned.callers.iter().any(|w| has(w))
        || scanned.local_callers.iter().any(|w| has(w));
    direct
        || scanned
            .fields
            .iter()
            .chain(&scanned.local_fields)
            .any(|(s, f)| has(f) && has(s))
}

/// The words a function must mention to take part in the analysis: the
/// vocabulary of the rules, and the functions and fields already searched for.
fn interest_words(engine: &Engine, scanned: &Needs) -> aho_corasick::AhoCorasick {
    let mut words: Vec<String> = engine.acquire_names().to_vec();
    words.extend(engine.pack.release_identifiers());
    words.extend(engine.pack.rewrite_identifiers());
    words.extend(scanned.definitions.iter().cloned());
    words.extend(scanned.callers.iter().cloned());
    words.extend(scanned.local_callers.iter().cloned());
    words.extend(
        scanned
            .fields
            .iter()
            .chain(&scanned.local_fields)
            .map(|(_, f)| f.clone()),
    );
    words.sort();
    words.dedup();
    aho_corasick::AhoCorasick::new(&words).expect("identifiers are plain words")
}

/// The span a one-statement rewrite of `node` may take over: from the end of
/// the head of the `if` (without `else`), `for` or `while` whose braced body
/// holds `node` alone, to the closing brace.
fn sole_block(node: Node) -> Option<(usize, usize)> {
    let block = node.parent().filter(|b| b.kind() == "compound_statement")?;
    let mut cursor = block.walk();
    let children: Vec<Node> = block.children(&mut cursor).collect();
    // `{`, the statement, `}`: no comment or other statement.
    if children.len() != 3 || children[1] != node {
        return None;
    }
    let owner = block.parent()?;
    let head_end = match owner.kind() {
        "if_statement" => {
            let else_free = owner.child_by_field_name("alternative").is_none();
            let nested_else = owner.parent().is_some_and(|p| p.kind() == "else_clause");
            if !else_free || nested_else || owner.child_by_field_name("consequence") != Some(block)
            {
                return None;
            }
            owner.child_by_field_name("condition")?.end_byte()
        }
        "for_statement" | "while_statement" => {
            if owner.child_by_field_name("body") != Some(block) {
                return None;
            }
            let mut c = owner.walk();
            let close = owner.children(&mut c).filter(|k| k.kind() == ")").last()?;
            close.end_byte()
        }
        _ => return None,
    };
    Some((head_end, block.end_byte()))
}

/// Functions stored in struct fields by file-scope initialisers:
/// `static struct ops x = { .f = func };`.
fn ops_index(
    files: &[ProgramFile],
    types: &TypeIndex,
) -> HashMap<(String, String), Vec<(usize, String)>> {
    let mut out: HashMap<(String, String), Vec<(usize, String)>> = HashMap::new();
    for (fi, f) in files.iter().enumerate() {
        let src: &[u8] = &f.parsed.original;
        let root = f.parsed.tree.root_node();
        let mut cursor = root.walk();
        for decl in root
            .children(&mut cursor)
            .filter(|n| n.kind() == "declaration")
        {
            if let Some(slots) = initializer_slots(decl, src, types) {
                for (s, field, name) in slots {
                    out.entry((s, field)).or_default().push((fi, name));
                }
            }
        }
    }
    out
}

/// (struct, field, function) for each `.field = function` of a declaration
/// with an initialiser list.
fn initializer_slots(
    decl: Node,
    src: &[u8],
    types: &TypeIndex,
) -> Option<Vec<(String, String, String)>> {
    let s = types.resolve(&super::types::type_name(
        decl.child_by_field_name("type")?,
        src,
    )?);
    let mut out = Vec::new();
    let mut c = decl.walk();
    for d in decl.children_by_field_name("declarator", &mut c) {
        let Some(list) = d
            .child_by_field_name("value")
            .filter(|v| v.kind() == "initializer_list")
        else {
            continue;
        };
        let mut c2 = list.walk();
        for pair in list
            .named_children(&mut c2)
            .filter(|n| n.kind() == "initializer_pair")
        {
            let field = pair
                .child_by_field_name("designator")
                .and_then(|d| d.named_child(0));
            let value = pair
                .child_by_field_name("value")
                .map(crate::c::syntax::strip);
            if let (Some(field), Some(value)) = (field, value) {
                if value.kind() == "identifier" {
                    out.push((s.clone(), text(field, src), text(value, src)));
                }
            }
        }
    }
    Some(out)
}

/// The (struct, field) slot an identifier fills when it is the value of a
/// `.field = name` pair in a file-scope initialiser.
fn ops_slot_of(n: Node, src: &[u8], types: &TypeIndex) -> Option<(String, String)> {
    let pair = n.parent().filter(|p| p.kind() == "initializer_pair")?;
    let field = pair
        .child_by_field_name("designator")
        .and_then(|d| d.named_child(0))?;
    let decl = pair
        .parent()?
        .parent()?
        .parent()
        .filter(|d| d.kind() == "declaration")?;
    let s = types.resolve(&super::types::type_name(
        decl.child_by_field_name("type")?,
        src,
    )?);
    Some((s, text(field, src)))
}

/// The nodes of a function body (comments left out), or `None` when the
/// function is nested deeper than `MAX_DEPTH` levels. Iterative.
fn body_nodes<'t>(func: Node<'t>, body: Node<'t>, comment_id: u16) -> Option<Vec<Node<'t>>> {
    let limit = crate::c::syntax::MAX_DEPTH;
    // Levels between the definition and its body count too.
    let mut base = 0usize;
    let mut up = body;
    while up != func {
        base += 1;
        up = up.parent()?;
    }
    let mut nodes = Vec::new();
    let mut cursor = body.walk();
    let mut depth = base;
    loop {
        let n = cursor.node();
        if depth > limit {
            return None;
        }
        if n.kind_id() != comment_id {
            nodes.push(n);
        }
        if cursor.goto_first_child() {
            depth += 1;
            continue;
        }
        loop {
            if cursor.node() == body {
                return Some(nodes);
            }
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return Some(nodes);
            }
            depth -= 1;
        }
    }
}

/// The operands of `(a, b, c)`, a parenthesised comma expression.
fn comma_operands(node: Node) -> Vec<Node> {
    let mut out = Vec::new();
    let mut cur = match node.kind() {
        "parenthesized_expression" => node.named_child(0),
        _ => Some(node),
    };
    while let Some(n) = cur {
        if n.kind() == "comma_expression" {
            if let Some(l) = n.child_by_field_name("left") {
                out.push(l);
            }
            cur = n.child_by_field_name("right");
        } else {
            out.push(n);
            cur = None;
        }
    }
    out
}

/// The location an array expression aliases (`pages`, `p->pages`, `pages + n`).
fn alias_loc(p: &Program, fi: usize, node: Node) -> Option<Loc> {
    let src = p.src(fi);
    match shape(node, src) {
        ExprShape::Ident(_) | ExprShape::Field { .. } => p.loc_of(fi, node),
        ExprShape::Offset { base, .. } => alias_loc(p, fi, base),
        ExprShape::AddressOf(inner) => match shape(inner, src) {
            ExprShape::Subscript { base, .. } => alias_loc(p, fi, base),
            _ => None,
        },
        _ => None,
    }
}

/// Where an acquire's pages live: the location and whether it is an array.
fn root_of(p: &Program, fi: usize, node: Node) -> Option<(Loc, bool)> {
    let src = p.src(fi);
    match shape(node, src) {
        ExprShape::Ident(_) | ExprShape::Field { .. } => p.loc_of(fi, node).map(|l| (l, true)),
        ExprShape::Offset { base, .. } => root_of(p, fi, base),
        ExprShape::AddressOf(inner) => match shape(inner, src) {
            ExprShape::Subscript { base, .. } => root_of(p, fi, base),
            ExprShape::Ident(_) | ExprShape::Field { .. } => {
                p.loc_of(fi, inner).map(|l| (l, false))
            }
            _ => None,
        },
        _ => None,
    }
}

fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

fn collect_others_and_escapes(
    p: &mut Program,
    scanned: &Needs,
    assignments: &[(usize, Assignment)],
    asg_mentions: &[Mentions],
    calls: &[(usize, Call)],
    call_mentions: &[Mentions],
    returns: &[(usize, Node)],
    releases: &[(usize, Node, Match)],
) {
    let engine = p.engine;
    let flow = &engine.pack.flow;
    // Assignments of other values into tracked locations; pages leaving
    // through stores the analysis cannot follow.
    for (ai, (fi, asg)) in assignments.iter().enumerate() {
        let fi = *fi;
        // Only a statement that names something tracked can store pages or
        // overwrite a tracked location.
        if !asg_mentions[ai].hot(fi, &p.hot) {
            continue;
        }
        let v = p.eval(fi, asg.rhs, 0);
        let src = p.src(fi);
        let place = p.place(fi, asg.node);
        match shape(asg.lhs, src) {
            ExprShape::Ident(_) | ExprShape::Field { .. } => match p.loc_of(fi, asg.lhs) {
                Some(loc) => {
                    if p.tracked(&loc)
                        && v.is_empty()
                        && asg.plain
                        && !p.is_null_or_allocation(fi, asg.rhs)
                    {
                        let rhs = text(asg.rhs, src);
                        let info = p.locs.get_mut(&loc).expect("tracked");
                        push_unique(&mut info.others, format!("`{rhs}` ({place})"));
                    }
                    if let Loc::Field(s, f) = &loc {
                        if !v.is_empty() {
                            if p.types.is_file_local(s) {
                                p.needs.local_fields.insert((s.clone(), f.clone()));
                            } else {
                                p.needs.fields.insert((s.clone(), f.clone()));
                            }
                            p.need(format!("field:{s}::{f}"), &v.units());
                            for u in v.units() {
                                p.units[u]
                                    .evidence
                                    .insert(format!("stored in struct {s}::{f}"));
                            }
                        }
                    }
                }
                None => {
                    if !v.is_empty() {
                        let lhs = text(asg.lhs, src);
                        for u in v.units() {
                            push_unique(&mut p.units[u].escapes, format!("the pages are stored into `{lhs}` ({place}), which pinpatch cannot follow"));
                        }
                    }
                }
            },
            ExprShape::Subscript { base, .. } | ExprShape::Deref(base) => {
                let b = p.eval(fi, base, 0);
                if !b.arrays.is_empty()
                    && v.pages.is_empty()
                    && !matches!(shape(asg.rhs, src), ExprShape::Null)
                {
                    let rhs = text(asg.rhs, src);
                    let base_text = text(base, src);
                    for u in b.arrays {
                        push_unique(
                            &mut p.units[u].blockers,
                            format!("an element of `{base_text}` is assigned `{rhs}` ({place}), which does not come from the acquire"),
                        );
                    }
                }
            }
            _ => {
                if !v.is_empty() {
                    let lhs = text(asg.lhs, src);
                    for u in v.units() {
                        push_unique(&mut p.units[u].escapes, format!("the pages are stored into `{lhs}` ({place}), which pinpatch cannot follow"));
                    }
                }
            }
        }
    }
    // Fields that hold pages: every struct field read or written elsewhere is a need.
    let tracked_fields: Vec<(String, String)> = p
        .locs
        .iter()
        .filter(|(l, i)| {
            matches!(l, Loc::Field(..)) && (!i.arrays.is_empty() || !i.pages.is_empty())
        })
        .map(|(l, _)| match l {
            Loc::Field(s, f) => (s.clone(), f.clone()),
            _ => unreachable!("filtered to fields"),
        })
        .collect();
    for (s, f) in tracked_fields {
        let v = p.val_of(&Loc::Field(s.clone(), f.clone()));
        p.need(format!("field:{s}::{f}"), &v.units());
        if p.types.is_file_local(&s) {
            p.needs.local_fields.insert((s, f));
        } else {
            p.needs.fields.insert((s, f));
        }
    }

    // Calls: followed helpers, the vocabulary, and escapes.
    let acquire_names: HashSet<String> = engine.acquire_names().iter().cloned().collect();
    let release_ranges: Vec<(usize, usize, usize)> = releases
        .iter()
        .map(|(fi, _, m)| (p.funcs[*fi].file, m.start, m.end))
        .collect();
    for (ci, (fi, call)) in calls.iter().enumerate() {
        let fi = *fi;
        let src = p.src(fi);
        // A call matters when it passes something tracked, or when it calls
        // a function whose parameters hold pages (its other arguments must
        // then come from acquires too).
        if !call_mentions[ci].hot(fi, &p.hot) {
            let feeds_tracked = p.targets(fi, call).iter().any(|&g| {
                p.funcs[g]
                    .params
                    .iter()
                    .any(|prm| p.tracked(&Loc::Var(g, prm.clone())))
            });
            if !feeds_tracked {
                continue;
            }
        }
        let file = p.funcs[fi].file;
        let range = (call.node.start_byte(), call.node.end_byte());
        let in_release = release_ranges
            .iter()
            .any(|&(f, s, e)| f == file && s <= range.0 && range.1 <= e);
        let callee = call
            .callee_name(src)
            .map(|c| String::from_utf8_lossy(c).into_owned());
        let place = p.place(fi, call.node);
        let resolved = callee.as_ref().map(|c| p.resolve(fi, c));
        let targets = p.targets(fi, call);
        let slot = if callee.is_none() {
            p.callee_slot(fi, call)
        } else {
            None
        };
        // A page stored into an element of a container: checked like a store
        // into an array element.
        if let Some((c, pg)) = callee
            .as_ref()
            .and_then(|c| flow.element_stores.get(c).copied())
        {
            let args = call.args();
            if let (Some(&container), Some(&page)) = (args.get(c), args.get(pg)) {
                let b = p.eval(fi, container, 0);
                let v = p.eval(fi, page, 0);
                if !b.arrays.is_empty()
                    && v.pages.is_empty()
                    && !matches!(shape(page, src), ExprShape::Null)
                {
                    let what = text(page, src);
                    let base = text(container, src);
                    for u in b.arrays {
                        push_unique(
                            &mut p.units[u].blockers,
                            format!("an element of `{base}` is set to `{what}` ({place}), which does not come from the acquire"),
                        );
                    }
                }
                for u in v.pages.iter().copied().collect::<Vec<_>>() {
                    p.units[u]
                        .evidence
                        .insert(format!("{}()", callee.as_deref().unwrap_or("")));
                }
            }
            continue;
        }
        for (k, arg) in call.args().into_iter().enumerate() {
            let v = p.eval(fi, arg, 0);
            if !targets.is_empty() {
                // Followed: this call site must pass only acquired pages
                // when a callee's parameter holds them.
                for &g in &targets {
                    let Some(param) = p.funcs[g].params.get(k).cloned() else {
                        continue;
                    };
                    let ploc = Loc::Var(g, param);
                    if !p.tracked(&ploc) {
                        continue;
                    }
                    let gname = p.funcs[g].name.clone();
                    let units = p.val_of(&ploc).units();
                    p.need(format!("call:{gname}"), &units);
                    if p.funcs[g].file_local {
                        p.needs.local_callers.insert(gname.clone());
                    } else {
                        p.needs.callers.insert(gname.clone());
                    }
                    if v.is_empty() && !p.is_null_or_allocation(fi, arg) {
                        let a = text(arg, src);
                        let caller = p.funcs[fi].name.clone();
                        let info = p.locs.get_mut(&ploc).expect("tracked");
                        push_unique(
                            &mut info.others,
                            format!("`{a}` passed to {gname}() by {caller}() ({place})"),
                        );
                    }
                }
                continue;
            }
            if slot.is_none() && callee.is_none() && !v.is_empty() {
                // The struct behind the function pointer is not known yet:
                // read the definition of the struct on the way.
                let base = call
                    .callee()
                    .and_then(|c| crate::c::syntax::strip(c).child_by_field_name("argument"));
                if let Some((s, f)) = base.and_then(|b| p.missing_field_type(fi, b)) {
                    let units = v.units();
                    p.need(format!("field:{s}::{f}"), &units);
                    p.needs.fields.insert((s, f));
                }
            }
            if let (Some((s, f)), false) = (&slot, v.is_empty()) {
                // A call through a function pointer field: read the ops
                // tables that fill it, the other calls through it, and the
                // functions the tables name.
                let units = v.units();
                let named: Vec<String> = p
                    .ops
                    .get(&(s.clone(), f.clone()))
                    .map(|v| v.iter().map(|(_, n)| n.clone()).collect())
                    .unwrap_or_default();
                for name in named {
                    p.need(format!("def:{name}"), &units);
                    p.needs.definitions.insert(name);
                }
                p.need(format!("field:{s}::{f}"), &units);
                if p.types.is_file_local(s) {
                    p.needs.local_fields.insert((s.clone(), f.clone()));
                } else {
                    p.needs.fields.insert((s.clone(), f.clone()));
                }
            }
            if v.is_empty() {
                continue;
            }
            let units = v.units();
            let unit_set = units.clone();
            let c = match &callee {
                Some(c) => c.clone(),
                None => {
                    for u in units {
                        push_unique(
                            &mut p.units[u].escapes,
                            format!("the pages are passed to an indirect call ({place})"),
                        );
                    }
                    continue;
                }
            };
            let known_use =
                flow.is_use(&c) || flow.is_element_call(&c) || acquire_names.contains(&c);
            for u in units {
                let unit = &mut p.units[u];
                if flow.evidence_dma.contains(&c) {
                    unit.evidence.insert(format!("{c}()"));
                }
                if flow.evidence_write.contains(&c) {
                    unit.evidence.insert(format!("{c}()"));
                }
                if flow.data_access.contains(&c) {
                    unit.data.insert(format!("{c}()"));
                }
                if flow.metadata_only.contains(&c) {
                    unit.metadata.insert(format!("{c}()"));
                }
                if in_release {
                    // Part of a release the rules convert (a dirtying loop).
                    continue;
                }
                if flow.extra_references.contains(&c) {
                    push_unique(
                        &mut unit.blockers,
                        format!("an extra reference is taken with {c}() ({place})"),
                    );
                } else if flow.releases.contains(&c) {
                    push_unique(
                        &mut unit.blockers,
                        format!(
                            "the pages are released with {c}() ({place}), which no rule converts"
                        ),
                    );
                } else if !known_use {
                    let why = match &resolved {
                        Some(Err("ambiguous")) => format!("the pages are passed to {c}() ({place}), which has several definitions"),
                        _ => format!("the pages are passed to {c}() ({place})"),
                    };
                    push_unique(&mut unit.escapes, why);
                }
            }
            let macro_like = c
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if !known_use
                && !in_release
                && !macro_like
                && matches!(resolved, Some(Err("undefined")))
            {
                p.need(format!("def:{c}"), &unit_set);
                p.needs.definitions.insert(c);
            }
        }
    }
    // Returns of pages: the function's callers must be read.
    for (fi, e) in returns {
        let v = p.eval(*fi, *e, 0);
        if !v.is_empty() {
            let name = p.funcs[*fi].name.clone();
            p.need(format!("call:{name}"), &v.units());
            if p.funcs[*fi].file_local {
                p.needs.local_callers.insert(name);
            } else {
                p.needs.callers.insert(name);
            }
        }
    }
    // A followed function whose address is taken has callers nobody can list.
    let followed: Vec<usize> = (0..p.funcs.len())
        .filter(|&g| {
            p.funcs[g]
                .params
                .iter()
                .any(|prm| p.tracked(&Loc::Var(g, prm.clone())))
                || p.tracked(&Loc::Ret(g))
        })
        .collect();
    let followed_names: HashSet<String> =
        followed.iter().map(|&g| p.funcs[g].name.clone()).collect();
    let mut taken_at: HashMap<String, String> = HashMap::new();
    if !followed_names.is_empty() {
        for fi in 0..p.funcs.len() {
            let src = p.src(fi);
            for &n in &p.funcs[fi].nodes {
                if n.kind() != "identifier" {
                    continue;
                }
                let name = String::from_utf8_lossy(&src[n.byte_range()]);
                if !followed_names.contains(name.as_ref()) || taken_at.contains_key(name.as_ref()) {
                    continue;
                }
                let is_callee = n.parent().is_some_and(|par| {
                    par.kind() == "call_expression"
                        && par.child_by_field_name("function") == Some(n)
                });
                if !is_callee {
                    taken_at.insert(name.into_owned(), p.place(fi, n));
                }
            }
        }
    }
    for g in followed {
        let name = p.funcs[g].name.clone();
        let taken = taken_at
            .get(&name)
            .cloned()
            .or_else(|| address_taken_at_file_scope(p, &name, scanned));
        if let Some(place) = taken {
            for prm in p.funcs[g].params.clone() {
                let loc = Loc::Var(g, prm);
                if p.tracked(&loc) {
                    let info = p.locs.get_mut(&loc).expect("tracked");
                    push_unique(
                        &mut info.others,
                        format!(
                            "calls of {name}() through a pointer (its address is taken at {place})"
                        ),
                    );
                }
            }
        }
    }
    // Evidence from flags.
    for unit in p.units.iter_mut() {
        for f in unit.flags.clone() {
            if f.contains("FOLL_LONGTERM") {
                unit.evidence.insert("FOLL_LONGTERM".into());
            }
            // FOLL_WRITE with a brief kmap() is weak evidence: such users
            // (uprobes, ptrace-style access) are left for a decision.
        }
    }
}

/// Where a function's name is used outside any function body (an ops table
/// initialiser such as `.release = foo_release`), if anywhere.
fn address_taken_at_file_scope(p: &Program, name: &str, scanned: &Needs) -> Option<String> {
    for f in p.files {
        let src: &[u8] = &f.parsed.original;
        if memchr::memmem::find(src, name.as_bytes()).is_none() {
            continue;
        }
        let mut found = None;
        preorder(f.parsed.tree.root_node(), |n| {
            if found.is_some() || n.kind() == "function_definition" {
                return false;
            }
            if n.kind() == "identifier" && src[n.byte_range()] == *name.as_bytes() {
                let in_declarator = n
                    .parent()
                    .is_some_and(|par| par.kind() == "function_declarator");
                // An ops-table slot whose every call site was read is a
                // known caller, not an unknown one.
                let known_slot = ops_slot_of(n, src, &p.types).is_some_and(|slot| {
                    scanned.fields.contains(&slot) || scanned.local_fields.contains(&slot)
                });
                if !in_declarator && !known_slot {
                    found = Some(format!("{}:{}", f.path, f.parsed.line_of(n.start_byte())));
                }
            }
            true
        });
        if found.is_some() {
            return found;
        }
    }
    None
}

fn first_error_line(node: Node, parsed: &Parsed) -> usize {
    let mut line = parsed.line_of(node.start_byte());
    let mut found = false;
    preorder(node, |n| {
        if found {
            return false;
        }
        if n.is_error() || n.is_missing() {
            line = parsed.line_of(n.start_byte());
            found = true;
            return false;
        }
        n.has_error()
    });
    line
}

/// Reports top-level ERROR regions that mention an acquire.
fn report_unparsed_regions(engine: &Engine, files: &[ProgramFile], out: &mut [FileFindings]) {
    for (i, f) in files.iter().enumerate() {
        let root = f.parsed.tree.root_node();
        let mut cursor = root.walk();
        for child in root.children(&mut cursor) {
            if !child.is_error() {
                continue;
            }
            let text = f.parsed.text(child);
            if engine
                .acquire_names()
                .iter()
                .any(|n| memchr::memmem::find(text, n.as_bytes()).is_some())
            {
                out[i].skipped.push(SkippedFunction {
                    function: String::from("<unparsed region>"),
                    line: f.parsed.line_of(child.start_byte()),
                    reason: format!(
                        "lines {}-{} do not parse as C declarations",
                        f.parsed.line_of(child.start_byte()),
                        f.parsed.line_of(child.end_byte())
                    ),
                });
            }
        }
    }
}

/// The decision for one unit.
fn decide(p: &Program, u: usize) -> Unit {
    let s = &p.units[u];
    let engine = p.engine;
    let dedup = |v: &Vec<String>| {
        let mut seen = BTreeSet::new();
        v.iter()
            .filter(|x| seen.insert((*x).clone()))
            .cloned()
            .collect::<Vec<_>>()
    };
    let escapes = dedup(&s.escapes);
    let blockers = dedup(&s.blockers);
    let mut reasons: Vec<String> = blockers.clone();
    let mut kept = false;
    if s.releases.is_empty() {
        reasons.push("no release of these pages was found".into());
    }
    let evidence: Vec<String> = s.evidence.iter().cloned().collect();
    let convertible = match (engine.target, s.family) {
        (_, AcquireFamily::Pin) => {
            reasons.insert(
                0,
                "the pages are already pinned with pin_user_pages*()".into(),
            );
            false
        }
        (Target::Unpin, _) => {
            reasons.extend(escapes.iter().cloned());
            for (_, m) in &s.acquires {
                let rule = &engine.pack.rules[m.rule];
                if !rule.rewrite.contains_key(&Target::Unpin)
                    && !rule
                        .acquire
                        .as_ref()
                        .expect("acquire")
                        .manual
                        .contains_key(&Target::Unpin)
                {
                    reasons.push(format!(
                        "rule {} has no rewrite for the unpin target",
                        rule.id
                    ));
                }
            }
            if reasons.is_empty()
                && evidence.is_empty()
                && engine.policy == super::AcquirePolicy::Evidence
            {
                if s.data.is_empty() && !s.metadata.is_empty() {
                    kept = true;
                    let uses: Vec<String> = s.metadata.iter().cloned().collect();
                    reasons.push(format!(
                        "kept: only struct page is looked at ({}), so a reference is enough (pin_user_pages.rst, case 4)",
                        uses.join(", ")
                    ));
                } else {
                    let seen: Vec<String> = s.data.iter().chain(&s.metadata).cloned().collect();
                    reasons.push(format!(
                        "needs a decision: no DMA, dirtying, write or long-term use seen{}",
                        if seen.is_empty() {
                            String::new()
                        } else {
                            format!(" (uses: {})", seen.join(", "))
                        }
                    ));
                }
            }
            reasons.is_empty()
        }
        (Target::PutUserPage, _) => reasons.is_empty(),
    };
    let mut plans = Vec::new();
    if convertible {
        for (fi, m) in s.acquires.iter().chain(&s.releases) {
            if engine.pack.rules[m.rule]
                .rewrite
                .contains_key(&engine.target)
            {
                plans.push((p.funcs[*fi].file, Plan::Replace { matched: m.clone() }));
            }
        }
    }
    let funcs: BTreeSet<usize> = s
        .acquires
        .iter()
        .chain(&s.releases)
        .map(|(fi, _)| *fi)
        .collect();
    let files: BTreeSet<usize> = funcs.iter().map(|&fi| p.funcs[fi].file).collect();
    let class = if !convertible {
        Class::Manual
    } else if funcs.len() <= 1 {
        Class::Easy
    } else if files.len() <= 1 {
        Class::Local
    } else {
        Class::CrossFile
    };
    let mut release_places: Vec<String> = s
        .releases
        .iter()
        .map(|(fi, m)| {
            format!(
                "{}:{}",
                p.files[p.funcs[*fi].file].path,
                p.files[p.funcs[*fi].file].parsed.line_of(m.start)
            )
        })
        .collect();
    release_places.sort();
    release_places.dedup();
    Unit {
        function: p.funcs[s.func].name.clone(),
        file: p.files[s.file].path.to_string(),
        line: s.line,
        pages: s.pages_text.clone(),
        converted: convertible && !plans.is_empty(),
        pinned: s.family == AcquireFamily::Pin,
        kept,
        class,
        reasons,
        rules: s.rules.iter().cloned().collect(),
        // A release that may also see pages from elsewhere is mixed, not a
        // mismatch: only a pure flow proves one.
        mismatches: if blockers.is_empty() {
            s.mismatches.clone()
        } else {
            Vec::new()
        },
        evidence,
        releases: release_places,
        plans,
    }
}

/// Plans the removal of loop-index declarations that converted loops leave unused.
fn remove_dead_indices(p: &Program, units: &mut [Unit]) {
    // Per function: the byte ranges converted loops replace, and their indices.
    let mut replaced: BTreeMap<usize, Vec<(usize, usize)>> = BTreeMap::new();
    let mut indices: Vec<(usize, String, usize)> = Vec::new();
    for (ui, unit) in units.iter().enumerate() {
        if !unit.converted {
            continue;
        }
        for (file, plan) in &unit.plans {
            if let Plan::Replace { matched } = plan {
                // Functions are in (file, offset) order: the last one that
                // starts at or before the match holds it, if any does.
                let at = p.funcs.partition_point(|f| {
                    (f.file, f.def.node.start_byte()) <= (*file, matched.start)
                });
                let Some(fi) = at.checked_sub(1).filter(|&fi| {
                    p.funcs[fi].file == *file && matched.end <= p.funcs[fi].def.node.end_byte()
                }) else {
                    continue;
                };
                replaced
                    .entry(fi)
                    .or_default()
                    .push((matched.start, matched.end));
                let rule = &p.engine.pack.rules[matched.rule];
                if let Some(b) = rule
                    .release
                    .as_ref()
                    .and_then(|r| r.index.as_ref())
                    .and_then(|i| matched.binding(i))
                {
                    indices.push((fi, b.text.clone(), ui));
                }
            }
        }
    }
    let mut done = HashSet::new();
    for (fi, name, ui) in indices.into_iter().rev() {
        if !done.insert((fi, name.clone())) {
            continue;
        }
        let src = p.src(fi);
        let ranges = &replaced[&fi];
        let mut declarators = Vec::new();
        let mut other_uses = 0;
        for n in &p.funcs[fi].nodes {
            if n.kind() != "identifier" || src[n.byte_range()] != *name.as_bytes() {
                continue;
            }
            if ranges
                .iter()
                .any(|&(s, e)| s <= n.start_byte() && n.end_byte() <= e)
            {
                continue;
            }
            match declarator_of(*n) {
                Some(d) => declarators.push(d),
                None => other_uses += 1,
            }
        }
        if other_uses > 0 || declarators.len() != 1 {
            continue;
        }
        if let Some((start, end, text)) = declarator_removal_range(declarators[0], src) {
            units[ui].plans.push((
                p.funcs[fi].file,
                Plan::RemoveDeclarator {
                    start,
                    end,
                    text,
                    name,
                },
            ));
        }
    }
}
