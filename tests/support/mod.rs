//! Test helpers: one `check_*` function per layer, each returning the text a
//! reviewer reads (diffs, reports) after asserting the invariants every
//! rewrite must keep.

#![allow(dead_code)] // Each test module uses its own subset of the helpers.

use pinpatch::engine::AcquirePolicy;
use pinpatch::engine::SiteKind;
use pinpatch::pipeline::{self, Config, Outcome, Prior};
use pinpatch::rewrite::verify::error_count;
use pinpatch::rule::{RulePack, Target};
use pinpatch::sink::print::{self, write_diff, write_report_text};
use pinpatch::source::index;
use std::path::Path;
use std::process::{Command, Output};

pub const TARGETS: [Target; 2] = [Target::Unpin, Target::PutUserPage];

/// Runs the pipeline quietly.
pub fn run(path: &Path, pack: &RulePack, target: Target) -> Outcome {
    run_with(path, pack, target, AcquirePolicy::Evidence)
}

pub fn run_with(path: &Path, pack: &RulePack, target: Target, policy: AcquirePolicy) -> Outcome {
    let config = Config {
        policy,
        ..config_of(path, target)
    };
    pipeline::run(&config, pack, &|_, _| {}).expect("the fixture path exists")
}

/// A run over the whole tree at `path`, as the command line makes it with
/// the default options.
pub fn config_of(path: &Path, target: Target) -> Config {
    Config {
        path: path.to_path_buf(),
        target,
        policy: AcquirePolicy::Evidence,
        max_rounds: pinpatch::pipeline::MAX_ROUNDS,
        start: None,
        leave_out_settled: true,
    }
}

pub fn diff_text(outcome: &Outcome) -> String {
    let mut out = Vec::new();
    write_diff(&mut out, outcome).unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

pub fn report_text(outcome: &Outcome) -> String {
    let mut out = Vec::new();
    write_report_text(&mut out, outcome).unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

/// Copies a file or a directory tree into `dest`.
pub fn copy_tree(from: &Path, dest: &Path) {
    if from.is_file() {
        std::fs::copy(from, dest.join(from.file_name().unwrap())).unwrap();
        return;
    }
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = dest.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Asserts the rewrite invariants on an outcome whose files live in `dir`:
/// every rewritten file parses with no new errors, the emitted diff applies
/// with `git apply` and reproduces the rewritten bytes exactly, and a second
/// run over the rewritten files changes nothing.
#[track_caller]
pub fn assert_invariants(dir: &Path, outcome: &Outcome, pack: &RulePack, target: Target) {
    for f in outcome.files.iter().filter(|f| f.changed()) {
        let before = error_count(&f.before).unwrap();
        let after = error_count(&f.after).unwrap();
        assert!(
            after <= before,
            "{}: the rewrite adds parse errors ({before} -> {after})",
            f.rel_path
        );
    }
    let diff = {
        let mut out = Vec::new();
        write_diff(&mut out, outcome).unwrap();
        out
    };
    if diff.is_empty() {
        return;
    }
    // git apply on a copy of the originals reproduces the rewritten files.
    let applied = tempfile::tempdir().unwrap();
    copy_tree(dir, applied.path());
    std::fs::write(applied.path().join("change.diff"), &diff).unwrap();
    let status = Command::new("git")
        .args(["apply", "--unsafe-paths", "change.diff"])
        .current_dir(applied.path())
        .status()
        .expect("git is installed");
    assert!(
        status.success(),
        "git apply rejected the diff:\n{}",
        String::from_utf8_lossy(&diff)
    );
    for f in outcome.files.iter().filter(|f| f.changed()) {
        let got = std::fs::read(applied.path().join(&f.rel_path)).unwrap();
        assert!(
            got == f.after,
            "{}: git apply does not reproduce the rewritten file",
            f.rel_path
        );
    }
    // A second run over the rewritten tree changes nothing.
    std::fs::remove_file(applied.path().join("change.diff")).unwrap();
    let again = run(applied.path(), pack, target);
    let second = diff_text(&again);
    assert!(second.is_empty(), "a second run still changes:\n{second}");
}

/// Runs a fixture (a `.c` file) for both targets and returns the snapshot
/// text: the diff and the report of each.
#[track_caller]
pub fn check_fixture(path: &Path) -> String {
    let pack = RulePack::builtin().unwrap();
    let mut snapshot = String::new();
    // The unpin target with every convertible acquire pinned: the diff, when
    // it differs from the evidence policy's.
    let all = {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(path, dir.path());
        let outcome = run_with(dir.path(), &pack, Target::Unpin, AcquirePolicy::All);
        assert_invariants(dir.path(), &outcome, &pack, Target::Unpin);
        diff_text(&outcome)
    };
    for target in TARGETS {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(path, dir.path());
        let outcome = run(dir.path(), &pack, target);
        assert_invariants(dir.path(), &outcome, &pack, target);
        assert_explain_from_start(dir.path(), &outcome, &pack, target);
        assert_settled_flows_change_nothing(dir.path(), &outcome, &pack, target);
        assert_index_agrees(dir.path(), &outcome, &pack, target);
        snapshot.push_str(&format!("=== target {}: diff\n", target.name()));
        snapshot.push_str(&diff_text(&outcome).replace('\r', "\\r"));
        snapshot.push_str(&format!("=== target {}: report\n", target.name()));
        snapshot.push_str(&report_text(&outcome));
        if target == Target::Unpin {
            snapshot.push_str("=== target unpin, --policy all: diff\n");
            if all == diff_text(&outcome) {
                snapshot.push_str("(same as with --policy evidence)\n");
            } else {
                snapshot.push_str(&all.replace('\r', "\\r"));
            }
        }
    }
    snapshot
}

/// A run whose every round analyses every flow, as the rounds did before
/// they left out the flows earlier rounds settled, gives the same outcome.
/// A run of one round leaves out nothing.
pub fn assert_settled_flows_change_nothing(
    dir: &Path,
    outcome: &Outcome,
    pack: &RulePack,
    target: Target,
) {
    if outcome.stats.rounds < 2 {
        return;
    }
    let config = Config {
        leave_out_settled: false,
        ..config_of(dir, target)
    };
    let every_flow = pipeline::run(&config, pack, &|_, _| {}).unwrap();
    assert_eq!(
        (diff_text(&every_flow), report_text(&every_flow)),
        (diff_text(outcome), report_text(outcome)),
        "every flow analysed in every round gives another outcome"
    );
}

/// `explain` of every acquire site, started from its file
/// (`Config::start`), says what the run over the whole tree says whenever it
/// takes that answer as settled; and a run over the whole tree given the
/// word filters the run from the file built (as `explain` runs the tree
/// when that answer is not settled) gives the whole tree's outcome.
pub fn assert_explain_from_start(dir: &Path, outcome: &Outcome, pack: &RulePack, target: Target) {
    for f in &outcome.files {
        for site in f
            .findings
            .sites
            .iter()
            .filter(|s| s.kind == SiteKind::Acquire)
        {
            let config = Config {
                start: Some(f.rel_path.clone()),
                ..config_of(dir, target)
            };
            let (started, kept) =
                pipeline::run_keeping(&config, pack, &|_, _| {}, Prior::default()).unwrap();
            if kept.is_some() {
                let whole = Config {
                    start: None,
                    ..config.clone()
                };
                let prior = Prior {
                    kept,
                    ..Prior::default()
                };
                let (again, _) = pipeline::run_keeping(&whole, pack, &|_, _| {}, prior).unwrap();
                assert_eq!(
                    (diff_text(&again), report_text(&again)),
                    (diff_text(outcome), report_text(outcome)),
                    "{}: the whole tree with the filters kept from its file differs",
                    f.rel_path
                );
            }
            assert!(
                print::settled_from_start(&started, &f.rel_path, site.line),
                "{}:{}: an acquire is settled from its own file",
                f.rel_path,
                site.line
            );
            assert_same_explain(&started, outcome, &f.rel_path, site.line, "");
        }
    }
}

/// `explain` of `rel:line` from a run started from its file (`started`)
/// says what the whole tree's run says.
#[track_caller]
fn assert_same_explain(started: &Outcome, whole: &Outcome, rel: &str, line: usize, how: &str) {
    assert_eq!(
        print::explain(started, rel, line),
        print::explain(whole, rel, line),
        "{rel}:{line}: explain from the file{how} differs from the whole tree",
    );
}

/// A run that records an index of the tree, a run that reads it, and
/// `explain` from each acquire's file with it, give what a run without an
/// index gives; a run over the unchanged tree leaves the index as it was.
/// The fixture's files were just written, so the index is saved as if the
/// run had begun later (their times settled, `index::SETTLE_SECONDS`).
pub fn assert_index_agrees(dir: &Path, outcome: &Outcome, pack: &RulePack, target: Target) {
    let expected = (diff_text(outcome), report_text(outcome));
    let config = config_of(dir, target);
    let place = tempfile::tempdir().unwrap();
    let path = place.path().join("tree.index");
    let open = || pipeline::open_index(&path, pack).unwrap();
    let indexed = || Prior {
        index: Some(open()),
        ..Prior::default()
    };
    let (first, kept) = pipeline::run_keeping(&config, pack, &|_, _| {}, indexed()).unwrap();
    assert_eq!((diff_text(&first), report_text(&first)), expected);
    let kept = kept.expect("a run over the tree keeps its filters");
    let mut records = kept
        .unsaved_records()
        .expect("a first run records the tree");
    records.began.0 += 10;
    index::save(&path, &records).unwrap();
    let loaded = open().load();
    assert_eq!(
        loaded.expect("the index just written").len(),
        records.records.iter().flatten().count()
    );
    let (second, kept) = pipeline::run_keeping(&config, pack, &|_, _| {}, indexed()).unwrap();
    assert_eq!(
        (diff_text(&second), report_text(&second)),
        expected,
        "the run with the index differs"
    );
    // Nothing to write: the filters went with the last search, or they
    // are kept with no record changed.
    assert!(
        kept.is_none_or(|k| k.unsaved_records().is_none()),
        "a run over the unchanged tree changes the index"
    );
    for f in &outcome.files {
        for site in (f.findings.sites.iter()).filter(|s| s.kind == SiteKind::Acquire) {
            let from_file = Config {
                start: Some(f.rel_path.clone()),
                ..config.clone()
            };
            let (started, _) =
                pipeline::run_keeping(&from_file, pack, &|_, _| {}, indexed()).unwrap();
            assert_same_explain(&started, outcome, &f.rel_path, site.line, " with the index");
        }
    }
}

/// Runs one C text through a pack for a target and returns the rewritten text.
#[track_caller]
pub fn check_rewrite(pack: &RulePack, target: Target, before: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("example.c"), before).unwrap();
    let outcome = run(dir.path(), pack, target);
    assert_invariants(dir.path(), &outcome, pack, target);
    match outcome.files.first() {
        Some(f) => String::from_utf8(f.after.clone()).unwrap(),
        None => before.to_string(),
    }
}

/// Runs the pinpatch binary in `cwd`.
pub fn pinpatch(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pinpatch"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

/// A command's standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts that no temporary file or directory of pinpatch is left below `dir`.
#[track_caller]
pub fn assert_no_temporaries(dir: &Path) {
    for entry in walk(dir) {
        let name = entry.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !name.contains(".pinpatch-"),
            "temporary left behind: {}",
            entry.display()
        );
    }
}

/// Every path below `dir`, without following links.
pub fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                todo.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}

/// Whether the tests run as root (which reads any file and may change
/// file attributes).
pub fn is_root() -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
    }
    #[cfg(not(unix))]
    false
}

/// Runs git in `dir` with a fixed identity and default branch; returns its
/// standard output.
#[track_caller]
pub fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .args(["-c", "user.name=T", "-c", "user.email=t@example.org"])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=master",
        ])
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .output()
        .unwrap();
    assert!(o.status.success(), "git {args:?}: {}", stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}
