//! Tracked fields reached where no assignment or call the fixpoint reads
//! shows it: in the bodies and uses of function-like macros, in the
//! arguments of macros used at file scope, through an expression of a type
//! the analysis cannot tell, through a field's offset, or through a cast or
//! copy of the struct as another struct's. Each makes the field's units
//! escape.

use super::*;
use crate::engine::flow::propagate::StructView;
use crate::engine::flow::Mentions;
use std::rc::Rc;

/// Function-like macros whose bodies name a struct field that holds pages
/// (`#define buf_page(b, i) ((b)->pages[i])`, or `PUT_ALL(b)` whose body
/// releases `(b)->pages[i]`): the macro pass does not expand them, so what
/// such a body does with the pages is not followed, and a release in it
/// would stay while the rest of the flow converts. A use of one in a
/// function the analysis reads makes the field's units escape. The field
/// is the one of the argument's struct when the body reaches it from that
/// parameter and the argument's type is known; else, as for any code that
/// reaches a field (`read_for_needs`, `collect::Interest`), a field whose
/// struct both the macro's file and the using function name. The
/// vocabulary's element fields (`bv_page`) are its containers' business.
pub(super) fn fields_in_macros(cx: &mut FlowContext, k: &Constraints, tracked: &TrackedFields) {
    let reaching = macros_reaching(cx, tracked);
    if reaching.is_empty() {
        return;
    }
    // A macro's uses are read like a followed function's callers: a
    // function that uses it without naming the field then takes part too.
    for (name, reach) in &reaching {
        let units: BTreeSet<UnitId> = reach
            .fields
            .iter()
            .flat_map(|(s, f)| cx.val_of(&Loc::Field(s.clone(), f.clone())).units())
            .collect();
        if !units.is_empty() {
            cx.ask_callers(name.clone(), reach.file_local, &units);
        }
    }
    let mut found = reached_at_calls(cx, k, tracked, &reaching);
    found.extend(reached_outside_functions(cx, tracked, &reaching));
    for (units, why) in found {
        for u in units {
            push_unique(&mut cx.units[u].escapes, why.clone());
        }
    }
}

/// The function-like macros not followed as functions whose bodies may
/// name a tracked field, each with the members it names, the tracked
/// fields those may be (the member as written, and the fields whose struct
/// a defining file names), and whether every definition is in a `.c` file
/// (its uses are then there).
fn macros_reaching(cx: &FlowContext, tracked: &TrackedFields) -> BTreeMap<String, MacroReach> {
    // A function of that name read, or one the vocabulary describes, is
    // what a call of the name reaches.
    let flow = &cx.engine.pack.flow;
    let followed = |name: &str| {
        cx.by_name.contains_key(name)
            || cx.engine.is_vocabulary(name)
            || flow.is_use(name)
            || flow.is_element_call(name)
    };
    let mut reaching: BTreeMap<String, MacroReach> = BTreeMap::new();
    let mut files_naming = NamedStructs::new(&cx.types);
    let file_names = |naming: &mut NamedStructs<usize>, i: usize, s: &str| {
        let src: &[u8] = &cx.files[i].parsed.original;
        naming.names(i, s, |word| cx.facts[i].mentions_word(src, word))
    };
    let all = tracked.all();
    for (i, (file, facts)) in cx.files.iter().zip(cx.facts.iter()).enumerate() {
        for (name, members) in &facts.macro_members {
            if followed(name) {
                continue;
            }
            let mut words: Option<HashSet<String>> = None;
            for m in members {
                // A member each use names (`d->member`) may be any tracked
                // field of a struct the body names (`struct toy_dev *d`);
                // reached from a parameter (`(d)->member`), of a struct the
                // file names, the argument's type telling at each use.
                // Else (`(s)->stats.member++`) it is no field holding pages.
                let fields: Vec<(String, String)> = match m.named_by {
                    Some(_) => {
                        let words = words.get_or_insert_with(|| body_words(file.parsed, name));
                        let in_body: Vec<(String, String)> = (all.iter())
                            .filter(|(s, _)| files_naming.names_in_words(words, s))
                            .cloned()
                            .collect();
                        match (in_body.is_empty(), m.from) {
                            (false, _) => in_body,
                            (true, Some(_)) => (all.iter())
                                .filter(|(s, _)| file_names(&mut files_naming, i, s))
                                .cloned()
                                .collect(),
                            (true, None) => Vec::new(),
                        }
                    }
                    None => (tracked.named(&m.member).iter())
                        .filter(|(s, _)| file_names(&mut files_naming, i, s))
                        .cloned()
                        .collect(),
                };
                if fields.is_empty() {
                    continue;
                }
                let entry = reaching.entry(name.clone()).or_insert_with(|| MacroReach {
                    members: Vec::new(),
                    fields: BTreeSet::new(),
                    file_local: true,
                });
                entry.file_local &= file.path.ends_with(".c");
                entry.fields.extend(fields);
                if !entry.members.contains(m) {
                    entry.members.push(m.clone());
                }
            }
        }
    }
    reaching
}

/// What the uses of the macros of `reaching` in the functions read may
/// reach: each tracked field's units, with the blocker they get.
fn reached_at_calls(
    cx: &FlowContext,
    k: &Constraints,
    tracked: &TrackedFields,
    reaching: &BTreeMap<String, MacroReach>,
) -> Vec<(BTreeSet<UnitId>, Blocker)> {
    let mut found: Vec<(BTreeSet<UnitId>, Blocker)> = Vec::new();
    let mut functions_naming = NamedStructs::new(&cx.types);
    for (i, (func, call)) in k.calls.iter().enumerate() {
        let src = cx.src(*func);
        let Some(name) = k.call_callees[i].as_deref() else {
            continue;
        };
        let Some(reach) = reaching.get(name) else {
            continue;
        };
        if !k.call_targets[i].is_empty() {
            continue;
        }
        for m in &reach.members {
            let owner = m
                .from
                .and_then(|p| k.call_args[i].get(p))
                .and_then(|&arg| cx.type_of(*func, arg));
            // The member this use names, when a parameter names it.
            let member = match m.named_by {
                Some(p) => match k.call_args[i].get(p) {
                    Some(&arg) => text(arg, src),
                    None => continue,
                },
                None => m.member.clone(),
            };
            let fields: Vec<(String, String)> = match owner {
                Some(s) => {
                    let f = cx.types.canonical_field(&s, &member);
                    vec![(s, f)]
                }
                None => tracked
                    .named(&member)
                    .iter()
                    .filter(|field| {
                        reach.fields.contains(*field)
                            && functions_naming.names(*func, &field.0, |word| {
                                cx.function_mentions_word(*func, word)
                            })
                    })
                    .cloned()
                    .collect(),
            };
            for (s, f) in fields {
                let units = cx.val_of(&Loc::Field(s.clone(), f.clone())).units();
                if units.is_empty() {
                    continue;
                }
                let why = Blocker::ReachedInMacro {
                    field: format!("{s}::{f}"),
                    macro_name: name.to_string(),
                    place: cx.place(*func, call.node),
                };
                found.push((units, why));
            }
        }
    }
    found
}

/// The same for the uses of those macros outside the functions read
/// (`DEFINE_TOY_DROP(toy_drop_page, page)` at file scope, a function the
/// macro defines): what the body does is code no function shows.
fn reached_outside_functions(
    cx: &FlowContext,
    tracked: &TrackedFields,
    reaching: &BTreeMap<String, MacroReach>,
) -> Vec<(BTreeSet<UnitId>, Blocker)> {
    let mut found = Vec::new();
    for (file, facts) in cx.files.iter().zip(cx.facts.iter()) {
        let src: &[u8] = &file.parsed.original;
        for (name, reach) in reaching {
            for (at, args) in facts.macro_uses_outside(src, name).iter() {
                let at = *at;
                for m in &reach.members {
                    let member = match m.named_by {
                        Some(p) => match args.get(p) {
                            Some(arg) => arg.clone(),
                            None => continue,
                        },
                        None => m.member.clone(),
                    };
                    for (s, f) in tracked.named(&member) {
                        if !reach.fields.contains(&(s.clone(), f.clone())) {
                            continue;
                        }
                        let place = format!("{}:{}", file.path, file.parsed.line_of(at));
                        found.extend(reached_in_macro(cx, s, f, name, place));
                    }
                }
            }
        }
    }
    found
}

/// A tracked field reached in the arguments of a macro used outside any
/// function (`DEFINE_FREE(toy, struct toy_dev *, put_page(_T->page))`,
/// which defines a function releasing the field): code no function read
/// shows. Each `->f` or `.f` of a tracked member outside the functions,
/// comments, the preprocessor lines (macro bodies, read by
/// `fields_in_macros`) and designators (`.f = ...`) makes the units of the fields so named escape:
/// those of the structs the use names (`struct toy_dev *`), or when it
/// names none, of those the file names.
pub(super) fn fields_in_file_scope_macro_arguments(
    cx: &FlowContext,
    tracked: &TrackedFields,
) -> Vec<(BTreeSet<UnitId>, Blocker)> {
    let mut found = Vec::new();
    let flow = &cx.engine.pack.flow;
    let mut files_naming = NamedStructs::new(&cx.types);
    for (i, (file, facts)) in cx.files.iter().zip(cx.facts.iter()).enumerate() {
        let src: &[u8] = &file.parsed.original;
        for (member, fields) in &tracked.by_member {
            for used in facts.members_in_arguments(src, member).iter() {
                // A tracepoint copies what it reaches into its record.
                if flow.tracepoint_macros.contains(&used.macro_name) {
                    continue;
                }
                // The structs the use names (`struct toy_dev *`), else
                // those the file names.
                let text = &src[used.open..used.at];
                let in_use: Vec<&(String, String)> = (fields.iter())
                    .filter(|(s, _)| files_naming.names_in(text, s))
                    .collect();
                for (s, f) in fields.iter() {
                    let named = match in_use.is_empty() {
                        false => in_use.contains(&&(s.clone(), f.clone())),
                        true => files_naming.names(i, s, |word| facts.mentions_word(src, word)),
                    };
                    if !named {
                        continue;
                    }
                    let place = format!("{}:{}", file.path, file.parsed.line_of(used.at));
                    found.extend(reached_in_macro(cx, s, f, &used.macro_name, place));
                }
            }
        }
    }
    found
}

/// The units of the field `s::f`, and why they escape, when a macro
/// reaches it at `place`; nothing when the field holds no unit's pages.
pub(super) fn reached_in_macro(
    cx: &FlowContext,
    s: &str,
    f: &str,
    macro_name: &str,
    place: String,
) -> Option<(BTreeSet<UnitId>, Blocker)> {
    let units = cx.val_of(&Loc::Field(s.to_string(), f.to_string())).units();
    (!units.is_empty()).then(|| {
        let why = Blocker::ReachedInMacro {
            field: format!("{s}::{f}"),
            macro_name: macro_name.to_string(),
            place,
        };
        (units, why)
    })
}

/// The identifiers of a file's definitions of the macro `name`: what
/// `NamedStructs::names_in_words` reads.
pub(super) fn body_words(parsed: &crate::c::Parsed, name: &str) -> HashSet<String> {
    let mut out = HashSet::default();
    for def in parsed.macro_definitions(name) {
        for token in &def.body {
            if let crate::c::defines::Token::Ident(word) = token {
                out.insert(word.clone());
            }
        }
    }
    out
}

/// What the bodies of one macro's definitions may reach (`fields_in_macros`).
pub(super) struct MacroReach {
    members: Vec<MemberReach>,
    fields: BTreeSet<(String, String)>,
    file_local: bool,
}

/// The tracked fields by the member names they are spelled with (every
/// member of a union), leaving out the vocabulary's element fields.
pub(super) struct TrackedFields {
    by_member: HashMap<String, Vec<(String, String)>>,
}

impl TrackedFields {
    pub(super) fn of(cx: &FlowContext) -> TrackedFields {
        let mut by_member: HashMap<String, Vec<(String, String)>> = HashMap::default();
        for (s, f) in tracked_field_pairs(cx) {
            for spelling in cx.types.spellings(&s, &f) {
                if cx.engine.pack.flow.element_fields.contains(&spelling) {
                    continue;
                }
                by_member
                    .entry(spelling)
                    .or_default()
                    .push((s.clone(), f.clone()));
            }
        }
        TrackedFields { by_member }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.by_member.is_empty()
    }

    /// Every tracked field, each once, in order.
    pub(super) fn all(&self) -> Vec<(String, String)> {
        let every: BTreeSet<&(String, String)> = self.by_member.values().flatten().collect();
        every.into_iter().cloned().collect()
    }

    /// The tracked fields a member name may be.
    pub(super) fn named(&self, member: &str) -> &[(String, String)] {
        self.by_member.get(member).map_or(&[], Vec::as_slice)
    }
}

/// `(struct view *)dev`, `memcpy(&view, dev, n)` or `void *raw = dev;
/// struct view *v = raw;` (a `void *` of the function given the struct's
/// pointer and read back as another's) in a function read,
/// `dev` pointing to a struct with fields holding pages and `view` another
/// struct (neither holding the other, as a struct and its first member
/// do): the fields may be reached as `view`'s (`put_page(v->first)`),
/// which are other locations, so the units of the struct's tracked fields
/// escape.
///
/// An `offsetof()` of a tracked field that may reach it (added to a
/// pointer, passed on, stored: `c::offsets`), in a function body, a
/// file-scope initialiser or a macro body of a file read, lets code reach
/// the pages without naming the field (`put_page(*(struct page **)((char
/// *)obj + off))`): the field's units escape too. An offset only compared
/// or subtracted from a size (`PAGE_SIZE - offsetof(...)`) does not.
pub(super) fn fields_reached_aside(cx: &mut FlowContext) {
    let mut tracked_by_struct: HashMap<String, Vec<Loc>> = HashMap::default();
    for (s, f) in tracked_field_pairs(cx) {
        tracked_by_struct
            .entry(s.clone())
            .or_default()
            .push(Loc::Field(s, f));
    }
    if tracked_by_struct.is_empty() {
        return;
    }
    let mut found: Vec<(Vec<Loc>, Blocker)> = Vec::new();
    let mut punned =
        |cx: &FlowContext, func: FuncId, n: tree_sitter::Node, from: &str, to: &str| {
            let (from, to) = (cx.types.resolve(from), cx.types.resolve(to));
            let Some(locs) = tracked_by_struct.get(&from) else {
                return;
            };
            if from == to
                || cx.types.holders(&from).contains(&to)
                || cx.types.holders(&to).contains(&from)
            {
                return;
            }
            let why = Blocker::StructPunned {
                from: from.clone(),
                to,
                place: cx.place(func, n),
            };
            found.push((locs.clone(), why));
        };
    let mut offsets: Vec<(Loc, Blocker)> = Vec::new();
    for (file, facts) in cx.files.iter().zip(cx.facts.iter()) {
        for offset in &facts.field_offsets {
            let strukt = cx.types.resolve(&offset.strukt);
            let field = cx.types.canonical_field(&strukt, &offset.member);
            let loc = Loc::Field(strukt.clone(), field);
            if cx.tracked(&loc) {
                let why = Blocker::FieldOffsetTaken {
                    field: format!("{strukt}::{}", offset.member),
                    place: format!("{}:{}", file.path, file.parsed.line_of(offset.at)),
                };
                offsets.push((loc, why));
            }
        }
    }
    for (func, f) in cx.funcs.iter_enumerated() {
        let src = cx.src(func);
        // The struct pointers a `void *` of the function is given, and what
        // is given a `void *`'s value: `void *raw = dev; struct view *v =
        // raw;` reads `dev`'s struct as `view`.
        let mut given: Vec<(String, String)> = Vec::new();
        let mut read_back: Vec<(String, String, tree_sitter::Node)> = Vec::new();
        for view in &f.constraints.struct_views {
            match *view {
                StructView::Assigned { node, name, value } => {
                    let name = text(name, src);
                    let void_pointers = &cx.scalar_names(func).void_pointers;
                    if void_pointers.contains(&name) {
                        if let Some(from) = cx.type_of(func, value) {
                            given.push((name, from));
                        }
                    } else if let (Some(to), "identifier") =
                        (cx.var_types(func).get(&name), value.kind_str())
                    {
                        let raw = text(value, src);
                        if void_pointers.contains(&raw) {
                            read_back.push((raw, to.clone(), node));
                        }
                    }
                }
                StructView::Copied { node, dst, from } => {
                    let types = (cx.type_of(func, dst), cx.type_of(func, from));
                    if let (Some(to), Some(from)) = types {
                        punned(cx, func, node, &from, &to);
                    }
                }
                StructView::PointerCast { node, to, value } => {
                    let named = to.kind_str() == "struct_specifier"
                        || cx.types.is_defined(&cx.types.resolve(&text(to, src)));
                    let Some(to) = named
                        .then(|| crate::engine::types::type_name(to, src))
                        .flatten()
                    else {
                        continue;
                    };
                    if let Some(from) = cx.type_of(func, value) {
                        punned(cx, func, node, &from, &to);
                    }
                }
            }
        }
        for (raw, to, n) in &read_back {
            for (_, from) in given.iter().filter(|(name, _)| name == raw) {
                punned(cx, func, *n, from, to);
            }
        }
    }
    let found = (offsets.into_iter())
        .map(|(loc, why)| (vec![loc], why))
        .chain(found);
    for (locs, why) in found {
        for loc in locs {
            for u in cx.val_of(&loc).units() {
                push_unique(&mut cx.units[u].escapes, why.clone());
            }
        }
    }
}

/// Whether a text names a struct, remembered for one pass by text (a file
/// or a function, `K`) and struct: a header's macros and a function's field
/// reads ask about the same struct many times. Each struct's names (its
/// tag, the outer struct's for an anonymous struct nested in it:
/// `outer.inner`, and its typedef names) are found once per pass.
pub(super) struct NamedStructs<'i, K> {
    types: &'i TypeIndex,
    seen: HashMap<K, HashMap<String, bool>>,
    names_of: HashMap<String, Rc<[String]>>,
}

impl<'i, K: std::hash::Hash + Eq> NamedStructs<'i, K> {
    pub(super) fn new(types: &'i TypeIndex) -> NamedStructs<'i, K> {
        NamedStructs {
            types,
            seen: HashMap::default(),
            names_of: HashMap::default(),
        }
    }

    /// The names a text may call the struct by.
    fn struct_names(&mut self, strukt: &str) -> Rc<[String]> {
        let tag = strukt.split('.').next().unwrap_or(strukt);
        if let Some(names) = self.names_of.get(tag) {
            return names.clone();
        }
        let names: Rc<[String]> = std::iter::once(tag.to_string())
            .chain(self.types.typedef_names(tag))
            .collect();
        self.names_of.insert(tag.to_string(), names.clone());
        names
    }

    /// Whether a text not remembered names the struct (as `names`).
    pub(super) fn names_in(&mut self, text: &[u8], strukt: &str) -> bool {
        (self.struct_names(strukt).iter()).any(|name| objects::mentions_word(text, name.as_bytes()))
    }

    /// Whether a text not remembered, given as the set of its words, names
    /// the struct (as `names`).
    pub(super) fn names_in_words(&mut self, words: &HashSet<String>, strukt: &str) -> bool {
        (self.struct_names(strukt).iter()).any(|name| words.contains(name.as_str()))
    }

    /// Whether the text `key` stands for names the struct: its tag or one
    /// of its typedef names, as a whole word, `mentions` telling whether
    /// that text holds a word.
    pub(super) fn names(&mut self, key: K, strukt: &str, mentions: impl Fn(&str) -> bool) -> bool {
        let tag = strukt.split('.').next().unwrap_or(strukt);
        if let Some(&named) = self.seen.get(&key).and_then(|known| known.get(tag)) {
            return named;
        }
        let named = self.struct_names(strukt).iter().any(|name| mentions(name));
        (self.seen.entry(key).or_default()).insert(tag.to_string(), named);
        named
    }
}

/// A tracked field named through an expression whose struct the analysis
/// cannot tell (`TOY_RING(dev)->pages[i]`, the base a macro's result): it
/// may be the field of any struct with a field so named that the function
/// names (as any code reaching a field does), and a release of what it
/// holds would be tied to nothing. Those fields' units escape. Only the
/// calls, assignments and returns that mention a tracked field are looked
/// at.
pub(super) fn untyped_field_reads(cx: &mut FlowContext, k: &Constraints, tracked: &TrackedFields) {
    // Only a constraint that names a tracked member and something holding
    // tracked values is read.
    let read = |m: &Mentions, func: FuncId| {
        m.fields().iter().any(|f| !tracked.named(f).is_empty()) && m.hot(func, &cx.hot)
    };
    let mut roots: Vec<(FuncId, tree_sitter::Node)> = Vec::new();
    for (i, (func, _)) in k.calls.iter().enumerate() {
        if read(&k.call_mentions[i], *func) {
            roots.extend(k.call_args[i].iter().map(|&arg| (*func, arg)));
        }
    }
    for (i, (func, asg)) in k.assignments.iter().enumerate() {
        if read(&k.assignment_mentions[i], *func) {
            roots.push((*func, asg.lhs));
            roots.push((*func, asg.rhs));
        }
    }
    for (i, &(func, e)) in k.returns.iter().enumerate() {
        if read(&k.return_mentions[i], func) {
            roots.push((func, e));
        }
    }
    let mut found: Vec<((String, String), Blocker)> = Vec::new();
    let mut functions_naming = NamedStructs::new(&cx.types);
    for (func, root) in roots {
        let src = cx.src(func);
        let mut visit = |n: tree_sitter::Node| {
            if n.kind_str() != "field_expression" {
                return;
            }
            let (Some(base), Some(field)) = (n.field("argument"), n.field("field")) else {
                return;
            };
            let name = String::from_utf8_lossy(&src[field.byte_range()]);
            let named = tracked.named(&name);
            let naming: Vec<bool> = named
                .iter()
                .map(|(s, _)| {
                    functions_naming.names(func, s, |word| cx.function_mentions_word(func, word))
                })
                .collect();
            if naming.contains(&true) && cx.type_of(func, base).is_none() {
                let why = Blocker::UntypedFieldRead {
                    expression: text(n, src),
                    place: cx.place(func, n),
                };
                let fields = named.iter().zip(&naming).filter(|(_, &named)| named);
                found.extend(fields.map(|(field, _)| (field.clone(), why.clone())));
            }
        };
        // The root's nodes as the function lists them, else as a walk
        // down from it meets them.
        match cx.funcs[func].subtree(root) {
            Some(nodes) => nodes.iter().for_each(|&n| visit(n)),
            None => crate::c::syntax::preorder(root, |n| {
                visit(n);
                true
            }),
        }
    }
    for ((s, f), why) in found {
        for u in cx.val_of(&Loc::Field(s, f)).units() {
            push_unique(&mut cx.units[u].escapes, why.clone());
        }
    }
}
