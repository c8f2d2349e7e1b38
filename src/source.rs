//! Source discovery: which files a run looks at, and reading them.
//!
//! PATH may be a file or a directory. Inside a git repository the files are
//! those git tracks plus untracked files git does not ignore (what
//! `git ls-files --cached --others --exclude-standard` lists), because some
//! trees (Debian's linux-source) track every file while their `.gitignore`
//! ignores `/*`. Outside a repository the directory is walked with the
//! `ignore` crate, not following symbolic links (so a link loop cannot trap
//! the walk). Only `.c` and `.h` files are kept, sorted by path.
//!
//! This is the only module that reads the user's files.

use std::path::{Path, PathBuf};

/// A file that could not be taken into the run, and why.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SkippedFile {
    pub path: String,
    pub reason: String,
}

/// The files of a run, relative to `base`.
#[derive(Debug)]
pub struct SourceList {
    /// The directory paths are relative to (PATH, or the directory of a PATH
    /// that is a file).
    pub base: PathBuf,
    pub files: Vec<String>,
    pub skipped: Vec<SkippedFile>,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0}: no such file or directory")]
    NotFound(String),
    #[error("{path}: cannot read: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("{0}: not a regular file or a directory")]
    NotFileOrDirectory(String),
}

fn is_c_source(path: &str) -> bool {
    path.ends_with(".c") || path.ends_with(".h")
}

/// Lists the C files below `path`.
pub fn discover(path: &Path) -> Result<SourceList, SourceError> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SourceError::NotFound(path.display().to_string()),
        _ => SourceError::Unreadable {
            path: path.display().to_string(),
            reason: e.to_string(),
        },
    })?;
    if meta.is_file() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        return Ok(SourceList {
            base,
            files: vec![name],
            skipped: Vec::new(),
        });
    }
    if !meta.is_dir() {
        return Err(SourceError::NotFileOrDirectory(path.display().to_string()));
    }
    let mut list = match from_git(path) {
        Some(list) => list,
        None => walk(path)?,
    };
    list.files.sort();
    list.files.dedup();
    list.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(list)
}

/// The files git lists under `dir`, when `dir` is inside a work tree.
fn from_git(dir: &Path) -> Option<SourceList> {
    let repo = git2::Repository::discover(dir).ok()?;
    let workdir = repo.workdir()?.canonicalize().ok()?;
    let dir_abs = dir.canonicalize().ok()?;
    let prefix = dir_abs
        .strip_prefix(&workdir)
        .ok()?
        .to_string_lossy()
        .replace('\\', "/");
    let prefix = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    let index = repo.index().ok()?;
    let mut files = Vec::new();
    for entry in index.iter() {
        let p = String::from_utf8_lossy(&entry.path).into_owned();
        if let Some(rel) = p.strip_prefix(&prefix) {
            // Symbolic links and submodules are not files to rewrite.
            let mode = entry.mode & 0o170000;
            if is_c_source(rel) && mode == 0o100000 {
                files.push(rel.to_string());
            }
        }
    }
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .include_unmodified(false)
        .exclude_submodules(true);
    if !prefix.is_empty() {
        opts.pathspec(&prefix);
    }
    if let Ok(statuses) = repo.statuses(Some(&mut opts)) {
        for s in statuses.iter() {
            if s.status().contains(git2::Status::WT_NEW) {
                let path = String::from_utf8_lossy(s.path_bytes()).into_owned();
                if let Some(rel) = path.strip_prefix(&prefix) {
                    if is_c_source(rel) {
                        files.push(rel.to_string());
                    }
                }
            }
        }
    }
    // Files deleted from the work tree but still in the index are gone.
    files.retain(|f| dir.join(f).is_file());
    Some(SourceList {
        base: dir.to_path_buf(),
        files,
        skipped: Vec::new(),
    })
}

/// Walks a directory that is not in a git work tree.
fn walk(dir: &Path) -> Result<SourceList, SourceError> {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let walker = ignore::WalkBuilder::new(dir).follow_links(false).build();
    for entry in walker {
        match entry {
            Ok(e) => {
                if !e.file_type().is_some_and(|t| t.is_file()) {
                    continue;
                }
                let rel = e
                    .path()
                    .strip_prefix(dir)
                    .unwrap_or(e.path())
                    .to_string_lossy()
                    .replace('\\', "/");
                if is_c_source(&rel) {
                    files.push(rel);
                }
            }
            Err(err) => {
                let path = error_path(&err)
                    .map(|p| p.strip_prefix(dir).unwrap_or(&p).display().to_string());
                skipped.push(SkippedFile {
                    path: path.unwrap_or_else(|| dir.display().to_string()),
                    reason: clean_walk_error(&err),
                });
            }
        }
    }
    Ok(SourceList {
        base: dir.to_path_buf(),
        files,
        skipped,
    })
}

fn error_path(err: &ignore::Error) -> Option<PathBuf> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child.clone()),
        _ => None,
    }
}

fn clean_walk_error(err: &ignore::Error) -> String {
    match err {
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => clean_walk_error(err),
        ignore::Error::Io(io) => format!("cannot read: {io}"),
        other => other.to_string(),
    }
}

/// Why a file's bytes are not C text, if they are not.
pub fn not_text_reason(bytes: &[u8]) -> Option<&'static str> {
    memchr::memchr(0, bytes).map(|_| "binary file (holds NUL bytes)")
}

/// Reads one file of the list.
pub fn read(base: &Path, rel: &str) -> Result<Vec<u8>, SkippedFile> {
    std::fs::read(base.join(rel)).map_err(|e| SkippedFile {
        path: rel.to_string(),
        reason: format!("cannot read: {e}"),
    })
}

/// Whether a file is executable (for the diff's `index` mode).
pub fn is_executable(base: &Path, rel: &str) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(base.join(rel))
            .map(|m| m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        let _ = (base, rel);
        false
    }
}
