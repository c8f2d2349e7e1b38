//! Writing rewritten files in place: one transaction per flow.
//!
//! The changed files are grouped so that the files of one flow (a unit and
//! every unit sharing a file with it) are written together. For each group
//! every new text is first staged in a temporary file next to its original
//! (flushed, with the original's permissions); then each original is checked
//! to still hold the bytes that were analysed, through real directories and
//! not as a link (`source::still_holds`); then the temporaries are renamed
//! over the originals. When a check or a rename fails half-way, the files of
//! the group already renamed get their original bytes back, so a flow is
//! never left converted in some files only. A file changed since it was read
//! is never overwritten: its group is left as it was and reported.
//!
//! Temporary names are short and fixed in shape (`source::temporary_name`),
//! so a file name of any legal length can be replaced, and a later run
//! recognises and removes those a killed run left (`remove_stale`). No
//! temporary is created in an append-only or immutable directory, where it
//! could be neither renamed nor removed.

use crate::pipeline::Outcome;
use crate::source::{self, SkipKind, SkippedFile};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, thiserror::Error)]
#[error("{path}: cannot write: {reason} ({written} files already written)")]
pub struct WriteError {
    pub path: String,
    pub reason: String,
    pub written: usize,
}

/// Writes every changed file of the outcome; returns how many were written.
pub fn apply(outcome: &Outcome) -> Result<usize, WriteError> {
    apply_until(outcome, &|| false).map(|a| a.written)
}

/// What `apply_until` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// Files written.
    pub written: usize,
    /// Changed files left as they were because `stop` said so.
    pub left: usize,
    /// Changed files left as they were because they, or another file of
    /// their flow, changed on disk since they were read.
    pub held_back: Vec<SkippedFile>,
}

/// The changed files of an outcome in groups that must be written together
/// (indices into `outcome.files`), in path order of their first file.
pub fn transactions(outcome: &Outcome) -> Vec<Vec<usize>> {
    let changed: Vec<usize> = (0..outcome.files.len())
        .filter(|&i| outcome.files[i].changed())
        .collect();
    let mut parent: BTreeMap<usize, usize> = changed.iter().map(|&i| (i, i)).collect();
    fn root(parent: &mut BTreeMap<usize, usize>, mut i: usize) -> usize {
        while parent[&i] != i {
            let up = parent[&parent[&i]];
            parent.insert(i, up);
            i = up;
        }
        i
    }
    let mut first_file_of_unit: BTreeMap<usize, usize> = BTreeMap::new();
    for &i in &changed {
        for (unit, _) in &outcome.files[i].edits {
            match first_file_of_unit.get(unit) {
                None => {
                    first_file_of_unit.insert(*unit, i);
                }
                Some(&j) => {
                    let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                    parent.insert(a.max(b), a.min(b));
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &i in &changed {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    groups.into_values().collect()
}

/// Writes the changed files one transaction at a time, asking `stop` before
/// each; once it says yes (an interrupt), the remaining files are left
/// untouched. A transaction is never stopped half-way.
pub fn apply_until(outcome: &Outcome, stop: &dyn Fn() -> bool) -> Result<Applied, WriteError> {
    let groups = transactions(outcome);
    let total: usize = groups.iter().map(Vec::len).sum();
    let mut done = 0;
    let mut applied = Applied {
        written: 0,
        left: 0,
        held_back: Vec::new(),
    };
    for group in &groups {
        if stop() {
            applied.left = total - done;
            return Ok(applied);
        }
        done += group.len();
        let files: Vec<(&str, &[u8], &[u8])> = group
            .iter()
            .map(|&i| {
                let f = &outcome.files[i];
                (f.rel_path.as_str(), f.before.as_slice(), f.after.as_slice())
            })
            .collect();
        match write_transaction(&outcome.base, &files) {
            Ok(()) => applied.written += files.len(),
            Err(Failure::Changed { path, why }) => {
                for (rel, _, _) in &files {
                    let reason = if *rel == path {
                        format!("not written: {why}")
                    } else {
                        format!("not written: {path}, a file of the same flow, changed: {why}")
                    };
                    applied
                        .held_back
                        .push(SkippedFile::new(*rel, reason, SkipKind::Unreadable));
                }
            }
            Err(Failure::Io { path, error }) => {
                return Err(WriteError {
                    path,
                    reason: error,
                    written: applied.written,
                })
            }
        }
    }
    Ok(applied)
}

enum Failure {
    /// A file no longer holds what was analysed (nothing of the group was
    /// left written).
    Changed { path: String, why: String },
    /// A write failed (nothing of the group was left written, unless the
    /// message says a restore failed).
    Io { path: String, error: String },
}

/// A staged temporary file, removed on drop unless renamed.
struct Staged {
    tmp: Option<PathBuf>,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(t) = self.tmp.take() {
            let _ = std::fs::remove_file(t);
        }
    }
}

fn write_transaction(base: &Path, files: &[(&str, &[u8], &[u8])]) -> Result<(), Failure> {
    let io = |rel: &str| {
        let rel = rel.to_string();
        move |e: std::io::Error| Failure::Io {
            path: rel,
            error: e.to_string(),
        }
    };
    let changed = |rel: &str, why: String| Failure::Changed {
        path: rel.to_string(),
        why,
    };
    // Check, then stage every file.
    let mut staged = Vec::new();
    for (rel, before, after) in files {
        source::still_holds(base, rel, before).map_err(|why| changed(rel, why))?;
        let path = base.join(rel);
        if let Some(why) = path.parent().and_then(renames_refused) {
            return Err(Failure::Io {
                path: rel.to_string(),
                error: why.into(),
            });
        }
        let perms = std::fs::symlink_metadata(&path)
            .map_err(io(rel))?
            .permissions();
        staged.push(stage(&path, after, Some(perms)).map_err(io(rel))?);
    }
    // Rename, checking each original just before; undo on a failure.
    for (n, ((rel, before, _), s)) in files.iter().zip(&mut staged).enumerate() {
        let failure = match source::still_holds(base, rel, before) {
            Err(why) => Some(changed(rel, why)),
            Ok(()) => {
                let tmp = s.tmp.take().expect("staged once");
                match std::fs::rename(&tmp, base.join(rel)) {
                    Ok(()) => None,
                    Err(e) => {
                        s.tmp = Some(tmp);
                        Some(io(rel)(e))
                    }
                }
            }
        };
        if let Some(failure) = failure {
            return Err(restore(base, &files[..n]).map_or(failure, |e| e));
        }
    }
    Ok(())
}

/// Puts the original bytes back into files already renamed; `Some` when
/// one of them could not be restored.
fn restore(base: &Path, files: &[(&str, &[u8], &[u8])]) -> Option<Failure> {
    let mut failed = None;
    for (rel, before, _) in files.iter().rev() {
        let path = base.join(rel);
        let result = std::fs::symlink_metadata(&path)
            .and_then(|m| stage(&path, before, Some(m.permissions())))
            .and_then(|mut s| {
                let tmp = s.tmp.take().expect("staged once");
                std::fs::rename(&tmp, &path).inspect_err(|_| s.tmp = Some(tmp))
            });
        if let Err(e) = result {
            failed = Some(Failure::Io {
                path: rel.to_string(),
                error: format!("converted, and its original could not be restored: {e}"),
            });
        }
    }
    failed
}

/// Why files in `dir` cannot be replaced by a rename, when its attributes
/// say so: in an append-only or immutable directory a temporary file could
/// be created but neither renamed nor removed, so none is created.
#[cfg(target_os = "linux")]
fn renames_refused(dir: &Path) -> Option<&'static str> {
    use std::os::fd::AsRawFd;
    const FS_IMMUTABLE_FL: libc::c_long = 0x10;
    const FS_APPEND_FL: libc::c_long = 0x20;
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let file = std::fs::File::open(dir).ok()?;
    let mut flags: libc::c_long = 0;
    // SAFETY: FS_IOC_GETFLAGS writes one long into `flags`; a file system
    // without attributes fails, which means no such restriction.
    let r = unsafe { libc::ioctl(file.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) };
    if r != 0 {
        return None;
    }
    if flags & FS_IMMUTABLE_FL != 0 {
        Some("its directory is immutable (chattr +i), where a file cannot be replaced")
    } else if flags & FS_APPEND_FL != 0 {
        Some("its directory is append-only (chattr +a), where a file cannot be replaced")
    } else {
        None
    }
}

#[cfg(not(target_os = "linux"))]
fn renames_refused(_dir: &Path) -> Option<&'static str> {
    None
}

static SERIAL: AtomicUsize = AtomicUsize::new(0);

/// Writes `bytes` to a new temporary file next to `path`, flushed to disk.
fn stage(
    path: &Path,
    bytes: &[u8],
    perms: Option<std::fs::Permissions>,
) -> std::io::Result<Staged> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (tmp, mut file) = loop {
        let tmp = dir.join(source::temporary_name(
            SERIAL.fetch_add(1, Ordering::Relaxed),
        ));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    };
    let staged = Staged { tmp: Some(tmp) };
    file.write_all(bytes)?;
    file.sync_all()?;
    if let Some(p) = perms {
        file.set_permissions(p)?;
    }
    Ok(staged)
}

/// Replaces `path` with `bytes` through a temporary file and a rename. A
/// symbolic link at `path` is replaced itself, never followed.
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let perms = std::fs::symlink_metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.permissions());
    if let Some(why) = path.parent().and_then(renames_refused) {
        return Err(std::io::Error::other(why));
    }
    let mut s = stage(path, bytes, perms)?;
    let tmp = s.tmp.take().expect("staged once");
    std::fs::rename(&tmp, path).inspect_err(|_| s.tmp = Some(tmp))
}

/// Removes the temporary files an earlier, killed run left in the tree;
/// returns those removed and those that could not be, with the reason.
pub fn remove_stale(outcome: &Outcome) -> (Vec<String>, Vec<(String, String)>) {
    let mut removed = Vec::new();
    let mut failed = Vec::new();
    for rel in &outcome.stale_temporaries {
        match std::fs::remove_file(outcome.base.join(rel)) {
            Ok(()) => removed.push(rel.clone()),
            Err(e) => failed.push((rel.clone(), e.to_string())),
        }
    }
    (removed, failed)
}
