//! MAINTAINERS parsing and a port of `scripts/get_maintainer.pl`'s matching.
//!
//! The port follows the Perl script of Linux 6.1 line by line where it
//! decides the output of
//! `get_maintainer.pl --nogit --nogit-fallback --nogit-chief-penguins --norolestats <patch>`:
//! the typevalue array built by `read_maintainer_file` (F:/X: patterns with
//! `.`, `*` and `?` converted to regex syntax and a `/` appended when the
//! pattern names an existing directory of the tree on disk),
//! `file_match_pattern` (prefix match, plus the same-depth rule for patterns
//! without a trailing `/`), the per-section score `value_pd` (the last
//! matching F: of a section wins, an N: match scores 0), the keyword scan of
//! the patch text (every line before the first `---`/`+++` header, then only
//! `+`/`-` lines), `add_categories` with its duplicate removal at push time,
//! `deduplicate_email` with `.mailmap`, and `merge_email`.
//!
//! Two places differ on purpose. Sections with equal scores are used in
//! MAINTAINERS order, where Perl uses its randomised hash order. And the
//! Perl-only parts that need git or other options (git fallback, `Fixes:`
//! blame, e-mail addresses found inside `.yaml` files, RFC 822 address lists
//! on one line) are left out; with the options above they add nothing for C
//! files.
//!
//! Beyond recipients, this module also names a file's subsystem (its most
//! specific maintained section) and the routing key `(T: tree, sorted M:
//! set)` that groups sibling sections going through one tree.

use regex::bytes::Regex as BytesRegex;
use regex::Regex;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Errors while loading MAINTAINERS or `.mailmap`.
#[derive(Debug, thiserror::Error)]
pub enum MaintainersError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no MAINTAINERS file given")]
    NoFiles,
}

/// What role an address has in the output, which decides To: or Cc:.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// An `M:` entry; goes to To:.
    Maintainer,
    /// An `R:` entry; goes to Cc:.
    Reviewer,
    /// An `L:` list; goes to Cc:.
    List,
}

/// One output line of get_maintainer.pl with the role it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    /// The address as get_maintainer.pl prints it, e.g. `Name <addr>` or a bare list address.
    pub address: String,
    pub role: Role,
}

/// The recipients of one patch, in get_maintainer.pl's output order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recipients {
    pub entries: Vec<Recipient>,
}

impl Recipients {
    /// The To: addresses: maintainers.
    pub fn to(&self) -> Vec<String> {
        self.with_roles(&[Role::Maintainer])
    }

    /// The Cc: addresses: reviewers, then lists.
    pub fn cc(&self) -> Vec<String> {
        self.with_roles(&[Role::Reviewer, Role::List])
    }

    /// Every address in get_maintainer.pl's order, one per line when joined.
    pub fn all(&self) -> Vec<String> {
        self.entries.iter().map(|r| r.address.clone()).collect()
    }

    fn with_roles(&self, roles: &[Role]) -> Vec<String> {
        // Reviewers and lists are printed by get_maintainer.pl in separate
        // blocks (people first, then lists), so filtering in role order keeps
        // its order within each block.
        let mut out = Vec::new();
        for role in roles {
            out.extend(
                self.entries
                    .iter()
                    .filter(|r| r.role == *role)
                    .map(|r| r.address.clone()),
            );
        }
        out
    }
}

/// A MAINTAINERS section chosen as a file's subsystem.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Subsystem {
    /// The section title, e.g. `INFINIBAND SUBSYSTEM`.
    pub title: String,
    /// The `M:` entries, formatted as get_maintainer.pl prints them and sorted.
    pub maintainers: Vec<String>,
    /// Every `T:` value with a leading `git ` removed, in order.
    pub trees: Vec<String>,
    /// The addresses of the `L:` entries, in order.
    pub lists: Vec<String>,
    /// Index of the section's title line in the parsed data; orders sections as in the file.
    pub index: usize,
}

impl Subsystem {
    /// The tree patches go through: the first `T:` value.
    pub fn tree(&self) -> Option<&str> {
        self.trees.first().map(String::as_str)
    }

    /// The routing key: sections sent through the same tree to the same
    /// maintainers group together.
    pub fn routing_key(&self) -> (Option<String>, Vec<String>) {
        (self.tree().map(String::from), self.maintainers.clone())
    }
}

/// A converted F:/X: pattern.
struct Pattern {
    /// The pattern after conversion, as Perl holds it.
    converted: String,
    slashes: usize,
    trailing_slash: bool,
    starts_dot_star: bool,
    /// A literal prefix when the converted pattern has no regex syntax left.
    literal: Option<String>,
    regex: OnceLock<Option<Regex>>,
}

impl Pattern {
    fn new(converted: String) -> Pattern {
        // Only `\.` may remain for a pattern to be a plain prefix.
        let rest = converted.replace("\\.", "");
        let has_meta = rest.chars().any(|c| "\\^$.|?*+()[]{}".contains(c));
        let literal = if has_meta {
            None
        } else {
            Some(converted.replace("\\.", "."))
        };
        Pattern {
            slashes: converted.matches('/').count(),
            trailing_slash: converted.ends_with('/'),
            starts_dot_star: converted.starts_with(".*"),
            literal,
            converted,
            regex: OnceLock::new(),
        }
    }

    /// Perl's `$file =~ m@^$pattern@`.
    fn prefix_match(&self, file: &str) -> bool {
        if let Some(lit) = &self.literal {
            return file.starts_with(lit.as_str());
        }
        let re = self
            .regex
            .get_or_init(|| Regex::new(&format!("^{}", self.converted)).ok());
        re.as_ref().is_some_and(|re| re.is_match(file))
    }

    /// `file_match_pattern` from get_maintainer.pl.
    fn file_match(&self, file: &str) -> bool {
        if self.trailing_slash {
            self.prefix_match(file)
        } else {
            self.prefix_match(file) && file.matches('/').count() == self.slashes
        }
    }

    /// The section score `value_pd` of a matching F: pattern.
    fn value_pd(&self) -> i64 {
        if self.starts_dot_star {
            return -1;
        }
        self.slashes as i64 + if self.trailing_slash { 0 } else { 1 }
    }
}

/// One entry of Perl's `@typevalue` array.
enum Tv {
    /// A `X:<value>` line.
    Field {
        kind: char,
        value: String,
        pattern: Option<Pattern>,
        nregex: Option<Option<Regex>>,
    },
    /// Any other non-blank, non-comment line, such as a section title.
    Other(String),
}

impl Tv {
    fn field(&self) -> Option<(char, &str)> {
        match self {
            Tv::Field { kind, value, .. } => Some((*kind, value.as_str())),
            Tv::Other(_) => None,
        }
    }
}

/// A compiled `K:` keyword.
struct Keyword {
    tvi: usize,
    /// Matches any line of the patch before the first file header.
    anywhere: Option<BytesRegex>,
    /// Matches `+`/`-` lines after it (`^[+-].*` prepended, as in Perl).
    changed: Option<BytesRegex>,
}

/// The `.mailmap` of the tree, as get_maintainer.pl reads it.
#[derive(Default)]
struct Mailmap {
    names: HashMap<String, String>,
    addresses: HashMap<String, String>,
}

/// Parsed MAINTAINERS files of one tree.
pub struct Maintainers {
    tv: Vec<Tv>,
    keywords: Vec<Keyword>,
    mailmap: Mailmap,
}

impl Maintainers {
    /// Loads `MAINTAINERS` and `.mailmap` from the top of a kernel tree.
    pub fn load(tree_root: &Path) -> Result<Maintainers, MaintainersError> {
        Self::load_files(tree_root, &[tree_root.join("MAINTAINERS")])
    }

    /// Loads several MAINTAINERS files, in order, as `--mpath` does; `.mailmap`
    /// is read from the tree root when it exists.
    pub fn load_files(
        tree_root: &Path,
        files: &[PathBuf],
    ) -> Result<Maintainers, MaintainersError> {
        if files.is_empty() {
            return Err(MaintainersError::NoFiles);
        }
        let mut texts = Vec::new();
        for f in files {
            let bytes =
                crate::source::read_regular_file(f).map_err(|source| MaintainersError::Read {
                    path: f.clone(),
                    source,
                })?;
            texts.push(String::from_utf8_lossy(&bytes).into_owned());
        }
        let mailmap_path = tree_root.join(".mailmap");
        let mailmap = match crate::source::read_regular_file(&mailmap_path) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(MaintainersError::Read {
                    path: mailmap_path,
                    source,
                })
            }
        };
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        Ok(Self::parse(&refs, &mailmap, tree_root))
    }

    /// Parses MAINTAINERS texts and a `.mailmap` text. `tree_root` is used only
    /// for the rule that appends `/` to patterns naming existing directories.
    pub fn parse(texts: &[&str], mailmap: &str, tree_root: &Path) -> Maintainers {
        let field_re = field_regex();
        let mut tv = Vec::new();
        let mut keywords = Vec::new();
        for text in texts {
            for line in text.lines() {
                // Perl's chomp removes only "\n"; a stray "\r" stays in the value.
                if let Some(c) = field_re.captures(line) {
                    let kind = c[1].chars().next().unwrap_or('?');
                    let mut value = c[2].to_string();
                    let mut pattern = None;
                    let mut nregex = None;
                    match kind {
                        'F' | 'X' => {
                            value = value
                                .replace('.', "\\.")
                                .replace('*', ".*")
                                .replace('?', ".");
                            if !value.ends_with('/')
                                && !value.is_empty()
                                && tree_root.join(&value).is_dir()
                            {
                                value.push('/');
                            }
                            pattern = Some(Pattern::new(value.clone()));
                        }
                        'K' => keywords.push(Keyword {
                            tvi: tv.len(),
                            anywhere: BytesRegex::new(&format!("(?x){value}")).ok(),
                            changed: BytesRegex::new(&format!("(?x)^[+-].*{value}")).ok(),
                        }),
                        'N' => nregex = Some(None),
                        _ => {}
                    }
                    tv.push(Tv::Field {
                        kind,
                        value,
                        pattern,
                        nregex,
                    });
                } else if !(line.trim().is_empty() || line.trim_start().starts_with('#')) {
                    tv.push(Tv::Other(line.to_string()));
                }
            }
        }
        // N: regexes are compiled here, once, in (?x) mode as Perl's m/$value/x.
        for entry in &mut tv {
            if let Tv::Field {
                kind: 'N',
                value,
                nregex,
                ..
            } = entry
            {
                *nregex = Some(Regex::new(&format!("(?x){value}")).ok());
            }
        }
        Maintainers {
            tv,
            keywords,
            mailmap: Mailmap::parse(mailmap),
        }
    }

    fn is_field(&self, i: usize) -> bool {
        matches!(self.tv.get(i), Some(Tv::Field { .. }))
    }

    fn find_first_section(&self) -> usize {
        (0..self.tv.len())
            .find(|&i| self.is_field(i))
            .unwrap_or(self.tv.len())
    }

    fn find_starting_index(&self, mut index: usize) -> usize {
        while index > 0 {
            if !self.is_field(index) {
                break;
            }
            index -= 1;
        }
        index
    }

    fn find_ending_index(&self, mut index: usize) -> usize {
        while index < self.tv.len() {
            if !self.is_field(index) {
                break;
            }
            index += 1;
        }
        index
    }

    /// Whether an `X:` pattern of the section `start..end` matches `file`.
    fn section_excludes(&self, start: usize, end: usize, file: &str) -> bool {
        (start..end).any(|i| match &self.tv[i] {
            Tv::Field {
                kind: 'X',
                pattern: Some(p),
                ..
            } => p.file_match(file),
            _ => false,
        })
    }

    /// The sections matching `file` with their scores, most specific first,
    /// ties in MAINTAINERS order. Keys are Perl's `$tvi` values.
    fn scored_sections(&self, file: &str) -> Vec<(usize, i64)> {
        let mut hash: BTreeMap<usize, i64> = BTreeMap::new();
        let mut tvi = self.find_first_section();
        while tvi < self.tv.len() {
            let start = self.find_starting_index(tvi);
            let end = self.find_ending_index(tvi);
            let excluded = self.section_excludes(start, end, file);
            if !excluded {
                for i in start..end {
                    match &self.tv[i] {
                        Tv::Field {
                            kind: 'F',
                            pattern: Some(p),
                            ..
                        } if p.file_match(file) => {
                            hash.insert(tvi, p.value_pd());
                        }
                        Tv::Field {
                            kind: 'N',
                            nregex: Some(Some(re)),
                            ..
                        } if re.is_match(file) => {
                            hash.insert(tvi, 0);
                        }
                        _ => {}
                    }
                }
            }
            tvi = end + 1;
        }
        let mut v: Vec<(usize, i64)> = hash.into_iter().collect();
        // A stable sort on descending score keeps MAINTAINERS order for ties.
        v.sort_by_key(|&(_, score)| std::cmp::Reverse(score));
        v
    }

    fn range_is_maintained(&self, start: usize, end: usize) -> bool {
        (start..end).any(|i| match self.tv[i].field() {
            Some(('S', v)) => {
                let v = v.to_ascii_lowercase();
                v.contains("maintain") || v.contains("support")
            }
            _ => false,
        })
    }

    fn range_has_maintainer(&self, start: usize, end: usize) -> bool {
        (start..end).any(|i| matches!(self.tv[i].field(), Some(('M', _))))
    }

    fn section_title(&self, start: usize) -> String {
        match &self.tv[start] {
            Tv::Other(t) => t.clone(),
            Tv::Field { kind, value, .. } => format!("{kind}:{value}"),
        }
    }

    /// The subsystem of `file`: among sections with a matching `F:` (leaving
    /// out `N:`-only matches and patterns that start with `*`, as THE REST's),
    /// the one with the highest score, preferring sections that are
    /// maintained and have an `M:`; ties go to the earlier section.
    pub fn subsystem(&self, file: &str) -> Option<Subsystem> {
        let mut best: Option<((bool, i64), usize)> = None;
        let mut tvi = self.find_first_section();
        while tvi < self.tv.len() {
            let start = self.find_starting_index(tvi);
            let end = self.find_ending_index(tvi);
            let excluded = self.section_excludes(start, end, file);
            if !excluded {
                let score = (start..end)
                    .filter_map(|i| match &self.tv[i] {
                        Tv::Field {
                            kind: 'F',
                            pattern: Some(p),
                            ..
                        } if !p.starts_dot_star && p.file_match(file) => Some(p.value_pd()),
                        _ => None,
                    })
                    .max();
                if let Some(score) = score {
                    let good = self.range_is_maintained(start, end)
                        && self.range_has_maintainer(start, end);
                    let key = (good, score);
                    if best.as_ref().is_none_or(|(k, _)| key > *k) {
                        best = Some((key, start));
                    }
                }
            }
            tvi = end + 1;
        }
        let (_, start) = best?;
        Some(self.subsystem_at(start))
    }

    fn subsystem_at(&self, start: usize) -> Subsystem {
        let end = self.find_ending_index(start + 1);
        let mut trees = Vec::new();
        let mut lists = Vec::new();
        let mut maintainers = Vec::new();
        for i in start + 1..end {
            match self.tv[i].field() {
                Some(('T', v)) => {
                    trees.push(v.strip_prefix("git ").unwrap_or(v).trim().to_string());
                }
                Some(('L', v)) => lists.push(parse_email(v).1),
                Some(('M', v)) => {
                    let (name, addr) = parse_email(v);
                    maintainers.push(format_email(&name, &addr));
                }
                _ => {}
            }
        }
        maintainers.sort();
        maintainers.dedup();
        Subsystem {
            title: self.section_title(start),
            maintainers,
            trees,
            lists,
            index: start,
        }
    }

    /// The recipients get_maintainer.pl prints for the patch text `patch`
    /// (a format-patch file or a plain diff), with
    /// `--nogit --nogit-fallback --nogit-chief-penguins --norolestats`.
    pub fn recipients_for_patch(&self, patch: &[u8]) -> Recipients {
        let (files, keyword_tvi) = self.scan_patch(patch);
        self.get_maintainers(&files, keyword_tvi)
    }

    /// The recipients for a list of files, as with `-f`, without keywords.
    pub fn recipients_for_files(&self, files: &[String]) -> Recipients {
        let mut files = files.to_vec();
        files.sort();
        files.dedup();
        self.get_maintainers(&files, Vec::new())
    }

    /// The file names and matching keyword indexes of a patch, as the main
    /// loop of get_maintainer.pl collects them.
    fn scan_patch(&self, patch: &[u8]) -> (Vec<String>, Vec<usize>) {
        static RES: OnceLock<[BytesRegex; 4]> = OnceLock::new();
        let [mode_re, rename_re, diff_re, header_re] = RES.get_or_init(|| {
            [
                BytesRegex::new(r"^ mode change [0-7]+ => [0-7]+ (\S+)\s*$").unwrap(),
                BytesRegex::new(r"^rename (?:from|to) (\S+)\s*$").unwrap(),
                BytesRegex::new(r"^diff --git a/(\S+) b/(\S+)\s*$").unwrap(),
                BytesRegex::new(r"^(?:\+\+\+|---)\s+(\S+)").unwrap(),
            ]
        });
        let fixes_re = fixes_regex();
        let hunk_re = hunk_regex();
        let mut files = Vec::new();
        let mut kw = Vec::new();
        let mut in_patch = false;
        for line in patch.split_inclusive(|b| *b == b'\n') {
            let text = |m: &[u8]| String::from_utf8_lossy(m).into_owned();
            if let Some(c) = mode_re.captures(line) {
                files.push(text(&c[1]));
            } else if let Some(c) = rename_re.captures(line) {
                files.push(text(&c[1]));
            } else if let Some(c) = diff_re.captures(line) {
                files.push(text(&c[1]));
                files.push(text(&c[2]));
            } else if fixes_re.is_match(line) {
                // Fixes: blame needs git; it adds nothing without it.
            } else if let Some(c) = header_re.captures(line) {
                let name = text(&c[1]);
                let name = match name.find('/') {
                    Some(p) => name[p + 1..].to_string(),
                    None => name,
                };
                files.push(name);
                in_patch = true;
            } else if hunk_re.is_match(line) {
                // Hunk headers matter only for --git-blame.
            } else {
                for k in &self.keywords {
                    let re = if in_patch { &k.changed } else { &k.anywhere };
                    if re.as_ref().is_some_and(|re| re.is_match(line)) {
                        kw.push(k.tvi);
                    }
                }
            }
        }
        files.sort();
        files.dedup();
        (files, kw)
    }

    /// `get_maintainers` from the Perl script, for the options above.
    fn get_maintainers(&self, files: &[String], keyword_tvi: Vec<usize>) -> Recipients {
        let mut c = Collector::default();
        for file in files {
            for (tvi, _) in self.scored_sections(file) {
                self.add_categories(tvi, &mut c);
            }
        }
        // Perl sorts the keyword indexes as strings before using them.
        let mut kw: Vec<String> = keyword_tvi.iter().map(|t| t.to_string()).collect();
        kw.sort();
        kw.dedup();
        for t in kw {
            if let Ok(t) = t.parse::<usize>() {
                self.add_categories(t, &mut c);
            }
        }

        let mut dedup = Dedup::default();
        for e in c.email_to.iter_mut() {
            e.0 = dedup.deduplicate_email(&e.0, &self.mailmap);
        }
        for e in c.list_to.iter_mut() {
            *e = dedup.deduplicate_email(e, &self.mailmap);
        }
        // --nogit-chief-penguins removes Linus Torvalds, who maintains THE REST.
        let chief = format_email("Linus Torvalds", "torvalds@linux-foundation.org");
        c.email_to.retain(|(e, _)| !e.contains(&chief));

        let mut seen = HashSet::new();
        let mut entries = Vec::new();
        let lists = c.list_to.into_iter().map(|l| (l, Role::List));
        for (address, role) in c.email_to.into_iter().chain(lists) {
            if seen.insert(address.clone()) {
                entries.push(Recipient { address, role });
            }
        }
        Recipients { entries }
    }

    /// `add_categories` from the Perl script: the section's lists,
    /// maintainers and reviewers, with duplicates removed as they are pushed.
    fn add_categories(&self, index: usize, c: &mut Collector) {
        let start = self.find_starting_index(index);
        let end = self.find_ending_index(index);
        for i in start + 1..end {
            match self.tv[i].field() {
                Some(('L', value)) => {
                    let (address, additional) = match value.split_once(char::is_whitespace) {
                        Some((a, rest)) => (a.to_string(), rest.trim_start().to_string()),
                        None => (value.to_string(), String::new()),
                    };
                    if additional.contains("subscribers-only") {
                        continue;
                    }
                    if c.lists_seen.insert(address.to_lowercase()) {
                        c.list_to.push(address);
                    }
                }
                Some(('M', value)) => c.push_email_address(value, Role::Maintainer),
                Some(('R', value)) => c.push_email_address(value, Role::Reviewer),
                _ => {}
            }
        }
    }

    /// How many K: keywords failed to compile with the `regex` crate; they
    /// never match. Zero for the MAINTAINERS files of 6.1 and 6.12.
    pub fn unsupported_keywords(&self) -> usize {
        self.keywords
            .iter()
            .filter(|k| k.anywhere.is_none() || k.changed.is_none())
            .count()
    }
}

/// The output being built by `get_maintainers`.
#[derive(Default)]
struct Collector {
    email_to: Vec<(String, Role)>,
    list_to: Vec<String>,
    names_seen: HashSet<String>,
    addresses_seen: HashSet<String>,
    lists_seen: HashSet<String>,
}

impl Collector {
    /// `push_email_address` with `--remove-duplicates` (the default).
    fn push_email_address(&mut self, line: &str, role: Role) {
        let (name, address) = parse_email(line);
        if address.is_empty() {
            return;
        }
        let in_use = (!name.is_empty() && self.names_seen.contains(&name.to_lowercase()))
            || self.addresses_seen.contains(&address.to_lowercase());
        if !in_use {
            self.email_to.push((format_email(&name, &address), role));
            if !name.is_empty() {
                self.names_seen.insert(name.to_lowercase());
            }
            self.addresses_seen.insert(address.to_lowercase());
        }
    }
}

/// The state of `deduplicate_email`.
#[derive(Default)]
struct Dedup {
    by_name: HashMap<String, (String, String)>,
    by_address: HashMap<String, (String, String)>,
}

impl Dedup {
    fn deduplicate_email(&mut self, email: &str, mailmap: &Mailmap) -> String {
        let (name, address) = parse_email(email);
        let email = mailmap.map(&format_email(&name, &address));
        let (mut name, mut address) = parse_email(&email);
        let mut matched = false;
        if !name.is_empty() && self.by_name.contains_key(&name.to_lowercase()) {
            (name, address) = self.by_name[&name.to_lowercase()].clone();
            matched = true;
        } else if let Some(found) = self.by_address.get(&address.to_lowercase()) {
            (name, address) = found.clone();
            matched = true;
        }
        if !matched {
            self.by_name
                .insert(name.to_lowercase(), (name.clone(), address.clone()));
            self.by_address
                .insert(address.to_lowercase(), (name.clone(), address.clone()));
        }
        mailmap.map(&format_email(&name, &address))
    }
}

impl Mailmap {
    /// `read_mailmap` from the Perl script.
    fn parse(text: &str) -> Mailmap {
        static RES: OnceLock<[Regex; 4]> = OnceLock::new();
        let [one, two, three, four] = RES.get_or_init(|| {
            [
                Regex::new(r"^([^<]+)<([^>]+)>$").unwrap(),
                Regex::new(r"^<([^>]+)>\s*<([^>]+)>$").unwrap(),
                Regex::new(r"^(.+)<([^>]+)>\s*<([^>]+)>$").unwrap(),
                Regex::new(r"^(.+)<([^>]+)>\s*(.+)\s*<([^>]+)>$").unwrap(),
            ]
        });
        let mut m = Mailmap::default();
        for line in text.lines() {
            let line = match line.find('#') {
                Some(p) => &line[..p],
                None => line,
            };
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(c) = one.captures(line) {
                let (name, address) = parse_email(&format!("{} <{}>", c[1].trim_end(), &c[2]));
                m.names.insert(address, name);
            } else if let Some(c) = two.captures(line) {
                m.addresses.insert(c[2].to_string(), c[1].to_string());
            } else if let Some(c) = three.captures(line) {
                let (name, address) = parse_email(&format!("{} <{}>", c[1].trim_end(), &c[2]));
                m.names.insert(c[3].to_string(), name);
                m.addresses.insert(c[3].to_string(), address);
            } else if let Some(c) = four.captures(line) {
                let (name, address) = parse_email(&format!("{} <{}>", c[1].trim_end(), &c[2]));
                let (wname, waddr) = parse_email(&format!("{} <{}>", c[3].trim_end(), &c[4]));
                let wrong = format_email(&wname, &waddr);
                m.names.insert(wrong.clone(), name);
                m.addresses.insert(wrong, address);
            }
        }
        m
    }

    /// `mailmap_email` from the Perl script.
    fn map(&self, line: &str) -> String {
        let (name, address) = parse_email(line);
        let email = format_email(&name, &address);
        let mut real_name = name;
        let mut real_address = address.clone();
        if self.names.contains_key(&email) || self.addresses.contains_key(&email) {
            if let Some(n) = self.names.get(&email) {
                real_name = n.clone();
            }
            if let Some(a) = self.addresses.get(&email) {
                real_address = a.clone();
            }
        } else {
            if let Some(n) = self.names.get(&address) {
                real_name = n.clone();
            }
            if let Some(a) = self.addresses.get(&address) {
                real_address = a.clone();
            }
        }
        format_email(&real_name, &real_address)
    }
}

fn field_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^([A-Z]):\s*(.*)").unwrap())
}

fn fixes_regex() -> &'static BytesRegex {
    static RE: OnceLock<BytesRegex> = OnceLock::new();
    RE.get_or_init(|| BytesRegex::new(r"^Fixes:\s+([0-9a-fA-F]{6,40})").unwrap())
}

fn hunk_regex() -> &'static BytesRegex {
    static RE: OnceLock<BytesRegex> = OnceLock::new();
    RE.get_or_init(|| BytesRegex::new(r"^@@ -(\d+),(\d+)").unwrap())
}

/// Whether a name needs quoting: Perl's `/[^\w \-]/i` on a byte string,
/// where `\w` covers only ASCII word characters.
fn must_quote(name: &str) -> bool {
    name.bytes()
        .any(|b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b' ' || b == b'-'))
}

/// Escapes `"` not preceded by a backslash, then wraps the name in quotes.
fn quote_name(name: &str) -> String {
    let mut out = String::from("\"");
    let mut prev = '\0';
    for ch in name.chars() {
        if ch == '"' && prev != '\\' {
            out.push('\\');
        }
        out.push(ch);
        prev = ch;
    }
    out.push('"');
    out
}

/// Removes one leading and one trailing `"`, as Perl's `s/^\"|\"$//g`.
fn strip_quotes(s: &str) -> &str {
    let s = s.strip_prefix('"').unwrap_or(s);
    s.strip_suffix('"').unwrap_or(s)
}

/// `parse_email` from the Perl script: splits `Name <addr>` into its parts,
/// quoting names that contain characters other than word characters,
/// spaces and dashes.
pub fn parse_email(formatted: &str) -> (String, String) {
    static RES: OnceLock<[Regex; 3]> = OnceLock::new();
    let [full, bracket, bare] = RES.get_or_init(|| {
        [
            Regex::new(r"^([^<]+)<(.+@.*)>.*$").unwrap(),
            Regex::new(r"^\s*<(.+@\S*)>.*$").unwrap(),
            Regex::new(r"^(.+@\S*).*$").unwrap(),
        ]
    });
    let (mut name, mut address) = (String::new(), String::new());
    if let Some(c) = full.captures(formatted) {
        name = c[1].to_string();
        address = c[2].to_string();
    } else if let Some(c) = bracket.captures(formatted) {
        address = c[1].to_string();
    } else if let Some(c) = bare.captures(formatted) {
        address = c[1].to_string();
    }
    let name = strip_quotes(name.trim()).to_string();
    let address = address.trim().to_string();
    let name = if must_quote(&name) {
        quote_name(&name)
    } else {
        name
    };
    (name, address)
}

/// `format_email` from the Perl script with `--email-usename` (the default).
pub fn format_email(name: &str, address: &str) -> String {
    let name = strip_quotes(name.trim());
    let address = address.trim();
    let name = if must_quote(name) {
        quote_name(name)
    } else {
        name.to_string()
    };
    if name.is_empty() {
        address.to_string()
    } else {
        format!("{name} <{address}>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: &str = "\
Intro prose that is not data.

DRIVER A
M:\tAlice Example <alice@example.org>
L:\tlinux-a@example.org
S:\tMaintained
T:\tgit git://example.org/a.git
F:\tdrivers/a/
X:\tdrivers/a/private/

DRIVER A CORE
M:\tBob Example <bob@example.org>
R:\tRita Review <rita@example.org>
L:\tlinux-a@example.org
L:\tsecret@example.org (subscribers-only)
S:\tSupported
F:\tdrivers/a/core.c

WILDCARD
M:\tCarol Example <carol@example.org>
S:\tMaintained
F:\tdrivers/w/*

TIE ONE
M:\tDan Example <dan@example.org>
S:\tMaintained
F:\tdrivers/t/

TIE TWO
M:\tEve Example <eve@example.org>
S:\tMaintained
F:\tdrivers/t/

BY NAME
M:\tFrank Example <frank@example.org>
S:\tOdd Fixes
N:\t[^a-z]zork

THE REST
M:\tLinus Torvalds <torvalds@linux-foundation.org>
L:\tlinux-kernel@vger.kernel.org
S:\tBuried alive in reporters
F:\t*
F:\t*/
";

    fn m() -> Maintainers {
        Maintainers::parse(&[M], "", Path::new("/nonexistent"))
    }

    fn all(files: &[&str]) -> Vec<String> {
        let files: Vec<String> = files.iter().map(|s| s.to_string()).collect();
        m().recipients_for_files(&files).all()
    }

    #[test]
    fn most_specific_section_comes_first() {
        assert_eq!(
            all(&["drivers/a/core.c"]),
            [
                "Bob Example <bob@example.org>",
                "Rita Review <rita@example.org>",
                "Alice Example <alice@example.org>",
                "linux-a@example.org",
                "linux-kernel@vger.kernel.org"
            ]
        );
    }

    #[test]
    fn subscribers_only_lists_and_chief_penguin_are_dropped() {
        let r = all(&["drivers/a/core.c"]);
        assert!(!r
            .iter()
            .any(|a| a.contains("secret") || a.contains("torvalds")));
    }

    #[test]
    fn x_excludes_the_whole_section() {
        assert_eq!(
            all(&["drivers/a/private/p.c"]),
            ["linux-kernel@vger.kernel.org"]
        );
    }

    #[test]
    fn star_without_trailing_slash_keeps_the_depth() {
        assert_eq!(
            all(&["drivers/w/x.c"])[0],
            "Carol Example <carol@example.org>"
        );
        assert_eq!(
            all(&["drivers/w/sub/x.c"]),
            ["linux-kernel@vger.kernel.org"]
        );
    }

    #[test]
    fn trailing_slash_matches_everything_below() {
        assert_eq!(
            all(&["drivers/a/deep/er/x.c"])[0],
            "Alice Example <alice@example.org>"
        );
    }

    #[test]
    fn ties_follow_maintainers_order() {
        assert_eq!(
            all(&["drivers/t/x.c"]),
            [
                "Dan Example <dan@example.org>",
                "Eve Example <eve@example.org>",
                "linux-kernel@vger.kernel.org"
            ]
        );
    }

    #[test]
    fn n_regex_matches_anywhere_in_the_path() {
        assert_eq!(
            all(&["arch/zork/x.c"])[0],
            "Frank Example <frank@example.org>"
        );
        assert_eq!(all(&["arch/bzork/x.c"]), ["linux-kernel@vger.kernel.org"]);
    }

    #[test]
    fn existing_directory_gets_a_trailing_slash() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("drivers/d")).unwrap();
        let text = "D\nM:\tD <d@example.org>\nS:\tMaintained\nF:\tdrivers/d\n";
        let m = Maintainers::parse(&[text], "", dir.path());
        let r = m.recipients_for_files(&["drivers/d/x.c".to_string()]);
        assert_eq!(r.to(), ["D <d@example.org>"]);
        let m = Maintainers::parse(&[text], "", Path::new("/nonexistent"));
        assert!(m
            .recipients_for_files(&["drivers/d/x.c".to_string()])
            .entries
            .is_empty());
    }

    #[test]
    fn subsystem_and_routing_key() {
        let s = m().subsystem("drivers/a/core.c").unwrap();
        assert_eq!(s.title, "DRIVER A CORE");
        let s = m().subsystem("drivers/a/b.c").unwrap();
        assert_eq!(
            s.routing_key(),
            (
                Some("git://example.org/a.git".into()),
                vec!["Alice Example <alice@example.org>".into()]
            )
        );
        assert!(m().subsystem("README").is_none());
    }

    #[test]
    fn keywords_match_changed_lines_only_after_the_headers() {
        let text =
            format!("{M}\nKW\nM:\tKurt <kurt@example.org>\nS:\tMaintained\nK:\t\\bzap_thing\\b\n");
        let m = Maintainers::parse(&[&text], "", Path::new("/nonexistent"));
        let patch = b"Subject: x\n\ndiff --git a/README b/README\n--- a/README\n+++ b/README\n@@ -1 +1 @@\n zap_thing\n";
        assert!(!m
            .recipients_for_patch(patch)
            .all()
            .contains(&"Kurt <kurt@example.org>".to_string()));
        let patch = b"Subject: x\n\ndiff --git a/README b/README\n--- a/README\n+++ b/README\n@@ -1 +1 @@\n-zap_thing\n";
        assert!(m
            .recipients_for_patch(patch)
            .all()
            .contains(&"Kurt <kurt@example.org>".to_string()));
        let patch =
            b"Subject: zap_thing\n\ndiff --git a/README b/README\n--- a/README\n+++ b/README\n";
        assert!(m
            .recipients_for_patch(patch)
            .all()
            .contains(&"Kurt <kurt@example.org>".to_string()));
    }

    #[test]
    fn names_with_special_characters_are_quoted() {
        assert_eq!(
            parse_email("James E.J. Bottomley <j@x.org>").0,
            "\"James E.J. Bottomley\""
        );
        assert_eq!(
            format_email("\"Lad, P\"", "p@x.org"),
            "\"Lad, P\" <p@x.org>"
        );
    }
}
