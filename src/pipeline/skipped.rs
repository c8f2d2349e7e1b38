//! What the files and functions a run could not analyse block: a flow is
//! never converted while a file it could not read, or one whose bytes
//! mention its helpers, callers or fields, may hold one of its releases.

use super::search::whole_words;
use crate::c::parse::Parsed;
use crate::engine::{Blocker, FileFindings, Need, Unit};
use crate::source::{self, SkipKind, SkippedFile};
use memchr::memmem::Finder;
use std::collections::BTreeMap;
use std::path::Path;

/// The converted units a skipped file may take part in, with the reason: a
/// file whose bytes are not C blocks every flow whose helper, caller or
/// struct field it mentions; a file that could not be read at all blocks
/// every flow that leaves its function (it may mention anything). A flow is
/// never converted in the files pinpatch read while a file it could not
/// analyse may hold one of its releases.
pub(super) fn blocked_by_skipped(
    base: &Path,
    skipped: &[SkippedFile],
    units: &[Unit],
) -> BTreeMap<usize, Blocker> {
    let mut blocked = BTreeMap::new();
    let open: Vec<usize> = (0..units.len())
        .filter(|&u| units[u].is_converted() && !units[u].depends.is_empty())
        .collect();
    if open.is_empty() {
        return blocked;
    }
    for s in skipped {
        let bytes = match s.kind {
            SkipKind::NotFollowed => continue,
            SkipKind::NotC => source::read(base, &s.path).ok(),
            SkipKind::Unreadable => None,
        };
        for &u in &open {
            if blocked.contains_key(&u) {
                continue;
            }
            let why = match &bytes {
                None => Some(Blocker::SkippedFileUnread {
                    path: s.path.clone(),
                    reason: s.reason.clone(),
                }),
                Some(bytes) => mentioned_dependency(bytes, &units[u], None).map(|name| {
                    Blocker::SkippedFileMentions {
                        path: s.path.clone(),
                        name,
                        reason: s.reason.clone(),
                    }
                }),
            };
            if let Some(why) = why {
                blocked.insert(u, why);
            }
        }
    }
    blocked
}

/// The first name of the unit's flow (a function, or `STRUCT::FIELD` when
/// both words occur) that `bytes` mention as a whole word. When `bytes` are
/// the body of one function, `function`, a function the flow passes pages to
/// matters only if this is its definition: a mere call of it is not part of
/// the flow.
fn mentioned_dependency(bytes: &[u8], unit: &Unit, function: Option<&str>) -> Option<String> {
    let mentions = |word: &str| whole_words(bytes, &Finder::new(word)).next().is_some();
    unit.depends.iter().find_map(|need| match need {
        Need::Definition(name) if function.is_some() => {
            (function == Some(name.as_str())).then(|| name.clone())
        }
        Need::Definition(name) | Need::Callers(name) => mentions(name).then(|| name.clone()),
        Need::Field(strukt, field) => {
            (mentions(strukt) && mentions(field)).then(|| format!("{strukt}::{field}"))
        }
        Need::Holders(_) => None,
    })
}

/// The converted units a function the engine did not analyse (nested too
/// deep, or holding a parse error) may take part in: those whose helpers,
/// callers or struct fields its text mentions.
pub(super) fn blocked_by_skipped_functions(
    parsed: &[&(String, Parsed)],
    findings: &[FileFindings],
    units: &[Unit],
) -> BTreeMap<usize, Blocker> {
    let mut blocked = BTreeMap::new();
    for ((rel, p), f) in parsed.iter().zip(findings) {
        if f.skipped.is_empty() {
            continue;
        }
        let defs = crate::c::syntax::functions(p.tree.root_node());
        for k in &f.skipped {
            let Some(def) = defs.iter().find(|d| {
                p.line_of(d.node.start_byte()) == k.line && d.name(&p.original) == k.function
            }) else {
                continue;
            };
            let body = &p.original[def.node.byte_range()];
            for (u, unit) in units.iter().enumerate() {
                if !unit.is_converted() || blocked.contains_key(&u) {
                    continue;
                }
                if let Some(name) = mentioned_dependency(body, unit, Some(&k.function)) {
                    blocked.insert(
                        u,
                        Blocker::SkippedFunctionMentions {
                            function: k.function.clone(),
                            place: format!("{rel}:{}", k.line),
                            name,
                            reason: k.reason.clone(),
                        },
                    );
                }
            }
        }
    }
    blocked
}
