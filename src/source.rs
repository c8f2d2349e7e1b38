//! Source discovery: which files a run looks at, and reading them.
//!
//! PATH may be a file or a directory. Inside a git repository the files are
//! those git tracks plus untracked files git does not ignore (what
//! `git ls-files --cached --others --exclude-standard` lists), because some
//! trees (Debian's linux-source) track every file while their `.gitignore`
//! ignores `/*`. Outside a repository the whole directory is walked, hidden
//! files included and no ignore file obeyed, so that both modes read the
//! same files of a tree. Only `.c` and `.h` files are kept, sorted by path.
//!
//! Symbolic links are never followed, in either mode: a file is taken only
//! when it and every directory between it and PATH are real (checked with
//! `symlink_metadata`), and it is opened with `O_NOFOLLOW | O_NONBLOCK` and
//! checked to be a regular file, so a FIFO or a device is never read. A link
//! that leaves the tree or leads nowhere is reported as skipped; a link to a
//! place inside the tree is left out silently (that place is read as itself).
//!
//! Every read of a user's file goes through this module: the tree's files
//! here, and MAINTAINERS, `.mailmap`, rule files and baselines through
//! `read_regular_file`.
//!
//! `words.rs` keeps, from that first read, which words each file may hold,
//! so that later searches of the tree read only the files that can match;
//! `index.rs` keeps that, with each file's identity, between runs.

pub mod index;
pub mod words;

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// What a skipped file means for the flows of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipKind {
    /// Its bytes could not be read (or named): it may use any name, so every
    /// flow that leaves its function is blocked.
    Unreadable,
    /// Its bytes were read but are not C the parser takes (binary, or the
    /// parser gave up): a flow whose names it mentions is blocked.
    NotC,
    /// A symbolic link, not followed: not part of the tree.
    NotFollowed,
}

/// A file that could not be taken into the run, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SkippedFile {
    pub path: String,
    pub reason: String,
    #[serde(skip)]
    pub kind: SkipKind,
}

impl SkippedFile {
    pub fn new(path: impl Into<String>, reason: impl Into<String>, kind: SkipKind) -> SkippedFile {
        SkippedFile {
            path: path.into(),
            reason: reason.into(),
            kind,
        }
    }
}

/// The files of a run, relative to `base`.
#[derive(Debug)]
pub struct SourceList {
    /// The directory paths are relative to (PATH, or the directory of a PATH
    /// that is a file).
    pub base: PathBuf,
    pub files: Vec<String>,
    pub skipped: Vec<SkippedFile>,
    /// Temporary files an earlier run of pinpatch left behind (its process is
    /// gone), relative to `base`.
    pub stale_temporaries: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0}: no such file or directory")]
    NotFound(String),
    #[error("{path}: cannot read: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("{0}: not a regular file or a directory")]
    NotFileOrDirectory(String),
    #[error("{0}: a symbolic link to a file; pinpatch never writes through a link, name the file itself")]
    LinkToFile(String),
}

fn is_c_source(path: &str) -> bool {
    path.ends_with(".c") || path.ends_with(".h")
}

fn is_c_source_bytes(path: &[u8]) -> bool {
    path.ends_with(b".c") || path.ends_with(b".h")
}

/// The prefix of every temporary file pinpatch writes.
pub const TEMPORARY_PREFIX: &str = ".pinpatch-";

/// The name of a temporary file of this process: short and of bounded
/// length whatever the name of the file it replaces (`NAME_MAX` is 255).
pub fn temporary_name(serial: usize) -> String {
    format!("{TEMPORARY_PREFIX}{}-{serial}.tmp", std::process::id())
}

/// Whether a path as a user gives it (`drivers/x/y.c`, `./drivers/x/y.c`,
/// `/src/linux/drivers/x/y.c`) names the tree's file `rel`: it is `rel`,
/// or ends with `/` and `rel`.
pub fn names_file(given: &str, rel: &str) -> bool {
    given
        .strip_suffix(rel)
        .is_some_and(|head| head.is_empty() || head.ends_with('/'))
}

/// Whether `name` is a temporary file of a pinpatch process that is gone.
pub fn is_stale_temporary(name: &str) -> bool {
    let Some(pid) = name
        .strip_prefix(TEMPORARY_PREFIX)
        .and_then(|r| r.strip_suffix(".tmp"))
        .and_then(|r| r.split_once('-'))
        .filter(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|(p, _)| p.parse::<u32>().ok())
    else {
        return false;
    };
    !process_exists(pid)
}

#[cfg(unix)]
fn process_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(not(unix))]
fn process_exists(_pid: u32) -> bool {
    true
}

/// Lists the C files below `path`.
pub fn discover(path: &Path) -> Result<SourceList, SourceError> {
    let unreadable = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => SourceError::NotFound(path.display().to_string()),
        _ => SourceError::Unreadable {
            path: path.display().to_string(),
            reason: e.to_string(),
        },
    };
    let own = std::fs::symlink_metadata(path).map_err(unreadable)?;
    // PATH itself may be a link to a directory (the tree is where it
    // leads), never a link to a file (writing would replace the link).
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if meta.is_file() {
        if own.file_type().is_symlink() {
            return Err(SourceError::LinkToFile(path.display().to_string()));
        }
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
            stale_temporaries: Vec::new(),
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
    // By path, then by reason: the walk's threads find entries in no set
    // order, and of two reports of one path the first sorted is kept.
    list.skipped
        .sort_by(|a, b| (&a.path, &a.reason).cmp(&(&b.path, &b.reason)));
    list.skipped.dedup_by(|a, b| a.path == b.path);
    list.stale_temporaries.sort();
    Ok(list)
}

/// Why a symbolic link at `link` is reported, if it is: it leads nowhere or
/// out of the tree whose canonical root is `root`.
fn link_report(root: Option<&Path>, link: &Path) -> Option<String> {
    match link.canonicalize() {
        Err(e) => Some(format!(
            "symbolic link that does not resolve ({e}); not followed"
        )),
        Ok(target) if root.is_some_and(|r| !target.starts_with(r)) => Some(format!(
            "symbolic link to {} outside the tree; not followed",
            target.display()
        )),
        Ok(_) => None,
    }
}

/// Checks that `rel` below `base` is a regular file reached through real
/// directories only. `Ok(true)` when it is; `Ok(false)` when it is not a
/// regular file (a FIFO, a device, gone); `Err` with the skip to report
/// when a link is on the way. Directories already checked are remembered in
/// `dirs` (`None` when real, else the link that replaces them).
fn check_in_tree(
    base: &Path,
    root: Option<&Path>,
    rel: &str,
    dirs: &mut HashMap<String, Option<SkippedFile>>,
) -> Result<bool, Option<SkippedFile>> {
    let mut at = 0;
    while let Some(slash) = rel[at..].find('/') {
        let dir = &rel[..at + slash];
        let verdict = dirs.entry(dir.to_string()).or_insert_with(|| {
            let full = base.join(dir);
            match std::fs::symlink_metadata(&full) {
                Ok(m) if m.file_type().is_symlink() => Some(SkippedFile::new(
                    dir,
                    link_report(root, &full)
                        .unwrap_or_else(|| "symbolic link to a directory; not followed".into()),
                    SkipKind::NotFollowed,
                )),
                _ => None,
            }
        });
        if let Some(skip) = verdict {
            return Err(Some(skip.clone()));
        }
        at += slash + 1;
    }
    let full = base.join(rel);
    match std::fs::symlink_metadata(&full) {
        Ok(m) if m.file_type().is_symlink() => {
            Err(link_report(root, &full)
                .map(|why| SkippedFile::new(rel, why, SkipKind::NotFollowed)))
        }
        Ok(m) => Ok(m.is_file()),
        Err(_) => Ok(false),
    }
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
    let mut candidates = Vec::new();
    let mut skipped = Vec::new();
    let mut stale_temporaries = Vec::new();
    let mut take = |bytes: &[u8], tracked_file: bool, skipped: &mut Vec<SkippedFile>| {
        let Some(rel) = bytes.strip_prefix(prefix.as_bytes()) else {
            return;
        };
        match std::str::from_utf8(rel) {
            Ok(rel) if is_c_source(rel) && tracked_file => candidates.push(rel.to_string()),
            Ok(rel) => {
                let name = rel.rsplit('/').next().unwrap_or(rel);
                if is_stale_temporary(name) {
                    stale_temporaries.push(rel.to_string());
                }
            }
            Err(_) if is_c_source_bytes(rel) && tracked_file => skipped.push(SkippedFile::new(
                String::from_utf8_lossy(rel),
                "the file name is not UTF-8, which pinpatch cannot name in a diff",
                SkipKind::Unreadable,
            )),
            Err(_) => {}
        }
    };
    for entry in index.iter() {
        // Symbolic links and submodules are not files to rewrite.
        let mode = entry.mode & 0o170000;
        take(&entry.path, mode == 0o100000, &mut skipped);
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
                take(s.path_bytes(), true, &mut skipped);
            }
        }
    }
    // Files deleted from the work tree but still in the index are gone;
    // links, and files below links, are not followed.
    let mut dirs = HashMap::new();
    let mut files = Vec::new();
    for rel in candidates {
        match check_in_tree(dir, Some(&dir_abs), &rel, &mut dirs) {
            Ok(true) => files.push(rel),
            Ok(false) | Err(None) => {}
            Err(Some(skip)) => skipped.push(skip),
        }
    }
    Some(SourceList {
        base: dir.to_path_buf(),
        files,
        skipped,
        stale_temporaries,
    })
}

/// Walks a directory that is not in a git work tree: every file, hidden
/// ones included, no ignore file obeyed, links not followed.
fn walk(dir: &Path) -> Result<SourceList, SourceError> {
    let root = dir.canonicalize().ok();
    // One walker per thread of the pool the run reads with: a tree of tens
    // of thousands of directories is listed in a fraction of the time. The
    // order the threads find entries in is theirs; `discover` sorts.
    let list = std::sync::Mutex::new(SourceList {
        base: dir.to_path_buf(),
        files: Vec::new(),
        skipped: Vec::new(),
        stale_temporaries: Vec::new(),
    });
    ignore::WalkBuilder::new(dir)
        .standard_filters(false)
        .follow_links(false)
        .threads(rayon::current_num_threads())
        .build_parallel()
        .run(|| {
            let (list, root) = (&list, root.as_deref());
            Box::new(move |entry| {
                if let Some(found) = walked(dir, root, entry) {
                    let mut list = list.lock().unwrap_or_else(|e| e.into_inner());
                    match found {
                        Walked::Source(rel) => list.files.push(rel),
                        Walked::Skipped(s) => list.skipped.push(s),
                        Walked::StaleTemporary(rel) => list.stale_temporaries.push(rel),
                    }
                }
                ignore::WalkState::Continue
            })
        });
    Ok(list.into_inner().unwrap_or_else(|e| e.into_inner()))
}

/// What one entry of a walk adds to the list of sources.
enum Walked {
    Source(String),
    Skipped(SkippedFile),
    StaleTemporary(String),
}

/// What the walk of `dir` (whose canonical path is `root`) makes of one
/// entry: a C source, a file or link reported as skipped, a temporary file
/// an earlier run left, or nothing.
fn walked(
    dir: &Path,
    root: Option<&Path>,
    entry: Result<ignore::DirEntry, ignore::Error>,
) -> Option<Walked> {
    let e = match entry {
        Ok(e) => e,
        Err(err) => {
            let path =
                error_path(&err).map(|p| p.strip_prefix(dir).unwrap_or(&p).display().to_string());
            return Some(Walked::Skipped(SkippedFile::new(
                path.unwrap_or_else(|| dir.display().to_string()),
                clean_walk_error(&err),
                SkipKind::Unreadable,
            )));
        }
    };
    let kind = e.file_type()?;
    let rel_os = e.path().strip_prefix(dir).unwrap_or(e.path());
    let Some(rel) = rel_os.to_str().map(|r| r.replace('\\', "/")) else {
        let named_c = kind.is_file() && is_c_source_bytes(rel_os.as_os_str().as_encoded_bytes());
        return named_c.then(|| {
            Walked::Skipped(SkippedFile::new(
                rel_os.to_string_lossy(),
                "the file name is not UTF-8, which pinpatch cannot name in a diff",
                SkipKind::Unreadable,
            ))
        });
    };
    if kind.is_symlink() {
        let is_dir = std::fs::metadata(e.path()).is_ok_and(|m| m.is_dir());
        if !is_dir && !is_c_source(&rel) {
            return None;
        }
        let why = link_report(root, e.path())?;
        Some(Walked::Skipped(SkippedFile::new(
            rel,
            why,
            SkipKind::NotFollowed,
        )))
    } else if kind.is_file() {
        if is_c_source(&rel) {
            Some(Walked::Source(rel))
        } else if e.file_name().to_str().is_some_and(is_stale_temporary) {
            Some(Walked::StaleTemporary(rel))
        } else {
            None
        }
    } else {
        None
    }
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

/// Opens `path` for reading without blocking on a FIFO or a device and,
/// when `follow` is false, without following a link in its last component;
/// anything but a regular file is refused before a byte is read.
fn open_regular(path: &Path, follow: bool) -> std::io::Result<std::fs::File> {
    open_regular_sized(path, follow).map(|(file, _)| file)
}

/// `open_regular`, and the size the file had when it was opened.
fn open_regular_sized(path: &Path, follow: bool) -> std::io::Result<(std::fs::File, u64)> {
    open_regular_meta(path, follow).map(|(file, meta)| (file, meta.len()))
}

/// `open_regular`, and the file's metadata when it was opened.
fn open_regular_meta(
    path: &Path,
    follow: bool,
) -> std::io::Result<(std::fs::File, std::fs::Metadata)> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
        opts.custom_flags(libc::O_NONBLOCK | nofollow);
    }
    let file = opts.open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        #[cfg(unix)]
        return Err(std::io::Error::from_raw_os_error(libc::EISDIR));
        #[cfg(not(unix))]
        return Err(std::io::Error::from(std::io::ErrorKind::IsADirectory));
    }
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, socket or device is never read)",
        ));
    }
    Ok((file, meta))
}

fn read_all(mut file: std::fs::File) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads a whole file into the start of `buffer`, sized by what
/// `open_regular` found (one `read` when the file still has that size, a
/// read that returns nothing to see the end otherwise; `read_to_end` would
/// ask the file's size and position again), and
/// returns how many bytes it holds. The buffer only grows, so a buffer
/// reused from file to file is allocated and zeroed once.
fn read_all_into(
    mut file: std::fs::File,
    size: u64,
    buffer: &mut Vec<u8>,
) -> std::io::Result<usize> {
    // One byte more than the size, so that the end is seen without growing.
    // A size memory cannot hold (a sparse file) is an error, not an abort.
    let grow = |buffer: &mut Vec<u8>, len: usize| -> std::io::Result<()> {
        buffer
            .try_reserve(len.saturating_sub(buffer.len()))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::OutOfMemory))?;
        buffer.resize(len, 0);
        Ok(())
    };
    let want = usize::try_from(size)
        .unwrap_or(usize::MAX)
        .saturating_add(1);
    if buffer.len() < want {
        grow(buffer, want)?;
    }
    let mut filled = 0;
    loop {
        if filled == buffer.len() {
            grow(buffer, filled.saturating_mul(2))?;
        }
        let asked = buffer.len() - filled;
        match file.read(&mut buffer[filled..]) {
            Ok(0) => return Ok(filled),
            // A regular file's read stops short only at its end: with the
            // size it had when opened, no read is needed to see the end.
            Ok(n) if n < asked && filled + n == want - 1 => return Ok(filled + n),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// `read`, into a buffer the caller reuses from one file to the next: the
/// file's bytes are the start of `buffer` it returns.
pub fn read_into<'b>(
    base: &Path,
    rel: &str,
    buffer: &'b mut Vec<u8>,
) -> Result<&'b [u8], SkippedFile> {
    read_into_stamped(base, rel, buffer).map(|(bytes, _)| bytes)
}

/// `read_into`, and the stamp the file had when it was opened (taken
/// before its bytes are read, so a change while they are read gives the
/// file another stamp than the one returned).
pub fn read_into_stamped<'b>(
    base: &Path,
    rel: &str,
    buffer: &'b mut Vec<u8>,
) -> Result<(&'b [u8], Option<index::Stamp>), SkippedFile> {
    match open_regular_meta(&base.join(rel), false).and_then(|(file, meta)| {
        let len = read_all_into(file, meta.len(), buffer)?;
        Ok((len, index::Stamp::of(&meta)))
    }) {
        Ok((len, stamp)) => Ok((&buffer[..len], stamp)),
        Err(e) => Err(SkippedFile::new(
            rel,
            format!("cannot read: {e}"),
            SkipKind::Unreadable,
        )),
    }
}

/// Reads one file of the list (never through a link, never a FIFO).
pub fn read(base: &Path, rel: &str) -> Result<Vec<u8>, SkippedFile> {
    open_regular(&base.join(rel), false)
        .and_then(read_all)
        .map_err(|e| SkippedFile::new(rel, format!("cannot read: {e}"), SkipKind::Unreadable))
}

/// Reads a file that is not part of the tree (MAINTAINERS, `.mailmap`, a
/// rule file, a baseline): only a regular file, opened without blocking.
pub fn read_regular_file(path: &Path) -> std::io::Result<Vec<u8>> {
    open_regular(path, true).and_then(read_all)
}

/// `read_regular_file` as UTF-8 text.
pub fn read_regular_text(path: &Path) -> std::io::Result<String> {
    String::from_utf8(read_regular_file(path)?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// Checks, just before a file is replaced, that `rel` below `base` is still
/// the regular file that was read (same size, same bytes) and that no
/// directory on the way has become a link. `Err` says what changed.
pub fn still_holds(base: &Path, rel: &str, expected: &[u8]) -> Result<(), String> {
    let mut dirs = HashMap::new();
    match check_in_tree(base, None, rel, &mut dirs) {
        Ok(true) => {}
        Ok(false) => return Err("it is no longer a regular file".into()),
        Err(skip) => {
            let at = skip.map(|s| s.path).unwrap_or_else(|| rel.to_string());
            return Err(format!("{at} is now a symbolic link"));
        }
    }
    let file = open_regular(&base.join(rel), false).map_err(|e| format!("cannot read: {e}"))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    if size != expected.len() as u64 {
        return Err("it changed on disk since it was read (its size differs)".into());
    }
    let bytes = read_all(file).map_err(|e| format!("cannot read: {e}"))?;
    if bytes != expected {
        return Err("it changed on disk since it was read".into());
    }
    Ok(())
}

/// Whether a file is executable (for the diff's `index` mode).
pub fn is_executable(base: &Path, rel: &str) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::symlink_metadata(base.join(rel))
            .map(|m| m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        let _ = (base, rel);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::{discover, names_file, read_into, TEMPORARY_PREFIX};

    #[test]
    fn a_tree_of_many_directories_is_listed_whole_and_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut sources = Vec::new();
        for d in 0..60 {
            for sub in ["", "/inner", "/inner/deeper"] {
                let path = format!("d{d:02}{sub}");
                std::fs::create_dir_all(dir.path().join(&path)).unwrap();
                for name in ["a.c", "b.h", "notes.txt", "Makefile"] {
                    std::fs::write(dir.path().join(&path).join(name), "x").unwrap();
                }
                sources.push(format!("{path}/a.c"));
                sources.push(format!("{path}/b.h"));
            }
        }
        let stale = format!("d07/inner/{TEMPORARY_PREFIX}{}-1.tmp", u32::MAX);
        std::fs::write(dir.path().join(&stale), "x").unwrap();
        sources.sort();
        for _ in 0..3 {
            let list = discover(dir.path()).unwrap();
            assert_eq!(list.files, sources);
            assert_eq!(list.stale_temporaries, std::slice::from_ref(&stale));
            assert!(list.skipped.is_empty());
        }
    }

    #[test]
    fn a_path_names_a_file_by_its_whole_components() {
        let rel = "drivers/toy/toy.c";
        for (given, names) in [
            ("drivers/toy/toy.c", true),
            ("./drivers/toy/toy.c", true),
            ("/src/linux/drivers/toy/toy.c", true),
            ("toy.c", false),
            ("xdrivers/toy/toy.c", false),
            ("drivers/toy/toy.c.orig", false),
        ] {
            assert_eq!(names_file(given, rel), names, "{given}");
        }
    }

    #[test]
    fn a_reused_buffer_holds_each_file_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(dir.path().join("big.c"), &big).unwrap();
        std::fs::write(dir.path().join("small.c"), b"int x;\n").unwrap();
        std::fs::write(dir.path().join("empty.c"), b"").unwrap();
        let mut buffer = Vec::new();
        assert_eq!(
            read_into(dir.path(), "big.c", &mut buffer).unwrap(),
            &big[..]
        );
        assert_eq!(
            read_into(dir.path(), "small.c", &mut buffer).unwrap(),
            b"int x;\n"
        );
        assert!(read_into(dir.path(), "empty.c", &mut buffer)
            .unwrap()
            .is_empty());
        assert!(read_into(dir.path(), "missing.c", &mut buffer).is_err());
        assert_eq!(
            read_into(dir.path(), "big.c", &mut buffer).unwrap(),
            &big[..]
        );
    }
}
