//! A client's name for one submission, so that sending it again is recognised as a retry.

use std::fmt;

use super::ParseError;

/// The `Idempotency-Key` a client sends with a booking (or the token a booking form carries):
/// 1 to 255 visible ASCII characters, e.g. a UUID. Opaque: only compared.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The longest key accepted: as long as any client-generated id needs to be.
    pub const MAX_LEN: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if raw.is_empty() {
            return Err(ParseError::new("is empty; leave the header out instead"));
        }
        if raw.len() > Self::MAX_LEN || !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ParseError::new(
                "must be 1 to 255 visible ASCII characters, such as a UUID",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// With a person's details it finds their booking: kept out of logs.
impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdempotencyKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uuid_is_a_key_and_blanks_spaces_or_overlong_keys_are_not() {
        let uuid = "0b0d6b4e-0f6e-4b8a-9c1e-3a1f0e2d4c5b";
        assert_eq!(IdempotencyKey::parse(uuid).unwrap().as_str(), uuid);
        for bad in ["", "a b", "caf\u{e9}", "tab\there"] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
    }
}
