//! The search for the next round's files: the files that may offer each
//! need (a definition, the callers of a function, a struct's field, the
//! structs embedding a struct), read in growing batches, their word
//! filters asked first, their bytes checked; a need more files offer than
//! `MAX_FILES_PER_NEED` is given up.

use super::read::{read_matching, FileRead, NO_INDEXING};
use super::MAX_FILES_PER_NEED;
use crate::engine::{Need, Needs, MAX_HOLDER_HEADERS};
use crate::source::words::{embedded_at, FilterRef, WordProbe};
use crate::source::{self, SkippedFile};
use memchr::memmem::Finder;
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::path::Path;

/// What a file may offer the search for the next round's files: one need.
enum Offer<'n> {
    /// The definition of a function.
    Definition(&'n str),
    /// A mention of a function whose callers matter.
    Callers(&'n str),
    /// A struct name together with one of its fields.
    Field(&'n str, &'n str),
    /// A struct embedded as a member of another.
    Holders(&'n str),
}

impl Offer<'_> {
    /// The name reported when too many files offer it
    /// (`Need::overflow_name`).
    fn name(&self) -> String {
        match *self {
            Offer::Definition(n) => Need::Definition(n.to_string()),
            Offer::Callers(n) => Need::Callers(n.to_string()),
            Offer::Field(s, f) => Need::Field(s.to_string(), f.to_string()),
            Offer::Holders(s) => Need::Holders(s.to_string()),
        }
        .overflow_name()
    }
}

/// How an offer is looked for: what a word filter is asked, then what the
/// bytes of a file it lets through are searched for. There is one per need
/// of a round, so its size does not matter.
#[allow(clippy::large_enum_variant)]
enum OfferSearch<'n> {
    Definition(WordProbe, Finder<'n>),
    Callers(WordProbe, Finder<'n>),
    Field(WordProbe, Finder<'n>, WordProbe, Finder<'n>),
    Holders(WordProbe, Finder<'n>),
}

impl<'n> OfferSearch<'n> {
    fn of(offer: &Offer<'n>) -> OfferSearch<'n> {
        let word = |w: &'n str| (WordProbe::new(w), Finder::new(w));
        match *offer {
            Offer::Definition(n) => {
                let (probe, finder) = word(n);
                OfferSearch::Definition(probe, finder)
            }
            Offer::Callers(n) => {
                let (probe, finder) = word(n);
                OfferSearch::Callers(probe, finder)
            }
            Offer::Field(s, f) => {
                let ((sp, sf), (fp, ff)) = (word(s), word(f));
                OfferSearch::Field(sp, sf, fp, ff)
            }
            Offer::Holders(s) => {
                let (probe, finder) = word(s);
                OfferSearch::Holders(probe, finder)
            }
        }
    }

    /// Whether a file of this name may offer it: the structs embedding
    /// another are looked for in headers only. A `.c` file's own struct is
    /// used in that file alone, and a file that reaches the field through
    /// it names the struct and the field, which its `Field` search finds.
    fn may_be_in_file(&self, path: &str) -> bool {
        !matches!(self, OfferSearch::Holders(..)) || path.ends_with(".h")
    }

    /// Whether a file with this filter may offer it (never false when it does).
    fn may_be_in(&self, filter: &FilterRef) -> bool {
        match self {
            OfferSearch::Definition(w, _) => filter.may_define(w),
            OfferSearch::Callers(w, _) => filter.may_hold(w),
            OfferSearch::Field(s, _, f, _) => filter.may_hold(s) && filter.may_hold(f),
            OfferSearch::Holders(s, _) => filter.may_hold(s),
        }
    }

    /// Whether a file's bytes offer it: a definition of the function (its
    /// name as a whole word followed by `(` where a definition may begin,
    /// `source::words::begins_definition`), a mention of it, or both the
    /// struct's name and the field's, or a member of the struct's type
    /// (`embedded_at`); and, for a struct-embedding need, whether they name
    /// the struct as a whole word, which the cap on such needs counts (both
    /// from one search of the name).
    fn read(&self, bytes: &[u8]) -> (bool, bool) {
        let mentions = |name: &Finder| whole_words(bytes, name).next().is_some();
        match self {
            OfferSearch::Definition(_, name) => {
                let defined = whole_words(bytes, name).any(|at| {
                    bytes.get(at + name.needle().len()) == Some(&b'(')
                        && crate::source::words::begins_definition(bytes, at)
                });
                (defined, false)
            }
            OfferSearch::Callers(_, name) => (mentions(name), false),
            OfferSearch::Field(_, strukt, _, field) => (mentions(strukt) && mentions(field), false),
            OfferSearch::Holders(_, strukt) => {
                let len = strukt.needle().len();
                let mut words = whole_words(bytes, strukt).peekable();
                let names = words.peek().is_some();
                (words.any(|at| embedded_at(bytes, at, len)), names)
            }
        }
    }
}

/// Where `word` occurs in `bytes` as a whole word: no letter, digit or
/// underscore on either side.
pub(super) fn whole_words<'b>(
    bytes: &'b [u8],
    word: &'b Finder,
) -> impl Iterator<Item = usize> + 'b {
    let is_word = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_';
    let len = word.needle().len();
    word.find_iter(bytes).filter(move |&at| {
        let joined_before = at > 0 && is_word(&bytes[at - 1]);
        let joined_after = bytes.get(at + len).is_some_and(is_word);
        !joined_before && !joined_after
    })
}

/// Files read at first per unresolved need, once the files that may offer
/// it are known: a need offered by more than `MAX_FILES_PER_NEED` files is
/// settled after a few batches, not after reading them all. Each batch of
/// a need takes twice as many files as its last (up to
/// `MAX_SEARCH_BATCH`), so a need that no filter narrows (files without
/// one, a name most files hold) is read in about ten batches instead of
/// one per 64 of the tree's files.
const SEARCH_BATCH: usize = 64;
/// Most files one batch takes for one need.
const MAX_SEARCH_BATCH: usize = 8192;

/// Whether a search for `needs` reads files of the tree: needs only the
/// files already read can offer (`Needs::local_callers`,
/// `Needs::local_fields`) read none.
pub(super) fn searches_tree(needs: &Needs) -> bool {
    !(needs.definitions.is_empty()
        && needs.callers.is_empty()
        && needs.fields.is_empty()
        && needs.holders.is_empty())
}

/// Reads the files that hold what the analysis needs: the definition of a
/// function (where `words::begins_definition` says a definition may begin) or of a
/// function-like macro (`#define name(`), every
/// mention of a function whose callers matter, or a struct name together
/// with one of its fields. Names that more than `MAX_FILES_PER_NEED` files
/// mention are returned as overflowing instead, and with them how many
/// files the search read.
///
/// Only files whose word filter (`filter_of(i)` for `files[i]`) may offer a
/// need are read (a file without a filter always may), and a need is no
/// longer searched for once more than `MAX_FILES_PER_NEED` files are seen
/// to offer it: the filter never misses a word, so the files chosen and the
/// names overflowing are those a read of every file gives. What the search
/// keeps per file is kept for the files that may offer a need only: a
/// search runs once per round over the whole tree's list.
pub(super) fn read_for_needs<'f>(
    base: &Path,
    files: &[&String],
    filter_of: &(dyn Fn(usize) -> Option<FilterRef<'f>> + Sync),
    needs: &Needs,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> (Vec<FileRead>, BTreeSet<String>, usize) {
    if !searches_tree(needs) {
        return (Vec::new(), BTreeSet::new(), 0);
    }
    let mut offers: Vec<Offer> = Vec::new();
    offers.extend(needs.definitions.iter().map(|d| Offer::Definition(d)));
    offers.extend(needs.callers.iter().map(|c| Offer::Callers(c)));
    offers.extend(needs.fields.iter().map(|(s, f)| Offer::Field(s, f)));
    offers.extend(needs.holders.iter().map(|s| Offer::Holders(s)));
    let searches: Vec<OfferSearch> = offers.iter().map(OfferSearch::of).collect();

    // The files that may offer a need, in list order, each with those
    // needs: `may_offer[c] = (i, needs)` for `files[i]`.
    let mut may_offer: Vec<(usize, Vec<usize>)> = (0..files.len())
        .into_par_iter()
        .filter_map(|i| {
            let filter = filter_of(i);
            let ks: Vec<usize> = (0..offers.len())
                .filter(|&k| searches[k].may_be_in_file(files[i]))
                .filter(|&k| filter.is_none_or(|f| searches[k].may_be_in(&f)))
                .collect();
            (!ks.is_empty()).then_some((i, ks))
        })
        .collect();
    let mut candidates: Vec<Vec<usize>> = vec![Vec::new(); offers.len()];
    for (c, (_, ks)) in may_offer.iter().enumerate() {
        for &k in ks {
            candidates[k].push(c);
        }
    }
    // A struct that no more than `MAX_HOLDER_HEADERS` headers may name
    // cannot overflow by the headers naming it: only the headers whose
    // filters may embed it need be read for it (most headers that name a
    // struct point to it).
    for (k, search) in searches.iter().enumerate() {
        let OfferSearch::Holders(probe, _) = search else {
            continue;
        };
        if candidates[k].len() > MAX_HOLDER_HEADERS {
            continue;
        }
        candidates[k].retain(|&c| {
            let i = may_offer[c].0;
            let kept = filter_of(i).is_none_or(|f| f.may_embed(probe));
            if !kept {
                may_offer[c].1.retain(|&other| other != k);
            }
            kept
        });
    }
    let total = may_offer.iter().filter(|(_, ks)| !ks.is_empty()).count();

    // Read the candidates in batches until every need is settled: all its
    // candidates read, or more than `MAX_FILES_PER_NEED` files offering it.
    // The embedders of a struct that more than `MAX_HOLDER_HEADERS`
    // headers name are not looked for: that need overflows once the bytes
    // of that many headers are seen to name it, which no filter changes.
    let mut offered: Vec<Option<Vec<usize>>> = vec![None; may_offer.len()];
    let mut count = vec![0usize; offers.len()];
    let mut naming = vec![0usize; offers.len()];
    let holders: Vec<bool> = (offers.iter())
        .map(|o| matches!(o, Offer::Holders(_)))
        .collect();
    let overflows = |k: usize, count: &[usize], naming: &[usize]| {
        count[k] > MAX_FILES_PER_NEED || holders[k] && naming[k] > MAX_HOLDER_HEADERS
    };
    let mut next = vec![0usize; offers.len()];
    let mut quota = vec![SEARCH_BATCH; offers.len()];
    let mut read = 0;
    loop {
        let mut batch = BTreeSet::new();
        for k in 0..offers.len() {
            if overflows(k, &count, &naming) {
                continue;
            }
            let mut taken = 0;
            while taken < quota[k] && next[k] < candidates[k].len() {
                let c = candidates[k][next[k]];
                next[k] += 1;
                if offered[c].is_none() && batch.insert(c) {
                    taken += 1;
                }
            }
            quota[k] = (quota[k] * 2).min(MAX_SEARCH_BATCH);
        }
        if batch.is_empty() {
            break;
        }
        let batch: Vec<usize> = batch.into_iter().collect();
        let found: Vec<Result<FileOffers, SkippedFile>> = batch
            .par_iter()
            .map_init(Vec::new, |buffer, &c| {
                // A file offers only needs its filter lets through: the
                // filter never misses a word.
                let (i, ks) = &may_offer[c];
                source::read_into(base, files[*i], buffer).map(|bytes| {
                    let (mut offers, mut names) = (Vec::new(), Vec::new());
                    for &k in ks {
                        let (offered, named) = searches[k].read(bytes);
                        if offered {
                            offers.push(k);
                        }
                        if named {
                            names.push(k);
                        }
                    }
                    (offers, names)
                })
            })
            .collect();
        // A file that cannot be read offers nothing; the read of the tree
        // reports it as skipped.
        for (c, r) in batch.into_iter().zip(found) {
            let (ks, names) = r.unwrap_or_default();
            for &k in &ks {
                count[k] += 1;
            }
            for &k in &names {
                naming[k] += 1;
            }
            offered[c] = Some(ks);
            read += 1;
        }
        progress(read, total);
    }

    let mut overflow = BTreeSet::new();
    let allowed: Vec<bool> = (0..offers.len())
        .map(|k| !overflows(k, &count, &naming))
        .collect();
    for (k, o) in offers.iter().enumerate() {
        if !allowed[k] {
            overflow.insert(o.name());
        }
    }
    let chosen: Vec<&String> = offered
        .iter()
        .enumerate()
        .filter(|(_, ks)| ks.as_ref().is_some_and(|ks| ks.iter().any(|&k| allowed[k])))
        .map(|(c, _)| files[may_offer[c].0])
        .collect();
    (
        read_matching(base, &chosen, &|_| true, false, NO_INDEXING, &|_, _| {}),
        overflow,
        read,
    )
}

/// What a file read by the search offers: the needs it offers, and the
/// struct-embedding needs whose struct it names (`OfferSearch::read`).
type FileOffers = (Vec<usize>, Vec<usize>);

#[cfg(test)]
mod tests {
    use super::read_for_needs;
    use crate::engine::{Needs, MAX_HOLDER_HEADERS};
    use crate::pipeline::read::Read;
    use crate::pipeline::MAX_FILES_PER_NEED;
    use crate::source::words::{WordFilter, WordFilters};
    use std::collections::BTreeSet;

    /// What a search chose (paths), what overflowed, and how many files
    /// it read.
    fn search(
        dir: &std::path::Path,
        names: &[String],
        filtered: bool,
        needs: &Needs,
    ) -> (Vec<String>, BTreeSet<String>, usize) {
        let filters = WordFilters::pack(
            names
                .iter()
                .map(|n| filtered.then(|| WordFilter::of(&std::fs::read(dir.join(n)).unwrap())))
                .collect(),
        );
        let files: Vec<&String> = names.iter().collect();
        let filter_of = |i: usize| filters.get(i);
        let (read, overflow, searched) = read_for_needs(dir, &files, &filter_of, needs, &|_, _| {});
        let chosen = read
            .into_iter()
            .filter(|(_, r, _, _)| matches!(r, Read::Yes(_)))
            .map(|(n, _, _, _)| n)
            .collect();
        (chosen, overflow, searched)
    }

    /// Writes the files (name, text) into `dir` and returns their names.
    fn write_files(dir: &std::path::Path, files: &[(String, String)]) -> Vec<String> {
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        files.iter().map(|(n, _)| n.clone()).collect()
    }

    /// A file the search cannot read offers nothing, and the search goes
    /// on with the others (the read of the tree reports it as skipped).
    #[test]
    fn a_search_reads_past_a_file_it_cannot_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.c"), "void f(void)\n{\n\thelper();\n}\n").unwrap();
        std::fs::write(dir.path().join("b.c"), "int x;\n").unwrap();
        std::fs::create_dir(dir.path().join("d.c")).unwrap();
        let names = ["a.c".to_string(), "b.c".to_string(), "d.c".to_string()];
        let files: Vec<&String> = names.iter().collect();
        let mut needs = Needs::default();
        needs.callers.insert("helper".into());
        let (chosen, overflow, read) =
            read_for_needs(dir.path(), &files, &|_| None, &needs, &|_, _| {});
        let chosen: Vec<&str> = chosen.iter().map(|(n, _, _, _)| n.as_str()).collect();
        assert_eq!(chosen, ["a.c"]);
        assert!(overflow.is_empty());
        assert_eq!(read, 3);
    }

    /// Needs that only the files already read can offer (a static
    /// function's callers, a `.c` file's own struct) read nothing of the
    /// tree.
    #[test]
    fn local_needs_read_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.c"), "void f(void)\n{\n\thelper();\n}\n").unwrap();
        let names = ["a.c".to_string()];
        let files: Vec<&String> = names.iter().collect();
        let mut needs = Needs::default();
        needs.local_callers.insert("helper".into());
        needs.local_fields.insert(("toy".into(), "pages".into()));
        assert!(!super::searches_tree(&needs));
        let (chosen, _, read) = read_for_needs(dir.path(), &files, &|_| None, &needs, &|_, _| {});
        assert!(chosen.is_empty());
        assert_eq!(read, 0);
    }

    #[test]
    fn word_filters_change_what_is_read_never_what_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let mut files: Vec<(String, String)> = vec![
            (
                "def.c".into(),
                "int helper_one(struct page **p)\n{\n\treturn 0;\n}\n".into(),
            ),
            ("indented.c".into(), "\tint helper_one(int x);\n".into()),
            ("returned.c".into(), "return helper_one(x);\n".into()),
            (
                "comment.c".into(),
                "/* helper_two is called here */\n".into(),
            ),
            ("part.c".into(), "int helper_two_more(void);\n".into()),
            (
                "field.c".into(),
                "struct rds_mr *mr; x = mr->pages;\n".into(),
            ),
            ("field_only.c".into(), "x = y->pages;\n".into()),
            ("struct_only.c".into(), "struct rds_mr *mr;\n".into()),
        ];
        // A name mentioned by more files than a need may pull in.
        for i in 0..MAX_FILES_PER_NEED + 3 {
            files.push((
                format!("common{i:03}.c"),
                format!("int f{i}(void) {{ return min_t(int, 1, {i}); }}\n"),
            ));
        }
        let names = write_files(dir.path(), &files);
        let mut needs = Needs::default();
        needs.definitions.insert("helper_one".into());
        needs.callers.insert("helper_two".into());
        needs.callers.insert("min_t".into());
        needs.fields.insert(("rds_mr".into(), "pages".into()));
        let (chosen, overflow, _) = search(dir.path(), &names, false, &needs);
        let unfiltered = (chosen, overflow);
        let (chosen, overflow, _) = search(dir.path(), &names, true, &needs);
        assert_eq!((chosen, overflow), unfiltered);
        assert_eq!(
            unfiltered.0,
            ["def.c", "comment.c", "field.c"].map(String::from).to_vec()
        );
        assert_eq!(unfiltered.1, BTreeSet::from(["min_t".to_string()]));
    }

    /// A struct few headers name is looked for only in the headers whose
    /// filters may embed it: the headers that only point to it are not
    /// read, and the embedder found is the one a search of every header
    /// finds.
    #[test]
    fn the_headers_that_only_point_to_a_struct_are_not_read_for_its_holders() {
        let dir = tempfile::tempdir().unwrap();
        let mut files: Vec<(String, String)> = vec![(
            "holder.h".into(),
            "struct holder {\n\tstruct rare_state state;\n};\n".into(),
        )];
        for i in 0..20 {
            files.push((
                format!("pointer{i:02}.h"),
                format!("struct user{i} {{\n\tstruct rare_state *state;\n}};\n"),
            ));
        }
        let names = write_files(dir.path(), &files);
        let mut needs = Needs::default();
        needs.holders.insert("rare_state".into());
        let holder = vec!["holder.h".to_string()];
        let (chosen, _, read) = search(dir.path(), &names, false, &needs);
        assert_eq!((chosen, read), (holder.clone(), 21));
        let (chosen, _, read) = search(dir.path(), &names, true, &needs);
        assert_eq!((chosen, read), (holder, 1));
    }

    /// The structs embedding a struct are looked for unless more headers
    /// than `MAX_HOLDER_HEADERS` name it, counted by their bytes: a search
    /// without filters, to which every header may name it, finds the
    /// embedder of a struct few headers name, as a filtered one does, and
    /// both give up on a struct every header names.
    #[test]
    fn the_headers_naming_a_struct_are_counted_by_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let mut files: Vec<(String, String)> = vec![
            (
                "holder.h".into(),
                "struct holder {\n\tstruct rare_state state;\n};\n".into(),
            ),
            ("rare.h".into(), "struct rare_state { int *p; };\n".into()),
        ];
        for i in 0..MAX_HOLDER_HEADERS + 30 {
            files.push((
                format!("other{i:03}.h"),
                format!("struct common_state;\nstruct other{i} {{ int x; }};\n"),
            ));
        }
        files.push((
            "common_holder.h".into(),
            "struct common_holder {\n\tstruct common_state state;\n};\n".into(),
        ));
        let names = write_files(dir.path(), &files);
        let mut needs = Needs::default();
        needs.holders.insert("rare_state".into());
        needs.holders.insert("common_state".into());
        for filtered in [false, true] {
            let (chosen, overflow, _) = search(dir.path(), &names, filtered, &needs);
            assert_eq!(chosen, ["holder.h"], "filtered: {filtered}");
            assert_eq!(
                overflow,
                BTreeSet::from(["struct common_state".to_string()]),
                "filtered: {filtered}"
            );
        }
    }

    /// A need read in batches that grow (64 files, then 128, 256...) finds
    /// what reading every file finds: a name only the last file of a few
    /// hundred mentions, beside one every file mentions, which overflows
    /// after the first batch.
    #[test]
    fn growing_batches_find_a_name_only_the_last_file_holds() {
        let dir = tempfile::tempdir().unwrap();
        let total = 300;
        let names: Vec<String> = (0..total).map(|i| format!("f{i:03}.c")).collect();
        for (i, name) in names.iter().enumerate() {
            let rare = if i == total - 1 {
                "\trare_helper();\n"
            } else {
                ""
            };
            let text = format!("void f{i}(void)\n{{\n\tcommon_helper();\n{rare}}}\n");
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let mut needs = Needs::default();
        needs.callers.insert("rare_helper".into());
        needs.callers.insert("common_helper".into());
        for filtered in [false, true] {
            let (chosen, overflow, _) = search(dir.path(), &names, filtered, &needs);
            assert_eq!(
                chosen,
                [format!("f{:03}.c", total - 1)],
                "filtered: {filtered}"
            );
            assert_eq!(overflow, BTreeSet::from(["common_helper".to_string()]));
        }
    }
}
