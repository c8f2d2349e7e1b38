//! What a call reaches: the definitions its name resolves to (the
//! `static` definitions in the calling file first, else the global ones of
//! one file; through a macro that only forwards its arguments, the function
//! it forwards to), or every function an ops table stores in the struct
//! field it calls through; and where a function's address is taken outside
//! any body.
//!
//! One file may define a name more than once, each under its own
//! preprocessor condition (`#ifdef CONFIG_X` ... `#else` ... `#endif`).
//! The parse reads every variant and a build compiles one, so a call
//! reaches all of them: a conversion that rewrote the release of one
//! variant and left the other's would be half done in the other
//! configuration.

use super::ids::{FileId, FuncId};
use super::{text, FlowContext, Needs};
use crate::c::syntax::{shape, strip, Call, ExprShape};
use crate::c::NodeExt;
use crate::engine::hash::HashMap;
use crate::engine::types::{type_name, TypeIndex};
use tree_sitter::Node;

/// Why a call's name reaches no definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unresolved {
    /// The rules describe the callee; its definition is never followed.
    Vocabulary,
    /// No definition was read.
    Undefined,
    /// Global definitions were read in more than one file.
    Ambiguous,
}

/// The definitions one call by name reaches: one, or the variants of one
/// file (see the module's documentation), in the order the file holds them.
pub(crate) type Definitions = Vec<FuncId>;

impl<'a, 't> FlowContext<'a, 't> {
    /// The definitions a call may reach: the one it names, or every function
    /// an ops table stores in the struct field it calls through.
    pub fn targets(&self, func: FuncId, call: &Call) -> Vec<FuncId> {
        let name = call
            .callee_name(self.src(func))
            .map(String::from_utf8_lossy);
        self.targets_named(func, call, name.as_deref())
    }

    /// Hands `read` the arguments of `call`, a call of `func`'s body: as
    /// the function's constraints listed them (`FunctionConstraints::args_of`),
    /// else read from the tree.
    pub fn with_args<R>(&self, func: FuncId, call: &Call, read: impl FnOnce(&[Node]) -> R) -> R {
        match self.funcs[func].constraints.args_of(call.node) {
            Some(listed) => read(listed),
            None => read(&call.args()),
        }
    }

    /// `targets`, given the callee's name as `Call::callee_name` reads it
    /// (`None` for a callee that is no plain identifier), for a caller that
    /// keeps the name and resolves the call every round.
    pub fn targets_named(&self, func: FuncId, call: &Call, callee: Option<&str>) -> Vec<FuncId> {
        if let Some(name) = callee {
            return self.resolve(func, name).unwrap_or_default();
        }
        let Some((s, f)) = self.callee_slot(func, call) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (file, name) in self.ops.get(&(s, f)).map(Vec::as_slice).unwrap_or(&[]) {
            if let Some(defs) = self.by_name.get(name) {
                out.extend(self.pick_definition(defs, *file).unwrap_or_default());
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Of several definitions of one name, those in `file`, else those
    /// visible from it: global ones, or `static inline` ones of a driver's
    /// own header (in the file's directory or one above it), all in one
    /// file. The helpers of the kernel's shared headers (`include/`) are
    /// not followed: included everywhere and followed context-insensitively,
    /// they would join every flow that calls them.
    fn pick_definition(&self, defs: &[FuncId], file: FileId) -> Result<Definitions, Unresolved> {
        let own: Definitions = defs
            .iter()
            .copied()
            .filter(|&d| self.funcs[d].file == file)
            .collect();
        if !own.is_empty() {
            return Ok(own);
        }
        let from = self.files[file.index()].path;
        let globals: Definitions = defs
            .iter()
            .copied()
            .filter(|&d| {
                let f = &self.funcs[d];
                !f.is_static
                    || (!f.file_local && local_header(self.files[f.file.index()].path, from))
            })
            .collect();
        let home = self.funcs[*globals.first().ok_or(Unresolved::Undefined)?].file;
        if globals.iter().all(|&d| self.funcs[d].file == home) {
            Ok(globals)
        } else {
            Err(Unresolved::Ambiguous)
        }
    }

    /// For `a->b->f(...)` whose struct types stop being known at some step:
    /// the (struct, field) whose definition would tell the next type.
    pub fn missing_field_type(&self, func: FuncId, node: Node) -> Option<(String, String)> {
        let src = self.src(func);
        let node = strip(node);
        // An element or the target of a pointer has the type its base
        // points to (`umem->chunk[i].plist`).
        if matches!(
            node.kind_str(),
            "subscript_expression" | "pointer_expression"
        ) {
            return self.missing_field_type(func, node.field("argument")?);
        }
        if node.kind_str() != "field_expression" {
            return None;
        }
        let base = node.field("argument")?;
        let field = node.field("field")?;
        match self.type_of(func, base) {
            Some(s) => {
                let f = text(field, src);
                self.types.field_type(&s, &f).is_none().then_some((s, f))
            }
            None => self.missing_field_type(func, base),
        }
    }

    /// The (struct, field) a call through a function pointer field uses.
    pub fn callee_slot(&self, func: FuncId, call: &Call) -> Option<(String, String)> {
        let src = self.src(func);
        let callee = strip(call.callee()?);
        match shape(callee, src) {
            ExprShape::Field { base, field, .. } => {
                Some((self.type_of(func, base)?, text(field, src)))
            }
            _ => None,
        }
    }

    /// The definitions of `name` that `pick_definition` never picks from
    /// another file: the `static inline` helpers of headers (every variant
    /// read), which a call from outside their driver does not follow.
    pub fn shared_helpers(&self, name: &str) -> Vec<FuncId> {
        let Some(defs) = self.by_name.get(name) else {
            return Vec::new();
        };
        defs.iter()
            .copied()
            .filter(|&d| {
                let f = &self.funcs[d];
                f.is_static && !f.file_local
            })
            .collect()
    }

    /// The definitions a call in function `func` to `name` reaches.
    pub fn resolve(&self, func: FuncId, name: &str) -> Result<Definitions, Unresolved> {
        // The vocabulary is described by the rules; its definitions (mm/gup.c
        // and friends) are never followed.
        if self.engine.is_vocabulary(name) {
            return Err(Unresolved::Vocabulary);
        }
        if let Some(defs) = self.by_name.get(name) {
            return self.pick_definition(defs, self.funcs[func].file);
        }
        // A macro that hands its arguments to a function unchanged: a call
        // of that function, when it is read and not the vocabulary.
        if !self.forwarding_macros.contains(name.as_bytes()) {
            return Err(Unresolved::Undefined);
        }
        let end = self.forward_end(name);
        if end == name || self.engine.is_vocabulary(&end) {
            return Err(Unresolved::Undefined);
        }
        match self.by_name.get(&end) {
            Some(defs) => self
                .pick_definition(defs, self.funcs[func].file)
                .map_err(|_| Unresolved::Undefined),
            None => Err(Unresolved::Undefined),
        }
    }

    /// Whether a name at file scope is the one a symbol export names
    /// (`EXPORT_SYMBOL_GPL(f);`, `FlowSpec::symbol_exports`), which
    /// takes no address.
    pub fn exported_at(&self, n: Node, src: &[u8]) -> bool {
        let line_start = memchr::memrchr(b'\n', &src[..n.start_byte()]).map_or(0, |p| p + 1);
        let head = src[line_start..n.start_byte()].trim_ascii();
        let Some(macro_name) = head.strip_suffix(b"(") else {
            return false;
        };
        let macro_name = String::from_utf8_lossy(macro_name.trim_ascii_end());
        self.engine
            .pack
            .flow
            .symbol_exports
            .contains(macro_name.as_ref())
    }

    /// Where a function's name is used outside any function body (an ops
    /// table initialiser such as `.release = foo_release`), if anywhere.
    pub fn address_taken_at_file_scope(&self, name: &str, scanned: &Needs) -> Option<String> {
        for (f, facts) in self.files.iter().zip(self.facts) {
            let src: &[u8] = &f.parsed.original;
            for n in facts.file_scope_uses(name) {
                if self.takes_address_at_file_scope(n, src, scanned) {
                    return Some(format!("{}:{}", f.path, f.parsed.line_of(n.start_byte())));
                }
            }
        }
        None
    }

    /// `address_taken_at_file_scope` of each of `names` (sorted, without
    /// repeats), as `(index in names, place)` for those whose address is
    /// taken: each file's identifiers at file scope are walked once beside
    /// the names, instead of searched once per name.
    pub fn addresses_taken_at_file_scope(
        &self,
        names: &[&str],
        scanned: &Needs,
    ) -> Vec<(usize, String)> {
        let mut place: Vec<Option<String>> = vec![None; names.len()];
        let mut unplaced = names.len();
        for (f, facts) in self.files.iter().zip(self.facts) {
            if unplaced == 0 {
                break;
            }
            let src: &[u8] = &f.parsed.original;
            for (i, n) in facts.file_scope_uses_of(names) {
                if place[i].is_none() && self.takes_address_at_file_scope(n, src, scanned) {
                    place[i] = Some(format!("{}:{}", f.path, f.parsed.line_of(n.start_byte())));
                    unplaced -= 1;
                }
            }
        }
        (place.into_iter().enumerate())
            .filter_map(|(i, p)| p.map(|p| (i, p)))
            .collect()
    }

    /// Whether a use of a function's name at file scope takes its address
    /// for callers pinpatch cannot list: not a symbol export, and not an
    /// ops-table slot whose every call site was read (a known caller).
    fn takes_address_at_file_scope(&self, n: Node, src: &[u8], scanned: &Needs) -> bool {
        if self.exported_at(n, src) {
            return false;
        }
        let known_slot = ops_slot_of(n, src, &self.types).is_some_and(|slot| {
            scanned.fields.contains(&slot) || scanned.local_fields.contains(&slot)
        });
        !known_slot
    }
}

/// (struct, function-pointer field) -> (file, function) stored in it by a
/// file-scope initialiser, from each file's slots (`initializer_slots`,
/// kept in its facts) with their struct names resolved through `types`.
pub(crate) fn ops_index<'s>(
    slots_of: impl Iterator<Item = (FileId, &'s [OpsSlot])>,
    types: &TypeIndex,
) -> HashMap<(String, String), Vec<(FileId, String)>> {
    let mut out: HashMap<(String, String), Vec<(FileId, String)>> = HashMap::default();
    for (file, slots) in slots_of {
        for slot in slots {
            out.entry((types.resolve(&slot.type_name), slot.field.clone()))
                .or_default()
                .push((file, slot.function.clone()));
        }
    }
    out
}

/// `.field = function` in the initialiser of a file-scope declaration of
/// type `type_name` (a struct or typedef name, as written).
#[derive(Clone, Debug)]
pub(crate) struct OpsSlot {
    type_name: String,
    field: String,
    function: String,
}

/// The `.field = function` pairs of a file's file-scope declarations with
/// an initialiser list, in tree order.
pub(crate) fn ops_slots(root: Node, src: &[u8]) -> Vec<OpsSlot> {
    let mut out = Vec::new();
    let mut cursor = root.walk();
    for decl in root
        .children(&mut cursor)
        .filter(|n| n.kind_str() == "declaration")
    {
        if let Some(slots) = initializer_slots(decl, src) {
            out.extend(slots);
        }
    }
    out
}

/// The `.field = function` pairs of a declaration with an initialiser
/// list.
fn initializer_slots(decl: Node, src: &[u8]) -> Option<Vec<OpsSlot>> {
    let type_name = type_name(decl.field("type")?, src)?;
    let mut out = Vec::new();
    let mut c = decl.walk();
    for d in decl.children_by_field_name("declarator", &mut c) {
        let Some(list) = d
            .field("value")
            .filter(|v| v.kind_str() == "initializer_list")
        else {
            continue;
        };
        let mut c2 = list.walk();
        for pair in list
            .named_children(&mut c2)
            .filter(|n| n.kind_str() == "initializer_pair")
        {
            let field = pair.field("designator").and_then(|d| d.named_child(0));
            let value = pair.field("value").map(strip);
            if let (Some(field), Some(value)) = (field, value) {
                if value.kind_str() == "identifier" {
                    out.push(OpsSlot {
                        type_name: type_name.clone(),
                        field: text(field, src),
                        function: text(value, src),
                    });
                }
            }
        }
    }
    Some(out)
}

/// The (struct, field) slot an identifier fills when it is the value of a
/// `.field = name` pair in a file-scope initialiser.
fn ops_slot_of(n: Node, src: &[u8], types: &TypeIndex) -> Option<(String, String)> {
    let pair = n.parent().filter(|p| p.kind_str() == "initializer_pair")?;
    let field = pair.field("designator").and_then(|d| d.named_child(0))?;
    let decl = pair
        .parent()?
        .parent()?
        .parent()
        .filter(|d| d.kind_str() == "declaration")?;
    let s = types.resolve(&type_name(decl.field("type")?, src)?);
    Some((s, text(field, src)))
}

/// Whether `header` is a driver's own header that the file at `from` may
/// include: not under a shared `include/` directory, and in the directory
/// of `from` or one above it.
fn local_header(header: &str, from: &str) -> bool {
    let dir = |p: &str| p.rsplit_once('/').map_or("", |(d, _)| d).to_string();
    let hdir = dir(header);
    let shared = hdir == "include"
        || hdir.starts_with("include/")
        || hdir.contains("/include/")
        || hdir.ends_with("/include");
    let fdir = dir(from);
    !shared && (fdir == hdir || fdir.starts_with(&format!("{hdir}/")))
}
