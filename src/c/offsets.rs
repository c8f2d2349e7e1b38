//! The `offsetof()` and `offsetofend()` uses of a file, read from its text
//! wherever they stand: in function bodies, in file-scope initialisers (a
//! table of offsets) and in macro bodies, which tree-sitter keeps as opaque
//! text. An offset of a struct's field lets code reach the field without
//! naming it (`*(struct page **)((char *)obj + off)`), so the engine asks
//! which fields have their offsets taken; this module only reads the text.

use memchr::memmem;

/// One `offsetof(TYPE, MEMBER)` of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldOffset {
    /// The struct as written, without `struct`/`union` (`toy_dev`, or a
    /// typedef name).
    pub strukt: String,
    /// The first name of the member path (`pages` of `pages[i]`).
    pub member: String,
    /// The byte offset of the `offsetof` word.
    pub at: usize,
    /// How the offset is used, as far as the text next to it shows.
    pub used: OffsetUse,
}

/// How an offset is used, told from the operators on either side of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetUse {
    /// Only measured: compared (`static_assert(offsetof(a, x) ==
    /// offsetof(b, y))`), taken modulo something (`offsetof(s, f) %
    /// PAGE_SIZE`), or subtracted from another value (`PAGE_SIZE -
    /// offsetof(s, f)`, `container_of()`'s `ptr - offsetof(...)`). None of
    /// these yields the field's address.
    Measured,
    /// Anything else: added to a pointer, passed on, stored. The field
    /// may be reached through it.
    Reaching,
}

/// The names whose uses are offsets of a member.
const OFFSET_MACROS: [&[u8]; 2] = [b"offsetof", b"offsetofend"];

/// Operators that, before an offset, leave it a measure.
const MEASURING_BEFORE: [&[u8]; 7] = [b"==", b"!=", b"<=", b">=", b"<", b">", b"-"];

/// Operators that, after an offset, leave it a measure.
const MEASURING_AFTER: [&[u8]; 7] = [b"==", b"!=", b"<=", b">=", b"<", b">", b"%"];

/// Every `offsetof()`/`offsetofend()` of `src` whose arguments read as a
/// struct and a member, in text order.
pub fn field_offsets(src: &[u8]) -> Vec<FieldOffset> {
    let mut out = Vec::new();
    for name in OFFSET_MACROS {
        for at in memmem::find_iter(src, name) {
            if let Some(offset) = read_use(src, at, name.len()) {
                out.push(offset);
            }
        }
    }
    out.sort_by_key(|o| o.at);
    out
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The use of an offset macro whose name spans `at..at + len`, when it is
/// a whole word followed by an argument list `(TYPE, MEMBER...)`.
fn read_use(src: &[u8], at: usize, len: usize) -> Option<FieldOffset> {
    if at.checked_sub(1).is_some_and(|p| is_word(src[p])) {
        return None;
    }
    let open = skip_blanks(src, at + len);
    if src.get(open) != Some(&b'(') {
        return None;
    }
    let (args, close) = crate::c::defines::argument_ranges(src, open)?;
    let [(type_start, type_end), (member_start, _), ..] = args[..] else {
        return None;
    };
    let strukt = type_name(&src[type_start..type_end])?;
    let member = first_name(&src[member_start..close])?;
    let before = previous_operator(src, at);
    let after = next_operator(src, close + 1);
    let measured = MEASURING_BEFORE.contains(&before) || MEASURING_AFTER.contains(&after);
    Some(FieldOffset {
        strukt,
        member,
        at,
        used: if measured {
            OffsetUse::Measured
        } else {
            OffsetUse::Reaching
        },
    })
}

/// Whether `b` is a blank of a line or of a macro continued on the next
/// (`\` before the newline).
fn is_blank(b: u8) -> bool {
    b.is_ascii_whitespace() || b == b'\\'
}

fn skip_blanks(src: &[u8], mut at: usize) -> usize {
    while src.get(at).is_some_and(|&b| is_blank(b)) {
        at += 1;
    }
    at
}

/// The struct a type argument names: the word after `struct` or `union`,
/// or a lone word (a typedef name). `None` for anything else
/// (`typeof(*p)`, a pointer type).
fn type_name(arg: &[u8]) -> Option<String> {
    let words: Vec<&[u8]> = arg
        .split(|&b| is_blank(b))
        .filter(|w| !w.is_empty())
        .collect();
    let name = match words.as_slice() {
        [kw, name] if *kw == b"struct" || *kw == b"union" => name,
        [name] => name,
        _ => return None,
    };
    name.iter()
        .all(|&b| is_word(b))
        .then(|| String::from_utf8_lossy(name).into_owned())
}

/// The first name of a member path (`pages` of `pages[i]`, `a` of `a.b`).
fn first_name(arg: &[u8]) -> Option<String> {
    let start = arg.iter().position(|&b| !is_blank(b))?;
    let len = arg[start..].iter().take_while(|&&b| is_word(b)).count();
    (len > 0 && !arg[start].is_ascii_digit())
        .then(|| String::from_utf8_lossy(&arg[start..start + len]).into_owned())
}

/// The operator (one or two bytes of punctuation) right before `at`, past
/// blanks; empty when a word, a literal or an opening bracket stands there.
fn previous_operator(src: &[u8], at: usize) -> &[u8] {
    let mut end = at;
    while end > 0 && is_blank(src[end - 1]) {
        end -= 1;
    }
    let is_op = |b: u8| b"=!<>-+*/%&|^".contains(&b);
    let mut start = end;
    while start > 0 && end - start < 2 && is_op(src[start - 1]) {
        start -= 1;
    }
    &src[start..end]
}

/// The operator (one or two bytes of punctuation) right after `at`, past
/// blanks; empty when a word, a literal or a bracket stands there.
fn next_operator(src: &[u8], at: usize) -> &[u8] {
    let start = skip_blanks(src, at);
    let is_op = |b: u8| b"=!<>-+*/%&|^".contains(&b);
    let len = src[start.min(src.len())..]
        .iter()
        .take(2)
        .take_while(|&&b| is_op(b))
        .count();
    &src[start..start + len]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each use as (struct, member, how it is used).
    fn check_offsets(src: &str) -> Vec<(String, String, OffsetUse)> {
        field_offsets(src.as_bytes())
            .into_iter()
            .map(|o| (o.strukt, o.member, o.used))
            .collect()
    }

    fn one(s: &str, m: &str, u: OffsetUse) -> (String, String, OffsetUse) {
        (s.to_string(), m.to_string(), u)
    }

    #[test]
    fn an_offset_passed_on_stored_or_added_to_a_pointer_reaches_the_field() {
        let src = "#define TOY_OFF offsetof(struct toy_dev, page)\n\
                   static const size_t offs[] = { offsetof(toy_t, pages[2]), };\n\
                   void f(void *o) { drop(o, offsetofend(struct toy_dev, page)); \
                   p = (char *)o + offsetof(union toy_u, a.b); }\n";
        assert_eq!(
            check_offsets(src),
            vec![
                one("toy_dev", "page", OffsetUse::Reaching),
                one("toy_t", "pages", OffsetUse::Reaching),
                one("toy_dev", "page", OffsetUse::Reaching),
                one("toy_u", "a", OffsetUse::Reaching),
            ]
        );
    }

    #[test]
    fn an_offset_compared_or_subtracted_from_a_size_is_only_measured() {
        let src = "#define CHUNK ((PAGE_SIZE - offsetof(struct chunk, list)) / \\\n\
                   \t(sizeof(struct scatterlist)))\n\
                   static_assert(offsetof(struct pagevec, pages) ==\n\
                   \toffsetof(struct folio_batch, folios));\n\
                   BUILD_BUG_ON(offsetof(struct rt, ghcb_page) % PAGE_SIZE);\n";
        assert_eq!(
            check_offsets(src),
            vec![
                one("chunk", "list", OffsetUse::Measured),
                one("pagevec", "pages", OffsetUse::Measured),
                one("folio_batch", "folios", OffsetUse::Measured),
                one("rt", "ghcb_page", OffsetUse::Measured),
            ]
        );
    }

    #[test]
    fn words_that_only_contain_the_name_and_unreadable_types_are_skipped() {
        let src = "int my_offsetof(int a, int b);\n\
                   x = offsetof(typeof(*p), page);\n\
                   y = offsetof;\n\
                   #define half offsetof(struct s\n";
        assert_eq!(check_offsets(src), vec![]);
    }
}
