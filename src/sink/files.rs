//! Writing rewritten files in place, atomically.
//!
//! Each file is written to a temporary file in its own directory, flushed,
//! given the original's permissions and renamed over the original, so a
//! reader (or an interrupted run) sees either the old or the new file, never
//! half of one. Files are written one by one; a failure stops the run and
//! says which files were already written.

use crate::pipeline::Outcome;
use std::io::Write;
use std::path::{Path, PathBuf};

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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applied {
    /// Files written.
    pub written: usize,
    /// Changed files left as they were because `stop` said so.
    pub left: usize,
}

/// Writes the changed files one by one, asking `stop` before each; once it
/// says yes (an interrupt), the remaining files are left untouched. A file
/// is never stopped half-way: it is written whole or not at all.
pub fn apply_until(outcome: &Outcome, stop: &dyn Fn() -> bool) -> Result<Applied, WriteError> {
    let changed: Vec<_> = outcome.files.iter().filter(|f| f.changed()).collect();
    let mut written = 0;
    for f in &changed {
        if stop() {
            return Ok(Applied {
                written,
                left: changed.len() - written,
            });
        }
        let path = outcome.base.join(&f.rel_path);
        write_atomic(&path, &f.after).map_err(|e| WriteError {
            path: f.rel_path.clone(),
            reason: e.to_string(),
            written,
        })?;
        written += 1;
    }
    Ok(Applied { written, left: 0 })
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.pinpatch-{}.tmp", std::process::id()))
}

/// Replaces `path` with `bytes` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = temp_path(path);
    let result = (|| {
        let perms = std::fs::metadata(path)?.permissions();
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::set_permissions(&tmp, perms)?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Writes a new file (or replaces one) through a temporary file and a rename.
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if !path.exists() {
        std::fs::write(path, b"")?;
    }
    write_atomic(path, bytes)
}
