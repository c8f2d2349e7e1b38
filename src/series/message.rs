//! Subjects, commit messages and cover-letter text.
//!
//! A subject says what the patch does to the acquire, as the upstream
//! conversions wrote it: `<prefix>: convert get_user_pages_fast() -->
//! pin_user_pages_fast()` (`get_user_pages*()` when several acquires are
//! meant); a release-only patch (the `put_user_page` target) names its
//! release, and a fix says what it repairs. The prefix comes from the git
//! history of the patch's files when the tree has one: the most frequent
//! subsystem lead (`KVM: s390`, `drm/i915`) of the recent subjects touching
//! each file. Without history it comes from `prefixes.toml` (longest path
//! key first), and for paths that table does not name, from this table
//! (first match wins; `<x>` is the next path component, file extensions are
//! dropped):
//!
//! | Path | Prefix |
//! |---|---|
//! | `drivers/gpu/drm/<x>/…` | `drm/<x>` |
//! | `drivers/gpu/drm/<file>` | `drm` |
//! | `drivers/infiniband/{hw,sw,ulp}/<x>/…` | `RDMA/<x>` |
//! | `drivers/infiniband/<x>/…` | `RDMA/<x>` |
//! | `drivers/infiniband/…` | `RDMA` |
//! | `drivers/media/…/<dir>/<file>` | `media: <dir>` (the file's own directory) |
//! | `drivers/vfio/<file>` | `vfio` |
//! | `drivers/vfio/<x>/…` | `vfio/<x>` |
//! | `drivers/net/ethernet/<vendor>/<x>/…` | `net/<x>` |
//! | `drivers/<a>/<file>` | `<a>` |
//! | `drivers/<a>/<b>/…` | `<a>: <b>` |
//! | `net/<x>/…` | `net/<x>` |
//! | `net/<file>` | `net` |
//! | `fs/<x>/…` | `<x>` |
//! | `fs/<file>` | `fs` |
//! | `mm/<file>` | `mm/<file>` |
//! | `arch/<a>/kvm/…` | `KVM: <a>` |
//! | `arch/<a>/<b>/…` | `<a>/<b>` |
//! | `arch/<a>/<file>` | `<a>` |
//! | `virt/kvm/…` | `KVM` |
//! | `sound/<x>/…` | `ALSA: <x>` |
//! | `<a>/<b>/…` | `<a>/<b>` |
//! | `<a>/<file>` | `<a>` |
//! | `<file>` | the file name |
//!
//! A body explains, per unit, which case of
//! Documentation/core-api/pin_user_pages.rst applies and the line that
//! shows it, every change of behaviour beyond the renaming, and what a
//! maintainer should decide (pages written while held but never dirtied,
//! pins kept in a structure without `FOLL_LONGTERM`). Bodies are wrapped at
//! 75 columns. `Signed-off-by:` is added only when the caller passes an
//! identity; this module never invents one.

use super::input::{stored_in, CallChange, Evidence, Facts, Fix, FixKind, Place, Target};
use super::Identity;
use crate::engine::reason::{Evidence as CaseEvidence, PinCase};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Maximum width of commit-message lines and of the subject.
pub const WRAP: usize = 75;

/// The documentation every body points to.
const DOC: &str = "Documentation/core-api/pin_user_pages.rst";

/// `name()` for one name, `common*()` for several (`get_user_pages*()`).
fn names(list: &[&str]) -> String {
    let mut v: Vec<&str> = list.iter().copied().filter(|s| !s.is_empty()).collect();
    v.sort_unstable();
    v.dedup();
    match v.as_slice() {
        [] => String::new(),
        [one] => format!("{one}()"),
        [first, rest @ ..] => {
            let mut n = first.len();
            for r in rest {
                n = n.min(
                    first
                        .bytes()
                        .zip(r.bytes())
                        .take_while(|(a, b)| a == b)
                        .count(),
                );
            }
            let common = first[..n].trim_end_matches('_');
            format!("{common}*()")
        }
    }
}

/// The part of a conversion subject after the prefix: what happens to the
/// acquires, or to the releases when no acquire changes; longest first,
/// then a shorter form naming only the result.
pub fn summary_texts(acquires: &[&CallChange], releases: &[&CallChange]) -> Vec<String> {
    let changed = |v: &[&CallChange]| -> (Vec<String>, Vec<String>) {
        let c: Vec<&&CallChange> = v
            .iter()
            .filter(|c| !c.to.is_empty() && c.to != c.from)
            .collect();
        (
            c.iter().map(|c| c.from.clone()).collect(),
            c.iter().map(|c| c.to.clone()).collect(),
        )
    };
    let (mut from, mut to) = changed(acquires);
    if from.is_empty() {
        (from, to) = changed(releases);
    }
    let f: Vec<&str> = from.iter().map(String::as_str).collect();
    let t: Vec<&str> = to.iter().map(String::as_str).collect();
    vec![
        format!("convert {} --> {}", names(&f), names(&t)),
        format!("convert to {}", names(&t)),
    ]
}

/// The first (longest) of `summary_texts`.
pub fn summary_text(acquires: &[&CallChange], releases: &[&CallChange]) -> String {
    summary_texts(acquires, releases).swap_remove(0)
}

/// The part of a fix subject after the prefix, longest first.
pub fn fix_summaries(fix: &Fix, pages: &str) -> Vec<String> {
    let what = noun(pages).noun;
    if fix.kind == FixKind::GotUnpinned {
        let released: Vec<&str> = fix.correct.iter().map(|c| c.from.as_str()).collect();
        return vec![
            format!(
                "pin the {what} released with {} in {}()",
                names(&released),
                fix.acquire.at.function
            ),
            format!("pin the {what} released with {}", names(&released)),
        ];
    }
    let from: Vec<&str> = fix.releases.iter().map(|c| c.from.as_str()).collect();
    let mut functions: Vec<&str> = fix
        .releases
        .iter()
        .map(|c| c.at.function.as_str())
        .collect();
    functions.dedup();
    let short = format!("fix pinned {what} released with {}", names(&from));
    match functions.as_slice() {
        [one] => vec![format!("{short} in {one}()"), short],
        _ => vec![short],
    }
}

/// Builds a subject of at most 75 columns from a prefix and the first of
/// `summaries` (longest first) that fits after it whole. When none does,
/// the prefix is cut at its last `/` or `:` component that fits the last
/// summary.
pub fn subject_from(prefix: &str, summaries: &[String]) -> String {
    for s in summaries {
        if prefix.len() + 2 + s.len() <= WRAP {
            return format!("{prefix}: {s}");
        }
    }
    subject(prefix, summaries.last().map(String::as_str).unwrap_or(""))
}

/// Builds a subject of at most 75 columns from a prefix and a summary. A
/// prefix too long to fit is cut at its last `/` or `:` component that fits.
pub fn subject(prefix: &str, summary: &str) -> String {
    let mut prefix = prefix.to_string();
    while prefix.len() + 2 + summary.len() > WRAP {
        match prefix.rfind(['/', ':']) {
            Some(p) => prefix.truncate(p),
            None => {
                let keep = WRAP.saturating_sub(2 + summary.len());
                prefix.truncate(keep);
                break;
            }
        }
    }
    format!("{prefix}: {summary}")
}

#[derive(serde::Deserialize)]
struct PrefixTable {
    prefixes: BTreeMap<String, String>,
}

/// The shipped table of prefixes by path (`prefixes.toml`).
fn prefix_table() -> &'static BTreeMap<String, String> {
    static TABLE: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let t: PrefixTable = toml::from_str(include_str!("prefixes.toml"))
            .expect("prefixes.toml is checked by the unit tests");
        t.prefixes
    })
}

/// The subject prefix of a path without history: the longest key of
/// `prefixes.toml` that starts it, else the path table of this module.
pub fn table_prefix(path: &str) -> String {
    prefix_table()
        .iter()
        .filter(|(k, _)| {
            if k.ends_with('/') {
                path.starts_with(k.as_str())
            } else {
                path == k.as_str()
            }
        })
        .max_by_key(|(k, _)| k.len())
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| path_prefix(path))
}

/// The subject prefix for a path, from the table in this module's header.
pub fn path_prefix(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let stem = |s: &str| -> String {
        match s.rfind('.') {
            Some(p) if p > 0 => s[..p].to_string(),
            _ => s.to_string(),
        }
    };
    // `dir(i)` is component i when it is a directory (something follows it).
    let dir = |i: usize| -> Option<&str> {
        if i + 1 < parts.len() {
            Some(parts[i])
        } else {
            None
        }
    };
    match parts.as_slice() {
        [] => String::new(),
        ["drivers", "gpu", "drm", ..] => match dir(3) {
            Some(x) => format!("drm/{x}"),
            None => "drm".into(),
        },
        ["drivers", "infiniband", kind, ..] if matches!(*kind, "hw" | "sw" | "ulp") => match dir(3)
        {
            Some(x) => format!("RDMA/{x}"),
            None => "RDMA".into(),
        },
        ["drivers", "infiniband", ..] => match dir(2) {
            Some(x) => format!("RDMA/{x}"),
            None => "RDMA".into(),
        },
        ["drivers", "media", ..] if parts.len() > 3 => {
            format!("media: {}", parts[parts.len() - 2])
        }
        ["drivers", "vfio", ..] => match dir(2) {
            Some(x) => format!("vfio/{x}"),
            None => "vfio".into(),
        },
        ["drivers", "net", "ethernet", _, ..] if dir(4).is_some() => format!("net/{}", parts[4]),
        ["drivers", a, ..] => match dir(2) {
            Some(b) => format!("{a}: {b}"),
            None if dir(1).is_some() => a.to_string(),
            None => "drivers".into(),
        },
        ["net", ..] => match dir(1) {
            Some(x) => format!("net/{x}"),
            None => "net".into(),
        },
        ["fs", ..] => match dir(1) {
            Some(x) => x.to_string(),
            None => "fs".into(),
        },
        ["mm", file] => format!("mm/{}", stem(file)),
        ["arch", a, "kvm", _, ..] => format!("KVM: {a}"),
        ["arch", a, ..] => match (dir(1), dir(2)) {
            (Some(_), Some(b)) => format!("{a}/{b}"),
            (Some(_), None) => a.to_string(),
            _ => "arch".into(),
        },
        ["virt", "kvm", ..] => "KVM".into(),
        ["sound", x, _, ..] => format!("ALSA: {x}"),
        [a, b, _, ..] => format!("{a}/{b}"),
        [a, _] => a.to_string(),
        [file] => stem(file),
    }
}

/// The subsystem lead of a subject: its `x: ` segments before the summary,
/// where a segment is one word (`KVM`, `drm/i915`) or a few capitalised
/// words (`Book3S HV`). `KVM: PPC: e500: fix x` gives `KVM: PPC: e500`.
pub fn subject_lead(subject: &str) -> Option<String> {
    let parts: Vec<&str> = subject.split(": ").collect();
    let mut lead: Vec<&str> = Vec::new();
    for seg in &parts[..parts.len().saturating_sub(1)] {
        let seg = seg.trim();
        let words: Vec<&str> = seg.split_whitespace().collect();
        let one_word = words.len() == 1;
        let capitalised = (2..=3).contains(&words.len())
            && words
                .iter()
                .all(|w| w.starts_with(|c: char| c.is_ascii_uppercase() || c.is_ascii_digit()));
        if seg.is_empty() || seg.starts_with('[') || !(one_word || capitalised) {
            break;
        }
        lead.push(seg);
    }
    (!lead.is_empty()).then(|| lead.join(": "))
}

/// The most frequent lead in a list of subjects, ties going to the one
/// seen first. Subjects without one and merge commits are ignored.
pub fn prefix_from_subjects<'a>(subjects: impl IntoIterator<Item = &'a str>) -> Option<String> {
    most_frequent(subjects.into_iter().filter_map(|s| {
        if s.starts_with("Merge ") || s.starts_with("Revert ") {
            return None;
        }
        subject_lead(s)
    }))
}

/// Picks one prefix for a patch from its files' prefixes (given in sorted
/// file order): the leading components they all share (`common_components`),
/// else the most frequent, ties going to the first.
pub fn choose_prefix(per_file: &[String]) -> String {
    let common = common_components(per_file);
    if !common.is_empty() {
        return common;
    }
    most_frequent(per_file.iter().cloned()).unwrap_or_else(|| "treewide".into())
}

/// The leading `: `-separated components every prefix shares: `KVM: PPC`
/// for `KVM: PPC: Book3S HV` and `KVM: PPC: e500`, as a patch touching both
/// is titled; empty when the first components differ.
fn common_components(prefixes: &[String]) -> String {
    let mut split = prefixes.iter().map(|p| p.split(": ").collect::<Vec<_>>());
    let Some(mut common) = split.next() else {
        return String::new();
    };
    for parts in split {
        let n = common
            .iter()
            .zip(&parts)
            .take_while(|(a, b)| a == b)
            .count();
        common.truncate(n);
    }
    common.join(": ")
}

/// The most frequent item, ties going to the one seen first.
fn most_frequent(items: impl Iterator<Item = String>) -> Option<String> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for item in items {
        match counts.iter_mut().find(|(p, _)| *p == item) {
            Some((_, n)) => *n += 1,
            None => counts.push((item, 1)),
        }
    }
    let max = counts.iter().map(|(_, n)| *n).max()?;
    counts.into_iter().find(|(_, n)| *n == max).map(|(p, _)| p)
}

/// The longest parenthesised run `wrap` keeps on one line.
const UNBROKEN: usize = 48;

/// The words of a text, a call written with spaces after its commas
/// (`f(pages, got, true)`) kept as one word when it is short enough.
fn unbroken_words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut open = 0usize;
    for word in text.split_whitespace() {
        let joins = open > 0
            && out
                .last()
                .is_some_and(|last| last.len() + 1 + word.len() <= UNBROKEN);
        if joins {
            let last = out.last_mut().expect("a word is open");
            last.push(' ');
            last.push_str(word);
        } else {
            open = 0;
            out.push(word.to_string());
        }
        open = (open + word.matches('(').count()).saturating_sub(word.matches(')').count());
    }
    out
}

/// Wraps text at `width` columns, keeping words whole; `indent` starts every
/// line after the first. Words longer than a line stay on their own line.
pub fn wrap(text: &str, width: usize, first_indent: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut line = first_indent.to_string();
    let mut line_has_word = false;
    for word in unbroken_words(text) {
        let word = word.as_str();
        if line_has_word && line.len() + 1 + word.len() > width {
            out.push_str(&line);
            out.push('\n');
            line = indent.to_string();
            line_has_word = false;
        }
        if line_has_word {
            line.push(' ');
        }
        line.push_str(word);
        line_has_word = true;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// A paragraph wrapped at 75 columns, followed by a blank line.
fn para(out: &mut String, text: &str) {
    out.push_str(&wrap(text, WRAP, "", ""));
    out.push('\n');
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The "why" paragraph of cover letters.
pub fn rationale(target: Target) -> String {
    match target {
        Target::Unpin => format!(
            "Pages whose contents are accessed by a device or by the kernel \
            while they are held must be pinned with pin_user_pages*() \
            and released with unpin_user_page*(), so that page_maybe_dma_pinned() \
            sees them ({DOC})."
        ),
        Target::PutUserPage => "Pages obtained from get_user_pages*() are released with \
            put_user_page*() instead of put_page(), so that they can later be \
            tracked while they are in use for DMA."
            .into(),
    }
}

/// How a message refers to the pages of a unit: one page or several.
struct Noun {
    noun: &'static str,
    pronoun: &'static str,
    is: &'static str,
}

fn noun(pages: &str) -> Noun {
    if pages.starts_with('&') {
        Noun {
            noun: "page",
            pronoun: "it",
            is: "is",
        }
    } else {
        Noun {
            noun: "pages",
            pronoun: "them",
            is: "are",
        }
    }
}

/// Where a commit message says something is: in the function holding it,
/// as kernel commit messages do (line numbers change as soon as the tree
/// does). Nothing for the function a sentence is about, and the file too
/// when it is not the one the pages are taken in.
struct Home<'a> {
    function: &'a str,
    path: &'a str,
}

impl<'a> Home<'a> {
    /// The function a unit's sentences are about (the acquire's, else the
    /// first release's) and its file.
    fn of(facts: &'a Facts) -> Home<'a> {
        match facts.acquires.first().or(facts.releases.first()) {
            Some(c) => Home::at(&c.at),
            None => Home {
                function: &facts.function,
                path: "",
            },
        }
    }

    /// The home of a sentence about what happens at `place`.
    fn at(place: &'a Place) -> Home<'a> {
        Home {
            function: &place.function,
            path: &place.path,
        }
    }

    /// ` in f()`, ` in f() (path)`, or nothing in the home function.
    fn place(&self, p: &Place) -> String {
        if p.function.is_empty() || (p.function == self.function && p.path == self.path) {
            String::new()
        } else {
            format!(" in {}", self.named(p))
        }
    }

    /// `f()`, with its file when it is not the home file.
    fn named(&self, p: &Place) -> String {
        if p.path == self.path || p.path.is_empty() {
            format!("{}()", p.function)
        } else {
            format!("{}() ({})", p.function, p.path)
        }
    }

    /// Each function holding one of the calls, named once, in order.
    fn functions<'c>(&self, calls: impl IntoIterator<Item = &'c CallChange>) -> Vec<String> {
        distinct(calls.into_iter().map(|c| self.named(&c.at)))
    }

    /// Each call as `name()` with where it is, named once, in order.
    fn calls<'c>(&self, calls: impl IntoIterator<Item = &'c CallChange>) -> Vec<String> {
        distinct(
            calls
                .into_iter()
                .map(|c| format!("{}(){}", c.from, self.place(&c.at))),
        )
    }
}

/// The items, each kept once, in the order first seen.
fn distinct(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fn evidence_name(e: &Evidence) -> String {
    match e {
        Evidence::Dma(n) | Evidence::Write(n) => format!("{n}()"),
        Evidence::Stored(f) => f.clone(),
        Evidence::LongTerm => "FOLL_LONGTERM".into(),
    }
}

/// What the pages of a unit are used for, as the documentation's case: the
/// engine's `PinCase`, told in a sentence. A piece of evidence is a call
/// (`dma_map_sg()`), a struct field the pages are stored in, or
/// `FOLL_LONGTERM`.
fn case_sentence(facts: &Facts) -> Option<String> {
    let n = noun(&facts.pages);
    let home = Home::of(facts);
    let place = |at: &Place| home.place(at);
    // How the pages reach a device: through a call, or by being stored
    // where one reads them.
    let reached = |evidence: &CaseEvidence, at: &Place| match stored_in(evidence) {
        Some(place_of) => format!(
            "the {} {} stored in {place_of}{}, which a device reads,",
            n.noun,
            n.is,
            place(at)
        ),
        None => format!(
            "the {}' contents are accessed through {evidence}{}",
            n.noun,
            place(at)
        ),
    };
    match facts.case.as_ref()? {
        PinCase::Dma { evidence, at } => Some(format!(
            "This is case 1 (Direct IO) of {DOC}: {} while the call runs.",
            reached(evidence, at)
        )),
        PinCase::LongTermDma { evidence, at, kept } => {
            let kept = match kept {
                Some((field, kept_at)) => format!(
                    ", and the {} {} kept in struct {field}{} beyond the call",
                    n.noun,
                    n.is,
                    place(kept_at)
                ),
                None => ", with FOLL_LONGTERM".into(),
            };
            Some(format!(
                "This is case 2 (RDMA) of {DOC}: {}{kept}.",
                reached(evidence, at).trim_end_matches(',')
            ))
        }
        PinCase::WriteData { evidence, at } => Some(format!(
            "This is case 5 of {DOC}: the data within the {} is written, as {evidence}{} shows.",
            n.noun,
            place(at)
        )),
        PinCase::DataAccess { call, at } => Some(format!(
            "The data within the {} is accessed through {call}(){}, and {DOC} gives FOLL_PIN to pages whose data will be accessed.",
            n.noun,
            place(at)
        )),
        PinCase::LongTerm { evidence, at } => Some(match stored_in(evidence) {
            Some(field) => format!(
                "The {} {} kept in {field}{} beyond the call, which needs a pin rather than a reference ({DOC}).",
                n.noun,
                n.is,
                place(at)
            ),
            None => format!(
                "The {} {} taken with {evidence}{} for a long-term use, which needs a pin rather than a reference ({DOC}).",
                n.noun,
                n.is,
                place(at)
            ),
        }),
        PinCase::MmuNotifier { .. }
        | PinCase::StructPageOnly
        | PinCase::Lookup
        | PinCase::BriefRemoteAccess => None,
    }
}

/// The release upstream would likely want for pages written while held:
/// `unpin_user_pages_dirty_lock(&page, 1, cond)` for one page,
/// `unpin_user_pages_dirty_lock(pages, n, cond)` for an array released by
/// `unpin_user_pages(pages, n)`; `cond` is `true` unless the acquire asks
/// for write access only under a condition.
fn dirty_release(release: Option<&CallChange>, condition: Option<&str>) -> String {
    let cond = condition.unwrap_or("true");
    let array_args = release
        .filter(|c| c.to == "unpin_user_pages" || c.to == "put_user_pages")
        .and_then(|c| {
            let open = c.rewritten.find('(')?;
            c.rewritten[open + 1..]
                .trim_end()
                .trim_end_matches(';')
                .strip_suffix(')')
                .map(str::to_string)
        });
    match (array_args, release) {
        (Some(args), _) => format!("unpin_user_pages_dirty_lock({args}, {cond})"),
        (None, Some(c)) if !c.argument.is_empty() => {
            format!("unpin_user_pages_dirty_lock(&{}, 1, {cond})", c.argument)
        }
        _ => format!("unpin_user_pages_dirty_lock(..., {cond})"),
    }
}

/// How many lines before a one-page release a dirtying call may be for the
/// two to read as one `set_page_dirty(p); put_page(p);` pair.
const FOLD_DISTANCE: usize = 3;

/// The dirtying calls just before a one-page release that upstream folds
/// with it into `unpin_user_pages_dirty_lock(&page, 1, true)` and the
/// rewrite could not (another statement comes between them), as sentences.
fn fold_notes(facts: &Facts, releases: &[CallChange]) -> Vec<String> {
    let home = Home::of(facts);
    let mut out = Vec::new();
    for r in releases
        .iter()
        .filter(|r| !r.looped && r.folded.is_empty() && !r.argument.is_empty())
    {
        let dirty = facts.evidence.iter().find(|(e, at)| {
            matches!(e, Evidence::Write(n) if n.starts_with("set_page_dirty"))
                && at.path == r.at.path
                && at.line < r.at.line
                && r.at.line - at.line <= FOLD_DISTANCE
        });
        if let Some(d) = dirty {
            out.push(format!(
                "{}{} marks the page dirty just before {}(){}; {} would do both, taking the page lock while dirtying.",
                evidence_name(&d.0),
                home.place(&d.1),
                if r.to.is_empty() { &r.from } else { &r.to },
                home.place(&r.at),
                dirty_release(Some(r), None)
            ));
        }
    }
    out
}

/// What a maintainer should decide about a unit, as sentences.
fn decisions(facts: &Facts, release: Option<&CallChange>) -> Vec<String> {
    let n = noun(&facts.pages);
    let home = Home::of(facts);
    let mut out = Vec::new();
    let dirtied = facts
        .evidence
        .iter()
        .any(|e| matches!(e.0, Evidence::Write(_)))
        || facts.releases.iter().any(|c| c.to.contains("dirty"));
    let dma = facts
        .evidence
        .iter()
        .find(|e| matches!(e.0, Evidence::Dma(_)));
    if let (true, false, Some(d)) = (facts.write, dirtied, dma) {
        out.push(format!(
            "The {} {} taken with FOLL_WRITE and accessed through {}{}, but no release marks {} dirty; if the device writes into {}, the release should be {}.",
            n.noun,
            n.is,
            evidence_name(&d.0),
            home.place(&d.1),
            n.pronoun,
            n.pronoun,
            dirty_release(release, facts.write_condition.as_deref())
        ));
    }
    if !facts.longterm && facts.held_beyond_call {
        // Every place the pages are kept, in one sentence, the fields
        // stored in one function together.
        let mut by_place: Vec<(String, Vec<&str>)> = Vec::new();
        for e in &facts.evidence {
            if let Evidence::Stored(field) = &e.0 {
                let place = home.place(&e.1);
                match by_place.iter_mut().find(|(p, _)| *p == place) {
                    Some((_, fields)) => fields.push(field),
                    None => by_place.push((place, vec![field])),
                }
            }
        }
        let kept: Vec<String> = by_place
            .into_iter()
            .map(|(place, fields)| {
                let fields: Vec<String> = fields.into_iter().map(String::from).collect();
                format!("{}{place}", and_list(&fields))
            })
            .collect();
        if !kept.is_empty() {
            out.push(format!(
                "The {} {} kept pinned in {} beyond {}() without FOLL_LONGTERM; if {} {} held for the life of the device, FOLL_LONGTERM may be wanted.",
                n.noun,
                n.is,
                and_list(&kept),
                facts.function,
                if n.noun == "page" { "it" } else { "they" },
                n.is
            ));
        }
    }
    out
}

/// Everything a commit message body needs to know about one patch.
pub struct BodyFacts<'a> {
    pub target: Target,
    pub units: &'a [&'a Facts],
    pub signoff: Option<&'a Identity>,
}

/// `put_page() in f() to unpin_user_page()`, or for a loop `the
/// put_page() loop in f() to one unpin_user_pages() call` (no function
/// when it is the home function).
fn release_change(home: &Home, c: &CallChange) -> String {
    let place = home.place(&c.at);
    if c.looped {
        format!("the {}() loop{place} to one {}() call", c.from, c.to)
    } else if !c.folded.is_empty() {
        format!(
            "{}() and {}(){place} to one {}() call",
            c.folded, c.from, c.to
        )
    } else {
        format!("{}(){place} to {}()", c.from, c.to)
    }
}

/// The release changes of a unit, the releases with the same change
/// merged: `put_page() in f() and g() to unpin_user_page()`, `the
/// put_page() loops in f() and g() to one unpin_user_pages() call each`;
/// no function named when every one is in the home function.
fn release_changes(home: &Home, releases: &[CallChange]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut merged: Vec<(bool, String, String, Vec<&CallChange>)> = Vec::new();
    for c in releases.iter().filter(|c| !c.to.is_empty()) {
        if !c.folded.is_empty() {
            out.push(release_change(home, c));
            continue;
        }
        match merged
            .iter_mut()
            .find(|(looped, f, t, _)| *looped == c.looped && *f == c.from && *t == c.to)
        {
            Some((_, _, _, calls)) => calls.push(c),
            None => merged.push((c.looped, c.from.clone(), c.to.clone(), vec![c])),
        }
    }
    let mut changes: Vec<String> = merged
        .into_iter()
        .map(|(looped, from, to, calls)| {
            if calls.len() == 1 {
                return release_change(home, calls[0]);
            }
            let place = if calls.iter().all(|c| home.place(&c.at).is_empty()) {
                String::new()
            } else {
                format!(" in {}", and_list(&home.functions(calls.iter().copied())))
            };
            if looped {
                format!("the {from}() loops{place} to one {to}() call each")
            } else {
                format!("{from}(){place} to {to}()")
            }
        })
        .collect();
    changes.append(&mut out);
    changes
}

/// The commit message body of a conversion patch (everything after the
/// subject).
pub fn patch_body(f: &BodyFacts) -> String {
    let mut out = String::new();
    // The 2018 plan has no documentation to point to: say why once.
    if f.target == Target::PutUserPage {
        para(&mut out, &rationale(f.target));
    }
    for facts in f.units {
        let n = noun(&facts.pages);
        let home = Home::of(facts);
        let acq = home.calls(&facts.acquires);
        if acq.is_empty() {
            let rel = home.calls(&facts.releases);
            para(
                &mut out,
                &format!(
                    "{}() releases {} from get_user_pages*() with {}.",
                    facts
                        .releases
                        .first()
                        .map(|c| c.at.function.as_str())
                        .unwrap_or(""),
                    n.noun,
                    and_list(&rel)
                ),
            );
        } else {
            para(
                &mut out,
                &format!(
                    "{}() takes {} {} with {}.",
                    facts.function,
                    if n.noun == "page" { "a" } else { "its" },
                    n.noun,
                    and_list(&acq)
                ),
            );
        }
        if f.target == Target::Unpin {
            if let Some(case) = case_sentence(facts) {
                para(&mut out, &case);
            }
        }
        let mut acqs: Vec<String> = facts
            .acquires
            .iter()
            .filter(|c| !c.to.is_empty())
            .map(|c| format!("{}() to {}()", c.from, c.to))
            .collect();
        acqs.dedup();
        let rels = release_changes(&home, &facts.releases);
        let mut text = if acqs.is_empty() {
            format!("Convert {}.", and_list(&rels))
        } else {
            format!("Convert {}, and {}.", and_list(&acqs), and_list(&rels))
        };
        for c in &facts.changes {
            text.push(' ');
            text.push_str(c);
        }
        para(&mut out, &text);
        if f.target == Target::Unpin {
            for d in fold_notes(facts, &facts.releases) {
                para(&mut out, &d);
            }
            for d in decisions(facts, facts.releases.first()) {
                para(&mut out, &d);
            }
        }
    }
    if let Some(id) = f.signoff {
        out.push_str(&format!("Signed-off-by: {}\n", id.formatted()));
    } else {
        out.pop();
    }
    out
}

/// A `Fixes:` trailer target: the abbreviated id and subject of a commit.
pub struct FixesTag {
    pub id: String,
    pub subject: String,
}

/// How many correct releases a fix message names before counting the rest.
const CORRECT_NAMED: usize = 2;

/// The commit message body of a fix patch.
pub fn fix_body(
    fix: &Fix,
    facts: &Facts,
    fixes: Option<&FixesTag>,
    signoff: Option<&Identity>,
) -> String {
    let mut out = String::new();
    let n = noun(&facts.pages);
    let home = Home::at(&fix.acquire.at);
    if fix.kind == FixKind::GotUnpinned {
        let released: Vec<&str> = fix.correct.iter().map(|c| c.from.as_str()).collect();
        let but = but_released(&home, &fix.correct, n.pronoun, &names(&released));
        para(
            &mut out,
            &format!(
                "{}() takes a reference on the {} with {}(), {but}.",
                fix.acquire.at.function, n.noun, fix.acquire.from
            ),
        );
        para(
            &mut out,
            &format!(
                "{} drops a pin the {} never had: the reference count falls by far more than the one reference taken, and the {} can be freed while still in use.",
                names(&released),
                n.noun,
                n.noun
            ),
        );
        para(
            &mut out,
            &format!(
                "Take {} with {}() instead, as the releases expect ({DOC}).",
                n.pronoun, fix.acquire.to
            ),
        );
        trailers(&mut out, fixes, signoff);
        return out;
    }
    let stored = facts.evidence.iter().find_map(|(e, at)| match e {
        Evidence::Stored(f) => Some(format!(" and keeps {} in {f}{}", n.pronoun, home.place(at))),
        _ => None,
    });
    let flags = if facts.longterm {
        " with FOLL_LONGTERM"
    } else {
        ""
    };
    let from: Vec<&str> = fix.releases.iter().map(|c| c.from.as_str()).collect();
    let but = but_released(&home, &fix.releases, n.pronoun, &names(&from));
    para(
        &mut out,
        &format!(
            "{}() pins the {}{flags}{}, {but}.",
            fix.acquire.at.function,
            n.noun,
            stored.unwrap_or_default()
        ),
    );
    para(
        &mut out,
        &format!(
            "{} drops a plain reference, not the pin: the pin count leaks, page_maybe_dma_pinned() stays true for the {} forever, and {} can never be migrated or freed.",
            names(&from),
            n.noun,
            if n.noun == "page" { "it" } else { "they" }
        ),
    );
    let to: Vec<&str> = fix.releases.iter().map(|c| c.to.as_str()).collect();
    let mut last = format!(
        "Release {} with {}, as {DOC} requires for pinned pages",
        n.pronoun,
        names(&to)
    );
    // The functions that release correctly, each named once.
    let releasing = home.functions(&fix.correct);
    let mut correct: Vec<String> = releasing.iter().take(CORRECT_NAMED).cloned().collect();
    if releasing.len() > CORRECT_NAMED {
        let more = releasing.len() - CORRECT_NAMED;
        correct.push(format!(
            "{more} other function{}",
            if more == 1 { "" } else { "s" }
        ));
    }
    if !correct.is_empty() {
        last.push_str(&format!(
            " and as {} already {}",
            and_list(&correct),
            if releasing.len() == 1 { "does" } else { "do" }
        ));
    }
    last.push('.');
    para(&mut out, &last);
    // The release the maintainer may prefer: dirtied pages are released
    // with the dirtying form, written pages might need to be dirtied.
    let folds = fold_notes(facts, &fix.releases);
    if !folds.is_empty() {
        for f in folds {
            para(&mut out, &f);
        }
    } else {
        for d in decisions(facts, fix.releases.first()) {
            if d.contains("FOLL_WRITE") {
                para(&mut out, &d);
            }
        }
    }
    trailers(&mut out, fixes, signoff);
    out
}

/// `but f() releases them with x()`, or `but releases them with x()` when
/// every release is in the acquiring function.
fn but_released(home: &Home, releases: &[CallChange], pronoun: &str, with: &str) -> String {
    if releases.iter().all(|c| home.place(&c.at).is_empty()) {
        return format!("but releases {pronoun} with {with}");
    }
    let rel = home.functions(releases);
    format!(
        "but {} {} {pronoun} with {with}",
        and_list(&rel),
        if rel.len() == 1 {
            "releases"
        } else {
            "release"
        }
    )
}

/// Appends the trailers after the last paragraph: `Fixes:` when the
/// history names the commit, `Cc: stable@vger.kernel.org`, and
/// `Signed-off-by:` when asked for.
fn trailers(out: &mut String, fixes: Option<&FixesTag>, signoff: Option<&Identity>) {
    if let Some(t) = fixes {
        // A Fixes: trailer stays on one line, whatever its length.
        out.push_str(&format!("Fixes: {} (\"{}\")\n", t.id, t.subject));
    }
    // A pin count that leaks or a reference dropped twice is a real bug in
    // a released kernel: the stable tag goes in the sign-off area
    // (Documentation/process/stable-kernel-rules.rst, option 1), where
    // the stable team finds it once the fix is merged.
    out.push_str(&format!("Cc: {STABLE}\n"));
    if let Some(id) = signoff {
        out.push_str(&format!("Signed-off-by: {}\n", id.formatted()));
    }
}

/// The stable kernels' list, named in a fix's trailers.
const STABLE: &str = "stable@vger.kernel.org";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_table() {
        let cases = [
            ("drivers/gpu/drm/i915/gem/i915_gem_userptr.c", "drm/i915"),
            ("drivers/gpu/drm/drm_gem.c", "drm"),
            ("drivers/infiniband/hw/qib/qib_user_pages.c", "RDMA/qib"),
            ("drivers/infiniband/core/umem.c", "RDMA/core"),
            ("drivers/media/pci/ivtv/ivtv-udma.c", "media: ivtv"),
            ("drivers/vfio/vfio_iommu_type1.c", "vfio"),
            ("drivers/vfio/pci/vfio_pci.c", "vfio/pci"),
            (
                "drivers/misc/habanalabs/common/memory.c",
                "misc: habanalabs",
            ),
            ("drivers/xen/gntdev.c", "xen"),
            ("net/rds/rdma.c", "net/rds"),
            ("fs/fuse/dev.c", "fuse"),
            ("fs/exec.c", "fs"),
            ("mm/gup.c", "mm/gup"),
            ("arch/x86/kvm/svm/sev.c", "KVM: x86"),
            ("arch/x86/mm/fault.c", "x86/mm"),
            ("virt/kvm/kvm_main.c", "KVM"),
            ("lib/iov_iter.c", "lib"),
        ];
        for (path, want) in cases {
            assert_eq!(path_prefix(path), want, "{path}");
        }
    }

    /// The shipped table names the subsystems as they write their subjects,
    /// the most specific key winning.
    #[test]
    fn shipped_table_prefixes() {
        let cases = [
            ("arch/s390/kvm/interrupt.c", "KVM: s390"),
            ("arch/powerpc/kvm/e500_mmu.c", "KVM: PPC: e500"),
            ("arch/powerpc/kvm/book3s.c", "KVM: PPC"),
            ("drivers/block/ublk_drv.c", "ublk_drv"),
            ("arch/arm64/kernel/mte.c", "arm64: mte"),
            ("drivers/misc/sgi-gru/grufault.c", "misc: sgi-gru"),
            ("drivers/misc/vmw_vmci/vmci_host.c", "VMCI"),
            ("drivers/virt/fsl_hypervisor.c", "virt: fsl_hypervisor"),
            ("drivers/virt/acrn/vm.c", "virt: acrn"),
            ("drivers/infiniband/hw/mthca/mthca_memfree.c", "RDMA/mthca"),
            ("drivers/gpu/drm/via/via_dmablit.c", "drm/via"),
            ("drivers/media/pci/ivtv/ivtv-yuv.c", "media: ivtv"),
            ("drivers/vhost/vhost.c", "vhost"),
            ("drivers/tee/tee_shm.c", "tee"),
            ("net/rds/ib_rdma.c", "rds"),
            ("net/xdp/xdp_umem.c", "xsk"),
            ("drivers/vfio/vfio_iommu_type1.c", "vfio/type1"),
            // Not in the table: the path rules.
            ("drivers/foo/bar/baz.c", "foo: bar"),
        ];
        for (path, want) in cases {
            assert_eq!(table_prefix(path), want, "{path}");
        }
        for (key, value) in prefix_table() {
            assert!(!value.is_empty() && !value.ends_with(':'), "{key}");
            assert!(!key.starts_with('/') && !key.contains("//"), "{key}");
        }
    }

    #[test]
    fn every_place_pages_are_kept_without_longterm_is_one_sentence() {
        let stored = |field: &str, at: &str, function: &str| {
            (Evidence::Stored(field.into()), Place::parse(at, function))
        };
        let facts = Facts {
            function: "pin_guest_page".into(),
            pages: "pages".into(),
            held_beyond_call: true,
            acquires: vec![CallChange {
                from: "get_user_pages_fast".into(),
                at: Place::parse("a.c:3", "pin_guest_page"),
                ..CallChange::default()
            }],
            evidence: vec![
                stored("struct vcpu::dtl_ptr", "a.c:7", "set_vpa"),
                stored("struct vcpu::slb_ptr", "a.c:8", "set_vpa"),
                (
                    Evidence::Dma("sg_set_page".into()),
                    Place::parse("a.c:9", "pin_guest_page"),
                ),
                stored("struct vpa::pinned_addr", "a.c:11", "pin_guest_page"),
                stored("struct vpa::pinned_end", "b.c:5", "unpin_vpa"),
            ],
            ..Facts::default()
        };
        // Places are named by function, the file only when it is not the
        // acquire's, nothing in the acquiring function itself.
        assert_eq!(
            decisions(&facts, None),
            [
                "The pages are kept pinned in struct vcpu::dtl_ptr and struct vcpu::slb_ptr in \
             set_vpa(), struct vpa::pinned_addr and struct vpa::pinned_end in unpin_vpa() (b.c) \
             beyond pin_guest_page() without FOLL_LONGTERM; if they are held for the life of \
             the device, FOLL_LONGTERM may be wanted."
            ]
        );
        let longterm = Facts {
            longterm: true,
            ..facts
        };
        assert!(decisions(&longterm, None).is_empty());
    }

    #[test]
    fn releases_with_the_same_change_are_one_clause() {
        let release = |at: &str, function: &str, looped: bool| CallChange {
            from: "put_page".into(),
            to: if looped {
                "unpin_user_pages"
            } else {
                "unpin_user_page"
            }
            .into(),
            at: Place::parse(at, function),
            looped,
            ..CallChange::default()
        };
        let map = Place::parse("a.c:1", "map");
        let home = Home::at(&map);
        let releases = [
            release("a.c:10", "map", true),
            release("a.c:40", "cleanup", true),
            release("b.c:5", "destroy", true),
            release("a.c:12", "map", false),
            release("a.c:14", "map", false),
        ];
        assert_eq!(
            release_changes(&home, &releases),
            [
                "the put_page() loops in map(), cleanup() and destroy() (b.c) to one \
                 unpin_user_pages() call each",
                "put_page() to unpin_user_page()",
            ]
        );
    }

    #[test]
    fn a_fix_names_each_function_that_releases_correctly_once() {
        let call = |from: &str, at: &str, function: &str| CallChange {
            from: from.into(),
            to: "unpin_user_page".into(),
            at: Place::parse(at, function),
            ..CallChange::default()
        };
        let fix = Fix {
            kind: FixKind::PinnedPut,
            acquire: call("pin_user_pages_fast", "a.c:10", "map_page"),
            releases: vec![call("put_page", "b.c:4", "destroy")],
            correct: vec![
                call("unpin_user_page", "a.c:20", "map_page"),
                call("unpin_user_page", "a.c:30", "map_page"),
            ],
        };
        let facts = Facts {
            function: "map_page".into(),
            pages: "&page".into(),
            ..Facts::default()
        };
        let body = fix_body(&fix, &facts, None, None).replace('\n', " ");
        assert!(body.contains("and as map_page() already does."), "{body}");
        assert!(
            body.contains("but destroy() (b.c) releases it with put_page()"),
            "{body}"
        );
    }

    #[test]
    fn a_patch_over_several_prefixes_takes_their_common_lead() {
        let of = |ps: &[&str]| choose_prefix(&ps.iter().map(|p| p.to_string()).collect::<Vec<_>>());
        assert_eq!(of(&["KVM: PPC: Book3S HV", "KVM: PPC: e500"]), "KVM: PPC");
        assert_eq!(of(&["media: ivtv", "media: ivtv"]), "media: ivtv");
        // Nothing in common: the most frequent, ties to the first.
        assert_eq!(of(&["drm/i915", "mm", "mm"]), "mm");
        assert_eq!(of(&["drm/i915", "drm/etnaviv"]), "drm/i915");
        assert_eq!(of(&[]), "treewide");
    }

    #[test]
    fn history_prefix_is_most_frequent_lead() {
        let subjects = [
            "RDMA/qib: a",
            "IB/qib: b",
            "IB/qib: Fix c: d",
            "Merge x: y",
            "no prefix",
        ];
        assert_eq!(prefix_from_subjects(subjects).as_deref(), Some("IB/qib"));
        assert_eq!(
            subject_lead("KVM: PPC: Book3S HV: Fix x").as_deref(),
            Some("KVM: PPC: Book3S HV")
        );
        assert_eq!(
            subject_lead("net: fix the thing: more").as_deref(),
            Some("net")
        );
        assert_eq!(subject_lead("Linux 6.1"), None);
    }

    #[test]
    fn subjects_name_the_conversion() {
        let c = |from: &str, to: &str| CallChange {
            from: from.into(),
            to: to.into(),
            ..CallChange::default()
        };
        let one = c("get_user_pages_fast", "pin_user_pages_fast");
        let two = c("get_user_pages", "pin_user_pages");
        let rel = c("put_page", "unpin_user_page");
        assert_eq!(
            summary_text(&[&one], &[&rel]),
            "convert get_user_pages_fast() --> pin_user_pages_fast()"
        );
        assert_eq!(
            summary_text(&[&one, &two], &[&rel]),
            "convert get_user_pages*() --> pin_user_pages*()"
        );
        let kept = c("get_user_pages", "");
        let put = c("put_page", "put_user_page");
        assert_eq!(
            summary_text(&[&kept], &[&put]),
            "convert put_page() --> put_user_page()"
        );
    }

    #[test]
    fn subject_fits_75_columns() {
        let s = subject(
            "drivers/very/long/prefix/that/goes/on/and/on/forever",
            "convert get_user_pages_fast() --> pin_user_pages_fast()",
        );
        assert!(s.len() <= 75, "{s}");
    }

    #[test]
    fn wrap_keeps_width() {
        let text = "word ".repeat(40);
        for line in wrap(&text, 20, "", "  ").lines() {
            assert!(line.len() <= 20);
        }
    }
}
