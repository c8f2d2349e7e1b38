//! Git-style unified diffs of one file, on bytes.
//!
//! `similar` computes the line diff of each change (`line_ops`); the headers (`diff --git`, `index`,
//! `---`/`+++`), the hunk ranges, the `\ No newline at end of file` markers and
//! the function name after `@@` are written here the way git writes them, so
//! that `git apply` takes the output and a reviewer sees what `git diff`
//! would show. The function name follows git's `diff=cpp` driver, which the
//! kernel's `.gitattributes` selects for `*.c` and `*.h`: the nearest line
//! above the hunk that starts with a letter or `_` and is not a label,
//! trailing blanks removed, at most 80 bytes.

use similar::{capture_diff_slices_deadline, group_diff_ops, Algorithm, DiffOp};
use std::time::{Duration, Instant};

/// Lines of context around each change.
pub const CONTEXT: usize = 3;

/// `prefix` and `path` as git writes a path in a diff header: as is, or,
/// when it holds a control character, a double quote, a backslash or a
/// byte above 0x7f, in double quotes with C escapes (`core.quotePath`).
pub fn quote_path(prefix: &str, path: &str) -> String {
    let plain = |b: u8| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\';
    let whole = format!("{prefix}{path}");
    if whole.bytes().all(plain) {
        return whole;
    }
    let mut out = String::from("\"");
    for b in whole.bytes() {
        match b {
            b'\x07' => out.push_str("\\a"),
            b'\x08' => out.push_str("\\b"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\x0b' => out.push_str("\\v"),
            b'\x0c' => out.push_str("\\f"),
            b'\r' => out.push_str("\\r"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b if plain(b) => out.push(char::from(b)),
            b => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out.push('"');
    out
}

/// The unified diff of one file, or nothing when the bytes are equal.
/// `index_line` is written after `diff --git` when given (`index a..b mode`).
pub fn file_diff(rel_path: &str, before: &[u8], after: &[u8], index_line: Option<&str>) -> Vec<u8> {
    if before == after {
        return Vec::new();
    }
    let old_lines = split_lines(before);
    let new_lines = split_lines(after);
    let ops = in_order(line_ops(&old_lines, &new_lines));
    let mut out = Vec::new();
    let (a, b) = (quote_path("a/", rel_path), quote_path("b/", rel_path));
    out.extend_from_slice(format!("diff --git {a} {b}\n").as_bytes());
    if let Some(index) = index_line {
        out.extend_from_slice(format!("index {index}\n").as_bytes());
    }
    out.extend_from_slice(format!("--- {a}\n+++ {b}\n").as_bytes());
    for group in group_diff_ops(ops, CONTEXT) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        out.extend_from_slice(b"@@ -");
        out.extend_from_slice(range_text(old_range.start, old_range.len()).as_bytes());
        out.extend_from_slice(b" +");
        out.extend_from_slice(range_text(new_range.start, new_range.len()).as_bytes());
        out.extend_from_slice(b" @@");
        if let Some(func) = function_context(&old_lines, old_range.start) {
            out.push(b' ');
            out.extend_from_slice(func);
        }
        out.push(b'\n');
        for op in &group {
            match *op {
                DiffOp::Equal { old_index, len, .. } => {
                    for line in &old_lines[old_index..old_index + len] {
                        emit(&mut out, b' ', line);
                    }
                }
                DiffOp::Delete {
                    old_index, old_len, ..
                } => {
                    for line in &old_lines[old_index..old_index + old_len] {
                        emit(&mut out, b'-', line);
                    }
                }
                DiffOp::Insert {
                    new_index, new_len, ..
                } => {
                    for line in &new_lines[new_index..new_index + new_len] {
                        emit(&mut out, b'+', line);
                    }
                }
                DiffOp::Replace {
                    old_index,
                    old_len,
                    new_index,
                    new_len,
                } => {
                    for line in &old_lines[old_index..old_index + old_len] {
                        emit(&mut out, b'-', line);
                    }
                    for line in &new_lines[new_index..new_index + new_len] {
                        emit(&mut out, b'+', line);
                    }
                }
            }
        }
    }
    out
}

/// Equal lines, in step on both sides, that end a change.
const SYNC_LINES: usize = 3;

/// How many lines past the start of a change, on both sides together, the
/// end of the change (`SYNC_LINES` equal lines) is looked for. A longer
/// change is diffed in stretches of half as many lines on each side.
const SYNC_WINDOW: usize = 400;

/// Most work (lines of both sides times lines changed, an estimate of
/// what Myers' algorithm costs) for which a file is diffed whole.
const WHOLE_FILE_WORK: usize = 50_000_000;

/// The line operations from `old` to `new`: Myers' algorithm on the whole
/// file. It takes time in the product of the lines and the changes, so a
/// file with thousands of scattered changes (more than `WHOLE_FILE_WORK`)
/// is not given to it whole: the lines are walked in step while they are
/// equal, each change is taken up to the nearest point where `SYNC_LINES`
/// equal lines follow on both sides, and only that stretch is diffed. Time
/// is then linear in the file.
fn line_ops(old: &[&[u8]], new: &[&[u8]]) -> Vec<DiffOp> {
    let changes = changes(old, new);
    let changed: usize = changes.iter().map(|c| c.old.len() + c.new.len()).sum();
    let deadline = || Some(Instant::now() + Duration::from_secs(5));
    if (old.len() + new.len()).saturating_mul(changed) <= WHOLE_FILE_WORK {
        return capture_diff_slices_deadline(Algorithm::Myers, old, new, deadline());
    }
    let mut ops = Vec::new();
    let (mut i, mut j) = (0, 0);
    for c in changes {
        if c.old.start > i {
            ops.push(DiffOp::Equal {
                old_index: i,
                new_index: j,
                len: c.old.start - i,
            });
        }
        ops.extend(capture_diff_slices_deadline(
            Algorithm::Myers,
            &old[c.old.clone()],
            &new[c.new.clone()],
            deadline(),
        ));
        (i, j) = (c.old.end, c.new.end);
    }
    if i < old.len() {
        ops.push(DiffOp::Equal {
            old_index: i,
            new_index: j,
            len: old.len() - i,
        });
    }
    // One operation per run of equal lines, as one call would give.
    let mut merged: Vec<DiffOp> = Vec::with_capacity(ops.len());
    for op in ops {
        match (merged.last_mut(), op) {
            (Some(DiffOp::Equal { len, .. }), DiffOp::Equal { len: more, .. }) => *len += more,
            (_, op) => merged.push(op),
        }
    }
    merged
}

/// A stretch of old and new lines that differ, between equal ones.
struct Change {
    old: std::ops::Range<usize>,
    new: std::ops::Range<usize>,
}

/// The changes from `old` to `new`, found walking both in step: each from
/// where the lines first differ to where `SYNC_LINES` equal lines follow
/// (`change_end`), or to `SYNC_WINDOW / 2` lines further on each side.
fn changes(old: &[&[u8]], new: &[&[u8]]) -> Vec<Change> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    loop {
        let equal = old[i..]
            .iter()
            .zip(&new[j..])
            .take_while(|(a, b)| a == b)
            .count();
        (i, j) = (i + equal, j + equal);
        if i == old.len() && j == new.len() {
            return out;
        }
        let (end_old, end_new) = change_end(old, new, i, j).unwrap_or((
            (i + SYNC_WINDOW / 2).min(old.len()),
            (j + SYNC_WINDOW / 2).min(new.len()),
        ));
        out.push(Change {
            old: i..end_old,
            new: j..end_new,
        });
        (i, j) = (end_old, end_new);
    }
}

/// Where a change starting at old line `i` and new line `j` ends: the
/// nearest (fewest lines on both sides together) pair of lines from which
/// `SYNC_LINES` lines are equal on both sides, or both sides end, within
/// `SYNC_WINDOW`.
fn change_end(old: &[&[u8]], new: &[&[u8]], i: usize, j: usize) -> Option<(usize, usize)> {
    let in_step = |a: usize, b: usize| {
        (a == old.len() && b == new.len())
            || (a + SYNC_LINES <= old.len()
                && b + SYNC_LINES <= new.len()
                && old[a..a + SYNC_LINES] == new[b..b + SYNC_LINES])
    };
    for reach in 1..=SYNC_WINDOW {
        for skip_old in 0..=reach {
            let (a, b) = (i + skip_old, j + reach - skip_old);
            if a > old.len() || b > new.len() {
                continue;
            }
            if in_step(a, b) {
                return Some((a, b));
            }
        }
    }
    None
}

/// The same operations with every index recounted from the start. `similar`
/// gives each operation's own side right (where an `Equal` or `Delete` is in
/// the old lines, where an `Insert` is in the new ones) but may give the
/// other side wrong (a `Delete` at new line 10 just before an `Equal` at new
/// line 9), and the hunk ranges are computed from both sides.
fn in_order(ops: Vec<DiffOp>) -> Vec<DiffOp> {
    let (mut old, mut new) = (0, 0);
    ops.into_iter()
        .map(|op| {
            let fixed = match op {
                DiffOp::Equal { len, .. } => DiffOp::Equal {
                    old_index: old,
                    new_index: new,
                    len,
                },
                DiffOp::Delete { old_len, .. } => DiffOp::Delete {
                    old_index: old,
                    old_len,
                    new_index: new,
                },
                DiffOp::Insert { new_len, .. } => DiffOp::Insert {
                    old_index: old,
                    new_index: new,
                    new_len,
                },
                DiffOp::Replace {
                    old_len, new_len, ..
                } => DiffOp::Replace {
                    old_index: old,
                    old_len,
                    new_index: new,
                    new_len,
                },
            };
            old += fixed.old_range().len();
            new += fixed.new_range().len();
            fixed
        })
        .collect()
}

/// Splits bytes into lines that keep their `\n`.
pub fn split_lines(text: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut start = 0;
    for i in memchr::memchr_iter(b'\n', text) {
        lines.push(&text[start..=i]);
        start = i + 1;
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

fn emit(out: &mut Vec<u8>, sign: u8, line: &[u8]) {
    out.push(sign);
    out.extend_from_slice(line);
    if !line.ends_with(b"\n") {
        out.extend_from_slice(b"\n\\ No newline at end of file\n");
    }
}

/// `start,len` as git writes it: 1-based, `,1` omitted, an empty range
/// names the line before it.
fn range_text(start: usize, len: usize) -> String {
    match len {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        n => format!("{},{n}", start + 1),
    }
}

/// The cpp driver's function line above a hunk starting at 0-based `start`.
fn function_context<'a>(lines: &[&'a [u8]], start: usize) -> Option<&'a [u8]> {
    for &line in lines[..start].iter().rev() {
        let mut body = line;
        if body.ends_with(b"\n") {
            body = &body[..body.len() - 1];
        }
        if body.ends_with(b"\r") {
            body = &body[..body.len() - 1];
        }
        if is_cpp_function_line(body) {
            let mut end = body.len();
            while end > 0 && body[end - 1].is_ascii_whitespace() {
                end -= 1;
            }
            return Some(&body[..end.min(80)]);
        }
    }
    None
}

fn is_cpp_function_line(line: &[u8]) -> bool {
    // Not a jump label (`out:`, `  err_free:  /* x */`).
    let mut i = line
        .iter()
        .take_while(|b| **b == b' ' || **b == b'\t')
        .count();
    let ident_start = i;
    if i < line.len() && (line[i].is_ascii_alphabetic() || line[i] == b'_') {
        while i < line.len() && (line[i].is_ascii_alphanumeric() || line[i] == b'_') {
            i += 1;
        }
        if i > ident_start && line.get(i) == Some(&b':') {
            let rest = &line[i + 1..];
            let rest = &rest[rest.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
            if rest.is_empty() || rest.starts_with(b"//") || rest.starts_with(b"/*") {
                return false;
            }
        }
    }
    // Starts with a letter or `_` (or `::` then one).
    let mut rest = line;
    if rest.starts_with(b"::") {
        rest = &rest[2..];
        rest = &rest[rest.iter().take_while(|b| b.is_ascii_whitespace()).count()..];
    }
    rest.first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the diff/apply property test: `similar` placed the final
    /// insertion before the context line it follows, and the hunk header
    /// counted 4 old lines for a body of 5.
    #[test]
    fn odd_names_are_quoted_as_git_quotes_them() {
        assert_eq!(quote_path("a/", "x.c"), "a/x.c");
        assert_eq!(
            quote_path("a/", "t\tn\nq\"b\\.c"),
            "\"a/t\\tn\\nq\\\"b\\\\.c\""
        );
        assert_eq!(quote_path("b/", "caf\u{e9}.c"), "\"b/caf\\303\\251.c\"");
    }

    #[test]
    fn hunk_counts_match_the_body() {
        let before = b"aa\r\naa\na\r\n\r\naa\n\na\naaa\naa\r\n a\n \r\n";
        let after = b"aa\r\naa\na\r\n\r\naa\n\na\naaa\naa\r\n \r\na\n \r\n";
        let d = file_diff("x.c", before, after, None);
        assert_eq!(
            String::from_utf8_lossy(&d),
            "diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -7,5 +7,6 @@ aa\n a\n aaa\n aa\r\n- a\n  \r\n+a\n+ \r\n"
        );
        assert_eq!(
            crate::rewrite::patch::apply_unified(before, &d).unwrap(),
            after
        );
    }

    /// Thousands of changes in one file: each is diffed on its own (in
    /// time linear in the file), each is its own hunk, and the diff
    /// applies back.
    #[test]
    fn scattered_changes_are_diffed_one_by_one() {
        let (mut before, mut after) = (String::new(), String::new());
        for k in 0..3000 {
            let head = format!("int f{k}(void)\n{{\n\tint a = {k};\n\n");
            let tail = "\treturn a;\n}\n\n/* */\n\n";
            before += &format!("{head}\told({k});\n{tail}");
            after += &format!("{head}\tnew({k});\n\tmore();\n{tail}");
        }
        let d = file_diff("x.c", before.as_bytes(), after.as_bytes(), None);
        let text = String::from_utf8_lossy(&d);
        assert_eq!(text.matches("\n@@ -").count(), 3000);
        assert!(text.contains(
            "@@ -29982,7 +32980,8 @@ int f2998(void)\n {\n \tint a = 2998;\n \n-\told(2998);\n+\tnew(2998);\n+\tmore();\n \treturn a;\n }\n \n@@"
        ));
        assert_eq!(
            crate::rewrite::patch::apply_unified(before.as_bytes(), &d).unwrap(),
            after.as_bytes()
        );
    }

    /// A change longer than `SYNC_WINDOW` lines is diffed in stretches; the
    /// diff still applies back.
    #[test]
    fn a_change_longer_than_the_window_applies() {
        let lines = |tag: &str| -> String {
            (0..10 * SYNC_WINDOW)
                .map(|k| format!("{tag}{k}\n"))
                .collect()
        };
        let before = format!("a\nb\nc\n{}x\ny\nz\n", lines("old"));
        let after = format!("a\nb\nc\n{}x\ny\nz\n", lines("new"));
        let d = file_diff("x.c", before.as_bytes(), after.as_bytes(), None);
        let text = String::from_utf8_lossy(&d);
        assert_eq!(text.matches("\n-old").count(), 10 * SYNC_WINDOW);
        assert_eq!(text.matches("\n+new").count(), 10 * SYNC_WINDOW);
        assert_eq!(
            crate::rewrite::patch::apply_unified(before.as_bytes(), &d).unwrap(),
            after.as_bytes()
        );
    }

    #[test]
    fn git_style_hunks() {
        let before = b"static int f(void)\n{\n\tint a;\n\n\ta = 1;\nout:\n\treturn a;\n}";
        let after = b"static int f(void)\n{\n\tint a;\n\n\ta = 1;\nout:\n\treturn 0;\n}";
        let d = String::from_utf8(file_diff("x.c", before, after, None)).unwrap();
        assert_eq!(
            d,
            "diff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -4,5 +4,5 @@ static int f(void)\n \n \ta = 1;\n out:\n-\treturn a;\n+\treturn 0;\n }\n\\ No newline at end of file\n"
        );
    }
}
