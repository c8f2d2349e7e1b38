//! The binary as a user runs it: exit codes, messages on standard error,
//! and output that still comes when some input is bad.

use crate::support::{pinpatch, stderr};
use std::path::Path;
use std::process::Command;

const GOOD: &str = "static void f(unsigned long a)\n{\n\tstruct page *p;\n\n\tif (get_user_pages_fast(a, 1, FOLL_WRITE, &p) != 1)\n\t\treturn;\n\tset_page_dirty_lock(p);\n\tflush_dcache_page(p);\n\tput_page(p);\n}\n";

#[test]
fn missing_path_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = pinpatch(&["diff", "no/such/tree"], dir.path());
    assert_eq!(o.status.code(), Some(3));
    assert_eq!(
        stderr(&o),
        "pinpatch: no/such/tree: no such file or directory\n"
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn malformed_rule_points_at_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    std::fs::write(
        dir.path().join("rules/bad.toml"),
        "id = \"bad\"\nkind = \"release\"\ntitle = \"bad\"\n[metavars]\npage = \"expression\"\n[release]\nfamily = \"put\"\npage = \"$page\"\n[[match]]\npattern = \"put_page($pgae)\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("a.c"), GOOD).unwrap();
    let o = pinpatch(&["diff", "--rules", "rules", "a.c"], dir.path());
    assert_eq!(o.status.code(), Some(4));
    assert_eq!(
        stderr(&o),
        "pinpatch: rules/bad.toml:10:21: unknown metavariable `$pgae`: declare it in [metavars]\n"
    );
}

#[test]
fn rule_with_toml_syntax_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rules")).unwrap();
    std::fs::write(
        dir.path().join("rules/broken.toml"),
        "id = \"x\"\nkind = release\n",
    )
    .unwrap();
    let o = pinpatch(&["report", "--rules", "rules", "."], dir.path());
    assert_eq!(o.status.code(), Some(4));
    assert!(
        stderr(&o).starts_with("pinpatch: rules/broken.toml:2:8: "),
        "{}",
        stderr(&o)
    );
}

#[test]
fn binary_file_is_skipped_and_the_rest_processed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.c"), GOOD).unwrap();
    std::fs::write(
        dir.path().join("bad.c"),
        b"get_user_pages_fast\0\x01\x02binary",
    )
    .unwrap();
    let o = pinpatch(&["diff", "--quiet", "."], dir.path());
    assert_eq!(o.status.code(), Some(3));
    let err = stderr(&o);
    assert!(
        err.contains("pinpatch: skipped bad.c: binary file (holds NUL bytes)\n"),
        "{err}"
    );
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.contains("+\tif (pin_user_pages_fast(a, 1, FOLL_WRITE, &p) != 1)\n"),
        "{out}"
    );
    assert!(out.contains("+\tunpin_user_page(p);\n"), "{out}");
}

#[test]
fn apply_writes_what_diff_shows() {
    let dir = tempfile::tempdir().unwrap();
    crate::support::copy_tree(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mini-kernel")),
        dir.path(),
    );
    let diff = pinpatch(&["diff", "."], dir.path());
    assert_eq!(diff.status.code(), Some(0));
    assert!(!diff.stdout.is_empty());
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-qm",
        "base",
    ]);
    let applied = pinpatch(&["apply", "."], dir.path());
    assert_eq!(applied.status.code(), Some(0), "{}", stderr(&applied));
    assert!(
        stderr(&applied).contains("pinpatch: 2 files written\n"),
        "{}",
        stderr(&applied)
    );
    let shown = git(&["diff", "--abbrev=12"]);
    assert_eq!(
        String::from_utf8_lossy(&shown.stdout),
        String::from_utf8_lossy(&diff.stdout)
    );
    let again = pinpatch(&["diff", "."], dir.path());
    assert!(again.stdout.is_empty(), "a second run still changes files");
}

#[test]
fn report_json_is_valid_and_counts_sites() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.c"), GOOD).unwrap();
    let o = pinpatch(&["report", "--format", "json", "a.c"], dir.path());
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["summary"]["acquire_sites"], 1);
    assert_eq!(v["summary"]["release_sites"], 1);
    assert_eq!(
        v["files"][0]["sites"][0]["rewrite"],
        "pin_user_pages_fast(a, 1, FOLL_WRITE, &p)"
    );
    // The case of pin_user_pages.rst, with the evidence and its line.
    assert_eq!(
        v["units"][0]["case"],
        "case 5, the page's data is written: set_page_dirty_lock() at a.c:7"
    );
    // Where each piece of evidence was first seen, with its function.
    assert_eq!(
        v["units"][0]["evidence_at"]["set_page_dirty_lock()"],
        serde_json::json!({"path": "a.c", "line": 7, "function": "f"})
    );
}

fn mini_kernel() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    crate::support::copy_tree(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mini-kernel")),
        dir.path(),
    );
    dir
}

#[test]
fn check_fails_on_new_findings_and_passes_with_a_baseline() {
    let dir = mini_kernel();
    let o = pinpatch(&["check", "--quiet", "."], dir.path());
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8(o.stdout.clone()).unwrap();
    insta::with_settings!({snapshot_path => "../snapshots/cli", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("check-mini-kernel", out);
    });
    assert_eq!(stderr(&o), "pinpatch: 5 findings, 5 not in the baseline\n");
    let w = pinpatch(
        &["check", "--quiet", "--write-baseline", "known.txt", "."],
        dir.path(),
    );
    assert_eq!(w.status.code(), Some(0), "{}", stderr(&w));
    let again = pinpatch(
        &["check", "--quiet", "--baseline", "known.txt", "."],
        dir.path(),
    );
    assert_eq!(again.status.code(), Some(0));
    assert!(again.stdout.is_empty());
    assert_eq!(
        stderr(&again),
        "pinpatch: 5 findings, 0 not in the baseline\n"
    );
}

/// The text report of a tree with several areas opens with a table per
/// area and keeps every line within 100 columns.
#[test]
fn report_text_starts_with_areas_and_wraps_at_100_columns() {
    let dir = mini_kernel();
    let o = pinpatch(&["report", "--quiet", "."], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    let header = text.lines().next().unwrap();
    assert!(header.starts_with("area "), "{text}");
    assert!(
        header.ends_with("units  converted  pinned  kept  manual  mismatches"),
        "{text}"
    );
    let rows: Vec<&str> = text.lines().skip(1).take_while(|l| !l.is_empty()).collect();
    assert!(rows.len() >= 2, "{text}");
    assert!(rows.iter().any(|r| r.starts_with("net/rdsx ")), "{text}");
    for line in text.lines() {
        assert!(line.len() <= 100, "{line}");
    }
}

/// A put_page() of pinned pages is a release that must be converted, and
/// the explanation names the series holding its fix.
#[test]
fn explain_says_a_put_of_pinned_pages_must_be_converted() {
    let dir = mini_kernel();
    let o = pinpatch(&["explain", "net/rdsx/rdma.c:16"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("  must be converted: the pages are pinned, so this release must be unpin_user_page*(); `pinpatch series` writes the fix as series fixes-net-rdsx\n"),
        "{text}"
    );
    assert!(!text.contains("not converted"), "{text}");
    // Pinned already: nothing is left to convert, whatever the class.
    assert!(text.contains("  class: pinned\n"), "{text}");
}

/// A store of another value into a field the release reads, told apart by
/// the allocations of the objects written and read, is shown with both.
#[test]
fn explain_shows_stores_told_apart_by_their_objects() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/flows/frame-numbers-in-descriptors-of-two-allocations");
    let o = pinpatch(&["explain", "stats.c:32"], &dir);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    insta::with_settings!({snapshot_path => "../snapshots/cli", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("explain-told-apart", String::from_utf8(o.stdout).unwrap());
    });
}

/// A release under a flag that the caller handing over other pages
/// fails is shown with the flag and the value left out.
#[test]
fn explain_shows_values_told_apart_by_a_flag() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/flows/fragments-flagged-user-or-own");
    let o = pinpatch(&["explain", "sdma.c:79"], &dir);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    insta::with_settings!({snapshot_path => "../snapshots/cli", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("explain-told-apart-by-flag", String::from_utf8(o.stdout).unwrap());
    });
}

#[test]
fn explain_shows_the_flow_across_functions() {
    let dir = mini_kernel();
    let o = pinpatch(
        &["explain", "drivers/infiniband/hw/toy/toy_mr.c:27"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    insta::with_settings!({snapshot_path => "../snapshots/cli", prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("explain-toy-mr", String::from_utf8(o.stdout).unwrap());
    });
    let none = pinpatch(
        &["explain", "drivers/infiniband/hw/toy/toy_mr.c:3"],
        dir.path(),
    );
    assert_eq!(none.status.code(), Some(3));
    assert_eq!(
        stderr(&none),
        "pinpatch: drivers/infiniband/hw/toy/toy_mr.c:3: no acquire or release site pinpatch recognises on this line\n"
    );
}
