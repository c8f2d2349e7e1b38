//! Bad input and failed writes never damage a tree: each case runs the
//! binary (or a sink) on one bad input next to a good file, and asserts the
//! exact exit code and message, that the good file was still converted, and
//! that nothing half-written is left behind.

use crate::support::{assert_no_temporaries, git, is_root, pinpatch, stderr};
use pinpatch::rule::{RulePack, Target};
use std::path::Path;
use std::process::Command;

const GOOD: &str = "static void f(unsigned long a)\n{\n\tstruct page *p;\n\n\tif (get_user_pages_fast(a, 1, FOLL_WRITE, &p) == 1) {\n\t\tset_page_dirty_lock(p);\n\t\tflush_dcache_page(p);\n\t\tput_page(p);\n\t}\n}\n";

/// GOOD as `apply` leaves it.
fn converted(text: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(text).into_owned();
    assert!(text.is_ascii() || !text.contains('\u{fffd}'));
    text.replace("get_user_pages_fast(", "pin_user_pages_fast(")
        .replace("put_page(", "unpin_user_page(")
        .into_bytes()
}

/// Replaces ASCII `from` by `to` in bytes that need not be UTF-8.
fn replace_bytes(text: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if text[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    out
}

fn convert_bytes(text: &[u8]) -> Vec<u8> {
    let t = replace_bytes(text, b"get_user_pages_fast(", b"pin_user_pages_fast(");
    replace_bytes(&t, b"put_page(", b"unpin_user_page(")
}

/// A directory with `good.c` and one more file.
fn tree_with(name: &str, bytes: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.c"), GOOD).unwrap();
    if let Some(parent) = Path::new(name).parent() {
        std::fs::create_dir_all(dir.path().join(parent)).unwrap();
    }
    std::fs::write(dir.path().join(name), bytes).unwrap();
    dir
}

/// Asserts that `good.c` of `dir` was converted and no temporary file is left.
#[track_caller]
fn assert_good_converted(dir: &Path) {
    assert_eq!(
        std::fs::read(dir.join("good.c")).unwrap(),
        converted(GOOD.as_bytes())
    );
    assert_no_temporaries(dir);
}

/// Runs `apply` and checks that `name` ends as `expected`, byte for byte.
#[track_caller]
fn apply_converts(name: &str, before: &[u8], expected: &[u8]) {
    let dir = tree_with(name, before);
    let o = pinpatch(&["apply", "--quiet", "."], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).ends_with("pinpatch: 2 files written\n"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(dir.path().join(name)).unwrap(), expected);
    assert_good_converted(dir.path());
}

#[test]
fn latin1_and_invalid_utf8_bytes_are_kept_byte_for_byte() {
    let before = b"/* caf\xe9, \xff\xfe */\nstatic void g(unsigned long a)\n{\n\tstruct page *p; /* r\xe9f */\n\n\tif (get_user_pages_fast(a, 1, FOLL_LONGTERM, &p) == 1)\n\t\tput_page(p); /* \xc3\x28 */\n}\n";
    apply_converts("latin1.c", before, &convert_bytes(before));
}

#[test]
fn crlf_mixed_endings_and_no_final_newline_are_kept() {
    let before = b"static void g(unsigned long a)\r\n{\r\n\tstruct page *p;\n\r\n\tif (get_user_pages_fast(a, 1, FOLL_LONGTERM, &p) == 1)\r\n\t\tput_page(p);\n}";
    apply_converts("crlf.c", before, &convert_bytes(before));
}

#[test]
fn a_very_long_line_is_read() {
    let mut before = format!(
        "static int table[] = {{ {} }};\n",
        vec!["1"; 200_000].join(", ")
    )
    .into_bytes();
    before.extend_from_slice(GOOD.replace("f(", "g(").as_bytes());
    // A whole function on one line, too.
    before.extend_from_slice(
        GOOD.replace("f(", "h(")
            .replace(['\n', '\t'], " ")
            .as_bytes(),
    );
    before.push(b'\n');
    apply_converts("long.c", &before, &convert_bytes(&before));
}

#[test]
fn empty_file_is_read_and_left_alone() {
    let dir = tree_with("empty.c", b"");
    let o = pinpatch(&["apply", "--quiet", "."], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).ends_with(" 1 files written\n"), "{}", stderr(&o));
    assert_eq!(std::fs::read(dir.path().join("empty.c")).unwrap(), b"");
    assert_good_converted(dir.path());
}

#[test]
fn binary_file_is_skipped_and_never_written() {
    let bytes = b"get_user_pages_fast(put_page\0\x01\x02\xff binary";
    let dir = tree_with("blob.c", bytes);
    let o = pinpatch(&["apply", "--quiet", "."], dir.path());
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).ends_with(
            "pinpatch: 1 files written\npinpatch: skipped blob.c: binary file (holds NUL bytes)\n"
        ),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(dir.path().join("blob.c")).unwrap(), bytes);
    assert_good_converted(dir.path());
}

/// A generated file of 4 MB of small functions with two conversions, one at
/// each end; it takes a few seconds in a debug build. The 10 MB files (the
/// same shape, and one made only of conversions, 89,000 units) are run on
/// the release build by `bench/robustness.sh`, which prints the times.
#[test]
fn multi_megabyte_file() {
    let mut text = GOOD.replace("f(", "first(");
    let mut n = 0;
    while text.len() < 4 * 1024 * 1024 {
        text.push_str(&format!(
            "\nstatic int filler{n}(int a)\n{{\n\tint b = a * 2 + {n};\n\n\tif (b > 10)\n\t\treturn b - 1;\n\treturn b;\n}}\n"
        ));
        n += 1;
    }
    text.push('\n');
    text.push_str(&GOOD.replace("f(", "last("));
    let expected = converted(text.as_bytes());
    apply_converts("big.c", text.as_bytes(), &expected);
}

#[test]
fn deep_nesting_skips_the_function_without_overflowing() {
    let deep = |open: &str, close: &str| {
        GOOD.replace("f(", "deep(").replace(
            "put_page(p);",
            &format!(
                "put_page({}p{});",
                open.repeat(50_000),
                close.repeat(50_000)
            ),
        )
    };
    let text = format!(
        "{}{}{}",
        deep("(", ")"),
        deep("*&", "").replace("deep(", "deeper("),
        GOOD.replace("f(", "shallow(")
    );
    let dir = tree_with("deep.c", text.as_bytes());
    let o = pinpatch(&["report", "--quiet", "deep.c"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.starts_with(
            "deep.c:1: skipped deep(): nested deeper than 512 levels\ndeep.c:11: skipped deeper(): nested deeper than 512 levels\ndeep.c:25: acquire get_user_pages_fast(a, 1, FOLL_WRITE, &p) in shallow() [easy] ->\n    pin_user_pages_fast(a, 1, FOLL_WRITE, &p) (releases: deep.c:28)\n"
        ),
        "{}",
        &out[..out.len().min(2000)]
    );
    // Plus, minus and brace chains as well, through the whole pipeline.
    let chains = [
        GOOD.replace(
            "put_page(p)",
            &format!("put_page(p{})", "+p".repeat(50_000)),
        ),
        GOOD.replace(
            "put_page(p);",
            &format!("{}put_page(p);{}", "{".repeat(50_000), "}".repeat(50_000)),
        ),
    ];
    for (i, c) in chains.iter().enumerate() {
        std::fs::write(dir.path().join(format!("chain{i}.c")), c).unwrap();
    }
    let o = pinpatch(&["apply", "--quiet", "."], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).ends_with("pinpatch: 2 files written\n"),
        "{}",
        stderr(&o)
    );
    assert_good_converted(dir.path());
}

#[cfg(unix)]
#[test]
fn symbolic_link_loops_are_not_followed() {
    let dir = tree_with("sub/x.h", b"int x;\n");
    let d = dir.path();
    std::os::unix::fs::symlink("loop2.c", d.join("loop1.c")).unwrap();
    std::os::unix::fs::symlink("loop1.c", d.join("loop2.c")).unwrap();
    std::os::unix::fs::symlink("..", d.join("sub/up")).unwrap();
    std::os::unix::fs::symlink("nowhere.c", d.join("dangling.c")).unwrap();
    // Links that lead nowhere are reported; the link back up the tree
    // (`sub/up`) is not followed and not reported.
    let o = pinpatch(&["apply", "--quiet", "."], d);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with("summary: 2 files scanned, 1 parsed,"),
        "{err}"
    );
    assert!(
        err.ends_with(
            "pinpatch: 1 files written\n\
             pinpatch: skipped dangling.c: symbolic link that does not resolve (No such file or directory (os error 2)); not followed\n\
             pinpatch: skipped loop1.c: symbolic link that does not resolve (Too many levels of symbolic links (os error 40)); not followed\n\
             pinpatch: skipped loop2.c: symbolic link that does not resolve (Too many levels of symbolic links (os error 40)); not followed\n"
        ),
        "{err}"
    );
    assert_good_converted(d);
    // A loop given as PATH is an input error that names it.
    let o = pinpatch(&["diff", "loop1.c"], d);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(
        stderr(&o),
        "pinpatch: loop1.c: cannot read: Too many levels of symbolic links (os error 40)\n"
    );
}

#[test]
fn missing_path_is_an_input_error_and_writes_nothing() {
    let dir = tree_with("other.c", GOOD.as_bytes());
    let o = pinpatch(&["apply", "no/such.c"], dir.path());
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(
        stderr(&o),
        "pinpatch: no/such.c: no such file or directory\n"
    );
    assert_eq!(
        std::fs::read(dir.path().join("good.c")).unwrap(),
        GOOD.as_bytes()
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_is_never_opened() {
    let dir = tree_with("x.h", b"");
    let status = Command::new("mkfifo")
        .arg(dir.path().join("pipe.c"))
        .status()
        .unwrap();
    assert!(status.success());
    // Inside a tree it is not a regular file, so it is not read.
    let o = pinpatch(&["apply", "--quiet", "."], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_good_converted(dir.path());
    // As PATH it is refused rather than read (which would block).
    let o = pinpatch(&["diff", "pipe.c"], dir.path());
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(
        stderr(&o),
        "pinpatch: pipe.c: not a regular file or a directory\n"
    );
}

#[cfg(unix)]
#[test]
fn unreadable_files_and_directories_are_skipped() {
    use std::os::unix::fs::PermissionsExt;
    // What does not depend on permissions: the reason a read fails is
    // reported with the file's path.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("d.c")).unwrap();
    let err = pinpatch::source::read(dir.path(), "d.c").unwrap_err();
    assert_eq!(err.path, "d.c");
    assert_eq!(err.reason, "cannot read: Is a directory (os error 21)");
    if is_root() {
        eprintln!(
            "unreadable_files_and_directories_are_skipped: running as root, which \
             reads files whatever their mode; the chmod part is skipped"
        );
        return;
    }
    let dir = tree_with("locked.c", GOOD.as_bytes());
    std::fs::create_dir(dir.path().join("closed")).unwrap();
    std::fs::write(dir.path().join("closed/y.c"), GOOD).unwrap();
    let mode = |p: &str, m: u32| {
        std::fs::set_permissions(dir.path().join(p), std::fs::Permissions::from_mode(m)).unwrap()
    };
    mode("locked.c", 0o000);
    mode("closed", 0o000);
    let o = pinpatch(&["apply", "--quiet", "."], dir.path());
    mode("locked.c", 0o644);
    mode("closed", 0o755);
    assert_eq!(o.status.code(), Some(3));
    let err = stderr(&o);
    assert!(
        err.contains("pinpatch: skipped closed: cannot read: Permission denied (os error 13)\n"),
        "{err}"
    );
    assert!(
        err.contains("pinpatch: skipped locked.c: cannot read: Permission denied (os error 13)\n"),
        "{err}"
    );
    assert_good_converted(dir.path());
}

#[track_caller]
fn assert_rule_error(rule: &[u8], message: &str) {
    let dir = tree_with("rules/bad.toml", rule);
    let o = pinpatch(&["apply", "--rules", "rules", "."], dir.path());
    assert_eq!(o.status.code(), Some(4));
    assert_eq!(stderr(&o), format!("pinpatch: {message}\n"));
    assert_eq!(
        std::fs::read(dir.path().join("good.c")).unwrap(),
        GOOD.as_bytes()
    );
}

const RULE_HEAD: &str = "id = \"bad\"\nkind = \"release\"\ntitle = \"bad\"\n[metavars]\npage = \"expression\"\n[release]\nfamily = \"put\"\npage = \"$page\"\n[[match]]\n";

#[test]
fn rule_with_a_toml_syntax_error() {
    assert_rule_error(
        b"id = \"x\"\nkind = \"release\"\n[[match]\n",
        "rules/bad.toml:3:9: unclosed array table, expected `]`",
    );
}

#[test]
fn rule_with_an_unknown_metavariable() {
    assert_rule_error(
        format!("{RULE_HEAD}pattern = \"put_page($pgae)\"\n").as_bytes(),
        "rules/bad.toml:10:21: unknown metavariable `$pgae`: declare it in [metavars]",
    );
}

#[test]
fn rule_whose_pattern_does_not_parse() {
    assert_rule_error(
        format!("{RULE_HEAD}pattern = \"put_page($page))) {{\"\n").as_bytes(),
        "rules/bad.toml:10:27: pattern: the snippet does not parse as C",
    );
}

#[test]
fn rule_file_that_is_not_utf8_or_missing() {
    assert_rule_error(b"id = \"\xff\"\n", "rules/bad.toml: not UTF-8 text");
    let dir = tree_with("x.h", b"");
    let o = pinpatch(&["diff", "--rules", "nowhere", "."], dir.path());
    assert_eq!(o.status.code(), Some(4));
    assert_eq!(stderr(&o), "pinpatch: nowhere: no such file or directory\n");
}

/// A small kernel-like tree: `n` drivers with one easy conversion each.
fn drivers_tree(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..n {
        let d = dir.path().join(format!("drivers/d{i:02}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("x.c"), GOOD).unwrap();
    }
    dir
}

#[test]
fn series_without_maintainers_groups_by_directory_pair() {
    let dir = drivers_tree(2);
    std::fs::create_dir_all(dir.path().join("mm")).unwrap();
    std::fs::write(dir.path().join("mm/gup.c"), GOOD).unwrap();
    let o = pinpatch(&["series", "--dry-run", "--quiet", "."], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "pinpatch: cannot read ./MAINTAINERS: No such file or directory (os error 2): \
         patches are grouped by top-level directory pair (drivers/d00, drivers/d01, mm), \
         without recipients\n"
    );
    let out = String::from_utf8(o.stdout).unwrap();
    let subsystems: Vec<&str> = out
        .lines()
        .filter_map(|l| l.trim().strip_prefix("subsystem: "))
        .collect();
    assert_eq!(subsystems, ["drivers/d00", "drivers/d01", "mm"], "{out}");
}

#[test]
fn commit_outside_a_git_repository() {
    let dir = tree_with("x.h", b"");
    let o = pinpatch(&["commit", "--quiet", "."], dir.path());
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(stderr(&o), "pinpatch: .: not the top of a git repository\n");
}

/// Sixteen drivers without MAINTAINERS make two series (`easy-1` of fifteen
/// patches, `easy-2` of one). A branch `pinpatch/easy-2/old` makes the
/// second branch impossible to create after the first was: the first is
/// removed again, and nothing else changes.
#[test]
fn commit_creates_all_branches_or_none() {
    let dir = drivers_tree(16);
    let d = dir.path();
    git(d, &["init", "-q"]);
    git(d, &["add", "-A"]);
    git(d, &["commit", "-qm", "base"]);
    git(d, &["branch", "pinpatch/easy-2/old"]);
    let refs_before = git(d, &["for-each-ref"]);
    let o = pinpatch(
        &["commit", "--quiet", "--author", "T <t@example.org>", "."],
        d,
    );
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("pinpatch: cannot read ./MAINTAINERS"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("\npinpatch: git: ") && stderr(&o).contains("pinpatch/easy-2"),
        "{}",
        stderr(&o)
    );
    assert_eq!(git(d, &["for-each-ref"]), refs_before);
    assert_eq!(git(d, &["status", "--porcelain"]), "");
    // Without the obstacle both branches are made.
    git(d, &["branch", "-D", "pinpatch/easy-2/old"]);
    let o = pinpatch(
        &["commit", "--quiet", "--author", "T <t@example.org>", "."],
        d,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        git(
            d,
            &["for-each-ref", "--format=%(refname)", "refs/heads/pinpatch"]
        ),
        "refs/heads/pinpatch/easy-1\nrefs/heads/pinpatch/easy-2\n"
    );
}

#[test]
fn series_output_that_cannot_be_written_leaves_nothing() {
    let dir = drivers_tree(1);
    std::fs::write(dir.path().join("out"), "a file, not a directory").unwrap();
    let o = pinpatch(
        &[
            "series",
            "--quiet",
            "--author",
            "T <t@example.org>",
            "--out",
            "out/s",
            ".",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).ends_with("pinpatch: out: File exists (os error 17)\n"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read(dir.path().join("out")).unwrap(),
        b"a file, not a directory"
    );
    assert_no_temporaries(dir.path());
    // An existing output is kept unless --force.
    std::fs::remove_file(dir.path().join("out")).unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let o = pinpatch(
        &[
            "series",
            "--quiet",
            "--author",
            "T <t@example.org>",
            "--out",
            "out",
            ".",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(5));
    assert!(
        stderr(&o).ends_with("pinpatch: out already exists; pass force to replace it\n"),
        "{}",
        stderr(&o)
    );
    assert_no_temporaries(dir.path());
}

fn outcome_of(dir: &Path) -> pinpatch::pipeline::Outcome {
    let pack = RulePack::builtin().unwrap();
    crate::support::run(dir, &pack, Target::Unpin)
}

/// A file that turns into a directory between analysis and writing is held
/// back and reported; the other files are written, and no temporary file is
/// left. (A write that fails outright is `hostile::a_failed_write_never_leaves_a_flow_half_converted`.)
#[test]
fn a_file_replaced_during_the_run_is_held_back() {
    let dir = drivers_tree(3);
    let outcome = outcome_of(dir.path());
    let second = dir.path().join("drivers/d01/x.c");
    std::fs::remove_file(&second).unwrap();
    std::fs::create_dir(&second).unwrap();
    std::fs::write(second.join("keep"), "").unwrap();
    let applied = pinpatch::sink::files::apply_until(&outcome, &|| false).unwrap();
    assert_eq!(applied.written, 2);
    assert_eq!(applied.held_back.len(), 1);
    assert_eq!(applied.held_back[0].path, "drivers/d01/x.c");
    assert_eq!(
        applied.held_back[0].reason,
        "not written: it is no longer a regular file"
    );
    assert_no_temporaries(dir.path());
    assert!(second.join("keep").is_file());
    for i in [0, 2] {
        let got = std::fs::read(dir.path().join(format!("drivers/d{i:02}/x.c"))).unwrap();
        assert_eq!(got, converted(GOOD.as_bytes()));
    }
}

#[test]
fn an_interrupt_stops_between_whole_files() {
    let dir = drivers_tree(3);
    let outcome = outcome_of(dir.path());
    let asked = std::cell::Cell::new(0);
    let stop = || {
        asked.set(asked.get() + 1);
        asked.get() > 2
    };
    let applied = pinpatch::sink::files::apply_until(&outcome, &stop).unwrap();
    assert_eq!(
        applied,
        pinpatch::sink::files::Applied {
            written: 2,
            left: 1,
            held_back: Vec::new(),
        }
    );
    let read = |i: usize| std::fs::read(dir.path().join(format!("drivers/d{i:02}/x.c"))).unwrap();
    assert_eq!(read(0), converted(GOOD.as_bytes()));
    assert_eq!(read(1), converted(GOOD.as_bytes()));
    assert_eq!(read(2), GOOD.as_bytes());
    assert_no_temporaries(dir.path());
}

#[test]
fn an_interrupted_series_leaves_no_output() {
    let dir = drivers_tree(2);
    let outcome = outcome_of(dir.path());
    let pack = pinpatch::rule::RulePack::builtin().unwrap();
    let units = pinpatch::series::from_outcome::units(&outcome, &pack);
    let tree = pinpatch::series::SourceTree::open(dir.path(), None).unwrap();
    let (text, _) = pinpatch::series::fallback::path_sections(
        outcome.files.iter().map(|f| f.rel_path.as_str()),
    );
    let m = pinpatch::series::maintainers::Maintainers::parse(&[&text], "", dir.path());
    let plan = pinpatch::series::plan(&units, &[], &tree, &m, &Default::default()).unwrap();
    let opts = pinpatch::sink::mbox::MboxOptions {
        author: pinpatch::series::Identity {
            name: "T".into(),
            email: "t@example.org".into(),
        },
        date: 0,
        force: false,
    };
    let out = dir.path().join("out");
    let asked = std::cell::Cell::new(0);
    let stop = || {
        asked.set(asked.get() + 1);
        asked.get() > 2
    };
    let err = pinpatch::sink::mbox::write_series_until(&plan, &out, &opts, &stop).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("interrupted; nothing was written to {}", out.display())
    );
    assert!(!out.exists());
    assert_no_temporaries(dir.path());
}

/// A real SIGINT while `apply` writes: the run either finishes first or stops
/// between files with exit code 130; every file is whole, old or new, and no
/// temporary file is left.
#[cfg(unix)]
#[test]
fn sigint_during_apply_leaves_whole_files() {
    signal_during_apply_leaves_whole_files("-INT");
}

/// SIGHUP (the terminal closed) is handled like SIGINT.
#[cfg(unix)]
#[test]
fn sighup_during_apply_leaves_whole_files() {
    signal_during_apply_leaves_whole_files("-HUP");
}

#[cfg(unix)]
fn signal_during_apply_leaves_whole_files(signal: &str) {
    let dir = drivers_tree(60);
    let mut child = Command::new(env!("CARGO_BIN_EXE_pinpatch"))
        .args(["apply", "--quiet", "."])
        .current_dir(dir.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first written file, then interrupt.
    let first = dir.path().join("drivers/d00/x.c");
    let start = std::time::Instant::now();
    while std::fs::read(&first).unwrap() == GOOD.as_bytes()
        && start.elapsed() < std::time::Duration::from_secs(30)
    {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let _ = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    let mut written = 0;
    for i in 0..60 {
        let got = std::fs::read(dir.path().join(format!("drivers/d{i:02}/x.c"))).unwrap();
        if got == converted(GOOD.as_bytes()) {
            written += 1;
        } else {
            assert_eq!(got, GOOD.as_bytes(), "file {i} is neither old nor new");
        }
    }
    assert_no_temporaries(dir.path());
    match status.code() {
        Some(130) => assert!(
            err.ends_with(&format!(
                "pinpatch: interrupted: {written} files written, {} left as they were\n",
                60 - written
            )),
            "{err}"
        ),
        Some(0) => assert_eq!(written, 60, "{err}"),
        other => panic!("unexpected exit {other:?}: {err}"),
    }
}

/// Inputs that once crashed pinpatch, one folder per problem under
/// `tests/fixtures/regressions/`: `report` on the folder must exit 0 and
/// print its `report.txt`.
#[test]
fn regressions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/regressions");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty());
    for dir in dirs {
        let copy = tempfile::tempdir().unwrap();
        crate::support::copy_tree(&dir, copy.path());
        std::fs::remove_file(copy.path().join("report.txt")).unwrap();
        let o = pinpatch(&["report", "--quiet", "."], copy.path());
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}: {}",
            dir.display(),
            stderr(&o)
        );
        let expected = std::fs::read_to_string(dir.join("report.txt")).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            expected,
            "{}",
            dir.display()
        );
    }
}
