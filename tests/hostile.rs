//! Hostile trees and interrupted runs: each test builds a small tree that
//! breaks one promise of the README's robustness section and checks that
//! the promise holds (exact exit code and message, and what is on disk
//! afterwards). Cases that need root, or need not to be root, skip cleanly
//! and say so.

use crate::support::{assert_no_temporaries, git, is_root, pinpatch, stderr};
use pinpatch::rule::{RulePack, Target};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const GOOD: &str = "static void f(unsigned long a)\n{\n\tstruct page *p;\n\n\tif (get_user_pages_fast(a, 1, FOLL_WRITE, &p) == 1) {\n\t\tset_page_dirty_lock(p);\n\t\tflush_dcache_page(p);\n\t\tput_page(p);\n\t}\n}\n";

fn converted(text: &str) -> String {
    text.replace("get_user_pages_fast(", "pin_user_pages_fast(")
        .replace("put_page(", "unpin_user_page(")
}

/// A flow across files: pages stored in `struct ctx::pages` by `pin.c`,
/// released by `unpin.c`.
const CTX_H: &str = "struct ctx {\n\tstruct page **pages;\n\tint nr_pages;\n\tbool dirty;\n};\n";
const PIN_C: &str = "#include \"ctx.h\"\n\nint ctx_pin(struct ctx *ctx, unsigned long uaddr)\n{\n\tint got;\n\n\tgot = get_user_pages_fast(uaddr, ctx->nr_pages, FOLL_WRITE | FOLL_LONGTERM,\n\t\t\t\t  ctx->pages);\n\tif (got != ctx->nr_pages)\n\t\treturn -EFAULT;\n\treturn 0;\n}\n";
const UNPIN_C: &str = "#include \"ctx.h\"\n\nvoid ctx_unpin(struct ctx *ctx)\n{\n\tint i;\n\n\tfor (i = 0; i < ctx->nr_pages; i++)\n\t\tput_page(ctx->pages[i]);\n}\n";

/// `dir` with the cross-file flow and an independent `zz.c`.
fn write_cross_file_tree(dir: &Path) {
    std::fs::write(dir.join("ctx.h"), CTX_H).unwrap();
    std::fs::write(dir.join("pin.c"), PIN_C).unwrap();
    std::fs::write(dir.join("unpin.c"), UNPIN_C).unwrap();
    std::fs::write(dir.join("zz.c"), GOOD).unwrap();
}

fn cross_file_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_cross_file_tree(dir.path());
    dir
}

fn read(dir: &Path, rel: &str) -> String {
    String::from_utf8(std::fs::read(dir.join(rel)).unwrap()).unwrap()
}

#[track_caller]
fn assert_flow_untouched(dir: &Path) {
    assert_eq!(read(dir, "pin.c"), PIN_C);
    assert_eq!(read(dir, "unpin.c"), UNPIN_C);
}

#[track_caller]
fn assert_flow_converted(dir: &Path) {
    assert!(read(dir, "pin.c").contains("pin_user_pages_fast("));
    assert!(read(dir, "unpin.c").contains("unpin_user_page"));
    assert!(!read(dir, "unpin.c").contains("put_page("));
}

fn outcome_of(dir: &Path) -> pinpatch::pipeline::Outcome {
    crate::support::run(dir, &RulePack::builtin().unwrap(), Target::Unpin)
}

/// A git repository holding `drivers/d0/x.c` (GOOD), committed.
fn committed_driver() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("drivers/d0")).unwrap();
    std::fs::write(d.join("drivers/d0/x.c"), GOOD).unwrap();
    git(d, &["init", "-q"]);
    git(d, &["add", "-A"]);
    git(d, &["commit", "-qm", "base"]);
    dir
}

const AUTHOR: &str = "T <t@example.org>";

/// `series` of the tree at `d` into `out`.
fn series_of_tree_into(d: &Path, out: &Path) -> Output {
    pinpatch(
        &[
            "series",
            "--quiet",
            "--author",
            AUTHOR,
            "--out",
            out.to_str().unwrap(),
            ".",
        ],
        d,
    )
}

/// Runs the binary, killing it (and failing) after 60 s: for inputs that
/// once made it hang.
fn pinpatch_within_a_minute(args: &[&str], cwd: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pinpatch"))
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("pinpatch {args:?} hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

// 1. `commit` and `series` never publish wrong code.

#[test]
fn commit_and_series_refuse_a_work_tree_that_differs_from_the_base() {
    let dir = committed_driver();
    let d = dir.path();
    // One comment line above the code shifts every offset.
    std::fs::write(d.join("drivers/d0/x.c"), format!("/* local */\n{GOOD}")).unwrap();
    let refs = git(d, &["for-each-ref"]);
    let message_start = "pinpatch: drivers/d0/x.c: the work tree differs from the base commit ";
    let message_end = "; pinpatch analyses the work tree, so commit or stash the change first\n";
    let o = pinpatch(&["commit", "--quiet", "--author", AUTHOR, "."], d);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    let last = err.lines().last().unwrap_or_default().to_string() + "\n";
    assert!(
        last.starts_with(message_start) && last.ends_with(message_end),
        "{err}"
    );
    assert_eq!(git(d, &["for-each-ref"]), refs);
    let elsewhere = tempfile::tempdir().unwrap();
    let out = elsewhere.path().join("out");
    let o = series_of_tree_into(d, &out);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).ends_with(message_end), "{}", stderr(&o));
    assert!(!out.exists());
    // Committed, the same change is published, and the branch holds the
    // converted work-tree file.
    git(d, &["commit", "-qam", "local"]);
    let o = pinpatch(&["commit", "--quiet", "--author", AUTHOR, "."], d);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        git(d, &["show", "pinpatch/easy:drivers/d0/x.c"]),
        converted(&format!("/* local */\n{GOOD}"))
    );
}

// 2. Nothing outside the tree is read as part of it or written.

#[cfg(unix)]
#[test]
fn links_out_of_a_git_tree_are_never_followed() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("x.c"), GOOD).unwrap();
    std::fs::write(outside.path().join("file.c"), GOOD).unwrap();
    let dir = committed_driver();
    let d = dir.path();
    // A tracked directory replaced by a link to a folder outside the tree,
    // and an untracked `.c` link to a file outside it.
    std::fs::remove_dir_all(d.join("drivers/d0")).unwrap();
    std::os::unix::fs::symlink(outside.path(), d.join("drivers/d0")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("file.c"), d.join("link.c")).unwrap();
    std::fs::write(d.join("good.c"), GOOD).unwrap();
    let o = pinpatch(&["apply", "--quiet", "."], d);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let out_dir = outside.path().canonicalize().unwrap();
    assert!(
        stderr(&o).ends_with(&format!(
            "pinpatch: 1 files written\n\
             pinpatch: skipped drivers/d0: symbolic link to {} outside the tree; not followed\n\
             pinpatch: skipped link.c: symbolic link to {} outside the tree; not followed\n",
            out_dir.display(),
            out_dir.join("file.c").display()
        )),
        "{}",
        stderr(&o)
    );
    assert_eq!(read(outside.path(), "x.c"), GOOD);
    assert_eq!(read(outside.path(), "file.c"), GOOD);
    assert!(std::fs::symlink_metadata(d.join("link.c"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(read(d, "good.c"), converted(GOOD));
}

#[cfg(unix)]
#[test]
fn links_out_of_a_plain_tree_and_a_path_that_is_a_link_are_never_followed() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("file.c"), GOOD).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::os::unix::fs::symlink(outside.path().join("file.c"), d.join("link.c")).unwrap();
    std::fs::write(d.join("good.c"), GOOD).unwrap();
    let o = pinpatch(&["apply", "--quiet", "."], d);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).ends_with(&format!(
            "pinpatch: skipped link.c: symbolic link to {} outside the tree; not followed\n",
            outside
                .path()
                .canonicalize()
                .unwrap()
                .join("file.c")
                .display()
        )),
        "{}",
        stderr(&o)
    );
    assert_eq!(read(outside.path(), "file.c"), GOOD);
    // PATH itself a link to a file: refused, the link stays a link.
    let o = pinpatch(&["apply", "--quiet", "link.c"], d);
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(
        stderr(&o),
        "pinpatch: link.c: a symbolic link to a file; pinpatch never writes through a link, name the file itself\n"
    );
    assert!(std::fs::symlink_metadata(d.join("link.c"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(read(outside.path(), "file.c"), GOOD);
}

// 3. A flow is converted all or nothing, on disk too.

#[test]
fn a_skipped_file_that_mentions_a_flow_blocks_it() {
    let dir = cross_file_tree();
    let d = dir.path();
    // A binary file that releases the flow's pages too.
    std::fs::write(
        d.join("drop.c"),
        "#include \"ctx.h\"\nvoid ctx_drop(struct ctx *ctx)\n{\n\tput_page(ctx->pages[0]);\n}\n\0",
    )
    .unwrap();
    let o = pinpatch(&["apply", "--quiet", "."], d);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_flow_untouched(d);
    assert_eq!(read(d, "zz.c"), converted(GOOD));
    let out = report_unwrapped(d);
    assert!(
        out.contains(
            "pin.c:7: acquire get_user_pages_fast(uaddr, ctx->nr_pages, FOLL_WRITE | FOLL_LONGTERM, ctx->pages) in ctx_pin() [manual] not converted: drop.c mentions ctx::pages, which this flow goes through, but was skipped (binary file (holds NUL bytes))"
        ),
        "{out}"
    );
    // Without the binary file the flow converts.
    std::fs::remove_file(d.join("drop.c")).unwrap();
    let o = pinpatch(&["apply", "--quiet", "."], d);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_flow_converted(d);
}

/// A function too deep to analyse is skipped like a file: when it releases
/// the flow's pages (it names the struct and its field), the flow is left.
#[test]
fn a_function_too_deep_to_analyse_blocks_the_flow_it_mentions() {
    let dir = cross_file_tree();
    let d = dir.path();
    let deep = format!(
        "#include \"ctx.h\"\nvoid ctx_drop(struct ctx *ctx)\n{{\n\tput_page({}ctx->pages[0]{});\n}}\n",
        "(".repeat(2000),
        ")".repeat(2000)
    );
    std::fs::write(d.join("deep.c"), &deep).unwrap();
    let o = pinpatch(&["apply", "--quiet", "."], d);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_flow_untouched(d);
    assert_eq!(read(d, "zz.c"), converted(GOOD));
    let out = report_unwrapped(d);
    assert!(
        out.contains(
            "in ctx_pin() [manual] not converted: ctx_drop() at deep.c:2 mentions ctx::pages, which this flow goes through, but is not analysed (nested deeper than 512 levels)"
        ),
        "{out}"
    );
}

/// A file whose contents pinpatch cannot know (unreadable; or named in
/// bytes that are not UTF-8, which works as root too) may hold any name:
/// every flow that leaves its function is blocked.
#[cfg(unix)]
#[test]
fn an_unreadable_file_blocks_every_flow_that_leaves_its_function() {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    let check = |make: &dyn Fn(&Path), undo: &dyn Fn(&Path), reason: &str| {
        let dir = cross_file_tree();
        let d = dir.path();
        make(d);
        let o = pinpatch(&["apply", "--quiet", "."], d);
        let report = report_unwrapped(d);
        undo(d);
        assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
        assert_flow_untouched(d);
        // A flow inside one function cannot reach another file.
        assert_eq!(read(d, "zz.c"), converted(GOOD));
        assert!(report.contains(reason), "{report}");
    };
    let odd = std::ffi::OsStr::from_bytes(b"odd\xff.c");
    check(
        &|d| std::fs::write(d.join(odd), "int x;\n").unwrap(),
        &|_| {},
        "[manual] not converted: odd\u{fffd}.c was skipped (the file name is not UTF-8, which pinpatch cannot name in a diff) and may use the helpers or fields this flow goes through",
    );
    if is_root() {
        eprintln!(
            "an_unreadable_file_blocks_every_flow_that_leaves_its_function: running as root, \
             which reads files whatever their mode; the chmod part is skipped"
        );
        return;
    }
    let mode = |d: &Path, m: u32| {
        std::fs::set_permissions(d.join("locked.c"), std::fs::Permissions::from_mode(m)).unwrap()
    };
    check(
        &|d| {
            std::fs::write(d.join("locked.c"), "int x;\n").unwrap();
            mode(d, 0o000);
        },
        &|d| mode(d, 0o644),
        "[manual] not converted: locked.c was skipped (cannot read: Permission denied (os error 13))",
    );
}

/// A rename failing after another file of the flow was renamed (the second
/// file is immutable) gives the first file its original bytes back. Needs
/// root (CAP_LINUX_IMMUTABLE) and a file system with attributes.
#[cfg(target_os = "linux")]
#[test]
fn a_failed_rename_restores_the_files_of_the_flow_already_renamed() {
    let dir = cross_file_tree();
    let d = dir.path();
    let chattr = |flag: &str| {
        Command::new("chattr")
            .args([flag, d.join("unpin.c").to_str().unwrap()])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !chattr("+i") {
        eprintln!(
            "a_failed_rename_restores_the_files_of_the_flow_already_renamed: chattr +i failed \
             (not root, or no attributes on this file system); skipped"
        );
        return;
    }
    let written_at = || {
        std::fs::metadata(d.join("pin.c"))
            .unwrap()
            .modified()
            .unwrap()
    };
    let before = written_at();
    std::thread::sleep(Duration::from_millis(20));
    let o = pinpatch(&["apply", "--quiet", "."], d);
    assert!(chattr("-i"));
    // pin.c was renamed over, then restored by another rename: it is a new
    // file with the old bytes.
    assert_ne!(written_at(), before);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "pinpatch: unpin.c: cannot write: Operation not permitted (os error 1) (0 files already written)\n"
    );
    assert_flow_untouched(d);
    assert_no_temporaries(d);
}

/// Hidden files and `.ignore` rules do not hide a release outside git: the
/// flow sees every release and converts them all.
#[test]
fn hidden_and_ignored_files_are_read_outside_git() {
    let dir = cross_file_tree();
    let d = dir.path();
    let drop_c =
        "#include \"ctx.h\"\nvoid ctx_drop(struct ctx *ctx)\n{\n\tput_page(ctx->pages[0]);\n}\n";
    std::fs::create_dir(d.join(".hidden")).unwrap();
    std::fs::write(d.join(".hidden/drop.c"), drop_c).unwrap();
    std::fs::write(d.join("ignored.c"), drop_c.replace("ctx_drop", "ctx_drop2")).unwrap();
    std::fs::write(d.join(".ignore"), "ignored.c\n").unwrap();
    let o = pinpatch(&["apply", "--quiet", "."], d);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_flow_converted(d);
    assert!(read(d, ".hidden/drop.c").contains("unpin_user_page(ctx->pages[0])"));
    assert!(read(d, "ignored.c").contains("unpin_user_page(ctx->pages[0])"));
}

#[test]
fn an_interrupt_never_splits_a_flow_across_files() {
    let dir = cross_file_tree();
    let d = dir.path();
    let outcome = outcome_of(d);
    let asked = std::cell::Cell::new(0);
    let stop = || {
        asked.set(asked.get() + 1);
        asked.get() > 1
    };
    let applied = pinpatch::sink::files::apply_until(&outcome, &stop).unwrap();
    assert_eq!((applied.written, applied.left), (2, 1));
    assert_flow_converted(d);
    assert_eq!(read(d, "zz.c"), GOOD);
    assert_no_temporaries(d);
}

/// A write failing on the second file of a flow (the file size limit makes
/// the larger file's temporary fail) leaves the first file as it was.
#[cfg(unix)]
#[test]
fn a_failed_write_never_leaves_a_flow_half_converted() {
    use std::os::unix::process::CommandExt;
    let dir = cross_file_tree();
    let d = dir.path();
    std::fs::remove_file(d.join("zz.c")).unwrap();
    let padding = format!("/*{}*/\n", " padding ".repeat(2000));
    let big_unpin = format!("{padding}{UNPIN_C}");
    std::fs::write(d.join("unpin.c"), &big_unpin).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pinpatch"));
    cmd.args(["apply", "--quiet", "."]).current_dir(d);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: 4096,
                rlim_max: 4096,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("pinpatch: unpin.c: cannot write: File too large (os error 27) (0 files already written)"),
        "{}",
        stderr(&o)
    );
    assert_eq!(read(d, "pin.c"), PIN_C);
    assert_eq!(read(d, "unpin.c"), big_unpin);
    assert_no_temporaries(d);
}

// 4. A file edited during the run is never overwritten.

#[test]
fn a_file_edited_during_the_run_is_never_overwritten() {
    let dir = cross_file_tree();
    let d = dir.path();
    let outcome = outcome_of(d);
    let edited = format!("{UNPIN_C}/* the user's edit */\n");
    std::fs::write(d.join("unpin.c"), &edited).unwrap();
    let applied = pinpatch::sink::files::apply(&outcome).unwrap();
    assert_eq!(applied, 1);
    assert_eq!(read(d, "unpin.c"), edited);
    assert_eq!(read(d, "pin.c"), PIN_C);
    assert_eq!(read(d, "zz.c"), converted(GOOD));
    assert_no_temporaries(d);
}

#[test]
fn a_file_edited_during_the_run_holds_back_its_flow_with_the_reason() {
    let edited = format!("{UNPIN_C}/* the user's edit */\n");
    let dir = cross_file_tree();
    let d = dir.path();
    let outcome = outcome_of(d);
    std::fs::write(d.join("unpin.c"), &edited).unwrap();
    let applied = pinpatch::sink::files::apply_until(&outcome, &|| false).unwrap();
    let held: Vec<(String, String)> = applied
        .held_back
        .iter()
        .map(|s| (s.path.clone(), s.reason.clone()))
        .collect();
    assert_eq!(
        held,
        [
            (
                "pin.c".to_string(),
                "not written: unpin.c, a file of the same flow, changed: it changed on disk since it was read (its size differs)".to_string()
            ),
            (
                "unpin.c".to_string(),
                "not written: it changed on disk since it was read (its size differs)".to_string()
            )
        ]
    );
    // Same size, other bytes: caught by the contents.
    let dir = cross_file_tree();
    let d = dir.path();
    let outcome = outcome_of(d);
    std::fs::write(d.join("pin.c"), PIN_C.replace("int got;", "int GOT;")).unwrap();
    let applied = pinpatch::sink::files::apply_until(&outcome, &|| false).unwrap();
    assert_eq!(applied.written, 1);
    assert_eq!(
        applied.held_back[0].reason,
        "not written: it changed on disk since it was read"
    );
    assert_eq!(read(d, "unpin.c"), UNPIN_C);
}

// 5. `series --out DIR --force` never deletes what pinpatch did not write.

#[test]
fn series_force_never_deletes_what_pinpatch_did_not_write() {
    let dir = committed_driver();
    let d = dir.path();
    let series = |out: &str| {
        pinpatch(
            &[
                "series", "--quiet", "--force", "--author", AUTHOR, "--out", out, ".",
            ],
            d,
        )
    };
    // The tree itself, and a parent of it.
    let o = series(".");
    assert_eq!(o.status.code(), Some(5));
    assert_eq!(
        stderr(&o).lines().last().unwrap(),
        "pinpatch: . is the same directory as the tree .; choose an output directory outside it"
    );
    let o = series("drivers/..");
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let o = pinpatch(
        &[
            "series", "--quiet", "--force", "--author", AUTHOR, "--out", "..", "drivers",
        ],
        d,
    );
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).ends_with(
            "pinpatch: .. is a parent of the tree drivers; choose an output directory outside it\n"
        ),
        "{}",
        stderr(&o)
    );
    // A directory or a file of the user's.
    std::fs::create_dir(d.join("mine")).unwrap();
    std::fs::write(d.join("mine/notes.txt"), "keep").unwrap();
    std::fs::write(d.join("file"), "keep").unwrap();
    let o = series("mine");
    assert_eq!(o.status.code(), Some(5));
    assert!(
        stderr(&o).ends_with(
            "is not a series output of pinpatch (no .pinpatch.series file); it is never replaced\n"
        ),
        "{}",
        stderr(&o)
    );
    let o = series("file");
    assert_eq!(o.status.code(), Some(5));
    assert!(stderr(&o).contains("(not a directory)"), "{}", stderr(&o));
    assert_eq!(read(d, "mine/notes.txt"), "keep");
    assert_eq!(read(d, "file"), "keep");
    assert_eq!(read(d, "drivers/d0/x.c"), GOOD);
    assert_no_temporaries(d);
    // A previous output is replaced; one the user added to is not.
    let o = series("out");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = series("out");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(d.join("out/.pinpatch.series").is_file());
    std::fs::write(d.join("out/easy/mine.txt"), "keep").unwrap();
    let o = series("out");
    assert_eq!(o.status.code(), Some(5));
    assert!(
        stderr(&o).contains("(it holds easy/mine.txt)"),
        "{}",
        stderr(&o)
    );
    assert_eq!(read(d, "out/easy/mine.txt"), "keep");
    assert_no_temporaries(d);
}

/// `--out .` from inside a previous output replaces it whole and leaves
/// no staging directory.
#[test]
fn series_force_into_the_current_directory_leaves_nothing_behind() {
    let dir = committed_driver();
    let d = dir.path();
    let elsewhere = tempfile::tempdir().unwrap();
    let out = elsewhere.path().join("out");
    let o = series_of_tree_into(d, &out);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let tree = d.to_str().unwrap();
    let o = pinpatch(
        &[
            "series", "--quiet", "--force", "--author", AUTHOR, "--out", ".", tree,
        ],
        &out,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // One patch, so no cover letter: the series is its single patch file.
    let patches: Vec<String> = std::fs::read_dir(out.join("easy"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".patch"))
        .collect();
    assert_eq!(patches.len(), 1, "{patches:?}");
    assert!(patches[0].starts_with("0001-"), "{patches:?}");
    assert_no_temporaries(elsewhere.path());
}

// 6. `commit --force` never moves a checked-out branch.

#[test]
fn commit_force_never_moves_a_checked_out_branch() {
    let dir = committed_driver();
    let d = dir.path();
    git(d, &["checkout", "-qb", "pinpatch/easy"]);
    let head = git(d, &["rev-parse", "HEAD"]);
    let o = pinpatch(
        &["commit", "--quiet", "--force", "--author", AUTHOR, "."],
        d,
    );
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("\npinpatch: branch pinpatch/easy is checked out in "),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).ends_with("; pinpatch never moves a checked-out branch\n"),
        "{}",
        stderr(&o)
    );
    assert_eq!(git(d, &["rev-parse", "HEAD"]), head);
    assert_eq!(git(d, &["status", "--porcelain"]), "");
    // Checked out in another worktree: refused too.
    git(d, &["checkout", "-q", "master"]);
    let wt = tempfile::tempdir().unwrap();
    let wt_path = wt.path().join("wt");
    git(
        d,
        &[
            "worktree",
            "add",
            "-q",
            wt_path.to_str().unwrap(),
            "pinpatch/easy",
        ],
    );
    let o = pinpatch(
        &["commit", "--quiet", "--force", "--author", AUTHOR, "."],
        d,
    );
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(stderr(&o).contains("wt"), "{}", stderr(&o));
    assert_eq!(git(d, &["rev-parse", "pinpatch/easy"]), head);
    // Not checked out anywhere: replaced.
    git(d, &["worktree", "remove", wt_path.to_str().unwrap()]);
    let o = pinpatch(
        &["commit", "--quiet", "--force", "--author", AUTHOR, "."],
        d,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_ne!(git(d, &["rev-parse", "pinpatch/easy"]), head);
}

// 7. FIFOs are never opened as MAINTAINERS, `.mailmap` or rule files.

#[cfg(unix)]
#[test]
fn fifos_in_place_of_maintainers_mailmap_or_a_rule_file_never_hang() {
    let mkfifo = |p: &Path| assert!(Command::new("mkfifo").arg(p).status().unwrap().success());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("drivers/d0")).unwrap();
    std::fs::write(d.join("drivers/d0/x.c"), GOOD).unwrap();
    mkfifo(&d.join("MAINTAINERS"));
    let o = pinpatch_within_a_minute(&["series", "--dry-run", "--quiet", "."], d);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("pinpatch: cannot read ./MAINTAINERS: not a regular file (a FIFO, socket or device is never read):"),
        "{}",
        stderr(&o)
    );
    std::fs::remove_file(d.join("MAINTAINERS")).unwrap();
    std::fs::write(
        d.join("MAINTAINERS"),
        "DRIVERS\nM:\tA <a@example.org>\nF:\tdrivers/\n",
    )
    .unwrap();
    mkfifo(&d.join(".mailmap"));
    let o = pinpatch_within_a_minute(&["series", "--dry-run", "--quiet", "."], d);
    assert!(
        stderr(&o).contains(".mailmap: not a regular file"),
        "{}",
        stderr(&o)
    );
    std::fs::create_dir(d.join("rules")).unwrap();
    mkfifo(&d.join("rules/r.toml"));
    let o = pinpatch_within_a_minute(&["diff", "--rules", "rules", "."], d);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "pinpatch: rules/r.toml: cannot read: not a regular file (a FIFO, socket or device is never read)\n"
    );
    mkfifo(&d.join("baseline"));
    let o = pinpatch_within_a_minute(&["check", "--quiet", "--baseline", "baseline", "."], d);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
}

// 8. `[defaults]` are parsed when the rule loads.

#[test]
fn a_bad_default_is_a_rule_error() {
    let head = "id = \"bad\"\nkind = \"release\"\ntitle = \"bad\"\n[metavars]\npage = \"expression\"\nn = \"expression\"\n[release]\nfamily = \"put\"\npage = \"$page\"\n[[match]]\npattern = \"put_page($page)\"\n[rewrite]\nunpin = \"unpin_user_pages(&$page, $n)\"\n[defaults]\n";
    for (default, message) in [
        (
            "n = \"$n\"\n",
            "rules/bad.toml:15:6: default for `$n` names the metavariable `$n`; a default is plain C",
        ),
        (
            "n = \"((\"\n",
            "rules/bad.toml:15:6: default: the snippet does not parse as C",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("rules")).unwrap();
        std::fs::write(d.join("rules/bad.toml"), format!("{head}{default}")).unwrap();
        std::fs::write(d.join("good.c"), GOOD).unwrap();
        let o = pinpatch(&["apply", "--rules", "rules", "."], d);
        assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
        assert_eq!(stderr(&o), format!("pinpatch: {message}\n"));
        assert_eq!(read(d, "good.c"), GOOD);
    }
}

// 9. Long and odd file names.

#[test]
fn a_name_of_250_bytes_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("{}.c", "n".repeat(248));
    std::fs::write(dir.path().join(&name), GOOD).unwrap();
    let o = pinpatch(&["apply", "--quiet", "."], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(read(dir.path(), &name), converted(GOOD));
    assert_no_temporaries(dir.path());
}

#[test]
fn names_with_a_tab_or_a_newline_make_a_diff_git_applies() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for name in ["tab\there.c", "new\nline.c", "quote\"d.c"] {
        std::fs::write(d.join(name), GOOD).unwrap();
    }
    let o = pinpatch(&["diff", "--quiet", "."], d);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let diff = String::from_utf8(o.stdout).unwrap();
    assert!(
        diff.contains("diff --git \"a/new\\nline.c\" \"b/new\\nline.c\"\n"),
        "{diff}"
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let patch = elsewhere.path().join("change.diff");
    std::fs::write(&patch, &diff).unwrap();
    git(d, &["apply", patch.to_str().unwrap()]);
    for name in ["tab\there.c", "new\nline.c", "quote\"d.c"] {
        assert_eq!(read(d, name), converted(GOOD), "{name:?}");
    }
}

#[cfg(unix)]
#[test]
fn a_name_that_is_not_utf8_is_reported() {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.c");
    let plain = tempfile::tempdir().unwrap();
    let git_tree = committed_driver();
    for d in [plain.path(), git_tree.path()] {
        std::fs::write(d.join(name), GOOD).unwrap();
        std::fs::write(d.join("good.c"), GOOD).unwrap();
        let o = pinpatch(&["apply", "--quiet", "."], d);
        assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
        assert!(
            stderr(&o).ends_with("pinpatch: skipped caf\u{fffd}.c: the file name is not UTF-8, which pinpatch cannot name in a diff\n"),
            "{}",
            stderr(&o)
        );
        assert_eq!(std::fs::read(d.join(name)).unwrap(), GOOD.as_bytes());
        assert_eq!(read(d, "good.c"), converted(GOOD));
    }
}

// 10. Unborn HEAD, bare repositories, a baseline that is a dangling link.

#[test]
fn commit_with_an_unborn_head_or_in_a_bare_repository() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("good.c"), GOOD).unwrap();
    git(d, &["init", "-q"]);
    let o = pinpatch(&["commit", "--quiet", "--author", AUTHOR, "."], d);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "pinpatch: .: HEAD has no commit yet; commit the tree first or pass --base\n"
    );
    let bare = tempfile::tempdir().unwrap();
    git(bare.path(), &["init", "-q", "--bare"]);
    let o = pinpatch(&["commit", "--quiet", "--author", AUTHOR, "."], bare.path());
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "pinpatch: .: a bare repository; pinpatch commit analyses a work tree, run it at the top of one\n"
    );
}

#[cfg(unix)]
#[test]
fn a_baseline_onto_a_dangling_link_replaces_the_link() {
    let outside = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("good.c"), GOOD).unwrap();
    let target = outside.path().join("created.txt");
    std::os::unix::fs::symlink(&target, d.join("baseline")).unwrap();
    let o = pinpatch(
        &["check", "--quiet", "--write-baseline", "baseline", "."],
        d,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!target.exists(), "the link's target was created");
    let meta = std::fs::symlink_metadata(d.join("baseline")).unwrap();
    assert!(meta.is_file());
    assert_no_temporaries(d);
}

// 11. Temporary files.

/// A pid no process has: that of a child that has exited.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn stale_temporaries_of_a_killed_run_are_removed_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("sub")).unwrap();
    std::fs::write(d.join("sub/good.c"), GOOD).unwrap();
    let stale = format!(".pinpatch-{}-0.tmp", dead_pid());
    std::fs::write(d.join("sub").join(&stale), "half").unwrap();
    // Not ours: kept.
    std::fs::write(d.join("sub/.pinpatch-notes.tmp"), "mine").unwrap();
    let o = pinpatch(&["apply", "--quiet", "."], d);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with(&format!(
            "pinpatch: removed sub/{stale}, a temporary file an interrupted run left\n"
        )),
        "{}",
        stderr(&o)
    );
    assert!(!d.join("sub").join(&stale).exists());
    assert_eq!(read(d, "sub/.pinpatch-notes.tmp"), "mine");
    assert_eq!(read(d, "sub/good.c"), converted(GOOD));
}

/// In an append-only directory a temporary file could be created but
/// neither renamed nor removed: none is created. Needs root (CAP_LINUX_IMMUTABLE)
/// and a file system with attributes.
#[cfg(target_os = "linux")]
#[test]
fn an_append_only_directory_gets_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("sub")).unwrap();
    std::fs::write(d.join("sub/good.c"), GOOD).unwrap();
    let chattr = |flag: &str| {
        Command::new("chattr")
            .args([flag, d.join("sub").to_str().unwrap()])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !chattr("+a") {
        eprintln!(
            "an_append_only_directory_gets_no_temporary_file: chattr +a failed (not root, \
             or no attributes on this file system); skipped"
        );
        return;
    }
    let o = pinpatch(&["apply", "--quiet", "."], d);
    let names: Vec<String> = std::fs::read_dir(d.join("sub"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(chattr("-a"));
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        "pinpatch: sub/good.c: cannot write: its directory is append-only (chattr +a), where a file cannot be replaced (0 files already written)\n"
    );
    assert_eq!(names, ["good.c"]);
    assert_eq!(read(d, "sub/good.c"), GOOD);
}

#[test]
fn stale_staging_directories_next_to_a_series_output_are_removed() {
    let dir = committed_driver();
    let d = dir.path();
    let stale = d.join(format!(".pinpatch-{}-0.tmp", dead_pid()));
    std::fs::create_dir_all(stale.join("easy")).unwrap();
    std::fs::write(stale.join("easy/0001-x.patch"), "half").unwrap();
    let o = pinpatch(
        &["series", "--quiet", "--author", AUTHOR, "--out", "out", "."],
        d,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "pinpatch: removed {}, a staging directory an interrupted run left\n",
            d.canonicalize()
                .unwrap()
                .join(stale.file_name().unwrap())
                .display()
        )),
        "{}",
        stderr(&o)
    );
    assert!(!stale.exists());
    assert_no_temporaries(d);
}

// 12. An index kept between runs never hides a change.

/// A file of the cross-file tree that names no acquire or release and
/// stores the flow's pages where no release is seen: the flow is left.
const KEEP: &str =
    "#include \"ctx.h\"\n\nstruct page *stashed;\n\nvoid ctx_keep(struct ctx *ctx)\n{\n\tstashed = ctx->pages[0];\n}\n";

fn diff_of(d: &Path, index: Option<&Path>) -> String {
    diff_with(d, index, &[])
}

fn diff_with(d: &Path, index: Option<&Path>, options: &[&str]) -> String {
    let mut args = vec!["diff", "--quiet", "."];
    args.extend(options);
    let index = index.map(|p| p.to_str().unwrap().to_string());
    if let Some(index) = &index {
        args.extend(["--index", index.as_str()]);
    }
    let o = pinpatch(&args, d);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn an_index_never_hides_a_file_changed_since_it_was_written() {
    let dir = cross_file_tree();
    let d = dir.path();
    // First a comment as long as KEEP, which names nothing of the flow:
    // the index records that keep.c holds none of its words.
    let filler = format!("/*{}*/\n", "x".repeat(KEEP.len() - 5));
    assert_eq!(filler.len(), KEEP.len());
    std::fs::write(d.join("keep.c"), &filler).unwrap();
    let place = tempfile::tempdir().unwrap();
    let index = place.path().join("tree.index");
    // Files changed less than two seconds before a run are not recorded.
    std::thread::sleep(Duration::from_millis(2500));
    let converted = diff_of(d, Some(&index));
    assert!(
        converted.contains("+\tunpin_user_pages(ctx->pages, ctx->nr_pages);"),
        "{converted}"
    );
    let written = std::fs::metadata(&index).unwrap();
    assert!(written.len() > 0);
    // The unchanged tree: the same diff, and the index is not written again.
    assert_eq!(diff_of(d, Some(&index)), converted);
    let again = std::fs::metadata(&index).unwrap();
    assert_eq!(again.modified().unwrap(), written.modified().unwrap());
    // Rounds that run out: the filters of a current index go after the
    // last search, and the run still answers as one without the index,
    // neither reading the tree again nor writing the index.
    let two_rounds = ["--max-rounds", "2"];
    assert_eq!(
        diff_with(d, Some(&index), &two_rounds),
        diff_with(d, None, &two_rounds)
    );
    let again = std::fs::metadata(&index).unwrap();
    assert_eq!(again.modified().unwrap(), written.modified().unwrap());
    // keep.c now stores the flow's pages, in as many bytes as before: the
    // flow is left, with or without the index.
    std::fs::write(d.join("keep.c"), KEEP).unwrap();
    let without = diff_of(d, None);
    assert!(
        !without.contains("unpin_user_pages(ctx->pages"),
        "{without}"
    );
    assert_eq!(diff_of(d, Some(&index)), without);
}

#[test]
fn an_index_path_that_holds_something_else_is_refused() {
    let dir = cross_file_tree();
    let d = dir.path();
    std::fs::write(d.join("notes.txt"), "my notes\n").unwrap();
    for (path, message) in [
        (
            "notes.txt",
            "notes.txt: not a pinpatch index; it is left alone",
        ),
        (
            "pin.c",
            "pin.c: names a C file, which a run would read as part of the tree",
        ),
        (".", ".: not a regular file"),
    ] {
        let o = pinpatch(&["diff", "--quiet", "--index", path, "."], d);
        assert_eq!(o.status.code(), Some(5), "{path}: {}", stderr(&o));
        assert!(stderr(&o).contains(message), "{path}: {}", stderr(&o));
    }
    assert_eq!(read(d, "notes.txt"), "my notes\n");
    assert_flow_untouched(d);
}

/// The text report of the tree, its lines wrapped at 100 columns joined
/// back, so a reason reads as one line.
fn report_unwrapped(d: &Path) -> String {
    let o = pinpatch(&["report", "--quiet", "."], d);
    String::from_utf8(o.stdout).unwrap().replace("\n    ", " ")
}
