//! Struct types of expressions, as far as the parsed files declare them.
//!
//! A field is an abstract location only when pinpatch knows which struct it
//! belongs to: `mr->page_list` in one function and `mr->page_list` in another
//! are the same location when both `mr` are `struct toy_mr *`, and a
//! `page_list` field of another struct is another location. Types come from
//! local and parameter declarations, struct definitions (field types, for
//! `a->b->pages`), typedefs of structs, casts, function return types and the
//! type argument of `container_of()`-like macros (read from the original
//! bytes, since the macro pass replaced it by a placeholder).

use crate::c::syntax::{declarator_identifier, preorder, strip, Call};
use crate::c::NodeExt;
use crate::c::Parsed;
use crate::engine::hash::{HashMap, HashSet};
use tree_sitter::Node;

/// Struct definitions and typedefs of every parsed file.
#[derive(Clone, Default, Debug)]
pub struct TypeIndex {
    /// (struct, field) -> the struct type of the field, when it is one.
    fields: HashMap<(String, String), String>,
    /// typedef name -> struct name.
    typedefs: HashMap<String, String>,
    /// Structs defined with a body in a `.c` file: no other file can use
    /// their fields.
    file_local: std::collections::HashSet<String>,
    /// Structs defined with a body in a header.
    in_headers: std::collections::HashSet<String>,
    /// (struct, member of a union) -> the union's first member: members of
    /// one union share their storage, so they are one location.
    union_members: HashMap<(String, String), String>,
    /// (struct, first member of a union) -> every member of that union.
    unions: HashMap<(String, String), Vec<String>>,
    /// field name -> the structs that declare a field of that name as an
    /// array of arrays (`struct page *pages[N][M]`).
    arrays_of_arrays: HashMap<String, std::collections::HashSet<String>>,
    /// (struct, field) -> the integer type of a field declared as a plain
    /// value or a pointer to or an array of them (`scalar_type`), or `None`
    /// when two definitions of the struct disagree. Members of unions are
    /// left out: they share their storage with members of other types.
    scalars: HashMap<(String, String), Option<Scalar>>,
    /// (struct, field) of the fields declared as arrays (`u32 addrs[]`,
    /// `struct page *pages[4]`): the field's value points into the object.
    array_members: std::collections::HashSet<(String, String)>,
    /// struct -> the structs with a member of that type (or a pointer to
    /// it), built when first asked after the last change.
    held_by: std::sync::OnceLock<Holders>,
}

/// The field declarations of a struct body, including those inside
/// preprocessor conditionals (`#ifdef CONFIG_X ... #endif` around members):
/// every branch's members are members.
fn field_declarations(body: Node) -> Vec<Node> {
    let mut out = Vec::new();
    let mut c = body.walk();
    for n in body.named_children(&mut c) {
        match n.kind_str() {
            "field_declaration" => out.push(n),
            "preproc_if" | "preproc_ifdef" | "preproc_else" | "preproc_elif"
            | "preproc_elifdef" => out.extend(field_declarations(n)),
            _ => {}
        }
    }
    out
}

/// Macros whose argument 1 names the struct the result points to.
pub const CONTAINER_MACROS: &[&str] = &[
    "container_of",
    "container_of_const",
    "list_entry",
    "list_first_entry",
    "list_last_entry",
    "list_first_entry_or_null",
    "hlist_entry",
    "hlist_entry_safe",
    "rb_entry",
    "rb_entry_safe",
    "llist_entry",
];

impl TypeIndex {
    /// Reads the struct definitions and typedefs of a file.
    pub fn add_file(&mut self, path: &str, parsed: &Parsed) {
        self.held_by = std::sync::OnceLock::new();
        let src = &parsed.original;
        let header = !path.ends_with(".c");
        preorder(parsed.tree.root_node(), |n| match n.kind_str() {
            "function_definition" => false,
            "struct_specifier" | "union_specifier" => {
                if let (Some(name), Some(body)) = (n.field("name"), n.field("body")) {
                    let is_union = n.kind_str() == "union_specifier";
                    self.add_struct(text(name, src), body, src, header, is_union);
                }
                true
            }
            "type_definition" => {
                let mut c = n.walk();
                let names: Vec<String> = (n.children_by_field_name("declarator", &mut c))
                    .filter_map(typedef_name)
                    .map(|id| text(id, src))
                    .collect();
                let Some(t) = n.field("type") else {
                    return true;
                };
                // An anonymous struct is known by its first typedef name
                // (`typedef struct { ... } foo_t, *foo_p;`), the others
                // standing for it.
                let ty = match (type_name(t, src), t.field("body"), names.first()) {
                    (Some(ty), _, _) => ty,
                    (None, Some(body), Some(first))
                        if matches!(t.kind_str(), "struct_specifier" | "union_specifier") =>
                    {
                        let is_union = t.kind_str() == "union_specifier";
                        self.add_struct(first.clone(), body, src, header, is_union);
                        first.clone()
                    }
                    _ => return true,
                };
                for alias in names {
                    if alias != ty {
                        self.typedefs.insert(alias, ty.clone());
                    }
                }
                true
            }
            _ => true,
        });
    }

    /// Records the fields of a struct body. A member of an anonymous struct
    /// or union type is a struct of its own, named `outer.member`; the
    /// members of an anonymous member without a name belong to the outer
    /// struct (`s->a` for `struct s { union { int a; }; }`).
    fn add_struct(&mut self, sname: String, body: Node, src: &[u8], header: bool, is_union: bool) {
        let mut members = Vec::new();
        if header {
            self.in_headers.insert(sname.clone());
        } else {
            self.file_local.insert(sname.clone());
        }
        for field in field_declarations(body) {
            let Some(ty) = field.field("type") else {
                continue;
            };
            let anonymous = matches!(ty.kind_str(), "struct_specifier" | "union_specifier")
                && ty.field("name").is_none();
            let inner = ty.field("body").filter(|_| anonymous);
            let mut c2 = field.walk();
            let declarators: Vec<Node> = field
                .children_by_field_name("declarator", &mut c2)
                .collect();
            let ids: Vec<String> = declarators
                .iter()
                .filter_map(|&d| declarator_identifier(d))
                .map(|id| text(id, src))
                .collect();
            for &d in &declarators {
                // `*pages[N][M]` is a pointer declarator around the arrays.
                let mut a = d;
                while a.kind_str() == "pointer_declarator" {
                    match a.field("declarator") {
                        Some(inner) => a = inner,
                        None => break,
                    }
                }
                let rows = a.kind_str() == "array_declarator"
                    && a.field("declarator")
                        .is_some_and(|inner| inner.kind_str() == "array_declarator");
                if let (true, Some(id)) =
                    (a.kind_str() == "array_declarator", declarator_identifier(d))
                {
                    self.array_members.insert((sname.clone(), text(id, src)));
                }
                if let (true, Some(id)) = (rows, declarator_identifier(d)) {
                    self.arrays_of_arrays
                        .entry(text(id, src))
                        .or_default()
                        .insert(sname.clone());
                }
            }
            if !is_union {
                for &d in &declarators {
                    if let (Some(scalar), Some(id)) =
                        (scalar_type(ty, d, src), declarator_identifier(d))
                    {
                        self.add_scalar((sname.clone(), text(id, src)), Some(scalar));
                    }
                }
            }
            members.extend(ids.iter().cloned());
            let inner_union = ty.kind_str() == "union_specifier";
            match (inner, type_name(ty, src)) {
                (Some(inner), _) if ids.is_empty() => {
                    self.add_struct(sname.clone(), inner, src, header, inner_union)
                }
                (Some(inner), _) => {
                    for id in ids {
                        let member = format!("{sname}.{id}");
                        self.fields.insert((sname.clone(), id), member.clone());
                        self.add_struct(member, inner, src, header, inner_union);
                    }
                }
                (None, Some(ty)) => {
                    for id in ids {
                        self.fields.insert((sname.clone(), id), ty.clone());
                    }
                }
                (None, None) => {}
            }
        }
        if is_union && members.len() > 1 {
            let first = members[0].clone();
            for m in &members {
                self.union_members
                    .insert((sname.clone(), m.clone()), first.clone());
            }
            self.unions.insert((sname, first), members);
        }
    }

    /// The location a field names: members of one union are one location,
    /// named by the union's first member.
    pub fn canonical_field(&self, strukt: &str, field: &str) -> String {
        self.union_members
            .get(&(strukt.to_string(), field.to_string()))
            .cloned()
            .unwrap_or_else(|| field.to_string())
    }

    /// Every field name a canonical field location is spelled with.
    pub fn spellings(&self, strukt: &str, field: &str) -> Vec<String> {
        self.unions
            .get(&(strukt.to_string(), field.to_string()))
            .cloned()
            .unwrap_or_else(|| vec![field.to_string()])
    }

    /// Records a field's integer type; two definitions that disagree leave
    /// it without one.
    fn add_scalar(&mut self, key: (String, String), scalar: Option<Scalar>) {
        match self.scalars.get_mut(&key) {
            Some(known) if *known != scalar => *known = None,
            Some(_) => {}
            None => {
                self.scalars.insert(key, scalar);
            }
        }
    }

    /// The integer type of a field (`scalar_type`, as written), when every
    /// definition of the struct seen agrees.
    pub fn scalar_field(&self, strukt: &str, field: &str) -> Option<&Scalar> {
        self.scalars
            .get(&(strukt.to_string(), field.to_string()))?
            .as_ref()
    }

    /// Adds what another index (of other files) knows.
    pub fn merge(&mut self, other: TypeIndex) {
        self.held_by = std::sync::OnceLock::new();
        for (k, v) in other.scalars {
            self.add_scalar(k, v);
        }
        self.array_members.extend(other.array_members);
        for (k, v) in other.fields {
            self.fields.entry(k).or_insert(v);
        }
        for (k, v) in other.typedefs {
            self.typedefs.entry(k).or_insert(v);
        }
        self.file_local.extend(other.file_local);
        self.in_headers.extend(other.in_headers);
        for (k, v) in other.union_members {
            self.union_members.entry(k).or_insert(v);
        }
        for (k, v) in other.unions {
            self.unions.entry(k).or_insert(v);
        }
        for (field, structs) in other.arrays_of_arrays {
            self.arrays_of_arrays
                .entry(field)
                .or_default()
                .extend(structs);
        }
    }

    /// The struct a type name stands for (typedefs resolved).
    pub fn resolve(&self, name: &str) -> String {
        let mut name = name.to_string();
        for _ in 0..8 {
            match self.typedefs.get(&name) {
                Some(next) => name = next.clone(),
                None => break,
            }
        }
        name
    }

    /// Whether a struct is defined in a `.c` file and in no header, so that
    /// only that file can touch its fields.
    pub fn is_file_local(&self, strukt: &str) -> bool {
        self.file_local.contains(strukt) && !self.in_headers.contains(strukt)
    }

    /// Whether a struct's definition was read.
    pub fn is_defined(&self, strukt: &str) -> bool {
        self.file_local.contains(strukt) || self.in_headers.contains(strukt)
    }

    /// The names under which code may reach a field of `strukt` without
    /// naming `strukt`: the structs that hold one as a member or through a
    /// pointer member, directly or through their own holders
    /// (`o->pb.pages` names only `o`'s struct), and the typedef names of
    /// `strukt` and of each of them. In name order; `strukt` itself is not
    /// listed.
    pub fn holders(&self, strukt: &str) -> Vec<String> {
        let index = self.holders_index();
        let root = self.resolve(strukt);
        let mut structs: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
        let mut todo = vec![root.clone()];
        while let Some(s) = todo.pop() {
            for outer in index.held_by.get(&s).into_iter().flatten() {
                if structs.insert(outer.clone()) {
                    todo.push(outer.clone());
                }
            }
        }
        let mut names = structs.clone();
        for s in structs.iter().chain(std::iter::once(&root)) {
            names.extend(index.aliases.get(s).into_iter().flatten().cloned());
        }
        names.remove(strukt);
        names.into_iter().collect()
    }

    /// What `holders` and `typedef_names` walk, made once per index.
    fn holders_index(&self) -> &Holders {
        self.held_by.get_or_init(|| {
            let mut held_by: HashMap<String, Vec<String>> = HashMap::default();
            for ((outer, _), inner) in &self.fields {
                held_by
                    .entry(self.resolve(inner))
                    .or_default()
                    .push(self.resolve(outer));
            }
            let mut aliases: HashMap<String, Vec<String>> = HashMap::default();
            for alias in self.typedefs.keys() {
                aliases
                    .entry(self.resolve(alias))
                    .or_default()
                    .push(alias.clone());
            }
            Holders { held_by, aliases }
        })
    }

    /// The typedef names of `strukt` (`toy_t` of `typedef struct toy
    /// toy_t`, pointer typedefs too), in name order: code may name the
    /// struct by any of them.
    pub fn typedef_names(&self, strukt: &str) -> Vec<String> {
        let index = self.holders_index();
        let mut names = (index.aliases.get(&self.resolve(strukt)))
            .cloned()
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Whether some struct declares a field of this name as an array of
    /// arrays.
    pub fn has_array_of_arrays_named(&self, field: &str) -> bool {
        self.arrays_of_arrays.contains_key(field)
    }

    /// Whether a field is declared as an array: its value is the address
    /// of its first element, inside the object.
    pub fn is_array_member(&self, strukt: &str, field: &str) -> bool {
        self.array_members
            .contains(&(strukt.to_string(), field.to_string()))
    }

    /// Whether a field is declared as an array of arrays: its rows are
    /// parts of one array.
    pub fn is_array_of_arrays(&self, strukt: &str, field: &str) -> bool {
        self.arrays_of_arrays
            .get(field)
            .is_some_and(|structs| structs.contains(strukt))
    }

    pub fn field_type(&self, strukt: &str, field: &str) -> Option<String> {
        self.fields
            .get(&(strukt.to_string(), field.to_string()))
            .map(|t| self.resolve(t))
    }
}

/// What `TypeIndex::holders` walks: struct -> the structs with a member of
/// that type (or a pointer to it), and struct -> its typedef names.
#[derive(Clone, Debug)]
struct Holders {
    held_by: HashMap<String, Vec<String>>,
    aliases: HashMap<String, Vec<String>>,
}

fn text(node: Node, src: &[u8]) -> String {
    String::from_utf8_lossy(&src[node.byte_range()]).into_owned()
}

/// The name a typedef's declarator gives the type: `T` of `typedef struct
/// S T;`, of `*T` (a pointer typedef, whose pointer reaches the same
/// fields) and of `T[4]`; none for a function type (`(*T)(...)`), whose
/// name reaches no field.
fn typedef_name(mut d: Node) -> Option<Node> {
    loop {
        match d.kind_str() {
            "type_identifier" => return Some(d),
            "pointer_declarator" | "array_declarator" => d = d.field("declarator")?,
            "parenthesized_declarator" => d = d.named_child(0)?,
            _ => return None,
        }
    }
}

/// The struct or typedef name of a type node (`struct S`, `S_t`).
pub fn type_name(node: Node, src: &[u8]) -> Option<String> {
    match node.kind_str() {
        "struct_specifier" | "union_specifier" => node.field("name").map(|n| text(n, src)),
        "type_identifier" => Some(text(node, src)),
        _ => None,
    }
}

/// The integer type of a plain declaration: of the value itself (`u32 n`),
/// or of the elements it points to or holds (`u32 *addrs`, `u32 v[4]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scalar {
    /// The type as written with single spaces (`unsigned int`, `u32`).
    pub ty: String,
    /// It is the type of the elements (one pointer or array level).
    pub elements: bool,
}

/// The type of a declarator that declares a plain value (`u32 n`), or a
/// pointer to or an array of plain values (`u32 *addrs`, `u32 v[4]`), as
/// written: `None` for any other declarator (two levels, a function) and
/// for struct types.
pub fn scalar_type(ty: Node, declarator: Node, src: &[u8]) -> Option<Scalar> {
    let mut d = declarator;
    let mut elements = false;
    loop {
        match d.kind_str() {
            "identifier" | "field_identifier" => break,
            "init_declarator" => d = d.field("declarator")?,
            "pointer_declarator" | "array_declarator" if !elements => {
                elements = true;
                d = d.field("declarator")?;
            }
            _ => return None,
        }
    }
    match ty.kind_str() {
        "primitive_type" | "sized_type_specifier" | "type_identifier" => Some(Scalar {
            ty: text(ty, src)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            elements,
        }),
        _ => None,
    }
}

/// The struct name written in a type as text (`struct foo *`, `const struct foo`).
pub fn type_name_from_text(t: &str) -> Option<String> {
    let words: Vec<&str> = t
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let mut it = words
        .iter()
        .filter(|w| !matches!(**w, "const" | "volatile" | "__user" | "__iomem"));
    match it.next() {
        Some(&"struct") | Some(&"union") => it.next().map(|s| s.to_string()),
        Some(w) => Some(w.to_string()),
        None => None,
    }
}

/// The declared types of a function's parameters and locals as written:
/// (name, type name), parameters first, then in body order. They depend
/// on the function alone; `declared_types` resolves them.
pub fn declared_type_names(func: Node, body_nodes: &[Node], src: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let add = |decl: Node, out: &mut Vec<(String, String)>| {
        let Some(ty) = decl.field("type").and_then(|t| type_name(t, src)) else {
            return;
        };
        let mut c = decl.walk();
        for d in decl.children_by_field_name("declarator", &mut c) {
            if let Some(id) = declarator_identifier(d) {
                out.push((text(id, src), ty.clone()));
            }
        }
    };
    each_declaration(func, body_nodes, |decl| add(decl, &mut out));
    out
}

/// The variables a file's scope declares, with their type names as
/// written: (name, type name), in file order, those in preprocessor
/// conditionals included; functions' prototypes are left out.
pub fn global_type_names(root: Node, src: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    preorder(root, |n| match n.kind_str() {
        "translation_unit" | "preproc_if" | "preproc_ifdef" | "preproc_else" | "preproc_elif" => {
            true
        }
        "declaration" => {
            if let Some(ty) = n.field("type").and_then(|t| type_name(t, src)) {
                let mut c = n.walk();
                for d in n.children_by_field_name("declarator", &mut c) {
                    let function = d.kind_str() == "function_declarator"
                        || d.field("declarator")
                            .is_some_and(|inner| inner.kind_str() == "function_declarator");
                    if let (false, Some(id)) = (function, declarator_identifier(d)) {
                        out.push((text(id, src), ty.clone()));
                    }
                }
            }
            false
        }
        _ => false,
    });
    out
}

/// Calls `f` with each parameter declaration of a function, then each
/// declaration of its body in node order.
fn each_declaration<'t>(func: Node<'t>, body_nodes: &[Node<'t>], mut f: impl FnMut(Node<'t>)) {
    preorder(func, |n| {
        if n.kind_str() == "parameter_declaration" {
            f(n);
            return false;
        }
        n.kind_str() != "compound_statement"
    });
    for &n in body_nodes {
        if n.kind_str() == "declaration" {
            f(n);
        }
    }
}

/// The plain types of a function's parameters and locals (`scalar_type`),
/// one entry per declared name: `None` for a declaration that is not of a
/// plain value. A name declared twice (in two blocks) has two entries.
pub fn declared_scalars(
    func: Node,
    body_nodes: &[Node],
    src: &[u8],
) -> Vec<(String, Option<Scalar>)> {
    let mut out = Vec::new();
    let add = |decl: Node, out: &mut Vec<(String, Option<Scalar>)>| {
        let ty = decl.field("type");
        let mut c = decl.walk();
        for d in decl.children_by_field_name("declarator", &mut c) {
            if let Some(id) = declarator_identifier(d) {
                out.push((text(id, src), ty.and_then(|t| scalar_type(t, d, src))));
            }
        }
    };
    each_declaration(func, body_nodes, |decl| add(decl, &mut out));
    out
}

/// The parameters and locals of a function that point at (or are arrays
/// of) pointers to pages arrays: every declaration of the name is of a
/// `struct page` with three levels of pointers or arrays or more
/// (`struct page ***pagesp`, `struct page **rows[4]`), so that what one
/// element or dereference gives is a pages array, not a page.
pub fn declared_page_array_rows(func: Node, body_nodes: &[Node], src: &[u8]) -> HashSet<String> {
    let mut kinds: HashMap<String, bool> = HashMap::default();
    each_declaration(func, body_nodes, |decl| {
        let page = decl
            .field("type")
            .and_then(|t| type_name(t, src))
            .is_some_and(|t| t == "page");
        let mut c = decl.walk();
        for d in decl.children_by_field_name("declarator", &mut c) {
            // The pointer and array levels around the name.
            let (mut at, mut levels) = (Some(d), 0);
            while let Some(n) = at.filter(|n| n.kind_str() != "identifier") {
                match n.kind_str() {
                    "pointer_declarator" | "array_declarator" => levels += 1,
                    "init_declarator" => {}
                    _ => break,
                }
                at = n.field("declarator");
            }
            if let Some(id) = at.filter(|n| n.kind_str() == "identifier") {
                *kinds.entry(text(id, src)).or_insert(true) &= page && levels >= 3;
            }
        }
    });
    kinds
        .into_iter()
        .filter(|(_, row)| *row)
        .map(|(name, _)| name)
        .collect()
}

/// The plain type a function returns (`scalar_type`): `None` when it
/// returns a pointer or a struct.
pub fn return_scalar(func: Node, src: &[u8]) -> Option<Scalar> {
    let ty = func.field("type")?;
    let declarator = func.field("declarator")?;
    if declarator.kind_str() != "function_declarator" {
        return None;
    }
    let name = declarator.field("declarator")?;
    scalar_type(ty, name, src)
}

/// Declared types of a function's parameters and locals (from
/// `declared_type_names`), through the typedefs of `index`: name -> struct
/// name, the last declaration of a name winning.
pub fn declared_types(declared: &[(String, String)], index: &TypeIndex) -> HashMap<String, String> {
    let mut out = HashMap::default();
    let mut resolved: HashMap<&str, String> = HashMap::default();
    for (name, ty) in declared {
        let ty = resolved
            .entry(ty.as_str())
            .or_insert_with(|| index.resolve(ty))
            .clone();
        out.insert(name.clone(), ty);
    }
    out
}

/// The struct type of an expression, when it can be told: a variable's
/// from `vars` (the function's declarations), else from `globals`.
pub fn type_of(
    node: Node,
    src: &[u8],
    vars: &HashMap<String, String>,
    globals: &dyn Fn(&str) -> Option<String>,
    index: &TypeIndex,
    returns: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    let mut node = node;
    loop {
        match node.kind_str() {
            "parenthesized_expression" => node = node.named_child(0)?,
            "cast_expression" => {
                let ty = node.field("type")?;
                return type_name_from_text(&text(ty, src)).map(|t| index.resolve(&t));
            }
            "identifier" => {
                let name = text(node, src);
                return vars.get(&name).cloned().or_else(|| globals(&name));
            }
            "field_expression" => {
                let base = node.field("argument")?;
                let field = node.field("field")?;
                let s = type_of(base, src, vars, globals, index, returns)?;
                return index.field_type(&s, &text(field, src));
            }
            "subscript_expression" => node = node.field("argument")?,
            "pointer_expression" => node = node.field("argument")?,
            "call_expression" => {
                let call = Call::new(node)?;
                let name = String::from_utf8_lossy(call.callee_name(src)?).into_owned();
                if CONTAINER_MACROS.contains(&name.as_str()) {
                    let arg = *call.args().get(1)?;
                    return type_name_from_text(&text(arg, src)).map(|t| index.resolve(&t));
                }
                return returns(&name).map(|t| index.resolve(&t));
            }
            _ => return None,
        }
        node = strip(node);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_struct_is_known_by_every_typedef_name_its_declarators_give() {
        let src = b"struct s { struct page *p; };\n\
typedef struct s s_t, *s_p, s_arr[2];\n\
typedef struct s (*s_fn)(void);\n\
typedef s_t s2_t;\n";
        let parsed = crate::c::parse::parse(src).expect("a tree");
        let mut types = TypeIndex::default();
        types.add_file("s.h", &parsed);
        assert_eq!(types.typedef_names("s"), ["s2_t", "s_arr", "s_p", "s_t"]);
        assert_eq!(types.typedef_names("s_p"), types.typedef_names("s"));
        assert_eq!(types.resolve("s2_t"), "s");
        assert_eq!(types.resolve("s_fn"), "s_fn");
        assert_eq!(types.holders("s"), ["s2_t", "s_arr", "s_p", "s_t"]);
    }

    #[test]
    fn an_anonymous_struct_is_known_by_its_first_typedef_name() {
        let src = b"typedef struct {\n\tstruct page *page;\n} a_t, *a_p;\n";
        let parsed = crate::c::parse::parse(src).expect("a tree");
        let mut types = TypeIndex::default();
        types.add_file("a.h", &parsed);
        assert_eq!(types.resolve("a_p"), "a_t");
        assert_eq!(types.typedef_names("a_t"), ["a_p"]);
        assert_eq!(types.field_type("a_t", "page").as_deref(), Some("page"));
        assert!(types.is_defined("a_t"));
    }
}
