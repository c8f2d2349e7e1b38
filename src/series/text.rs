//! How a patch looks as text: its diff with `index` lines, git's diffstat,
//! and the complete `git format-patch` e-mail of a patch or cover letter.
//!
//! The text is built here, not in the mbox sink, because the series layer
//! needs it too: get_maintainer.pl's keyword rules (`K:`) match the patch
//! text, so recipients are computed from the same rendering that is written
//! out. The layout follows `git format-patch --cover-letter` (see
//! kernel-conventions.md section 3); only the `From <sha>` line of a patch
//! differs, because there is no commit: it carries the git blob hash of the
//! patch text instead, which keeps it stable and unique.

use super::{FileChange, Identity, Patch, Series};
use crate::rewrite::diff::file_diff;
use git2::{ObjectType, Oid};

/// The width git format-patch gives its diffstat.
const STAT_WIDTH: usize = 72;

/// The line git and mail tools recognise as the start of a format-patch file.
const MAGIC_DATE: &str = "Mon Sep 17 00:00:00 2001";

/// The version written after the `-- ` signature separator.
pub const SIGNATURE: &str = concat!("pinpatch ", env!("CARGO_PKG_VERSION"));

/// The git blob hash of some bytes.
pub fn blob_id(bytes: &[u8]) -> Oid {
    Oid::hash_object(ObjectType::Blob, bytes).expect("hashing in memory cannot fail")
}

/// The diff of one file with an `index <old>..<new> <mode>` line (12-hex abbreviations).
pub fn change_diff(change: &FileChange) -> Vec<u8> {
    let old = blob_id(&change.before).to_string();
    let new = blob_id(&change.after).to_string();
    let index = format!("{}..{} {}", &old[..12], &new[..12], change.mode_text());
    file_diff(&change.path, &change.before, &change.after, Some(&index))
}

/// Counts added and removed lines in a rendered diff.
pub fn count_lines(diff: &[u8]) -> (usize, usize) {
    let mut in_hunk = false;
    let (mut ins, mut del) = (0, 0);
    for line in diff.split(|b| *b == b'\n') {
        if line.starts_with(b"@@") {
            in_hunk = true;
        } else if line.starts_with(b"diff --git ") {
            in_hunk = false;
        } else if in_hunk {
            match line.first() {
                Some(b'+') => ins += 1,
                Some(b'-') => del += 1,
                _ => {}
            }
        }
    }
    (ins, del)
}

/// One file's row in a diffstat.
pub struct StatRow {
    pub path: String,
    pub insertions: usize,
    pub deletions: usize,
}

/// Rows for the files of some patches, merged by path and sorted by path.
pub fn stat_rows<'a>(changes: impl IntoIterator<Item = &'a FileChange>) -> Vec<StatRow> {
    let mut rows: Vec<StatRow> = Vec::new();
    for c in changes {
        let (i, d) = count_lines(&change_diff(c));
        match rows.iter_mut().find(|r| r.path == c.path) {
            Some(r) => {
                r.insertions += i;
                r.deletions += d;
            }
            None => rows.push(StatRow {
                path: c.path.clone(),
                insertions: i,
                deletions: d,
            }),
        }
    }
    rows.sort_by(|a, b| a.path.cmp(&b.path));
    rows
}

/// A diffstat as `git format-patch` prints it: one ` path | N +-` row per
/// file, scaled like git's `show_stats` for a 72-column width, then the
/// summary line.
pub fn diffstat(rows: &[StatRow]) -> String {
    let max_change = rows
        .iter()
        .map(|r| r.insertions + r.deletions)
        .max()
        .unwrap_or(0);
    let max_len = rows.iter().map(|r| r.path.len()).max().unwrap_or(0);
    let number_width = max_change.to_string().len();
    let mut width = STAT_WIDTH;
    if width < 16 + 6 + number_width {
        width = 16 + 6 + number_width;
    }
    let mut graph_width = max_change;
    let mut name_width = max_len;
    if name_width + number_width + 6 + graph_width > width {
        let limit = (width * 3 / 8).saturating_sub(number_width + 6);
        if graph_width > limit {
            graph_width = limit.max(6);
        }
        if name_width > width - number_width - 6 - graph_width {
            name_width = width - number_width - 6 - graph_width;
        } else {
            graph_width = width - number_width - 6 - name_width;
        }
    }
    let mut out = String::new();
    let (mut total_ins, mut total_del) = (0, 0);
    for r in rows {
        total_ins += r.insertions;
        total_del += r.deletions;
        let name = if r.path.len() > name_width {
            // Git keeps the end of a long name and marks the cut with "...".
            let keep = name_width.saturating_sub(3);
            let mut cut = r.path.len() - keep;
            if let Some(slash) = r.path[cut..].find('/') {
                cut += slash;
            }
            format!("...{}", &r.path[cut..])
        } else {
            r.path.clone()
        };
        let (mut add, mut del) = (r.insertions, r.deletions);
        if graph_width < max_change {
            add = scale(add, graph_width, max_change);
            del = scale(del, graph_width, max_change);
        }
        let total = r.insertions + r.deletions;
        out.push_str(&format!(
            " {name:<name_width$} | {total:>number_width$}{}{}{}\n",
            if total > 0 { " " } else { "" },
            "+".repeat(add),
            "-".repeat(del),
        ));
    }
    out.push_str(&summary_line(rows.len(), total_ins, total_del));
    out.push('\n');
    out
}

/// Git's `scale_linear`.
fn scale(it: usize, width: usize, max_change: usize) -> usize {
    if it == 0 || max_change == 0 {
        0
    } else {
        1 + it * (width.saturating_sub(1)) / max_change
    }
}

fn summary_line(files: usize, ins: usize, del: usize) -> String {
    let mut s = format!(" {files} file{} changed", if files == 1 { "" } else { "s" });
    if ins > 0 || del == 0 {
        s.push_str(&format!(
            ", {ins} insertion{}(+)",
            if ins == 1 { "" } else { "s" }
        ));
    }
    if del > 0 || ins == 0 {
        s.push_str(&format!(
            ", {del} deletion{}(-)",
            if del == 1 { "" } else { "s" }
        ));
    }
    s
}

/// `Thu, 1 Jan 2004 00:00:00 +0000` for a Unix time, always in UTC.
pub fn rfc2822_date(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {} {} {} {:02}:{:02}:{:02} +0000",
        WEEKDAYS[days.rem_euclid(7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil conversion.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// What the mail headers of a series need beyond the patches.
pub struct MailContext<'a> {
    pub author: &'a Identity,
    /// Unix time for every `Date:` header.
    pub date: i64,
    /// Whether to write To: and Cc: headers.
    pub with_recipients: bool,
}

/// `[PATCH 03/12]`: the number is padded to the width of the total;
/// `[PATCH]` alone for a series of one. A series' tag word follows `PATCH`,
/// as `git format-patch --subject-prefix='PATCH net'` writes it:
/// `[PATCH net 1/2]`, `[PATCH net]`.
pub fn patch_tag(tag: Option<&str>, n: usize, total: usize) -> String {
    let lead = match tag {
        Some(t) => format!("PATCH {t}"),
        None => "PATCH".to_string(),
    };
    if n == 1 && total == 1 {
        // git format-patch numbers nothing in a series of one.
        return format!("[{lead}]");
    }
    let w = total.to_string().len();
    format!("[{lead} {n:0w$}/{total}]")
}

/// Folds a header longer than 78 columns at spaces, as git does for subjects.
fn fold_header(line: &str) -> String {
    let mut out = String::new();
    let mut cur = String::new();
    for word in line.split(' ') {
        if !cur.is_empty() && cur.len() + 1 + word.len() > 78 {
            out.push_str(&cur);
            out.push('\n');
            cur = String::new();
        }
        cur.push(' ');
        cur.push_str(word);
    }
    out.push_str(&cur);
    // The first line gained a leading space from the loop; remove it.
    out.remove(0);
    out.push('\n');
    out
}

fn address_header(name: &str, addrs: &[String]) -> String {
    let mut s = String::new();
    for (i, a) in addrs.iter().enumerate() {
        s.push_str(if i == 0 { name } else { "    " });
        s.push_str(a);
        if i + 1 < addrs.len() {
            s.push(',');
        }
        s.push('\n');
    }
    s
}

fn headers(
    from_id: &str,
    ctx: &MailContext,
    subject: &str,
    to: &[String],
    cc: &[String],
    non_ascii: bool,
) -> String {
    let mut s = format!("From {from_id} {MAGIC_DATE}\n");
    s.push_str(&format!("From: {}\n", ctx.author.formatted()));
    s.push_str(&format!("Date: {}\n", rfc2822_date(ctx.date)));
    s.push_str(&fold_header(&format!("Subject: {subject}")));
    if ctx.with_recipients {
        s.push_str(&address_header("To: ", to));
        s.push_str(&address_header("Cc: ", cc));
    }
    if non_ascii {
        s.push_str("MIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: 8bit\n");
    }
    s
}

/// The body of a patch mail after the headers: message, `---`, diffstat and diffs.
fn patch_tail(patch: &Patch) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(patch.body.as_bytes());
    out.extend_from_slice(b"---\n");
    if !patch.notes.is_empty() {
        out.extend_from_slice(patch.notes.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(diffstat(&stat_rows(&patch.files)).as_bytes());
    out.push(b'\n');
    let mut files: Vec<&FileChange> = patch.files.iter().collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    for f in files {
        out.extend_from_slice(&change_diff(f));
    }
    out
}

/// The complete format-patch file of patch `n` of `total`.
pub fn patch_mail(
    patch: &Patch,
    tag: Option<&str>,
    n: usize,
    total: usize,
    ctx: &MailContext,
) -> Vec<u8> {
    let subject = format!("{} {}", patch_tag(tag, n, total), patch.subject);
    let tail = patch_tail(patch);
    let non_ascii = !patch.body.is_ascii() || !patch.subject.is_ascii();
    let mut id_input = subject.as_bytes().to_vec();
    id_input.extend_from_slice(&tail);
    let id = blob_id(&id_input).to_string();
    let mut out = headers(&id, ctx, &subject, &patch.to, &patch.cc, non_ascii).into_bytes();
    out.push(b'\n');
    out.extend_from_slice(&tail);
    out.extend_from_slice(format!("-- \n{SIGNATURE}\n\n").as_bytes());
    out
}

/// The text get_maintainer.pl is given for a patch: the subject line and
/// everything after the headers, without To: or Cc:.
pub fn patch_text_for_recipients(patch: &Patch) -> Vec<u8> {
    let mut out = format!("Subject: [PATCH] {}\n\n", patch.subject).into_bytes();
    out.extend_from_slice(&patch_tail(patch));
    out
}

/// The `0000-cover-letter.patch` file of a series.
pub fn cover_mail(series: &Series, ctx: &MailContext) -> Vec<u8> {
    let total = series.patches.len();
    let subject = format!(
        "{} {}",
        patch_tag(series.tag.as_deref(), 0, total),
        series.cover.subject
    );
    let non_ascii = !series.cover.body.is_ascii() || !ctx.author.formatted().is_ascii();
    let mut out = headers(
        &"0".repeat(40),
        ctx,
        &subject,
        &series.cover.to,
        &series.cover.cc,
        non_ascii,
    );
    out.push('\n');
    out.push_str(&series.cover.body);
    out.push('\n');
    out.push_str(&format!("{} ({}):\n", ctx.author.name, total));
    for p in &series.patches {
        out.push_str(&super::message::wrap(&p.subject, 76, "  ", "    "));
    }
    out.push('\n');
    out.push_str(&diffstat(&stat_rows(
        series.patches.iter().flat_map(|p| &p.files),
    )));
    out.push('\n');
    if let Some(base) = &series.cover.base_commit {
        out.push_str(&format!("\nbase-commit: {base}\n"));
    }
    out.push_str(&format!("-- \n{SIGNATURE}\n\n"));
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc2822() {
        assert_eq!(rfc2822_date(0), "Thu, 1 Jan 1970 00:00:00 +0000");
        assert_eq!(
            rfc2822_date(1_700_000_000),
            "Tue, 14 Nov 2023 22:13:20 +0000"
        );
    }

    #[test]
    fn diffstat_matches_git() {
        let rows = [
            StatRow {
                path: "drivers/a.c".into(),
                insertions: 2,
                deletions: 2,
            },
            StatRow {
                path: "net/rds/rdma.c".into(),
                insertions: 1,
                deletions: 0,
            },
        ];
        assert_eq!(
            diffstat(&rows),
            " drivers/a.c    | 4 ++--\n net/rds/rdma.c | 1 +\n 2 files changed, 3 insertions(+), 2 deletions(-)\n"
        );
    }

    #[test]
    fn numbers_are_padded_to_the_total() {
        assert_eq!(patch_tag(None, 3, 12), "[PATCH 03/12]");
        assert_eq!(patch_tag(None, 0, 9), "[PATCH 0/9]");
        assert_eq!(patch_tag(Some("net"), 1, 1), "[PATCH net]");
        assert_eq!(patch_tag(Some("net-next"), 2, 3), "[PATCH net-next 2/3]");
    }
}
