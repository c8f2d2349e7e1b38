//! An index of the tree kept between runs (`--index FILE`): for each file,
//! its word filters and whether it names an acquire or a rewrite, with the
//! identity and times the file had when they were taken.
//!
//! A run over a whole tree reads every file to find its candidates and to
//! build the word filters its later searches ask; hashing every word of a
//! kernel tree costs more than a second. With an index, a file whose device,
//! inode, size, modification time and change time are those recorded is not
//! read: its filters and its candidate bit come from the index. Every other
//! file is read as without an index, and the index written again holds it.
//!
//! What never happens: an entry used for a file whose `lstat` differs from
//! its record in any of those five; an entry recorded for a file whose
//! modification or change time is less than `SETTLE_SECONDS` before the
//! run began (a file a clock tick may hide a change of, read again next
//! time, as git treats racily clean entries); an index used whose filters a
//! build with other constants or another hash wrote (`words::fingerprint`),
//! whose candidate bits another set of acquire and rewrite names decided,
//! or whose bytes do not end with their checksum; a file that is not an
//! index replaced by one, or an index written through a link.
//!
//! The file: a magic line, the format's version, the filters' fingerprint,
//! the names' fingerprint, the counts, the entries sorted by path, the
//! filters' 64-bit words, and a checksum of all that; little-endian.

use super::words::{self, HashStream, IndexedFilter, WordFilters};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The first bytes of every index.
const MAGIC: &[u8; 24] = b"pinpatch tree index\n\0\0\0\0";
/// The layout's version: an index of another version is built again.
const FORMAT_VERSION: u32 = 1;
/// How long before a run began a file's times must be for its entry to be
/// recorded: file systems keep times in ticks (a few milliseconds on
/// Linux, two seconds on FAT), and a change within the tick of the last
/// one leaves the times as they were.
const SETTLE_SECONDS: i64 = 2;

/// What identifies a file's content without reading it: where it is (device
/// and inode) and what a change to it changes (size, modification and
/// change times).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    /// The stamp of a regular file's metadata; `None` for anything else, or
    /// where the platform gives no inode and change time.
    pub fn of(meta: &std::fs::Metadata) -> Option<Stamp> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            meta.is_file().then(|| Stamp {
                dev: meta.dev(),
                ino: meta.ino(),
                size: meta.size(),
                mtime: (meta.mtime(), meta.mtime_nsec()),
                ctime: (meta.ctime(), meta.ctime_nsec()),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = meta;
            None
        }
    }

    /// Whether both times are at least `SETTLE_SECONDS` before `began`.
    fn settled_before(&self, began: (i64, i64)) -> bool {
        let limit = (began.0 - SETTLE_SECONDS, began.1);
        self.mtime < limit && self.ctime < limit
    }
}

/// When a run began reading the tree, as file times are written.
pub fn now() -> (i64, i64) {
    let since = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    (since.as_secs() as i64, i64::from(since.subsec_nanos()))
}

/// What a run learnt of one file, to be recorded: the stamp it had when it
/// was read (or checked) and whether it names an acquire or a rewrite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record {
    pub stamp: Stamp,
    pub candidate: bool,
}

/// Why an index was not read or not written.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("{0}: is a symbolic link; an index is never read or written through a link")]
    Link(PathBuf),
    #[error("{0}: not a regular file")]
    NotAFile(PathBuf),
    #[error("{0}: not a pinpatch index; it is left alone")]
    NotAnIndex(PathBuf),
    #[error("{0}: names a C file, which a run would read as part of the tree")]
    SourceName(PathBuf),
    #[error("{path}: {reason}")]
    Io { path: PathBuf, reason: String },
}

/// One file of a loaded index.
#[derive(Debug)]
struct Entry {
    path: String,
    stamp: Stamp,
    candidate: bool,
    /// Where its filters start in the index's bits, and their lengths in
    /// bits: the filter of all words, then the filter of defined words.
    at: usize,
    words: u32,
    definitions: u32,
}

/// An index read from disk, checked whole.
#[derive(Debug)]
pub struct TreeIndex {
    entries: Vec<Entry>,
    bits: Vec<u64>,
    /// Whether the candidate bits were decided by the names this run asks.
    candidates_hold: bool,
}

/// A file of the tree as the index knows it, when its stamp is unchanged.
#[derive(Clone, Copy, Debug)]
pub struct Known<'i> {
    entry: &'i Entry,
    candidates_hold: bool,
}

impl Known<'_> {
    pub fn stamp(&self) -> Stamp {
        self.entry.stamp
    }

    /// Whether the file names an acquire or a rewrite; `None` when the
    /// index was built for other names.
    pub fn candidate(&self) -> Option<bool> {
        self.candidates_hold.then_some(self.entry.candidate)
    }

    /// Where the file's word filters stand in the index's bits
    /// (`TreeIndex::into_bits`).
    pub fn filter(&self) -> IndexedFilter {
        let e = self.entry;
        IndexedFilter::new(e.at, e.words, e.definitions)
    }
}

/// The fingerprint of the names a run's prefilter looks for.
pub fn names_fingerprint(names: &[String]) -> u64 {
    let mut sorted: Vec<&str> = names.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    words::hash_bytes(sorted.join("\0").as_bytes())
}

/// Refuses a path no index may be read from or written to: a link, a
/// directory or device, or a name the tree's reads would take for C.
fn check_path(path: &Path) -> Result<Option<std::fs::Metadata>, IndexError> {
    let name = path.to_string_lossy();
    if name.ends_with(".c") || name.ends_with(".h") {
        return Err(IndexError::SourceName(path.into()));
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(IndexError::Link(path.into())),
        Ok(meta) if !meta.is_file() => Err(IndexError::NotAFile(path.into())),
        Ok(meta) => Ok(Some(meta)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(IndexError::Io {
            path: path.into(),
            reason: format!("cannot read: {e}"),
        }),
    }
}

/// The place of an index, checked to be one pinpatch may read and
/// replace; the index is read only when a run reads the tree.
#[derive(Clone, Debug)]
pub struct IndexFile {
    path: PathBuf,
    names_fingerprint: u64,
}

impl IndexFile {
    /// The index at `path` for a run whose prefilter looks for the names of
    /// `names_fingerprint`. `Err`: the path may not hold an index (a link,
    /// a directory, a file that is not an index, a C file's name).
    pub fn open(path: &Path, names_fingerprint: u64) -> Result<IndexFile, IndexError> {
        if let Some(meta) = check_path(path)? {
            let io = |e: std::io::Error| IndexError::Io {
                path: path.into(),
                reason: format!("cannot read: {e}"),
            };
            let file = super::open_regular(path, false).map_err(io)?;
            let mut head = Vec::with_capacity(MAGIC.len());
            (&file)
                .take(MAGIC.len() as u64)
                .read_to_end(&mut head)
                .map_err(io)?;
            // An index cut short within its magic line is one, unusable.
            let cut_short = head.len() < MAGIC.len() && head.len() as u64 == meta.len();
            if !(head == MAGIC || (cut_short && MAGIC.starts_with(&head))) {
                return Err(IndexError::NotAnIndex(path.into()));
            }
        }
        Ok(IndexFile {
            path: path.into(),
            names_fingerprint,
        })
    }

    /// The names the candidate bits are for.
    pub fn names_fingerprint(&self) -> u64 {
        self.names_fingerprint
    }

    /// The index, checked whole; `None` when there is none yet, or it
    /// cannot be used (another format or build, cut short, a checksum that
    /// does not hold, a read that fails): the run reads the tree and the
    /// index is written again.
    pub fn load(&self) -> Option<TreeIndex> {
        let meta = check_path(&self.path).ok()??;
        let file = super::open_regular(&self.path, false).ok()?;
        let input = std::io::BufReader::with_capacity(1 << 16, file);
        decode(input, meta.len(), self.names_fingerprint).ok()?
    }
}

impl TreeIndex {
    /// The bits of every file's filters, for the run's filters to be packed
    /// onto (`words::WordFilters::pack_onto`, with `Known::filter`).
    pub fn into_bits(self) -> Vec<u64> {
        self.bits
    }

    /// How many files the index holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the index holds no file.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry of `rel` below `base`, when the file's `lstat` gives the
    /// stamp recorded (no link is followed: a link has no entry).
    pub fn current(&self, base: &Path, rel: &str) -> Option<Known<'_>> {
        let at = (self.entries)
            .binary_search_by(|e| e.path.as_str().cmp(rel))
            .ok()?;
        let entry = &self.entries[at];
        let meta = std::fs::symlink_metadata(base.join(rel)).ok()?;
        (Stamp::of(&meta)? == entry.stamp).then_some(Known {
            entry,
            candidates_hold: self.candidates_hold,
        })
    }
}

/// Reads little-endian values from the body of an index (all of it but
/// the checksum at its end), hashing what it reads.
struct Body<R> {
    input: R,
    hash: HashStream,
    /// Bytes of the body not read yet.
    left: u64,
}

impl<R: std::io::Read> Body<R> {
    /// `n` bytes, or `None` past the body's end.
    fn take(&mut self, n: usize) -> std::io::Result<Option<Vec<u8>>> {
        if (n as u64) > self.left {
            return Ok(None);
        }
        let mut bytes = vec![0; n];
        self.fill(&mut bytes)?;
        Ok(Some(bytes))
    }

    fn fill(&mut self, bytes: &mut [u8]) -> std::io::Result<()> {
        self.input.read_exact(bytes)?;
        self.hash.feed(bytes);
        self.left -= bytes.len() as u64;
        Ok(())
    }

    fn array<const N: usize>(&mut self) -> std::io::Result<Option<[u8; N]>> {
        if (N as u64) > self.left {
            return Ok(None);
        }
        let mut bytes = [0; N];
        self.fill(&mut bytes)?;
        Ok(Some(bytes))
    }

    fn u8(&mut self) -> std::io::Result<Option<u8>> {
        Ok(self.array::<1>()?.map(|b| b[0]))
    }

    fn u32(&mut self) -> std::io::Result<Option<u32>> {
        Ok(self.array()?.map(u32::from_le_bytes))
    }

    fn u64(&mut self) -> std::io::Result<Option<u64>> {
        Ok(self.array()?.map(u64::from_le_bytes))
    }

    fn i64(&mut self) -> std::io::Result<Option<i64>> {
        Ok(self.array()?.map(i64::from_le_bytes))
    }

    /// `count` 64-bit words, read in large pieces.
    fn words(&mut self, count: usize) -> std::io::Result<Option<Vec<u64>>> {
        if (count as u64).checked_mul(8).is_none_or(|n| n > self.left) {
            return Ok(None);
        }
        let mut words = Vec::with_capacity(count);
        let mut piece = vec![0u8; 1 << 16];
        while words.len() < count {
            let n = ((count - words.len()) * 8).min(piece.len());
            self.fill(&mut piece[..n])?;
            let chunks = piece[..n].chunks_exact(8);
            words.extend(chunks.map(|c| u64::from_le_bytes(c.try_into().expect("eight bytes"))));
        }
        Ok(Some(words))
    }
}

/// Propagates `None` (the index cannot be used) out of a decode step.
macro_rules! some {
    ($e:expr) => {
        match $e? {
            Some(v) => v,
            None => return Ok(None),
        }
    };
}

/// The index of `len` bytes `input` gives (starting with `MAGIC`), or
/// `None` when it cannot be used: another format or build, cut short,
/// entries out of order or out of bounds, or a checksum that does not
/// hold. `Err` only when reading fails.
fn decode(
    mut input: impl std::io::Read,
    len: u64,
    names_fingerprint: u64,
) -> std::io::Result<Option<TreeIndex>> {
    let Some(body_len) = len.checked_sub(8) else {
        return Ok(None);
    };
    let mut r = Body {
        input: &mut input,
        hash: HashStream::new(body_len),
        left: body_len,
    };
    let short = |e: &std::io::Error| e.kind() == std::io::ErrorKind::UnexpectedEof;
    let decoded = (|| -> std::io::Result<Option<TreeIndex>> {
        if some!(r.take(MAGIC.len())) != MAGIC {
            return Ok(None);
        }
        if some!(r.u32()) != FORMAT_VERSION || some!(r.u64()) != words::fingerprint() {
            return Ok(None);
        }
        let candidates_hold = some!(r.u64()) == names_fingerprint;
        let count = some!(r.u64());
        let words_total = some!(r.u64());
        let (Ok(count), Ok(words_total)) = (usize::try_from(count), usize::try_from(words_total))
        else {
            return Ok(None);
        };
        let mut entries = Vec::with_capacity(count.min((r.left / 64) as usize));
        let mut at = 0usize;
        for _ in 0..count {
            let path_len = some!(r.u32()) as usize;
            let Ok(path) = String::from_utf8(some!(r.take(path_len))) else {
                return Ok(None);
            };
            let stamp = Stamp {
                dev: some!(r.u64()),
                ino: some!(r.u64()),
                size: some!(r.u64()),
                mtime: (some!(r.i64()), some!(r.i64())),
                ctime: (some!(r.i64()), some!(r.i64())),
            };
            let candidate = match some!(r.u8()) {
                0 => false,
                1 => true,
                _ => return Ok(None),
            };
            let (words, definitions) = (some!(r.u32()), some!(r.u32()));
            let span = (words as usize).div_ceil(64) + (definitions as usize).div_ceil(64);
            let sorted = entries.last().is_none_or(|e: &Entry| e.path < path);
            if words == 0 || definitions == 0 || !sorted {
                return Ok(None);
            }
            entries.push(Entry {
                path,
                stamp,
                candidate,
                at,
                words,
                definitions,
            });
            at += span;
        }
        if at != words_total || r.left != (words_total as u64) * 8 {
            return Ok(None);
        }
        let bits = some!(r.words(words_total));
        Ok(Some(TreeIndex {
            entries,
            bits,
            candidates_hold,
        }))
    })();
    let index = match decoded {
        Ok(Some(d)) => d,
        Ok(None) => return Ok(None),
        Err(e) if short(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let sum = r.hash.finish();
    let mut stored = [0u8; 8];
    match input.read_exact(&mut stored) {
        Ok(()) => {}
        Err(e) if short(&e) => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut past = [0u8; 1];
    if stored != sum.to_le_bytes() || input.read(&mut past)? != 0 {
        return Ok(None);
    }
    Ok(Some(index))
}

/// Writes the index of `files` to `out`: each file with a
/// record settled before `began` and filters in `filters` (at the same
/// place in the list). The checksum is hashed as the bytes are written.
fn encode(
    out: &mut impl std::io::Write,
    files: &[String],
    records: &[Option<Record>],
    filters: &WordFilters,
    began: (i64, i64),
    names_fingerprint: u64,
) -> std::io::Result<()> {
    const ENTRY_FIXED: usize = 4 + 7 * 8 + 1 + 4 + 4;
    let mut kept: Vec<(usize, Record)> = (records.iter().enumerate())
        .filter_map(|(i, r)| Some((i, (*r)?)))
        .filter(|(i, r)| r.stamp.settled_before(began) && filters.raw(*i).is_some())
        .collect();
    // Entries go by path, byte for byte, each once: `decode` refuses any
    // other order, and `TreeIndex::current` searches it.
    kept.sort_by(|a, b| files[a.0].cmp(&files[b.0]));
    kept.dedup_by(|a, b| files[a.0] == files[b.0]);
    let raw = |i: usize| filters.raw(i).expect("kept only with filters");
    let words_total: usize = (kept.iter())
        .map(|&(i, _)| raw(i).words.0.len() + raw(i).definitions.0.len())
        .sum();
    let header = MAGIC.len() + 4 + 4 * 8;
    let entries: usize = kept
        .iter()
        .map(|(i, _)| ENTRY_FIXED + files[*i].len())
        .sum();
    let body_len = header + entries + words_total * 8;
    let mut w = Hashed {
        out,
        hash: HashStream::new(body_len as u64),
    };
    w.put(MAGIC)?;
    w.put(&FORMAT_VERSION.to_le_bytes())?;
    for v in [
        words::fingerprint(),
        names_fingerprint,
        kept.len() as u64,
        words_total as u64,
    ] {
        w.put(&v.to_le_bytes())?;
    }
    for &(i, record) in &kept {
        let path = files[i].as_bytes();
        w.put(&(path.len() as u32).to_le_bytes())?;
        w.put(path)?;
        let s = record.stamp;
        for v in [s.dev, s.ino, s.size] {
            w.put(&v.to_le_bytes())?;
        }
        for v in [s.mtime.0, s.mtime.1, s.ctime.0, s.ctime.1] {
            w.put(&v.to_le_bytes())?;
        }
        w.put(&[u8::from(record.candidate)])?;
        w.put(&raw(i).words.1.to_le_bytes())?;
        w.put(&raw(i).definitions.1.to_le_bytes())?;
    }
    let mut piece = Vec::with_capacity(1 << 16);
    for &(i, _) in &kept {
        for &word in raw(i).words.0.iter().chain(raw(i).definitions.0) {
            piece.extend_from_slice(&word.to_le_bytes());
            if piece.len() >= 1 << 16 {
                w.put(&piece)?;
                piece.clear();
            }
        }
    }
    w.put(&piece)?;
    let sum = w.hash.finish();
    out.write_all(&sum.to_le_bytes())
}

/// A writer that hashes what it writes.
struct Hashed<'w, W> {
    out: &'w mut W,
    hash: HashStream,
}

impl<W: std::io::Write> Hashed<'_, W> {
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.hash.feed(bytes);
        self.out.write_all(bytes)
    }
}

/// What a run hands `save`: the tree's files, what it
/// learnt of each, their filters, and when it began reading.
pub struct TreeRecords<'t> {
    pub files: &'t [String],
    pub records: &'t [Option<Record>],
    pub filters: &'t WordFilters,
    pub began: (i64, i64),
    pub names_fingerprint: u64,
}

/// Writes the index at `path`: into a new file beside it, then renamed over
/// it, so a reader sees the old index or the new one, never part of one.
/// Refuses to replace a file that is not an index, a link or a directory.
pub fn save(path: &Path, tree: &TreeRecords<'_>) -> Result<(), IndexError> {
    let io = |reason: String| IndexError::Io {
        path: path.into(),
        reason,
    };
    if let Some(meta) = check_path(path)? {
        if meta.len() > 0 {
            let mut head = [0u8; MAGIC.len()];
            let file = std::fs::File::open(path).map_err(|e| io(format!("cannot read: {e}")))?;
            use std::io::Read as _;
            let read = file.take(MAGIC.len() as u64).read(&mut head);
            if read.map_err(|e| io(format!("cannot read: {e}")))? != MAGIC.len() || &head != MAGIC {
                return Err(IndexError::NotAnIndex(path.into()));
            }
        }
    }
    if path.file_name().is_none() {
        return Err(io("names no file".into()));
    }
    let temporary = path.with_file_name(super::temporary_name(0));
    let written = (|| -> std::io::Result<()> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temporary)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
        encode(
            &mut out,
            tree.files,
            tree.records,
            tree.filters,
            tree.began,
            tree.names_fingerprint,
        )?;
        // Not synced: an index a crash leaves short or garbled fails its
        // checksum and is built again.
        out.into_inner().map_err(|e| e.into_error())?;
        std::fs::rename(&temporary, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(io(format!("cannot write: {e}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{
        encode, names_fingerprint, save, IndexFile, Record, Stamp, TreeIndex, TreeRecords,
    };
    use crate::source::words::{Packed, WordFilter, WordFilters, WordProbe};

    fn stamp_of(path: &std::path::Path) -> Stamp {
        Stamp::of(&std::fs::symlink_metadata(path).unwrap()).unwrap()
    }

    /// A tree of three files.
    fn tree() -> (tempfile::TempDir, Vec<String>, Vec<Vec<u8>>) {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<String> = ["a.c", "b/b.h", "c.c"].map(String::from).into();
        let texts: Vec<Vec<u8>> = vec![
            b"int toy_pin(void)\n{\n\treturn get_user_pages(1, 2, 0, p);\n}\n".to_vec(),
            b"struct toy { struct page **pages; };\n".to_vec(),
            b"void toy_release(struct page *p)\n{\n\tput_page(p);\n}\n".to_vec(),
        ];
        std::fs::create_dir(dir.path().join("b")).unwrap();
        for (f, t) in files.iter().zip(&texts) {
            std::fs::write(dir.path().join(f), t).unwrap();
        }
        (dir, files, texts)
    }

    fn records(dir: &std::path::Path, files: &[String]) -> Vec<Option<Record>> {
        (files.iter().enumerate())
            .map(|(i, f)| {
                Some(Record {
                    stamp: stamp_of(&dir.join(f)),
                    candidate: i == 0,
                })
            })
            .collect()
    }

    /// A time the files of `tree` settled before: the tests' files were
    /// just written.
    fn later() -> (i64, i64) {
        let (s, n) = super::now();
        (s + 10, n)
    }

    fn filters_of(texts: &[Vec<u8>]) -> WordFilters {
        WordFilters::pack(texts.iter().map(|t| Some(WordFilter::of(t))).collect())
    }

    /// The index's bytes, for names of fingerprint 7.
    fn encoded(
        files: &[String],
        records: &[Option<Record>],
        filters: &WordFilters,
        began: (i64, i64),
    ) -> Vec<u8> {
        let mut out = Vec::new();
        encode(&mut out, files, records, filters, began, 7).unwrap();
        out
    }

    fn decode(bytes: &[u8], names: u64) -> Option<TreeIndex> {
        super::decode(bytes, bytes.len() as u64, names).unwrap()
    }

    #[test]
    fn an_index_gives_back_the_filters_and_candidates_of_unchanged_files() {
        let (dir, files, texts) = tree();
        let filters = filters_of(&texts);
        let names = names_fingerprint(&["get_user_pages".into()]);
        let path = dir.path().join("index");
        let records = records(dir.path(), &files);
        let tree = TreeRecords {
            files: &files,
            records: &records,
            filters: &filters,
            began: later(),
            names_fingerprint: names,
        };
        save(&path, &tree).unwrap();
        let index = IndexFile::open(&path, names).unwrap().load().unwrap();
        assert_eq!(index.len(), 3);
        let mut packed = Vec::new();
        for (i, f) in files.iter().enumerate() {
            let known = index.current(dir.path(), f).expect("unchanged");
            assert_eq!(known.candidate(), Some(i == 0), "{f}");
            packed.push(Packed::Indexed(known.filter()));
        }
        // Asked for other names, the candidate bits are not given.
        let other = IndexFile::open(&path, names ^ 1).unwrap().load().unwrap();
        assert_eq!(other.current(dir.path(), "a.c").unwrap().candidate(), None);
        // A file changed (size, times) or replaced (inode) has no entry.
        std::fs::write(dir.path().join("a.c"), b"int x;\n").unwrap();
        let renamed = dir.path().join("c.c.new");
        std::fs::write(&renamed, &texts[2]).unwrap();
        std::fs::rename(&renamed, dir.path().join("c.c")).unwrap();
        assert!(index.current(dir.path(), "a.c").is_none());
        assert!(index.current(dir.path(), "c.c").is_none());
        assert!(index.current(dir.path(), "b/b.h").is_some());
        assert!(index.current(dir.path(), "missing.c").is_none());
        // The filters packed onto the index's bits answer as those built.
        let kept = WordFilters::pack_onto(index.into_bits(), packed);
        let words = [
            "toy_pin",
            "toy_release",
            "pages",
            "put_page",
            "get_user_pages",
        ];
        for (i, f) in files.iter().enumerate() {
            let (a, b) = (kept.get(i).unwrap(), filters.get(i).unwrap());
            for probe in words.map(WordProbe::new) {
                assert_eq!(a.may_hold(&probe), b.may_hold(&probe), "{f} {probe:?}");
                assert_eq!(a.may_define(&probe), b.may_define(&probe), "{f} {probe:?}");
            }
        }
    }

    #[test]
    fn files_listed_in_another_order_are_indexed_by_path() {
        let (dir, mut files, mut texts) = tree();
        files.reverse();
        texts.reverse();
        let filters = filters_of(&texts);
        let records = records(dir.path(), &files);
        let index = decode(&encoded(&files, &records, &filters, later()), 7).unwrap();
        assert_eq!(index.len(), 3);
        for f in &files {
            assert!(index.current(dir.path(), f).is_some(), "{f}");
        }
        let packed = (files.iter())
            .map(|f| Packed::Indexed(index.current(dir.path(), f).unwrap().filter()))
            .collect();
        let kept = WordFilters::pack_onto(index.into_bits(), packed);
        let probe = WordProbe::new("toy_release");
        for (i, f) in files.iter().enumerate() {
            let (a, b) = (kept.get(i).unwrap(), filters.get(i).unwrap());
            assert_eq!(a.may_hold(&probe), b.may_hold(&probe), "{f}");
        }
    }

    #[test]
    fn files_changed_just_before_the_run_are_not_recorded() {
        let (dir, files, texts) = tree();
        let filters = filters_of(&texts);
        let records = records(dir.path(), &files);
        // The run began now: every file's times are within the settling time.
        let bytes = encoded(&files, &records, &filters, super::now());
        assert_eq!(decode(&bytes, 7).unwrap().len(), 0);
        let bytes = encoded(&files, &records, &filters, later());
        assert_eq!(decode(&bytes, 7).unwrap().len(), 3);
    }

    #[test]
    fn a_damaged_index_is_built_again_and_a_foreign_file_is_left_alone() {
        let (dir, files, texts) = tree();
        let filters = filters_of(&texts);
        let records = records(dir.path(), &files);
        let bytes = encoded(&files, &records, &filters, later());
        assert!(decode(&bytes, 7).is_some());
        // Every cut and every flipped byte is refused, never a panic.
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut], 7).is_none(), "cut at {cut}");
        }
        for at in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x40;
            assert!(decode(&flipped, 7).is_none(), "flip at {at}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer, 7).is_none());
        let path = dir.path().join("index");
        for cut in [3, bytes.len() / 2] {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            assert!(
                IndexFile::open(&path, 7).unwrap().load().is_none(),
                "cut at {cut}"
            );
        }
        // A file that is not an index is neither read nor replaced.
        let notes = dir.path().join("notes");
        std::fs::write(&notes, b"my notes\n").unwrap();
        let tree = TreeRecords {
            files: &files,
            records: &records,
            filters: &filters,
            began: later(),
            names_fingerprint: 7,
        };
        assert!(IndexFile::open(&notes, 7).is_err());
        assert!(save(&notes, &tree).is_err());
        assert_eq!(std::fs::read(&notes).unwrap(), b"my notes\n");
        // Nor is one written through a link, or under a C file's name.
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&notes, &link).unwrap();
            assert!(save(&link, &tree).is_err());
            assert!(IndexFile::open(&link, 7).is_err());
            assert_eq!(std::fs::read(&notes).unwrap(), b"my notes\n");
        }
        assert!(save(&dir.path().join("index.c"), &tree).is_err());
        assert!(!dir.path().join("index.c").exists());
    }
}
