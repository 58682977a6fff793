//! Prompt sets in any of their forms: prompts or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = arena::transfer::prompts::parse(std::path::Path::new("prompts.json"), text);
});
