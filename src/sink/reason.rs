//! The text of the engine's reasons and decisions, as reports, `check`,
//! `explain` and cover letters print them.

use crate::engine::{Blocker, Decision, Evidence, Limit, Origin, PinCase, Separation};
use std::fmt;

impl fmt::Display for Separation {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Separation::Objects {
                store,
                store_objects,
                releases,
                release_objects,
            } => write!(
                f,
                "{}, but into objects allocated at {}, while the release{} at {} read{} objects allocated at {}",
                store,
                store_objects.join(", "),
                if releases.len() == 1 { "" } else { "s" },
                releases.join(", "),
                if releases.len() == 1 { "s" } else { "" },
                release_objects.join(", ")
            ),
            Separation::Flag {
                release,
                flag,
                set,
                left_out,
            } => {
                let left_out: Vec<String> = left_out.iter().map(|o| o.to_string()).collect();
                let (other, runs) = if *set { ("not set", "set") } else { ("set", "not set") };
                write!(
                    f,
                    "{}, but with `{flag}` {other}, while the release at {release} runs only when it is {runs}",
                    left_out.join(", ")
                )
            }
            Separation::Branch {
                store,
                condition,
                set,
                releases,
            } => write!(
                f,
                "{store}, but only when `{condition}` {}, while the release{} at {} see{} only what is stored when it {}",
                if *set { "holds" } else { "does not hold" },
                if releases.len() == 1 { "" } else { "s" },
                releases.join(", "),
                if releases.len() == 1 { "s" } else { "" },
                if *set { "does not" } else { "does" },
            ),
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Origin::Assigned { value, place } => write!(f, "`{value}` ({place})"),
            Origin::Argument {
                value,
                callee,
                caller,
                place,
            } => write!(f, "`{value}` passed to {callee}() by {caller}() ({place})"),
            Origin::UnreadStores { strukt, field } => write!(
                f,
                "whatever the files pinpatch did not read store in {strukt}::{field}"
            ),
            Origin::AddressTaken { function, place } => write!(
                f,
                "calls of {function}() through a pointer (its address is taken at {place})"
            ),
        }
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Limit::FixpointRounds(n) => write!(
                f,
                "the propagation of pages did not settle within {n} rounds, so some stores may be missed"
            ),
            Limit::ExpressionDepth(n) => write!(
                f,
                "an expression nested deeper than {n} operands was not followed, so some values may be missed"
            ),
            Limit::ObjectTrace(n) => write!(
                f,
                "a trace of the objects a pointer may point at was stopped after {n} expressions, so a field shared by several objects was taken as mixed"
            ),
            Limit::SummaryDepth(n) => write!(
                f,
                "a chain of more than {n} calls was not summarised, so some page addresses are followed further than needed"
            ),
            Limit::GuardDepth(n) => write!(
                f,
                "a flag tested by a release was not followed through more than {n} calls, so the release may be taken to see values the flag leaves out"
            ),
            Limit::HolderSearch(n) => write!(
                f,
                "the structs embedding a struct named in more than {n} headers were not searched for, so code reaching its fields through them unnamed is not seen"
            ),
            Limit::LocalAddressDepth(n) => write!(
                f,
                "a local variable's address was not followed through more than {n} calls, so what is stored in it was taken to reach any object"
            ),
            Limit::ForwardDepth(n) => write!(
                f,
                "a call was not followed through more than {n} macros that forward their arguments, so what the last one is given is taken to escape"
            ),
        }
    }
}

impl fmt::Display for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Blocker::NoPagesArgument => write!(f, "the pages argument was not found"),
            Blocker::NullPages => write!(
                f,
                "pages is NULL: the call only faults pages in, nothing is released"
            ),
            Blocker::PagesNotLocation { pages } => write!(
                f,
                "the pages argument `{pages}` is not a variable or a field of a known struct"
            ),
            Blocker::MixedFamilyArray => write!(
                f,
                "pages of one array are acquired both with and without a pin"
            ),
            Blocker::MixedFamilyFlow => write!(
                f,
                "pages of one flow are acquired both with and without a pin"
            ),
            Blocker::FollGet { line } => {
                write!(f, "FOLL_GET is already in gup_flags (line {line})")
            }
            Blocker::RuleManual { why } => write!(f, "{why}"),
            Blocker::MissingApi { call } => write!(
                f,
                "the rewrite needs {call}(), which this tree's include/linux/mm.h does not declare"
            ),
            Blocker::MixedRelease { place, others } => {
                write!(f, "the release at {place} may also see ")?;
                for (i, o) in others.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{o}")?;
                }
                Ok(())
            }
            Blocker::Unsettled(blocker) => {
                write!(f, "{blocker} (not looked into further: what would settle it was not read)")
            }
            Blocker::Unparsed { function, place } => write!(
                f,
                "{function}() at {place} is in the flow but does not parse"
            ),
            Blocker::UnreadCallers { function } => write!(
                f,
                "{function}() has callers pinpatch did not read (it is used in too many files)"
            ),
            Blocker::StoredUnfollowed { target, place } => write!(
                f,
                "the pages are stored into `{target}` ({place}), which pinpatch cannot follow"
            ),
            Blocker::ElementAssigned {
                array,
                value,
                place,
            } => write!(
                f,
                "an element of `{array}` is assigned `{value}` ({place}), which does not come from the acquire"
            ),
            Blocker::ElementSet {
                container,
                value,
                place,
            } => write!(
                f,
                "an element of `{container}` is set to `{value}` ({place}), which does not come from the acquire"
            ),
            Blocker::IndirectCall { place } => {
                write!(f, "the pages are passed to an indirect call ({place})")
            }
            Blocker::ExtraReference { call, place } => {
                write!(f, "an extra reference is taken with {call}() ({place})")
            }
            Blocker::UnconvertedRelease { call, place } => write!(
                f,
                "the pages are released with {call}() ({place}), which no rule converts"
            ),
            Blocker::PassedToAmbiguous { call, place } => write!(
                f,
                "the pages are passed to {call}() ({place}), which has several definitions"
            ),
            Blocker::PassedTo { call, place } => {
                write!(f, "the pages are passed to {call}() ({place})")
            }
            Blocker::WalkedBy { iterator, place } => write!(
                f,
                "the pages are walked by the iterator macro {iterator}() ({place}), which pinpatch does not follow"
            ),
            Blocker::ReachedInMacro {
                field,
                macro_name,
                place,
            } => write!(
                f,
                "the pages in {field} are reached inside the macro {macro_name}() ({place}), which pinpatch does not follow"
            ),
            Blocker::UntypedFieldRead { expression, place } => write!(
                f,
                "the pages may be reached through `{expression}` ({place}), whose struct pinpatch cannot tell"
            ),
            Blocker::FieldOffsetTaken { field, place } => write!(
                f,
                "the offset of {field} is taken with offsetof() ({place}): code may reach the pages through it, which pinpatch does not follow"
            ),
            Blocker::StructPunned { from, to, place } => write!(
                f,
                "struct {from}, which holds the pages, is read as struct {to} ({place}): its fields may be reached under that struct's names, which pinpatch does not follow"
            ),
            Blocker::NoRelease => write!(f, "no release of these pages was found"),
            Blocker::AlreadyPinned => {
                write!(f, "the pages are already pinned with pin_user_pages*()")
            }
            Blocker::NoTemplate { rule } => {
                write!(f, "rule {rule} has no template for this target")
            }
            Blocker::NoUnpinRewrite { rule } => {
                write!(f, "rule {rule} has no rewrite for the unpin target")
            }
            Blocker::StructPageOnly { uses } => write!(
                f,
                "kept: only struct page is looked at ({}), so a reference is enough (pin_user_pages.rst, case 4)",
                uses.iter().map(|c| format!("{c}()")).collect::<Vec<_>>().join(", ")
            ),
            Blocker::MmuNotifier { call, place } => write!(
                f,
                "kept: no DMA or write to the pages seen, and the driver registers an MMU notifier ({call}() at {place}), which drops its pages when the memory goes away (case 3)"
            ),
            Blocker::RemoteAccess { mm, function } => write!(
                f,
                "kept: pages of another address space (`{mm}`), taken in {function}(), are accessed briefly and released in the same file without being stored, as ptrace does; a reference is enough"
            ),
            Blocker::LookupOnly { release, use_place } => write!(
                f,
                "kept: the page is released ({release}) before its address is used ({use_place}), so the call only looks the page up"
            ),
            Blocker::NeedsDecision => write!(
                f,
                "needs a decision: no use of the pages is seen"
            ),
            Blocker::LimitReached(limit) => write!(f, "{limit}"),
            Blocker::SkippedFileMentions { path, name, reason } => write!(
                f,
                "{path} mentions {name}, which this flow goes through, but was skipped ({reason})"
            ),
            Blocker::SkippedFileUnread { path, reason } => write!(
                f,
                "{path} was skipped ({reason}) and may use the helpers or fields this flow goes through"
            ),
            Blocker::SkippedFunctionMentions {
                function,
                place,
                name,
                reason,
            } => write!(
                f,
                "{function}() at {place} mentions {name}, which this flow goes through, but is not analysed ({reason})"
            ),
            Blocker::RewriteOverlap => write!(f, "its rewrite overlaps another unit's rewrite"),
            Blocker::SelfCheckFailed { path, why } => {
                write!(f, "self-check failed in {path}: {why}")
            }
            Blocker::RewriteParseError { path } => {
                write!(f, "the rewrite would introduce a parse error in {path}")
            }
            Blocker::RewritesParseError { path } => write!(
                f,
                "the rewrites together would introduce a parse error in {path}"
            ),
        }
    }
}

/// Reasons as one line, separated by `; `.
pub fn joined(reasons: &[Blocker]) -> String {
    reasons
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Each reason on its own, as text.
pub fn lines(decision: &Decision) -> Vec<String> {
    decision.reasons().iter().map(ToString::to_string).collect()
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Evidence::LongTermFlag => write!(f, "FOLL_LONGTERM"),
            Evidence::Call(call) => write!(f, "{call}()"),
            Evidence::ContainerElement => write!(f, "stored in a container element"),
            Evidence::StoredIn(field) => write!(f, "stored in struct {field}"),
        }
    }
}

impl fmt::Display for PinCase {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            PinCase::Dma { evidence, at } => {
                write!(f, "case 1, DMA while the call runs: {evidence} at {at}")
            }
            PinCase::LongTermDma { evidence, at, kept } => {
                write!(f, "case 2, long-term DMA: {evidence} at {at}")?;
                match kept {
                    Some((field, at)) => write!(f, ", kept in struct {field} at {at}"),
                    None => write!(f, ", with FOLL_LONGTERM"),
                }
            }
            PinCase::LongTerm { evidence, at } => {
                write!(f, "long-term use: {evidence} at {at}")
            }
            PinCase::MmuNotifier { call, at } => {
                write!(f, "case 3, MMU notifier: {call}() at {at}: no pin")
            }
            PinCase::StructPageOnly => write!(f, "case 4, struct page only: no pin"),
            PinCase::WriteData { evidence, at } => {
                write!(f, "case 5, the page's data is written: {evidence} at {at}")
            }
            PinCase::DataAccess { call, at } => {
                write!(f, "the page's data is accessed: {call}() at {at}")
            }
            PinCase::Lookup => write!(f, "a lookup, not a pin"),
            PinCase::BriefRemoteAccess => {
                write!(f, "a brief access to another process's memory: no pin")
            }
        }
    }
}
