//! Tests of the series layer and its sinks on the fixture tree in
//! `tests/fixtures/series/basic`: the dry-run plan, a cover letter and a
//! patch as snapshots; `git am` of the written mbox files; equality of the
//! branch trees with the `git am` result; and that creating branches leaves
//! HEAD, the index and the working tree alone.

use pinpatch::engine::reason::{PinCase, Place};
use pinpatch::series::input::{CallChange, Class, Edit, Evidence, Facts, ManualSite, Target, Unit};
use pinpatch::series::maintainers::Maintainers;
use pinpatch::series::{plan, render_plan, Identity, PlanOptions, Series, SourceTree};
use pinpatch::sink::git::{create_branches, GitOptions, GitSinkError};
use pinpatch::sink::mbox::{write_series, MboxOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

const FIXTURE: &str = "tests/fixtures/series/basic";
const DATE: &str = "1700000000 +0000";

fn author() -> Identity {
    Identity {
        name: "Pat Developer".into(),
        email: "pat@example.org".into(),
    }
}

#[track_caller]
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=Pat Developer",
            "-c",
            "user.email=pat@example.org",
        ])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=master",
        ])
        .args(args)
        .env("GIT_AUTHOR_DATE", DATE)
        .env("GIT_COMMITTER_DATE", DATE)
        .env_remove("GIT_DIR")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A git repository holding the fixture tree in one commit with fixed dates.
fn fixture_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(Path::new(FIXTURE), dir.path());
    git(dir.path(), &["init", "-q"]);
    git(dir.path(), &["add", "-A"]);
    git(
        dir.path(),
        &["commit", "-q", "-m", "Import the fixture tree"],
    );
    dir
}

/// Replaces the `nth` occurrence of `from` in `path` by `to`.
fn edit(root: &Path, path: &str, from: &str, nth: usize, to: &str) -> (String, Edit) {
    let bytes = std::fs::read(root.join(path)).unwrap();
    let start = bytes
        .windows(from.len())
        .enumerate()
        .filter(|(_, w)| *w == from.as_bytes())
        .nth(nth)
        .unwrap_or_else(|| panic!("{from} #{nth} not in {path}"))
        .0;
    (
        path.to_string(),
        Edit {
            start,
            end: start + from.len(),
            text: to.as_bytes().to_vec(),
        },
    )
}

/// The facts a summary line of the fixture units states: the function,
/// the acquire (when it names one) and one release in the same file.
fn facts_from(summary: &str) -> Facts {
    let (at, rest) = summary.split_once(' ').unwrap();
    let function = rest.split_once("()").unwrap().0.to_string();
    let change = |from: &str, to: &str| CallChange {
        from: from.into(),
        to: to.into(),
        at: Place::parse(at, &function),
        ..CallChange::default()
    };
    let acquires = if rest.contains("get_user_pages_fast()") {
        vec![change("get_user_pages_fast", "pin_user_pages_fast")]
    } else {
        Vec::new()
    };
    Facts {
        function: function.clone(),
        pages: "pages".into(),
        acquires,
        releases: vec![change("put_page", "unpin_user_page")],
        evidence: vec![(
            Evidence::Dma("sg_set_page".into()),
            Place::parse(at, &function),
        )],
        case: Some(PinCase::Dma {
            evidence: pinpatch::engine::Evidence::Call("sg_set_page".into()),
            at: Place::parse(at, &function),
        }),
        ..Facts::default()
    }
}

fn units(root: &Path) -> Vec<Unit> {
    let pin = |p: &str| edit(root, p, "get_user_pages_fast(", 0, "pin_user_pages_fast(");
    let unpin = |p: &str, n| edit(root, p, "put_page(", n, "unpin_user_page(");
    vec![
        Unit {
            class: Class::Easy,
            rule_ids: vec!["gup-fast-put-page".into()],
            edits: vec![pin("drivers/infiniband/hw/foo/foo_mem.c"), unpin("drivers/infiniband/hw/foo/foo_mem.c", 0)],
            acquire_sites: 1,
            release_sites: 1,
            summary: "drivers/infiniband/hw/foo/foo_mem.c:12 foo_pin_buffer(): get_user_pages_fast() -> pin_user_pages_fast(), 1 release".into(),
            facts: facts_from("drivers/infiniband/hw/foo/foo_mem.c:12 foo_pin_buffer(): get_user_pages_fast() -> pin_user_pages_fast(), 1 release"),
            fix: None,
        },
        Unit {
            class: Class::Easy,
            rule_ids: vec!["put-page-loop".into()],
            edits: vec![unpin("drivers/infiniband/hw/foo/foo_mem.c", 1)],
            acquire_sites: 0,
            release_sites: 1,
            summary: "drivers/infiniband/hw/foo/foo_mem.c:29 foo_release_buffer(): put_page() -> unpin_user_page()".into(),
            facts: facts_from("drivers/infiniband/hw/foo/foo_mem.c:29 foo_release_buffer(): put_page() -> unpin_user_page()"),
            fix: None,
        },
        Unit {
            class: Class::Easy,
            rule_ids: vec!["gup-fast-put-page".into()],
            edits: vec![pin("drivers/infiniband/hw/bar/bar_pages.c"), unpin("drivers/infiniband/hw/bar/bar_pages.c", 0)],
            acquire_sites: 1,
            release_sites: 1,
            summary: "drivers/infiniband/hw/bar/bar_pages.c:11 bar_get_page(): get_user_pages_fast() -> pin_user_pages_fast(), 1 release".into(),
            facts: facts_from("drivers/infiniband/hw/bar/bar_pages.c:11 bar_get_page(): get_user_pages_fast() -> pin_user_pages_fast(), 1 release"),
            fix: None,
        },
        Unit {
            class: Class::Easy,
            rule_ids: vec!["gup-fast-put-page".into()],
            edits: vec![pin("drivers/gpu/drm/xyz/xyz_gem.c"), unpin("drivers/gpu/drm/xyz/xyz_gem.c", 0)],
            acquire_sites: 1,
            release_sites: 1,
            summary: "drivers/gpu/drm/xyz/xyz_gem.c:11 xyz_gem_userptr(): get_user_pages_fast() -> pin_user_pages_fast(), 1 release".into(),
            facts: facts_from("drivers/gpu/drm/xyz/xyz_gem.c:11 xyz_gem_userptr(): get_user_pages_fast() -> pin_user_pages_fast(), 1 release"),
            fix: None,
        },
        Unit {
            class: Class::CrossFile,
            rule_ids: vec!["gup-struct-field".into()],
            edits: vec![pin("drivers/infiniband/hw/foo/foo_umem.c"), unpin("drivers/infiniband/hw/foo/foo_mr.c", 0)],
            acquire_sites: 1,
            release_sites: 1,
            summary: "drivers/infiniband/hw/foo/foo_umem.c:12 foo_umem_get(): get_user_pages_fast() -> pin_user_pages_fast(), 1 release in foo_mr.c".into(),
            facts: facts_from("drivers/infiniband/hw/foo/foo_umem.c:12 foo_umem_get(): get_user_pages_fast() -> pin_user_pages_fast(), 1 release in foo_mr.c"),
            fix: None,
        },
        Unit {
            class: Class::Local,
            rule_ids: vec!["gup-fast-put-page".into(), "put-page-caller".into()],
            edits: vec![pin("net/rds/rds_rdma.c"), unpin("net/rds/rds_rdma.c", 0), unpin("net/rds/rds_rdma.c", 1)],
            acquire_sites: 1,
            release_sites: 2,
            summary: "net/rds/rds_rdma.c:14 rds_pin_pages(): get_user_pages_fast() -> pin_user_pages_fast(), 2 releases".into(),
            facts: facts_from("net/rds/rds_rdma.c:14 rds_pin_pages(): get_user_pages_fast() -> pin_user_pages_fast(), 2 releases"),
            fix: None,
        },
    ]
}

/// The series input of a tree, through the whole pipeline with the built-in
/// pack (target unpin, evidence policy).
fn analysed_units(root: &Path) -> (pinpatch::pipeline::Outcome, Vec<Unit>, Vec<ManualSite>) {
    let pack = pinpatch::rule::RulePack::builtin().unwrap();
    let config = pinpatch::pipeline::Config {
        path: root.to_path_buf(),
        target: Target::Unpin,
        policy: pinpatch::engine::AcquirePolicy::Evidence,
        max_rounds: pinpatch::pipeline::MAX_ROUNDS,
        start: None,
        leave_out_settled: true,
    };
    let outcome = pinpatch::pipeline::run(&config, &pack, &|_, _| {}).unwrap();
    let units = pinpatch::series::from_outcome::units(&outcome, &pack);
    let manual = pinpatch::series::from_outcome::manual_sites(&outcome, &units);
    (outcome, units, manual)
}

fn manual_sites() -> Vec<ManualSite> {
    vec![ManualSite {
        path: "drivers/gpu/drm/xyz/xyz_gem.c".into(),
        line: 42,
        function: "xyz_gem_release".into(),
        reason: "pages are stored in a struct and released through release_pages()".into(),
    }]
}

fn plan_for(root: &Path, signoff: bool) -> Vec<Series> {
    let tree = SourceTree::open(root, None).unwrap();
    let maintainers = Maintainers::load(root).unwrap();
    let opts = PlanOptions {
        target: Target::Unpin,
        signoff: signoff.then(author),
        ..PlanOptions::default()
    };
    plan(&units(root), &manual_sites(), &tree, &maintainers, &opts).unwrap()
}

fn mbox_options() -> MboxOptions {
    MboxOptions {
        author: author(),
        date: 1_700_000_000,
        force: false,
    }
}

fn patch_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with("0000-cover-letter.patch"))
        .collect();
    v.sort();
    v
}

/// The diffstat and diff of each mail, from the `---` line to the signature.
fn diff_parts(mbox: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur: Option<String> = None;
    for line in mbox.split_inclusive('\n') {
        if line == "---\n" {
            cur = Some(String::new());
        } else if cur.as_deref() == Some("") && !line.starts_with(' ') {
            // Notes below `---` (format-patch writes none): skipped.
        } else if line == "-- \n" || line.starts_with("From ") && line.ends_with("2001\n") {
            if let Some(c) = cur.take() {
                parts.push(c);
            }
        } else if let Some(c) = &mut cur {
            c.push_str(line);
        }
    }
    parts.extend(cur);
    parts.iter().map(|p| p.trim_end().to_string()).collect()
}

macro_rules! snapshot {
    ($name:expr, $value:expr) => {
        insta::with_settings!({snapshot_path => "../snapshots/series", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!($name, $value);
        })
    };
}

#[test]
fn plan_cover_and_patch_snapshots() {
    let repo = fixture_repo();
    let series = plan_for(repo.path(), true);
    snapshot!("basic-plan", render_plan(&series));

    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("series");
    write_series(&series, &dest, &mbox_options()).unwrap();
    let cover = std::fs::read(dest.join("easy/0000-cover-letter.patch")).unwrap();
    snapshot!("basic-easy-cover", String::from_utf8(cover).unwrap());
    let patch = std::fs::read(&patch_files(&dest.join("easy"))[1]).unwrap();
    snapshot!("basic-easy-patch-2", String::from_utf8(patch).unwrap());
    // A series of one patch has no cover letter; its notes follow `---`.
    let single = series
        .iter()
        .find(|s| s.patches.len() == 1 && s.class == Class::CrossFile)
        .unwrap();
    let dir = dest.join(&single.name);
    assert!(!dir.join("0000-cover-letter.patch").exists());
    let patch = std::fs::read(&patch_files(&dir)[0]).unwrap();
    snapshot!("basic-single-patch", String::from_utf8(patch).unwrap());
}

#[test]
fn output_is_reproducible_and_refuses_to_overwrite() {
    let repo = fixture_repo();
    let out = tempfile::tempdir().unwrap();
    let a = out.path().join("a");
    let b = out.path().join("b");
    write_series(&plan_for(repo.path(), false), &a, &mbox_options()).unwrap();
    write_series(&plan_for(repo.path(), false), &b, &mbox_options()).unwrap();
    for f in patch_files(&a.join("easy")) {
        let g = b.join("easy").join(f.file_name().unwrap());
        assert_eq!(std::fs::read(&f).unwrap(), std::fs::read(g).unwrap());
    }
    assert!(write_series(&plan_for(repo.path(), false), &a, &mbox_options()).is_err());
    let leftovers: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn git_am_applies_every_series_and_matches_the_branches() {
    let repo = fixture_repo();
    let series = plan_for(repo.path(), true);
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("series");
    write_series(&series, &dest, &mbox_options()).unwrap();

    let opts = GitOptions {
        author: Some(author()),
        time: 1_700_000_000,
        ..GitOptions::default()
    };
    let created = create_branches(repo.path(), &series, &opts).unwrap();
    assert_eq!(created.len(), series.len());

    let clone = tempfile::tempdir().unwrap();
    git(
        clone.path(),
        &["clone", "-q", repo.path().to_str().unwrap(), "."],
    );
    let gitrepo = git2::Repository::open(repo.path()).unwrap();
    for (s, branch) in series.iter().zip(&created) {
        git(
            clone.path(),
            &[
                "checkout",
                "-q",
                "-B",
                &format!("am-{}", s.name),
                "origin/master",
            ],
        );
        let mut args = vec!["am".to_string(), "-q".to_string()];
        args.extend(
            patch_files(&dest.join(&s.name))
                .iter()
                .map(|p| p.to_string_lossy().into_owned()),
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        git(clone.path(), &args);
        let am_tree = git(clone.path(), &["rev-parse", "HEAD^{tree}"])
            .trim()
            .to_string();
        let tip = gitrepo.find_commit(branch.tip).unwrap();
        assert_eq!(am_tree, tip.tree_id().to_string(), "series {}", s.name);
        assert_eq!(branch.refname, format!("refs/heads/pinpatch/{}", s.name));
        // git am keeps the message: the commit messages must agree too.
        let am_msg = git(clone.path(), &["log", "-1", "--format=%B"]);
        assert_eq!(am_msg.trim_end(), tip.message().unwrap().trim_end());
        // Our diffs and diffstats are the ones git format-patch writes.
        let n = s.patches.len();
        let git_patches = git(
            clone.path(),
            &[
                "format-patch",
                "--stdout",
                "--no-signature",
                "--abbrev=12",
                &format!("HEAD~{n}..HEAD"),
            ],
        );
        let ours: String = patch_files(&dest.join(&s.name))
            .iter()
            .map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned())
            .collect();
        assert_eq!(
            diff_parts(&ours),
            diff_parts(&git_patches),
            "series {}",
            s.name
        );
    }
}

#[test]
fn branches_leave_head_index_and_worktree_alone() {
    let repo = fixture_repo();
    let dir = repo.path();
    let head_before = git(dir, &["rev-parse", "HEAD"]);
    let index_before = std::fs::read(dir.join(".git/index")).unwrap();
    let file = dir.join("net/rds/rds_rdma.c");
    let file_before = std::fs::read(&file).unwrap();

    let series = plan_for(dir, false);
    let opts = GitOptions {
        author: Some(author()),
        time: 1_700_000_000,
        ..GitOptions::default()
    };
    create_branches(dir, &series, &opts).unwrap();

    assert_eq!(git(dir, &["rev-parse", "HEAD"]), head_before);
    assert_eq!(
        git(dir, &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/master"
    );
    assert_eq!(std::fs::read(dir.join(".git/index")).unwrap(), index_before);
    assert_eq!(std::fs::read(&file).unwrap(), file_before);
    assert_eq!(git(dir, &["status", "--porcelain"]), "");

    // A second run refuses, and leaves the branches as they were.
    let branches = git(dir, &["for-each-ref", "refs/heads/pinpatch"]);
    match create_branches(dir, &series, &opts) {
        Err(GitSinkError::BranchExists(_)) => {}
        other => panic!("expected BranchExists, got {other:?}"),
    }
    assert_eq!(git(dir, &["for-each-ref", "refs/heads/pinpatch"]), branches);
    let forced = GitOptions {
        force: true,
        ..opts
    };
    create_branches(dir, &series, &forced).unwrap();
    assert_eq!(git(dir, &["for-each-ref", "refs/heads/pinpatch"]), branches);
}

#[test]
fn plain_directory_tree_plans_from_disk() {
    let series = plan_for(Path::new(FIXTURE), false);
    assert!(series.iter().all(|s| s.cover.base_commit.is_none()));
    assert!(series
        .iter()
        .flat_map(|s| &s.patches)
        .all(|p| !p.body.contains("Signed-off-by:")));
}

/// Runs the kernel's checkpatch.pl on the signed-off patches when a kernel
/// tree is available (`PINPATCH_KERNEL_TREE`, default the 6.1 tree in
/// `~/.cache/kernel-trees`); skipped otherwise.
#[test]
fn checkpatch_strict_is_clean() {
    let tree = std::env::var_os("PINPATCH_KERNEL_TREE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/kernel-trees/linux-6.1"))
        });
    let Some(tree) = tree.filter(|t| t.join("scripts/checkpatch.pl").exists()) else {
        eprintln!("no kernel tree; checkpatch test skipped");
        return;
    };
    let repo = fixture_repo();
    let series = plan_for(repo.path(), true);
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("series");
    write_series(&series, &dest, &mbox_options()).unwrap();
    for s in &series {
        for p in patch_files(&dest.join(&s.name)) {
            let o = Command::new("perl")
                .arg(tree.join("scripts/checkpatch.pl"))
                .args(["--strict", "--no-tree", "--show-types"])
                .arg(&p)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&o.stdout);
            assert!(
                text.contains("total: 0 errors, 0 warnings, 0 checks"),
                "{}:\n{text}",
                p.display()
            );
        }
    }
}

/// Seventeen subsystems' worth of easy units become two series of at most
/// fifteen patches, split in subject order.
#[test]
fn large_series_are_split_at_fifteen_patches() {
    let dir = tempfile::tempdir().unwrap();
    let mut maintainers = String::new();
    let mut units = Vec::new();
    for i in 0..17 {
        let path = format!("drivers/d{i:02}/x.c");
        std::fs::create_dir_all(dir.path().join(format!("drivers/d{i:02}"))).unwrap();
        std::fs::write(
            dir.path().join(&path),
            "void f(struct page *p)\n{\n\tput_page(p);\n}\n",
        )
        .unwrap();
        maintainers.push_str(&format!(
            "D{i:02} DRIVER\nM:\tM{i:02} <m{i:02}@example.org>\nS:\tMaintained\nF:\tdrivers/d{i:02}/\n\n"
        ));
        units.push(Unit {
            class: Class::Easy,
            rule_ids: vec!["r".into()],
            edits: vec![edit(dir.path(), &path, "put_page(", 0, "unpin_user_page(")],
            acquire_sites: 0,
            release_sites: 1,
            summary: format!("{path}:3 f(): put_page() -> unpin_user_page()"),
            facts: facts_from(&format!("{path}:3 f(): put_page() -> unpin_user_page()")),
            fix: None,
        });
    }
    std::fs::write(dir.path().join("MAINTAINERS"), maintainers).unwrap();
    let tree = SourceTree::open(dir.path(), None).unwrap();
    let m = Maintainers::load(dir.path()).unwrap();
    let series = plan(&units, &[], &tree, &m, &PlanOptions::default()).unwrap();
    let shape: Vec<(String, usize)> = series
        .iter()
        .map(|s| (s.name.clone(), s.patches.len()))
        .collect();
    assert_eq!(
        shape,
        [("easy-1".to_string(), 15), ("easy-2".to_string(), 2)]
    );
    assert_eq!(
        series[1].patches[0].subject,
        "d15: convert put_page() --> unpin_user_page()"
    );
    assert!(series[0].cover.subject.ends_with("(part 1/2)"));
}

/// The recipients of a patch equal what the tree's own get_maintainer.pl
/// prints for it (`--nogit --nogit-fallback --nogit-chief-penguins
/// --norolestats`), on files of the subsystems the GUP conversion touches,
/// when a kernel tree is available; skipped otherwise.
/// `bench/maintainers-compare.sh` runs the same comparison on more files.
#[test]
fn recipients_equal_get_maintainer() {
    let tree = std::env::var_os("PINPATCH_KERNEL_TREE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/kernel-trees/linux-6.1"))
        });
    let Some(tree) = tree.filter(|t| t.join("scripts/get_maintainer.pl").exists()) else {
        eprintln!("no kernel tree; get_maintainer.pl comparison skipped");
        return;
    };
    let maintainers = pinpatch::series::maintainers::Maintainers::load(&tree).unwrap();
    let files = [
        "drivers/infiniband/hw/mlx5/mr.c",
        "drivers/infiniband/core/umem.c",
        "drivers/gpu/drm/i915/gem/i915_gem_userptr.c",
        "drivers/gpu/drm/etnaviv/etnaviv_gem.c",
        "net/rds/rdma.c",
        "fs/fuse/dev.c",
        "mm/gup.c",
        "drivers/vfio/vfio_iommu_type1.c",
        "drivers/media/pci/ivtv/ivtv-udma.c",
        "drivers/xen/privcmd.c",
        "virt/kvm/kvm_main.c",
        "drivers/virt/acrn/mm.c",
    ];
    let emails = |text: &str| -> Vec<String> {
        let mut v: Vec<String> = text
            .split(|c: char| c.is_whitespace() || c == ',' || c == '<' || c == '>' || c == '"')
            .filter(|w| w.contains('@'))
            .map(str::to_string)
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let dir = tempfile::tempdir().unwrap();
    for (n, file) in files.iter().enumerate() {
        let before = std::fs::read(tree.join(file)).unwrap();
        let mut after = before.clone();
        after.extend_from_slice(b"/* pinpatch */\n");
        let mut patch = b"Subject: [PATCH] test: a change\n\nA change.\n---\n".to_vec();
        patch.extend(pinpatch::rewrite::diff::file_diff(
            file, &before, &after, None,
        ));
        let path = dir.path().join(format!("{n}.patch"));
        std::fs::write(&path, &patch).unwrap();
        let ours = maintainers.recipients_for_patch(&patch).all().join(" ");
        let o = Command::new("perl")
            .arg(tree.join("scripts/get_maintainer.pl"))
            .args([
                "--nogit",
                "--nogit-fallback",
                "--nogit-chief-penguins",
                "--norolestats",
            ])
            .arg(&path)
            .current_dir(&tree)
            .output()
            .unwrap();
        let theirs = String::from_utf8_lossy(&o.stdout);
        assert!(!emails(&ours).is_empty(), "{file}: no recipients");
        assert_eq!(emails(&ours), emails(&theirs), "{file}");
    }
}

/// Pages written by a hypervisor call: a conversion whose message names
/// case 1 and the page_to_phys() line, and the dirtying release to consider.
const DEMO_COPY: &str = "// SPDX-License-Identifier: GPL-2.0
/* Copies through the hypervisor into user pages. */
#include <linux/mm.h>

int demo_copy_in(unsigned long uaddr, int n, struct page **pages)
{
\tint got, i, ret = 0;

\tgot = get_user_pages_fast(uaddr, n, FOLL_WRITE, pages);
\tif (got < 0)
\t\treturn got;
\tfor (i = 0; i < got && !ret; i++)
\t\tret = demo_hcall_copy(page_to_phys(pages[i]), PAGE_SIZE);
\tfor (i = 0; i < got; i++)
\t\tput_page(pages[i]);
\treturn ret;
}
";

/// A repository whose history holds the pin: the fix for the pinned page
/// released with put_page() comes first, in a series of its own, with the
/// subject prefix its files' history uses and a Fixes: trailer naming the
/// commit that added the pin.
#[test]
fn fix_series_takes_prefix_and_fixes_from_history() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let demo = root.join("drivers/virt/demo");
    std::fs::create_dir_all(&demo).unwrap();
    let flow = Path::new("tests/fixtures/flows/pinned-mismatch-cross-file");
    std::fs::write(
        root.join("MAINTAINERS"),
        "DEMO HYPERVISOR\nM:\tHana Hyper <hana@example.org>\nL:\tdemo@example.org\nS:\tMaintained\nF:\tdrivers/virt/demo/\n\n\
         MEMORY MANAGEMENT\nM:\tMona Mm <mona@example.org>\nL:\tlinux-mm@example.org\nS:\tMaintained\nF:\tmm/\n",
    )
    .unwrap();
    std::fs::copy(flow.join("vm.h"), demo.join("vm.h")).unwrap();
    std::fs::copy(flow.join("vm.c"), demo.join("vm.c")).unwrap();
    std::fs::write(demo.join("ioctl.c"), "#include \"vm.h\"\n").unwrap();
    git(root, &["init", "-q"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "Import the tree"]);
    std::fs::copy(flow.join("ioctl.c"), demo.join("ioctl.c")).unwrap();
    std::fs::write(demo.join("copy.c"), DEMO_COPY).unwrap();
    git(root, &["add", "-A"]);
    git(
        root,
        &["commit", "-q", "-m", "demo_virt: pin the monitor page"],
    );
    let pin_commit = git(root, &["rev-parse", "HEAD"]).trim().to_string();
    let vm = std::fs::read_to_string(demo.join("vm.c")).unwrap();
    std::fs::write(demo.join("vm.c"), vm.replace("here: a bug", "here, a bug")).unwrap();
    git(
        root,
        &["commit", "-q", "-a", "-m", "demo_virt: reword a comment"],
    );

    let (outcome, units, manual) = analysed_units(root);
    assert!(
        manual.iter().all(|m| !m.reason.starts_with("mismatch")),
        "{manual:?}"
    );
    let tree = SourceTree::open(root, None).unwrap();
    let maintainers = Maintainers::load(root).unwrap();
    let opts = PlanOptions {
        signoff: Some(author()),
        ..PlanOptions::default()
    };
    let series = plan(&units, &manual, &tree, &maintainers, &opts).unwrap();
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["fixes-virt-demo", "easy"]);
    let fix = &series[0];
    assert!(fix.fix);
    assert_eq!(fix.name, "fixes-virt-demo");
    assert_eq!(fix.patches.len(), 1);
    let patch = &fix.patches[0];
    assert_eq!(
        patch.subject,
        "demo_virt: fix pinned page released with put_page() in vm_destroy()"
    );
    assert!(
        patch.body.contains(&format!(
            "Fixes: {} (\"demo_virt: pin the monitor page\")\n",
            &pin_commit[..12]
        )),
        "{}",
        patch.body
    );
    assert_eq!(patch.to, ["Hana Hyper <hana@example.org>"]);
    assert_eq!(
        patch.cc,
        [
            "demo@example.org",
            "Mona Mm <mona@example.org>",
            "linux-mm@example.org"
        ]
    );

    let findings = pinpatch::sink::print::check_findings(&outcome);
    assert!(
        findings.iter().any(|f| f.line.contains("mismatch")
            && f.line.ends_with("(fixed by series fixes-virt-demo)")),
        "{:?}",
        findings.iter().map(|f| &f.line).collect::<Vec<_>>()
    );

    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("series");
    write_series(&series, &dest, &mbox_options()).unwrap();
    let files = patch_files(&dest.join(&fix.name));
    assert_eq!(files.len(), 1);
    assert!(!dest
        .join(&fix.name)
        .join("0000-cover-letter.patch")
        .exists());
    let text = String::from_utf8(std::fs::read(&files[0]).unwrap()).unwrap();
    snapshot!(
        "history-fix-patch",
        text.replace(&pin_commit[..12], "<pin commit>")
    );
    // The conversion names its case and the line that shows it.
    let conversion = patch_files(&dest.join("easy"));
    assert_eq!(conversion.len(), 1);
    assert!(!dest.join("easy/0000-cover-letter.patch").exists());
    let text = String::from_utf8(std::fs::read(&conversion[0]).unwrap()).unwrap();
    assert!(
        text.contains("Subject: [PATCH] demo_virt: convert get_user_pages_fast() -->"),
        "{text}"
    );
    snapshot!("history-conversion-patch", text);

    // git am applies it on the base.
    let clone = tempfile::tempdir().unwrap();
    git(clone.path(), &["clone", "-q", root.to_str().unwrap(), "."]);
    git(clone.path(), &["am", "-q", files[0].to_str().unwrap()]);
    let fixed = std::fs::read_to_string(clone.path().join("drivers/virt/demo/vm.c")).unwrap();
    assert!(
        fixed.contains("unpin_user_page(vm->monitor_page);"),
        "{fixed}"
    );
}

/// A patch whose MAINTAINERS sections name only lists is sent To: those
/// lists, never with an empty To:, and Cc:s the section owning mm/gup.c.
#[test]
fn list_only_sections_fill_to() {
    let dir = tempfile::tempdir().unwrap();
    let path = "drivers/lonely/x.c";
    std::fs::create_dir_all(dir.path().join("drivers/lonely")).unwrap();
    std::fs::write(
        dir.path().join(path),
        "void f(struct page *p)\n{\n\tput_page(p);\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("MAINTAINERS"),
        "LONELY DRIVER\nL:\tlonely@example.org\nS:\tOdd Fixes\nF:\tdrivers/lonely/\n\n\
         MEMORY MANAGEMENT\nM:\tMona Mm <mona@example.org>\nL:\tlinux-mm@example.org\nS:\tMaintained\nF:\tmm/\n",
    )
    .unwrap();
    let unit = Unit {
        class: Class::Easy,
        rule_ids: vec!["r".into()],
        edits: vec![edit(dir.path(), path, "put_page(", 0, "unpin_user_page(")],
        acquire_sites: 0,
        release_sites: 1,
        summary: format!("{path}:3 f(): put_page() -> unpin_user_page()"),
        facts: facts_from(&format!("{path}:3 f(): put_page() -> unpin_user_page()")),
        fix: None,
    };
    let tree = SourceTree::open(dir.path(), None).unwrap();
    let m = Maintainers::load(dir.path()).unwrap();
    let series = plan(&[unit], &[], &tree, &m, &PlanOptions::default()).unwrap();
    let patch = &series[0].patches[0];
    assert_eq!(patch.to, ["lonely@example.org"]);
    assert_eq!(
        patch.cc,
        ["Mona Mm <mona@example.org>", "linux-mm@example.org"]
    );
}

/// Both mismatches become fixes, each a series of its own: pinned pages
/// released with put_page() get unpin releases, referenced pages released
/// with unpin_user_pages() get a pinning acquire; a correct flow gets none.
/// The series planned for a tree holding one mismatch fixture as
/// `drivers/mis/<name>`, with the mismatches the cover letters list (and
/// the tree, kept while the series are written).
fn mismatch_series(name: &str) -> (Vec<Series>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("drivers/mis")).unwrap();
    std::fs::copy(
        format!("tests/fixtures/gup/mismatch/{name}"),
        root.join("drivers/mis").join(name),
    )
    .unwrap();
    std::fs::write(
        root.join("MAINTAINERS"),
        "MIS DRIVER\nM:\tMia Mis <mia@example.org>\nS:\tMaintained\nF:\tdrivers/mis/\n",
    )
    .unwrap();
    let (_, units, manual) = analysed_units(root);
    let tree = SourceTree::open(root, None).unwrap();
    let maintainers = Maintainers::load(root).unwrap();
    let series = plan(
        &units,
        &manual,
        &tree,
        &maintainers,
        &PlanOptions::default(),
    )
    .unwrap();
    // A mismatch becomes a fix series, never a site left for a human.
    assert!(
        manual.iter().all(|m| !m.reason.starts_with("mismatch")),
        "{manual:?}"
    );
    (series, dir)
}

#[test]
fn both_mismatches_become_fix_series() {
    let (series, _tree) = mismatch_series("pinned_put.c");
    let subjects: Vec<(&str, &str)> = series
        .iter()
        .map(|s| (s.name.as_str(), s.patches[0].subject.as_str()))
        .collect();
    assert_eq!(
        subjects,
        [
            (
                "fixes-mis",
                "mis: fix pinned pages released with put_page() in pinned_but_put()"
            ),
            (
                "fixes-mis-2",
                "mis: pin the pages released with unpin_user_pages() in got_but_unpinned()"
            ),
        ]
    );
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("series");
    write_series(&series, &dest, &mbox_options()).unwrap();
    let text =
        String::from_utf8(std::fs::read(&patch_files(&dest.join("fixes-mis-2"))[0]).unwrap())
            .unwrap();
    snapshot!("got-unpinned-fix-patch", text);
}

/// A pinned page dirtied and put by two statements: its fix folds them into
/// one unpin_user_pages_dirty_lock() call, as upstream fixed rds.
#[test]
fn a_dirtying_put_of_a_pinned_page_becomes_a_fix_series() {
    let (series, _tree) = mismatch_series("pinned_dirty_put.c");
    assert_eq!(series.len(), 1);
    assert_eq!(series[0].name, "fixes-mis");
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("series");
    write_series(&series, &dest, &mbox_options()).unwrap();
    let text = String::from_utf8(std::fs::read(&patch_files(&dest.join("fixes-mis"))[0]).unwrap())
        .unwrap();
    assert!(
        text.contains("-\tset_page_dirty(ctx->page);\n-\tput_page(ctx->page);\n+\tunpin_user_pages_dirty_lock(&ctx->page, 1, true);\n"),
        "{text}"
    );
}

/// One unit per file of the voices fixture, each its own series (class
/// `local`, one routing key per section).
fn voice_units(root: &Path) -> Vec<Unit> {
    [
        "arch/x86/foo/foo.c",
        "drivers/net/bar/bar.c",
        "drivers/media/baz/baz.c",
    ]
    .iter()
    .map(|path| {
        let function = format!(
            "{}_pin",
            Path::new(path).file_stem().unwrap().to_str().unwrap()
        );
        let summary = format!(
            "{path}:6 {function}(): get_user_pages_fast() -> pin_user_pages_fast(), 1 release"
        );
        Unit {
            class: Class::Local,
            rule_ids: vec!["gup-fast-put-page".into()],
            edits: vec![
                edit(
                    root,
                    path,
                    "get_user_pages_fast(",
                    0,
                    "pin_user_pages_fast(",
                ),
                edit(root, path, "put_page(", 0, "unpin_user_page("),
            ],
            acquire_sites: 1,
            release_sites: 1,
            facts: facts_from(&summary),
            summary,
            fix: None,
        }
    })
    .collect()
}

#[test]
fn subjects_speak_as_each_subsystem_asks() {
    let root = Path::new("tests/fixtures/series/voices");
    let tree = SourceTree::open(root, None).unwrap();
    let maintainers = Maintainers::load(root).unwrap();
    let opts = PlanOptions {
        target: Target::Unpin,
        ..PlanOptions::default()
    };
    let series = plan(&voice_units(root), &[], &tree, &maintainers, &opts).unwrap();
    snapshot!("voices-plan", render_plan(&series));
    let tags: Vec<Option<&str>> = series.iter().map(|s| s.tag.as_deref()).collect();
    assert!(tags.contains(&Some("net-next")), "{tags:?}");
}
