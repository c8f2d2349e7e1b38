//! Reading the tree for a run: every file once, in parallel and in list
//! order, for the prefilter (the candidates), the word filters the later
//! searches ask and, with an index of the tree, what the index is to hold
//! of each file; a file the index knows unchanged is taken from it.

use crate::source::index::{self, Known, Record, TreeIndex};
use crate::source::words::{IndexedFilter, Packed, WordFilter, WordFilters};
use crate::source::{self, SkipKind, SkippedFile, SourceList};
use aho_corasick::{packed, AhoCorasick};
use rayon::prelude::*;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What the read of one file came to: skipped (with why), not one the
/// read keeps, or kept with its bytes.
pub(super) enum Read {
    Skipped(SkippedFile),
    No,
    Yes(Vec<u8>),
}

/// A file read: its path, what came of it, its word filter when asked,
/// and, when the read records for an index, what the index is to hold of
/// it (`Recorded`).
pub(super) type FileRead = (String, Read, Option<FilterFrom>, Recorded);

/// Where a file's word filter comes from: its bytes, or the index of the
/// tree (whose bits become those of the run's filters, `WordFilters::pack_onto`).
pub(super) enum FilterFrom {
    Built(WordFilter),
    Indexed(IndexedFilter),
}

/// What a read recorded of a file for an index of the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Recorded {
    /// Nothing: the read records nothing, or the file could not be read.
    Nothing,
    /// What the index given already held of it.
    AsIndexed(Record),
    /// What the read learnt anew.
    Anew(Record),
}

impl Recorded {
    fn record(self) -> Option<Record> {
        match self {
            Recorded::Nothing => None,
            Recorded::AsIndexed(r) | Recorded::Anew(r) => Some(r),
        }
    }
}

/// How a read of files uses an index of the tree.
#[derive(Clone, Copy)]
pub(super) struct Indexing<'i> {
    /// The index: a file it knows unchanged gives its filter without a
    /// hash of its words, and is not read at all when it is known not to
    /// be one `matches` takes.
    index: Option<&'i TreeIndex>,
    /// Whether to record each file for the index written after the run
    /// (`matches` is then the prefilter).
    record: bool,
}

pub(super) const NO_INDEXING: Indexing<'static> = Indexing {
    index: None,
    record: false,
};

/// Reads the files matching a prefilter, in parallel, in list order. With
/// `filters`, also the word filter of every file read, matching or not.
pub(super) fn read_matching(
    base: &Path,
    files: &[&String],
    matches: &(dyn Fn(&[u8]) -> bool + Sync),
    filters: bool,
    indexing: Indexing,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Vec<FileRead> {
    let total = files.len();
    let done = AtomicUsize::new(0);
    files
        .par_iter()
        .map_init(Vec::new, |buffer, rel| {
            let known = indexing.index.and_then(|index| index.current(base, rel));
            let read = match known {
                // The index knows the file unchanged, and knows it is not
                // one `matches` takes: it is not read.
                Some(k) if k.candidate() == Some(false) => {
                    let record = Record {
                        stamp: k.stamp(),
                        candidate: false,
                    };
                    let recorded = match indexing.record {
                        true => Recorded::AsIndexed(record),
                        false => Recorded::Nothing,
                    };
                    (
                        Read::No,
                        filters.then(|| FilterFrom::Indexed(k.filter())),
                        recorded,
                    )
                }
                _ => read_one(base, rel, buffer, matches, filters, indexing.record, known),
            };
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_multiple_of(512) || n == total {
                progress(n, total);
            }
            ((*rel).clone(), read.0, read.1, read.2)
        })
        .collect()
}

/// Reads one file for `read_matching`: its filter from the index when the
/// file still has the stamp the index knows, else from its bytes.
fn read_one(
    base: &Path,
    rel: &str,
    buffer: &mut Vec<u8>,
    matches: &(dyn Fn(&[u8]) -> bool + Sync),
    filters: bool,
    record: bool,
    known: Option<Known>,
) -> (Read, Option<FilterFrom>, Recorded) {
    let (bytes, stamp) = match source::read_into_stamped(base, rel, buffer) {
        Err(s) => return (Read::Skipped(s), None, Recorded::Nothing),
        Ok(read) => read,
    };
    let known = known.filter(|k| Some(k.stamp()) == stamp);
    let filter = filters.then(|| match known {
        Some(k) => FilterFrom::Indexed(k.filter()),
        None => FilterFrom::Built(WordFilter::of(bytes)),
    });
    let candidate = matches(bytes);
    let recorded = match stamp.filter(|_| record) {
        None => Recorded::Nothing,
        Some(stamp) => {
            let r = Record { stamp, candidate };
            match known.is_some_and(|k| k.candidate() == Some(candidate)) {
                true => Recorded::AsIndexed(r),
                false => Recorded::Anew(r),
            }
        }
    };
    let read = match (candidate, source::not_text_reason(bytes)) {
        (false, _) => Read::No,
        (true, Some(reason)) => Read::Skipped(SkippedFile::new(rel, reason, SkipKind::NotC)),
        (true, None) => Read::Yes(bytes.to_vec()),
    };
    (read, filter, recorded)
}

/// A file's path and bytes.
pub(super) type FileBytes = (String, Vec<u8>);

/// Every file of the list read once (`read_matching`): with `filters`,
/// their word filters in list order, packed (onto the bits of `index`,
/// which the read consumes), with what was recorded of each for an index
/// when `record` (else none); the files `matches` keeps, with their bytes;
/// what cannot be read, into `skipped`.
pub(super) fn read_every_file(
    list: &SourceList,
    matches: &(dyn Fn(&[u8]) -> bool + Sync),
    filters: bool,
    index: Option<TreeIndex>,
    record: bool,
    progress: &(dyn Fn(usize, usize) + Sync),
    skipped: &mut Vec<SkippedFile>,
) -> (TreeWords, Vec<FileBytes>) {
    let began = index::now();
    let all: Vec<&String> = list.files.iter().collect();
    let indexing = Indexing {
        index: index.as_ref(),
        record,
    };
    let read = read_matching(&list.base, &all, matches, filters, indexing, progress);
    let mut kept = Vec::with_capacity(if filters { read.len() } else { 0 });
    let mut records = Vec::new();
    let mut anew = 0;
    let mut matching = Vec::new();
    for (rel, r, filter, recorded) in read {
        if filters {
            kept.push(filter);
        }
        if record {
            anew += usize::from(matches!(recorded, Recorded::Anew(_)));
            records.push(recorded.record());
        }
        match r {
            Read::Skipped(s) => skipped.push(s),
            Read::No => {}
            Read::Yes(bytes) => matching.push((rel, bytes)),
        }
    }
    let held = index.as_ref().map_or(0, TreeIndex::len);
    let bits = index.map(TreeIndex::into_bits).unwrap_or_default();
    let filters = WordFilters::pack_onto(
        bits,
        (kept.into_iter())
            .map(|f| match f {
                None => Packed::None,
                Some(FilterFrom::Built(f)) => Packed::Built(f),
                Some(FilterFrom::Indexed(f)) => Packed::Indexed(f),
            })
            .collect(),
    );
    let words = TreeWords {
        filters,
        unsaved: record && (anew > 0 || held != records.iter().flatten().count()),
        records,
        began,
    };
    (words, matching)
}

/// The word filters of every file of the list, in list order, and what a
/// run that keeps an index of the tree recorded of each file.
pub(super) struct TreeWords {
    pub(super) filters: WordFilters,
    /// Per file of the list, when the run records for an index (else
    /// empty): its stamp and whether it is a candidate; `None` for a file
    /// that could not be read.
    pub(super) records: Vec<Option<Record>>,
    /// When the read that recorded them began.
    pub(super) began: (i64, i64),
    /// Whether the records differ from the index the run was given.
    pub(super) unsaved: bool,
}

/// Which files are worth parsing: those that hold one of the acquire
/// identifiers anywhere in their bytes. Almost every file of a kernel tree is
/// rejected here, so this scan is on the hot path.
///
/// The packed (Teddy, SIMD) searcher is about ten times faster than the
/// Aho-Corasick automaton on kernel C, whose frequent bytes defeat the
/// automaton's rare-byte prefilter. Both answer the same question, "does any
/// identifier occur?", so the choice changes nothing but speed; the automaton
/// remains for rule packs the packed searcher cannot take (too many or empty
/// identifiers) and for platforms without its SIMD code.
pub(super) enum Prefilter {
    Packed(packed::Searcher),
    Automaton(AhoCorasick),
}

impl Prefilter {
    pub(super) fn new(anchors: &[String]) -> Prefilter {
        let simd = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));
        match packed::Searcher::new(anchors.iter()).filter(|_| simd && !anchors.is_empty()) {
            Some(s) => Prefilter::Packed(s),
            None => Prefilter::Automaton(
                AhoCorasick::new(anchors).expect("rule identifiers are plain words"),
            ),
        }
    }

    pub(super) fn is_match(&self, bytes: &[u8]) -> bool {
        match self {
            Prefilter::Packed(s) => s.find(bytes).is_some(),
            Prefilter::Automaton(ac) => ac.is_match(bytes),
        }
    }
}
