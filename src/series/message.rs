//! Subjects, commit messages and cover-letter text.
//!
//! A subject is `<prefix>: convert put_page() to unpin_user_page*()` (or
//! `put_user_page*()` for the 2018 target). The prefix comes from the git
//! history of the patch's files when the tree has one: the most frequent
//! text before the first `": "` in the recent subjects touching each file.
//! Without history it comes from the path, by this table (first match wins;
//! `<x>` is the next path component, file extensions are dropped):
//!
//! | Path | Prefix |
//! |---|---|
//! | `drivers/gpu/drm/<x>/…` | `drm/<x>` |
//! | `drivers/gpu/drm/<file>` | `drm` |
//! | `drivers/infiniband/{hw,sw,ulp}/<x>/…` | `RDMA/<x>` |
//! | `drivers/infiniband/<x>/…` | `RDMA/<x>` |
//! | `drivers/infiniband/…` | `RDMA` |
//! | `drivers/media/…/<dir>/<file>` | `media/<dir>` (the file's own directory) |
//! | `drivers/vfio/<file>` | `vfio` |
//! | `drivers/vfio/<x>/…` | `vfio/<x>` |
//! | `drivers/net/ethernet/<vendor>/<x>/…` | `net/<x>` |
//! | `drivers/<a>/<file>` | `<a>` |
//! | `drivers/<a>/<b>/…` | `<a>/<b>` |
//! | `net/<x>/…` | `net/<x>` |
//! | `net/<file>` | `net` |
//! | `fs/<x>/…` | `<x>` |
//! | `fs/<file>` | `fs` |
//! | `mm/<file>` | `mm/<file>` |
//! | `arch/<a>/<b>/…` | `<a>/<b>` |
//! | `arch/<a>/<file>` | `<a>` |
//! | `virt/kvm/…` | `KVM` |
//! | `sound/<x>/…` | `ALSA: <x>` |
//! | `<a>/<b>/…` | `<a>/<b>` |
//! | `<a>/<file>` | `<a>` |
//! | `<file>` | the file name |
//!
//! Message bodies are wrapped at 75 columns. `Signed-off-by:` is added only
//! when the caller passes an identity; this module never invents one.

use super::input::Target;
use super::Identity;

/// Maximum width of commit-message lines and of the subject.
pub const WRAP: usize = 75;

/// The part of a subject after the prefix.
pub fn summary_text(target: Target) -> &'static str {
    match target {
        Target::Unpin => "convert put_page() to unpin_user_page*()",
        Target::PutUserPage => "convert put_page() to put_user_page*()",
    }
}

/// Builds a subject of at most 75 columns from a prefix. A prefix too long
/// to fit is cut at its last `/` component that fits.
pub fn subject(prefix: &str, target: Target) -> String {
    let summary = summary_text(target);
    let mut prefix = prefix.to_string();
    while prefix.len() + 2 + summary.len() > WRAP {
        match prefix.rfind('/') {
            Some(p) => prefix.truncate(p),
            None => {
                let keep = WRAP.saturating_sub(2 + summary.len());
                prefix.truncate(keep);
                break;
            }
        }
    }
    format!("{prefix}: {summary}")
}

/// The subject prefix for a path, from the table in this module's header.
pub fn path_prefix(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let stem = |s: &str| -> String {
        match s.rfind('.') {
            Some(p) if p > 0 => s[..p].to_string(),
            _ => s.to_string(),
        }
    };
    // `dir(i)` is component i when it is a directory (something follows it).
    let dir = |i: usize| -> Option<&str> {
        if i + 1 < parts.len() {
            Some(parts[i])
        } else {
            None
        }
    };
    match parts.as_slice() {
        [] => String::new(),
        ["drivers", "gpu", "drm", ..] => match dir(3) {
            Some(x) => format!("drm/{x}"),
            None => "drm".into(),
        },
        ["drivers", "infiniband", kind, ..] if matches!(*kind, "hw" | "sw" | "ulp") => match dir(3)
        {
            Some(x) => format!("RDMA/{x}"),
            None => "RDMA".into(),
        },
        ["drivers", "infiniband", ..] => match dir(2) {
            Some(x) => format!("RDMA/{x}"),
            None => "RDMA".into(),
        },
        ["drivers", "media", ..] if parts.len() > 3 => format!("media/{}", parts[parts.len() - 2]),
        ["drivers", "vfio", ..] => match dir(2) {
            Some(x) => format!("vfio/{x}"),
            None => "vfio".into(),
        },
        ["drivers", "net", "ethernet", _, ..] if dir(4).is_some() => format!("net/{}", parts[4]),
        ["drivers", a, ..] => match dir(2) {
            Some(b) => format!("{a}/{b}"),
            None if dir(1).is_some() => a.to_string(),
            None => "drivers".into(),
        },
        ["net", ..] => match dir(1) {
            Some(x) => format!("net/{x}"),
            None => "net".into(),
        },
        ["fs", ..] => match dir(1) {
            Some(x) => x.to_string(),
            None => "fs".into(),
        },
        ["mm", file] => format!("mm/{}", stem(file)),
        ["arch", a, ..] => match (dir(1), dir(2)) {
            (Some(_), Some(b)) => format!("{a}/{b}"),
            (Some(_), None) => a.to_string(),
            _ => "arch".into(),
        },
        ["virt", "kvm", ..] => "KVM".into(),
        ["sound", x, _, ..] => format!("ALSA: {x}"),
        [a, b, _, ..] => format!("{a}/{b}"),
        [a, _] => a.to_string(),
        [file] => stem(file),
    }
}

/// The most frequent prefix in a list of subjects (text before the first
/// `": "`), ties going to the one seen first. Subjects without `": "` and
/// merge commits are ignored.
pub fn prefix_from_subjects<'a>(subjects: impl IntoIterator<Item = &'a str>) -> Option<String> {
    most_frequent(subjects.into_iter().filter_map(|s| {
        if s.starts_with("Merge ") {
            return None;
        }
        let prefix = s[..s.find(": ")?].trim();
        if prefix.is_empty() || prefix.starts_with('[') {
            return None;
        }
        Some(prefix.to_string())
    }))
}

/// Picks one prefix for a patch from its files' prefixes (given in sorted
/// file order): the most frequent, ties going to the first.
pub fn choose_prefix(per_file: &[String]) -> String {
    most_frequent(per_file.iter().cloned()).unwrap_or_else(|| "treewide".into())
}

/// The most frequent item, ties going to the one seen first.
fn most_frequent(items: impl Iterator<Item = String>) -> Option<String> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for item in items {
        match counts.iter_mut().find(|(p, _)| *p == item) {
            Some((_, n)) => *n += 1,
            None => counts.push((item, 1)),
        }
    }
    let max = counts.iter().map(|(_, n)| *n).max()?;
    counts.into_iter().find(|(_, n)| *n == max).map(|(p, _)| p)
}

/// Wraps text at `width` columns, keeping words whole; `indent` starts every
/// line after the first. Words longer than a line stay on their own line.
pub fn wrap(text: &str, width: usize, first_indent: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut line = first_indent.to_string();
    let mut line_has_word = false;
    for word in text.split_whitespace() {
        if line_has_word && line.len() + 1 + word.len() > width {
            out.push_str(&line);
            out.push('\n');
            line = indent.to_string();
            line_has_word = false;
        }
        if line_has_word {
            line.push(' ');
        }
        line.push_str(word);
        line_has_word = true;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// Everything a commit message body needs to know about one patch.
pub struct BodyFacts<'a> {
    pub target: Target,
    pub acquire_sites: usize,
    pub release_sites: usize,
    pub files: usize,
    pub summaries: &'a [String],
    pub rule_ids: &'a [String],
    pub signoff: Option<&'a Identity>,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The "why" paragraph shared by patches and cover letters.
pub fn rationale(target: Target) -> String {
    match target {
        Target::Unpin => "Pages that are obtained from get_user_pages*() in order to access their \
            contents, for DMA or for writing by the CPU, must be pinned with \
            pin_user_pages*() (FOLL_PIN) and released with unpin_user_page*(), so \
            that the pins are tracked and page_maybe_dma_pinned() can tell that \
            such a page is in use (see Documentation/core-api/pin_user_pages.rst). \
            The two release families are not interchangeable, so each acquisition \
            is converted together with every put_page() that releases its pages."
            .into(),
        Target::PutUserPage => {
            "Pages that are obtained from get_user_pages*() must be released with \
            put_user_page*() instead of put_page(), so that such pages can later \
            be tracked while they are in use for DMA and the file system can \
            tell them apart from pages with ordinary references. Every release \
            of a page array is converted together, so that the acquisition and \
            all its releases stay consistent."
                .into()
        }
    }
}

/// The commit message body of a patch (everything after the subject).
pub fn patch_body(f: &BodyFacts) -> String {
    let mut out = wrap(&rationale(f.target), WRAP, "", "");
    out.push('\n');
    let what = match f.target {
        Target::Unpin => "Convert",
        Target::PutUserPage => "Convert the releases of",
    };
    let counts = format!(
        "{what} {} and {} in {}:",
        plural(f.acquire_sites, "acquisition", "acquisitions"),
        plural(f.release_sites, "release", "releases"),
        plural(f.files, "file", "files"),
    );
    out.push_str(&wrap(&counts, WRAP, "", ""));
    out.push('\n');
    for s in f.summaries {
        out.push_str(&wrap(s, WRAP, "  ", "    "));
    }
    out.push('\n');
    out.push_str(&wrap(
        "The conversion was generated by pinpatch, which follows each page array \
         from its acquisition to every release; it needs human review like any \
         other change.",
        WRAP,
        "",
        "",
    ));
    out.push('\n');
    // One line per rule keeps every line within 75 columns.
    for id in f.rule_ids {
        out.push_str(&format!("Generated by: pinpatch rule {id}\n"));
    }
    if let Some(id) = f.signoff {
        out.push_str(&format!("Signed-off-by: {}\n", id.formatted()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_table() {
        let cases = [
            ("drivers/gpu/drm/i915/gem/i915_gem_userptr.c", "drm/i915"),
            ("drivers/gpu/drm/drm_gem.c", "drm"),
            ("drivers/infiniband/hw/qib/qib_user_pages.c", "RDMA/qib"),
            ("drivers/infiniband/core/umem.c", "RDMA/core"),
            ("drivers/media/pci/ivtv/ivtv-udma.c", "media/ivtv"),
            ("drivers/vfio/vfio_iommu_type1.c", "vfio"),
            ("drivers/vfio/pci/vfio_pci.c", "vfio/pci"),
            ("drivers/misc/habanalabs/common/memory.c", "misc/habanalabs"),
            ("drivers/xen/gntdev.c", "xen"),
            ("net/rds/rdma.c", "net/rds"),
            ("fs/fuse/dev.c", "fuse"),
            ("fs/exec.c", "fs"),
            ("mm/gup.c", "mm/gup"),
            ("arch/x86/kvm/svm/sev.c", "x86/kvm"),
            ("virt/kvm/kvm_main.c", "KVM"),
            ("lib/iov_iter.c", "lib"),
        ];
        for (path, want) in cases {
            assert_eq!(path_prefix(path), want, "{path}");
        }
    }

    #[test]
    fn history_prefix_is_most_frequent() {
        let subjects = [
            "RDMA/qib: a",
            "IB/qib: b",
            "IB/qib: c",
            "Merge x: y",
            "no prefix",
        ];
        assert_eq!(prefix_from_subjects(subjects).as_deref(), Some("IB/qib"));
    }

    #[test]
    fn subject_fits_75_columns() {
        let s = subject(
            "drivers/very/long/prefix/that/goes/on/and/on/forever",
            Target::Unpin,
        );
        assert!(s.len() <= 75, "{s}");
    }

    #[test]
    fn wrap_keeps_width() {
        let text = "word ".repeat(40);
        for line in wrap(&text, 20, "", "  ").lines() {
            assert!(line.len() <= 20);
        }
    }
}
