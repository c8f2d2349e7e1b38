//! Rendering a rewrite template over a match, keeping the original spelling.
//!
//! The pattern's tokens (each tied to the target bytes it matched) and the
//! template's tokens are aligned by a longest common subsequence on their
//! keys (literal text or metavariable name). A template token aligned with a
//! pattern token keeps the original bytes; two aligned tokens that were
//! neighbours in the pattern keep the original bytes between them (line
//! breaks, comments). Everything else comes from the template, with its line
//! breaks re-indented to the statement's indentation. So
//! `get_user_pages_fast(start,\n\t\t\tn, flags, pages)` becomes
//! `pin_user_pages_fast(start,\n\t\t\tn, flags, pages)`, and a whole loop
//! becomes `unpin_user_pages(pages, n);`.
//!
//! A line the rewrite makes longer than the file's limit is wrapped the way
//! kernel code wraps arguments: after a comma, continued under the opening
//! parenthesis with tabs and then spaces. The limit is the file's own
//! (`FileLayout`): 80 columns, the coding style's preferred length, in a file
//! written to it, else checkpatch's 100. Continuation lines the rewrite does
//! not write keep their place against the parenthesis: aligned lines stay
//! aligned when a rename moves it, lines that were not are left as written.

use super::edit::{minimize, Edit};
use crate::engine::matcher::{BlockOwner, SoleBlock};
use crate::engine::{Match, Plan};
use crate::rule::{Rule, Target, Template, TokKey};
use std::collections::BTreeMap;

/// The longest line a rewrite may leave (checkpatch's limit).
pub const MAX_COLUMNS: usize = 100;

/// The line length `Documentation/process/coding-style.rst` prefers.
pub const PREFERRED_COLUMNS: usize = 80;

/// A file with fewer lines over `PREFERRED_COLUMNS` than one in this many is
/// written to `PREFERRED_COLUMNS`.
const LONG_LINE_RARITY: usize = 100;

/// How a file is laid out, read once per file before its plans are
/// rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileLayout {
    /// The longest line the rewrite may write in the file.
    pub max_columns: usize,
}

impl FileLayout {
    /// A file whose lines over 80 columns are fewer than one in a hundred
    /// keeps to 80 columns; any other keeps to checkpatch's 100.
    pub fn of(src: &[u8]) -> FileLayout {
        let (mut lines, mut long) = (0usize, 0usize);
        let text = src.strip_suffix(b"\n").unwrap_or(src);
        for line in text.split(|&b| b == b'\n') {
            lines += 1;
            long += usize::from(columns(line) > PREFERRED_COLUMNS);
        }
        let max_columns = if long * LONG_LINE_RARITY < lines {
            PREFERRED_COLUMNS
        } else {
            MAX_COLUMNS
        };
        FileLayout { max_columns }
    }
}

/// A planned change rendered: the byte edit, and the replacement as one line
/// for reports.
#[derive(Clone, Debug)]
pub struct Rendered {
    pub edit: Edit,
    pub display: String,
    /// The edit's change is carried by another edit of the unit on the
    /// same lines (`lay_out`), and the edit itself is empty.
    pub folded: bool,
}

/// Renders one planned change into an edit on `src`.
pub fn render(plan: &Plan, rules: &[Rule], target: Target, src: &[u8]) -> Option<Rendered> {
    match plan {
        Plan::RemoveDeclarator {
            start,
            end,
            text,
            name,
        } => Some(Rendered {
            edit: Edit {
                start: *start,
                end: *end,
                text: text.clone().into_bytes(),
            },
            display: format!("(declaration of `{name}` removed)"),
            folded: false,
        }),
        Plan::Replace { matched } => {
            let rule = &rules[matched.rule];
            let template = rule.rewrite.get(&target)?;
            let newline = newline_of(src, matched.start);
            let mut text = fill(matched, template, &rule.defaults, src, newline);
            let display = crate::engine::dataflow::one_line(&text);
            // Comments between the statements of a sequence go before the
            // statement that replaces them.
            let kept = comments_between(&matched.statements, src);
            if !kept.is_empty() {
                let mut with = kept;
                with.extend_from_slice(newline.as_bytes());
                with.extend_from_slice(&indentation_of(src, matched.start));
                with.extend_from_slice(&text);
                text = with;
            }
            // A loop that was the only statement of a braced body becomes a
            // single statement: the braces go too, as kernel style wants.
            let single = !text.contains(&b'\n') && text.ends_with(b";");
            let edit = match matched.sole_block.as_ref().filter(|_| single) {
                Some(SoleBlock {
                    owner: BlockOwner::Bare { start },
                    block_end,
                }) => Edit {
                    start: *start,
                    end: *block_end,
                    text,
                },
                Some(SoleBlock {
                    owner:
                        BlockOwner::Head {
                            end: head_end,
                            needless_parens,
                        },
                    block_end,
                }) => {
                    // The head's line changes: its needless parentheses go.
                    let head_end = *head_end;
                    let start = needless_parens
                        .iter()
                        .copied()
                        .min()
                        .unwrap_or(head_end)
                        .min(head_end);
                    let mut body: Vec<u8> = (start..head_end)
                        .filter(|k| !needless_parens.contains(k))
                        .map(|k| src[k])
                        .collect();
                    body.extend_from_slice(newline_of(src, matched.start).as_bytes());
                    body.extend_from_slice(&body_indentation(src, head_end, matched.start));
                    body.extend_from_slice(&text);
                    Edit {
                        start,
                        end: *block_end,
                        text: body,
                    }
                }
                _ => Edit {
                    start: matched.start,
                    end: matched.end,
                    text,
                },
            };
            Some(Rendered {
                edit,
                display,
                folded: false,
            })
        }
    }
}

/// Lays out the edits one unit makes in one file: the lines they touch
/// are wrapped at the file's limit and their continuation lines aligned
/// (`wrap_long_lines`, `align_continuations`), then each edit is cut down to
/// the bytes it changes. Edits that touch the same lines (a loop replaced,
/// and the block and declaration around it removed) are laid out together,
/// as the line they leave: when that changes the line, the first of them
/// carries the whole change and the others become empty.
pub fn lay_out(src: &[u8], layout: FileLayout, edits: &mut [Edit]) {
    let mut order: Vec<usize> = (0..edits.len()).collect();
    order.sort_by_key(|&i| (edits[i].start, edits[i].end));
    let mut k = 0;
    while k < order.len() {
        let first = order[k];
        let (line_start, mut line_end, _) = whole_lines(src, &edits[first]);
        let mut group = vec![first];
        k += 1;
        while k < order.len() && edits[order[k]].start <= line_end {
            line_end = line_end.max(whole_lines(src, &edits[order[k]]).1);
            group.push(order[k]);
            k += 1;
        }
        if let [only] = group[..] {
            let edit = edits[only].clone();
            edits[only] = minimize(
                src,
                align_continuations(src, wrap_long_lines(src, edit, layout)),
            );
            continue;
        }
        // Edits that overlap are left for the overlap check to report.
        let disjoint = group
            .windows(2)
            .all(|w| edits[w[0]].end <= edits[w[1]].start);
        if !disjoint {
            for &g in &group {
                edits[g] = minimize(src, edits[g].clone());
            }
            continue;
        }
        let mut text = Vec::new();
        let mut at = line_start;
        for &g in &group {
            text.extend_from_slice(&src[at..edits[g].start]);
            text.extend_from_slice(&edits[g].text);
            at = edits[g].end;
        }
        text.extend_from_slice(&src[at..line_end]);
        let merged = Edit {
            start: line_start,
            end: line_end,
            text,
        };
        let laid = align_continuations(src, wrap_long_lines(src, merged.clone(), layout));
        if laid == merged {
            for &g in &group {
                edits[g] = minimize(src, edits[g].clone());
            }
            continue;
        }
        let laid = minimize(src, laid);
        for &g in &group[1..] {
            edits[g] = Edit {
                start: laid.start,
                end: laid.start,
                text: Vec::new(),
            };
        }
        edits[group[0]] = laid;
    }
}

/// The comments between consecutive statements of a sequence match, as
/// written (the blank space around each gap dropped).
fn comments_between(statements: &[(usize, usize)], src: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for pair in statements.windows(2) {
        let gap = src[pair[0].1..pair[1].0].trim_ascii();
        if gap.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.extend_from_slice(newline_of(src, pair[0].1).as_bytes());
            out.extend_from_slice(&indentation_of(src, pair[1].0));
        }
        out.extend_from_slice(gap);
    }
    out
}

/// The line ending used by the line holding `offset`.
fn newline_of(src: &[u8], offset: usize) -> &'static str {
    match memchr::memchr(b'\n', &src[offset..]) {
        Some(i) if i > 0 && src[offset + i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// The offset of the start of the line holding `offset`.
fn line_start_of(src: &[u8], offset: usize) -> usize {
    src[..offset]
        .iter()
        .rposition(|&b| b == b'\n')
        .map(|i| i + 1)
        .unwrap_or(0)
}

/// The lines an edit touches, from the start of its first to the end of its
/// last (line break excluded), and their text once the edit is made.
fn whole_lines(src: &[u8], edit: &Edit) -> (usize, usize, Vec<u8>) {
    let start = line_start_of(src, edit.start);
    let end = memchr::memchr(b'\n', &src[edit.end..])
        .map(|i| edit.end + i)
        .unwrap_or(src.len());
    let mut text = src[start..edit.start].to_vec();
    text.extend_from_slice(&edit.text);
    text.extend_from_slice(&src[edit.end..end]);
    (start, end, text)
}

fn indentation_of(src: &[u8], offset: usize) -> Vec<u8> {
    let line_start = line_start_of(src, offset);
    src[line_start..]
        .iter()
        .take_while(|b| **b == b' ' || **b == b'\t')
        .copied()
        .collect()
}

/// The indentation of the statement that takes the place of a braced body:
/// the body's own when it starts a line of its own, else (the head and
/// the body on one line) the head's and one tab deeper, as kernel style
/// indents a body.
fn body_indentation(src: &[u8], head_end: usize, body_start: usize) -> Vec<u8> {
    if memchr::memchr(b'\n', &src[head_end..body_start]).is_some() {
        return indentation_of(src, body_start);
    }
    let mut indentation = indentation_of(src, head_end);
    indentation.push(b'\t');
    indentation
}

/// The template filled in from the match.
fn fill(
    m: &Match,
    template: &Template,
    defaults: &BTreeMap<String, String>,
    src: &[u8],
    newline: &str,
) -> Vec<u8> {
    let pkeys: Vec<&TokKey> = m.tokens.iter().map(|t| &t.key).collect();
    let qkeys: Vec<&TokKey> = template.tokens.iter().map(|t| &t.key).collect();
    let aligned = lcs(&pkeys, &qkeys);
    let indent = indentation_of(src, m.start);
    let mut out = Vec::new();
    for (j, tok) in template.tokens.iter().enumerate() {
        if j > 0 {
            match (aligned[j - 1], aligned[j]) {
                (Some(k1), Some(k2)) if k2 == k1 + 1 => {
                    out.extend_from_slice(&src[m.tokens[k1].end..m.tokens[k2].start])
                }
                _ => {
                    let space = tok.space_before.replace(
                        '\n',
                        &format!("{newline}{}", String::from_utf8_lossy(&indent)),
                    );
                    out.extend_from_slice(space.as_bytes());
                }
            }
        }
        // A bound expression that binds more loosely than its place in the
        // template asks is written in parentheses (`(w ? FOLL_WRITE : 0) |
        // FOLL_LONGTERM`).
        let parenthesised = match &tok.key {
            TokKey::Meta(name) => m
                .bindings
                .get(name)
                .is_some_and(|b| b.precedence < tok.operand),
            TokKey::Lit(_) => false,
        };
        if parenthesised {
            out.push(b'(');
        }
        match (aligned[j], &tok.key) {
            (Some(k), _) => out.extend_from_slice(&src[m.tokens[k].start..m.tokens[k].end]),
            (None, TokKey::Lit(s)) => out.extend_from_slice(s.as_bytes()),
            (None, TokKey::Meta(name)) => match m.bindings.get(name) {
                Some(b) => out.extend_from_slice(&src[b.start..b.end]),
                None => out.extend_from_slice(
                    defaults
                        .get(name)
                        .map(String::as_str)
                        .unwrap_or("")
                        .as_bytes(),
                ),
            },
        }
        if parenthesised {
            out.push(b')');
        }
    }
    out
}

/// For each element of `b`, the index of the element of `a` it is aligned
/// with in a longest common subsequence.
fn lcs<T: PartialEq>(a: &[T], b: &[T]) -> Vec<Option<usize>> {
    let (n, m) = (a.len(), b.len());
    let mut table = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[i][j] = if a[i] == b[j] {
                table[i + 1][j + 1] + 1
            } else {
                table[i + 1][j].max(table[i][j + 1])
            };
        }
    }
    let mut out = vec![None; m];
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if a[i] == b[j] {
            out[j] = Some(i);
            i += 1;
            j += 1;
        } else if table[i + 1][j] >= table[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Display width of a line with 8-column tabs.
pub fn columns(line: &[u8]) -> usize {
    let mut col = 0;
    for &b in line {
        if b == b'\t' {
            col = (col / 8 + 1) * 8;
        } else if b != b'\r' {
            col += 1;
        }
    }
    col
}

/// Wraps the lines an edit touches when they pass the file's limit. A line
/// that only changes a line the author already wrote longer (the same first
/// word, at the same place) is wrapped only when the rewrite lengthens it.
fn wrap_long_lines(src: &[u8], edit: Edit, layout: FileLayout) -> Edit {
    let (line_start, line_end, new_lines) = whole_lines(src, &edit);
    let old: Vec<&[u8]> = src[line_start..line_end].split(|&b| b == b'\n').collect();
    let crlf = new_lines.ends_with(b"\r");
    let mut changed = false;
    let mut out = Vec::new();
    let count = new_lines.split(|&b| b == b'\n').count();
    for (i, line) in new_lines.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        let written = old
            .get(i)
            .filter(|o| count == old.len() && first_word(o) == first_word(line))
            .map_or(0, |o| columns(o));
        if columns(line) > layout.max_columns && columns(line) > written {
            if let Some(wrapped) =
                wrap_call(line, layout.max_columns, if crlf { "\r\n" } else { "\n" })
            {
                out.extend_from_slice(&wrapped);
                changed = true;
                continue;
            }
        }
        out.extend_from_slice(line);
    }
    if !changed {
        return edit;
    }
    Edit {
        start: line_start,
        end: line_end,
        text: out,
    }
}

/// A line's indentation and first word (or first character that is not
/// part of one).
fn first_word(line: &[u8]) -> &[u8] {
    let lead = line.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let word = line[lead..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count()
        .max(1)
        .min(line.len() - lead);
    &line[..lead + word]
}

/// The most lines of a call's arguments that `align_continuations` reads
/// after the lines an edit touches.
const MAX_CONTINUATION_LINES: usize = 16;

/// Aligns the continuation lines of a call whose opening line the edit
/// changes with the innermost open parenthesis (tabs, then spaces), as
/// checkpatch asks of every line that follows a changed line: a rename that
/// changes the callee's length would otherwise leave them out of line, and
/// lines the rewrite wrote are aligned as they are written. A line the edit
/// leaves as it was, that was not aligned with its parenthesis before, stays
/// as written: its place is the author's, and moving it would only add a
/// line of whitespace to the patch. A line is moved only when it stays
/// within `MAX_COLUMNS`; the edit is left as it is when the parentheses
/// cannot be followed (a brace, a preprocessor line, a parenthesis closed
/// that the touched lines did not open, more than
/// `MAX_CONTINUATION_LINES` lines).
fn align_continuations(src: &[u8], edit: Edit) -> Edit {
    let (line_start, mut end, mut text) = whole_lines(src, &edit);
    // Take the following lines while a parenthesis is open.
    let mut scan = ParenScan::default();
    for line in text.split(|&b| b == b'\n') {
        if !scan.line(line) {
            return edit;
        }
    }
    let mut added = 0;
    while !scan.open.is_empty() && end < src.len() {
        if added == MAX_CONTINUATION_LINES {
            return edit;
        }
        let next_end = memchr::memchr(b'\n', &src[end + 1..])
            .map(|i| end + 1 + i)
            .unwrap_or(src.len());
        if !scan.line(&src[end + 1..next_end]) {
            return edit;
        }
        text.extend_from_slice(&src[end..next_end]);
        end = next_end;
        added += 1;
    }
    let left_as_written = unaligned_lines(&src[line_start..end], &text);
    // Re-indent each line that starts inside a parenthesis.
    let mut scan = ParenScan::default();
    let mut out = Vec::with_capacity(text.len());
    let mut changed = false;
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let mut line = line.to_vec();
        if i > 0 {
            out.push(b'\n');
            if let (Some(&open), false) = (scan.open.last(), scan.in_comment) {
                let body = line.trim_ascii_start().to_vec();
                let mut aligned = indentation_to(open + 1);
                aligned.extend_from_slice(&body);
                if !body.is_empty()
                    && aligned != line
                    && !left_as_written.contains(&i)
                    && columns(&aligned) <= MAX_COLUMNS
                {
                    line = aligned;
                    changed = true;
                }
            }
        }
        if !scan.line(&line) {
            return edit;
        }
        out.extend_from_slice(&line);
    }
    if !changed {
        return edit;
    }
    Edit {
        start: line_start,
        end,
        text: out,
    }
}

/// The lines of `new` (by index) that the edit left as they were in `old`
/// (the same number of lines, the same text) and that were, in `old`,
/// continuation lines not aligned with their open parenthesis.
fn unaligned_lines(old: &[u8], new: &[u8]) -> Vec<usize> {
    let old_lines: Vec<&[u8]> = old.split(|&b| b == b'\n').collect();
    let new_lines: Vec<&[u8]> = new.split(|&b| b == b'\n').collect();
    if old_lines.len() != new_lines.len() {
        return Vec::new();
    }
    let mut scan = ParenScan::default();
    let mut out = Vec::new();
    for (i, (o, n)) in old_lines.iter().zip(&new_lines).enumerate() {
        if i > 0 && o == n && !scan.in_comment {
            if let Some(&open) = scan.open.last() {
                let body = o.trim_ascii_start();
                if !body.is_empty() && columns(&o[..o.len() - body.len()]) != open + 1 {
                    out.push(i);
                }
            }
        }
        if !scan.line(o) {
            return Vec::new();
        }
    }
    out
}

/// Tabs, then spaces, up to a display column.
fn indentation_to(column: usize) -> Vec<u8> {
    let mut out = vec![b'\t'; column / 8];
    out.extend(std::iter::repeat_n(b' ', column % 8));
    out
}

/// The open parentheses of code read line by line (their display columns),
/// string and character literals and comments skipped.
#[derive(Default)]
struct ParenScan {
    open: Vec<usize>,
    in_comment: bool,
}

impl ParenScan {
    /// Reads one line; false when the parentheses cannot be followed.
    fn line(&mut self, line: &[u8]) -> bool {
        if !self.in_comment && line.trim_ascii_start().starts_with(b"#") {
            return false;
        }
        let mut col = 0;
        let mut k = 0;
        let mut quote = None;
        while k < line.len() {
            let b = line[k];
            let next = line.get(k + 1).copied();
            if self.in_comment {
                if b == b'*' && next == Some(b'/') {
                    self.in_comment = false;
                    col += 1;
                    k += 1;
                }
            } else if let Some(q) = quote {
                if b == b'\\' {
                    col += 1;
                    k += 1;
                } else if b == q {
                    quote = None;
                }
            } else {
                match b {
                    b'"' | b'\'' => quote = Some(b),
                    b'/' if next == Some(b'*') => {
                        self.in_comment = true;
                        col += 1;
                        k += 1;
                    }
                    b'/' if next == Some(b'/') => break,
                    b'(' => self.open.push(col),
                    b')' if self.open.pop().is_none() => {
                        return false;
                    }
                    b'{' | b'}' if !self.open.is_empty() => return false,
                    _ => {}
                }
            }
            col = if b == b'\t' {
                (col / 8 + 1) * 8
            } else {
                col + 1
            };
            k += 1;
        }
        quote.is_none()
    }
}

/// Breaks a line at the commas of its first call's argument list, continuing
/// under the opening parenthesis.
fn wrap_call(line: &[u8], max_columns: usize, newline: &str) -> Option<Vec<u8>> {
    let open = line.iter().position(|&b| b == b'(')?;
    // Top-level commas of that argument list.
    let mut depth = 0i32;
    let mut commas = Vec::new();
    let mut close = None;
    for (i, &b) in line.iter().enumerate().skip(open) {
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            b',' if depth == 1 => commas.push(i),
            _ => {}
        }
    }
    close?;
    let align = columns(&line[..=open]);
    let continuation = indentation_to(align);
    // Segments: up to and including each top-level comma, then the rest.
    let mut segments = Vec::new();
    let mut from = 0;
    for &c in &commas {
        segments.push(&line[from..=c]);
        from = c + 1;
    }
    segments.push(&line[from..]);
    let mut out = segments[0].to_vec();
    let mut width = columns(segments[0]);
    let mut wrapped = false;
    for seg in &segments[1..] {
        let trimmed = {
            let lead = seg.iter().take_while(|b| **b == b' ').count();
            &seg[lead..]
        };
        if width + seg.len() <= max_columns {
            out.extend_from_slice(seg);
            width += seg.len();
        } else {
            out.extend_from_slice(newline.as_bytes());
            out.extend_from_slice(&continuation);
            out.extend_from_slice(trimmed);
            width = align + trimmed.len();
            wrapped = true;
        }
    }
    wrapped.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_under_the_parenthesis() {
        let line = b"\t\t\tunpin_user_pages_dirty_lock(some_long_struct->pages_array, some_long_struct->nr_pages, make_dirty);";
        let out = String::from_utf8(wrap_call(line, MAX_COLUMNS, "\n").unwrap()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(columns(lines[0].as_bytes()) <= MAX_COLUMNS);
        assert_eq!(
            columns(lines[1].as_bytes()) - lines[1].trim_start().len(),
            columns(b"\t\t\tunpin_user_pages_dirty_lock(")
        );
    }

    #[test]
    fn a_file_keeps_to_80_columns_when_longer_lines_are_rare() {
        let short = "\tint x;\n";
        let long = format!("\t{};\n", "y".repeat(90));
        let file = |shorts: usize| format!("{}{long}", short.repeat(shorts));
        assert_eq!(FileLayout::of(file(99).as_bytes()).max_columns, MAX_COLUMNS);
        assert_eq!(
            FileLayout::of(file(200).as_bytes()).max_columns,
            PREFERRED_COLUMNS
        );
    }

    #[test]
    fn a_renamed_line_the_author_wrote_long_is_not_wrapped() {
        let layout = FileLayout {
            max_columns: PREFERRED_COLUMNS,
        };
        let src =
            b"\tgot = get_user_pages_fast(start_address, number_of_pages, FOLL_WRITE, pages);\n";
        let renamed = Edit {
            start: 7,
            end: 10,
            text: b"pin".to_vec(),
        };
        assert_eq!(
            wrap_long_lines(src, renamed.clone(), layout).text,
            renamed.text
        );
        let lengthened = Edit {
            start: 7,
            end: 10,
            text: b"pin_longer".to_vec(),
        };
        let wrapped = wrap_long_lines(src, lengthened, layout).text;
        let lines: Vec<&[u8]> = wrapped.split(|&b| b == b'\n').collect();
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| columns(l) <= PREFERRED_COLUMNS));
    }

    #[test]
    fn continuation_lines_keep_their_place() {
        let src = b"\tx = put_user_pages(a,\n\t\tb);\n\ty = put_user_pages(a,\n\t\t\t   b);\n";
        let rename = |start: usize| Edit {
            start,
            end: start + 3,
            text: b"unpin".to_vec(),
        };
        // Not aligned before: left as written.
        let first = align_continuations(src, rename(5));
        assert_eq!(first.text, b"unpin".to_vec());
        // Aligned before: follows the parenthesis.
        let second = align_continuations(src, rename(34));
        assert_eq!(
            second.text,
            b"\ty = unpin_user_pages(a,\n\t\t\t     b);".to_vec()
        );
    }

    #[test]
    fn edits_on_one_line_are_laid_out_together() {
        let layout = FileLayout {
            max_columns: PREFERRED_COLUMNS,
        };
        let src = b"\t{ unsigned long i; for (i = 0; i < context->count; i++) put_page(context->pages[i]); }\n";
        let text = String::from_utf8_lossy(src);
        let at = |s: &str| text.find(s).unwrap();
        let mut edits = vec![
            Edit {
                start: at("{"),
                end: at("for"),
                text: Vec::new(),
            },
            Edit {
                start: at("for"),
                end: at(" }"),
                text:
                    b"unpin_user_pages_dirty_lock(context->pages, context->count, context->dirty);"
                        .to_vec(),
            },
            Edit {
                start: at(" }"),
                end: at(" }") + 2,
                text: Vec::new(),
            },
        ];
        lay_out(src, layout, &mut edits);
        assert!(edits[1].is_empty() && edits[2].is_empty());
        edits.sort();
        let after = crate::rewrite::apply_edits(src, &edits);
        assert_eq!(
            String::from_utf8(after).unwrap(),
            "\tunpin_user_pages_dirty_lock(context->pages, context->count,\n\t\t\t\t    context->dirty);\n"
        );
        // Overlapping edits are left for the overlap check.
        let mut overlapping = vec![
            Edit {
                start: 1,
                end: 10,
                text: b"x".to_vec(),
            },
            Edit {
                start: 5,
                end: 12,
                text: b"y".to_vec(),
            },
        ];
        let given = overlapping.clone();
        lay_out(src, layout, &mut overlapping);
        // Overlapping edits are not merged: each is kept as given.
        assert_eq!(overlapping, given);
    }
}
