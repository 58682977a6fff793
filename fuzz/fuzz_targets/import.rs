//! Battle logs (JSON Lines, JSON arrays, CSV; any bytes): rows and skips or an error, never a
//! panic, and every row names two different models.
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;

use arena::transfer::battles::{InputFormat, Mapping};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let format = match selector % 4 {
        0 => InputFormat::Jsonl,
        1 => InputFormat::Json,
        2 => InputFormat::Csv,
        _ => InputFormat::Auto,
    };
    let Ok(mut file) = tempfile::NamedTempFile::new() else {
        return;
    };
    if file.write_all(bytes).is_err() {
        return;
    }
    let _ = arena::transfer::battles::read(file.path(), format, &Mapping::default(), |chunk| {
        for row in &chunk.rows {
            assert_ne!(row.model_a, row.model_b);
            assert!((row.model_a as usize) < chunk.names.len());
            assert!((row.model_b as usize) < chunk.names.len());
        }
        Ok(())
    });
});
