//! Webhook signatures: `X-Trackgate-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`.
//!
//! The timestamp is part of the signed text so a captured request cannot be replayed later
//! with a fresh `X-Trackgate-Timestamp`; receivers reject timestamps too far from their clock.
//!
//! During a secret rotation the header carries one signature per secret, the new one first:
//! `sha256=<new>,sha256=<old>`. A receiver accepts the request when any of them matches a
//! secret it knows, so it can switch to the new secret at any moment of the window.

use crate::secret::Secret;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The `X-Trackgate-Signature` value for `secrets` (current first, then the previous one
/// during a rotation window), comma-separated.
pub fn header(secrets: &[Secret], timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|s| signature(s.expose().as_bytes(), timestamp, body))
        .collect::<Vec<_>>()
        .join(",")
}

/// The header value (`sha256=<64 hex>`) for `body` sent at `timestamp` (unix seconds, as
/// written in `X-Trackgate-Timestamp`).
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2_vector() {
        // RFC 4231 test case 2 (key "Jefe"): the HMAC primitive itself is the standard one.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").expect("key");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn signs_timestamp_dot_body() {
        // Reference value computed with: printf '1764215276.{"id":"a"}' |
        //   openssl dgst -sha256 -hmac s3cret
        assert_eq!(
            signature(b"s3cret", 1_764_215_276, br#"{"id":"a"}"#),
            format!("sha256={}", REFERENCE)
        );
    }

    #[test]
    fn rotation_sends_both_signatures_new_first() {
        let h = header(
            &[Secret::new("new"), Secret::new("s3cret")],
            1_764_215_276,
            br#"{"id":"a"}"#,
        );
        let (new, old) = h.split_once(',').unwrap();
        assert_eq!(new, signature(b"new", 1_764_215_276, br#"{"id":"a"}"#));
        assert_eq!(old, format!("sha256={REFERENCE}"));
        assert_eq!(
            header(&[Secret::new("s3cret")], 1_764_215_276, br#"{"id":"a"}"#),
            format!("sha256={REFERENCE}")
        );
    }

    const REFERENCE: &str = "beeb8387e576eab0e4f5f21bc0d2e8a687e4e61c8421ed16c98533b570db4696";
}
