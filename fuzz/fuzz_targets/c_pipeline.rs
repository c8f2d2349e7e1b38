//! Fuzzes the C side of the pipeline with the built-in rule pack: any bytes,
//! taken as a C file, go through the macro pass, the parser, the engine, the
//! rewriter and the self-checks without a panic. The macro pass keeps the
//! length and the newline offsets, and a rewrite never adds parse errors.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pinpatch::c::macros::{neutralise, MacroTable};
use pinpatch::engine::{AcquirePolicy, Engine};
use pinpatch::rewrite::verify::error_count;
use pinpatch::rule::{RulePack, Target};
use std::sync::OnceLock;

fn pack() -> &'static RulePack {
    static PACK: OnceLock<RulePack> = OnceLock::new();
    PACK.get_or_init(|| RulePack::builtin().expect("the built-in pack compiles"))
}

fuzz_target!(|data: &[u8]| {
    let neutral = neutralise(data, MacroTable::builtin());
    assert_eq!(neutral.len(), data.len(), "the macro pass keeps the length");
    for (a, b) in data.iter().zip(&neutral) {
        assert_eq!(*a == b'\n', *b == b'\n', "the macro pass keeps newlines");
    }
    for target in [Target::Unpin, Target::PutUserPage] {
        let engine = Engine::new(pack(), target, AcquirePolicy::All);
        let Ok(Some(f)) = pinpatch::pipeline::process_bytes(&engine, "fuzz.c", data.to_vec())
        else {
            continue;
        };
        if f.changed() {
            let before = error_count(&f.before).expect("the original parsed");
            let after = error_count(&f.after).expect("the rewrite parses");
            assert!(after <= before, "the rewrite adds parse errors");
            let diff = f.diff();
            assert!(!diff.is_empty());
        }
    }
});
