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
//!
//! Here: the run and its rounds (`run_keeping`, `Rounds`). Beside it, in
//! the order a run goes through them: `read.rs` (the read of every file:
//! prefilter, word filters, the index of the tree), `search.rs` (the files
//! each round's needs may be in), `skipped.rs` (what the files and
//! functions that could not be analysed block), `render.rs` (edits, diffs
//! and the `Outcome`).

use crate::c::parse::{self, Parsed};
use crate::engine::{AcquirePolicy, Engine, FileFindings, TreeApi, Unit};
use crate::engine::{Blocker, FileFacts, GainedWords, Interest, Needs, ProgramFile, SettledFlows};
use crate::rewrite::diff::file_diff;
use crate::rewrite::Edit;
use crate::rule::{RulePack, Target};
use crate::source::index::{self, IndexError, IndexFile, TreeRecords};
use crate::source::{self, SkipKind, SkippedFile, SourceError, SourceList};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

mod read;
mod render;
mod search;
mod skipped;

use read::{read_every_file, Prefilter, Read, TreeWords};
use render::render_outcome;
use search::{read_for_needs, searches_tree};
use skipped::{blocked_by_skipped, blocked_by_skipped_functions};

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
    /// Whether a round before the last leaves out the flows earlier rounds
    /// settled (`SettledFlows`), analysing them only when units are
    /// decided. It makes the rounds cheaper; every decision is made with
    /// every flow either way, and the fixtures check the outcome is the same.
    pub leave_out_settled: bool,
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
    /// The names the index the run recorded for holds candidates of
    /// (`None`: the run kept no index).
    names_fingerprint: Option<u64>,
}

impl KeptTree {
    /// What an index of the tree is to hold after this run, when the run
    /// recorded it and it differs from the index the run was given.
    pub fn unsaved_records(&self) -> Option<TreeRecords<'_>> {
        let names_fingerprint = self.names_fingerprint.filter(|_| self.words.unsaved)?;
        Some(TreeRecords {
            files: &self.list.files,
            records: &self.words.records,
            filters: &self.words.filters,
            began: self.words.began,
            names_fingerprint,
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
/// (`KeptTree::unsaved_records`); and whether the caller will start
/// another run from what this one keeps (`keep`). A run that keeps
/// nothing for anyone drops the word filters once its last search is done.
#[derive(Default)]
pub struct Prior {
    pub kept: Option<KeptTree>,
    pub index: Option<IndexFile>,
    pub keep: bool,
}

/// The names whose files are a run's candidates: those that name an acquire
/// or a plain rewrite. An index of the tree records its candidates for
/// them (`open_index`).
fn candidate_names(pack: &RulePack) -> Vec<String> {
    let mut anchors = pack.acquire_identifiers();
    anchors.extend(pack.rewrite_identifiers());
    anchors
}

/// The index of the tree at `path` for runs with `pack`, whose candidate
/// bits are those of the pack's names (`IndexFile::open` says when the path
/// may not hold one).
pub fn open_index(path: &Path, pack: &RulePack) -> Result<IndexFile, IndexError> {
    let names = index::names_fingerprint(&candidate_names(pack));
    IndexFile::open(path, names)
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
    // A run over the whole tree reads its index on a thread of its own
    // while the tree is listed, instead of after it: for Linux 6.1 the
    // listing takes about 60 ms and the read of the index (50 MB,
    // checksummed) about 50 ms of one core.
    let load_index = config.start.is_none();
    let (listed, loaded) = std::thread::scope(|s| {
        let loading = (prior.index.as_ref())
            .filter(|_| load_index)
            .map(|index| s.spawn(|| index.load()));
        let listed = match prior.kept {
            Some(kept) if kept.path == config.path => Ok((kept.list, Some(kept.words))),
            _ => source::discover(&config.path).map(|list| (list, None)),
        };
        let loaded = loading.map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        (listed, loaded.flatten())
    });
    let (list, kept_words) = listed?;
    let mut engine = Engine::new(pack, config.target, config.policy);
    if let Some(api) = tree_api(&list, pack, config.target) {
        engine = engine.with_tree_api(api);
    }
    let mut skipped = list.skipped.clone();

    // Candidates: files that name an acquire or a plain rewrite.
    let anchors = candidate_names(pack);
    let names_fingerprint = prior.index.as_ref().map(IndexFile::names_fingerprint);
    let prefilter = Prefilter::new(&anchors);
    let mut candidates = Vec::new();
    // Started from one file, that file is the one candidate, and the tree
    // is read only when the rounds must (`Rounds::read_tree`): a flow its
    // file settles is answered without reading the tree.
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
        let index = loaded;
        let record = build && prior.index.is_some();
        let (words, matching) = read_every_file(
            &list,
            &matches,
            build,
            index,
            record,
            progress,
            &mut skipped,
        );
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
        keep_filters: prior.keep,
        index: prior.index,
        prefilter: &prefilter,
        progress,
        skipped,
        interest: Interest::new(&engine, &Needs::default()),
        settled: SettledFlows::default(),
        leaving_out: config.leave_out_settled,
    };
    // The parse trees of every round are dropped when the rounds return,
    // before the rewritten text is parsed again to check it.
    let analysed = {
        let parsed_first = parse_all(candidates, &rounds.interest, &mut rounds.skipped);
        let parsed: Vec<&(String, Parsed)> = parsed_first.iter().collect();
        let facts = facts_of(&parsed);
        let analysed = rounds.round(parsed.into_iter().zip(facts).collect(), Needs::default(), 1);
        drop_in_parallel(parsed_first);
        analysed
    };
    // The rounds' trees are freed: their pages go back before the rewrites
    // are parsed to check them, which would not take most of them again.
    crate::memory::give_back();
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

/// Drops the items of a list on every core: freeing the parse trees and
/// facts of a whole Linux tree's rounds took about 75 ms of one core.
fn drop_in_parallel<T: Send>(items: Vec<T>) {
    items.into_par_iter().for_each(drop);
}

/// How far a run has read the whole tree.
enum TreeRead {
    /// Not yet: a run started from one file reads it when it must.
    NotYet,
    /// Read for the files it skips only.
    Skips,
    /// Read, with the word filter of every file of the list, in list order.
    Filters(TreeWords),
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
    /// Whether the word filters outlive the run (`Prior::keep`): otherwise
    /// they go once no round can search again, unless the index must be
    /// written with them (`Rounds::filters_to_save`).
    keep_filters: bool,
    /// The run's prefilter, which decides the candidate bit recorded for
    /// an index.
    prefilter: &'r Prefilter,
    progress: &'r (dyn Fn(usize, usize) + Sync),
    skipped: Vec<SkippedFile>,
    /// The words of the round being made: every file parsed so far left
    /// out only bodies that cannot take part in it.
    interest: Interest,
    /// The acquires whose flows need nothing more read: the rounds before
    /// the last analyse the other flows alone.
    settled: SettledFlows,
    /// Whether the rounds still leave out the settled flows: they stop once
    /// an analysis of every flow asks for more than the analysis of the
    /// open ones did (`engine::SettledFlows`).
    leaving_out: bool,
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
        // A round before the last leaves out the flows earlier rounds
        // settled; when the others need nothing more either, the program is
        // analysed again with every flow, to decide the units. That
        // analysis knows every flow, so its settled flows replace the set;
        // if it still needs files, the open flows' analysis missed them,
        // and the rounds after it analyse every flow.
        let every_flow = SettledFlows::default();
        let left_out = match final_round || !self.leaving_out {
            true => &every_flow,
            false => &self.settled,
        };
        let mut analysis = self.engine.analyse_with(
            &program,
            &mut facts,
            (&scanned, &self.interest, left_out),
            final_round,
        );
        if left_out.is_empty() {
            self.settled = std::mem::take(&mut analysis.settled);
        } else if analysis.needs.is_empty() {
            analysis = self.engine.analyse_with(
                &program,
                &mut facts,
                (&scanned, &self.interest, &every_flow),
                final_round,
            );
            self.settled = std::mem::take(&mut analysis.settled);
            self.leaving_out = analysis.needs.is_empty();
        } else {
            self.settled.extend(std::mem::take(&mut analysis.settled));
        }
        if analysis.needs.is_empty() || final_round {
            let analysed = self.finish(&parsed, analysis, round);
            drop(program);
            drop_in_parallel(facts);
            return analysed;
        }
        // Only the needs of this analysis outlive it: the rest is dropped
        // before the next round, which would otherwise hold every earlier
        // round's analysis until the last returns.
        let needs = {
            let finished = analysis;
            finished.needs
        };
        drop(program);
        crate::memory::give_back();
        scanned.extend(&needs);
        // A run started from one file reads the tree when a search first
        // needs it, building every file's word filter as it does, which
        // every later search asks. A first search without filters reads
        // the tree in a third of the time, but a second search then reads
        // it again for them: on the 96 acquire sites of Linux 6.1, `explain`
        // took 0.49 s at the median that way and over 1.5 s on 26 sites
        // (the flows that search twice or more), against 1.12 s at the
        // median and over 1.5 s on 2 sites this way.
        if self.keeps_index() || searches_tree(&needs) {
            self.read_tree(true);
        }
        let have: HashSet<&str> = parsed.iter().map(|file| file.0.as_str()).collect();
        let filters = match &self.tree {
            TreeRead::Filters(words) => Some(&words.filters),
            _ => None,
        };
        let rest_at: Vec<usize> = (0..self.list.files.len())
            .filter(|&i| !have.contains(self.list.files[i].as_str()))
            .collect();
        let rest: Vec<&String> = rest_at.iter().map(|&i| &self.list.files[i]).collect();
        let filter_of = |j: usize| filters.and_then(|filters| filters.get(rest_at[j]));
        let (more, overflow, _) =
            read_for_needs(&self.list.base, &rest, &filter_of, &needs, self.progress);
        drop((rest, have));
        // The next round is the last: no search follows this one. The
        // tree's read has recorded what it skips, which is all `finish`
        // asks of it.
        if round + 1 >= self.config.max_rounds.max(1)
            && !self.keep_filters
            && !self.filters_to_save()
        {
            if let TreeRead::Filters(_) = self.tree {
                self.tree = TreeRead::Skips;
                crate::memory::give_back();
            }
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
        let (parsed_again, again_paths) =
            parse_again(&parsed, interest, &gained, &mut self.skipped);
        let parsed_fresh = parse_all(new_files, interest, &mut self.skipped);
        let fresh: Vec<&(String, Parsed)> = parsed_fresh.iter().collect();
        let fresh_facts = facts_of(&fresh);
        let again: HashMap<&str, &(String, Parsed)> = (parsed_again.iter())
            .map(|file| (file.0.as_str(), file))
            .collect();
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
        let analysed = self.round(next, scanned, round + 1);
        drop(again);
        drop_in_parallel(parsed_fresh);
        drop_in_parallel(parsed_again);
        analysed
    }

    /// Reads every file of the tree once, if no read has yet, keeping what
    /// it skips and, with `filters`, the word filter of each file: the
    /// first read of a run over the whole tree, put off in a run started
    /// from one file until a round searches the tree a second time or the
    /// skipped files may block a unit.
    fn read_tree(&mut self, filters: bool) {
        // With an index, the filters cost a read of the files changed since.
        // A tree read with them, whose filters went with the last search
        // (`filters_to_save`), has nothing more to read: its skips are known.
        let filters = filters || self.keeps_index() && !matches!(self.tree, TreeRead::Skips);
        match &self.tree {
            TreeRead::Filters(_) => return,
            TreeRead::Skips if !filters => return,
            TreeRead::Skips | TreeRead::NotYet => {}
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
        let (kept, _) = read_every_file(
            self.list,
            matches,
            filters,
            self.index.as_ref().and_then(IndexFile::load),
            self.record_index,
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

    /// Whether the index the run keeps must be written after it with the
    /// word filters the read of the tree made: it was missing, stale or
    /// for other files. An index the read found current is not written,
    /// and its filters go once no round can search again.
    fn filters_to_save(&self) -> bool {
        matches!(&self.tree, TreeRead::Filters(words) if self.record_index && words.unsaved)
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
