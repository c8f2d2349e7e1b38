//! Writes series as `git format-patch` files, one directory per series.
//!
//! `OUT/<series>/0000-cover-letter.patch` (for two patches or more) and
//! `OUT/<series>/NNNN-<slug>.patch`
//! are built in a temporary directory next to `OUT` and renamed into place at
//! the end, so a failure never leaves half-written output. An existing `OUT`
//! is replaced only when asked to.

use crate::series::text::{cover_mail, patch_mail, MailContext};
use crate::series::{Identity, Series};
use std::path::{Path, PathBuf};

/// Errors of the mbox sink.
#[derive(Debug, thiserror::Error)]
pub enum MboxError {
    #[error("{0} already exists; pass force to replace it")]
    Exists(PathBuf),
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
    fn create(parent: &Path) -> Result<Staging, MboxError> {
        for n in 0..1000u32 {
            let path = parent.join(format!(".pinpatch-out-{}-{n}", std::process::id()));
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
    if out.exists() && !opts.force {
        return Err(MboxError::Exists(out.to_path_buf()));
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io(&parent))?;
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
            std::fs::write(&file, patch_mail(p, i + 1, s.patches.len(), &ctx))
                .map_err(io(&file))?;
            written.push(out.join(&s.name).join(name));
        }
    }
    check()?;
    let staged = tmp.keep();

    if out.exists() {
        // The old output is moved aside first so the swap cannot lose both.
        let old = parent.join(format!(".pinpatch-old-{}", std::process::id()));
        std::fs::rename(out, &old).map_err(io(out))?;
        if let Err(e) = std::fs::rename(&staged, out) {
            let _ = std::fs::rename(&old, out);
            let _ = std::fs::remove_dir_all(&staged);
            return Err(MboxError::Io {
                path: out.to_path_buf(),
                source: e,
            });
        }
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    } else if let Err(e) = std::fs::rename(&staged, out) {
        let _ = std::fs::remove_dir_all(&staged);
        return Err(MboxError::Io {
            path: out.to_path_buf(),
            source: e,
        });
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
