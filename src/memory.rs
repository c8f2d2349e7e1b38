//! Freed memory given back to the system between the phases of a run.
//!
//! The allocator keeps the pages a phase frees for the allocations that
//! follow; a phase that frees a great deal (a round's analysis, the parse
//! trees once the rounds are done, the first of the two parses that check
//! a rewrite) is often followed by one that does not take them again, and
//! they stay counted in the process's resident memory, raising its peak.
//! The binary, which chose the allocator, says how to give them back
//! (`set_return`); those phases ask for it (`give_back`). Nothing else
//! lives here: every layer may call it.

use std::sync::OnceLock;

/// What gives freed memory back, set once by the binary.
static RETURN: OnceLock<fn()> = OnceLock::new();

/// Sets what gives the memory the process has freed back to the system;
/// the first setting stays.
pub fn set_return(give_back: fn()) {
    let _ = RETURN.set(give_back);
}

/// Gives the memory freed so far back to the system, when the binary said
/// how (a library caller that did not leaves its allocator alone).
pub fn give_back() {
    if let Some(give_back) = RETURN.get() {
        give_back();
    }
}
