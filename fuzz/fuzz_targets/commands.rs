//! The in-chat command grammar: any text parses to a command, an error or nothing, and
//! stripping commands never panics and never grows the text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some((_, rest)) = arena::battle::commands::parse(text) {
        assert!(rest.len() <= text.len());
    }
    let stripped = arena::battle::commands::strip(text);
    assert!(stripped.len() <= text.len());
});
