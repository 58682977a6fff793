//! Small helpers shared by the engine and its front ends: times, the user-id hash, text made
//! safe for a terminal, and files written privately and atomically.
//!
//! May use nothing of the crate but `error`: it is the bottom layer.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Parses a time the user gave (`--since`, `since=`): an RFC 3339 instant or a civil date (midnight UTC), to Unix ms.
pub fn parse_time(flag: &str, s: &str) -> Result<i64> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t.as_millisecond());
    }
    if let Ok(d) = s.parse::<jiff::civil::Date>()
        && let Ok(z) = d.to_zoned(jiff::tz::TimeZone::UTC)
    {
        return Ok(z.timestamp().as_millisecond());
    }
    Err(Error::Input(format!(
        "{flag} `{s}`: expected a date such as 2026-01-31 or a time such as 2026-01-31T12:00:00Z"
    )))
}

/// The standard directories of arena (`directories::ProjectDirs::from("", "", "arena")`).
#[must_use]
pub fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "arena")
}

/// Unix milliseconds as an RFC 3339 timestamp in UTC, to the second.
#[must_use]
pub fn format_ms(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// Now, as [`format_ms`] writes it.
#[must_use]
pub fn now_rfc3339() -> String {
    format_ms(jiff::Timestamp::now().as_millisecond())
}

/// The salted hash under which a user id is stored: HMAC-SHA-256 keyed by `user_id_salt`.
#[must_use]
pub fn hash_user(salt: &str, user: &str) -> String {
    use hmac::{KeyInit, Mac};
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(salt.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(user.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Text from outside the process (a model's answer, an upstream's error, an imported name)
/// made safe to print on a terminal: escape sequences (CSI, OSC, DCS and the rest, in their
/// 7-bit and 8-bit forms) and other control characters are removed, and so are the bidi
/// overrides that reorder what is shown; newlines stay; tabs become spaces to the next
/// multiple of 8, so columns stay aligned; `\r\n` becomes `\n`.
#[must_use]
pub fn terminal_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut column = 0usize;
    let mut chars = text.chars().peekable();
    // Skips a string sequence (OSC, DCS, ...) up to its terminator: BEL, ESC \ or ST.
    fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
        while let Some(c) = chars.next() {
            match c {
                '\u{7}' | '\u{9c}' => return,
                '\u{1b}' if chars.peek() == Some(&'\\') => {
                    chars.next();
                    return;
                }
                _ => {}
            }
        }
    }
    // Skips the parameters, intermediates and final byte of a CSI sequence.
    fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
        for c in chars.by_ref() {
            if ('\u{40}'..='\u{7e}').contains(&c) {
                return;
            }
            if !('\u{20}'..='\u{3f}').contains(&c) {
                return;
            }
        }
    }
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                out.push('\n');
                column = 0;
            }
            '\t' => {
                let to = 8 - column % 8;
                out.extend(std::iter::repeat_n(' ', to));
                column += to;
            }
            '\u{1b}' => match chars.next() {
                Some('[') => skip_csi(&mut chars),
                Some(']' | 'P' | 'X' | '^' | '_') => skip_string(&mut chars),
                Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
                    // Intermediates, then one final character (e.g. ESC ( B).
                    while chars
                        .peek()
                        .is_some_and(|c| ('\u{20}'..='\u{2f}').contains(c))
                    {
                        chars.next();
                    }
                    chars.next();
                }
                _ => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {}
            c if c.is_control() => {}
            c => {
                out.push(c);
                column += 1;
            }
        }
    }
    out
}

/// Creates `dir` and its missing parents, the new ones readable by this user only (0700).
pub fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| Error::io(dir, e))
}

/// Creates `path` with `bytes`, readable by this user only (0600). Never follows a link and
/// never replaces anything: an existing path, a dangling link included, is an error
/// (`AlreadyExists`), with no gap between the check and the creation.
pub fn create_private_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| Error::io(path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// Replaces `path` with `bytes` atomically: written to a private temporary file beside it,
/// then renamed over it, so a reader sees the old file or the new one, never half of one,
/// and a link at `path` is replaced, not followed.
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".arena-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    temp.write_all(bytes)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(|e| Error::io(path, e))?;
    temp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn terminal_safe_text_keeps_words_and_newlines_only() {
        let nasty = "a\x1b[2Jb\x1b]0;TITLE\x07c\x1b[10;5Hd\r\ne\u{9b}31mf\x1b]8;;http://x\x1b\\g\u{202e}h\x00";
        assert_eq!(super::terminal_safe(nasty), "abcd\nefgh");
        assert_eq!(super::terminal_safe("x\ty\n\tz"), "x       y\n        z");
        assert_eq!(super::terminal_safe("ünïcode 字"), "ünïcode 字");
    }

    #[test]
    fn user_hash_depends_on_salt_and_hides_the_id() {
        let h = super::hash_user("s1", "discord:123");
        assert_eq!(h.len(), 64);
        assert!(!h.contains("123"));
        assert_ne!(h, super::hash_user("s2", "discord:123"));
        assert_eq!(h, super::hash_user("s1", "discord:123"));
    }
}
