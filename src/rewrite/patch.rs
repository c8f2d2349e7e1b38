//! Applying a unified diff of one file to its original bytes, in process.
//!
//! This is the other half of `diff.rs`, used as a self-check: the pipeline
//! applies every diff it prints to the original and compares the result
//! with the rewritten bytes, so a diff that `git apply` would take
//! differently from what `apply` writes is caught before anyone sees it. It
//! reads the subset of the format `diff.rs` writes (headers, `@@` hunks with
//! exact counts, ` `/`-`/`+` lines, `\ No newline at end of file`); it
//! applies strictly, without fuzz or offsets, and works on bytes (CRLF,
//! Latin-1 and any other bytes pass through).

use super::diff::split_lines;

/// Why a diff does not apply.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    #[error("line {0} of the diff: malformed hunk header")]
    BadHunkHeader(usize),
    #[error("line {0} of the diff: the hunk ends early")]
    ShortHunk(usize),
    #[error("line {0} of the diff: unexpected line in a hunk")]
    BadLine(usize),
    #[error("hunk at diff line {line}: the original has no line {at}")]
    OutOfRange { line: usize, at: usize },
    #[error("hunk at diff line {line}: line {at} of the original differs")]
    Mismatch { line: usize, at: usize },
    #[error("hunk at diff line {0} starts before the end of the previous hunk")]
    Unordered(usize),
}

/// Parses `a,b` or `a` (length 1) after the `-` or `+` of a hunk header.
fn range(text: &[u8]) -> Option<(usize, usize)> {
    let text = std::str::from_utf8(text).ok()?;
    match text.split_once(',') {
        Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
        None => Some((text.parse().ok()?, 1)),
    }
}

/// `@@ -a,b +c,d @@ context` -> ((a, b), (c, d)).
fn hunk_header(line: &[u8]) -> Option<((usize, usize), (usize, usize))> {
    let rest = line.strip_prefix(b"@@ -")?;
    let space = rest.iter().position(|&b| b == b' ')?;
    let old = range(&rest[..space])?;
    let rest = rest[space + 1..].strip_prefix(b"+")?;
    let space = rest.iter().position(|&b| b == b' ')?;
    let new = range(&rest[..space])?;
    rest[space..].starts_with(b" @@").then_some((old, new))
}

/// Applies a one-file unified diff (as `diff::file_diff` writes it) to
/// `original`; an empty diff leaves it as it is.
pub fn apply_unified(original: &[u8], diff: &[u8]) -> Result<Vec<u8>, PatchError> {
    let old = split_lines(original);
    let lines = split_lines(diff);
    let mut out = Vec::with_capacity(original.len() + diff.len());
    let mut pos = 0; // Next original line to copy, 0-based.
    let mut i = 0; // Next diff line, 0-based.
    while i < lines.len() {
        let line = lines[i];
        if !line.starts_with(b"@@") {
            // Header lines (`diff --git`, `index`, `---`, `+++`) before a hunk.
            i += 1;
            continue;
        }
        let header_line = i + 1;
        let ((old_start, old_len), (_, new_len)) =
            hunk_header(line).ok_or(PatchError::BadHunkHeader(header_line))?;
        // An empty range names the line before it.
        let start = if old_len == 0 {
            old_start
        } else {
            old_start.saturating_sub(1)
        };
        if start < pos {
            return Err(PatchError::Unordered(header_line));
        }
        if start > old.len() {
            return Err(PatchError::OutOfRange {
                line: header_line,
                at: start + 1,
            });
        }
        for l in &old[pos..start] {
            out.extend_from_slice(l);
        }
        pos = start;
        i += 1;
        let (mut old_left, mut new_left) = (old_len, new_len);
        while old_left > 0 || new_left > 0 {
            let Some(&body) = lines.get(i) else {
                return Err(PatchError::ShortHunk(i + 1));
            };
            let (sign, mut content) = match body.split_first() {
                Some((&s, c)) => (s, c),
                None => return Err(PatchError::BadLine(i + 1)),
            };
            let no_newline = lines.get(i + 1).is_some_and(|l| l.starts_with(b"\\ "));
            if no_newline {
                content = content.strip_suffix(b"\n").unwrap_or(content);
            }
            let take_old = |pos: &mut usize, left: &mut usize| {
                if *left == 0 {
                    return Err(PatchError::BadLine(i + 1));
                }
                match old.get(*pos) {
                    None => Err(PatchError::OutOfRange {
                        line: header_line,
                        at: *pos + 1,
                    }),
                    Some(&l) if l != content => Err(PatchError::Mismatch {
                        line: header_line,
                        at: *pos + 1,
                    }),
                    Some(_) => {
                        *pos += 1;
                        *left -= 1;
                        Ok(())
                    }
                }
            };
            match sign {
                b' ' => {
                    take_old(&mut pos, &mut old_left)?;
                    if new_left == 0 {
                        return Err(PatchError::BadLine(i + 1));
                    }
                    new_left -= 1;
                    out.extend_from_slice(content);
                }
                b'-' => take_old(&mut pos, &mut old_left)?,
                b'+' => {
                    if new_left == 0 {
                        return Err(PatchError::BadLine(i + 1));
                    }
                    new_left -= 1;
                    out.extend_from_slice(content);
                }
                _ => return Err(PatchError::BadLine(i + 1)),
            }
            i += if no_newline { 2 } else { 1 };
        }
    }
    for l in &old[pos..] {
        out.extend_from_slice(l);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewrite::diff::file_diff;
    use proptest::prelude::*;

    #[test]
    fn applies_what_file_diff_writes() {
        let before = b"a\r\nb\nc\xe9\nd";
        let after = b"a\r\nB\nc\xe9\nd\n";
        let d = file_diff("x.c", before, after, None);
        assert_eq!(apply_unified(before, &d).unwrap(), after);
        assert_eq!(apply_unified(before, b"").unwrap(), before);
    }

    #[test]
    fn refuses_a_diff_for_other_text() {
        let d = file_diff("x.c", b"a\nb\n", b"a\nc\n", None);
        assert_eq!(
            apply_unified(b"a\nx\n", &d),
            Err(PatchError::Mismatch { line: 4, at: 2 })
        );
        assert_eq!(
            apply_unified(b"a\n", b"@@ -1,2 +1 @@\n a\n-b\n"),
            Err(PatchError::OutOfRange { line: 1, at: 2 })
        );
        assert_eq!(
            apply_unified(b"a\n", b"@@ -1 +1 @@\n"),
            Err(PatchError::ShortHunk(2))
        );
        assert_eq!(
            apply_unified(b"a\n", b"@@ -x +1 @@\n"),
            Err(PatchError::BadHunkHeader(1))
        );
    }

    /// Lines of a few letters, with `\n`, `\r\n` or (last) no ending.
    fn text() -> impl Strategy<Value = Vec<u8>> {
        let line = (
            prop::collection::vec(prop::sample::select(b"ab \t\xe9}".to_vec()), 0..4),
            prop::sample::select(vec![&b"\n"[..], b"\r\n", b""]),
        );
        prop::collection::vec(line, 0..30).prop_map(|lines| {
            let mut out = Vec::new();
            for (body, end) in lines {
                out.extend(body);
                out.extend_from_slice(end);
            }
            out
        })
    }

    /// A text and an edited copy: random splices of random text.
    fn edited() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
        (
            text(),
            prop::collection::vec((any::<prop::sample::Index>(), 0usize..12, text()), 0..5),
        )
            .prop_map(|(before, edits)| {
                let mut after = before.clone();
                for (at, len, with) in edits {
                    let start = if after.is_empty() {
                        0
                    } else {
                        at.index(after.len() + 1)
                    };
                    let end = (start + len).min(after.len());
                    after.splice(start..end, with.into_iter().take(20));
                }
                (before, after)
            })
    }

    proptest! {
        #[test]
        fn diff_then_apply_gives_the_new_text((before, after) in edited()) {
            let d = file_diff("x.c", &before, &after, None);
            prop_assert_eq!(apply_unified(&before, &d).unwrap(), after);
        }
    }
}
