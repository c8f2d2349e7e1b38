//! Function-like macro definitions (`#define name(a, b...) body`) read from
//! a file's bytes, and their bodies as tokens.
//!
//! tree-sitter-c keeps a macro body as one opaque `preproc_arg`, and GNU
//! variadic parameters (`args...`) are not in its grammar, so definitions are
//! read here from the text: a line whose first non-blank bytes are `#`,
//! optional blanks and `define`, the name followed at once by `(`, and the
//! body up to the first newline not escaped by a backslash. The engine
//! summarises what a macro does with each argument from these tokens.

/// One token of a macro body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    /// An identifier or keyword.
    Ident(String),
    /// A string or character literal (its contents do not matter).
    Literal,
    /// A number.
    Number,
    /// Punctuation, one or two bytes (`##`, `->` and `#` are kept whole).
    Punct(String),
}

/// A function-like macro definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MacroDef {
    pub name: String,
    /// The named parameters, in order.
    pub params: Vec<String>,
    /// The name the variadic arguments have in the body: `__VA_ARGS__`
    /// for `...`, `args` for GNU `args...`.
    pub variadic: Option<String>,
    pub body: Vec<Token>,
    /// The byte offset of the `#`.
    pub offset: usize,
}

impl MacroDef {
    /// The function this macro hands its arguments to unchanged, when the
    /// body is one call (`hl_dma_map_sgtable_caller(hdev, sgt, dir,
    /// __func__)`) whose first arguments are the parameters in order and
    /// whose other arguments name none of them: a use of the macro is then
    /// a call of that function with the same arguments in the same
    /// positions. Variadic macros forward nothing.
    pub fn forwarded_to(&self) -> Option<&str> {
        if self.variadic.is_some() {
            return None;
        }
        let punct = |t: &Token, p: &str| matches!(t, Token::Punct(q) if q == p);
        let [Token::Ident(callee), open, args @ .., close] = self.body.as_slice() else {
            return None;
        };
        if !punct(open, "(") || !punct(close, ")") || self.params.contains(callee) {
            return None;
        }
        if *callee == self.name {
            return None;
        }
        // The arguments at the call's own level.
        let mut split: Vec<&[Token]> = Vec::new();
        let (mut depth, mut start) = (0usize, 0usize);
        for (i, t) in args.iter().enumerate() {
            match t {
                Token::Punct(p) if p == "(" || p == "[" || p == "{" => depth += 1,
                Token::Punct(p) if p == ")" || p == "]" || p == "}" => {
                    depth = depth.checked_sub(1)?;
                }
                Token::Punct(p) if p == "," && depth == 0 => {
                    split.push(&args[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        if depth != 0 {
            return None;
        }
        if !args.is_empty() {
            split.push(&args[start..]);
        }
        if split.len() < self.params.len() {
            return None;
        }
        let names_param = |arg: &[Token]| {
            arg.iter()
                .any(|t| matches!(t, Token::Ident(n) if self.params.contains(n)))
        };
        let in_place = self
            .params
            .iter()
            .zip(&split)
            .all(|(p, arg)| matches!(arg, [Token::Ident(n)] if n == p));
        (in_place && !split[self.params.len()..].iter().any(|a| names_param(a)))
            .then_some(callee.as_str())
    }

    /// The struct members the body names after `->` or `.`, each once, in
    /// body order, with the position of the parameter the member is
    /// reached from when it follows one directly (`(b)->pages`, `b.pages`);
    /// `None` when it follows anything else (`(b)->ring.pages`, a global).
    /// A member that is itself a parameter (`d->member`) is the one each
    /// use names in that argument (`MemberReach::named_by`).
    pub fn members(&self) -> Vec<MemberReach> {
        let body = &self.body;
        let mut out: Vec<MemberReach> = Vec::new();
        for (i, tok) in body.iter().enumerate() {
            let Token::Ident(member) = tok else {
                continue;
            };
            let Some(Token::Punct(arrow)) = i.checked_sub(1).and_then(|j| body.get(j)) else {
                continue;
            };
            if arrow != "->" && arrow != "." {
                continue;
            }
            // What the member follows, through the parentheses around it.
            let mut at = i - 1;
            while at > 0 && matches!(&body[at - 1], Token::Punct(p) if p == ")") {
                at -= 1;
            }
            let from = match at.checked_sub(1).map(|j| &body[j]) {
                Some(Token::Ident(name)) => self.params.iter().position(|p| p == name),
                _ => None,
            };
            let reach = MemberReach {
                member: member.clone(),
                from,
                named_by: self.params.iter().position(|p| p == member),
            };
            if !out.contains(&reach) {
                out.push(reach);
            }
        }
        out
    }

    /// The body's name for argument number `position` of a use.
    pub fn param_at(&self, position: usize) -> Option<&str> {
        self.params
            .get(position)
            .map(String::as_str)
            .or(self.variadic.as_deref())
    }
}

/// A struct member a macro's body names (`MacroDef::members`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberReach {
    pub member: String,
    /// The position of the parameter the member directly follows.
    pub from: Option<usize>,
    /// The position of the parameter that is the member's name: each use
    /// names the member in that argument (`DEFINE_DROP(name, page)` for a
    /// body reaching `d->member`).
    pub named_by: Option<usize>,
}

/// The uses of the function-like macro `name` in `src` that stand outside
/// the byte ranges `skip` (sorted, not overlapping) and outside
/// definitions (`#define name(`), each as its offset and its arguments'
/// texts, trimmed. A use whose argument list does not close before the
/// end of its statement (a `;` at its own level) is left out.
pub fn uses_outside(src: &[u8], name: &str, skip: &[(usize, usize)]) -> Vec<(usize, Vec<String>)> {
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut out = Vec::new();
    for at in memchr::memmem::find_iter(src, name.as_bytes()) {
        let end = at + name.len();
        if at.checked_sub(1).is_some_and(|p| is_word(src[p]))
            || src.get(end).is_some_and(|&b| is_word(b))
        {
            continue;
        }
        let inside = skip.partition_point(|&(_, e)| e <= at);
        if skip.get(inside).is_some_and(|&(s, _)| s <= at) {
            continue;
        }
        let line = memchr::memrchr(b'\n', &src[..at]).map_or(0, |p| p + 1);
        let head: Vec<u8> = src[line..at]
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        if head == b"#define" {
            continue;
        }
        let open = end
            + src[end..]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
        if src.get(open) != Some(&b'(') {
            continue;
        }
        if let Some(args) = arguments(src, open) {
            out.push((at, args));
        }
    }
    out
}

/// The byte ranges of a file's preprocessor lines (`#` first on the line,
/// blanks aside), each with the lines a backslash continues it onto: a
/// macro's body is there, which the macro checks read, not code.
pub fn directive_ranges(src: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut line = 0;
    while line < src.len() {
        let end_of =
            |from: usize| memchr::memchr(b'\n', &src[from..]).map_or(src.len(), |p| from + p);
        let first = line
            + src[line..]
                .iter()
                .take_while(|&&b| b == b' ' || b == b'\t')
                .count();
        let mut end = end_of(line);
        if src.get(first) == Some(&b'#') {
            // Continued while the line ends with a backslash (blanks aside).
            loop {
                let text = src[line..end].trim_ascii_end();
                let continued = text.ends_with(b"\\") && end < src.len();
                if !continued {
                    break;
                }
                end = end_of(end + 1);
            }
            out.push((line, end));
        }
        line = end + 1;
    }
    out
}

/// The byte ranges of a file's comments (`/* ... */`, `// ...` to the end
/// of the line), string and character literals stepped over.
pub fn comment_ranges(src: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < src.len() {
        match (src[i], src.get(i + 1)) {
            (b'/', Some(b'*')) => {
                let end =
                    memchr::memmem::find(&src[i + 2..], b"*/").map_or(src.len(), |p| i + 2 + p + 2);
                out.push((i, end));
                i = end;
            }
            (b'/', Some(b'/')) => {
                let end = memchr::memchr(b'\n', &src[i..]).map_or(src.len(), |p| i + p);
                out.push((i, end));
                i = end;
            }
            (quote @ (b'"' | b'\''), _) => {
                i += 1;
                while i < src.len() && src[i] != quote && src[i] != b'\n' {
                    i += if src[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// A struct member reached (`->member`, `.member`) inside the argument list
/// of a call or macro use at file scope: `DEFINE_FREE(toy, struct toy *,
/// put_page(_T->page))` reaches `page` in the arguments of `DEFINE_FREE`.
#[derive(Clone, Debug)]
pub struct MemberInArguments {
    /// The offset of the member's name.
    pub at: usize,
    /// The outermost call around it (`enclosing_call_name`).
    pub macro_name: String,
    /// The offset of that call's `(`.
    pub open: usize,
}

/// Every member reached in a call's argument list in the byte ranges `gaps`
/// of `src` (sorted, not overlapping), by its name: each use of a name
/// reached through `->` or `.` (not a designator, `.member = value`) that
/// stands in a call's argument list, in text order. One pass over the
/// ranges finds them all.
pub fn all_members_in_arguments(
    src: &[u8],
    gaps: &[(usize, usize)],
) -> std::collections::BTreeMap<String, Vec<MemberInArguments>> {
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut out = std::collections::BTreeMap::<String, Vec<MemberInArguments>>::new();
    for &(g0, g1) in gaps {
        let mut i = g0;
        while i < g1 {
            if !is_word(src[i]) {
                i += 1;
                continue;
            }
            let at = i;
            while i < g1 && is_word(src[i]) {
                i += 1;
            }
            // A name running on past the range, or preceded by another
            // word character, is no member this range reaches.
            if src.get(i).is_some_and(|&b| is_word(b)) || (at > 0 && is_word(src[at - 1])) {
                continue;
            }
            if let Some(found) = member_in_arguments(src, at, i) {
                let member = String::from_utf8_lossy(&src[at..i]).into_owned();
                out.entry(member).or_default().push(found);
            }
        }
    }
    out
}

/// The name at `at..end` of `src` as a member reached (`->name`,
/// `.name`, not a designator `.name = value`) inside a call's argument
/// list.
fn member_in_arguments(src: &[u8], at: usize, end: usize) -> Option<MemberInArguments> {
    let before = &src[..at].trim_ascii_end();
    let reached = before.ends_with(b"->") || (before.ends_with(b".") && !before.ends_with(b".."));
    // A designator (`.page = NULL`) names the field it fills.
    let after = src[end..].trim_ascii_start();
    let designator = before.ends_with(b".") && after.starts_with(b"=") && !after.starts_with(b"==");
    if !reached || designator {
        return None;
    }
    let (macro_name, open) = enclosing_call_name(src, at)?;
    Some(MemberInArguments {
        at,
        macro_name,
        open,
    })
}

/// The name of the outermost call whose argument list holds the byte at
/// `at`, within the statement or declaration around it (back to a `;`, a
/// brace or a preprocessor line at its own level), with the offset of its
/// `(`: `DEFINE_FREE` for a byte of `DEFINE_FREE(toy, struct toy *,
/// put_page(_T->page))`. Looks back `ENCLOSING_CALL_BYTES` at most.
pub fn enclosing_call_name(src: &[u8], at: usize) -> Option<(String, usize)> {
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let floor = at.saturating_sub(ENCLOSING_CALL_BYTES);
    let (mut depth, mut open) = (0usize, None);
    let mut i = at;
    while i > floor {
        i -= 1;
        match src[i] {
            b')' | b']' | b'}' => depth += 1,
            b'(' if depth == 0 => open = Some(i),
            b'(' | b'[' | b'{' if depth > 0 => depth -= 1,
            b'{' | b'[' => break,
            b';' if depth == 0 => break,
            b'\n' if depth == 0 && src.get(i + 1) == Some(&b'#') => break,
            _ => {}
        }
    }
    let open = open?;
    let end = open
        - src[..open]
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
    let start = end - src[..end].iter().rev().take_while(|&&b| is_word(b)).count();
    (start < end).then(|| (String::from_utf8_lossy(&src[start..end]).into_owned(), open))
}

/// How far back `enclosing_call_name` looks for the call.
pub const ENCLOSING_CALL_BYTES: usize = 16 * 1024;

/// The texts of the arguments of the list opening at `open`, trimmed;
/// `None` when a `;` comes before it closes.
fn arguments(src: &[u8], open: usize) -> Option<Vec<String>> {
    let (ranges, _) = argument_ranges(src, open)?;
    let piece = |(a, b): (usize, usize)| String::from_utf8_lossy(&src[a..b]).trim().to_string();
    Some(ranges.into_iter().map(piece).collect())
}

/// The byte ranges of the arguments of the list whose `(` is at `open`,
/// split at the commas of its own level, and the offset of its `)`; `None`
/// when a `;` at its own level comes first (a list that does not close
/// where its statement ends) or the text ends.
pub fn argument_ranges(src: &[u8], open: usize) -> Option<(Vec<(usize, usize)>, usize)> {
    let (mut depth, mut start) = (0usize, open + 1);
    let mut out = Vec::new();
    for (i, &b) in src.iter().enumerate().skip(open) {
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    out.push((start, i));
                    return Some((out, i));
                }
            }
            b',' if depth == 1 => {
                out.push((start, i));
                start = i + 1;
            }
            b';' if depth == 1 => return None,
            _ => {}
        }
    }
    None
}

/// Where a file's function-like macro definitions may begin: the lines
/// whose first non-blank bytes are `#`, optional blanks, `define`, blanks
/// and a name followed at once by `(`. Built once per file (one pass over
/// its `#` bytes), so asking for a macro's definitions reads only these
/// lines instead of searching the whole file for the name.
#[derive(Clone, Debug, Default)]
pub struct DefineIndex {
    /// (start of the line, start and end of the name), in file order, in
    /// 32 bits (tree-sitter measures files in 32 bits too): `head` reads
    /// one.
    heads: Vec<(u32, u32, u32)>,
    /// The indices of `heads` sorted by the name's text, then in file
    /// order: a name's heads are found by a binary search.
    by_name: Box<[u32]>,
    /// The heads (indices into `heads`) whose body begins with a name and
    /// `(`: the definitions that may forward to a function
    /// (`MacroDef::forwarded_to`).
    calls: Vec<usize>,
}

impl DefineIndex {
    /// The definition heads of `src`.
    pub fn of(src: &[u8]) -> DefineIndex {
        let blank = |b: u8| b == b' ' || b == b'\t';
        let mut heads = Vec::new();
        let mut calls = Vec::new();
        for hash in memchr::memchr_iter(b'#', src) {
            let line = hash - src[..hash].iter().rev().take_while(|&&b| blank(b)).count();
            if line > 0 && src[line - 1] != b'\n' {
                continue;
            }
            let mut at = hash + 1;
            at += src[at..].iter().take_while(|&&b| blank(b)).count();
            let Some(rest) = src[at..].strip_prefix(b"define") else {
                continue;
            };
            let skip = rest.iter().take_while(|&&b| blank(b)).count();
            if skip == 0 {
                continue;
            }
            let name = at + b"define".len() + skip;
            let len = src[name..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                .count();
            if len > 0 && src.get(name + len) == Some(&b'(') {
                if body_begins_with_call(src, name + len) {
                    calls.push(heads.len());
                }
                heads.push((line as u32, name as u32, (name + len) as u32));
            }
        }
        let mut by_name: Vec<u32> = (0..heads.len() as u32).collect();
        // A stable sort: the heads of one name stay in file order.
        by_name.sort_by(|&a, &b| {
            let (_, a0, a1) = heads[a as usize];
            let (_, b0, b1) = heads[b as usize];
            src[a0 as usize..a1 as usize].cmp(&src[b0 as usize..b1 as usize])
        });
        DefineIndex {
            heads,
            by_name: by_name.into(),
            calls,
        }
    }

    /// Head `i`: (start of the line, start and end of the name).
    fn head(&self, i: usize) -> (usize, usize, usize) {
        let (line, start, end) = self.heads[i];
        (line as usize, start as usize, end as usize)
    }

    /// The names of the definitions whose body begins with a call, each
    /// once, in file order: those that may forward to a function.
    pub fn forwarding_names<'s>(&self, src: &'s [u8]) -> Vec<&'s [u8]> {
        let mut out: Vec<&[u8]> = Vec::new();
        for &h in &self.calls {
            let (_, start, end) = self.head(h);
            if !out.contains(&&src[start..end]) {
                out.push(&src[start..end]);
            }
        }
        out
    }

    /// The names of the definition heads of `src` (the bytes this index was
    /// built from), each once, in the order of their text.
    pub fn names<'s>(&'s self, src: &'s [u8]) -> impl Iterator<Item = &'s [u8]> + 's {
        let mut last: Option<&'s [u8]> = None;
        self.by_name.iter().filter_map(move |&h| {
            let (_, start, end) = self.head(h as usize);
            let name = &src[start..end];
            (last != Some(name)).then(|| {
                last = Some(name);
                name
            })
        })
    }

    /// Every function-like macro definition of `src` (the bytes this index
    /// was built from), in file order.
    pub fn definitions(&self, src: &[u8]) -> Vec<MacroDef> {
        self.heads
            .iter()
            .filter_map(|&(line, _, _)| {
                let line = line as usize;
                definition(src, line, logical_line_end(src, line))
            })
            .collect()
    }

    /// The function-like macro definitions of `name` in `src` (the bytes
    /// this index was built from), in file order: what a search of every
    /// occurrence of `name(` as a whole word finds, one definition per
    /// occurrence on a definition's first line.
    pub fn definitions_of(&self, src: &[u8], name: &str) -> Vec<MacroDef> {
        let name_of = |h: u32| {
            let (_, start, end) = self.head(h as usize);
            &src[start..end]
        };
        let from = self
            .by_name
            .partition_point(|&h| name_of(h) < name.as_bytes());
        let heads = self.by_name[from..]
            .iter()
            .take_while(|&&h| name_of(h) == name.as_bytes())
            .map(|&h| self.head(h as usize));
        let mut out = Vec::new();
        for (line, _, _) in heads {
            let line_end = memchr::memchr(b'\n', &src[line..]).map_or(src.len(), |p| line + p);
            for at in memchr::memmem::find_iter(&src[line..line_end], name.as_bytes()) {
                if let Some(def) = definition_at(src, line, line + at, name) {
                    out.push(def);
                }
            }
        }
        out
    }
}

/// The definition of `name` on the line starting at `line`, when the
/// occurrence of `name` at `at` (on that line) is a whole word followed by
/// `(` and the line is its function-like `#define`.
fn definition_at(src: &[u8], line: usize, at: usize, name: &str) -> Option<MacroDef> {
    let word_before = at
        .checked_sub(1)
        .is_some_and(|p| src[p].is_ascii_alphanumeric() || src[p] == b'_');
    if word_before || src.get(at + name.len()) != Some(&b'(') {
        return None;
    }
    definition(src, line, logical_line_end(src, line)).filter(|def| def.name == name)
}

/// Whether the body of the definition whose parameter list opens at
/// `open` begins with a name followed by `(`, on its first lines.
fn body_begins_with_call(src: &[u8], open: usize) -> bool {
    let line_end = logical_line_end(src, open);
    let Some(close) = memchr::memchr(b')', &src[open..line_end]) else {
        return false;
    };
    let skip = |mut i: usize| {
        while i < line_end && (src[i].is_ascii_whitespace() || src[i] == b'\\') {
            i += 1;
        }
        i
    };
    let at = skip(open + close + 1);
    let ident = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    if !src
        .get(at)
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
    {
        return false;
    }
    let len = src[at..line_end].iter().take_while(|b| ident(b)).count();
    src.get(skip(at + len)) == Some(&b'(')
}

/// The end of the logical line starting at `at`: the first newline not
/// preceded by a backslash, or the end of the file.
fn logical_line_end(src: &[u8], at: usize) -> usize {
    let mut i = at;
    while let Some(nl) = memchr::memchr(b'\n', &src[i..]) {
        let p = i + nl;
        let escaped =
            p > 0 && (src[p - 1] == b'\\' || (src[p - 1] == b'\r' && p > 1 && src[p - 2] == b'\\'));
        if !escaped {
            return p;
        }
        i = p + 1;
    }
    src.len()
}

/// The definition on the logical line `src[start..end]`, when it is a
/// function-like `#define`.
fn definition(src: &[u8], start: usize, end: usize) -> Option<MacroDef> {
    let line = &src[start..end];
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let hash = line.iter().position(|b| !blank(b))?;
    if line[hash] != b'#' {
        return None;
    }
    let rest = &line[hash + 1..];
    let skip = rest.iter().take_while(|b| blank(b)).count();
    let rest = rest[skip..].strip_prefix(b"define")?;
    let skip = rest.iter().take_while(|b| blank(b)).count();
    if skip == 0 {
        return None;
    }
    let rest = &rest[skip..];
    let name_len = rest
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count();
    if name_len == 0 || rest.get(name_len) != Some(&b'(') {
        return None;
    }
    let name = String::from_utf8_lossy(&rest[..name_len]).into_owned();
    let close = rest[name_len..].iter().position(|&b| b == b')')? + name_len;
    let (params, variadic) = parameters(&rest[name_len + 1..close])?;
    Some(MacroDef {
        name,
        params,
        variadic,
        body: tokens(&rest[close + 1..]),
        offset: start + hash,
    })
}

/// Named parameters and the variadic name of a parameter list's text.
fn parameters(list: &[u8]) -> Option<(Vec<String>, Option<String>)> {
    let text = String::from_utf8_lossy(list).replace("\\\n", " ");
    let mut params = Vec::new();
    let mut variadic = None;
    for p in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if variadic.is_some() {
            return None;
        }
        if p == "..." {
            variadic = Some("__VA_ARGS__".to_string());
        } else if let Some(named) = p.strip_suffix("...") {
            variadic = Some(named.trim().to_string());
        } else if p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            params.push(p.to_string());
        } else {
            return None;
        }
    }
    Some((params, variadic))
}

/// The tokens of a macro body; comments and line continuations are blanks.
pub fn tokens(body: &[u8]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if b.is_ascii_whitespace() || b == b'\\' {
            i += 1;
        } else if body[i..].starts_with(b"/*") {
            i = memchr::memmem::find(&body[i + 2..], b"*/").map_or(body.len(), |p| i + 2 + p + 2);
        } else if body[i..].starts_with(b"//") {
            i = memchr::memchr(b'\n', &body[i..]).map_or(body.len(), |p| i + p);
        } else if b == b'"' || b == b'\'' {
            i += 1;
            while i < body.len() && body[i] != b {
                i += if body[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push(Token::Literal);
        } else if b.is_ascii_alphabetic() || b == b'_' {
            let n = body[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
            out.push(Token::Ident(
                String::from_utf8_lossy(&body[i..i + n]).into_owned(),
            ));
            i += n;
        } else if b.is_ascii_digit() {
            let n = body[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'.' || **c == b'_')
                .count();
            out.push(Token::Number);
            i += n;
        } else {
            let two = body.get(i..i + 2);
            let n = match two {
                Some(b"##") | Some(b"->") => 2,
                _ => 1,
            };
            out.push(Token::Punct(
                String::from_utf8_lossy(&body[i..i + n]).into_owned(),
            ));
            i += n;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every occurrence of `name(` as a whole word whose line is its
    /// `#define`: the search of the whole file the index replaces.
    fn scanned(src: &[u8], name: &str) -> Vec<MacroDef> {
        memchr::memmem::find_iter(src, name.as_bytes())
            .filter_map(|at| {
                let line = memchr::memrchr(b'\n', &src[..at]).map_or(0, |p| p + 1);
                definition_at(src, line, at, name)
            })
            .collect()
    }

    /// A name's definitions as the index finds them, checked against a
    /// scan of the whole text; a name with definitions is among the
    /// index's names, which are sorted and each once.
    fn definitions_of(src: &[u8], name: &str) -> Vec<MacroDef> {
        let index = DefineIndex::of(src);
        let found = index.definitions_of(src, name);
        assert_eq!(found, scanned(src, name), "{name}");
        let names: Vec<&[u8]> = index.names(src).collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
        assert!(
            found.is_empty() || names.contains(&name.as_bytes()),
            "{name} is defined but not among the names {names:?}"
        );
        found
    }

    fn idents(body: &[Token]) -> Vec<&str> {
        body.iter()
            .filter_map(|t| match t {
                Token::Ident(s) => Some(s.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn reads_gnu_and_c99_variadic_definitions_across_continuations() {
        let src = b"#define dbg(fmt, args...) \\\n\tpr_debug(\"%s\" fmt, __func__, ##args)\n\
# define err(fmt, ...) dev_err(d, fmt, ##__VA_ARGS__) /* note */\n\
#define PLAIN 1\n#define call (x)\nint f(void);\n";
        let dbg = definitions_of(src, "dbg");
        assert_eq!(dbg.len(), 1);
        assert_eq!(dbg[0].name, "dbg");
        assert_eq!(dbg[0].params, ["fmt"]);
        assert_eq!(dbg[0].variadic.as_deref(), Some("args"));
        assert_eq!(
            idents(&dbg[0].body),
            ["pr_debug", "fmt", "__func__", "args"]
        );
        assert_eq!(dbg[0].param_at(3), Some("args"));
        // `err(` inside `dev_err(` is not a definition of `err`.
        let err = definitions_of(src, "err");
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].variadic.as_deref(), Some("__VA_ARGS__"));
        assert_eq!(
            Some(err[0].offset),
            memchr::memmem::find(src, b"# define err")
        );
        // An object-like macro, one whose name is followed by a blank, and
        // a function are not function-like macro definitions.
        for name in ["PLAIN", "call", "f"] {
            assert!(definitions_of(src, name).is_empty(), "{name}");
        }
    }

    #[test]
    fn the_index_finds_what_a_search_of_the_whole_file_finds() {
        let src = b"#define ioread(a) ioread(a)\n\t #  define  late(x) \\\n#define late(y) y\n\
x = 1; # define not_at_line_start(z) z\n#define\tbare(\n#define nocall 1\n#defineglued(a) a\n\
#define twice(a) twice(a) + twice (a)\n#define sp (x) x\n#define after(a) a\n\
#define ioread(b) b\n#";
        for name in [
            "after",
            "ioread",
            "late",
            "not_at_line_start",
            "bare",
            "nocall",
            "glued",
            "defineglued",
            "twice",
            "sp",
            "",
            "a b",
        ] {
            definitions_of(src, name);
        }
        // A body calling its own name repeats the definition, as the search
        // of every occurrence does.
        // Two more, one of them later in the file than other names': in
        // file order.
        let ioread = definitions_of(src, "ioread");
        assert_eq!(ioread.len(), 3);
        assert_eq!(ioread[2].params, ["b"]);
        assert_eq!(definitions_of(src, "twice").len(), 2);
        // A continuation line is read as the start of its own line, here a
        // definition of `late` in its own right.
        assert_eq!(definitions_of(src, "late").len(), 2);
        assert!(definitions_of(src, "not_at_line_start").is_empty());
    }

    #[test]
    fn members_say_which_parameter_they_are_reached_from() {
        let src = b"#define ring_page(r, i) ((r)->pages[i])
#define deep(q) ((q)->ring.pages + g.count)
#define plain(x) x
";
        let all = DefineIndex::of(src).definitions(src);
        let names: Vec<&str> = all.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["ring_page", "deep", "plain"]);
        let reach = |member: &str, from: Option<usize>| MemberReach {
            member: member.to_string(),
            from,
            named_by: None,
        };
        assert_eq!(all[0].members(), [reach("pages", Some(0))]);
        // `pages` follows `ring`, not a parameter; `g` is no parameter.
        assert_eq!(
            all[1].members(),
            [
                reach("ring", Some(0)),
                reach("pages", None),
                reach("count", None)
            ]
        );
        assert!(all[2].members().is_empty());
    }

    #[test]
    fn a_member_named_by_a_parameter_is_the_one_each_use_names() {
        let src =
            b"#define DEFINE_DROP(name, member) void name(struct s *d) { put_page(d->member); }\n";
        let all = DefineIndex::of(src).definitions(src);
        let members = all[0].members();
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].member, "member");
        assert_eq!(members[0].named_by, Some(1));
    }

    #[test]
    fn uses_are_found_outside_the_ranges_skipped_and_outside_definitions() {
        let src = b"#define DROP(n, m) void n(void) { }\n\
DROP(toy_a, page)\n\
void f(void) { DROP(x, y); }\n\
DROP(toy_b, f(a, b), { c; })\n\
MY_DROP(z, w)\nDROP(broken, ;\n";
        let f_start = src.windows(6).position(|w| w == b"void f").unwrap();
        let f_end = f_start + src[f_start..].iter().position(|&b| b == b'\n').unwrap();
        let uses = uses_outside(src, "DROP", &[(f_start, f_end)]);
        let args: Vec<Vec<String>> = uses.into_iter().map(|(_, a)| a).collect();
        assert_eq!(
            args,
            vec![
                vec!["toy_a".to_string(), "page".to_string()],
                vec![
                    "toy_b".to_string(),
                    "f(a, b)".to_string(),
                    "{ c; }".to_string()
                ],
            ]
        );
    }

    /// The uses of one member `all_members_in_arguments` must find: a
    /// search of the text for that member alone.
    fn members_in_arguments(
        src: &[u8],
        gaps: &[(usize, usize)],
        member: &str,
    ) -> Vec<MemberInArguments> {
        let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let finder = memchr::memmem::Finder::new(member.as_bytes());
        let mut out = Vec::new();
        for &(g0, g1) in gaps {
            for p in finder.find_iter(&src[g0..g1]) {
                let at = g0 + p;
                let end = at + member.len();
                if src.get(end).is_some_and(|&b| is_word(b)) {
                    continue;
                }
                out.extend(member_in_arguments(src, at, end));
            }
        }
        out
    }

    #[test]
    fn all_members_in_arguments_are_each_members_search_in_one_pass() {
        let src = b"DEFINE_FREE(toy, struct toy *, put_page(_T->page))\n\
static struct toy t = { .page = NULL, .pages = x };\n\
int x = sizeof(a.pagesize) + sizeof(b->subpage);\n\
void f(void) { KEEP(d->page); }\n\
CHECK(s.page == 0, q . page, r->\n  pages, ...page)\n\
KEEP(t->pa";
        let f_start = src.windows(6).position(|w| w == b"void f").unwrap();
        let f_end = f_start + src[f_start..].iter().position(|&b| b == b'\n').unwrap();
        // The last range ends inside a name (`pa` of a longer word).
        let gaps = [(0, f_start), (f_end, src.len() - 1)];
        let all = all_members_in_arguments(src, &gaps);
        let described = |found: &[MemberInArguments]| -> Vec<(usize, String, usize)> {
            (found.iter())
                .map(|m| (m.at, m.macro_name.clone(), m.open))
                .collect()
        };
        for member in [
            "page", "pages", "pagesize", "subpage", "pa", "p", "toy", "x",
        ] {
            let one = members_in_arguments(src, &gaps, member);
            let from_all = all.get(member).map(|v| v.as_slice()).unwrap_or(&[]);
            assert_eq!(described(from_all), described(&one), "{member}");
        }
        // Every member the pass found is one a search for it finds.
        for (member, found) in &all {
            assert_eq!(
                described(found),
                described(&members_in_arguments(src, &gaps, member)),
                "{member}"
            );
        }
        assert_eq!(all.get("page").map(|v| v.len()), Some(3));
    }

    #[test]
    fn members_in_arguments_are_reached_members_inside_a_call_in_the_gaps() {
        let src = b"DEFINE_FREE(toy, struct toy *, put_page(_T->page))\n\
static struct toy t = { .page = NULL };\n\
int x = sizeof(a.pagesize);\n\
void f(void) { KEEP(d->page); }\n\
CHECK(s.page == 0, q . page)\n";
        let f_start = src.windows(6).position(|w| w == b"void f").unwrap();
        let f_end = f_start + src[f_start..].iter().position(|&b| b == b'\n').unwrap();
        let gaps = [(0, f_start), (f_end, src.len())];
        let all = all_members_in_arguments(src, &gaps);
        let found: Vec<(String, &[u8])> = (all.get("page").into_iter().flatten())
            .map(|m| (m.macro_name.clone(), &src[m.open..m.at]))
            .collect();
        // The designator fills the field, `pagesize` is another member and
        // the use inside the function is skipped.
        assert_eq!(
            found,
            vec![
                (
                    "DEFINE_FREE".to_string(),
                    &b"(toy, struct toy *, put_page(_T->"[..]
                ),
                ("CHECK".to_string(), &b"(s."[..]),
                ("CHECK".to_string(), &b"(s.page == 0, q . "[..]),
            ]
        );
    }

    #[test]
    fn preprocessor_lines_are_ranges_with_their_continuations() {
        let src = b"int a;\n#define X(d) \\\n\tput(d->p)\n  # if 1\nint b;\n";
        let ranges = directive_ranges(src);
        let texts: Vec<&[u8]> = ranges.iter().map(|&(a, b)| &src[a..b]).collect();
        assert_eq!(
            texts,
            [&b"#define X(d) \\\n\tput(d->p)"[..], &b"  # if 1"[..]]
        );
    }

    #[test]
    fn the_outermost_call_around_a_byte_names_the_macro_used() {
        let src = b"int x;\nDEFINE_FREE(toy, struct toy *, if (_T) put_page(_T->page))\n";
        let at = src.windows(4).position(|w| w == b"page").unwrap() + 6;
        let (name, open) = enclosing_call_name(src, at).unwrap();
        assert_eq!((name.as_str(), open), ("DEFINE_FREE", 18));
        let plain = b"static int y = 1;\nstatic struct s z = { .a = b->c };\n";
        let at = plain.windows(4).position(|w| w == b"b->c").unwrap();
        assert_eq!(enclosing_call_name(plain, at), None);
    }

    #[test]
    fn comments_are_ranges_and_literals_are_stepped_over() {
        let src = b"a = \"/* no */\"; /* one\n two */ b; // three\nc = '/';\n";
        let texts: Vec<&[u8]> = comment_ranges(src)
            .iter()
            .map(|&(a, b)| &src[a..b])
            .collect();
        assert_eq!(texts, [&b"/* one\n two */"[..], &b"// three"[..]]);
    }
}
