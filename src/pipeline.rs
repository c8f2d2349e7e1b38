//! The one pipeline every command runs: discover, prefilter, parse, analyse
//! the candidates as one program (following pages into the files that define
//! or call the helpers and fields they reach), render, verify. Its result,
//! `Outcome`, is what the sinks consume: the dry-run diff, `apply`, the
//! report, `check` and the series all read the same data, so a preview
//! cannot drift from what is written.
//!
//! Reading, prefiltering and parsing run in parallel (rayon) and are
//! collected in path order, so the output is the same whatever the
//! scheduling. A file that cannot be read, or is binary, is reported as
//! skipped and the run goes on.

use crate::c::parse::{self, Parsed};
use crate::engine::MAX_HOLDER_CANDIDATES;
use crate::engine::{AcquirePolicy, Engine, FileFindings, Plan, SiteKind, TreeApi, Unit};
use crate::engine::{Blocker, FileFacts, GainedWords, Interest, Need, Needs, ProgramFile};
use crate::rewrite::diff::file_diff;
use crate::rewrite::edit::overlaps;
use crate::rewrite::patch::apply_unified;
use crate::rewrite::template::{lay_out, render, FileLayout, Rendered};
use crate::rewrite::verify::rewrite_parses_no_worse;
use crate::rewrite::{apply_edits, Edit};
use crate::rule::{RulePack, Target};
use crate::source::index::{self, IndexFile, Known, Record, TreeIndex, TreeRecords};
use crate::source::words::{FilterRef, IndexedFilter, Packed, WordFilter, WordFilters, WordProbe};
use crate::source::{self, SkipKind, SkippedFile, SourceError, SourceList};
use aho_corasick::{packed, AhoCorasick};
use memchr::memmem::Finder;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// How many analysis rounds a run makes by default: each may ask for more
/// files to read (the rds flow of Linux 6.1 needs eight).
pub const MAX_ROUNDS: usize = 8;

/// What a run needs to know, resolved from the command line.
#[derive(Clone, Debug)]
pub struct Config {
    pub path: PathBuf,
    pub target: Target,
    pub policy: AcquirePolicy,
    /// Analysis rounds at most (1 analyses the candidate files alone).
    pub max_rounds: usize,
    /// The file to start from (a path in the tree, or ending with one), as
    /// `explain` asks about one site: the first round analyses it alone,
    /// and the rounds after it read what its flows need, as they do for
    /// every flow. `None`: every file that names an acquire or a rewrite.
    pub start: Option<String>,
}

/// One file the run found something in.
#[derive(Debug)]
pub struct FileOutcome {
    pub rel_path: String,
    pub findings: FileFindings,
    pub before: Vec<u8>,
    pub after: Vec<u8>,
    /// The edits applied, each with its unit (an index into `Outcome::units`).
    pub edits: Vec<(usize, Edit)>,
    pub executable: bool,
}

impl FileOutcome {
    pub fn changed(&self) -> bool {
        self.before != self.after
    }

    /// The git-style diff of this file, with an `index` line as git writes it.
    pub fn diff(&self) -> Vec<u8> {
        if !self.changed() {
            return Vec::new();
        }
        let mode = if self.executable { "100755" } else { "100644" };
        let index = format!(
            "{}..{} {mode}",
            abbrev_blob(&self.before),
            abbrev_blob(&self.after)
        );
        file_diff(&self.rel_path, &self.before, &self.after, Some(&index))
    }
}

/// The abbreviated git blob id of some bytes.
pub fn abbrev_blob(bytes: &[u8]) -> String {
    match git2::Oid::hash_object(git2::ObjectType::Blob, bytes) {
        Ok(oid) => oid.to_string()[..12].to_string(),
        Err(_) => "000000000000".to_string(),
    }
}

/// Counts over a whole run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    pub files_scanned: usize,
    pub files_parsed: usize,
    pub functions_skipped: usize,
    pub functions_analysed: usize,
    pub acquire_sites: usize,
    pub release_sites: usize,
    pub rewrites: usize,
    pub files_changed: usize,
    pub units: usize,
    pub units_converted: usize,
    pub units_kept: usize,
    /// Units per class: easy, local, cross-file, manual.
    pub classes: BTreeMap<String, usize>,
    pub mismatches: usize,
    pub rounds: usize,
    /// Whether the last round still wanted files: the rounds ran out
    /// (`--max-rounds`, or too many files), and what they did not read is
    /// missing from the flows that wanted it.
    #[serde(skip)]
    pub rounds_ran_out: bool,
    /// Limits of the analysis reached that cost conversions, not
    /// correctness (printed on the summary line).
    #[serde(skip)]
    pub precision_limits: Vec<crate::engine::reason::Limit>,
}

/// The result of a run.
#[derive(Debug)]
pub struct Outcome {
    pub base: PathBuf,
    pub target: Target,
    /// Files with sites, skipped functions or changes, in path order.
    pub files: Vec<FileOutcome>,
    pub units: Vec<Unit>,
    pub skipped: Vec<SkippedFile>,
    /// Temporary files an earlier, killed run left in the tree (relative to
    /// `base`); `apply` removes them.
    pub stale_temporaries: Vec<String>,
    pub stats: Stats,
}

enum Read {
    Skipped(SkippedFile),
    No,
    Yes(Vec<u8>),
}

/// A file read: its path, what came of it, its word filter when asked,
/// and, when the read records for an index, what the index is to hold of
/// it (`Recorded`).
type FileRead = (String, Read, Option<FilterFrom>, Recorded);

/// Where a file's word filter comes from: its bytes, or the index of the
/// tree (whose bits become those of the run's filters, `WordFilters::pack_onto`).
enum FilterFrom {
    Built(WordFilter),
    Indexed(IndexedFilter),
}

/// What a read recorded of a file for an index of the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Recorded {
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
struct Indexing<'i> {
    /// The index: a file it knows unchanged gives its filter without a
    /// hash of its words, and is not read at all when it is known not to
    /// be one `matches` takes.
    index: Option<&'i TreeIndex>,
    /// Whether to record each file for the index written after the run
    /// (`matches` is then the prefilter).
    record: bool,
}

const NO_INDEXING: Indexing<'static> = Indexing {
    index: None,
    record: false,
};

/// `Indexing` for a read of the whole tree, which owns the index: the
/// filters it builds are packed onto the index's bits.
struct IndexUse {
    index: Option<TreeIndex>,
    record: bool,
}

/// Reads the files matching a prefilter, in parallel, in list order. With
/// `filters`, also the word filter of every file read, matching or not.
fn read_matching(
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
type FileBytes = (String, Vec<u8>);

/// Every file of the list read once (`read_matching`): with `filters`,
/// their word filters in list order, packed (onto the bits of `index`,
/// which the read consumes), with what was recorded of each for an index
/// when `record` (else none); the files `matches` keeps, with their bytes;
/// what cannot be read, into `skipped`.
fn read_every_file(
    list: &SourceList,
    matches: &(dyn Fn(&[u8]) -> bool + Sync),
    filters: bool,
    IndexUse { index, record }: IndexUse,
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
struct TreeWords {
    filters: WordFilters,
    /// Per file of the list, when the run records for an index (else
    /// empty): its stamp and whether it is a candidate; `None` for a file
    /// that could not be read.
    records: Vec<Option<Record>>,
    /// When the read that recorded them began.
    began: (i64, i64),
    /// Whether the records differ from the index the run was given.
    unsaved: bool,
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
enum Prefilter {
    Packed(packed::Searcher),
    Automaton(AhoCorasick),
}

impl Prefilter {
    fn new(anchors: &[String]) -> Prefilter {
        let simd = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));
        match packed::Searcher::new(anchors.iter()).filter(|_| simd && !anchors.is_empty()) {
            Some(s) => Prefilter::Packed(s),
            None => Prefilter::Automaton(
                AhoCorasick::new(anchors).expect("rule identifiers are plain words"),
            ),
        }
    }

    fn is_match(&self, bytes: &[u8]) -> bool {
        match self {
            Prefilter::Packed(s) => s.find(bytes).is_some(),
            Prefilter::Automaton(ac) => ac.is_match(bytes),
        }
    }
}

/// Parses files in parallel, each leaving out the function bodies that
/// cannot take part in an analysis with `interest` (`parse::parse_skeleton`).
fn parse_all(
    mut files: Vec<(String, Vec<u8>)>,
    interest: &Interest,
    skipped: &mut Vec<SkippedFile>,
) -> Vec<(String, Parsed)> {
    // Largest first, one file per task, so that a few big files do not queue
    // behind each other on one core; the caller sorts the result by path.
    files.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    let results: Vec<(String, Option<Parsed>)> = files
        .into_par_iter()
        .with_max_len(1)
        .map(|(rel, bytes)| {
            let keep = |region: &[u8]| interest.may_take_part(region);
            let parsed = parse::parse_skeleton(bytes.into(), &keep);
            (rel, parsed)
        })
        .collect();
    parsed_or_skipped(results, skipped)
}

/// The files whose parse left out a function body that may take part in
/// an analysis with `interest`, parsed again for it (`Parsed::again`). Each
/// file's parse left out only bodies that could not take part in the
/// analysis before, so only the bodies holding one of the words `gained`
/// since then are asked again.
///
/// Returns the files parsed again and the paths of every file tried: one
/// tree-sitter gives up on this time is skipped, as `parse_all` skips it,
/// and the caller drops every file tried from the earlier parses.
fn parse_again(
    parsed: &[&(String, Parsed)],
    interest: &Interest,
    gained: &GainedWords,
    skipped: &mut Vec<SkippedFile>,
) -> (Vec<(String, Parsed)>, HashSet<String>) {
    let keep = |region: &[u8]| interest.may_take_part(region);
    let results: Vec<(String, Option<Parsed>)> = parsed
        .par_iter()
        .with_max_len(1)
        .filter(|file| {
            file.1.left_out.iter().any(|c| {
                let region = &file.1.original[c.region.clone()];
                gained.in_text(region) && keep(region)
            })
        })
        .map(|file| (file.0.clone(), file.1.again(&keep)))
        .collect();
    let paths = results.iter().map(|(rel, _)| rel.clone()).collect();
    (parsed_or_skipped(results, skipped), paths)
}

/// The files parsed, in order; each file tree-sitter gave up on is skipped.
fn parsed_or_skipped(
    results: Vec<(String, Option<Parsed>)>,
    skipped: &mut Vec<SkippedFile>,
) -> Vec<(String, Parsed)> {
    let mut out = Vec::new();
    for (rel, p) in results {
        match p {
            Some(p) => out.push((rel, p)),
            None => skipped.push(SkippedFile::new(
                rel,
                "the C parser gave up on this file",
                SkipKind::NotC,
            )),
        }
    }
    out
}

/// The functions the rules' rewrites for `target` require that the tree's
/// `include/linux/mm.h` names as a whole word; `None` when the tree has no
/// readable `include/linux/mm.h` (a driver alone, a fixture).
fn tree_api(list: &SourceList, pack: &RulePack, target: Target) -> Option<TreeApi> {
    const MM_H: &str = "include/linux/mm.h";
    if !list.files.iter().any(|f| f == MM_H) {
        return None;
    }
    let bytes = source::read(&list.base, MM_H).ok()?;
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let names_word = |name: &str| {
        memchr::memmem::find_iter(&bytes, name.as_bytes()).any(|at| {
            let before = at.checked_sub(1).is_some_and(|p| is_word(bytes[p]));
            let after = bytes.get(at + name.len()).is_some_and(|&b| is_word(b));
            !before && !after
        })
    };
    let declared = pack
        .rules
        .iter()
        .filter_map(|r| r.acquire.as_ref())
        .filter_map(|a| a.requires.get(&target))
        .flatten()
        .filter(|name| names_word(name))
        .cloned()
        .collect();
    Some(TreeApi { declared })
}

/// Runs the pipeline over `config.path`.
pub fn run(
    config: &Config,
    pack: &RulePack,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Outcome, SourceError> {
    run_keeping(config, pack, progress, Prior::default()).map(|(outcome, _)| outcome)
}

/// What a run read of the whole tree that a later run over the same tree
/// may use again: the list of its files and their word filters (with what
/// it recorded of each for an index of the tree). `explain` runs the whole
/// tree when the run from the site's file does not settle the site;
/// reading the filters again would cost a second hash of every word of the
/// tree.
pub struct KeptTree {
    path: PathBuf,
    list: SourceList,
    words: TreeWords,
    names_fingerprint: u64,
}

impl KeptTree {
    /// What an index of the tree is to hold after this run, when the run
    /// recorded it and it differs from the index the run was given.
    pub fn unsaved_records(&self) -> Option<TreeRecords<'_>> {
        self.words.unsaved.then(|| TreeRecords {
            files: &self.list.files,
            records: &self.words.records,
            filters: &self.words.filters,
            began: self.words.began,
            names_fingerprint: self.names_fingerprint,
        })
    }

    /// Marks the records written (`unsaved_records` gives none until a
    /// later run changes them).
    pub fn mark_saved(&mut self) {
        self.words.unsaved = false;
    }
}

/// What a run may start from besides the tree: what an earlier run over
/// the same path kept of it, and the index of the tree it reads (when it
/// reads the tree) and records the tree for, to be written after the run
/// (`KeptTree::unsaved_records`).
#[derive(Default)]
pub struct Prior {
    pub kept: Option<KeptTree>,
    pub index: Option<IndexFile>,
}

/// The names whose files are a run's candidates: those that name an acquire
/// or a plain rewrite. An index of the tree records its candidates for
/// them (`index::names_fingerprint`).
pub fn candidate_names(pack: &RulePack) -> Vec<String> {
    let mut anchors = pack.acquire_identifiers();
    anchors.extend(pack.rewrite_identifiers());
    anchors
}

/// `run`, given what it may start from (`Prior`), and returning what this
/// run kept of the tree, when it built or was given the word filters. The
/// filters and the index only decide which files are read, never what is
/// found, so the outcome is the one `run` gives.
pub fn run_keeping(
    config: &Config,
    pack: &RulePack,
    progress: &(dyn Fn(usize, usize) + Sync),
    prior: Prior,
) -> Result<(Outcome, Option<KeptTree>), SourceError> {
    let (list, kept_words) = match prior.kept {
        Some(kept) if kept.path == config.path => (kept.list, Some(kept.words)),
        _ => (source::discover(&config.path)?, None),
    };
    let mut engine = Engine::new(pack, config.target, config.policy);
    if let Some(api) = tree_api(&list, pack, config.target) {
        engine = engine.with_tree_api(api);
    }
    let mut skipped = list.skipped.clone();

    // Candidates: files that name an acquire or a plain rewrite.
    let anchors = candidate_names(pack);
    let names_fingerprint = index::names_fingerprint(&anchors);
    let prefilter = Prefilter::new(&anchors);
    let mut candidates = Vec::new();
    // Started from one file, that file is the one candidate, and the tree
    // is read only when the rounds must (`Rounds::read_tree`): a flow its
    // file settles is answered without reading the tree, and one search
    // reads the bytes of the files it may need without word filters.
    let start = config
        .start
        .as_deref()
        .map(|start| list.files.iter().find(|f| source::names_file(start, f)));
    // The word filter of every file read (in list order), for the later
    // rounds' searches.
    let mut tree = TreeRead::NotYet;
    if start.is_none() {
        let matches = |b: &[u8]| prefilter.is_match(b);
        let build = kept_words.is_none();
        let index = prior.index.as_ref().and_then(IndexFile::load);
        let indexing = IndexUse {
            index,
            record: build && prior.index.is_some(),
        };
        let (words, matching) =
            read_every_file(&list, &matches, build, indexing, progress, &mut skipped);
        candidates = matching;
        tree = TreeRead::Filters(kept_words.unwrap_or(words));
    }
    if let Some(Some(rel)) = start {
        match source::read(&list.base, rel) {
            Err(s) => skipped.push(s),
            Ok(bytes) => match source::not_text_reason(&bytes) {
                Some(reason) => {
                    skipped.push(SkippedFile::new(rel.as_str(), reason, SkipKind::NotC))
                }
                None => candidates.push((rel.clone(), bytes)),
            },
        }
    }
    let mut rounds = Rounds {
        config,
        engine: &engine,
        list: &list,
        tree,
        record_index: prior.index.is_some(),
        index: prior.index,
        prefilter: &prefilter,
        progress,
        skipped,
        interest: Interest::new(&engine, &Needs::default()),
    };
    // The parse trees of every round are dropped when the rounds return,
    // before the rewritten text is parsed again to check it.
    let analysed = {
        let parsed = parse_all(candidates, &rounds.interest, &mut rounds.skipped);
        let parsed: Vec<&(String, Parsed)> = parsed.iter().collect();
        let facts = facts_of(&parsed);
        rounds.round(parsed.into_iter().zip(facts).collect(), Needs::default(), 1)
    };
    let files_parsed = analysed.files.len();
    let mut outcome = render_outcome(
        &engine,
        &list.base,
        analysed.files,
        analysed.analysis,
        analysed.blocked,
    );
    outcome.skipped = std::mem::take(&mut rounds.skipped);
    outcome.stats.files_parsed = files_parsed;
    outcome.stats.rounds = analysed.rounds;
    outcome.stats.rounds_ran_out = analysed.rounds_ran_out;
    outcome.stale_temporaries = list.stale_temporaries.clone();
    outcome.stats.files_scanned = list.files.len();
    outcome.base = list.base.clone();
    let kept = match rounds.tree {
        TreeRead::Filters(words) => Some(KeptTree {
            path: config.path.clone(),
            list,
            words,
            names_fingerprint,
        }),
        _ => None,
    };
    Ok((outcome, kept))
}

/// The facts of parsed files, in parallel, in the files' order.
fn facts_of<'t>(parsed: &[&'t (String, Parsed)]) -> Vec<FileFacts<'t>> {
    parsed
        .par_iter()
        .map(|&file| {
            FileFacts::of(&ProgramFile {
                path: &file.0,
                parsed: &file.1,
            })
        })
        .collect()
}

/// How far a run has read the whole tree.
enum TreeRead {
    /// Not yet: a run started from one file reads it when it must.
    NotYet,
    /// Searched once without word filters: the files a search reads are
    /// not all the files, so what the tree's read skips is known only for
    /// those it read.
    Searched(SearchedFiles),
    /// Read for the files it skips only.
    Skips,
    /// Read, with the word filter of every file of the list, in list order.
    Filters(TreeWords),
}

/// The files a search without word filters read (in list order), and
/// those it could not read: what a read of the tree for its skips would
/// find of them.
struct SearchedFiles {
    read: Vec<bool>,
    unreadable: Vec<SkippedFile>,
}

/// The analysis rounds of a run: what stays fixed across them, and the files
/// skipped so far.
struct Rounds<'r> {
    config: &'r Config,
    engine: &'r Engine<'r>,
    list: &'r SourceList,
    /// What the read of every file of `list` has kept (`read_tree`).
    tree: TreeRead,
    /// The index of the tree the read of the tree uses, and whether the
    /// run records for one: a run that keeps an index reads the whole tree
    /// with the word filters whenever it reads it.
    index: Option<IndexFile>,
    record_index: bool,
    /// The run's prefilter, which decides the candidate bit recorded for
    /// an index.
    prefilter: &'r Prefilter,
    progress: &'r (dyn Fn(usize, usize) + Sync),
    skipped: Vec<SkippedFile>,
    /// The words of the round being made: every file parsed so far left
    /// out only bodies that cannot take part in it.
    interest: Interest,
}

impl Rounds<'_> {
    /// Round `round`: analyses the files parsed so far, each with the facts
    /// earlier rounds kept of it; then returns the last analysis, or reads
    /// and parses the files the analysis needs and makes the next round.
    /// Each round owns the files it parsed and lends them, with every earlier
    /// one, to the rounds after it, so the facts (which point into the parse
    /// trees) stay valid until the last analysis is done.
    fn round<'t>(
        &mut self,
        mut files: Vec<(&'t (String, Parsed), FileFacts<'t>)>,
        mut scanned: Needs,
        round: usize,
    ) -> Analysed {
        files.sort_by(|a, b| a.0 .0.cmp(&b.0 .0));
        let (parsed, mut facts): (Vec<&'t (String, Parsed)>, Vec<FileFacts<'t>>) =
            files.into_iter().unzip();
        let program: Vec<ProgramFile<'t>> = parsed
            .iter()
            .map(|&file| ProgramFile {
                path: &file.0,
                parsed: &file.1,
            })
            .collect();
        let final_round = round >= self.config.max_rounds.max(1) || parsed.len() >= MAX_FILES;
        let analysis = self
            .engine
            .analyse_with(&program, &mut facts, &scanned, final_round);
        if analysis.needs.is_empty() || final_round {
            return self.finish(&parsed, analysis, round);
        }
        // Only the needs of this analysis outlive it: the rest is dropped
        // before the next round, which would otherwise hold every earlier
        // round's analysis until the last returns.
        let needs = {
            let finished = analysis;
            finished.needs
        };
        drop(program);
        scanned.extend(&needs);
        // The first search of a run started from one file reads the bytes
        // of every file it may need, with no filter (half what building
        // the filters costs); a second search builds them.
        match self.tree {
            TreeRead::NotYet if !self.keeps_index() => {}
            _ => self.read_tree(true),
        }
        let have: HashSet<&str> = parsed.iter().map(|file| file.0.as_str()).collect();
        let filters = match &self.tree {
            TreeRead::Filters(words) => Some(&words.filters),
            _ => None,
        };
        let rest_at: Vec<usize> = (0..self.list.files.len())
            .filter(|&i| !have.contains(self.list.files[i].as_str()))
            .collect();
        let rest: Vec<(&String, Option<FilterRef>)> = (rest_at.iter())
            .map(|&i| {
                let filter = filters.and_then(|filters| filters.get(i));
                (&self.list.files[i], filter)
            })
            .collect();
        let (more, overflow, searched) =
            read_for_needs(&self.list.base, &rest, &needs, self.progress);
        let first_search = matches!(self.tree, TreeRead::NotYet);
        drop((rest, have));
        if first_search {
            let mut read = vec![false; self.list.files.len()];
            for (i, _) in &searched {
                read[rest_at[*i]] = true;
            }
            let unreadable = searched.into_iter().filter_map(|(_, s)| s).collect();
            self.tree = TreeRead::Searched(SearchedFiles { read, unreadable });
        }
        scanned.overflow.extend(overflow);
        let mut new_files = Vec::new();
        for (rel, r, _, _) in more {
            match r {
                Read::Skipped(s) => self.skipped.push(s),
                Read::No => {}
                Read::Yes(bytes) => new_files.push((rel, bytes)),
            }
        }
        // The next round's words: new files leave out the bodies that
        // cannot take part, and a file that left out a body that now can is
        // parsed again.
        let interest = Interest::new(self.engine, &scanned);
        let gained = interest.gained_since(&self.interest);
        self.interest = interest;
        let interest = &self.interest;
        let (again, again_paths) = parse_again(&parsed, interest, &gained, &mut self.skipped);
        let fresh = parse_all(new_files, interest, &mut self.skipped);
        let fresh: Vec<&(String, Parsed)> = fresh.iter().collect();
        let fresh_facts = facts_of(&fresh);
        let again: HashMap<&str, &(String, Parsed)> =
            again.iter().map(|file| (file.0.as_str(), file)).collect();
        let mut next: Vec<(&(String, Parsed), FileFacts)> = Vec::new();
        for (file, file_facts) in parsed.into_iter().zip(facts) {
            if !again_paths.contains(file.0.as_str()) {
                next.push((file, file_facts));
            } else if let Some(&renewed) = again.get(file.0.as_str()) {
                let program_file = ProgramFile {
                    path: &renewed.0,
                    parsed: &renewed.1,
                };
                next.push((renewed, file_facts.renew(&file.1.left_out, &program_file)));
            }
        }
        next.extend(fresh.into_iter().zip(fresh_facts));
        self.round(next, scanned, round + 1)
    }

    /// Reads every file of the tree once, if no read has yet, keeping what
    /// it skips and, with `filters`, the word filter of each file: the
    /// first read of a run over the whole tree, put off in a run started
    /// from one file until a round searches the tree a second time or the
    /// skipped files may block a unit.
    fn read_tree(&mut self, filters: bool) {
        // With an index, the filters cost a read of the files changed since.
        let filters = filters || self.keeps_index();
        match &mut self.tree {
            TreeRead::Filters(_) => return,
            TreeRead::Skips if !filters => return,
            // What the search read, it has seen: only the rest is read.
            TreeRead::Searched(searched) if !filters => {
                let rest: Vec<&String> = (self.list.files.iter().zip(&searched.read))
                    .filter(|(_, &read)| !read)
                    .map(|(f, _)| f)
                    .collect();
                self.skipped.append(&mut searched.unreadable);
                let read = read_matching(
                    &self.list.base,
                    &rest,
                    &|_| false,
                    false,
                    NO_INDEXING,
                    self.progress,
                );
                self.skipped
                    .extend(read.into_iter().filter_map(|(_, r, _, _)| match r {
                        Read::Skipped(s) => Some(s),
                        Read::No | Read::Yes(_) => None,
                    }));
                self.tree = TreeRead::Skips;
                return;
            }
            TreeRead::Skips | TreeRead::Searched(_) | TreeRead::NotYet => {}
        }
        // Recording for an index asks the prefilter of every file (its
        // candidate bit); otherwise no file's bytes are kept.
        let prefilter = self.prefilter;
        let prefiltered = |b: &[u8]| prefilter.is_match(b);
        let none = |_: &[u8]| false;
        let matches: &(dyn Fn(&[u8]) -> bool + Sync) = match self.record_index {
            true => &prefiltered,
            false => &none,
        };
        let indexing = IndexUse {
            index: self.index.as_ref().and_then(IndexFile::load),
            record: self.record_index,
        };
        let (kept, _) = read_every_file(
            self.list,
            matches,
            filters,
            indexing,
            self.progress,
            &mut self.skipped,
        );
        self.tree = match filters {
            true => TreeRead::Filters(kept),
            false => TreeRead::Skips,
        };
    }

    /// Whether the run keeps an index of the tree (and so reads the tree
    /// with its word filters whenever it reads it).
    fn keeps_index(&self) -> bool {
        self.record_index
    }

    /// The last round's analysis, with the units the skipped files and
    /// functions block and what rendering needs of each file.
    fn finish(
        &mut self,
        parsed: &[&(String, Parsed)],
        analysis: crate::engine::ProgramAnalysis,
        rounds: usize,
    ) -> Analysed {
        // A converted unit that names anything other files may hold is
        // blocked by a file the tree's read skips: the tree must have been
        // read for that answer.
        if analysis
            .units
            .iter()
            .any(|u| u.is_converted() && !u.depends.is_empty())
        {
            self.read_tree(false);
        }
        self.skipped.sort_by(|a, b| a.path.cmp(&b.path));
        self.skipped.dedup_by(|a, b| a.path == b.path);
        let mut blocked = blocked_by_skipped(&self.list.base, &self.skipped, &analysis.units);
        for (u, why) in blocked_by_skipped_functions(parsed, &analysis.files, &analysis.units) {
            blocked.entry(u).or_insert(why);
        }
        Analysed {
            files: parsed.iter().map(|&file| AnalysedFile::of(file)).collect(),
            rounds_ran_out: !analysis.needs.is_empty(),
            analysis,
            blocked,
            rounds,
        }
    }
}

/// A file as rendering reads it once the analysis is done: its path and its
/// bytes. The tree itself is not kept, so the file's own tree and the trees
/// parsed to check its rewritten text are never alive at once.
struct AnalysedFile {
    rel: String,
    original: std::sync::Arc<[u8]>,
}

impl AnalysedFile {
    fn of((rel, parsed): &(String, Parsed)) -> AnalysedFile {
        AnalysedFile {
            rel: rel.clone(),
            original: parsed.original.clone(),
        }
    }
}

/// The result of the analysis rounds: the files (in the order the analysis
/// numbers them), the last analysis, the units blocked by what could not be
/// read or analysed, and how many rounds were made.
struct Analysed {
    files: Vec<AnalysedFile>,
    analysis: crate::engine::ProgramAnalysis,
    blocked: BTreeMap<usize, Blocker>,
    rounds: usize,
    /// The last analysis still wanted files.
    rounds_ran_out: bool,
}

/// Most files one needed name may pull into the analysis; a name used more
/// widely is not followed (and what depends on it is left for a human).
pub const MAX_FILES_PER_NEED: usize = 48;

/// Most files the analysis reads in all.
pub const MAX_FILES: usize = 1200;

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
    /// (`embedded_at`).
    fn is_in(&self, bytes: &[u8]) -> bool {
        match self {
            OfferSearch::Definition(_, name) => whole_words(bytes, name).any(|at| {
                bytes.get(at + name.needle().len()) == Some(&b'(')
                    && crate::source::words::begins_definition(bytes, at)
            }),
            OfferSearch::Callers(_, name) => whole_words(bytes, name).next().is_some(),
            OfferSearch::Field(_, strukt, _, field) => {
                whole_words(bytes, strukt).next().is_some()
                    && whole_words(bytes, field).next().is_some()
            }
            OfferSearch::Holders(_, strukt) => {
                let len = strukt.needle().len();
                whole_words(bytes, strukt).any(|at| embedded_at(bytes, at, len))
            }
        }
    }
}

/// Whether the whole word at `at` (of `len` bytes) is the struct name of a
/// declaration of one object of that struct: `struct NAME member;` (or
/// `member[`, `member:`). A member of a struct definition has that shape;
/// so has a local variable, which only costs the file a read.
fn embedded_at(bytes: &[u8], at: usize, len: usize) -> bool {
    let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let is_word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    let before = bytes[..at].iter().rev().take_while(|b| blank(b)).count();
    let Some(head) = at.checked_sub(before).and_then(|end| bytes.get(..end)) else {
        return false;
    };
    if !head.ends_with(b"struct") || head.len() > 6 && is_word(&head[head.len() - 7]) {
        return false;
    }
    let rest = &bytes[at + len..];
    let rest = &rest[rest.iter().take_while(|b| blank(b)).count()..];
    let name = rest.iter().take_while(|b| is_word(b)).count();
    if name == 0 || rest[0].is_ascii_digit() {
        return false;
    }
    let after = &rest[name..];
    let after = &after[after.iter().take_while(|b| blank(b)).count()..];
    matches!(after.first(), Some(b';' | b'[' | b':'))
}

/// Where `word` occurs in `bytes` as a whole word: no letter, digit or
/// underscore on either side.
fn whole_words<'b>(bytes: &'b [u8], word: &'b Finder) -> impl Iterator<Item = usize> + 'b {
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
/// `MAX_SEARCH_BATCH`), so a need that no filter narrows (the first search
/// of a run started from one file reads the tree without filters) is read
/// in about ten batches instead of one per 64 of the tree's files.
const SEARCH_BATCH: usize = 64;
/// Most files one batch takes for one need.
const MAX_SEARCH_BATCH: usize = 8192;

/// Reads the files that hold what the analysis needs: the definition of a
/// function (where `words::begins_definition` says a definition may begin) or of a
/// function-like macro (`#define name(`), every
/// mention of a function whose callers matter, or a struct name together
/// with one of its fields. Names that more than `MAX_FILES_PER_NEED` files
/// mention are returned as overflowing instead.
///
/// Only files whose word filter may offer a need are read (a file without a
/// filter always may), and a need is no longer searched for once more than
/// `MAX_FILES_PER_NEED` files are seen to offer it: the filter never misses
/// a word, so the files chosen and the names overflowing are those a read of
/// every file gives.
fn read_for_needs(
    base: &Path,
    files: &[(&String, Option<FilterRef>)],
    needs: &Needs,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> (Vec<FileRead>, BTreeSet<String>, Vec<SearchRead>) {
    let mut offers: Vec<Offer> = Vec::new();
    offers.extend(needs.definitions.iter().map(|d| Offer::Definition(d)));
    offers.extend(needs.callers.iter().map(|c| Offer::Callers(c)));
    offers.extend(needs.fields.iter().map(|(s, f)| Offer::Field(s, f)));
    offers.extend(needs.holders.iter().map(|s| Offer::Holders(s)));
    if offers.is_empty() {
        return (Vec::new(), BTreeSet::new(), Vec::new());
    }
    let searches: Vec<OfferSearch> = offers.iter().map(OfferSearch::of).collect();

    // The files that may offer each need, in list order.
    let may_offer: Vec<Vec<usize>> = files
        .par_iter()
        .map(|(path, filter)| {
            (0..offers.len())
                .filter(|&k| searches[k].may_be_in_file(path))
                .filter(|&k| filter.is_none_or(|f| searches[k].may_be_in(&f)))
                .collect()
        })
        .collect();
    let mut candidates: Vec<Vec<usize>> = vec![Vec::new(); offers.len()];
    for (i, ks) in may_offer.iter().enumerate() {
        for &k in ks {
            candidates[k].push(i);
        }
    }
    let total = may_offer.iter().filter(|ks| !ks.is_empty()).count();

    // Read the candidates in batches until every need is settled: all its
    // candidates read, or more than `MAX_FILES_PER_NEED` files offering it.
    // The embedders of a struct that more than `MAX_HOLDER_CANDIDATES`
    // headers name are not looked for: it overflows unread.
    let mut offered: Vec<Option<Vec<usize>>> = vec![None; files.len()];
    let mut count = vec![0usize; offers.len()];
    for (k, offer) in offers.iter().enumerate() {
        if matches!(offer, Offer::Holders(_)) && candidates[k].len() > MAX_HOLDER_CANDIDATES {
            candidates[k].clear();
            count[k] = MAX_FILES_PER_NEED + 1;
        }
    }
    let mut next = vec![0usize; offers.len()];
    let mut quota = vec![SEARCH_BATCH; offers.len()];
    let mut searched = Vec::new();
    loop {
        let mut batch = BTreeSet::new();
        for k in 0..offers.len() {
            if count[k] > MAX_FILES_PER_NEED {
                continue;
            }
            let mut taken = 0;
            while taken < quota[k] && next[k] < candidates[k].len() {
                let i = candidates[k][next[k]];
                next[k] += 1;
                if offered[i].is_none() && batch.insert(i) {
                    taken += 1;
                }
            }
            quota[k] = (quota[k] * 2).min(MAX_SEARCH_BATCH);
        }
        if batch.is_empty() {
            break;
        }
        let batch: Vec<usize> = batch.into_iter().collect();
        let found: Vec<Result<Vec<usize>, SkippedFile>> = batch
            .par_iter()
            .map_init(Vec::new, |buffer, &i| {
                // A file offers only needs its filter lets through: the
                // filter never misses a word.
                source::read_into(base, files[i].0, buffer).map(|bytes| {
                    may_offer[i]
                        .iter()
                        .copied()
                        .filter(|&k| searches[k].is_in(bytes))
                        .collect()
                })
            })
            .collect();
        for (i, r) in batch.into_iter().zip(found) {
            let (ks, unreadable) = match r {
                Ok(ks) => (ks, None),
                Err(s) => (Vec::new(), Some(s)),
            };
            for &k in &ks {
                count[k] += 1;
            }
            offered[i] = Some(ks);
            searched.push((i, unreadable));
        }
        progress(
            offered.iter().filter(|o| o.is_some()).count().min(total),
            total,
        );
    }

    let mut overflow = BTreeSet::new();
    let allowed: Vec<bool> = count.iter().map(|&n| n <= MAX_FILES_PER_NEED).collect();
    for (k, o) in offers.iter().enumerate() {
        if !allowed[k] {
            overflow.insert(o.name());
        }
    }
    let chosen: Vec<&String> = offered
        .iter()
        .enumerate()
        .filter(|(_, ks)| ks.as_ref().is_some_and(|ks| ks.iter().any(|&k| allowed[k])))
        .map(|(i, _)| files[i].0)
        .collect();
    (
        read_matching(base, &chosen, &|_| true, false, NO_INDEXING, &|_, _| {}),
        overflow,
        searched,
    )
}

/// A file a search read (its index in the files searched), with why it
/// could not be read when it could not.
type SearchRead = (usize, Option<SkippedFile>);

/// Whether the unified diff of a file, applied to its original, gives the
/// rewritten bytes exactly.
fn diff_reproduces(rel: &str, before: &[u8], after: &[u8]) -> Result<(), String> {
    let diff = file_diff(rel, before, after, None);
    match apply_unified(before, &diff) {
        Ok(applied) if applied == after => Ok(()),
        Ok(_) => Err("the diff does not reproduce the rewritten file".into()),
        Err(e) => Err(format!("the diff does not apply: {e}")),
    }
}

/// Runs the whole per-tree pipeline on one file's bytes, without the file
/// system and without following flows into other files (the fuzz targets
/// call it). `Ok(None)` when the file holds nothing the rules look at;
/// `Err` when it is not C text at all.
pub fn process_bytes(
    engine: &Engine,
    rel: &str,
    bytes: Vec<u8>,
) -> Result<Option<FileOutcome>, SkippedFile> {
    if let Some(reason) = source::not_text_reason(&bytes) {
        return Err(SkippedFile::new(rel, reason, SkipKind::NotC));
    }
    let Some(p) = parse::parse(&bytes) else {
        return Err(SkippedFile::new(
            rel,
            "the C parser gave up on this file",
            SkipKind::NotC,
        ));
    };
    let parsed = (rel.to_string(), p);
    let files = [ProgramFile {
        path: &parsed.0,
        parsed: &parsed.1,
    }];
    let analysis = engine.analyse(&files, &Needs::default(), true);
    let analysed = vec![AnalysedFile::of(&parsed)];
    drop(parsed);
    let outcome = render_outcome(engine, Path::new("."), analysed, analysis, BTreeMap::new());
    Ok(outcome.files.into_iter().next())
}

/// The converted units a skipped file may take part in, with the reason: a
/// file whose bytes are not C blocks every flow whose helper, caller or
/// struct field it mentions; a file that could not be read at all blocks
/// every flow that leaves its function (it may mention anything). A flow is
/// never converted in the files pinpatch read while a file it could not
/// analyse may hold one of its releases.
fn blocked_by_skipped(
    base: &Path,
    skipped: &[SkippedFile],
    units: &[Unit],
) -> BTreeMap<usize, Blocker> {
    let mut blocked = BTreeMap::new();
    let open: Vec<usize> = (0..units.len())
        .filter(|&u| units[u].is_converted() && !units[u].depends.is_empty())
        .collect();
    if open.is_empty() {
        return blocked;
    }
    for s in skipped {
        let bytes = match s.kind {
            SkipKind::NotFollowed => continue,
            SkipKind::NotC => source::read(base, &s.path).ok(),
            SkipKind::Unreadable => None,
        };
        for &u in &open {
            if blocked.contains_key(&u) {
                continue;
            }
            let why = match &bytes {
                None => Some(Blocker::SkippedFileUnread {
                    path: s.path.clone(),
                    reason: s.reason.clone(),
                }),
                Some(bytes) => mentioned_dependency(bytes, &units[u], None).map(|name| {
                    Blocker::SkippedFileMentions {
                        path: s.path.clone(),
                        name,
                        reason: s.reason.clone(),
                    }
                }),
            };
            if let Some(why) = why {
                blocked.insert(u, why);
            }
        }
    }
    blocked
}

/// The first name of the unit's flow (a function, or `STRUCT::FIELD` when
/// both words occur) that `bytes` mention as a whole word. When `bytes` are
/// the body of one function, `function`, a function the flow passes pages to
/// matters only if this is its definition: a mere call of it is not part of
/// the flow.
fn mentioned_dependency(bytes: &[u8], unit: &Unit, function: Option<&str>) -> Option<String> {
    let mentions = |word: &str| whole_words(bytes, &Finder::new(word)).next().is_some();
    unit.depends.iter().find_map(|need| match need {
        Need::Definition(name) if function.is_some() => {
            (function == Some(name.as_str())).then(|| name.clone())
        }
        Need::Definition(name) | Need::Callers(name) => mentions(name).then(|| name.clone()),
        Need::Field(strukt, field) => {
            (mentions(strukt) && mentions(field)).then(|| format!("{strukt}::{field}"))
        }
        Need::Holders(_) => None,
    })
}

/// The converted units a function the engine did not analyse (nested too
/// deep, or holding a parse error) may take part in: those whose helpers,
/// callers or struct fields its text mentions.
fn blocked_by_skipped_functions(
    parsed: &[&(String, Parsed)],
    findings: &[FileFindings],
    units: &[Unit],
) -> BTreeMap<usize, Blocker> {
    let mut blocked = BTreeMap::new();
    for ((rel, p), f) in parsed.iter().zip(findings) {
        if f.skipped.is_empty() {
            continue;
        }
        let defs = crate::c::syntax::functions(p.tree.root_node());
        for k in &f.skipped {
            let Some(def) = defs.iter().find(|d| {
                p.line_of(d.node.start_byte()) == k.line && d.name(&p.original) == k.function
            }) else {
                continue;
            };
            let body = &p.original[def.node.byte_range()];
            for (u, unit) in units.iter().enumerate() {
                if !unit.is_converted() || blocked.contains_key(&u) {
                    continue;
                }
                if let Some(name) = mentioned_dependency(body, unit, Some(&k.function)) {
                    blocked.insert(
                        u,
                        Blocker::SkippedFunctionMentions {
                            function: k.function.clone(),
                            place: format!("{rel}:{}", k.line),
                            name,
                            reason: k.reason.clone(),
                        },
                    );
                }
            }
        }
    }
    blocked
}

/// Renders the converted units, drops the ones whose edits conflict or break
/// a parse (everywhere: a unit is all or nothing), and builds the outcome.
fn render_outcome(
    engine: &Engine,
    base: &Path,
    mut analysed: Vec<AnalysedFile>,
    analysis: crate::engine::ProgramAnalysis,
    blocked: BTreeMap<usize, Blocker>,
) -> Outcome {
    let mut units = analysis.units;
    let mut files = analysis.files;
    let rendered = render_units(engine, &units, &analysed);
    let dropped = units_to_drop(&rendered, &analysed, blocked);
    for (ui, why) in &dropped {
        units[*ui].withdraw(why.clone());
    }
    let mut edits_per_file = record_rewrites(&mut files, &units, &rendered, &dropped);
    let mut stats = Stats {
        precision_limits: analysis.precision_limits,
        ..Stats::default()
    };
    let mut out_files = Vec::new();
    for (i, findings) in files.into_iter().enumerate() {
        let edits = edits_per_file.remove(&i).unwrap_or_default();
        if findings.sites.is_empty()
            && findings.skipped.is_empty()
            && findings.functions_analysed == 0
            && edits.is_empty()
        {
            continue;
        }
        let outcome = file_outcome(base, &mut analysed[i], findings, edits, &mut stats);
        stats.files_changed += usize::from(outcome.changed());
        out_files.push(outcome);
    }
    count_units(&units, &mut stats);
    Outcome {
        base: base.to_path_buf(),
        target: engine.target,
        files: out_files,
        units,
        skipped: Vec::new(),
        stale_temporaries: Vec::new(),
        stats,
    }
}

/// The rendered plans of each converted unit: (file, plan, rendering).
type RenderedUnits = BTreeMap<usize, Vec<(usize, Plan, Rendered)>>;

/// Renders the plans of every converted unit against its files' bytes.
fn render_units(engine: &Engine, units: &[Unit], analysed: &[AnalysedFile]) -> RenderedUnits {
    let mut rendered = RenderedUnits::new();
    let mut layouts: BTreeMap<usize, FileLayout> = BTreeMap::new();
    for (ui, unit) in units.iter().enumerate() {
        if !unit.is_converted() {
            continue;
        }
        let mut r: Vec<(usize, Plan, Rendered)> = unit
            .plans
            .iter()
            .filter_map(|(file, plan)| {
                let src = &analysed[*file].original;
                let x = render(plan, &engine.pack.rules, engine.target, src)?;
                Some((*file, plan.clone(), x))
            })
            .collect();
        // Each file's edits of the unit laid out together.
        let files: BTreeSet<usize> = r.iter().map(|(file, _, _)| *file).collect();
        for file in files {
            let src = &analysed[file].original;
            let layout = *layouts.entry(file).or_insert_with(|| FileLayout::of(src));
            let mut edits: Vec<Edit> = r
                .iter()
                .filter(|(f, _, _)| *f == file)
                .map(|(_, _, x)| x.edit.clone())
                .collect();
            lay_out(src, layout, &mut edits);
            let mut laid = edits.into_iter();
            for (_, _, x) in r.iter_mut().filter(|(f, _, _)| *f == file) {
                let edit = laid.next().expect("one laid-out edit per rendered plan");
                x.folded = !x.edit.is_empty() && edit.is_empty();
                x.edit = edit;
            }
        }
        rendered.insert(ui, r);
    }
    rendered
}

/// The units to withdraw, with why: those `blocked` already, then, until
/// none is added, those whose edits overlap another unit's, and those
/// whose edits leave a file parsing worse or whose diff does not give the
/// rewritten bytes back.
fn units_to_drop(
    rendered: &RenderedUnits,
    analysed: &[AnalysedFile],
    blocked: BTreeMap<usize, Blocker>,
) -> BTreeMap<usize, Blocker> {
    let mut dropped = blocked;
    loop {
        let mut per_file: BTreeMap<usize, Vec<(usize, Edit)>> = BTreeMap::new();
        for (ui, r) in rendered {
            if dropped.contains_key(ui) {
                continue;
            }
            for (file, _, x) in r.iter().filter(|(_, _, x)| !x.edit.is_empty()) {
                per_file
                    .entry(*file)
                    .or_default()
                    .push((*ui, x.edit.clone()));
            }
        }
        let mut newly = overlapping_units(&mut per_file);
        if newly.is_empty() {
            for (file, edits) in &per_file {
                newly.extend(units_parsing_worse(&analysed[*file], edits));
            }
        }
        if newly.is_empty() {
            return dropped;
        }
        dropped.extend(newly);
    }
}

/// The units whose edits overlap another unit's, per file: one sweep over
/// the edits sorted by position (a generated file may hold tens of
/// thousands).
fn overlapping_units(
    per_file: &mut BTreeMap<usize, Vec<(usize, Edit)>>,
) -> BTreeMap<usize, Blocker> {
    let mut newly = BTreeMap::new();
    for edits in per_file.values_mut() {
        edits.sort_by_key(|(ui, e)| (e.start, e.end, *ui));
        // The earlier edit reaching furthest, and its unit.
        let mut reach: Option<(usize, Edit)> = None;
        for (ui, e) in edits.iter() {
            if let Some((other, far)) = &reach {
                if other != ui && overlaps(far, e) {
                    newly.insert(*ui, Blocker::RewriteOverlap);
                }
            }
            if reach.as_ref().is_none_or(|(_, far)| e.end > far.end) {
                reach = Some((*ui, e.clone()));
            }
        }
    }
    newly
}

/// The units whose edits of `src` must be dropped: the file must parse no
/// worse with all its edits, and the diff the sinks print must give the
/// rewritten bytes back. When the edits together parse worse, the units
/// whose own edits do are dropped; when none does alone, all are.
fn units_parsing_worse(src: &AnalysedFile, edits: &[(usize, Edit)]) -> BTreeMap<usize, Blocker> {
    let mut newly = BTreeMap::new();
    let mut all: Vec<Edit> = edits.iter().map(|(_, e)| e.clone()).collect();
    all.sort();
    let after = apply_edits(&src.original, &all);
    if rewrite_parses_no_worse(&src.original, &after, &all) {
        // Self-check: the diff the sinks print, applied to the original,
        // gives the rewritten bytes exactly.
        if let Err(why) = diff_reproduces(&src.rel, &src.original, &after) {
            for (ui, _) in edits {
                newly.insert(
                    *ui,
                    Blocker::SelfCheckFailed {
                        path: src.rel.clone(),
                        why: why.to_string(),
                    },
                );
            }
        }
        return newly;
    }
    let involved: BTreeSet<usize> = edits.iter().map(|(u, _)| *u).collect();
    for ui in involved {
        let mut own: Vec<Edit> = edits
            .iter()
            .filter(|(u, _)| *u == ui)
            .map(|(_, e)| e.clone())
            .collect();
        own.sort();
        let own_after = apply_edits(&src.original, &own);
        if !rewrite_parses_no_worse(&src.original, &own_after, &own) {
            newly.insert(
                ui,
                Blocker::RewriteParseError {
                    path: src.rel.clone(),
                },
            );
        }
    }
    if newly.is_empty() {
        for (ui, _) in edits {
            newly.insert(
                *ui,
                Blocker::RewritesParseError {
                    path: src.rel.clone(),
                },
            );
        }
    }
    newly
}

/// Records on each site what it became (the rewrite of a unit kept, or the
/// reasons of a unit not converted) and returns the kept units' edits per
/// file, sorted by position.
fn record_rewrites(
    files: &mut [FileFindings],
    units: &[Unit],
    rendered: &RenderedUnits,
    dropped: &BTreeMap<usize, Blocker>,
) -> BTreeMap<usize, Vec<(usize, Edit)>> {
    let mut sites_of: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
    for (fi, f) in files.iter().enumerate() {
        for (si, s) in f.sites.iter().enumerate() {
            if let Some(ui) = s.unit {
                sites_of.entry((fi, ui)).or_default().push(si);
            }
        }
    }
    let mut edits_per_file: BTreeMap<usize, Vec<(usize, Edit)>> = BTreeMap::new();
    for (ui, r) in rendered {
        if dropped.contains_key(ui) {
            continue;
        }
        for (file, plan, x) in r {
            // A folded edit is kept (empty) so that each change counts once.
            if !x.edit.is_empty() || x.folded {
                edits_per_file
                    .entry(*file)
                    .or_default()
                    .push((*ui, x.edit.clone()));
            }
            if let Plan::Replace { matched } = plan {
                for &si in sites_of
                    .get(&(*file, *ui))
                    .map(Vec::as_slice)
                    .unwrap_or(&[])
                {
                    let site = &mut files[*file].sites[si];
                    if matched.start <= site.start && site.end <= matched.end {
                        site.rewrite = Some(x.display.clone());
                    }
                }
            }
        }
    }
    for f in files.iter_mut() {
        for site in f.sites.iter_mut() {
            if let Some(ui) = site.unit {
                let unit = &units[ui];
                site.class = unit.class;
                if !unit.is_converted() {
                    site.rewrite = None;
                    if site.reason.is_none() || dropped.contains_key(&ui) {
                        site.reason = Some(unit.decision.reasons());
                    }
                }
            }
        }
    }
    for edits in edits_per_file.values_mut() {
        edits.sort_by_key(|(_, e)| (e.start, e.end));
    }
    edits_per_file
}

/// One file's outcome: its bytes before and after its edits, its findings,
/// counted into `stats`.
fn file_outcome(
    base: &Path,
    file: &mut AnalysedFile,
    findings: FileFindings,
    edits: Vec<(usize, Edit)>,
    stats: &mut Stats,
) -> FileOutcome {
    let after = apply_edits(
        &file.original,
        &edits.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>(),
    );
    stats.functions_skipped += findings.skipped.len();
    stats.functions_analysed += findings.functions_analysed;
    stats.acquire_sites += findings
        .sites
        .iter()
        .filter(|s| s.kind == SiteKind::Acquire)
        .count();
    stats.release_sites += findings
        .sites
        .iter()
        .filter(|s| s.kind == SiteKind::Release)
        .count();
    stats.rewrites += edits.len();
    let executable = !edits.is_empty() && source::is_executable(base, &file.rel);
    FileOutcome {
        rel_path: std::mem::take(&mut file.rel),
        findings,
        before: file.original.to_vec(),
        after,
        edits,
        executable,
    }
}

/// The units' counts in `stats`: all, converted, kept, mismatches, and
/// the classes of those not already pinned.
fn count_units(units: &[Unit], stats: &mut Stats) {
    stats.units = units.len();
    stats.units_converted = units.iter().filter(|u| u.is_converted()).count();
    stats.units_kept = units.iter().filter(|u| u.is_kept()).count();
    stats.mismatches = units.iter().map(|u| u.mismatches.len()).sum();
    for u in units {
        if !u.is_pinned() {
            *stats.classes.entry(u.class.name().to_string()).or_default() += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{read_for_needs, Read, MAX_FILES_PER_NEED};
    use crate::engine::Needs;
    use crate::source::words::{FilterRef, WordFilter, WordFilters};
    use std::collections::BTreeSet;

    /// What a search chose (paths) and what overflowed.
    fn search(
        dir: &std::path::Path,
        names: &[String],
        filtered: bool,
        needs: &Needs,
    ) -> (Vec<String>, BTreeSet<String>) {
        let filters = WordFilters::pack(
            names
                .iter()
                .map(|n| filtered.then(|| WordFilter::of(&std::fs::read(dir.join(n)).unwrap())))
                .collect(),
        );
        let files: Vec<(&String, Option<FilterRef>)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n, filters.get(i)))
            .collect();
        let (read, overflow, _) = read_for_needs(dir, &files, needs, &|_, _| {});
        let chosen = read
            .into_iter()
            .filter(|(_, r, _, _)| matches!(r, Read::Yes(_)))
            .map(|(n, _, _, _)| n)
            .collect();
        (chosen, overflow)
    }

    /// A search without word filters says which files it read and which
    /// it could not: a later read of the tree for its skips reads only the
    /// others.
    #[test]
    fn a_search_reports_the_files_it_read_and_those_it_could_not() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.c"), "void f(void)\n{\n\thelper();\n}\n").unwrap();
        std::fs::write(dir.path().join("b.c"), "int x;\n").unwrap();
        std::fs::create_dir(dir.path().join("d.c")).unwrap();
        let names = ["a.c".to_string(), "b.c".to_string(), "d.c".to_string()];
        let files: Vec<(&String, Option<FilterRef>)> = names.iter().map(|n| (n, None)).collect();
        let mut needs = Needs::default();
        needs.callers.insert("helper".into());
        let (chosen, _, searched) = read_for_needs(dir.path(), &files, &needs, &|_, _| {});
        let chosen: Vec<&str> = chosen.iter().map(|(n, _, _, _)| n.as_str()).collect();
        assert_eq!(chosen, ["a.c"]);
        let searched: Vec<(&str, Option<&str>)> = searched
            .iter()
            .map(|(i, s)| (names[*i].as_str(), s.as_ref().map(|s| s.reason.as_str())))
            .collect();
        assert_eq!(
            searched,
            [
                ("a.c", None),
                ("b.c", None),
                ("d.c", Some("cannot read: Is a directory (os error 21)"))
            ]
        );
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
        for (name, text) in &files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
        let mut needs = Needs::default();
        needs.definitions.insert("helper_one".into());
        needs.callers.insert("helper_two".into());
        needs.callers.insert("min_t".into());
        needs.fields.insert(("rds_mr".into(), "pages".into()));
        let unfiltered = search(dir.path(), &names, false, &needs);
        let filtered = search(dir.path(), &names, true, &needs);
        assert_eq!(filtered, unfiltered);
        assert_eq!(
            unfiltered.0,
            ["def.c", "comment.c", "field.c"].map(String::from).to_vec()
        );
        assert_eq!(unfiltered.1, BTreeSet::from(["min_t".to_string()]));
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
            let (chosen, overflow) = search(dir.path(), &names, filtered, &needs);
            assert_eq!(
                chosen,
                [format!("f{:03}.c", total - 1)],
                "filtered: {filtered}"
            );
            assert_eq!(overflow, BTreeSet::from(["common_helper".to_string()]));
        }
    }
}
