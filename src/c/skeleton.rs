//! Function bodies a parse may leave out.
//!
//! Most of a kernel file the analysis reads is the bodies of functions that
//! name nothing it follows: they never take part, yet parsing them is most
//! of the parse's time and their syntax trees most of a run's memory. A
//! *skeleton* parse gives tree-sitter the file without the inside of such
//! bodies: the function is still a `function_definition` spanning its whole
//! text, with an empty `compound_statement` for a body, and every node keeps
//! its offset, line and column. The widest bodies are skipped as gaps
//! between tree-sitter's included ranges, the rest read as blanks (spaces,
//! newlines kept): the lexer passes a gap at once but reads a blank byte by
//! byte, and it looks each token's position up among the ranges one by one,
//! so the gaps are capped (`parse::MAX_SKIPPED_BODIES`) to keep a file of
//! many small functions linear.
//!
//! Only bodies laid out the way the kernel's coding style lays out a
//! function are candidates: a line holding only `{` at column 0, right
//! after a line whose code ends with `)`, up to the next line holding only
//! `}` at column 0, with the braces between balanced (outside comments,
//! string and character literals and preprocessor lines) and never closed
//! before that line. Whether a candidate is left out is the caller's
//! decision, from the text of its *region*: everything from the end of the
//! previous candidate (or the start of the file) to the end of the body,
//! which holds the whole function whatever its header looks like.
//! `parse::parse_skeleton` then checks in the tree that each body left out
//! is the body of a function definition lying inside its region, and
//! reads the others as written.

use std::ops::Range;

/// A function body a skeleton parse may leave out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BodyCandidate {
    /// The text that holds the whole function: from the end of the previous
    /// candidate (or the start of the file) to the end of the body.
    pub region: Range<usize>,
    /// The byte offset of the body's `{`.
    pub open: usize,
    /// The byte offset of the body's `}`.
    pub close: usize,
}

/// Whether `bodies` (in file order, as `body_candidates` gives them) holds
/// the body that opens at byte `open`.
pub fn left_out_at(bodies: &[BodyCandidate], open: usize) -> bool {
    bodies.binary_search_by_key(&open, |c| c.open).is_ok()
}

/// Removes from `bodies` those at the positions `misled` (sorted) names:
/// the bodies a tree did not hold as functions' (`parse::parse_skeleton`).
pub fn remove_misled(bodies: &mut Vec<BodyCandidate>, misled: &[usize]) {
    let mut index = 0;
    bodies.retain(|_| {
        index += 1;
        misled.binary_search(&(index - 1)).is_err()
    });
}

/// The candidate bodies of a file, in file order, found in the neutralised
/// text (`macros::neutralise`).
pub fn body_candidates(text: &[u8]) -> Vec<BodyCandidate> {
    // The lines are walked in place, not listed: a generated file may hold
    // millions, and a list of them would be many times the candidates.
    let mut out = Vec::new();
    let mut region_start = 0;
    let mut at = 0;
    while at < text.len() {
        let end = line_end(text, at);
        if text[at..end].trim_ascii_end() != b"{" || !header_ends_with_paren(text, at) {
            at = end + 1;
            continue;
        }
        // The next line that begins with `}`.
        let Some(close) = memchr::memmem::find(&text[end..], b"\n}").map(|p| end + p + 1) else {
            break;
        };
        let close_end = line_end(text, close);
        push_if_body(&mut out, &mut region_start, text, (at, close, close_end));
        at = close_end + 1;
    }
    out
}

/// Adds the body whose `{` and `}` lines begin at `open` and `close` (the
/// latter ending at `close_end`) when it is one: its `}` alone on its line
/// and the braces between balanced. The next region starts after it.
fn push_if_body(
    out: &mut Vec<BodyCandidate>,
    region_start: &mut usize,
    text: &[u8],
    (open, close, close_end): (usize, usize, usize),
) {
    if text[close..close_end].trim_ascii_end() == b"}" && balanced(&text[open + 1..close]) {
        out.push(BodyCandidate {
            region: *region_start..close + 1,
            open,
            close,
        });
        *region_start = close + 1;
    }
}

/// Where the line that begins at `start` ends: its newline, or the end of
/// the text.
fn line_end(text: &[u8], start: usize) -> usize {
    memchr::memchr(b'\n', &text[start..]).map_or(text.len(), |p| start + p)
}

/// Whether the last line of code before the line that begins at `at`
/// (blank lines and lines holding only a comment left out) ends with `)`,
/// as a function's declarator does.
fn header_ends_with_paren(text: &[u8], at: usize) -> bool {
    // `end` is where the line before ends (its newline).
    let mut end = at;
    while end > 0 {
        end -= 1;
        let start = memchr::memrchr(b'\n', &text[..end]).map_or(0, |p| p + 1);
        let line = &text[start..end];
        end = start;
        if let Some(ends) = code_ends_with_paren(line) {
            return ends;
        }
    }
    false
}

/// Whether a line's code ends with `)`, a comment closing it (`void
/// f(void) /* why */`) left out; `None` when it holds no code.
fn code_ends_with_paren(line: &[u8]) -> Option<bool> {
    let mut line = line.trim_ascii();
    while line.ends_with(b"*/") {
        match memchr::memmem::rfind(line, b"/*") {
            Some(open) => line = line[..open].trim_ascii(),
            None => return Some(false),
        }
    }
    (!line.is_empty()).then(|| line.ends_with(b")"))
}

/// Whether the braces of a body's inside balance, and never close more than
/// they opened, outside comments, string and character literals and
/// preprocessor lines (which may hold one branch's brace of an `#if`).
fn balanced(inside: &[u8]) -> bool {
    let mut depth: usize = 0;
    let mut i = 0;
    let mut line_start = true;
    while i < inside.len() {
        let c = inside[i];
        match c {
            b'\n' => {
                line_start = true;
                i += 1;
                continue;
            }
            b' ' | b'\t' => {
                i += 1;
                continue;
            }
            b'#' if line_start => {
                // A directive runs to the end of its line and its
                // continuation lines.
                while i < inside.len() && inside[i] != b'\n' {
                    if inside[i] == b'\\' && inside.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                    i += 1;
                }
                continue;
            }
            _ => {}
        }
        line_start = false;
        match c {
            b'/' if inside.get(i + 1) == Some(&b'/') => {
                while i < inside.len() && inside[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if inside.get(i + 1) == Some(&b'*') => {
                match memchr::memmem::find(&inside[i + 2..], b"*/") {
                    Some(end) => i += end + 4,
                    None => return false,
                }
                continue;
            }
            b'"' | b'\'' => {
                i += 1;
                while i < inside.len() && inside[i] != c {
                    if inside[i] == b'\n' {
                        return false;
                    }
                    if inside[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if i >= inside.len() {
                    return false;
                }
            }
            b'{' => depth += 1,
            b'}' => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            _ => {}
        }
        i += 1;
    }
    depth == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `body_candidates` as first written, over a list of the lines: what
    /// the walk in place must find.
    fn candidates_from_line_list(text: &[u8]) -> Vec<BodyCandidate> {
        let mut lines: Vec<Range<usize>> = Vec::new();
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', text) {
            lines.push(start..nl);
            start = nl + 1;
        }
        if start < text.len() {
            lines.push(start..text.len());
        }
        let header = |at: usize| {
            (0..at)
                .rev()
                .find_map(|k| code_ends_with_paren(&text[lines[k].clone()]))
                .unwrap_or(false)
        };
        let mut out = Vec::new();
        let (mut region_start, mut i) = (0, 0);
        while i < lines.len() {
            if text[lines[i].clone()].trim_ascii_end() != b"{" || !header(i) {
                i += 1;
                continue;
            }
            let Some(end) =
                (i + 1..lines.len()).find(|&k| text[lines[k].clone()].first() == Some(&b'}'))
            else {
                break;
            };
            let bounds = (lines[i].start, lines[end].start, lines[end].end);
            push_if_body(&mut out, &mut region_start, text, bounds);
            i = end + 1;
        }
        out
    }

    #[test]
    fn the_lines_walked_in_place_give_the_candidates_of_a_list_of_them() {
        let texts: [&[u8]; 9] = [
            b"{\n}\n",
            b"int f(void)\n{\n\treturn 0;\n}",
            b"int f(void) /* why */\n\n{\n\tg();\n}\n\nint h(int a)\r\n{\r\n}\r\n",
            b"static int x = 1;\n{\n}\nint f(void)\n{\n\tif (a) {\n}\n}\n",
            b"int f(void)\n{\n\tchar *s = \"}\";\n}\nint g(void)\n{\n",
            b"int f(void)\n{\n} x;\nint g(void)\n{\n}\n",
            b"void f(void) /* a */ /* b */\n{\n}\nvoid g(void) */\n{\n}\n",
            b"\n\n)\n{\n}}\n}\n",
            b"",
        ];
        for text in texts {
            assert_eq!(
                body_candidates(text),
                candidates_from_line_list(text),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
        // Some of them hold candidates, so the comparison is of something.
        assert_eq!(body_candidates(texts[1]).len(), 1);
        assert_eq!(body_candidates(texts[2]).len(), 2);
    }

    /// The candidates of `code` as (region text, body text).
    fn candidates(code: &str) -> Vec<(String, String)> {
        body_candidates(code.as_bytes())
            .into_iter()
            .map(|c| {
                (
                    code[c.region.clone()].to_string(),
                    code[c.open..c.close + 1].to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn kernel_style_function_bodies_are_candidates() {
        let code = "int a;\nstatic int f(int x)\n{\n\tif (x) {\n\t\treturn 1;\n\t}\n\treturn 0;\n}\n\nvoid g(void) /* c */\n{\n}\n";
        let found = candidates(code);
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[0].0,
            "int a;\nstatic int f(int x)\n{\n\tif (x) {\n\t\treturn 1;\n\t}\n\treturn 0;\n}"
        );
        assert_eq!(
            found[0].1,
            "{\n\tif (x) {\n\t\treturn 1;\n\t}\n\treturn 0;\n}"
        );
        assert_eq!(found[1].0, "\n\nvoid g(void) /* c */\n{\n}");
    }

    #[test]
    fn other_braces_at_column_zero_are_not_bodies() {
        // A struct, an initialiser, a one-line function.
        let code =
            "struct s\n{\n\tint a;\n};\nstatic int t[] =\n{\n\t1,\n};\nint f(void) { return 0; }\n";
        assert!(candidates(code).is_empty());
    }

    #[test]
    fn unbalanced_bodies_are_not_candidates() {
        // A brace in a string, a comment and a directive do not count; one
        // branch of an #if opening a block that the other closes does.
        let code = "void f(void)\n{\n\tputs(\"{\"); /* { */\n#if A\n\tif (a) {\n#else\n\tif (b) {\n#endif\n\t}\n}\n";
        assert!(candidates(code).is_empty());
        let code = "void f(void)\n{\n\tputs(\"{\"); /* { */ c = '}';\n#define X {\n}\n";
        assert_eq!(candidates(code).len(), 1);
        // A brace closed before the body's last line.
        let code = "void f(void)\n{\n\t}\n\tx();\n}\n";
        assert!(candidates(code).is_empty());
    }
}
