//! Writes series as `git format-patch` files, one directory per series.
//!
//! `OUT/<series>/0000-cover-letter.patch` (for two patches or more) and
//! `OUT/<series>/NNNN-<slug>.patch`
//! are built in a temporary directory next to `OUT` and renamed into place at
//! the end, so a failure never leaves half-written output, and no staging
//! directory is left on any error path. Every output holds a marker file,
//! `OUTPUT_MARKER`; an existing `OUT` is replaced only when asked to and
//! only when it is such an output (the marker, and series directories of
//! `.patch` files, nothing else), so `--force` never deletes what pinpatch
//! did not write. `refuse_overlap` keeps `OUT` from being the tree or one
//! of its parents. Staging directories are named like every temporary of
//! pinpatch; those a killed run left are removed by the next one
//! (`remove_stale_staging`).

use crate::series::text::{cover_mail, patch_mail, MailContext};
use crate::series::{Identity, Series};
use std::path::{Path, PathBuf};

/// Errors of the mbox sink.
#[derive(Debug, thiserror::Error)]
pub enum MboxError {
    #[error("{0} already exists; pass force to replace it")]
    Exists(PathBuf),
    #[error("{0} is not a series output of pinpatch ({1}); it is never replaced")]
    NotAnOutput(PathBuf, String),
    #[error("{out} is {how} the tree {tree}; choose an output directory outside it")]
    Overlaps {
        out: PathBuf,
        tree: PathBuf,
        how: &'static str,
    },
    #[error("interrupted; nothing was written to {0}")]
    Interrupted(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// How to write the files.
#[derive(Clone, Debug)]
pub struct MboxOptions {
    /// The `From:` of every mail.
    pub author: Identity,
    /// Unix time of every `Date:` header (see `sink::git::fixed_time`).
    pub date: i64,
    /// Replace an existing output directory.
    pub force: bool,
}

/// A staging directory next to the output, removed on drop unless kept.
struct Staging {
    path: Option<PathBuf>,
}

impl Staging {
    /// A new directory in `parent`, named like every temporary of pinpatch
    /// (`source::temporary_name`), so that a later run can tell one a killed
    /// run left.
    fn create(parent: &Path) -> Result<Staging, MboxError> {
        for n in 0..1000usize {
            let path = parent.join(crate::source::temporary_name(n));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(Staging { path: Some(path) }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(MboxError::Io { path, source: e }),
            }
        }
        Err(MboxError::Io {
            path: parent.to_path_buf(),
            source: std::io::ErrorKind::AlreadyExists.into(),
        })
    }

    fn path(&self) -> &Path {
        self.path
            .as_deref()
            .expect("staging directory is present until kept")
    }

    fn keep(mut self) -> PathBuf {
        self.path.take().expect("staging directory is kept once")
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if let Some(p) = &self.path {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> MboxError + '_ {
    move |source| MboxError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The file every series output holds, by which `--force` knows it.
pub const OUTPUT_MARKER: &str = ".pinpatch.series";

const MARKER_TEXT: &str =
    "This directory holds patch series written by pinpatch; `pinpatch series --force` replaces it.\n";

/// `path` made absolute and free of `.` and `..` (through the canonical form
/// of its parent), so that `.` or `dir/..` name a real directory entry.
fn absolute(path: &Path) -> std::io::Result<PathBuf> {
    if let Ok(p) = std::fs::symlink_metadata(path) {
        if p.is_dir() {
            return path.canonicalize();
        }
    }
    let name = path.file_name();
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match (name, parent.canonicalize()) {
        (Some(n), Ok(p)) => Ok(p.join(n)),
        _ => std::path::absolute(path),
    }
}

/// Removes the staging directories a killed run left next to `out` (named
/// as `source::temporary_name` names them, of a process that is gone);
/// returns those removed.
pub fn remove_stale_staging(out: &Path) -> Vec<PathBuf> {
    let Ok(target) = absolute(out) else {
        return Vec::new();
    };
    let Some(parent) = target.parent() else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for e in entries.flatten() {
        let stale = e.file_type().is_ok_and(|t| t.is_dir())
            && e.file_name()
                .to_str()
                .is_some_and(crate::source::is_stale_temporary);
        if stale && std::fs::remove_dir_all(e.path()).is_ok() {
            removed.push(e.path());
        }
    }
    removed.sort();
    removed
}

/// Refuses an output directory that is the tree at `tree` or holds it.
pub fn refuse_overlap(out: &Path, tree: &Path) -> Result<(), MboxError> {
    let out_abs = absolute(out).map_err(io(out))?;
    let tree_abs = tree.canonicalize().map_err(io(tree))?;
    let how = if out_abs == tree_abs {
        "the same directory as"
    } else if tree_abs.starts_with(&out_abs) {
        "a parent of"
    } else {
        return Ok(());
    };
    Err(MboxError::Overlaps {
        out: out.to_path_buf(),
        tree: tree.to_path_buf(),
        how,
    })
}

/// Checks that `out` is a previous series output: a real directory holding
/// the marker and directories of `.patch` files, nothing else.
fn check_previous_output(out: &Path) -> Result<(), MboxError> {
    let not = |why: String| MboxError::NotAnOutput(out.to_path_buf(), why);
    let meta = std::fs::symlink_metadata(out).map_err(io(out))?;
    if !meta.is_dir() {
        return Err(not("not a directory".into()));
    }
    if !out.join(OUTPUT_MARKER).is_file() {
        return Err(not(format!("no {OUTPUT_MARKER} file")));
    }
    for entry in std::fs::read_dir(out).map_err(io(out))? {
        let entry = entry.map_err(io(out))?;
        let name = entry.file_name();
        let kind = entry.file_type().map_err(io(out))?;
        if name == OUTPUT_MARKER && kind.is_file() {
            continue;
        }
        if !kind.is_dir() {
            return Err(not(format!("it holds {}", name.to_string_lossy())));
        }
        for patch in std::fs::read_dir(entry.path()).map_err(io(out))? {
            let patch = patch.map_err(io(out))?;
            let is_patch = patch.file_type().is_ok_and(|t| t.is_file())
                && patch.file_name().to_string_lossy().ends_with(".patch");
            if !is_patch {
                return Err(not(format!(
                    "it holds {}/{}",
                    name.to_string_lossy(),
                    patch.file_name().to_string_lossy()
                )));
            }
        }
    }
    Ok(())
}

/// The file name git format-patch gives a patch: its number and a slug of
/// the subject, cut at 52 characters.
pub fn patch_file_name(n: usize, subject: &str) -> String {
    let mut slug = String::new();
    for c in subject.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    // Like git, trim first and cut afterwards, so a cut may end in `-`.
    let mut slug = slug.trim_matches(|c| c == '-' || c == '.').to_string();
    slug.truncate(52);
    format!("{n:04}-{slug}.patch")
}

/// Writes every series into `out/<series-name>/` and returns the paths of
/// the written files, in order.
pub fn write_series(
    series: &[Series],
    out: &Path,
    opts: &MboxOptions,
) -> Result<Vec<PathBuf>, MboxError> {
    write_series_until(series, out, opts, &|| false)
}

/// `write_series`, asking `stop` before each file; once it says yes (an
/// interrupt), the staging directory is removed and `out` is left as it was.
pub fn write_series_until(
    series: &[Series],
    out: &Path,
    opts: &MboxOptions,
    stop: &dyn Fn() -> bool,
) -> Result<Vec<PathBuf>, MboxError> {
    let check = || {
        if stop() {
            Err(MboxError::Interrupted(out.to_path_buf()))
        } else {
            Ok(())
        }
    };
    if std::fs::symlink_metadata(out).is_ok() && !opts.force {
        return Err(MboxError::Exists(out.to_path_buf()));
    }
    if let Some(p) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(p).map_err(io(p))?;
    }
    // From here on the output is named by its absolute path, so that `.`
    // or `dir/..` are real entries of a real parent.
    let target = &absolute(out).map_err(io(out))?;
    if std::fs::symlink_metadata(target).is_ok() {
        check_previous_output(target)?;
    }
    let parent = target.parent().unwrap_or(Path::new("/")).to_path_buf();
    let tmp = Staging::create(&parent)?;
    let ctx = MailContext {
        author: &opts.author,
        date: opts.date,
        with_recipients: true,
    };
    let mut written = Vec::new();
    for s in series {
        let dir = tmp.path().join(&s.name);
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        check()?;
        // As with git format-patch, a single patch has no cover letter.
        if s.patches.len() > 1 {
            let cover = dir.join("0000-cover-letter.patch");
            std::fs::write(&cover, cover_mail(s, &ctx)).map_err(io(&cover))?;
            written.push(out.join(&s.name).join("0000-cover-letter.patch"));
        }
        for (i, p) in s.patches.iter().enumerate() {
            let name = patch_file_name(i + 1, &p.subject);
            check()?;
            let file = dir.join(&name);
            let mail = patch_mail(p, s.tag.as_deref(), i + 1, s.patches.len(), &ctx);
            std::fs::write(&file, mail).map_err(io(&file))?;
            written.push(out.join(&s.name).join(name));
        }
    }
    check()?;
    let marker = tmp.path().join(OUTPUT_MARKER);
    std::fs::write(&marker, MARKER_TEXT).map_err(io(&marker))?;

    if std::fs::symlink_metadata(target).is_ok() {
        // The old output is moved aside first so the swap cannot lose both.
        let old = Staging::create(&parent)?;
        std::fs::remove_dir(old.path()).map_err(io(old.path()))?;
        std::fs::rename(target, old.path()).map_err(io(target))?;
        if let Err(e) = std::fs::rename(tmp.path(), target) {
            let _ = std::fs::rename(old.path(), target);
            return Err(MboxError::Io {
                path: target.to_path_buf(),
                source: e,
            });
        }
        tmp.keep();
        drop(old);
    } else {
        std::fs::rename(tmp.path(), target).map_err(io(target))?;
        tmp.keep();
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_follow_format_patch() {
        assert_eq!(
            patch_file_name(1, "RDMA/qib: convert put_page() to unpin_user_page*()"),
            "0001-RDMA-qib-convert-put_page-to-unpin_user_page.patch"
        );
    }
}
