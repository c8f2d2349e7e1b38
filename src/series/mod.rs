//! From conversion units to reviewable patch series.
//!
//! `plan` takes the units the rewriter produced and the sites it left for a
//! human, reads the original files, and returns `Series` values: one patch
//! per subsystem, grouped by how hard the change is to review and by where it
//! is routed, each with its subject, message, recipients and cover letter.
//! Every sink (dry run, mbox files, git branches) consumes these values, so
//! a preview shows exactly what would be written. Nothing in this module
//! writes anything; the only side effect is reading the tree and, when the
//! tree is a git repository, its history.
//!
//! Output is deterministic: inputs are sorted before use and no hash-map
//! order reaches the result.

pub mod fallback;
pub mod from_outcome;
pub mod group;
pub mod input;
pub mod maintainers;
pub mod message;
pub mod text;
pub mod voice;

use input::{Class, ManualSite, Target, Unit};
use maintainers::Maintainers;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Errors of the series layer.
#[derive(Debug, thiserror::Error)]
pub enum SeriesError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not in the base commit")]
    NotInBase { path: String },
    #[error("edits of {path} overlap or lie outside the file ({start}..{end})")]
    BadEdit {
        path: String,
        start: usize,
        end: usize,
    },
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    #[error(transparent)]
    Maintainers(#[from] maintainers::MaintainersError),
}

/// A person, for `From:`, commit signatures and `Signed-off-by:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

impl Identity {
    /// `Name <email>`.
    pub fn formatted(&self) -> String {
        format!("{} <{}>", self.name, self.email)
    }

    /// `user.name` and `user.email` from the git configuration of `repo_dir`
    /// (or the global one when it is not a repository).
    pub fn from_git_config(repo_dir: &Path) -> Option<Identity> {
        let config = match git2::Repository::open(repo_dir) {
            Ok(repo) => repo.config().ok()?,
            Err(_) => git2::Config::open_default().ok()?,
        };
        let name = config.get_string("user.name").ok()?;
        let email = config.get_string("user.email").ok()?;
        Some(Identity { name, email })
    }
}

/// One file's contents before and after a patch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    /// Path relative to the tree root, `/` separated.
    pub path: String,
    pub before: Vec<u8>,
    pub after: Vec<u8>,
    /// The git file mode, `0o100644` or `0o100755`.
    pub mode: u32,
}

impl FileChange {
    /// The mode as git writes it in `index` lines.
    pub fn mode_text(&self) -> String {
        format!("{:o}", self.mode)
    }
}

/// One patch: one subsystem's share of a series.
#[derive(Clone, Debug)]
pub struct Patch {
    pub subject: String,
    /// The commit message after the subject, ending in a newline, with
    /// `Signed-off-by:` only when an identity was given.
    pub body: String,
    /// Text after the `---` line, before the diffstat, that `git am`
    /// drops: the cover letter's notes when the series has one patch.
    pub notes: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// Sorted by path.
    pub files: Vec<FileChange>,
    /// The MAINTAINERS section title of the patch's files, or `THE REST`.
    pub subsystem: String,
    /// The unit summaries, sorted.
    pub summaries: Vec<String>,
    pub acquire_sites: usize,
    pub release_sites: usize,
    /// The rules that produced the patch.
    pub rules: Vec<String>,
}

/// The `[PATCH 0/N]` mail of a series.
#[derive(Clone, Debug)]
pub struct Cover {
    pub subject: String,
    /// The blurb; the sinks add the shortlog, diffstat and `base-commit:`.
    pub body: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub base_commit: Option<String>,
}

/// A patch series, posted as one thread of at most 15 patches.
#[derive(Clone, Debug)]
pub struct Series {
    /// A stable slug such as `fixes-rds`, `easy`, `local-rdma` or `easy-2`.
    pub name: String,
    /// The series repairs a mismatch (pinned pages released with
    /// `put_page()`); such series come first.
    pub fix: bool,
    pub class: Class,
    /// The `T:` tree the series goes through, when all its patches share one.
    pub tree: Option<String>,
    /// The word the subject tag carries after `PATCH` (`net`, `net-next`),
    /// when the series' subsystems ask for one (`voice`).
    pub tag: Option<String>,
    pub patches: Vec<Patch>,
    /// The cover letter; the sinks write it only for two patches or more.
    pub cover: Cover,
    /// Sites left for a human that belong to this series' area.
    pub manual: Vec<ManualSite>,
}

/// Options of `plan` that do not come from the tree.
#[derive(Clone, Debug)]
pub struct PlanOptions {
    pub target: Target,
    /// Adds `Signed-off-by:` with this identity; `None` adds none.
    pub signoff: Option<Identity>,
    /// Most patches in one series; larger series are split. 15 by default.
    pub max_patches: usize,
    /// How many recent commits per file to read for subject prefixes; 0
    /// derives prefixes from paths only.
    pub history_depth: usize,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            target: Target::Unpin,
            signoff: None,
            max_patches: 15,
            history_depth: 50,
        }
    }
}

/// The tree the edits apply to: a directory, and its git repository with a
/// base commit when there is one.
pub struct SourceTree {
    root: PathBuf,
    repo: Option<git2::Repository>,
    base: Option<git2::Oid>,
}

impl SourceTree {
    /// Opens a tree. When `root` is the top of a git repository with
    /// commits, original contents come from `base_rev` (or `HEAD`); otherwise
    /// they are read from disk.
    pub fn open(root: &Path, base_rev: Option<&str>) -> Result<SourceTree, SeriesError> {
        let repo = git2::Repository::open(root).ok();
        let base = match &repo {
            Some(repo) => match base_rev {
                Some(rev) => Some(repo.revparse_single(rev)?.peel_to_commit()?.id()),
                None => repo
                    .head()
                    .ok()
                    .and_then(|h| h.peel_to_commit().ok())
                    .map(|c| c.id()),
            },
            None => None,
        };
        Ok(SourceTree {
            root: root.to_path_buf(),
            repo,
            base,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The base commit, when the tree is a git repository.
    pub fn base_commit(&self) -> Option<String> {
        self.base.map(|o| o.to_string())
    }

    /// The committer time of the base commit.
    pub fn base_time(&self) -> Option<i64> {
        let repo = self.repo.as_ref()?;
        Some(
            repo.find_commit(self.base?)
                .ok()?
                .committer()
                .when()
                .seconds(),
        )
    }

    /// The original bytes and git mode of a file.
    pub fn read(&self, path: &str) -> Result<(Vec<u8>, u32), SeriesError> {
        if let (Some(repo), Some(base)) = (&self.repo, self.base) {
            let tree = repo.find_commit(base)?.tree()?;
            let entry = tree
                .get_path(Path::new(path))
                .map_err(|_| SeriesError::NotInBase { path: path.into() })?;
            let blob = repo.find_blob(entry.id())?;
            let mode = if entry.filemode() == 0o100755 {
                0o100755
            } else {
                0o100644
            };
            return Ok((blob.content().to_vec(), mode));
        }
        let full = self.root.join(path);
        let bytes =
            crate::source::read_regular_file(&full).map_err(|source| SeriesError::Read {
                path: full.clone(),
                source,
            })?;
        Ok((bytes, disk_mode(&full)))
    }

    /// Subjects of up to `depth` recent non-merge commits that changed `path`,
    /// newest first, following first parents from the base commit.
    pub fn history_subjects(&self, path: &str, depth: usize) -> Vec<String> {
        let (Some(repo), Some(base)) = (&self.repo, self.base) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let Ok(mut walk) = repo.revwalk() else {
            return out;
        };
        if walk.push(base).is_err() || walk.simplify_first_parent().is_err() {
            return out;
        }
        let p = Path::new(path);
        // Walking is bounded so a huge history cannot stall planning.
        for oid in walk.take(20_000).flatten() {
            if out.len() >= depth {
                break;
            }
            let Ok(commit) = repo.find_commit(oid) else {
                continue;
            };
            if commit.parent_count() > 1 {
                continue;
            }
            let here = commit
                .tree()
                .ok()
                .and_then(|t| t.get_path(p).ok())
                .map(|e| e.id());
            let before = commit
                .parent(0)
                .ok()
                .and_then(|c| c.tree().ok())
                .and_then(|t| t.get_path(p).ok())
                .map(|e| e.id());
            // A root commit imports the tree: its subject says nothing
            // about the file.
            if here != before && commit.parent_count() == 1 {
                if let Ok(Some(s)) = commit.summary() {
                    out.push(s.to_string());
                }
            }
        }
        out
    }
}

impl SourceTree {
    /// The commit that last changed `line` of `path` before the base, for
    /// a `Fixes:` trailer: `None` without history, or when that line comes
    /// from the root commit (an import, which introduced nothing).
    pub fn blame_line(&self, path: &str, line: usize) -> Option<message::FixesTag> {
        let (repo, base) = (self.repo.as_ref()?, self.base?);
        let mut opts = git2::BlameOptions::new();
        opts.newest_commit(base)
            .min_line(line)
            .max_line(line)
            .first_parent(true);
        let blame = repo.blame_file(Path::new(path), Some(&mut opts)).ok()?;
        let hunk = blame.get_line(line)?;
        let commit = repo.find_commit(hunk.final_commit_id()).ok()?;
        if commit.parent_count() == 0 {
            return None;
        }
        let id = commit.id().to_string();
        Some(message::FixesTag {
            id: id[..12].to_string(),
            subject: commit.summary().ok().flatten()?.to_string(),
        })
    }

    /// The upstream release of a kernel tree, `6.1.172`, from its top
    /// Makefile (`VERSION`, `PATCHLEVEL`, `SUBLEVEL`, `EXTRAVERSION`).
    pub fn kernel_release(&self) -> Option<String> {
        let (bytes, _) = self.read("Makefile").ok()?;
        let text = String::from_utf8_lossy(&bytes);
        let field = |name: &str| -> Option<String> {
            text.lines().take(20).find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == name).then(|| v.trim().to_string())
            })
        };
        let version =
            field("VERSION").filter(|v| v.chars().all(|c| c.is_ascii_digit()) && !v.is_empty())?;
        let patchlevel = field("PATCHLEVEL")?;
        let mut release = format!("{version}.{patchlevel}");
        if let Some(sub) = field("SUBLEVEL").filter(|s| !s.is_empty() && s != "0") {
            release.push_str(&format!(".{sub}"));
        }
        release.push_str(&field("EXTRAVERSION").unwrap_or_default());
        Some(release)
    }
}

#[cfg(unix)]
fn disk_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o111 != 0 => 0o100755,
        _ => 0o100644,
    }
}

#[cfg(not(unix))]
fn disk_mode(_path: &Path) -> u32 {
    0o100644
}

/// Plans the patch series for `units`, listing `manual` sites in the cover
/// letters. The result is sorted fixes first, then by class and name.
pub fn plan(
    units: &[Unit],
    manual: &[ManualSite],
    tree: &SourceTree,
    maintainers: &Maintainers,
    opts: &PlanOptions,
) -> Result<Vec<Series>, SeriesError> {
    group::build(units, manual, tree, maintainers, opts)
}

/// Renders a `--dry-run` plan: series, patches, files and recipients.
pub fn render_plan(series: &[Series]) -> String {
    let mut s = String::new();
    if series.is_empty() {
        s.push_str("No patch series: nothing to convert.\n");
    }
    for sr in series {
        let _ = writeln!(
            s,
            "series {} ({}, {} patch{})",
            sr.name,
            if sr.fix { "fixes" } else { sr.class.name() },
            sr.patches.len(),
            if sr.patches.len() == 1 { "" } else { "es" }
        );
        if let Some(t) = &sr.tree {
            let _ = writeln!(s, "  tree: {t}");
        }
        if sr.patches.len() > 1 {
            let _ = writeln!(
                s,
                "  cover: {} {}",
                text::patch_tag(sr.tag.as_deref(), 0, sr.patches.len()),
                sr.cover.subject
            );
            let _ = writeln!(s, "    to: {}", list_or_none(&sr.cover.to));
            let _ = writeln!(s, "    cc: {}", list_or_none(&sr.cover.cc));
        }
        for (i, p) in sr.patches.iter().enumerate() {
            let _ = writeln!(
                s,
                "  {} {}",
                text::patch_tag(sr.tag.as_deref(), i + 1, sr.patches.len()),
                p.subject
            );
            let _ = writeln!(s, "    subsystem: {}", p.subsystem);
            let rows = text::stat_rows(&p.files);
            for r in &rows {
                let _ = writeln!(
                    s,
                    "    file: {} (+{} -{})",
                    r.path, r.insertions, r.deletions
                );
            }
            let _ = writeln!(s, "    to: {}", list_or_none(&p.to));
            let _ = writeln!(s, "    cc: {}", list_or_none(&p.cc));
        }
        for m in &sr.manual {
            let _ = writeln!(
                s,
                "  manual: {}:{} {}(): {}",
                m.path, m.line, m.function, m.reason
            );
        }
    }
    s
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "(none)".into()
    } else {
        v.join(", ")
    }
}
