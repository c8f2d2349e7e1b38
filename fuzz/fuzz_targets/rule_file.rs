//! Fuzzes the rule-file compiler: any text gives a rule or an error that
//! names a position inside the text, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = pinpatch::rule::compile_rule("fuzz.toml", text) {
        let message = e.to_string();
        assert!(message.starts_with("fuzz.toml:"), "{message}");
    }
});
