//! Small helpers shared by the engine and its front ends.

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

#[cfg(test)]
mod tests {
    #[test]
    fn user_hash_depends_on_salt_and_hides_the_id() {
        let h = super::hash_user("s1", "discord:123");
        assert_eq!(h.len(), 64);
        assert!(!h.contains("123"));
        assert_ne!(h, super::hash_user("s2", "discord:123"));
        assert_eq!(h, super::hash_user("s1", "discord:123"));
    }
}
