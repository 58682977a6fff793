//! `config.jsonc`: any text is a config or an error that names the file, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = std::path::Path::new("config.jsonc");
    if let Err(e) = arena::config::parse_config(path, text) {
        assert!(!e.to_string().is_empty());
    }
});
