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
//!   parsed files define (the `static` definitions in the calling file
//!   first, else the global ones of one file; every variant a file defines
//!   under its own `#ifdef` branch);
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
//! The phases, one file each, all working on one `FlowContext`:
//! `collect` (functions, rule matches, units seeded by acquires), `values`
//! (what an expression holds), `calls` (what a call reaches), `propagate`
//! (the fixpoint), `escapes` (values from elsewhere, escapes, evidence),
//! `releases` (releases tied to units, units merged), `needs` (what to read
//! next, and what stays open). `engine::decide` then turns each unit into a
//! `Decision`. Flow-insensitivity costs conversions, never correctness.

mod calls;
mod collect;
mod escapes;
mod guards;
pub mod ids;
mod locals;
mod needs;
mod objects;
mod propagate;
mod reads;
mod references;
mod releases;
mod summaries;
mod values;

use crate::c::NodeExt;
pub(crate) use collect::{AcquireSite, MatchSite};
pub use collect::{FileFacts, GainedWords, Interest};
pub use needs::{AcquireAt, Need, Needs, SettledFlows, MAX_HOLDER_HEADERS};
pub(crate) use releases::ReleaseSite;

use super::matcher::Match;
use super::reason::{Blocker, Evidence, Limit, Origin, Place, Separation};
use super::types::TypeIndex;
use super::{Engine, FileFindings, Unit};
use crate::c::syntax::{normalized, preorder, FunctionDef};
use crate::c::Parsed;
use crate::engine::hash::{HashMap, HashSet};
use crate::rule::AcquireFamily;
use foldhash::fast::FixedState;
use ids::{FileId, FuncId, IdVec, UnitId};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use tree_sitter::Node;

/// A file given to the analysis.
pub struct ProgramFile<'p> {
    pub path: &'p str,
    pub parsed: &'p Parsed,
}

/// The analysis of a set of files. An analysis that is not the last
/// round's and still needs files to be read holds those needs alone: the
/// next round decides the units.
#[derive(Debug, Default)]
pub struct ProgramAnalysis {
    /// Per input file, in input order.
    pub files: Vec<FileFindings>,
    /// Units, indexed by `Site::unit`.
    pub units: Vec<Unit>,
    pub needs: Needs,
    /// The limits reached that block no unit (`Limit::blocks_units`).
    pub precision_limits: Vec<Limit>,
    /// Of an analysis that decided no unit, the acquires whose flows need
    /// nothing more.
    pub settled: SettledFlows,
}

/// Where pages may be held.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Loc {
    /// A local or parameter of a function.
    Var(FuncId, String),
    /// A field of a struct, wherever it is read or written.
    Field(String, String),
    /// What a function returns.
    Ret(FuncId),
}

/// What one step of the fixpoint may read: a location's values, the units
/// filling a location, or whether a function fills its callers' arrays.
/// The fixpoint keeps what each constraint read when last evaluated, and
/// evaluates it again only once one of those has changed
/// (`FlowContext::changed_at`). Only its key is kept (`ReadKey`), so a
/// read borrows the location it names.
#[derive(Hash)]
pub(crate) enum Read<'l> {
    Value(&'l Loc),
    Fills(&'l Loc),
    Filling(FuncId),
}

/// A `Read` as the fixpoint's memos keep it: its hash. A memo is kept for
/// every constraint the fixpoint evaluates, with every location it read;
/// kept as locations (names as strings), they were the largest part of an
/// analysis' memory.
pub(crate) type ReadKey = u64;

/// The key of a read (`ReadKey`).
pub(crate) fn read_key(read: &Read) -> ReadKey {
    use std::hash::BuildHasher;
    FixedState::with_seed(0).hash_one(read)
}

/// What a location holds: arrays of the units' pages, the units' pages
/// themselves, and the values from elsewhere that make it mixed.
#[derive(Default, Debug, Clone)]
pub(crate) struct Info {
    pub arrays: BTreeSet<UnitId>,
    pub pages: BTreeSet<UnitId>,
    pub others: Origins,
}

/// Values from elsewhere, each once, in the order they were met, with a
/// set to ask whether one is there without walking the list (a helper's
/// callers may hand it thousands).
#[derive(Default, Debug, Clone)]
pub(crate) struct Origins {
    list: Vec<Origin>,
    seen: HashSet<Origin>,
}

impl Origins {
    /// Adds a value from elsewhere; whether it was new.
    pub fn add(&mut self, o: Origin) -> bool {
        if self.seen.contains(&o) {
            return false;
        }
        self.seen.insert(o.clone());
        self.list.push(o);
        true
    }

    pub fn contains(&self, o: &Origin) -> bool {
        self.seen.contains(o)
    }

    pub fn into_vec(self) -> Vec<Origin> {
        self.list
    }
}

impl std::ops::Deref for Origins {
    type Target = [Origin];

    fn deref(&self) -> &[Origin] {
        &self.list
    }
}

impl FromIterator<Origin> for Origins {
    fn from_iter<I: IntoIterator<Item = Origin>>(iter: I) -> Origins {
        let mut out = Origins::default();
        for o in iter {
            out.add(o);
        }
        out
    }
}

/// What an expression holds.
#[derive(Default, Debug, Clone)]
pub(crate) struct Val {
    pub arrays: BTreeSet<UnitId>,
    pub pages: BTreeSet<UnitId>,
}

impl Val {
    pub fn is_empty(&self) -> bool {
        self.arrays.is_empty() && self.pages.is_empty()
    }
    pub fn units(&self) -> BTreeSet<UnitId> {
        self.arrays.union(&self.pages).copied().collect()
    }
    pub fn arrays(arrays: BTreeSet<UnitId>) -> Val {
        Val {
            arrays,
            pages: BTreeSet::new(),
        }
    }
    pub fn pages(pages: BTreeSet<UnitId>) -> Val {
        Val {
            arrays: BTreeSet::new(),
            pages,
        }
    }
    pub fn extend(&mut self, other: Val) {
        self.arrays.extend(other.arrays);
        self.pages.extend(other.pages);
    }
}

/// An analysed function.
pub(crate) struct Func<'t> {
    pub file: FileId,
    /// A `static` function of a `.c` file: all its callers are in that file.
    pub file_local: bool,
    pub name: String,
    pub def: FunctionDef<'t>,
    pub is_static: bool,
    pub nodes: Arc<[Node<'t>]>,
    /// Its constraints, built once (`propagate::FunctionConstraints`).
    pub constraints: Arc<propagate::FunctionConstraints<'t>>,
    pub params: Arc<[String]>,
    pub locals: Arc<HashSet<String>>,
    /// (name, type name) of its parameters and locals, as declared.
    pub declared_types: Arc<[(String, String)]>,
    /// The same with each type resolved through the round's typedefs
    /// (`FlowContext::var_types`), made when first asked.
    types: std::cell::OnceCell<HashMap<String, String>>,
    pub return_type: Option<String>,
    /// Its parameters' and locals' plain types, as declared.
    pub declared_scalars: Arc<[(String, Option<crate::engine::types::Scalar>)]>,
    /// Which of them are narrow, plain or `void *`
    /// (`FlowContext::scalar_names`), told when first asked.
    scalars: std::cell::OnceCell<collect::ScalarNames>,
    /// Parameters and locals that point at pages arrays (`struct page
    /// ***pagesp`): an element or a dereference of one is a pages array.
    pub page_array_rows: Arc<HashSet<String>>,
    /// It returns a value of a narrow type.
    pub returns_narrow: bool,
}

impl<'t> Func<'t> {
    /// The function's nodes in `root`'s subtree, `root` first, in the order
    /// a walk down from it meets them (`syntax::subtree_in`); `None` when
    /// `root` is not one of them.
    pub fn subtree(&self, root: Node<'t>) -> Option<&[Node<'t>]> {
        crate::c::syntax::subtree_in(&self.nodes, root)
    }
}

/// A unit while the analysis runs.
pub(crate) struct UnitState {
    pub file: FileId,
    pub func: FuncId,
    pub line: usize,
    pub pages_text: String,
    pub family: AcquireFamily,
    pub acquires: Vec<(FuncId, Match)>,
    pub releases: Vec<(FuncId, Match)>,
    /// Blockers that say where the pages go that the analysis cannot follow.
    pub escapes: Vec<Blocker>,
    pub blockers: Vec<Blocker>,
    pub mismatches: Vec<String>,
    pub rules: BTreeSet<String>,
    /// Why the pages need a pin, with the first place (`file:line`, in file
    /// and line order) each piece of evidence was seen.
    pub evidence: BTreeMap<Evidence, Place>,
    /// The calls (by name) of the vocabulary's `metadata_only` the pages
    /// reach.
    pub metadata: BTreeSet<String>,
    /// The calls (by name) that reach the pages' contents with the CPU, with the
    /// first place each was seen (as `evidence`).
    pub data: BTreeMap<String, Place>,
    pub flags: Vec<String>,
    /// The address space an acquire names when it is not the caller's
    /// (`get_user_pages_remote(mm, ...)` with `mm` other than
    /// `current->mm`).
    pub remote: Option<String>,
    /// Stores of other values into storage its releases read, told apart
    /// by the objects (`objects.rs`).
    pub told_apart: Vec<Separation>,
}

impl Default for UnitState {
    fn default() -> Self {
        UnitState {
            file: FileId(0),
            func: FuncId(0),
            line: 0,
            pages_text: String::new(),
            family: AcquireFamily::Get,
            acquires: Vec::new(),
            releases: Vec::new(),
            escapes: Vec::new(),
            blockers: Vec::new(),
            mismatches: Vec::new(),
            rules: BTreeSet::new(),
            evidence: BTreeMap::new(),
            metadata: BTreeSet::new(),
            data: BTreeMap::new(),
            flags: Vec::new(),
            remote: None,
            told_apart: Vec::new(),
        }
    }
}

impl UnitState {
    /// Records a piece of evidence and where it was seen; of several
    /// places, the first in file and line order is kept.
    pub fn note_evidence(&mut self, what: Evidence, at: Place) {
        note_first(&mut self.evidence, what, at);
    }

    /// Records a call (by name) reaching the pages' contents, keeping its
    /// first place.
    pub fn note_data_access(&mut self, what: String, at: Place) {
        note_first(&mut self.data, what, at);
    }
}

/// Records `what` at `at` unless it was seen at an earlier place (file,
/// then line order).
fn note_first<K: Ord>(places: &mut BTreeMap<K, Place>, what: K, at: Place) {
    match places.get(&what) {
        Some(old) if (&old.path, old.line) <= (&at.path, at.line) => {}
        _ => {
            places.insert(what, at);
        }
    }
}

/// The struct types of the variables declared at file scope, by name:
/// what a function names without declaring it has the type its file's
/// scope gives it, else the one the headers read agree on.
pub(crate) struct Globals {
    /// Per file (`FileId`), its own.
    pub per_file: Vec<HashMap<String, String>>,
    /// The headers' (`extern` declarations).
    pub shared: HashMap<String, String>,
}

/// The state every phase reads and extends.
pub(crate) struct FlowContext<'a, 't> {
    pub engine: &'a Engine<'a>,
    pub files: &'a [ProgramFile<'t>],
    /// What is kept of each file across rounds, in the order of `files`.
    pub facts: &'a [FileFacts<'t>],
    pub globals: Globals,
    pub funcs: IdVec<FuncId, Func<'t>>,
    pub by_name: HashMap<String, Vec<FuncId>>,
    pub types: TypeIndex,
    /// What each location holds, asked millions of times a run (a map of
    /// `engine::hash`, as every hashed map of the engine; nothing that
    /// comes out depends on its order).
    pub locs: HashMap<Loc, Info>,
    /// Units whose acquire fills the array (or page) a location points to,
    /// directly or through helpers: the only values that flow back from a
    /// callee to its caller's argument, or from an alias to what it aliases.
    pub fills: HashMap<Loc, BTreeSet<UnitId>>,
    /// The functions with a parameter in `fills`: their callers' arrays
    /// are filled back, whatever else the calls pass.
    filling: HashSet<FuncId>,
    pub units: IdVec<UnitId, UnitState>,
    /// Union-find over units: pages of one unit stored into another's array
    /// make them one flow.
    pub parent: IdVec<UnitId, UnitId>,
    pub needs: Needs,
    /// The units waiting on each need.
    pub need_units: HashMap<Need, BTreeSet<UnitId>>,
    /// The tracked parameters whose callers `escapes` has asked for.
    pub callers_asked: HashSet<Loc>,
    /// Names that hold tracked values, to skip constraints that mention none.
    pub hot: Hot,
    /// (struct, function-pointer field) -> (file, function) stored in it by
    /// a file-scope initialiser (`.get_mr = rds_ib_get_mr`).
    pub ops: HashMap<(String, String), Vec<(FileId, String)>>,
    /// The bounds reached so far.
    pub limits: RefCell<BTreeSet<Limit>>,
    /// What functions and macros do with what they are given, computed
    /// when first asked (`summaries`).
    pub summaries: RefCell<summaries::Cache>,
    /// The functions whose definitions the pipeline has searched the tree
    /// for: one still undefined has none there.
    pub searched_definitions: HashSet<String>,
    /// Values from elsewhere that may turn out to be no page once a
    /// definition not read yet is read (`escapes::stores::store`): a release that
    /// sees only these waits on that reading instead of blocking.
    pub pending_origins: HashSet<Origin>,
    /// While the fixpoint evaluates a constraint: what it reads, by key.
    pub reads: RefCell<Option<Vec<ReadKey>>>,
    /// How many changes the values, fills and filling functions have seen,
    /// and the last change of each, by key: reads that share a key share
    /// the last change of either, so a constraint is at worst evaluated
    /// again when it did not need to be, never skipped when it needed to be.
    pub changes: u64,
    pub changed_at: HashMap<ReadKey, u64>,
    /// Every field expression of the functions, by field name, in function
    /// and node order: built when first asked (`field_mentions`).
    field_index: std::cell::OnceCell<FieldIndex<'t>>,
    /// The function-like macros of the files read whose body begins with a
    /// call: those that may forward to a function (`forwarded_to`).
    pub forwarding_macros: HashSet<&'t [u8]>,
    /// The files defining each function-like macro name, in file order:
    /// built when first asked (`macro_files`), so that a name no file
    /// defines costs one look-up, not a search in every file.
    macro_index: std::cell::OnceCell<MacroIndex<'t>>,
}

impl<'t> FlowContext<'_, 't> {
    /// The field expressions (`x->f`, `x.f`) of every function that name
    /// field `name`, in function and node order.
    pub fn field_mentions(&self, name: &str) -> &[(FuncId, Node<'t>)] {
        let index = self.field_index.get_or_init(|| {
            let mut index = FieldIndex::default();
            for (id, f) in self.funcs.iter_enumerated() {
                let src: &'t [u8] = self.src(id);
                for &(n, field) in &f.constraints.field_expressions {
                    index
                        .entry(&src[field.byte_range()])
                        .or_default()
                        .push((id, n));
                }
            }
            index
        });
        index.get(name.as_bytes()).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The files that define a function-like macro named `name`, in file
    /// order.
    pub fn macro_files(&self, name: &str) -> &[FileId] {
        let index = self.macro_index.get_or_init(|| {
            let mut index = MacroIndex::default();
            for (i, f) in self.files.iter().enumerate() {
                for name in f.parsed.macro_names() {
                    index.entry(name).or_default().push(FileId::from_index(i));
                }
            }
            index
        });
        index.get(name.as_bytes()).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// The files defining a function-like macro, by the macro's name.
type MacroIndex<'t> = HashMap<&'t [u8], Vec<FileId>>;

/// Every field expression of a program's functions, by field name.
type FieldIndex<'t> = HashMap<&'t [u8], Vec<(FuncId, Node<'t>)>>;

/// What holds tracked values, by name. Names are only ever added.
#[derive(Default)]
pub(crate) struct Hot {
    /// Per function, its locals and parameters that hold tracked values.
    vars: HashMap<FuncId, NameSet>,
    fields: NameSet,
    rets: NameSet,
    /// Every name above, in the order it was added.
    added: Vec<HotName>,
    /// The keys (`name_key`) of the names above, which `Mentions::hot`
    /// asks about: two names with one key only make a constraint looked at
    /// that holds nothing tracked.
    var_keys: HashMap<FuncId, KeySet>,
    field_keys: KeySet,
    ret_keys: KeySet,
}

/// A set of `name_key`s.
type KeySet = HashSet<u64>;

/// A name that holds tracked values.
pub(crate) enum HotName {
    /// A local or parameter of a function.
    Var(FuncId, String),
    /// A field, under any struct.
    Field(String),
    /// A function whose return value is tracked.
    Ret(String),
}

impl Hot {
    /// The names added since the first `seen` were, in order.
    pub fn added_since(&self, seen: usize) -> &[HotName] {
        &self.added[seen..]
    }
}

/// A set of names asked about for many constraints, so hashed with a fast
/// (not DoS-resistant) hash; its order is never read.
type NameSet = HashSet<String>;

/// The names an expression mentions: identifiers, field names and callees.
/// Each name's key (`name_key`) is kept, computed once with the function's
/// constraints, for the index each round builds of them. Only the field
/// names are kept as text: nothing asks for an identifier by its text, and
/// the identifiers are most of what a whole tree's constraints mention.
#[derive(Default)]
pub(crate) struct Mentions {
    fields: Box<[Box<str>]>,
    ident_keys: Box<[u64]>,
    field_keys: Box<[u64]>,
}

/// A name's key in the indexes of what constraints mention: two names
/// with one key only make a lookup list a constraint it did not need.
pub(crate) fn name_key(name: &str) -> u64 {
    use std::hash::BuildHasher;
    FixedState::with_seed(0).hash_one(name)
}

impl Mentions {
    pub fn of(nodes: &[Node], src: &[u8]) -> Mentions {
        let mut idents: Vec<Cow<str>> = Vec::new();
        let mut fields: Vec<Cow<str>> = Vec::new();
        for &root in nodes {
            preorder(root, |n| {
                match n.kind_str() {
                    "identifier" => idents.push(String::from_utf8_lossy(&src[n.byte_range()])),
                    "field_identifier" => {
                        fields.push(String::from_utf8_lossy(&src[n.byte_range()]))
                    }
                    _ => {}
                }
                true
            });
        }
        idents.sort();
        idents.dedup();
        fields.sort();
        fields.dedup();
        Mentions {
            ident_keys: idents.iter().map(|n| name_key(n)).collect(),
            field_keys: fields.iter().map(|n| name_key(n)).collect(),
            fields: fields.into_iter().map(|n| n.into()).collect(),
        }
    }

    /// Whether something mentioned in function `func` holds tracked values,
    /// asked by the names' keys (`Hot::var_keys`).
    pub fn hot(&self, func: FuncId, hot: &Hot) -> bool {
        let vars = hot.var_keys.get(&func);
        self.ident_keys
            .iter()
            .any(|k| vars.is_some_and(|v| v.contains(k)) || hot.ret_keys.contains(k))
            || self.field_keys.iter().any(|k| hot.field_keys.contains(k))
    }

    /// The field names mentioned, sorted.
    pub fn fields(&self) -> &[Box<str>] {
        &self.fields
    }

    /// The keys of the identifiers mentioned (`name_key`).
    pub fn ident_keys(&self) -> &[u64] {
        &self.ident_keys
    }

    /// The keys of the field names mentioned (`name_key`).
    pub fn field_keys(&self) -> &[u64] {
        &self.field_keys
    }
}

/// An expression's text, normalised to one line.
pub(crate) fn text(node: Node, src: &[u8]) -> String {
    normalized(node, src)
}

/// Appends `item` unless it is already there.
pub(crate) fn push_unique<T: PartialEq>(v: &mut Vec<T>, item: T) {
    if !v.contains(&item) {
        v.push(item);
    }
}

impl<'a, 't> FlowContext<'a, 't> {
    /// A function's parameters' and locals' types, resolved through the
    /// round's typedefs; made when first asked.
    pub fn var_types(&self, func: FuncId) -> &HashMap<String, String> {
        let f = &self.funcs[func];
        f.types
            .get_or_init(|| crate::engine::types::declared_types(&f.declared_types, &self.types))
    }

    /// Which of a function's parameters and locals are narrow, plain
    /// values or `void *`, with the round's typedefs; told when first asked.
    pub fn scalar_names(&self, func: FuncId) -> &collect::ScalarNames {
        let f = &self.funcs[func];
        f.scalars
            .get_or_init(|| collect::scalar_names(self.engine, &self.types, &f.declared_scalars))
    }

    pub fn src(&self, func: FuncId) -> &'t [u8] {
        &self.files[self.funcs[func].file.index()].parsed.original
    }

    /// Whether the definition of `func` holds `word` as a whole word,
    /// remembered with its file's facts for the rounds after
    /// (`FileFacts::mentions_word_in`).
    pub fn function_mentions_word(&self, func: FuncId, word: &str) -> bool {
        let f = &self.funcs[func];
        let facts = &self.facts[f.file.index()];
        facts.mentions_word_in(self.src(func), f.def.node.byte_range(), word)
    }

    pub fn file(&self, file: FileId) -> &'a ProgramFile<'t> {
        &self.files[file.index()]
    }

    pub fn line(&self, func: FuncId, node: Node) -> usize {
        self.file(self.funcs[func].file)
            .parsed
            .line_of(node.start_byte())
    }

    /// `path:line` of a node of a function.
    pub fn place(&self, func: FuncId, node: Node) -> String {
        self.place_at(func, node).to_string()
    }

    /// Where a node of a function is: its file, line and the function.
    pub fn place_at(&self, func: FuncId, node: Node) -> Place {
        let f = &self.funcs[func];
        Place {
            path: self.file(f.file).path.to_string(),
            line: self.line(func, node),
            function: f.name.clone(),
        }
    }

    /// The representative of a unit's flow.
    pub fn find(&mut self, u: UnitId) -> UnitId {
        let mut r = u;
        while self.parent[r] != r {
            r = self.parent[r];
        }
        self.parent[u] = r;
        r
    }

    /// Makes two units one flow.
    pub fn union(&mut self, a: UnitId, b: UnitId) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra.max(rb)] = ra.min(rb);
        }
    }

    /// Adds what `v` holds to a location; whether anything was new.
    pub fn merge(&mut self, loc: Loc, v: &Val) -> bool {
        if v.is_empty() || self.is_narrow(&loc) {
            return false;
        }
        let hot = &mut self.hot;
        match &loc {
            Loc::Var(func, name) => {
                if hot.vars.entry(*func).or_default().insert(name.clone()) {
                    hot.var_keys
                        .entry(*func)
                        .or_default()
                        .insert(name_key(name));
                    hot.added.push(HotName::Var(*func, name.clone()));
                }
            }
            Loc::Field(s, f) => {
                for spelling in self.types.spellings(s, f) {
                    if hot.fields.insert(spelling.clone()) {
                        hot.field_keys.insert(name_key(&spelling));
                        hot.added.push(HotName::Field(spelling));
                    }
                }
            }
            Loc::Ret(g) => {
                let name = &self.funcs[*g].name;
                if hot.rets.insert(name.clone()) {
                    hot.ret_keys.insert(name_key(name));
                    hot.added.push(HotName::Ret(name.clone()));
                }
            }
        }
        let changed = match self.locs.get_mut(&loc) {
            Some(info) => {
                let before = (info.arrays.len(), info.pages.len());
                info.arrays.extend(v.arrays.iter().copied());
                info.pages.extend(v.pages.iter().copied());
                before != (info.arrays.len(), info.pages.len())
            }
            None => {
                let info = Info {
                    arrays: v.arrays.clone(),
                    pages: v.pages.clone(),
                    ..Info::default()
                };
                self.locs.insert(loc.clone(), info);
                true
            }
        };
        if changed {
            self.note_change(Read::Value(&loc));
        }
        changed
    }

    /// Records, while the fixpoint evaluates a constraint, what it reads.
    pub fn note_read(&self, read: Read) {
        if let Some(log) = self.reads.borrow_mut().as_mut() {
            log.push(read_key(&read));
        }
    }

    /// Records that what `read` reads has changed.
    fn note_change(&mut self, read: Read) {
        self.changes += 1;
        self.changed_at.insert(read_key(&read), self.changes);
    }

    /// The units filling a location (`fills`), as a read.
    pub fn fills_of(&self, loc: &Loc) -> Option<&BTreeSet<UnitId>> {
        self.note_read(Read::Fills(loc));
        self.fills.get(loc)
    }

    /// Whether a parameter of `g` is in `fills`, as a read.
    pub fn is_filling(&self, g: FuncId) -> bool {
        self.note_read(Read::Filling(g));
        self.filling.contains(&g)
    }

    /// Whether a location is declared with a narrow integer type
    /// (`FlowSpec::narrow_types`): a plain variable, field or return value
    /// of 32 bits or fewer cannot hold a page, an address or a 64-bit
    /// kernel's frame number, so nothing tracked is put there.
    pub fn is_narrow(&self, loc: &Loc) -> bool {
        match loc {
            Loc::Var(func, name) => self.scalar_names(*func).narrow.contains(name),
            Loc::Field(s, f) => self.narrow_field(s, f, false),
            Loc::Ret(g) => self.funcs[*g].returns_narrow,
        }
    }

    /// Whether a field is declared with a narrow integer type, as a plain
    /// value or (`elements`) as a pointer to or an array of them.
    pub fn narrow_field(&self, strukt: &str, field: &str, elements: bool) -> bool {
        self.types
            .scalar_field(strukt, field)
            .is_some_and(|scalar| {
                scalar.elements == elements
                    && collect::is_narrow(self.engine, &self.types, &scalar.ty)
            })
    }

    /// Records that a location is filled by these units' acquires; whether
    /// anything was new.
    pub fn add_fills(&mut self, loc: Loc, units: impl IntoIterator<Item = UnitId>) -> bool {
        self.note_filling(&loc);
        // A new entry is a change even when empty: it makes the location
        // one that `fills_of` finds.
        let (changed, created) = match self.fills.get_mut(&loc) {
            Some(f) => {
                let before = f.len();
                f.extend(units);
                (f.len() != before, false)
            }
            None => {
                let f: BTreeSet<UnitId> = units.into_iter().collect();
                let changed = !f.is_empty();
                self.fills.insert(loc.clone(), f);
                (changed, true)
            }
        };
        if changed || created {
            self.note_change(Read::Fills(&loc));
        }
        changed
    }

    /// Keeps `filling` up to date with a location about to be in `fills`.
    fn note_filling(&mut self, loc: &Loc) {
        if let Loc::Var(g, name) = loc {
            if self.funcs[*g].params.contains(name) && self.filling.insert(*g) {
                self.note_change(Read::Filling(*g));
            }
        }
    }

    /// Records needs (each with whether it is local to a `.c` file) and
    /// that these units wait on them.
    pub fn ask(&mut self, wanted: Vec<(Need, bool)>, units: &BTreeSet<UnitId>) {
        for (need, local) in wanted {
            match need {
                Need::Callers(f) => self.ask_callers(f, local, units),
                Need::Field(s, f) => {
                    self.need(Need::Field(s.clone(), f.clone()), units);
                    self.needs.add_field(s, f, local);
                }
                Need::Definition(f) => self.ask_definition(f, units),
                Need::Holders(s) => {
                    self.need(Need::Holders(s.clone()), units);
                    self.needs.holders.insert(s);
                }
            }
        }
    }

    /// Records that these units wait on the definition of `function`.
    pub fn ask_definition(&mut self, function: String, units: &BTreeSet<UnitId>) {
        self.need(Need::Definition(function.clone()), units);
        self.needs.definitions.insert(function);
    }

    /// Records that these units wait on the callers of `function` (local
    /// when it is a `static` function of a `.c` file), and on the callers
    /// of every macro of the files read that forwards to it: a use of one
    /// is a call of the function.
    pub fn ask_callers(&mut self, function: String, file_local: bool, units: &BTreeSet<UnitId>) {
        for m in self.forwarders_of(&function) {
            self.need(Need::Callers(m.clone()), units);
            self.needs.add_callers(m, false);
        }
        self.need(Need::Callers(function.clone()), units);
        self.needs.add_callers(function, file_local);
    }

    /// Records that these units wait on a need.
    pub fn need(&mut self, need: Need, units: &BTreeSet<UnitId>) {
        self.need_units
            .entry(need)
            .or_default()
            .extend(units.iter().copied());
    }

    /// Whether a location holds any unit's pages or arrays.
    pub fn tracked(&self, loc: &Loc) -> bool {
        self.locs
            .get(loc)
            .is_some_and(|i| !i.arrays.is_empty() || !i.pages.is_empty())
    }

    /// Records that a bound of the analysis was reached.
    pub fn hit(&self, limit: Limit) {
        self.limits.borrow_mut().insert(limit);
    }

    /// Whether a location is a field that borrows the pages it points to
    /// (`borrowing_fields`, under any of its union spellings): stores into
    /// it are not followed.
    pub fn borrowing(&self, loc: &Loc) -> bool {
        let Loc::Field(s, f) = loc else { return false };
        let flow = &self.engine.pack.flow;
        !flow.borrowing_fields.is_empty()
            && self
                .types
                .spellings(s, f)
                .iter()
                .any(|sp| flow.is_borrowing_field(s, sp))
    }

    /// Whether any parameter of `g` holds tracked values.
    pub fn has_tracked_param(&self, g: FuncId) -> bool {
        self.funcs[g]
            .params
            .iter()
            .any(|prm| self.tracked(&Loc::Var(g, prm.clone())))
    }
}

/// Analyses a set of parsed files as one program. `facts[i]` are the facts
/// of `files[i]` kept from earlier rounds (completed here). `scanned` lists
/// what the pipeline has already searched the tree for (it only grows
/// from one call to the next with the same facts); needs outside it are
/// returned, with the flows that wait on none of them (`settled`).
///
/// The acquires of `settled` (flows an earlier round settled) seed no unit:
/// such an analysis only finds what the other flows need next, and decides
/// no unit even when they need nothing more. The caller then analyses the
/// program again with no flow left out.
pub fn analyse_program<'t>(
    engine: &Engine,
    files: &[ProgramFile<'t>],
    facts: &mut [FileFacts<'t>],
    (scanned, interest, settled): (&Needs, &Interest, &SettledFlows),
    final_round: bool,
) -> ProgramAnalysis {
    let mut out_files: Vec<FileFindings> = files
        .iter()
        .map(|f| FileFindings {
            path: f.path.to_string(),
            ..FileFindings::default()
        })
        .collect();
    let collected = collect::collect(engine, files, facts, (scanned, interest), &mut out_files);
    let mut cx = collected.context;
    let mut acquires = collected.acquires;
    if !settled.is_empty() {
        acquires.retain(|site| {
            !settled.contains(&AcquireAt {
                path: cx.file(cx.funcs[site.func].file).path.to_string(),
                at: site.matched.start,
            })
        });
    }
    let acquire_sites = collect::seed_units(&mut cx, acquires);
    let constraints = propagate::Constraints::of(&cx);
    if !cx.units.is_empty() {
        propagate::fixpoint(&mut cx, &constraints);
        escapes::collect(
            &mut cx,
            (scanned, final_round),
            &constraints,
            &collected.releases,
        );
    }
    let tied = releases::tie(
        &mut cx,
        (&constraints, scanned),
        collected.releases,
        final_round,
    );
    let ids = tied.representatives;
    let unmet = needs::settle(
        &mut cx,
        &ids,
        scanned,
        final_round,
        &collected.broken,
        &mut out_files,
    );
    if (!final_round && !unmet.is_empty()) || !settled.is_empty() {
        // Another round follows, with the files these needs bring, or the
        // program is analysed again with every flow: either decides every
        // unit again, so this analysis' decisions would be dropped unread.
        let settled = needs::settled_flows(&cx, &ids, &acquire_sites, &unmet);
        return ProgramAnalysis {
            needs: unmet,
            settled,
            ..ProgramAnalysis::default()
        };
    }
    collect::report_unparsed_regions(engine, files, &mut out_files);
    let units = super::decide::decide_all(
        &cx,
        &ids,
        acquire_sites,
        tied.sites,
        collected.rewrites,
        &mut out_files,
    );
    let precision_limits = cx
        .limits
        .borrow()
        .iter()
        .filter(|l| !l.blocks_units())
        .copied()
        .collect();
    ProgramAnalysis {
        files: out_files,
        units,
        needs: unmet,
        precision_limits,
        settled: SettledFlows::default(),
    }
}
