//! The command-line edge: parse arguments, resolve them into a `Config`, run
//! the pipeline once and hand the outcome to the sink the command names.
//! Errors become a message on standard error and an exit code from
//! `exit.rs`; a closed standard output (`pinpatch diff | head`) is not an
//! error.

pub mod args;
pub mod exit;
pub mod interrupt;

use crate::pipeline::{self, Config, Outcome};
use crate::rule::{RulePack, Target};
use crate::sink;
use crate::source;
use args::{Args, Command, Format, PolicyArg, RunArgs, SeriesArgs, TargetArg};
use clap::Parser;
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Runs pinpatch with the given arguments; returns the exit code.
pub fn run(argv: impl IntoIterator<Item = OsString>) -> u8 {
    let args = match Args::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::SUCCESS
            };
            let _ = e.print();
            return code;
        }
    };
    match dispatch(args) {
        Ok(code) => code,
        Err(Failure { code, message }) => {
            eprintln!("pinpatch: {message}");
            code
        }
    }
}

struct Failure {
    code: u8,
    message: String,
}

fn fail(code: u8, message: impl std::fmt::Display) -> Failure {
    Failure {
        code,
        message: message.to_string(),
    }
}

fn load_rules(dir: Option<&std::path::Path>) -> Result<RulePack, Failure> {
    match dir {
        Some(d) => RulePack::load_dir(d).map_err(|e| fail(exit::RULES, e)),
        None => RulePack::builtin().map_err(|e| fail(exit::RULES, e)),
    }
}

fn run_pipeline(run: &RunArgs) -> Result<Outcome, Failure> {
    run_pipeline_keeping(run, None, None).map(|(outcome, _)| outcome)
}

/// Runs the pipeline, started from one file when `start` names it
/// (`Config::start`), with what an earlier run kept of the tree
/// (`pipeline::run_keeping`); returns what this one kept.
fn run_pipeline_keeping(
    run: &RunArgs,
    start: Option<&str>,
    kept: Option<pipeline::KeptTree>,
) -> Result<(Outcome, Option<pipeline::KeptTree>), Failure> {
    let pack = load_rules(run.rules.as_deref())?;
    let target = match run.target {
        TargetArg::Unpin => Target::Unpin,
        TargetArg::PutUserPage => Target::PutUserPage,
    };
    let policy = match run.policy {
        PolicyArg::Evidence => crate::engine::AcquirePolicy::Evidence,
        PolicyArg::All => crate::engine::AcquirePolicy::All,
    };
    let config = Config {
        path: run.path.clone(),
        target,
        policy,
        max_rounds: run.max_rounds,
        start: start.map(str::to_string),
        leave_out_settled: true,
    };
    let bar = (!run.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {pos}/{len} files {wide_bar} {elapsed}",
            )
            .expect("the template is valid"),
        );
        bar
    });
    let progress = |done: usize, total: usize| {
        if let Some(b) = &bar {
            b.set_length(total as u64);
            b.set_position(done as u64);
        }
    };
    // A path given to keep an index in must be one: it is checked before
    // the run. The index is read when the run reads the tree; one pinpatch
    // cannot use (another build's, cut short) is built again.
    let index = match &run.index {
        Some(path) => Some(pipeline::open_index(path, &pack).map_err(|e| fail(exit::OUTPUT, e))?),
        None => None,
    };
    // A run started from one file keeps what it read of the tree for the
    // run over the whole tree that may follow it (`explain`).
    let prior = pipeline::Prior {
        kept,
        index,
        keep: start.is_some(),
    };
    let outcome =
        pipeline::run_keeping(&config, &pack, &progress, prior).map_err(|e| fail(exit::INPUT, e));
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let (outcome, mut kept) = outcome?;
    if let (Some(path), Some(kept)) = (&run.index, &mut kept) {
        save_index(path, kept);
    }
    Ok((outcome, kept))
}

/// Writes the index of the tree a run recorded, when it differs from the
/// one the run read. The run's output does not depend on it: a failure is
/// a warning on standard error, and the next run builds it again.
fn save_index(path: &Path, kept: &mut pipeline::KeptTree) {
    let Some(records) = kept.unsaved_records() else {
        return;
    };
    match source::index::save(path, &records) {
        Ok(()) => kept.mark_saved(),
        Err(e) => eprintln!("pinpatch: index not written: {e}"),
    }
}

/// Reports skipped files on standard error; returns the exit code they imply.
fn report_skipped(outcome: &Outcome) -> u8 {
    for s in &outcome.skipped {
        eprintln!("pinpatch: skipped {}: {}", s.path, s.reason);
    }
    if outcome.skipped.is_empty() {
        exit::SUCCESS
    } else {
        exit::INPUT
    }
}

fn write_stdout(f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<(), Failure> {
    let stdout = std::io::stdout();
    let mut lock = std::io::BufWriter::new(stdout.lock());
    match f(&mut lock).and_then(|_| lock.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(fail(
            exit::OUTPUT,
            format!("cannot write to standard output: {e}"),
        )),
    }
}

/// Parses `Name <email>`.
fn parse_identity(text: &str) -> Option<crate::series::Identity> {
    let (name, rest) = text.split_once('<')?;
    let email = rest.strip_suffix('>')?.trim();
    let name = name.trim();
    (!name.is_empty() && email.contains('@')).then(|| crate::series::Identity {
        name: name.into(),
        email: email.into(),
    })
}

fn author_identity(series: &SeriesArgs) -> Result<crate::series::Identity, Failure> {
    match &series.author {
        Some(text) => parse_identity(text).ok_or_else(|| {
            fail(
                exit::USAGE,
                format!("--author {text:?}: expected \"Name <email>\""),
            )
        }),
        None => crate::series::Identity::from_git_config(&series.path).ok_or_else(|| {
            fail(
                exit::INPUT,
                "no author identity: set git config user.name and user.email, or pass --author",
            )
        }),
    }
}

/// Runs the pipeline and plans the series; the exit code reflects skipped input.
fn plan_series(series: &SeriesArgs) -> Result<(Vec<crate::series::Series>, u8), Failure> {
    let run = RunArgs {
        path: series.path.clone(),
        target: series.target,
        rules: series.rules.clone(),
        policy: series.policy,
        max_rounds: series.max_rounds,
        index: series.index.clone(),
        quiet: series.quiet,
    };
    let outcome = run_pipeline(&run)?;
    let code = report_skipped(&outcome);
    let maintainers = match crate::series::maintainers::Maintainers::load(&series.path) {
        Ok(m) => m,
        Err(e) => {
            let paths = outcome.files.iter().map(|f| f.rel_path.as_str());
            let (text, areas) = crate::series::fallback::path_sections(paths);
            eprintln!(
                "pinpatch: {e}: patches are grouped by top-level directory pair ({}), without recipients",
                if areas.is_empty() { "none".to_string() } else { areas.join(", ") }
            );
            crate::series::maintainers::Maintainers::parse(&[&text], "", &series.path)
        }
    };
    let tree = crate::series::SourceTree::open(&series.path, series.base.as_deref())
        .map_err(|e| fail(exit::INPUT, e))?;
    let signoff = if series.signoff {
        Some(author_identity(series)?)
    } else {
        None
    };
    let opts = crate::series::PlanOptions {
        target: outcome.target,
        signoff,
        ..crate::series::PlanOptions::default()
    };
    refuse_changed_base(&outcome, &tree)?;
    let pack = load_rules(series.rules.as_deref())?;
    let units = crate::series::from_outcome::units(&outcome, &pack);
    let manual = crate::series::from_outcome::manual_sites(&outcome, &units);
    let plan = crate::series::plan(&units, &manual, &tree, &maintainers, &opts)
        .map_err(|e| fail(exit::INPUT, e))?;
    check_plan_against_outcome(&plan, &outcome)?;
    Ok((plan, code))
}

/// The edits are byte offsets into the files as the pipeline read them;
/// the series and branches apply them to the base (the commit, or the files
/// on disk outside git). When a file to be changed differs from its base,
/// nothing is published.
fn refuse_changed_base(outcome: &Outcome, tree: &crate::series::SourceTree) -> Result<(), Failure> {
    for f in outcome.files.iter().filter(|f| f.changed()) {
        let same = tree
            .read(&f.rel_path)
            .is_ok_and(|(base, _)| base == f.before);
        if !same {
            return Err(fail(exit::INPUT, base_differs(&f.rel_path, tree)));
        }
    }
    Ok(())
}

fn base_differs(path: &str, tree: &crate::series::SourceTree) -> String {
    match tree.base_commit() {
        Some(c) => format!(
            "{path}: the work tree differs from the base commit {}; pinpatch analyses the work tree, so commit or stash the change first",
            &c[..12.min(c.len())]
        ),
        None => format!("{path}: changed on disk while pinpatch ran; run it again"),
    }
}

/// Checks the planned series against the pipeline's own result: every
/// patched file starts from the bytes the pipeline analysed.
fn check_plan_against_outcome(
    plan: &[crate::series::Series],
    outcome: &Outcome,
) -> Result<(), Failure> {
    let analysed: std::collections::BTreeMap<&str, &[u8]> = outcome
        .files
        .iter()
        .map(|f| (f.rel_path.as_str(), f.before.as_slice()))
        .collect();
    for s in plan {
        for p in &s.patches {
            for f in &p.files {
                if analysed.get(f.path.as_str()) != Some(&f.before.as_slice()) {
                    return Err(fail(
                        exit::INPUT,
                        format!(
                            "{}: the series would not start from the analysed file",
                            f.path
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// `commit` needs the top of a non-bare repository whose base is a commit.
fn check_commit_repository(series: &SeriesArgs) -> Result<(), Failure> {
    let path = series.path.display();
    let repo = git2::Repository::open(&series.path).map_err(|_| {
        fail(
            exit::INPUT,
            format!("{path}: not the top of a git repository"),
        )
    })?;
    if repo.is_bare() {
        return Err(fail(
            exit::INPUT,
            format!("{path}: a bare repository; pinpatch commit analyses a work tree, run it at the top of one"),
        ));
    }
    let unborn = matches!(repo.head(), Err(e) if e.code() == git2::ErrorCode::UnbornBranch);
    if series.base.is_none() && unborn {
        return Err(fail(
            exit::INPUT,
            format!("{path}: HEAD has no commit yet; commit the tree first or pass --base"),
        ));
    }
    let rev = series.base.as_deref().unwrap_or("HEAD");
    if let Err(e) = repo.revparse_single(rev).and_then(|o| o.peel_to_commit()) {
        return Err(fail(
            exit::INPUT,
            format!("{path}: no commit {rev}: {}", e.message()),
        ));
    }
    Ok(())
}

fn dispatch(args: Args) -> Result<u8, Failure> {
    match args.command {
        Command::Diff(run) => {
            let outcome = run_pipeline(&run)?;
            write_stdout(|out| sink::print::write_diff(out, &outcome))?;
            eprintln!("{}", sink::print::summary_line(&outcome));
            Ok(report_skipped(&outcome))
        }
        Command::Apply(run) => apply(&run),
        Command::Report { run, format } => {
            let outcome = run_pipeline(&run)?;
            write_stdout(|out| match format {
                Format::Text => sink::print::write_report_text(out, &outcome),
                Format::Json => sink::print::write_report_json(out, &outcome),
            })?;
            Ok(report_skipped(&outcome))
        }
        Command::Series {
            series,
            out,
            dry_run,
        } => write_series(&series, out, dry_run),
        Command::Commit { series } => commit(&series),
        Command::Check {
            run,
            baseline,
            write_baseline,
        } => check(&run, baseline, write_baseline),
        Command::Explain {
            location,
            root,
            target,
            policy,
            rules,
            index,
        } => explain_site(&location, root, target, policy, rules, index),
        Command::TestRules { dir } => test_rules(dir),
        Command::Rules { rules } => list_rules(rules.as_deref()),
    }
}

/// `apply`: writes the changes, the files of a flow together, until a signal.
fn apply(run: &RunArgs) -> Result<u8, Failure> {
    let outcome = run_pipeline(run)?;
    let guard = interrupt::Guard::install();
    let (removed, not_removed) = sink::files::remove_stale(&outcome);
    for r in &removed {
        eprintln!("pinpatch: removed {r}, a temporary file an interrupted run left");
    }
    for (r, why) in &not_removed {
        eprintln!("pinpatch: cannot remove {r}, a temporary file an interrupted run left: {why}");
    }
    let applied = sink::files::apply_until(&outcome, &|| guard.interrupted())
        .map_err(|e| fail(exit::OUTPUT, e))?;
    eprintln!("{}", sink::print::summary_line(&outcome));
    for h in &applied.held_back {
        eprintln!("pinpatch: {}: {}", h.path, h.reason);
    }
    if applied.left > 0 {
        report_skipped(&outcome);
        return Err(fail(
            exit::INTERRUPTED,
            format!(
                "interrupted: {} files written, {} left as they were",
                applied.written, applied.left
            ),
        ));
    }
    eprintln!("pinpatch: {} files written", applied.written);
    let code = report_skipped(&outcome);
    Ok(if applied.held_back.is_empty() {
        code
    } else {
        exit::INPUT
    })
}

/// `series`: the plan, or the series written as mbox files.
fn write_series(series: &SeriesArgs, out: Option<PathBuf>, dry_run: bool) -> Result<u8, Failure> {
    let (plan, code) = plan_series(series)?;
    if dry_run {
        write_stdout(|w| w.write_all(crate::series::render_plan(&plan).as_bytes()))?;
        return Ok(code);
    }
    let out = out.expect("clap requires --out without --dry-run");
    sink::mbox::refuse_overlap(&out, &series.path).map_err(|e| fail(exit::OUTPUT, e))?;
    for stale in sink::mbox::remove_stale_staging(&out) {
        eprintln!(
            "pinpatch: removed {}, a staging directory an interrupted run left",
            stale.display()
        );
    }
    let author = author_identity(series)?;
    let tree = crate::series::SourceTree::open(&series.path, series.base.as_deref())
        .map_err(|e| fail(exit::INPUT, e))?;
    let date = sink::git::fixed_time(
        std::env::var("SOURCE_DATE_EPOCH").ok().as_deref(),
        tree.base_time(),
    );
    let opts = sink::mbox::MboxOptions {
        author,
        date,
        force: series.force,
    };
    let guard = interrupt::Guard::install();
    let written = sink::mbox::write_series_until(&plan, &out, &opts, &|| guard.interrupted())
        .map_err(|e| match e {
            sink::mbox::MboxError::Interrupted(_) => fail(exit::INTERRUPTED, e),
            _ => fail(exit::OUTPUT, e),
        })?;
    for p in &written {
        println!("{}", p.display());
    }
    eprintln!(
        "pinpatch: {} series, {} files written to {}",
        plan.len(),
        written.len(),
        out.display()
    );
    Ok(code)
}

/// `commit`: the series as branches, HEAD, the index and the work tree untouched.
fn commit(series: &SeriesArgs) -> Result<u8, Failure> {
    check_commit_repository(series)?;
    let (plan, code) = plan_series(series)?;
    let tree = crate::series::SourceTree::open(&series.path, series.base.as_deref())
        .map_err(|e| fail(exit::INPUT, e))?;
    let author = match &series.author {
        Some(_) => Some(author_identity(series)?),
        None => None,
    };
    let opts = sink::git::GitOptions {
        base: series.base.clone(),
        author,
        time: sink::git::fixed_time(
            std::env::var("SOURCE_DATE_EPOCH").ok().as_deref(),
            tree.base_time(),
        ),
        force: series.force,
        prefix: "pinpatch/".into(),
    };
    // Branches are created all or none; a signal waits for the end.
    let _guard = interrupt::Guard::install();
    let created = sink::git::create_branches(&series.path, &plan, &opts)
        .map_err(|e| fail(exit::OUTPUT, e))?;
    for b in &created {
        println!("{} {}", b.tip, b.refname.trim_start_matches("refs/heads/"));
    }
    Ok(code)
}

/// `check`: the findings not in the baseline, or a new baseline.
fn check(
    run: &RunArgs,
    baseline: Option<PathBuf>,
    write_baseline: Option<PathBuf>,
) -> Result<u8, Failure> {
    let outcome = run_pipeline(run)?;
    let skipped = report_skipped(&outcome);
    let findings = sink::print::check_findings(&outcome);
    if let Some(path) = write_baseline {
        let text: String = findings.iter().map(|f| format!("{}\n", f.key)).collect();
        sink::files::write_new(&path, text.as_bytes())
            .map_err(|e| fail(exit::OUTPUT, format!("{}: {e}", path.display())))?;
        eprintln!(
            "pinpatch: {} findings recorded in {}",
            findings.len(),
            path.display()
        );
        return Ok(skipped);
    }
    let known: std::collections::BTreeSet<String> = match &baseline {
        Some(path) => crate::source::read_regular_text(path)
            .map_err(|e| fail(exit::INPUT, format!("{}: cannot read: {e}", path.display())))?
            .lines()
            .map(str::to_string)
            .collect(),
        None => Default::default(),
    };
    let new: Vec<_> = findings
        .iter()
        .filter(|f| !known.contains(&f.key))
        .collect();
    write_stdout(|out| {
        for f in &new {
            writeln!(out, "{}", f.line)?;
        }
        Ok(())
    })?;
    eprintln!(
        "pinpatch: {} findings, {} not in the baseline",
        findings.len(),
        new.len()
    );
    Ok(if !new.is_empty() {
        exit::FINDINGS
    } else {
        skipped
    })
}

/// `explain`: the flow of the site at `location`, from its file first.
fn explain_site(
    location: &str,
    root: PathBuf,
    target: TargetArg,
    policy: PolicyArg,
    rules: Option<PathBuf>,
    index: Option<PathBuf>,
) -> Result<u8, Failure> {
    let Some((file, line)) = location
        .rsplit_once(':')
        .and_then(|(f, l)| l.parse::<usize>().ok().map(|l| (f.to_string(), l)))
    else {
        return Err(fail(exit::USAGE, format!("{location}: expected FILE:LINE")));
    };
    let run = RunArgs {
        path: root,
        target,
        rules,
        policy,
        max_rounds: crate::pipeline::MAX_ROUNDS,
        index,
        quiet: true,
    };
    // Started from the site's file, the rounds read what its flow
    // needs, as in a run over the whole tree; the answer stands when
    // every site on the line is in a flow (or is an acquire, which
    // starts one) and the rounds did not run out. Otherwise the whole
    // tree is analysed, with the word filters the first run built.
    let (started, kept) = run_pipeline_keeping(&run, Some(&file), None)?;
    let text = match sink::print::settled_from_start(&started, &file, line) {
        true => sink::print::explain(&started, &file, line),
        false => {
            drop(started);
            let (whole, _) = run_pipeline_keeping(&run, None, kept)?;
            sink::print::explain(&whole, &file, line)
        }
    };
    match text {
        Some(t) => {
            write_stdout(|out| out.write_all(t.as_bytes()))?;
            Ok(exit::SUCCESS)
        }
        None => Err(fail(
            exit::INPUT,
            format!("{file}:{line}: no acquire or release site pinpatch recognises on this line"),
        )),
    }
}

/// `test-rules`: the examples of each rule pack, as a table.
fn test_rules(dir: Option<PathBuf>) -> Result<u8, Failure> {
    let packs = match dir {
        None => vec![load_rules(None)?],
        Some(d) => crate::rule::RulePack::load_packs(&d).map_err(|e| fail(exit::RULES, e))?,
    };
    let results: Vec<_> = packs.iter().flat_map(crate::ruletest::run_pack).collect();
    write_stdout(|out| crate::ruletest::write_table(out, &results))?;
    Ok(if results.iter().all(|r| r.passed()) {
        exit::SUCCESS
    } else {
        exit::FINDINGS
    })
}

/// `rules`: the rules of the pack, one a line.
fn list_rules(rules: Option<&Path>) -> Result<u8, Failure> {
    let pack = load_rules(rules)?;
    write_stdout(|out| {
        for r in &pack.rules {
            writeln!(out, "{} ({:?}): {}", r.id, r.kind, r.title)?;
        }
        Ok(())
    })?;
    Ok(exit::SUCCESS)
}
