//! The same-length macro-neutralising pass that runs before tree-sitter.
//!
//! Unpreprocessed kernel C is full of macros the C grammar cannot know:
//! annotations (`__user`, `__init`), iterator macros used as loop heads
//! (`list_for_each_entry(pos, head, member) {`) and macros taking a type as an
//! argument (`container_of(p, struct foo, member)`). This pass rewrites them
//! into something tree-sitter-c reads, **keeping every byte offset**: each
//! replacement has the length of what it replaces and newlines stay where
//! they are. Node spans in the neutralised text therefore index the original
//! file, and rewrites stay byte-range edits on the original bytes.
//!
//! The macro knowledge is data (`macros.toml`, embedded at build time), in the
//! spirit of Coccinelle's `standard.h`. Comments, string and character
//! literals and preprocessor lines are never touched, with two exceptions
//! for conditional groups the grammar cannot read where they stand: the
//! directives of a group whose branches continue an `if`/`else` chain, and
//! a group inside parentheses or an initialiser list
//! (`read_conditionals_inside_brackets`).

use foldhash::fast::FixedState;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// The macro lists as written in `macros.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMacroTable {
    annotations: Vec<String>,
    annotation_calls: Vec<String>,
    iterators: Vec<String>,
    type_args_odd: Vec<String>,
    type_args: HashMap<String, Vec<usize>>,
}

/// Which arguments of a macro are types.
#[derive(Debug, Clone)]
enum TypeArgs {
    /// The listed 0-based positions.
    At(Vec<usize>),
    /// Every odd position (`SYSCALL_DEFINEn(name, type, arg, ...)`).
    Odd,
}

/// Checked macro knowledge, looked up by identifier bytes: once per
/// identifier of every file read, so with a fast fixed hash rather than the
/// standard library's keyed one.
#[derive(Debug)]
pub struct MacroTable {
    annotations: HashSet<Vec<u8>, FixedState>,
    annotation_calls: HashSet<Vec<u8>, FixedState>,
    iterators: HashSet<Vec<u8>, FixedState>,
    type_args: HashMap<Vec<u8>, TypeArgs, FixedState>,
}

const EMBEDDED: &str = include_str!("macros.toml");

impl MacroTable {
    /// The table shipped in the binary.
    pub fn builtin() -> &'static MacroTable {
        static TABLE: OnceLock<MacroTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            MacroTable::from_toml(EMBEDDED)
                .expect("the embedded macros.toml is checked by a unit test")
        })
    }

    /// Reads a macro table from TOML text.
    pub fn from_toml(text: &str) -> Result<MacroTable, toml::de::Error> {
        let raw: RawMacroTable = toml::from_str(text)?;
        let bytes = |v: Vec<String>| {
            v.into_iter()
                .map(String::into_bytes)
                .collect::<HashSet<_, FixedState>>()
        };
        let mut type_args: HashMap<Vec<u8>, TypeArgs, FixedState> = raw
            .type_args
            .into_iter()
            .map(|(name, at)| (name.into_bytes(), TypeArgs::At(at)))
            .collect();
        for name in raw.type_args_odd {
            type_args.insert(name.into_bytes(), TypeArgs::Odd);
        }
        Ok(MacroTable {
            annotations: bytes(raw.annotations),
            annotation_calls: bytes(raw.annotation_calls),
            iterators: bytes(raw.iterators),
            type_args,
        })
    }

    /// Listed, or named like one: `..for_each..`, `..foreach..` or
    /// `for_..` (`xt_entry_foreach`, `for_i915_gem_ww`).
    fn is_iterator(&self, ident: &[u8]) -> bool {
        self.iterators.contains(ident)
            || memchr::memmem::find(ident, b"for_each").is_some()
            || memchr::memmem::find(ident, b"foreach").is_some()
            || ident.starts_with(b"for_")
    }
}

/// Returns a copy of `src` with kernel macros neutralised, of the same length
/// and with newlines at the same offsets.
pub fn neutralise(src: &[u8], table: &MacroTable) -> Vec<u8> {
    let mut out = src.to_vec();
    blank_conditionals_inside_else_chains(src, &mut out);
    read_conditionals_inside_brackets(src, &mut out);
    let mut scan = Scanner {
        src,
        pos: 0,
        depth: 0,
        line_start: true,
    };
    // The end of the last string literal, or of an identifier read as a
    // string macro, for the identifiers that follow one.
    let mut string_end: Option<usize> = None;
    while let Some(tok) = scan.next_token() {
        let (start, end) = match tok {
            Token::Ident(start, end) => (start, end),
            Token::Str(end) => {
                string_end = Some(end);
                continue;
            }
            Token::Ellipsis(at) => {
                if range_ellipsis(src, at) {
                    out[at] = b'|';
                    blank(&mut out, at + 1, at + 3);
                }
                continue;
            }
            Token::Other => continue,
        };
        let ident = &src[start..end];
        let after_string = string_end.is_some_and(|e| next_code_offset(src, e) == start);
        if is_string_macro(src, start, end, after_string) {
            out[start] = b'"';
            out[start + 1..end - 1].fill(b'_');
            out[end - 1] = b'"';
            string_end = Some(end);
            continue;
        }
        if table.annotations.contains(ident) {
            blank(&mut out, start, end);
        } else if table.annotation_calls.contains(ident) {
            if let Some((open, close)) = paren_group(src, end) {
                let _ = open;
                blank(&mut out, start, close + 1);
                scan.pos = close + 1;
            } else {
                blank(&mut out, start, end);
            }
        } else if let Some(args) = table.type_args.get(ident) {
            if let Some((open, close)) = paren_group(src, end) {
                for (index, (a, b)) in split_args(src, open + 1, close).into_iter().enumerate() {
                    let wanted = match args {
                        TypeArgs::At(list) => list.contains(&index),
                        TypeArgs::Odd => index % 2 == 1,
                    };
                    if wanted {
                        placeholder(&mut out, src, a, b);
                    }
                }
            }
        } else if OFFSETOF.contains(&ident) {
            // `offsetof(struct kvm_vcpu, arch.gprs[K0])`: the grammar takes
            // only a field name for the member.
            if let Some((open, close)) = paren_group(src, end) {
                if let Some(&(a, b)) = split_args(src, open + 1, close).get(1) {
                    placeholder(&mut out, src, a, b);
                }
            }
        } else if ALIGNOF.contains(&ident) {
            // `__alignof__(*p)`: the grammar takes only a type there;
            // `sizeof` takes both and is as constant.
            out[start..start + 6].copy_from_slice(b"sizeof");
            blank(&mut out, start + 6, end);
        } else if scan.depth == 0
            && (annotates_declaration(src, &out, start, end)
                || annotates_declarator(src, &out, start, end))
        {
            blank(&mut out, start, end);
        } else if scan.depth == 0 {
            if let Some(close) = unterminated_file_scope_call(src, start, end) {
                // `NOKPROBE_SYMBOL(f)` with no `;`, then a declaration.
                blank(&mut out, start, close + 1);
                scan.pos = close + 1;
            }
        } else if scan.depth > 0 && !is_keyword(ident) {
            if let Some((open, close)) = paren_group(src, end) {
                let listed = table.is_iterator(ident) && loop_body_follows(src, close + 1);
                // A name followed by its arguments and a block
                // (`for_i915_gem_ww(&ww, err, true) {`) is a macro that
                // runs the block: no C expression is followed by one.
                if ident.len() >= 5 && (listed || block_follows(src, close + 1)) {
                    out[start..start + 5].copy_from_slice(b"while");
                    blank(&mut out, start + 5, end);
                } else {
                    type_arguments(src, &mut out, open, close);
                    code_arguments(src, &mut out, open, close);
                }
            } else if let Some((open, close)) = statements_group_after(src, end) {
                if starts_statement(src, start) {
                    // `DEB( if (debugging) printk(...); )`: the statements
                    // the macro runs (or drops), read as a block.
                    blank(&mut out, start, open);
                    out[open] = b'{';
                    out[close] = b'}';
                }
            }
        }
    }
    out
}

/// Blanks the directives of a conditional group each of whose branches
/// continues an `if`/`else` chain (its first line of code starts with
/// `else`), which the grammar cannot read inside a group:
///
/// ```c
/// if (iter)
///         result = copy_page_from_iter(page, off, n, iter);
/// #ifdef CONFIG_CIFS_SMB_DIRECT
/// else if (rdata->mr)
///         result = n;
/// #endif
/// else
///         result = read_from_socket(page, off, n);
/// ```
///
/// Every branch is then read as code, one after the other, which a flow
/// analysis may do: each is a way the chain can go. The same holds for a
/// group one of whose branches ends with a label, whose statement follows
/// the group (`regular_folio:` then `#endif` in `mm/madvise.c`): read as
/// written, the label has no statement and the rest of the file is lost.
/// A branch may also open with `} else` (the group closes the block an
/// `if` opened before it and opens the next), or the group may end with a
/// dangling `else` whose statement follows it.
fn blank_conditionals_inside_else_chains(src: &[u8], out: &mut [u8]) {
    /// One `#if` group being read: its directive lines (byte ranges), per
    /// branch whether its first line of code starts with `else`, and
    /// whether the last line of code of a branch read so far is a label.
    struct Group {
        directives: Vec<(usize, usize)>,
        branches: Vec<Option<bool>>,
        ends_with_label: bool,
        last_is_label: bool,
        /// Whether the last line of code read in the group ends with a
        /// dangling `else`, whose statement follows the group.
        last_is_else: bool,
    }
    let mut stack: Vec<Group> = Vec::new();
    let mut lines = SourceLines { src, pos: 0 };
    while let Some(line) = lines.next_line(true) {
        match line {
            SourceLine::Directive { keyword, range } => match keyword {
                b"if" | b"ifdef" | b"ifndef" => stack.push(Group {
                    directives: vec![range],
                    branches: vec![None],
                    ends_with_label: false,
                    last_is_label: false,
                    last_is_else: false,
                }),
                b"elif" | b"else" => {
                    if let Some(g) = stack.last_mut() {
                        g.directives.push(range);
                        g.branches.push(None);
                        g.ends_with_label |= g.last_is_label;
                        g.last_is_label = false;
                    }
                }
                b"endif" => {
                    if let Some(mut g) = stack.pop() {
                        g.directives.push(range);
                        let continues = (!g.branches.contains(&Some(false))
                            && g.branches.contains(&Some(true)))
                            || g.ends_with_label
                            || g.last_is_label
                            || g.last_is_else;
                        if continues && comments_close(src, &g.directives) {
                            for (a, b) in g.directives {
                                blank(out, a, b);
                            }
                        }
                    }
                }
                _ => {}
            },
            SourceLine::Code { line } => {
                let text = line.trim_ascii_start();
                if text.is_empty() || text.starts_with(b"/*") || text.starts_with(b"//") {
                    continue;
                }
                let Some(g) = stack.last_mut() else {
                    continue;
                };
                g.last_is_label = is_label_line(text);
                g.last_is_else = ends_with_else(text);
                if let Some(branch) = g.branches.last_mut() {
                    if branch.is_none() {
                        let after_brace = text
                            .strip_prefix(b"}")
                            .map_or(text, |rest| rest.trim_ascii_start());
                        let starts_else = after_brace.starts_with(b"else")
                            && !after_brace.get(4).is_some_and(|c| is_ident_byte(*c));
                        *branch = Some(starts_else);
                    }
                }
            }
        }
    }
}

/// One logical line as the passes over conditional groups read it.
enum SourceLine<'s> {
    /// A preprocessor directive with its backslash continuations: its
    /// keyword (`if`, `ifdef`, `else`, `endif`...) and its bytes' range.
    Directive {
        keyword: &'s [u8],
        range: (usize, usize),
    },
    /// Any other line, without its newline.
    Code { line: &'s [u8] },
}

/// The logical lines of a file, in order.
struct SourceLines<'s> {
    src: &'s [u8],
    pos: usize,
}

impl<'s> SourceLines<'s> {
    /// The next line; one whose first non-blank byte is `#` is a directive
    /// only when `directives` (a caller inside a block comment says no).
    fn next_line(&mut self, directives: bool) -> Option<SourceLine<'s>> {
        let src = self.src;
        let pos = self.pos;
        if pos >= src.len() {
            return None;
        }
        let end = memchr::memchr(b'\n', &src[pos..]).map_or(src.len(), |i| pos + i);
        let text = src[pos..end].trim_ascii_start();
        let Some(directive) = text.strip_prefix(b"#").filter(|_| directives) else {
            self.pos = end + 1;
            return Some(SourceLine::Code {
                line: &src[pos..end],
            });
        };
        let mut last_end = end;
        while src[pos..last_end].ends_with(b"\\") && last_end < src.len() {
            last_end =
                memchr::memchr(b'\n', &src[last_end + 1..]).map_or(src.len(), |i| last_end + 1 + i);
        }
        self.pos = last_end + 1;
        let word = directive.trim_ascii_start();
        let keyword = &word[..word.iter().take_while(|c| c.is_ascii_alphabetic()).count()];
        Some(SourceLine::Directive {
            keyword,
            range: (pos, last_end),
        })
    }
}

/// Whether every block comment a group's directive lines open also closes
/// there: only then may the directives become blanks.
fn comments_close(src: &[u8], directives: &[(usize, usize)]) -> bool {
    directives.iter().all(|&(a, b)| {
        memchr::memmem::find(&src[a..b], b"/*").is_none()
            || memchr::memmem::find(&src[a..b], b"*/").is_some()
    })
}

/// Reads the conditional groups that sit inside brackets, where the grammar
/// cannot read a directive:
///
/// * inside parentheses, an argument chosen by configuration:
///
///   ```c
///   trace_map(page_to_phys(sg_page(sg)),
///   #ifdef CONFIG_NEED_SG_DMA_LENGTH
///             sg->dma_length,
///   #else
///             sg->length,
///   #endif
///             dir);
///   ```
///
///   The directives and the other branches become blanks, but only when
///   the other branches merely name values (no call, assignment,
///   increment, block or statement) and the first one closes every bracket
///   it opens: nothing the flow analysis follows is dropped, and the
///   arguments keep their positions.
/// * inside an initialiser list, members present by configuration
///   (`#ifdef CONFIG_IOMMU_API` around `.xchg_no_kill = pnv_xchg,` in an
///   ops table): only the directives become blanks when every branch is
///   whole members (it closes what it opens and ends with a comma), so the
///   list holds the members of every configuration, as an analysis of all
///   of them wants.
///
/// Any other group is left as written.
fn read_conditionals_inside_brackets(src: &[u8], out: &mut [u8]) {
    /// One `#if` group being read.
    struct Group {
        /// The innermost bracket open where the group begins.
        inside: Option<Bracket>,
        /// Directive lines (byte ranges).
        directives: Vec<(usize, usize)>,
        branches: Vec<BranchCode>,
        /// A group nested inside this one: left as written.
        nested: bool,
    }
    let mut stack: Vec<Group> = Vec::new();
    let mut code = CodeState::default();
    let mut lines = SourceLines { src, pos: 0 };
    while let Some(line) = lines.next_line(!code.in_comment) {
        match line {
            SourceLine::Directive { keyword, range } => match keyword {
                b"if" | b"ifdef" | b"ifndef" => {
                    if let Some(outer) = stack.last_mut() {
                        outer.nested = true;
                    }
                    stack.push(Group {
                        inside: code.open.last().copied(),
                        directives: vec![range],
                        branches: vec![BranchCode::default()],
                        nested: false,
                    });
                }
                b"elif" | b"else" => {
                    if let Some(g) = stack.last_mut() {
                        g.directives.push(range);
                        g.branches.push(BranchCode::default());
                    }
                }
                b"endif" => {
                    if let Some(mut g) = stack.pop() {
                        g.directives.push(range);
                        let first = &g.branches[0];
                        let others = &g.branches[1..];
                        let whole_members = g
                            .branches
                            .iter()
                            .all(|b| b.opened == 0 && matches!(b.last, None | Some(b',')));
                        match g.inside {
                            _ if g.nested || !comments_close(src, &g.directives) => {}
                            Some(Bracket::Paren)
                                if first.opened == 0 && others.iter().all(|b| b.names_values) =>
                            {
                                let second_directive = g.directives[1].0;
                                let last_directive_end = g.directives[g.directives.len() - 1].1;
                                blank(out, g.directives[0].0, g.directives[0].1);
                                blank(out, second_directive, last_directive_end);
                            }
                            Some(Bracket::Initialiser) if whole_members => {
                                for (a, b) in g.directives {
                                    blank(out, a, b);
                                }
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            },
            SourceLine::Code { line } => {
                // The brackets count only in the first branch of every open
                // group, as if the others were dropped.
                let first_branch = stack.iter().all(|g| g.branches.len() == 1);
                let read = code.read_line(line, first_branch);
                if let Some(b) = stack.last_mut().and_then(|g| g.branches.last_mut()) {
                    b.opened += read.opened;
                    b.names_values &= read.names_values;
                    if read.last.is_some() {
                        b.last = read.last;
                    }
                }
            }
        }
    }
}

/// A bracket open in the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bracket {
    Paren,
    /// `[`, or a `{` that opens a block or a struct body.
    Other,
    /// A `{` after `=`, or inside another initialiser list.
    Initialiser,
}

/// What the code of a branch (or a line) does.
struct BranchCode {
    /// Brackets opened minus brackets closed.
    opened: i64,
    /// Whether it only names values (no parenthesis, brace, semicolon,
    /// assignment or increment).
    names_values: bool,
    /// Its last byte that is neither blank nor in a comment.
    last: Option<u8>,
}

/// The state of the code read so far: the open brackets, the last byte
/// read outside blanks and comments, and a block comment open at the end
/// of a line.
#[derive(Default)]
struct CodeState {
    open: Vec<Bracket>,
    last: u8,
    in_comment: bool,
}

impl Default for BranchCode {
    /// Code not read yet: nothing opened, only values named.
    fn default() -> BranchCode {
        BranchCode {
            opened: 0,
            names_values: true,
            last: None,
        }
    }
}

impl CodeState {
    /// Reads a line of code outside literals and comments; its brackets
    /// open and close `open` only when `counts`.
    fn read_line(&mut self, line: &[u8], counts: bool) -> BranchCode {
        let mut out = BranchCode::default();
        let mut i = 0;
        while i < line.len() {
            if self.in_comment {
                match memchr::memmem::find(&line[i..], b"*/") {
                    Some(n) => {
                        self.in_comment = false;
                        i += n + 2;
                        continue;
                    }
                    None => break,
                }
            }
            let c = line[i];
            let next = line.get(i + 1).copied();
            match c {
                b'/' if next == Some(b'/') => break,
                b'/' if next == Some(b'*') => {
                    self.in_comment = true;
                    i += 2;
                    continue;
                }
                b' ' | b'\t' | b'\r' => {
                    i += 1;
                    continue;
                }
                b'"' | b'\'' => {
                    i = skip_literal(line, i);
                    self.last = c;
                    out.last = Some(c);
                    continue;
                }
                b'(' | b'[' | b'{' => {
                    out.opened += 1;
                    out.names_values &= c == b'[';
                    if counts {
                        let initialiser = c == b'{'
                            && (self.last == b'='
                                || self.open.last() == Some(&Bracket::Initialiser));
                        self.open.push(match c {
                            b'(' => Bracket::Paren,
                            _ if initialiser => Bracket::Initialiser,
                            _ => Bracket::Other,
                        });
                    }
                }
                b')' | b']' | b'}' => {
                    out.opened -= 1;
                    out.names_values &= c == b']';
                    if counts {
                        self.open.pop();
                    }
                }
                b';' => out.names_values = false,
                b'+' | b'-' if next == Some(c) => out.names_values = false,
                b'=' if next == Some(b'=') => {
                    // `==`.
                    self.last = c;
                    out.last = Some(c);
                    i += 2;
                    continue;
                }
                b'=' => {
                    // `!=`, `<=` and `>=` compare; `<<=`, `>>=` and every
                    // other `=` assign.
                    let before = |back: usize| i.checked_sub(back).map(|p| line[p]);
                    let compares = match before(1) {
                        Some(b'!') => true,
                        Some(b @ (b'<' | b'>')) => before(2) != Some(b),
                        _ => false,
                    };
                    if !compares {
                        out.names_values = false;
                    }
                }
                _ => {}
            }
            self.last = c;
            out.last = Some(c);
            i += 1;
        }
        out
    }
}

/// Whether a line of code ends with the word `else` (a trailing comment
/// aside): the `if` it ends takes the statement after the line.
fn ends_with_else(text: &[u8]) -> bool {
    let comment = [&b"/*"[..], b"//"]
        .iter()
        .filter_map(|opener| memchr::memmem::find(text, opener))
        .min();
    let code = comment.map_or(text, |at| &text[..at]);
    let code = code.trim_ascii_end();
    code.ends_with(b"else")
        && !code[..code.len() - 4]
            .last()
            .is_some_and(|c| is_ident_byte(*c))
}

/// Whether a line of code (blanks before it trimmed) is a label alone:
/// a name and a colon (`out:`, `regular_folio:`), not `default:` nor a
/// `case`.
fn is_label_line(text: &[u8]) -> bool {
    let name = text.iter().take_while(|c| is_ident_byte(**c)).count();
    let rest = text[name..].trim_ascii();
    name > 0 && !text[0].is_ascii_digit() && &text[..name] != b"default" && rest == b":"
}

/// Replaces bytes with spaces, keeping newlines.
fn blank(out: &mut [u8], start: usize, end: usize) {
    for b in &mut out[start..end] {
        if *b != b'\n' && *b != b'\r' {
            *b = b' ';
        }
    }
}

/// Replaces a type argument by an identifier of the same length, unless it
/// spans lines or already is a single identifier.
fn placeholder(out: &mut [u8], src: &[u8], start: usize, end: usize) {
    let (mut a, mut b) = (start, end);
    while a < b && src[a].is_ascii_whitespace() {
        a += 1;
    }
    while b > a && src[b - 1].is_ascii_whitespace() {
        b -= 1;
    }
    if a == b || src[a..b].contains(&b'\n') || src[a..b].iter().all(|c| is_ident_byte(*c)) {
        return;
    }
    out[a] = b'T';
    for byte in &mut out[a + 1..b] {
        *byte = b'_';
    }
}

/// Splits the bytes between a macro's parentheses at top-level commas.
fn split_args(src: &[u8], start: usize, end: usize) -> Vec<(usize, usize)> {
    let mut args = Vec::new();
    let mut depth = 0usize;
    let mut arg_start = start;
    let mut i = start;
    while i < end {
        match src[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                args.push((arg_start, i));
                arg_start = i + 1;
            }
            b'"' | b'\'' => i = skip_literal(src, i).saturating_sub(1),
            b'/' if src.get(i + 1) == Some(&b'*') || src.get(i + 1) == Some(&b'/') => {
                i = skip_comment(src, i).saturating_sub(1)
            }
            _ => {}
        }
        i += 1;
    }
    args.push((arg_start, end));
    args
}

/// The spellings of `_Alignof`, read as `sizeof`.
const ALIGNOF: &[&[u8]] = &[b"__alignof__", b"__alignof", b"_Alignof", b"alignof"];

/// The words of C (and of GNU C) that are not names: an identifier among
/// them is never a macro this pass rewrites by its position alone.
fn is_keyword(ident: &[u8]) -> bool {
    // A `match` on byte strings compares the length first: cheaper than a
    // scan of the list for every name of a file.
    matches!(
        ident,
        b"auto"
            | b"break"
            | b"case"
            | b"char"
            | b"const"
            | b"continue"
            | b"default"
            | b"do"
            | b"double"
            | b"else"
            | b"enum"
            | b"extern"
            | b"float"
            | b"for"
            | b"goto"
            | b"if"
            | b"inline"
            | b"int"
            | b"long"
            | b"register"
            | b"restrict"
            | b"return"
            | b"short"
            | b"signed"
            | b"sizeof"
            | b"static"
            | b"struct"
            | b"switch"
            | b"typedef"
            | b"union"
            | b"unsigned"
            | b"void"
            | b"volatile"
            | b"while"
            | b"_Bool"
            | b"bool"
            | b"_Complex"
            | b"_Atomic"
            | b"_Noreturn"
            | b"_Thread_local"
            | b"_Static_assert"
            | b"static_assert"
            | b"_Generic"
            | b"_Alignas"
            | b"_Alignof"
            | b"typeof"
            | b"__typeof"
            | b"__typeof__"
            | b"__inline"
            | b"__inline__"
            | b"__volatile__"
            | b"__volatile"
            | b"__const"
            | b"__restrict"
            | b"__signed__"
            | b"asm"
            | b"__asm"
            | b"__asm__"
            | b"__attribute"
            | b"__attribute__"
            | b"__extension__"
            | b"__builtin_offsetof"
            | b"__builtin_va_arg"
            | b"offsetof"
            | b"defined"
    )
}

/// The words that may begin a declaration's type (or its storage class):
/// a name right before one of them at file scope is an annotation macro.
const DECLARATION_WORDS: &[&[u8]] = &[
    b"static",
    b"inline",
    b"__inline",
    b"__inline__",
    b"extern",
    b"void",
    b"char",
    b"short",
    b"int",
    b"long",
    b"unsigned",
    b"signed",
    b"float",
    b"double",
    b"struct",
    b"union",
    b"enum",
    b"bool",
    b"_Bool",
];

/// The offset of the first byte of the line holding `at`.
fn line_start(src: &[u8], at: usize) -> usize {
    memchr::memrchr(b'\n', &src[..at]).map_or(0, |p| p + 1)
}

/// The word starting at `i` (after blanks and comments), if one does.
fn next_word(src: &[u8], i: usize) -> Option<(usize, usize)> {
    let at = next_code_offset(src, i);
    let first = *src.get(at)?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let end = at + src[at..].iter().take_while(|c| is_ident_byte(**c)).count();
    Some((at, end))
}

/// Whether the identifier at `start..end` is a macro that stands for a
/// string: no C expression puts a name right before or after a string
/// literal (`KERN_ERR PFX "can't grab port"`, `"%s: " DRV_NAME`), so a name
/// that is neither a word of the language nor a literal's prefix (`L"..."`)
/// and that a string literal follows (through other such names) or
/// precedes is one. Replaced by a string literal of its length (two bytes
/// at least).
fn is_string_macro(src: &[u8], start: usize, end: usize, after_string: bool) -> bool {
    let ident = &src[start..end];
    if end - start < 2 {
        return false;
    }
    // Most names are followed by punctuation: answered from one byte.
    let after = next_code_offset(src, end);
    let may_lead_to_string =
        matches!(src.get(after), Some(&c) if c == b'"' || c == b'_' || c.is_ascii_alphabetic());
    if !(after_string || may_lead_to_string) || is_keyword(ident) {
        return false;
    }
    if src.get(end) == Some(&b'"') && matches!(ident, b"L" | b"u" | b"U" | b"u8") {
        return false;
    }
    if after_string {
        return true;
    }
    // A string literal after this name, through other names.
    let mut at = end;
    for _ in 0..8 {
        if next_code_byte(src, at) == Some(b'"') {
            return true;
        }
        match next_word(src, at) {
            Some((a, b)) if b - a >= 2 && !is_keyword(&src[a..b]) => at = b,
            _ => return false,
        }
    }
    false
}

/// Whether the `...` at `at` stands between two values (a case range
/// `case 'a' ... 'z':`, a designator range `[0 ... 7] =`), not for the
/// variadic parameters (after `(` or `,`): read as `|`.
fn range_ellipsis(src: &[u8], at: usize) -> bool {
    let before = src[..at].iter().rev().find(|c| !c.is_ascii_whitespace());
    matches!(before, Some(c) if is_ident_byte(*c) || *c == b')' || *c == b'\'')
}

/// The storage words that may come before a declaration's type.
fn is_storage_word(word: &[u8]) -> bool {
    matches!(
        word,
        b"static" | b"extern" | b"inline" | b"__inline" | b"__inline__"
    )
}

/// Whether the name at `start..end`, at file scope, annotates a
/// declaration: it is the first word of its line or follows only storage
/// words there, and the next word begins a type or a storage class
/// (`STATIC int`, `static nokprobe_inline void`). No name of C stands
/// there: a type name is never followed by another type's first word.
///
/// The line before the name is read in `read` (the text neutralised so
/// far: annotations before it are blanks there).
fn annotates_declaration(src: &[u8], read: &[u8], start: usize, end: usize) -> bool {
    let ident = &src[start..end];
    if is_keyword(ident) {
        return false;
    }
    let Some((a, b)) = next_word(src, end) else {
        return false;
    };
    if !DECLARATION_WORDS.contains(&&src[a..b]) || src[end..a].contains(&b'#') {
        return false;
    }
    let line_start = line_start(src, start);
    read[line_start..start]
        .split(|c| c.is_ascii_whitespace())
        .all(|w| w.is_empty() || is_storage_word(w))
}

/// Whether the name at `start..end`, at file scope, annotates a function's
/// declarator: a type (one name, or words of C) precedes it on its line
/// after storage words only, or a `*` does, and another name and `(`
/// follow (`static u32 __xipram foo(`, `struct page *__init_memblock
/// foo(`, `int INIT unlz4(`). No declaration of C puts two names there.
/// The line before the name is read in `read`, as `annotates_declaration`
/// reads it.
fn annotates_declarator(src: &[u8], read: &[u8], start: usize, end: usize) -> bool {
    if is_keyword(&src[start..end]) {
        return false;
    }
    let Some((a, b)) = next_word(src, end) else {
        return false;
    };
    if is_keyword(&src[a..b]) || next_code_byte(src, b) != Some(b'(') || src[end..a].contains(&b'#')
    {
        return false;
    }
    let line_start = line_start(src, start);
    let head = &read[line_start..start];
    if head.trim_ascii_end().ends_with(b"*") {
        return !head.contains(&b'(') && !head.contains(&b'=');
    }
    let words: Vec<&[u8]> = head
        .split(|c| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .collect();
    let Some((last, before)) = words.split_last() else {
        return false;
    };
    let storage = |w: &&[u8]| is_storage_word(w) || *w == b"const";
    last.iter().all(|c| is_ident_byte(*c))
        && !last[0].is_ascii_digit()
        && !storage(last)
        && !matches!(
            *last,
            b"struct" | b"union" | b"enum" | b"return" | b"typedef"
        )
        && before
            .iter()
            .all(|w| storage(w) || DECLARATION_WORDS.contains(w))
}

/// The closing parenthesis of a macro call at the start of a line at file
/// scope that no `;` ends, when a declaration starts on a later line
/// (`NOKPROBE_SYMBOL(f)` then `static int g(...)`): a call cannot stand
/// there, so the macro expands to a whole declaration or to nothing. The
/// declaration after it starts with a storage word, or it declares a
/// function (a `(` before any `;`, `{` or `=`) with a type of C or a name
/// followed by another name or a `*`: the parameter declarations of an
/// old-style definition (`f(a)` then `int a;`) are neither.
fn unterminated_file_scope_call(src: &[u8], start: usize, end: usize) -> Option<usize> {
    let line_start = line_start(src, start);
    if !src[line_start..start]
        .iter()
        .all(|c| c.is_ascii_whitespace())
        || is_keyword(&src[start..end])
    {
        return None;
    }
    let (_, close) = paren_group(src, end)?;
    let (a, b) = next_word(src, close + 1)?;
    if !src[close + 1..a].contains(&b'\n') || src[close + 1..a].contains(&b'#') {
        return None;
    }
    let word = &src[a..b];
    if is_storage_word(word) {
        return Some(close);
    }
    let typed = DECLARATION_WORDS.contains(&word)
        || (!is_keyword(word)
            && next_code_byte(src, b)
                .is_some_and(|c| c == b'*' || c == b'_' || c.is_ascii_alphabetic()));
    let rest = &src[b..];
    let stop = rest
        .iter()
        .position(|c| matches!(c, b';' | b'{' | b'=' | b'('));
    let function = stop.is_some_and(|at| rest[at] == b'(');
    (typed && function).then_some(close)
}

/// The spellings of `offsetof`.
const OFFSETOF: &[&[u8]] = &[b"offsetof", b"__builtin_offsetof", b"offsetofend"];

/// Blanks the `return` or `goto` that begins an argument of the call whose
/// parentheses are at `open` and `close`: only a macro takes code
/// (`PP_ASSERT_WITH_CODE(!result, "failed", return result);`), and the
/// value it returns stays an argument.
fn code_arguments(src: &[u8], out: &mut [u8], open: usize, close: usize) {
    let group = &src[open + 1..close];
    if memchr::memmem::find(group, b"return").is_none()
        && memchr::memmem::find(group, b"goto").is_none()
    {
        return;
    }
    for (a, b) in split_args(src, open + 1, close) {
        if let Some((w, we)) = next_word(src, a) {
            let value_follows = next_word(src, we).is_some_and(|(v, _)| v < b);
            if matches!(&src[w..we], b"return" | b"goto") && value_follows {
                blank(out, w, we);
            }
        }
    }
}

/// Replaces the arguments of the call whose parentheses are at `open` and
/// `close` that are a type (`struct foo`, `union bar *`), which only a
/// macro takes (`btrfs_item_ptr(leaf, slot, struct btrfs_dir_log_item)`),
/// by a same-length identifier.
fn type_arguments(src: &[u8], out: &mut [u8], open: usize, close: usize) {
    let group = &src[open + 1..close];
    let tagged = [&b"struct"[..], b"union", b"enum"];
    if !tagged
        .iter()
        .any(|t| memchr::memmem::find(group, t).is_some())
    {
        return;
    }
    for (a, b) in split_args(src, open + 1, close) {
        let Some((w, we)) = next_word(src, a) else {
            continue;
        };
        if !tagged.contains(&&src[w..we]) {
            continue;
        }
        let Some((t, te)) = next_word(src, we) else {
            continue;
        };
        if t >= b
            || src[te..b]
                .iter()
                .any(|c| !(c.is_ascii_whitespace() || *c == b'*'))
        {
            continue;
        }
        placeholder(out, src, w, b);
    }
}

/// The offset of the `(` at `from`, after blanks on the same line.
fn opening_parenthesis(src: &[u8], from: usize) -> Option<usize> {
    let at = from
        + src[from..]
            .iter()
            .take_while(|c| **c == b' ' || **c == b'\t')
            .count();
    (src.get(at) == Some(&b'(')).then_some(at)
}

/// The parentheses after `from` when they hold statements: a `;` outside
/// any inner bracket (`DEB( if (debugging) printk(...); )`), which no
/// expression holds.
fn statements_group_after(src: &[u8], from: usize) -> Option<(usize, usize)> {
    let open = opening_parenthesis(src, from)?;
    let mut i = open;
    let mut depth = 0usize;
    let mut statement = false;
    while i < src.len() {
        if let Some(past) = past_literal_or_comment(src, i) {
            i = past;
            continue;
        }
        match src[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return (src[i] == b')' && statement).then_some((open, i));
                }
            }
            b';' if depth == 1 => statement = true,
            b'#' if src[..i]
                .iter()
                .rev()
                .take_while(|c| **c != b'\n')
                .all(|c| c.is_ascii_whitespace()) =>
            {
                return None;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Whether the name at `start` begins a statement: what precedes it is
/// the end of one (`;`), a brace, a label's colon or the condition of an
/// `if` or loop.
fn starts_statement(src: &[u8], start: usize) -> bool {
    let before = src[..start].iter().rev().find(|c| !c.is_ascii_whitespace());
    matches!(before, None | Some(b';' | b'{' | b'}' | b':' | b')'))
}

/// The first byte at or after `i` that is neither blank nor in a comment.
fn next_code_byte(src: &[u8], i: usize) -> Option<u8> {
    src.get(next_code_offset(src, i)).copied()
}

/// The offset of that byte (the length of `src` when none is).
fn next_code_offset(src: &[u8], mut i: usize) -> usize {
    loop {
        while i < src.len() && src[i].is_ascii_whitespace() {
            i += 1;
        }
        if src.get(i) == Some(&b'/') && matches!(src.get(i + 1), Some(b'*') | Some(b'/')) {
            i = skip_comment(src, i);
            continue;
        }
        return i;
    }
}

/// True when the first byte after `i` that is neither blank nor in a
/// comment opens a block.
fn block_follows(src: &[u8], i: usize) -> bool {
    next_code_byte(src, i) == Some(b'{')
}

/// True when the bytes after an iterator's closing parenthesis start a loop
/// body (a statement), not the end of an expression.
fn loop_body_follows(src: &[u8], i: usize) -> bool {
    let at = next_code_offset(src, i);
    if matches!(src.get(at..at + 2), Some(b"++") | Some(b"--")) {
        // `++count;`: an increment starts the body.
        return true;
    }
    match src.get(at) {
        None => false,
        Some(
            b';' | b')' | b',' | b']' | b'}' | b'.' | b'?' | b':' | b'=' | b'+' | b'-' | b'|'
            | b'&' | b'<' | b'>',
        ) => {
            // `->`, `==` and friends continue an expression; `-`, `&`, `*`
            // may also start a statement, but a macro call followed by them
            // is far more often an expression.
            false
        }
        Some(_) => true,
    }
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The offset after the literal or comment that starts at `i`, if one does.
fn past_literal_or_comment(src: &[u8], i: usize) -> Option<usize> {
    match src[i] {
        b'"' | b'\'' => Some(skip_literal(src, i)),
        b'/' if matches!(src.get(i + 1), Some(b'*') | Some(b'/')) => Some(skip_comment(src, i)),
        _ => None,
    }
}

fn skip_literal(src: &[u8], start: usize) -> usize {
    let quote = src[start];
    let mut i = start + 1;
    while i < src.len() {
        match src[i] {
            b'\\' => i += 2,
            b'\n' => return i,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    src.len()
}

fn skip_comment(src: &[u8], start: usize) -> usize {
    if src.get(start + 1) == Some(&b'/') {
        match memchr::memchr(b'\n', &src[start..]) {
            Some(n) => start + n,
            None => src.len(),
        }
    } else {
        match memchr::memmem::find(&src[start + 2..], b"*/") {
            Some(n) => start + 2 + n + 2,
            None => src.len(),
        }
    }
}

enum Token {
    Ident(usize, usize),
    /// A string literal, by the offset after its closing quote.
    Str(usize),
    /// `...` at this offset.
    Ellipsis(usize),
    Other,
}

/// A minimal C lexer: identifiers outside comments, literals and
/// preprocessor lines, with the current brace depth.
struct Scanner<'a> {
    src: &'a [u8],
    pos: usize,
    depth: usize,
    line_start: bool,
}

impl Scanner<'_> {
    fn next_token(&mut self) -> Option<Token> {
        let src = self.src;
        while self.pos < src.len() {
            let c = src[self.pos];
            match c {
                b'\n' => {
                    self.line_start = true;
                    self.pos += 1;
                }
                b' ' | b'\t' | b'\r' | b'\x0c' | b'\x0b' => self.pos += 1,
                b'#' if self.line_start => self.skip_directive(),
                b'/' if matches!(src.get(self.pos + 1), Some(b'*') | Some(b'/')) => {
                    self.pos = skip_comment(src, self.pos);
                }
                b'"' | b'\'' => {
                    self.line_start = false;
                    self.pos = skip_literal(src, self.pos);
                    return Some(match c {
                        b'"' => Token::Str(self.pos),
                        _ => Token::Other,
                    });
                }
                b'.' if src.get(self.pos + 1) == Some(&b'.')
                    && src.get(self.pos + 2) == Some(&b'.') =>
                {
                    self.line_start = false;
                    self.pos += 3;
                    return Some(Token::Ellipsis(self.pos - 3));
                }
                b'{' => {
                    self.line_start = false;
                    self.depth += 1;
                    self.pos += 1;
                    return Some(Token::Other);
                }
                b'}' => {
                    self.line_start = false;
                    self.depth = self.depth.saturating_sub(1);
                    self.pos += 1;
                    return Some(Token::Other);
                }
                c if c.is_ascii_alphabetic() || c == b'_' => {
                    self.line_start = false;
                    let start = self.pos;
                    while self.pos < src.len() && is_ident_byte(src[self.pos]) {
                        self.pos += 1;
                    }
                    return Some(Token::Ident(start, self.pos));
                }
                c if c.is_ascii_digit() => {
                    self.line_start = false;
                    while self.pos < src.len()
                        && (is_ident_byte(src[self.pos]) || src[self.pos] == b'.')
                    {
                        self.pos += 1;
                    }
                    return Some(Token::Other);
                }
                _ => {
                    self.line_start = false;
                    self.pos += 1;
                    return Some(Token::Other);
                }
            }
        }
        None
    }

    /// Skips a preprocessor line with its backslash continuations (and any
    /// comment that spans lines inside it).
    fn skip_directive(&mut self) {
        let src = self.src;
        while self.pos < src.len() {
            match src[self.pos] {
                b'\\' if src.get(self.pos + 1) == Some(&b'\n') => self.pos += 2,
                b'\\'
                    if src.get(self.pos + 1) == Some(&b'\r')
                        && src.get(self.pos + 2) == Some(&b'\n') =>
                {
                    self.pos += 3
                }
                b'/' if src.get(self.pos + 1) == Some(&b'*') => {
                    self.pos = skip_comment(src, self.pos)
                }
                b'\n' => return,
                _ => self.pos += 1,
            }
        }
    }
}

/// The offsets of `(` and its matching `)` when the next non-blank byte on
/// the line after `from` is `(`; `None` when a brace or `;` comes first.
fn paren_group(src: &[u8], from: usize) -> Option<(usize, usize)> {
    let open = opening_parenthesis(src, from)?;
    let mut i = open;
    let mut depth = 0usize;
    while i < src.len() {
        if let Some(past) = past_literal_or_comment(src, i) {
            i = past;
            continue;
        }
        match src[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some((open, i));
                }
            }
            b'{' | b'}' | b';' => return None,
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(src: &str) -> String {
        String::from_utf8(neutralise(src.as_bytes(), MacroTable::builtin())).unwrap()
    }

    /// Each input neutralised gives its expected text, of the same length.
    fn check_neutralised(cases: &[(&str, &str)]) {
        for (input, want) in cases {
            let got = run(input);
            assert_eq!(got.len(), input.len());
            assert_eq!(&got, want, "input: {input}");
        }
    }

    #[test]
    fn embedded_table_loads() {
        MacroTable::from_toml(EMBEDDED).unwrap();
    }

    #[test]
    fn keeps_length_and_rewrites_each_category() {
        let cases = [
            ("int f(void __user *p);", "int f(void        *p);"),
            (
                "void f(void) { list_for_each_entry(p, h, m) { g(p); } }",
                "void f(void) { while              (p, h, m) { g(p); } }",
            ),
            (
                "x = container_of(p, struct foo, m);",
                "x = container_of(p, T_________, m);",
            ),
            ("void f(void) __acquires(l);", "void f(void)              ;"),
            (
                "if (a)\n\tx = 1;\n#ifdef C\nelse if (b)\n\tx = 2;\n#endif\nelse\n\tx = 3;\n",
                "if (a)\n\tx = 1;\n        \nelse if (b)\n\tx = 2;\n      \nelse\n\tx = 3;\n",
            ),
            (
                "void f(void) {\n#ifdef C\n\tif (a)\n\t\tgoto out;\nout:\n#endif\n\tg();\n}\n",
                "void f(void) {\n        \n\tif (a)\n\t\tgoto out;\nout:\n      \n\tg();\n}\n",
            ),
            (
                "#ifdef C\nint x;\n#else\nelse y;\n#endif\n",
                "#ifdef C\nint x;\n#else\nelse y;\n#endif\n",
            ),
            (
                "void f(void) { BUILD_BUG_ON(__alignof__ *p > 8); }",
                "void f(void) {                                 ; }",
            ),
            ("/* __user */ \"__init\"", "/* __user */ \"__init\""),
            (
                "#define X __user\nint __user y;",
                "#define X __user\nint        y;",
            ),
            (
                "void f(void) { foo_for_each(a); }",
                "void f(void) { foo_for_each(a); }",
            ),
            (
                "void f(void) { skb_walk_frags(skb, it) { g(it); } }",
                "void f(void) { while         (skb, it) { g(it); } }",
            ),
            (
                "void f(void) { for_gem_ww(&ww, err, true) { g(); } }",
                "void f(void) { while     (&ww, err, true) { g(); } }",
            ),
            (
                "void f(void) { switch (x) { } scoped(x) g(); }",
                "void f(void) { switch (x) { } scoped(x) g(); }",
            ),
            (
                "f(a,\n#ifdef C\n  s->dma_len,\n#else\n  s->len,\n#endif\n  b);\n",
                "f(a,\n        \n  s->dma_len,\n     \n         \n      \n  b);\n",
            ),
            (
                "f(a,\n#ifdef C\n  s->dma_len,\n#else\n  g(s),\n#endif\n  b);\n",
                "f(a,\n#ifdef C\n  s->dma_len,\n#else\n  g(s),\n#endif\n  b);\n",
            ),
            (
                "#ifdef C\nint x;\n#else\nint y;\n#endif\n",
                "#ifdef C\nint x;\n#else\nint y;\n#endif\n",
            ),
            (
                "struct o o = {\n.a = f,\n#ifdef C\n.b = g,\n#endif\n.c = h,\n};\n",
                "struct o o = {\n.a = f,\n        \n.b = g,\n      \n.c = h,\n};\n",
            ),
            (
                "struct o o = {\n.a = f,\n#ifdef C\n.b = g\n#endif\n};\n",
                "struct o o = {\n.a = f,\n#ifdef C\n.b = g\n#endif\n};\n",
            ),
            (
                "void f(void) {\n#ifdef C\ng();\n#endif\n}\n",
                "void f(void) {\n#ifdef C\ng();\n#endif\n}\n",
            ),
            (
                "f(a,\n#if A\n  x,\n#elif B\n  y <= 1,\n#else\n  z >>= 1,\n#endif\n  b);\n",
                "f(a,\n#if A\n  x,\n#elif B\n  y <= 1,\n#else\n  z >>= 1,\n#endif\n  b);\n",
            ),
        ];
        check_neutralised(&cases);
    }

    /// Each rule that reads a macro by where it stands, with a case it
    /// rewrites and one it must leave as written.
    #[test]
    fn reads_macros_by_their_position() {
        let cases = [
            // A type as a call's argument.
            (
                "void f(void) { p = btrfs_item_ptr(l, s, struct log_item); }",
                "void f(void) { p = btrfs_item_ptr(l, s, T______________); }",
            ),
            (
                "void f(void) { p = g(a, (struct log_item *)b); }",
                "void f(void) { p = g(a, (struct log_item *)b); }",
            ),
            ("int f(struct page *, int);", "int f(struct page *, int);"),
            // A member path in offsetof.
            (
                "void f(void) { n = offsetof(struct v, a.b[1]); }",
                "void f(void) { n = offsetof(struct v, T_____); }",
            ),
            // Macros that stand for strings.
            (
                "void f(void) { printk(KERN_ERR PFX \"port %d\", p); }",
                "void f(void) { printk(\"______\" \"_\" \"port %d\", p); }",
            ),
            (
                "char *s = \"v\" DRV_VERSION;",
                "char *s = \"v\" \"_________\";",
            ),
            (
                "void f(void) { return \"x\"; }",
                "void f(void) { return \"x\"; }",
            ),
            ("w = L\"x\";", "w = L\"x\";"),
            // Case and designator ranges; variadic parameters stay.
            (
                "void f(int x, ...) { switch (x) { case 'a' ... 'z': g(); } }",
                "void f(int x, ...) { switch (x) { case 'a' |   'z': g(); } }",
            ),
            (
                "int t[8] = { [0 ... 7] = 1 };",
                "int t[8] = { [0 |   7] = 1 };",
            ),
            // Annotations of a declaration at file scope.
            ("STATIC int\nf(void) {}", "       int\nf(void) {}"),
            (
                "static nokprobe_inline void f(void) {}",
                "static                 void f(void) {}",
            ),
            (
                "static u32 __xipram f(void) {}",
                "static u32          f(void) {}",
            ),
            (
                "struct page *__head f(void) {}",
                "struct page *       f(void) {}",
            ),
            ("static u64 f(int idx) {}", "static u64 f(int idx) {}"),
            ("size_t const n = 1;", "size_t const n = 1;"),
            // A file-scope macro with no `;` before a declaration.
            (
                "NOKPROBE_SYMBOL(g)\nstatic int f(void) {}",
                "                  \nstatic int f(void) {}",
            ),
            ("f(a, b)\nint a;\n{}", "f(a, b)\nint a;\n{}"),
            // Statements as a macro's argument.
            (
                "void f(void) { DEB( if (d) g(); ) h(); }",
                "void f(void) {    { if (d) g(); } h(); }",
            ),
            (
                "void f(void) { x = M(({ g(); 1; })); }",
                "void f(void) { x = M(({ g(); 1; })); }",
            ),
            (
                "void f(void) { CHECK(!r, \"bad\", return r); }",
                "void f(void) { CHECK(!r, \"bad\",        r); }",
            ),
            // Iterators named like one, with a statement for body.
            (
                "void f(void) { xt_entry_foreach(it, b, n) g(it); }",
                "void f(void) { while           (it, b, n) g(it); }",
            ),
            (
                "void f(void) { for_i915_gem_ww(&ww, err, true) err = g(); }",
                "void f(void) { while          (&ww, err, true) err = g(); }",
            ),
            // Alignment queries of an expression, attributes.
            (
                "void f(void) { n = __alignof__(*p); }",
                "void f(void) { n = sizeof     (*p); }",
            ),
            (
                "void f(void) { static int r __attribute__((aligned(8))); }",
                "void f(void) { static int r                            ; }",
            ),
            // A dangling `else` or `} else` continued past a group.
            (
                "if (a)\n\tx = 1;\n#ifdef C\nelse if (b)\n\tx = 2;\nelse\n#endif\n\tx = 3;\n",
                "if (a)\n\tx = 1;\n        \nelse if (b)\n\tx = 2;\nelse\n      \n\tx = 3;\n",
            ),
            (
                "if (a)\n\tx = 1;\n#ifdef C\nelse // b /* c */\n#endif\n\tx = 3;\n",
                "if (a)\n\tx = 1;\n        \nelse // b /* c */\n      \n\tx = 3;\n",
            ),
            (
                "void f(void) { printk(KERN_ERR /* x */ \"port\"); }",
                "void f(void) { printk(\"______\" /* x */ \"port\"); }",
            ),
            (
                "if (a) {\n\tx = 1;\n#if C\n} else if (b) {\n\tx = 2;\n#endif\n}\n",
                "if (a) {\n\tx = 1;\n     \n} else if (b) {\n\tx = 2;\n      \n}\n",
            ),
        ];
        check_neutralised(&cases);
    }
}
