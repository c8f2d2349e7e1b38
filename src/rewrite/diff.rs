//! A git-style unified diff of one file, as `git diff` prints it for C code.
//!
//! The output carries the `diff --git`, optional `index`, `---` and `+++`
//! headers, hunks with three lines of context, the enclosing function in each
//! hunk header (the rule of git's `diff=cpp` driver, which the kernel's
//! `.gitattributes` selects for `*.c` and `*.h`), and `\ No newline at end of
//! file` markers. It works on bytes so Latin-1 text and CRLF endings pass
//! through unchanged. The line matching itself comes from `similar`; this file
//! only renders it. Nothing here knows about patch series.

use similar::{Algorithm, DiffTag};
use std::time::{Duration, Instant};

/// Lines of context around each change, as git uses by default.
const CONTEXT: usize = 3;

/// Git truncates the function name in a hunk header to this many bytes.
const FUNC_LINE_MAX: usize = 80;

/// Renders the unified diff of one file from `before` to `after`.
///
/// `index_line` is the text after `index ` (for example
/// `0123456789ab..ba9876543210 100644`); when `None`, no `index` line is
/// written. Identical inputs give an empty result.
pub fn file_diff(rel_path: &str, before: &[u8], after: &[u8], index_line: Option<&str>) -> Vec<u8> {
    if before == after {
        return Vec::new();
    }
    let old = split_lines(before);
    let new = split_lines(after);
    let deadline = Instant::now() + Duration::from_secs(5);
    let ops = similar::capture_diff_slices_deadline(Algorithm::Myers, &old, &new, Some(deadline));
    let groups = similar::group_diff_ops(ops, CONTEXT);

    let mut out = Vec::new();
    out.extend_from_slice(format!("diff --git a/{rel_path} b/{rel_path}\n").as_bytes());
    if let Some(index) = index_line {
        out.extend_from_slice(format!("index {index}\n").as_bytes());
    }
    out.extend_from_slice(format!("--- a/{rel_path}\n+++ b/{rel_path}\n").as_bytes());

    for group in groups {
        let (first, last) = match (group.first(), group.last()) {
            (Some(f), Some(l)) => (f, l),
            _ => continue,
        };
        let old_start = first.old_range().start;
        let old_end = last.old_range().end;
        let new_start = first.new_range().start;
        let new_end = last.new_range().end;
        out.extend_from_slice(b"@@ -");
        out.extend_from_slice(range_text(old_start, old_end - old_start).as_bytes());
        out.extend_from_slice(b" +");
        out.extend_from_slice(range_text(new_start, new_end - new_start).as_bytes());
        out.extend_from_slice(b" @@");
        if let Some(func) = function_line(&old, old_start) {
            out.push(b' ');
            out.extend_from_slice(func);
        }
        out.push(b'\n');
        for op in &group {
            let (tag, old_range, new_range) = op.as_tag_tuple();
            match tag {
                DiffTag::Equal => {
                    for line in &old[old_range] {
                        push_line(&mut out, b' ', line);
                    }
                }
                DiffTag::Delete => {
                    for line in &old[old_range] {
                        push_line(&mut out, b'-', line);
                    }
                }
                DiffTag::Insert => {
                    for line in &new[new_range] {
                        push_line(&mut out, b'+', line);
                    }
                }
                DiffTag::Replace => {
                    for line in &old[old_range] {
                        push_line(&mut out, b'-', line);
                    }
                    for line in &new[new_range] {
                        push_line(&mut out, b'+', line);
                    }
                }
            }
        }
    }
    out
}

/// Splits text into lines that keep their terminator, so a last line without
/// a newline differs from the same line with one, as it does for git.
fn split_lines(text: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut start = 0;
    for (i, &b) in text.iter().enumerate() {
        if b == b'\n' {
            lines.push(&text[start..=i]);
            start = i + 1;
        }
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// Formats one side of a hunk range the way git does: the count is left out
/// when it is 1, and an empty range names the line before it.
fn range_text(start: usize, len: usize) -> String {
    match len {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{}", start + 1, len),
    }
}

fn push_line(out: &mut Vec<u8>, prefix: u8, line: &[u8]) {
    out.push(prefix);
    out.extend_from_slice(line);
    if !line.ends_with(b"\n") {
        out.extend_from_slice(b"\n\\ No newline at end of file\n");
    }
}

/// Finds the function-name line for a hunk whose first old line is
/// `hunk_start`, searching backwards from the line before it.
///
/// This follows git's `cpp` userdiff pattern: a line qualifies when it starts
/// with a letter or underscore (optionally after `::`), except jump labels
/// such as `out:`. Trailing whitespace is dropped and the result is cut at 80
/// bytes.
fn function_line<'a>(old: &[&'a [u8]], hunk_start: usize) -> Option<&'a [u8]> {
    (0..hunk_start).rev().find_map(|i| {
        let line = trim_end(old[i]);
        if is_function_line(line) {
            Some(&line[..line.len().min(FUNC_LINE_MAX)])
        } else {
            None
        }
    })
}

fn trim_end(line: &[u8]) -> &[u8] {
    let mut end = line.len();
    while end > 0 && line[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    &line[..end]
}

fn is_function_line(line: &[u8]) -> bool {
    if is_label(line) {
        return false;
    }
    let rest = match line.strip_prefix(b"::") {
        Some(r) => {
            let skip = r.iter().take_while(|b| b.is_ascii_whitespace()).count();
            &r[skip..]
        }
        None => line,
    };
    matches!(rest.first(), Some(b) if b.is_ascii_alphabetic() || *b == b'_')
}

/// Whether a line is a jump target or access declaration (`out:`,
/// `public:`), which git's cpp driver refuses as a function line.
fn is_label(line: &[u8]) -> bool {
    let skip = line.iter().take_while(|b| **b == b' ' || **b == b'\t').count();
    let rest = &line[skip..];
    match rest.first() {
        Some(b) if b.is_ascii_alphabetic() || *b == b'_' => {}
        _ => return false,
    }
    let ident = rest.iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
    let after = match rest[ident..].strip_prefix(b":") {
        Some(a) => a,
        None => return false,
    };
    let skip = after.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let after = &after[skip..];
    after.is_empty() || after.starts_with(b"/*") || after.starts_with(b"//")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunk_header_names_the_enclosing_function() {
        let before = b"int f(void)\n{\n\tint a;\n\n\ta = 1;\nout:\n\treturn a;\n}\n";
        let after = b"int f(void)\n{\n\tint a;\n\n\ta = 1;\nout:\n\treturn 0;\n}\n";
        let d = String::from_utf8(file_diff("x.c", before, after, None)).unwrap();
        assert!(d.contains("@@ -4,5 +4,5 @@ int f(void)\n"), "{d}");
    }

    #[test]
    fn marks_missing_newline_and_keeps_crlf() {
        let d = file_diff("x.c", b"a\r\nb", b"a\r\nc", None);
        let d = String::from_utf8(d).unwrap();
        assert!(d.ends_with("@@ -1,2 +1,2 @@\n a\r\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"), "{d}");
    }

    #[test]
    fn empty_ranges_name_the_line_before() {
        assert_eq!(range_text(0, 0), "0,0");
        assert_eq!(range_text(4, 1), "5");
        assert_eq!(range_text(4, 3), "5,3");
    }
}
