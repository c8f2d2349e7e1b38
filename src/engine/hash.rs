//! The hashed maps and sets of the engine. The analysis asks them millions
//! of times a run with short keys (names, locations, node positions), where
//! the standard library's keyed SipHash was a tenth of the analyses'
//! instructions; these hash with foldhash's fast, fixed-seed hasher, so
//! their order is the same from run to run as well.

use foldhash::fast::FixedState;

/// A `HashMap` hashing with `FixedState`; made with `HashMap::default()`.
pub type HashMap<K, V, S = FixedState> = std::collections::HashMap<K, V, S>;

/// A `HashSet` hashing with `FixedState`; made with `HashSet::default()`.
pub type HashSet<K, S = FixedState> = std::collections::HashSet<K, S>;
