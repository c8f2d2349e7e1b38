//! How a subsystem wants its patches written: a capital letter after the
//! subject prefix (tip, KVM), the tree in the subject tag (`[PATCH net]`,
//! `[PATCH net-next]` for networking). The rules are data (`voices.toml`),
//! each with the maintainer document it comes from; a file's own history,
//! when the tree is a git repository, decides the capital letter first.

use super::maintainers::Subsystem;
use std::sync::OnceLock;

/// What a patch's subject follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Voice {
    /// The summary starts with a capital letter.
    pub capitalised: bool,
    /// The patch goes through the networking trees, which want the tree in
    /// the subject tag.
    pub networking: bool,
}

#[derive(serde::Deserialize)]
struct Voices {
    capitalised: Capitalised,
    networking: Networking,
}

#[derive(serde::Deserialize)]
struct Capitalised {
    trees: Vec<String>,
    prefixes: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Networking {
    trees: Vec<String>,
    lists: Vec<String>,
}

fn voices() -> &'static Voices {
    static VOICES: OnceLock<Voices> = OnceLock::new();
    VOICES.get_or_init(|| {
        toml::from_str(include_str!("voices.toml"))
            .expect("voices.toml is checked by the unit tests")
    })
}

/// Whether a `T:` value (`URL [branch]`) names one of `trees`.
fn names_tree(t: &str, trees: &[String]) -> bool {
    let url = t.split_whitespace().next().unwrap_or("");
    trees.iter().any(|end| url.ends_with(end.as_str()))
}

/// The voice of a patch to `subsystem` whose subject prefix is `prefix`.
/// `history` is what the file's own recent subjects say about the capital
/// letter, when they say something (`capitalised_in_history`).
pub fn voice_of(subsystem: Option<&Subsystem>, prefix: &str, history: Option<bool>) -> Voice {
    let v = voices();
    let first = prefix.split(": ").next().unwrap_or("");
    let capitalised = history.unwrap_or_else(|| {
        v.capitalised.prefixes.iter().any(|p| p == first)
            || subsystem
                .is_some_and(|s| s.trees.iter().any(|t| names_tree(t, &v.capitalised.trees)))
    });
    let networking = subsystem.is_some_and(|s| {
        s.trees.iter().any(|t| names_tree(t, &v.networking.trees))
            || (s.trees.is_empty()
                && s.lists
                    .iter()
                    .any(|l| v.networking.lists.iter().any(|n| n.eq_ignore_ascii_case(l))))
    });
    Voice {
        capitalised,
        networking,
    }
}

/// How many subjects with a summary a history needs before its habit
/// decides the capital letter.
const HISTORY_SUBJECTS: usize = 3;

/// Whether a file's recent subjects start their summaries (the text after
/// the subsystem lead) with a capital letter: `None` when fewer than
/// `HISTORY_SUBJECTS` have a summary that starts with a letter, else
/// whether most of them do.
pub fn capitalised_in_history<'a>(subjects: impl IntoIterator<Item = &'a str>) -> Option<bool> {
    let (mut upper, mut lower) = (0usize, 0usize);
    for s in subjects {
        if s.starts_with("Merge ") || s.starts_with("Revert ") {
            continue;
        }
        let Some(lead) = super::message::subject_lead(s) else {
            continue;
        };
        // The text after as many `: ` as the lead has segments (the lead
        // trims its segments, so its length is no offset into `s`).
        let segments = lead.split(": ").count();
        let Some(summary) = s.splitn(segments + 1, ": ").nth(segments) else {
            continue;
        };
        let summary = summary.trim_start();
        match summary.chars().next() {
            Some(c) if c.is_ascii_uppercase() => upper += 1,
            Some(c) if c.is_ascii_lowercase() => lower += 1,
            _ => {}
        }
    }
    (upper + lower >= HISTORY_SUBJECTS).then_some(upper > lower)
}

/// A summary in a voice: its first word capitalised when the voice asks and
/// the word is a plain lower-case word (`convert`, `fix`), never a name
/// (`get_user_pages()`).
pub fn summary_in(voice: Voice, summary: &str) -> String {
    let word = summary.split(' ').next().unwrap_or("");
    if voice.capitalised && !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase()) {
        let mut out = word.to_ascii_uppercase()[..1].to_string();
        out.push_str(&summary[1..]);
        out
    } else {
        summary.to_string()
    }
}

/// The word a networking series puts in its subject tag.
pub fn networking_tree(fix: bool) -> &'static str {
    if fix {
        "net"
    } else {
        "net-next"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(trees: &[&str], lists: &[&str]) -> Subsystem {
        Subsystem {
            title: "X".into(),
            maintainers: Vec::new(),
            trees: trees.iter().map(|t| t.to_string()).collect(),
            lists: lists.iter().map(|l| l.to_string()).collect(),
            index: 0,
        }
    }

    #[test]
    fn voices_come_from_the_maintainer_documents() {
        let tip = section(
            &["git://git.kernel.org/pub/scm/linux/kernel/git/tip/tip.git x86/sgx"],
            &[],
        );
        assert!(voice_of(Some(&tip), "x86/sgx", None).capitalised);
        assert!(voice_of(None, "KVM: PPC: Book3S HV", None).capitalised);
        assert!(!voice_of(None, "media: ivtv", None).capitalised);
        // The file's own history comes first.
        assert!(!voice_of(Some(&tip), "x86/sgx", Some(false)).capitalised);

        let rds = section(
            &[],
            &["netdev@vger.kernel.org", "linux-rdma@vger.kernel.org"],
        );
        assert!(voice_of(Some(&rds), "rds", None).networking);
        let net = section(
            &["git://git.kernel.org/pub/scm/linux/kernel/git/netdev/net-next.git"],
            &[],
        );
        assert!(voice_of(Some(&net), "net", None).networking);
        // A section with a tree of its own goes through it, whatever its list.
        let mlx = section(
            &["git://git.kernel.org/pub/scm/linux/kernel/git/mellanox/linux.git"],
            &["netdev@vger.kernel.org"],
        );
        assert!(!voice_of(Some(&mlx), "net/mlx5", None).networking);
    }

    #[test]
    fn history_decides_the_capital_letter_when_it_can() {
        assert_eq!(
            capitalised_in_history([
                "x86/sgx: Fix a",
                "x86/sgx: Add b",
                "x86/sgx: remove c",
                "Merge x: y"
            ]),
            Some(true)
        );
        assert_eq!(capitalised_in_history(["rds: fix a", "rds: Add b"]), None);
        // Spacing the lead trims away, before letters of more than one
        // byte: the summary is read after the lead's segments, not at the
        // lead's length.
        assert_eq!(
            capitalised_in_history(["KVM:  PPC: fix a", "KVM:  PPC: fix b", "a:  \u{e9}: fix c"]),
            Some(false)
        );
        assert_eq!(
            capitalised_in_history(["rds: fix a", "rds: add b", "rds: Use c"]),
            Some(false)
        );
    }

    #[test]
    fn only_plain_words_are_capitalised() {
        let voice = Voice {
            capitalised: true,
            networking: false,
        };
        assert_eq!(
            summary_in(voice, "convert to pin_user_pages()"),
            "Convert to pin_user_pages()"
        );
        assert_eq!(
            summary_in(voice, "get_user_pages() misuse"),
            "get_user_pages() misuse"
        );
        assert_eq!(summary_in(Voice::default(), "convert x"), "convert x");
    }
}
