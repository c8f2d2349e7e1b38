//! Writes series as git branches: `pinpatch/<series>`, one commit per patch.
//!
//! Trees are built in memory from the base commit's tree, so HEAD, the index
//! and the working tree are never touched; the only visible change is new
//! refs. All branches are written or none: objects are created first, refs
//! last, and refs created before a failure are deleted again (or, when
//! forced, restored to their old targets). Like `git branch -f`, forcing
//! never replaces a branch that is checked out in the repository or in any
//! of its worktrees.

use crate::series::{Identity, Series};
use git2::{build::TreeUpdateBuilder, FileMode, Oid, Repository, Signature, Time};
use std::path::Path;

/// Errors of the git sink.
#[derive(Debug, thiserror::Error)]
pub enum GitSinkError {
    #[error("branch {0} already exists; pass force to replace it")]
    BranchExists(String),
    #[error(
        "branch {branch} is checked out in {worktree}; pinpatch never moves a checked-out branch"
    )]
    CheckedOut { branch: String, worktree: String },
    #[error("{path} in the base does not match the series' original contents")]
    BaseMismatch { path: String },
    #[error("no author identity: set user.name and user.email or pass one")]
    NoIdentity,
    #[error("git: {0}")]
    Git(#[from] git2::Error),
}

/// How to create the branches.
#[derive(Clone, Debug)]
pub struct GitOptions {
    /// The revision the branches start from; `HEAD` when `None`.
    pub base: Option<String>,
    /// Author and committer; from the repository's git config when `None`.
    pub author: Option<Identity>,
    /// Unix time of every signature (see `fixed_time`).
    pub time: i64,
    /// Replace existing branches.
    pub force: bool,
    /// The branch name prefix, `pinpatch/` by default.
    pub prefix: String,
}

impl Default for GitOptions {
    fn default() -> Self {
        GitOptions {
            base: None,
            author: None,
            time: FALLBACK_TIME,
            force: false,
            prefix: "pinpatch/".into(),
        }
    }
}

/// The time used when neither `SOURCE_DATE_EPOCH` nor a base commit gives one
/// (2000-01-01T00:00:00Z).
pub const FALLBACK_TIME: i64 = 946_684_800;

/// Picks a reproducible time: `SOURCE_DATE_EPOCH` when given and valid, else
/// the base commit's time, else `FALLBACK_TIME`. The caller reads the
/// environment; this function does not.
pub fn fixed_time(source_date_epoch: Option<&str>, base_commit_time: Option<i64>) -> i64 {
    source_date_epoch
        .and_then(|s| s.trim().parse().ok())
        .or(base_commit_time)
        .unwrap_or(FALLBACK_TIME)
}

/// One created branch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedBranch {
    /// The full ref name, `refs/heads/pinpatch/<series>`.
    pub refname: String,
    pub tip: Oid,
}

/// Creates one branch per series in the repository at `repo_dir`.
pub fn create_branches(
    repo_dir: &Path,
    series: &[Series],
    opts: &GitOptions,
) -> Result<Vec<CreatedBranch>, GitSinkError> {
    let repo = Repository::open(repo_dir)?;
    let base = repo
        .revparse_single(opts.base.as_deref().unwrap_or("HEAD"))?
        .peel_to_commit()?;
    let id = match &opts.author {
        Some(id) => id.clone(),
        None => {
            let c = repo.config()?;
            match (c.get_string("user.name"), c.get_string("user.email")) {
                (Ok(name), Ok(email)) => Identity { name, email },
                _ => return Err(GitSinkError::NoIdentity),
            }
        }
    };
    let sig = Signature::new(&id.name, &id.email, &Time::new(opts.time, 0))?;

    // Refuse before writing anything when a branch exists.
    let refnames: Vec<String> = series
        .iter()
        .map(|s| format!("refs/heads/{}{}", opts.prefix, s.name))
        .collect();
    if !opts.force {
        for r in &refnames {
            if repo.find_reference(r).is_ok() {
                return Err(GitSinkError::BranchExists(
                    r.trim_start_matches("refs/heads/").to_string(),
                ));
            }
        }
    }

    let checked_out = checked_out_branches(&repo)?;
    for r in &refnames {
        if let Some((_, worktree)) = checked_out.iter().find(|(b, _)| b == r) {
            return Err(GitSinkError::CheckedOut {
                branch: r.trim_start_matches("refs/heads/").to_string(),
                worktree: worktree.clone(),
            });
        }
    }

    // Objects first: they are unreachable until a ref points at them.
    let mut tips = Vec::new();
    for s in series {
        let mut parent = base.clone();
        for p in &s.patches {
            let parent_tree = parent.tree()?;
            let mut update = TreeUpdateBuilder::new();
            for f in &p.files {
                let path = Path::new(&f.path);
                let old = parent_tree.get_path(path).ok();
                match &old {
                    Some(e) if repo.find_blob(e.id())?.content() == f.before.as_slice() => {}
                    _ => {
                        return Err(GitSinkError::BaseMismatch {
                            path: f.path.clone(),
                        })
                    }
                }
                let mode = match old.map(|e| e.filemode()) {
                    Some(0o100755) => FileMode::BlobExecutable,
                    _ => FileMode::Blob,
                };
                let blob = repo.blob(&f.after)?;
                update.upsert(&f.path, blob, mode);
            }
            let tree_id = update.create_updated(&repo, &parent_tree)?;
            let tree = repo.find_tree(tree_id)?;
            let message = format!("{}\n\n{}", p.subject, p.body);
            let oid = repo.commit(None, &sig, &sig, &message, &tree, &[&parent])?;
            parent = repo.find_commit(oid)?;
        }
        tips.push(parent.id());
    }

    // Refs last, undoing the ones already written if one fails.
    let mut done: Vec<(String, Option<Oid>)> = Vec::new();
    for (r, tip) in refnames.iter().zip(&tips) {
        let old = repo.find_reference(r).ok().and_then(|x| x.target());
        match repo.reference(r, *tip, opts.force, "pinpatch: create series branch") {
            Ok(_) => done.push((r.clone(), old)),
            Err(e) => {
                for (name, old) in done.iter().rev() {
                    match old {
                        Some(o) => {
                            let _ = repo.reference(name, *o, true, "pinpatch: restore branch");
                        }
                        None => {
                            if let Ok(mut rf) = repo.find_reference(name) {
                                let _ = rf.delete();
                            }
                        }
                    }
                }
                return Err(e.into());
            }
        }
    }
    Ok(refnames
        .into_iter()
        .zip(tips)
        .map(|(refname, tip)| CreatedBranch { refname, tip })
        .collect())
}

/// The branch each HEAD of the repository and of its worktrees names
/// (born or not), with the worktree's directory.
fn checked_out_branches(repo: &Repository) -> Result<Vec<(String, String)>, GitSinkError> {
    let head_of = |r: &Repository| -> Option<String> {
        let head = r.find_reference("HEAD").ok()?;
        head.symbolic_target().ok().flatten().map(str::to_string)
    };
    let place = |r: &Repository| {
        r.workdir()
            .unwrap_or_else(|| r.path())
            .display()
            .to_string()
    };
    let mut out = Vec::new();
    if let Some(b) = head_of(repo) {
        out.push((b, place(repo)));
    }
    for name in repo.worktrees()?.iter().flatten().flatten() {
        let Ok(wt) = repo.find_worktree(name) else {
            continue;
        };
        if let Ok(r) = Repository::open_from_worktree(&wt) {
            if let Some(b) = head_of(&r) {
                out.push((b, wt.path().display().to_string()));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_time_prefers_source_date_epoch() {
        assert_eq!(fixed_time(Some("1234"), Some(99)), 1234);
        assert_eq!(fixed_time(Some("junk"), Some(99)), 99);
        assert_eq!(fixed_time(None, None), FALLBACK_TIME);
    }
}
