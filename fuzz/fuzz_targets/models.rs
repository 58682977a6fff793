//! `models.json` in any of its forms: models or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = arena::config::Config::default();
    let path = std::path::Path::new("models.json");
    if let Ok(models) = arena::config::parse_models(path, text, &config) {
        for m in &models {
            assert!(!m.name.is_empty());
        }
    }
});
