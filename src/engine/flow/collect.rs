//! The first phase: the program's functions (those that mention anything
//! the rules or the flow care about), their rule matches, the struct types
//! of all files, the ops tables, and the units seeded by the acquires.
//! Per-file work runs in parallel; results are joined in file order.

use super::calls::{ops_index, ops_slots, OpsSlot};
use super::ids::{FileId, FuncId, IdVec, UnitId};
use super::propagate::FunctionConstraints;
use super::values::root_of;
use super::{text, FlowContext, Func, Globals, Hot, Loc, ProgramFile, UnitState, Val};
use crate::c::defines::{MemberInArguments, MemberReach};
use crate::c::offsets::{field_offsets, FieldOffset, OffsetUse};
use crate::c::skeleton::{left_out_at, BodyCandidate};
use crate::c::syntax::{
    for_each_function, function_count, functions, preorder, shape, Call, ExprShape, FunctionDef,
};
use crate::c::NodeExt;
use crate::c::Parsed;
use crate::engine::hash::{HashMap, HashSet};
use crate::engine::matcher::{match_rule, Match};
use crate::engine::reason::{Blocker, Evidence};
use crate::engine::types::{
    declared_scalars, declared_type_names, declared_types, return_scalar, Scalar, TypeIndex,
};
use crate::engine::{Engine, FileFindings, SkippedFunction};
use crate::rule::RuleKind;
use std::cell::{OnceCell, RefCell};
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;
use tree_sitter::Node;

use super::Needs;

/// A function whose parse tree holds errors.
pub(crate) struct BrokenFunction<'t> {
    pub file: FileId,
    pub name: String,
    pub line: usize,
    pub error_line: usize,
    pub def: FunctionDef<'t>,
}

/// A rule match in a function.
pub(crate) struct MatchSite<'t> {
    pub func: FuncId,
    pub node: Node<'t>,
    pub matched: Match,
}

/// An acquire, with its unit or the reason it has none.
pub(crate) struct AcquireSite<'t> {
    pub func: FuncId,
    pub node: Node<'t>,
    pub matched: Match,
    pub unit: Option<UnitId>,
    pub reason: Option<Blocker>,
}

/// What the first phase produces.
pub(crate) struct Collected<'a, 't> {
    pub context: FlowContext<'a, 't>,
    pub acquires: Vec<MatchSite<'t>>,
    pub releases: Vec<MatchSite<'t>>,
    /// Matches of plain rewrite rules (`kind = "rewrite"`): no flow.
    pub rewrites: Vec<MatchSite<'t>>,
    pub broken: Vec<BrokenFunction<'t>>,
}

/// What one file contributes: its functions, broken functions, functions
/// too deep to analyse, and rule matches (function index within the file,
/// node, match, whether it is an acquire).
struct FilePart<'t> {
    funcs: Vec<Func<'t>>,
    broken: Vec<BrokenFunction<'t>>,
    deep: Vec<SkippedFunction>,
    matches: Vec<(usize, Node<'t>, Match, RuleKind)>,
}

/// What the walks of one file's tree give, computed once and kept across
/// analysis rounds: its struct types, its functions, and for each function
/// that has taken part in an analysis, its body's nodes and rule matches.
/// A round adds what it needs to the facts of its files; it never walks a
/// tree another round walked for the same thing.
pub struct FileFacts<'t> {
    types: TypeIndex,
    functions: Vec<FunctionFacts<'t>>,
    /// The words (`Interest::words`) the functions' `Mentioned::Words` were
    /// searched for.
    words_checked: Option<Arc<[String]>>,
    /// The identifiers outside function bodies (the names a function
    /// declarator declares left out), as the byte ranges of their text,
    /// sorted by that text and then in tree order: a name's uses are found
    /// by a binary search, and its nodes looked up again in the tree from
    /// `root` (`file_scope_uses`). Four bytes hold an offset: tree-sitter
    /// measures its trees in 32 bits.
    file_scope: Box<[(u32, u32)]>,
    /// The file's text and the root of its tree, which `file_scope` reads.
    src: &'t [u8],
    root: Node<'t>,
    /// The `.field = function` pairs of its file-scope initialisers
    /// (`calls::ops_index`).
    ops_slots: Vec<OpsSlot>,
    /// The variables its file scope declares, with their type names as
    /// written (`struct zpci_aift *aift;`): what its functions read
    /// through a global has that type, unless they declare the name too.
    globals: Vec<(String, String)>,
    /// Its function-like macros whose bodies name struct members, with
    /// those members (`escapes::aside::fields_in_macros`).
    pub(crate) macro_members: Vec<(String, Vec<MemberReach>)>,
    /// The `offsetof()` uses of its text that may reach a field
    /// (`escapes::aside::fields_reached_aside`), wherever they stand.
    pub(crate) field_offsets: Vec<FieldOffset>,
    /// The byte ranges of its text that are no code at file scope: the
    /// function bodies its kernel layout shows (`body_candidates`: a
    /// column-0 `{` to the next column-0 `}`), preprocessor lines and
    /// comments. Read once: the checks that ask run every round.
    not_file_scope_code: Vec<(usize, usize)>,
    /// The byte ranges between those and the functions, in file order:
    /// the text at file scope, made when first asked.
    file_scope_code: OnceCell<Vec<(usize, usize)>>,
    /// What that text reaches of each member in a call's arguments
    /// (`members_in_arguments`), found in one pass when first asked: the
    /// text and the ranges stay the same from round to round.
    members_in_arguments: OnceCell<BTreeMap<String, Arc<[MemberInArguments]>>>,
    /// Whether a stretch of its text (the whole file, or a function's
    /// definition), by its byte range, holds each word asked so far as a
    /// whole word (`mentions_word_in`), kept the same way.
    words_mentioned: RefCell<HashMap<(usize, usize), WordsMentioned>>,
    /// The uses outside the functions of each function-like macro searched
    /// for so far (`macro_uses_outside`), kept the same way.
    macro_uses_outside: RefCell<HashMap<String, Arc<[MacroUse]>>>,
}

/// A use of a function-like macro: its offset and its arguments' texts.
pub(crate) type MacroUse = (usize, Vec<String>);

/// One function of a file, and its body once it has been looked at.
struct FunctionFacts<'t> {
    def: FunctionDef<'t>,
    /// Boxed: most functions of a file never take part, and a body taken
    /// apart is several times the size of the rest.
    body: Option<Box<Body<'t>>>,
    /// What the function's text is known to mention of the words of
    /// `Interest`. The searched needs only grow from round to round, so
    /// neither answer is lost and the text is searched once, then only for
    /// the words that are new.
    words: Mentioned,
}

/// What a function's text mentions of the words of an `Interest`.
enum Mentioned {
    /// Not searched yet.
    Unknown,
    /// The words of `FileFacts::words_checked` it contains (as substrings).
    Words(Vec<String>),
    /// It mentioned the words of an earlier round and took part: it does
    /// in every later round too.
    Interesting,
}

/// What a function declares, as written: the same in every round.
struct Declarations {
    params: Arc<[String]>,
    locals: Arc<HashSet<String>>,
    /// (name, type name) of its parameters and locals.
    types: Arc<[(String, String)]>,
    /// (name, plain type) of its parameters and locals
    /// (`declared_scalars`), and the plain type it returns.
    scalars: Arc<[(String, Option<Scalar>)]>,
    return_scalar: Option<Scalar>,
    /// Its parameters and locals that point at pages arrays
    /// (`declared_page_array_rows`).
    page_array_rows: Arc<HashSet<String>>,
    is_static: bool,
    return_type: Option<String>,
}

impl Declarations {
    fn of(def: FunctionDef, nodes: &[Node], src: &[u8]) -> Declarations {
        let mut locals = HashSet::default();
        for &n in nodes {
            if n.kind_str() == "declaration" {
                let mut c = n.walk();
                for d in n.children_by_field_name("declarator", &mut c) {
                    if let Some(id) = crate::c::syntax::declarator_identifier(d) {
                        locals.insert(text(id, src));
                    }
                }
            }
        }
        let head = &src[def.node.start_byte()..def.body.start_byte()];
        Declarations {
            params: def.parameter_names(src).into(),
            locals: Arc::new(locals),
            types: declared_type_names(def.node, nodes, src).into(),
            scalars: declared_scalars(def.node, nodes, src).into(),
            return_scalar: return_scalar(def.node, src),
            page_array_rows: Arc::new(crate::engine::types::declared_page_array_rows(
                def.node, nodes, src,
            )),
            is_static: memchr::memmem::find(head, b"static").is_some(),
            return_type: def
                .node
                .field("type")
                .and_then(|t| crate::engine::types::type_name(t, src)),
        }
    }
}

/// A function body as the analysis takes it. `FunctionFacts` keeps it
/// boxed, so the size of its largest variant costs nothing per function
/// that never takes part.
#[allow(clippy::large_enum_variant)]
enum Body<'t> {
    /// Nested deeper than `MAX_DEPTH` levels.
    Deep,
    /// Holds a parse error, first on `error_line`.
    Broken { error_line: usize },
    /// Its nodes (comments left out), the rule matches among them and its
    /// constraints.
    Clean {
        nodes: Arc<[Node<'t>]>,
        matches: Vec<(Node<'t>, Match, RuleKind)>,
        constraints: Arc<FunctionConstraints<'t>>,
        declarations: Declarations,
    },
}

/// Whether a stretch of text holds each word asked, by word.
type WordsMentioned = HashMap<Box<str>, bool>;

impl<'t> FileFacts<'t> {
    /// A file's struct types and function list (one walk each).
    pub fn of(f: &ProgramFile<'t>) -> FileFacts<'t> {
        let mut types = TypeIndex::default();
        types.add_file(f.path, f.parsed);
        let root = f.parsed.tree.root_node();
        let mut functions = Vec::with_capacity(function_count(root));
        for_each_function(root, |def| {
            functions.push(FunctionFacts {
                def,
                body: None,
                words: Mentioned::Unknown,
            })
        });
        let src: &'t [u8] = &f.parsed.original;
        let mut file_scope: Vec<(u32, u32)> = Vec::new();
        // The names a function declarator declares, met before them in the
        // walk (a node's parent is a walk from the root in tree-sitter).
        let mut declared: HashSet<usize> = HashSet::default();
        preorder(f.parsed.tree.root_node(), |n| {
            match n.kind_str() {
                "function_definition" => return false,
                "function_declarator" => {
                    let mut cursor = n.walk();
                    declared.extend(n.children(&mut cursor).map(|c| c.id()));
                }
                "identifier" if !declared.contains(&n.id()) => {
                    file_scope.push((n.start_byte() as u32, n.end_byte() as u32));
                }
                _ => {}
            }
            true
        });
        // Stable: the uses of one name stay in tree order.
        file_scope
            .sort_by(|a, b| src[a.0 as usize..a.1 as usize].cmp(&src[b.0 as usize..b.1 as usize]));
        FileFacts {
            types,
            functions,
            words_checked: None,
            file_scope: file_scope.into(),
            src,
            root: f.parsed.tree.root_node(),
            ops_slots: ops_slots(f.parsed.tree.root_node(), src),
            globals: crate::engine::types::global_type_names(f.parsed.tree.root_node(), src),
            macro_members: f
                .parsed
                .all_macro_definitions()
                .into_iter()
                .filter_map(|def| {
                    let members = def.members();
                    (!members.is_empty()).then_some((def.name, members))
                })
                .collect(),
            field_offsets: field_offsets(src)
                .into_iter()
                .filter(|o| o.used == OffsetUse::Reaching)
                .collect(),
            not_file_scope_code: crate::c::skeleton::body_candidates(src)
                .into_iter()
                .map(|c| (c.open, c.close + 1))
                .chain(crate::c::defines::directive_ranges(src))
                .chain(crate::c::defines::comment_ranges(src))
                .collect(),
            file_scope_code: OnceCell::new(),
            members_in_arguments: OnceCell::new(),
            words_mentioned: RefCell::default(),
            macro_uses_outside: RefCell::default(),
        }
    }

    /// The facts of the same file parsed again (`Parsed::again`) with more
    /// of its bodies, `left_out_before` being what the earlier parse left
    /// out. Parsing again changes only the bodies it reads now and did not
    /// read before: everything else is kept, with the earlier tree's nodes
    /// (that tree outlives these facts), and a function whose body is read
    /// now gets its definition from the new tree and keeps what its text
    /// is known to mention. When the two trees do not list the same
    /// functions, the facts are made anew.
    pub fn renew<'n>(self, left_out_before: &[BodyCandidate], f: &ProgramFile<'n>) -> FileFacts<'n>
    where
        't: 'n,
    {
        let now = functions(f.parsed.tree.root_node());
        let same_functions = now.len() == self.functions.len()
            && now
                .iter()
                .zip(&self.functions)
                .all(|(a, b)| a.node.byte_range() == b.def.node.byte_range());
        if !same_functions {
            return FileFacts::of(f);
        }
        let mut facts: FileFacts<'n> = self;
        for (function, def) in facts.functions.iter_mut().zip(now) {
            let opens = def.body.start_byte();
            let was_left_out = left_out_at(left_out_before, opens);
            let is_left_out = left_out_at(&f.parsed.left_out, opens);
            if was_left_out && !is_left_out {
                function.def = def;
                function.body = None;
            }
        }
        facts
    }

    /// The uses of `member` reached in a call's arguments at file scope,
    /// outside the function bodies, comments and preprocessor lines
    /// (`not_file_scope_code`), found for every member in one pass when
    /// first asked (`crate::c::defines::all_members_in_arguments`).
    pub(crate) fn members_in_arguments(
        &self,
        src: &[u8],
        member: &str,
    ) -> Arc<[MemberInArguments]> {
        let all = self.members_in_arguments.get_or_init(|| {
            let gaps = self.file_scope_code(src);
            (crate::c::defines::all_members_in_arguments(src, gaps).into_iter())
                .map(|(member, found)| (member, found.into()))
                .collect()
        });
        match all.get(member) {
            Some(found) => found.clone(),
            None => Arc::from([]),
        }
    }

    /// Whether `src`, the file's text, holds `word` with no identifier
    /// character on either side (`objects::mentions_word`), remembered
    /// for the rounds after.
    pub(crate) fn mentions_word(&self, src: &[u8], word: &str) -> bool {
        self.mentions_word_in(src, 0..src.len(), word)
    }

    /// The same for the stretch `range` of the file's text `src` (a
    /// function's definition): the text of a range never changes from
    /// round to round, even when the file is parsed again.
    pub(crate) fn mentions_word_in(&self, src: &[u8], range: Range<usize>, word: &str) -> bool {
        let stretch = (range.start, range.end);
        let known = self
            .words_mentioned
            .borrow()
            .get(&stretch)
            .and_then(|w| w.get(word).copied());
        if let Some(found) = known {
            return found;
        }
        let found = super::objects::mentions_word(&src[range], word.as_bytes());
        let mut mentioned = self.words_mentioned.borrow_mut();
        (mentioned.entry(stretch).or_default()).insert(word.into(), found);
        found
    }

    /// The byte ranges of the text at file scope, in file order: what lies
    /// outside `not_file_scope_code` and the function definitions the tree
    /// makes out. Made when first asked.
    fn file_scope_code(&self, src: &[u8]) -> &[(usize, usize)] {
        self.file_scope_code.get_or_init(|| {
            let mut skip = self.function_ranges();
            skip.extend(self.not_file_scope_code.iter().copied());
            skip.sort_unstable();
            let mut gaps: Vec<(usize, usize)> = Vec::with_capacity(skip.len() + 1);
            let mut from = 0;
            for (start, end) in skip {
                if start > from {
                    gaps.push((from, start));
                }
                from = from.max(end);
            }
            if from < src.len() {
                gaps.push((from, src.len()));
            }
            gaps
        })
    }

    /// The uses of the function-like macro `name` outside the functions
    /// the tree makes out (`crate::c::defines::uses_outside`), searched once
    /// per name.
    pub(crate) fn macro_uses_outside(&self, src: &[u8], name: &str) -> Arc<[MacroUse]> {
        if let Some(found) = self.macro_uses_outside.borrow().get(name) {
            return found.clone();
        }
        let found: Arc<[MacroUse]> =
            crate::c::defines::uses_outside(src, name, &self.function_ranges()).into();
        (self.macro_uses_outside.borrow_mut()).insert(name.to_string(), found.clone());
        found
    }

    /// The byte ranges of the file's function definitions, in file order.
    pub(crate) fn function_ranges(&self) -> Vec<(usize, usize)> {
        let mut out: Vec<(usize, usize)> = (self.functions.iter())
            .map(|f| (f.def.node.start_byte(), f.def.node.end_byte()))
            .collect();
        out.sort_unstable();
        out
    }

    /// Whether the file defines a struct (with its body).
    pub(crate) fn defines_struct(&self, strukt: &str) -> bool {
        self.types.is_defined(strukt)
    }

    /// The identifiers named `name` outside function bodies, in tree order,
    /// except in function declarators.
    pub(crate) fn file_scope_uses(&self, name: &str) -> Vec<Node<'t>> {
        let text = |&(start, end): &(u32, u32)| &self.src[start as usize..end as usize];
        let from = self
            .file_scope
            .partition_point(|r| text(r) < name.as_bytes());
        let uses = self.file_scope[from..]
            .iter()
            .take_while(|r| text(r) == name.as_bytes());
        uses.filter_map(|&(start, end)| identifier_at(self.root, start as usize, end as usize))
            .collect()
    }

    /// The identifiers named one of `names` (sorted, without repeats)
    /// outside function bodies, as `(index in names, node)`, by name and
    /// then in tree order: `file_scope_uses` of each name, found in one
    /// walk of both sorted lists.
    pub(crate) fn file_scope_uses_of(&self, names: &[&str]) -> Vec<(usize, Node<'t>)> {
        let text = |&(start, end): &(u32, u32)| &self.src[start as usize..end as usize];
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while let (Some(name), Some(range)) = (names.get(i), self.file_scope.get(j)) {
            match text(range).cmp(name.as_bytes()) {
                std::cmp::Ordering::Less => j += 1,
                std::cmp::Ordering::Greater => i += 1,
                std::cmp::Ordering::Equal => {
                    let (start, end) = (range.0 as usize, range.1 as usize);
                    if let Some(n) = identifier_at(self.root, start, end) {
                        out.push((i, n));
                    }
                    j += 1;
                }
            }
        }
        out
    }
}

/// The identifier spanning `start..end` under `root`: the smallest node
/// there, since an identifier is a leaf.
fn identifier_at(root: Node, start: usize, end: usize) -> Option<Node> {
    let node = root.descendant_for_byte_range(start, end)?;
    (node.kind_str() == "identifier" && node.byte_range() == (start..end)).then_some(node)
}

/// Builds the context: types, functions, matches and ops tables, from the
/// facts of each file (`facts[i]` of `files[i]`), which it completes.
pub(crate) fn collect<'a, 't>(
    engine: &'a Engine<'a>,
    files: &'a [ProgramFile<'t>],
    facts: &'a mut [FileFacts<'t>],
    (scanned, interest): (&Needs, &Interest),
    out_files: &mut [FileFindings],
) -> Collected<'a, 't> {
    use rayon::prelude::*;
    debug_assert_eq!(interest.words, Interest::new(engine, scanned).words);
    let mut types = TypeIndex::default();
    for f in facts.iter() {
        types.merge(f.types.clone());
    }
    // The words new since each list the files were last searched for
    // (usually one list: the previous round's).
    let mut since: Vec<(Arc<[String]>, Option<NewWords>)> = Vec::new();
    for f in facts.iter() {
        if let Some(w) = &f.words_checked {
            if !since.iter().any(|(old, _)| Arc::ptr_eq(old, w)) {
                since.push((w.clone(), NewWords::since(w, &interest.words)));
            }
        }
    }
    let parts: Vec<FilePart> = files
        .par_iter()
        .zip(facts.par_iter_mut())
        .enumerate()
        .map(|(i, (f, facts))| {
            let new_words = facts.words_checked.as_ref().and_then(|w| {
                since
                    .iter()
                    .find(|(old, _)| Arc::ptr_eq(old, w))
                    .and_then(|(_, n)| n.as_ref())
            });
            let part = prepare_file(
                engine,
                interest,
                new_words,
                &types,
                FileId::from_index(i),
                f,
                facts,
            );
            facts.words_checked = Some(interest.words.clone());
            part
        })
        .collect();
    let mut funcs: IdVec<FuncId, Func> = IdVec::default();
    let mut broken = Vec::new();
    let mut acquires = Vec::new();
    let mut releases = Vec::new();
    let mut rewrites = Vec::new();
    for (i, part) in parts.into_iter().enumerate() {
        let base = funcs.len();
        for f in part.funcs {
            funcs.push(f);
        }
        broken.extend(part.broken);
        out_files[i].skipped.extend(part.deep);
        for (local, node, matched, kind) in part.matches {
            let site = MatchSite {
                func: FuncId::from_index(base + local),
                node,
                matched,
            };
            match kind {
                RuleKind::Acquire => acquires.push(site),
                RuleKind::Release => releases.push(site),
                RuleKind::Rewrite => rewrites.push(site),
                RuleKind::Flow => {}
            }
        }
    }
    let mut by_name: HashMap<String, Vec<FuncId>> = HashMap::default();
    for (id, f) in funcs.iter_enumerated() {
        by_name.entry(f.name.clone()).or_default().push(id);
    }
    let ops = ops_index(
        (facts.iter().enumerate()).map(|(i, f)| (FileId::from_index(i), f.ops_slots.as_slice())),
        &types,
    );
    let globals = globals(files, facts, &types);
    let context = FlowContext {
        engine,
        files,
        facts,
        globals,
        funcs,
        by_name,
        types,
        locs: HashMap::default(),
        fills: HashMap::default(),
        filling: HashSet::default(),
        units: IdVec::default(),
        parent: IdVec::default(),
        needs: Needs::default(),
        need_units: HashMap::default(),
        callers_asked: HashSet::default(),
        hot: Hot::default(),
        ops,
        limits: Default::default(),
        summaries: Default::default(),
        searched_definitions: scanned.definitions.iter().cloned().collect(),
        pending_origins: HashSet::default(),
        reads: Default::default(),
        changes: 0,
        changed_at: HashMap::default(),
        field_index: Default::default(),
        macro_index: Default::default(),
        forwarding_macros: files
            .iter()
            .flat_map(|f| f.parsed.forwarding_macro_names())
            .collect(),
    };
    let with_acquire: HashSet<FuncId> = acquires.iter().map(|a| a.func).collect();
    for func in with_acquire {
        out_files[context.funcs[func].file.index()].functions_analysed += 1;
    }
    Collected {
        context,
        acquires,
        releases,
        rewrites,
        broken,
    }
}

/// Whether a plain type (typedefs resolved) is one of the vocabulary's
/// `narrow_types`.
pub(crate) fn is_narrow(engine: &Engine, types: &TypeIndex, scalar: &str) -> bool {
    let narrow = &engine.pack.flow.narrow_types;
    narrow.contains(scalar) || narrow.contains(&types.resolve(scalar))
}

/// The names every declaration of which is of a narrow type; those every
/// declaration of which points to or holds values of one; those every
/// declaration of which is of a plain integer value, of any width; and
/// those every declaration of which is a `void *`.
pub(crate) fn scalar_names(
    engine: &Engine,
    types: &TypeIndex,
    scalars: &[(String, Option<Scalar>)],
) -> ScalarNames {
    let mut seen: HashMap<&str, [bool; 4]> = HashMap::default();
    for (name, scalar) in scalars {
        let narrow = scalar.as_ref().filter(|s| is_narrow(engine, types, &s.ty));
        let kinds = seen.entry(name.as_str()).or_insert([true; 4]);
        kinds[0] &= narrow.is_some_and(|s| !s.elements);
        kinds[1] &= narrow.is_some_and(|s| s.elements);
        kinds[2] &= scalar.as_ref().is_some_and(|s| !s.elements);
        kinds[3] &= scalar
            .as_ref()
            .is_some_and(|s| s.elements && s.ty == "void");
    }
    let mut out = ScalarNames::default();
    for (name, [narrow, elements, plain, void_pointer]) in seen {
        for (kind, set) in [
            (narrow, &mut out.narrow),
            (elements, &mut out.narrow_elements),
            (plain, &mut out.plain_values),
            (void_pointer, &mut out.void_pointers),
        ] {
            if kind {
                set.insert(name.to_string());
            }
        }
    }
    out
}

/// What `scalar_names` finds of a function's parameters and locals
/// (`FlowContext::scalar_names`).
#[derive(Default)]
pub(crate) struct ScalarNames {
    /// Declared only with a narrow type (`FlowSpec::narrow_types`): they
    /// hold no page and no identity.
    pub narrow: HashSet<String>,
    /// Declared only as pointers to or arrays of a narrow type (`u32
    /// *addrs`): their elements hold no page.
    pub narrow_elements: HashSet<String>,
    /// Declared only as plain integer values, of any width (`u64 req`): no
    /// address is held in one.
    pub plain_values: HashSet<String>,
    /// Declared only as `void *`: what one holds has no struct type, so a
    /// struct pointer stored in one may be read back as another struct's
    /// (`escapes::aside::fields_reached_aside`).
    pub void_pointers: HashSet<String>,
}

/// The struct types of the variables declared at file scope: per file,
/// its own (`struct zpci_aift *aift;`), and those the headers read declare
/// (`extern struct zpci_aipb *zpci_aipb;`) where every header that
/// declares the name agrees.
fn globals(files: &[ProgramFile], facts: &[FileFacts], types: &TypeIndex) -> Globals {
    let per_file = facts
        .iter()
        .map(|f| declared_types(&f.globals, types))
        .collect();
    let shared = declared_types(&shared_globals(files, facts), types);
    Globals { per_file, shared }
}

/// The variables the headers read declare, with their type names, by
/// name: those every header that declares the name agrees on.
fn shared_globals(files: &[ProgramFile], facts: &[FileFacts]) -> Vec<(String, String)> {
    let mut by_name: std::collections::BTreeMap<&str, Option<&str>> = Default::default();
    for (f, facts) in files.iter().zip(facts) {
        if !f.path.ends_with(".h") {
            continue;
        }
        for (name, ty) in &facts.globals {
            by_name
                .entry(name)
                .and_modify(|t| {
                    if *t != Some(ty.as_str()) {
                        *t = None;
                    }
                })
                .or_insert(Some(ty));
        }
    }
    by_name
        .into_iter()
        .filter_map(|(name, ty)| Some((name.to_string(), ty?.to_string())))
        .collect()
}

/// The functions of one file that take part, and their rule matches.
fn prepare_file<'t>(
    engine: &Engine,
    interest: &Interest,
    new_words: Option<&NewWords>,
    types: &TypeIndex,
    file: FileId,
    f: &ProgramFile<'t>,
    facts: &mut FileFacts<'t>,
) -> FilePart<'t> {
    let language = tree_sitter::Language::from(tree_sitter_c::LANGUAGE);
    let comment_id = language.id_for_node_kind("comment", true);
    let mut part = FilePart {
        funcs: Vec::new(),
        broken: Vec::new(),
        deep: Vec::new(),
        matches: Vec::new(),
    };
    let src: &[u8] = &f.parsed.original;
    for function_facts in facts.functions.iter_mut() {
        let def = function_facts.def;
        // A function that names nothing the rules or the flow care about can
        // neither receive nor pass on acquired pages.
        let text = &src[def.node.byte_range()];
        let words = &mut function_facts.words;
        match (&mut *words, new_words) {
            (Mentioned::Interesting, _) => {}
            (Mentioned::Words(seen), Some(new_words)) => new_words.add_to(seen, text),
            _ => *words = Mentioned::Words(interest.words_in(text)),
        }
        if let Mentioned::Words(seen) = words {
            if !interest.mentioned_in(seen) {
                continue;
            }
        }
        let name = def.name(src);
        // The vocabulary's own definitions (mm/gup.c) are described by the
        // rules, never analysed.
        if engine.is_vocabulary(&name) {
            continue;
        }
        // A function that names a field of interest but none of the structs
        // it belongs to cannot reach that field.
        if let Mentioned::Words(seen) = words {
            if !interest.fields_ok(seen) {
                continue;
            }
            *words = Mentioned::Interesting;
        }
        // The pipeline parses again every file whose parse left out the
        // body of a function that may take part (`Interest::may_take_part`).
        debug_assert!(
            !left_out_at(&f.parsed.left_out, def.body.start_byte()),
            "{}: {name}() takes part but its body was left out of the parse",
            f.path
        );
        let body = function_facts.body.get_or_insert_with(|| {
            // One walk collects the body's nodes and measures its depth.
            Box::new(match body_nodes(def.node, def.body, comment_id) {
                None => Body::Deep,
                Some(_) if def.has_error() => Body::Broken {
                    error_line: first_error_line(def.node, f.parsed),
                },
                Some(nodes) => {
                    let matches = match_rules(engine, &nodes, src);
                    let constraints = Arc::new(FunctionConstraints::of(engine, &nodes, src));
                    let declarations = Declarations::of(def, &nodes, src);
                    Body::Clean {
                        nodes: nodes.into(),
                        matches,
                        constraints,
                        declarations,
                    }
                }
            })
        });
        match &mut **body {
            Body::Deep => part.deep.push(SkippedFunction {
                function: name,
                line: f.parsed.line_of(def.node.start_byte()),
                reason: format!("nested deeper than {} levels", crate::c::syntax::MAX_DEPTH),
            }),
            Body::Broken { error_line } => part.broken.push(BrokenFunction {
                file,
                name,
                line: f.parsed.line_of(def.node.start_byte()),
                error_line: *error_line,
                def,
            }),
            Body::Clean {
                nodes,
                matches,
                constraints,
                declarations,
            } => {
                let local_index = part.funcs.len();
                for (node, matched, kind) in matches.iter() {
                    part.matches
                        .push((local_index, *node, matched.clone(), *kind));
                }
                part.funcs.push(Func {
                    file,
                    file_local: declarations.is_static && f.path.ends_with(".c"),
                    name,
                    def,
                    is_static: declarations.is_static,
                    nodes: nodes.clone(),
                    constraints: constraints.clone(),
                    params: declarations.params.clone(),
                    locals: declarations.locals.clone(),
                    declared_types: declarations.types.clone(),
                    types: std::cell::OnceCell::new(),
                    return_type: declarations.return_type.clone(),
                    declared_scalars: declarations.scalars.clone(),
                    scalars: std::cell::OnceCell::new(),
                    page_array_rows: declarations.page_array_rows.clone(),
                    returns_narrow: declarations
                        .return_scalar
                        .as_ref()
                        .is_some_and(|s| is_narrow(engine, types, &s.ty)),
                });
            }
        }
    }
    part
}

/// The rule matches among a function's nodes.
fn match_rules<'t>(
    engine: &Engine,
    nodes: &[Node<'t>],
    src: &[u8],
) -> Vec<(Node<'t>, Match, RuleKind)> {
    let mut out = Vec::new();
    let call_id = tree_sitter::Language::from(tree_sitter_c::LANGUAGE)
        .id_for_node_kind("call_expression", true);
    for &n in nodes {
        let mut try_rule = |ri: usize| {
            let rule = &engine.pack.rules[ri];
            if let Some(m) = match_rule(ri, rule, n, src) {
                if rule.kind != RuleKind::Flow {
                    out.push((n, m, rule.kind));
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
    out
}

/// Seeds a unit per acquired location (acquires filling one location share
/// it) and records each acquire site with its unit or the reason it has none.
pub(crate) fn seed_units<'t>(
    cx: &mut FlowContext<'_, 't>,
    acquires: Vec<MatchSite<'t>>,
) -> Vec<AcquireSite<'t>> {
    let engine = cx.engine;
    let mut sites = Vec::new();
    let mut root_units: HashMap<Loc, UnitId> = HashMap::default();
    for MatchSite {
        func,
        node,
        matched,
    } in acquires
    {
        let rule = &engine.pack.rules[matched.rule];
        let role = rule
            .acquire
            .as_ref()
            .expect("acquire rules have an [acquire] table");
        let src = cx.src(func);
        let pages_node = matched.binding_node(node, &role.pages);
        let mut site = AcquireSite {
            func,
            node,
            matched: matched.clone(),
            unit: None,
            reason: None,
        };
        let Some(pages_node) = pages_node else {
            site.reason = Some(Blocker::NoPagesArgument);
            sites.push(site);
            continue;
        };
        if matches!(shape(pages_node, src), ExprShape::Null) {
            site.reason = Some(Blocker::NullPages);
            sites.push(site);
            continue;
        }
        let Some((loc, is_array)) = root_of(cx, func, pages_node) else {
            site.reason = Some(Blocker::PagesNotLocation {
                pages: text(pages_node, src),
            });
            sites.push(site);
            continue;
        };
        let unit = match root_units.get(&loc) {
            Some(&u) => u,
            None => {
                let u = new_unit(cx, func, node, pages_node, role.family, &loc, is_array);
                root_units.insert(loc, u);
                u
            }
        };
        let state = &mut cx.units[unit];
        if state.family != role.family {
            state.blockers.push(Blocker::MixedFamilyArray);
        }
        if let Some(flags) = role.flags.as_ref().and_then(|f| matched.binding(f)) {
            if flags.text.contains("FOLL_GET") {
                let line = cx.line(func, node);
                cx.units[unit].blockers.push(Blocker::FollGet { line });
            }
            cx.units[unit].flags.push(flags.text.clone());
        }
        cx.units[unit]
            .flags
            .extend(role.implied_flags.iter().cloned());
        if let Some(mm) = role.mm.as_ref().and_then(|m| matched.binding(m)) {
            if mm.text.replace(' ', "") != "current->mm" {
                cx.units[unit].remote = Some(mm.text.clone());
            }
        }
        if let Some(why) = role.manual.get(&engine.target) {
            cx.units[unit]
                .blockers
                .push(Blocker::RuleManual { why: why.clone() });
        }
        for call in role.requires.get(&engine.target).into_iter().flatten() {
            if !engine.tree_declares(call) {
                cx.units[unit]
                    .blockers
                    .push(Blocker::MissingApi { call: call.clone() });
            }
        }
        cx.units[unit].rules.insert(rule.id.clone());
        cx.units[unit].acquires.push((func, matched));
        site.unit = Some(unit);
        sites.push(site);
    }
    sites
}

/// A new unit whose pages (or array of pages) live at `loc`.
fn new_unit(
    cx: &mut FlowContext,
    func: FuncId,
    node: Node,
    pages_node: Node,
    family: crate::rule::AcquireFamily,
    loc: &Loc,
    is_array: bool,
) -> UnitId {
    let src = cx.src(func);
    let state = UnitState {
        file: cx.funcs[func].file,
        func,
        line: cx.line(func, node),
        pages_text: text(pages_node, src),
        family,
        ..UnitState::default()
    };
    let u = cx.units.push(state);
    cx.parent.push(u);
    let v = if is_array {
        Val::arrays([u].into())
    } else {
        Val::pages([u].into())
    };
    cx.merge(loc.clone(), &v);
    cx.add_fills(loc.clone(), [u]);
    if let Loc::Field(s, f) = loc {
        let at = cx.place_at(func, node);
        cx.units[u].note_evidence(Evidence::StoredIn(format!("{s}::{f}")), at);
    }
    u
}

/// The words that decide whether a function takes part in the analysis,
/// compiled once per analysis. The pipeline asks the same question of the
/// function bodies a skeleton parse may leave out (`may_take_part`).
pub struct Interest {
    /// The vocabulary of the rules, the functions and fields already
    /// searched for, and the structs of the fields, sorted: what a
    /// function's text is searched for.
    words: Arc<[String]>,
    /// All of `words`, to learn in one pass which of them a text mentions.
    automaton: aho_corasick::AhoCorasick,
    /// Per word: whether a function must mention it or another such word
    /// (it is not only a struct name).
    any: Vec<bool>,
    /// Per word: whether mentioning it is enough (it is not only a field or
    /// struct name).
    direct: Vec<bool>,
    /// Per word: the words that, mentioned with it, make a (struct, field)
    /// pair.
    partners: Vec<Vec<usize>>,
}

impl Interest {
    /// The words of an analysis that has searched the tree for `scanned`.
    pub fn new(engine: &Engine, scanned: &Needs) -> Interest {
        let mut direct_words: Vec<String> = engine.acquire_names().to_vec();
        direct_words.extend(engine.pack.release_identifiers());
        direct_words.extend(engine.pack.rewrite_identifiers());
        direct_words.extend(scanned.definitions.iter().cloned());
        direct_words.extend(scanned.callers.iter().cloned());
        direct_words.extend(scanned.local_callers.iter().cloned());
        let pairs: Vec<&(String, String)> =
            scanned.fields.iter().chain(&scanned.local_fields).collect();
        let mut any_words = direct_words.clone();
        any_words.extend(pairs.iter().map(|(_, f)| f.clone()));
        let mut words = any_words.clone();
        words.extend(pairs.iter().map(|(s, _)| s.clone()));
        words.sort();
        words.dedup();
        let index = |w: &str| {
            words
                .binary_search_by(|x| x.as_str().cmp(w))
                .expect("listed")
        };
        let mut any = vec![false; words.len()];
        for w in &any_words {
            any[index(w)] = true;
        }
        let mut direct = vec![false; words.len()];
        for w in &direct_words {
            direct[index(w)] = true;
        }
        let mut partners = vec![Vec::new(); words.len()];
        for (s, f) in &pairs {
            let (s, f) = (index(s), index(f));
            partners[s].push(f);
            partners[f].push(s);
        }
        Interest {
            automaton: word_automaton(&words),
            words: words.into(),
            any,
            direct,
            partners,
        }
    }

    /// The indices of the words a text contains, sorted.
    fn present_in(&self, text: &[u8]) -> Vec<usize> {
        let mut present: Vec<usize> = self
            .automaton
            .find_overlapping_iter(text)
            .map(|m| m.pattern().as_usize())
            .collect();
        present.sort_unstable();
        present.dedup();
        present
    }

    /// The words a text contains, sorted.
    fn words_in(&self, text: &[u8]) -> Vec<String> {
        self.present_in(text)
            .into_iter()
            .map(|p| self.words[p].clone())
            .collect()
    }

    /// Whether a function whose text is `text`, or lies inside `text`, may
    /// take part: a function takes part only if its text mentions a word
    /// (`mentioned_in`) and the struct of any field it mentions only by
    /// name (`fields_ok`), and both only gain answers as a text grows.
    pub fn may_take_part(&self, text: &[u8]) -> bool {
        let present = self.present_in(text);
        self.any_mentioned(&present) && self.fields_with_structs(&present)
    }

    /// The words whose part in `may_take_part` is not the part they had in
    /// `earlier` (new words, and words that gained a role or a partner):
    /// a text that holds none of them may take part under both or neither.
    pub fn gained_since(&self, earlier: &Interest) -> GainedWords {
        fn role(interest: &Interest, p: usize) -> (bool, bool, Vec<&str>) {
            let mut partners: Vec<&str> = interest.partners[p]
                .iter()
                .map(|&q| interest.words[q].as_str())
                .collect();
            partners.sort_unstable();
            (interest.any[p], interest.direct[p], partners)
        }
        let gained: Vec<&str> = (0..self.words.len())
            .filter(|&p| {
                let before = earlier
                    .words
                    .binary_search_by(|x| x.as_str().cmp(&self.words[p]))
                    .ok();
                before.is_none_or(|q| role(earlier, q) != role(self, p))
            })
            .map(|p| self.words[p].as_str())
            .collect();
        GainedWords {
            automaton: (!gained.is_empty()).then(|| word_automaton(&gained)),
        }
    }

    /// The indices in `words` of words a text contains.
    fn indices<'s>(&'s self, seen: &'s [String]) -> impl Iterator<Item = usize> + 's {
        seen.iter().filter_map(|w| {
            self.words
                .binary_search_by(|x| x.as_str().cmp(w.as_str()))
                .ok()
        })
    }

    /// Whether a function that contains `seen` mentions one of the words.
    fn mentioned_in(&self, seen: &[String]) -> bool {
        self.any_mentioned(&self.indices(seen).collect::<Vec<_>>())
    }

    /// Whether a function that contains `seen`, and mentions the words only
    /// through field names, also names one of those fields' structs
    /// (anywhere in its text).
    fn fields_ok(&self, seen: &[String]) -> bool {
        self.fields_with_structs(&self.indices(seen).collect::<Vec<_>>())
    }

    /// `mentioned_in`, for the sorted indices of the words present.
    fn any_mentioned(&self, present: &[usize]) -> bool {
        present.iter().any(|&p| self.any[p])
    }

    /// `fields_ok`, for the sorted indices of the words present.
    fn fields_with_structs(&self, present: &[usize]) -> bool {
        present.iter().any(|&p| {
            self.direct[p]
                || self.partners[p]
                    .iter()
                    .any(|q| present.binary_search(q).is_ok())
        })
    }
}

/// The words of an `Interest` whose part differs from an earlier one's
/// (`Interest::gained_since`).
pub struct GainedWords {
    automaton: Option<aho_corasick::AhoCorasick>,
}

impl GainedWords {
    /// Whether `text` holds one of the words.
    pub fn in_text(&self, text: &[u8]) -> bool {
        self.automaton.as_ref().is_some_and(|a| a.is_match(text))
    }
}

/// How many words an automaton of `word_automaton` is built as a DFA for;
/// above it the crate picks. A DFA grows with the words' bytes times the
/// byte classes: a whole Linux tree's rounds search for at most about 500
/// words (8 KB), while a generated file may name tens of thousands.
const DFA_WORDS: usize = 2_000;

/// An automaton finding every occurrence of the words (overlapping). It is
/// built once a round and searches every function text read, which a DFA
/// does faster than the default; when the words are too many for one, or
/// building it fails, the crate's own choice is built. The DFA reads every
/// byte once, without the crate's prefilter: the words' rarest bytes are
/// common in kernel code, so the prefilter stopped at nearly every
/// identifier (a run on the 52 files that call `get_user_pages*()`
/// executes 11 % fewer instructions without it).
fn word_automaton<W: AsRef<[u8]>>(words: &[W]) -> aho_corasick::AhoCorasick {
    let dfa = (words.len() <= DFA_WORDS).then(|| {
        aho_corasick::AhoCorasick::builder()
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .prefilter(false)
            .build(words)
    });
    match dfa {
        Some(Ok(automaton)) => automaton,
        _ => aho_corasick::AhoCorasick::new(words).expect("identifiers are plain words"),
    }
}

/// The words of an `Interest` that an earlier list of words lacks, to
/// search a text already searched for that list for those only.
struct NewWords {
    words: Vec<String>,
    automaton: Option<aho_corasick::AhoCorasick>,
}

impl NewWords {
    /// The words of `now` not in `before`; `None` when `before` has words
    /// `now` lacks (what was learnt against it may not hold then).
    fn since(before: &[String], now: &[String]) -> Option<NewWords> {
        let mut words = Vec::new();
        let mut old = before.iter().peekable();
        for w in now {
            match old.peek() {
                Some(o) if *o == w => {
                    old.next();
                }
                Some(o) if o.as_str() < w.as_str() => return None,
                _ => words.push(w.clone()),
            }
        }
        if old.next().is_some() {
            return None;
        }
        let automaton = (!words.is_empty()).then(|| word_automaton(&words));
        Some(NewWords { words, automaton })
    }

    /// Adds the new words a text contains to what it was known to contain.
    fn add_to(&self, seen: &mut Vec<String>, text: &[u8]) {
        let Some(automaton) = &self.automaton else {
            return;
        };
        let before = seen.len();
        for m in automaton.find_overlapping_iter(text) {
            let w = &self.words[m.pattern().as_usize()];
            if !seen[before..].contains(w) {
                seen.push(w.clone());
            }
        }
        seen.sort();
    }
}

/// The named nodes of a function body (comments left out: punctuation,
/// operators and keywords are read through their parents), or `None` when
/// the function is nested deeper than `MAX_DEPTH` levels. Iterative.
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
        if n.is_named() && n.kind_id() != comment_id {
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

/// The line of the first error or missing node under `node`.
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
pub(crate) fn report_unparsed_regions(
    engine: &Engine,
    files: &[ProgramFile],
    out: &mut [FileFindings],
) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::AcquirePolicy;
    use crate::rule::{RulePack, Target};

    /// The needs of an analysis that followed `helpers` and the field
    /// `holder::slots`.
    fn needs(helpers: &[&str], fields: &[(&str, &str)]) -> Needs {
        let mut needs = Needs::default();
        needs.callers.extend(helpers.iter().map(|h| h.to_string()));
        needs
            .fields
            .extend(fields.iter().map(|(s, f)| (s.to_string(), f.to_string())));
        needs
    }

    #[test]
    fn the_uses_of_several_names_are_each_names_uses_in_one_walk() {
        let src = b"static const struct ops o = { .put = give_back, .get = take, };\n\
int take(struct page *p) { return give_back(p); }\n\
static void *slots[] = { take, give_back, NULL };\n\
EXPORT_SYMBOL(give_back);\n";
        let parsed = crate::c::parse(src).unwrap();
        let facts = FileFacts::of(&ProgramFile {
            path: "f.c",
            parsed: &parsed,
        });
        let names = ["NULL", "absent", "give_back", "take", "zzz"];
        let mut each = Vec::new();
        for (i, name) in names.iter().enumerate() {
            each.extend(facts.file_scope_uses(name).into_iter().map(|n| (i, n)));
        }
        let together = facts.file_scope_uses_of(&names);
        assert_eq!(together, each);
        // The uses inside the function body are not at file scope, nor is
        // `NULL` an identifier to the grammar.
        let lines: Vec<(usize, usize)> = (together.iter())
            .map(|&(i, n)| (i, parsed.line_of(n.start_byte())))
            .collect();
        assert_eq!(lines, [(2, 1), (2, 3), (2, 4), (3, 1), (3, 3)]);
    }

    #[test]
    fn a_body_may_take_part_by_a_word_or_a_field_with_its_struct() {
        let pack = RulePack::builtin().unwrap();
        let engine = Engine::new(&pack, Target::Unpin, AcquirePolicy::Evidence);
        let first = Interest::new(&engine, &Needs::default());
        let later = Interest::new(&engine, &needs(&["give_back"], &[("holder", "slots")]));
        let may = |i: &Interest, t: &str| i.may_take_part(t.as_bytes());
        // The vocabulary makes a body take part from the first round.
        assert!(may(&first, "void f(void)\n{\n\tput_page(p);\n}"));
        assert!(!may(
            &first,
            "void f(struct holder *h)\n{\n\th->slots[0] = 0;\n}"
        ));
        // A followed helper, and a followed field named with its struct.
        assert!(may(&later, "void f(void)\n{\n\tgive_back(x);\n}"));
        assert!(may(
            &later,
            "void f(struct holder *h)\n{\n\th->slots[0] = 0;\n}"
        ));
        assert!(!may(
            &later,
            "void f(struct other *o)\n{\n\to->slots[0] = 0;\n}"
        ));
        // What the later round gained: its new words, and the words that
        // gained a partner; a text with none of them answers as before.
        let gained = later.gained_since(&first);
        assert!(gained.in_text(b"give_back"));
        assert!(gained.in_text(b"slots"));
        assert!(gained.in_text(b"holder"));
        assert!(!gained.in_text(b"put_page(p)"));
        assert!(!later
            .gained_since(&later)
            .in_text(b"give_back slots holder"));
    }

    #[test]
    fn a_word_automaton_finds_every_occurrence_however_it_is_built() {
        // Overlapping words, as a DFA and, past `DFA_WORDS`, as the crate
        // builds it: the same occurrences either way.
        let found = |automaton: &aho_corasick::AhoCorasick, text: &str| {
            let mut found: Vec<usize> = automaton
                .find_overlapping_iter(text)
                .map(|m| m.pattern().as_usize())
                .collect();
            found.sort_unstable();
            found.dedup();
            found
        };
        let text = "put_page(pages[i]); unpin_user_page(page);";
        let few = ["page", "put_page", "pages", "user"];
        assert_eq!(found(&word_automaton(&few), text), vec![0, 1, 2, 3]);
        let mut many: Vec<String> = (0..=DFA_WORDS).map(|i| format!("w{i}x")).collect();
        many.extend(few.iter().map(|w| w.to_string()));
        let n = many.len();
        assert_eq!(
            found(&word_automaton(&many), text),
            vec![n - 4, n - 3, n - 2, n - 1]
        );
    }
}
