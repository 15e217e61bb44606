//! Booking references: short, unguessable, easy to read aloud and type.

use std::fmt;

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::ParseError;

/// Digits and capitals without the look-alikes 0/O, 1/I/L and U (which reads as V).
const ALPHABET: &[u8; 30] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
const LENGTH: usize = 10;

/// A booking reference such as `7KQ4M-PX2RD`: 10 characters from a 30-symbol alphabet
/// (about 49 bits from the operating system's CSPRNG), so references cannot be enumerated.
/// It is never enough on its own to see a booking: the identity number is asked too.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Reference(String);

impl Reference {
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let code = (0..LENGTH)
            .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
            .collect();
        Self(code)
    }

    /// Accepts any case, with or without the dash and spaces people add when copying it.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let compact: String = raw
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .collect::<String>()
            .to_ascii_uppercase();
        if compact.is_empty() {
            return Err(ParseError::new("is required"));
        }
        if compact.len() != LENGTH || !compact.bytes().all(|b| ALPHABET.contains(&b)) {
            return Err(ParseError::new(
                "a booking reference has 10 letters and digits, like 7KQ4M-PX2RD",
            ));
        }
        Ok(Self(compact))
    }

    /// The compact form, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Shown with a dash in the middle so it can be read out in two halves.
impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", &self.0[..5], &self.0[5..])
    }
}

/// Half of what opens a booking: kept out of logs, so `Debug` does not show it.
impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Reference(<redacted>)")
    }
}

impl TryFrom<String> for Reference {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Reference> for String {
    fn from(reference: Reference) -> Self {
        reference.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn generated_references_have_no_look_alike_characters_and_do_not_repeat() {
        let refs: std::collections::HashSet<_> =
            (0..10_000).map(|_| Reference::generate()).collect();
        assert_eq!(refs.len(), 10_000);
        for r in &refs {
            assert!(!r.as_str().contains(['0', 'O', '1', 'I', 'L', 'U']), "{r}");
        }
    }

    #[test]
    fn a_reference_is_read_in_any_case_with_or_without_its_dash() {
        let r = Reference::parse("7kq4m-px2rd").unwrap();
        assert_eq!(r.to_string(), "7KQ4M-PX2RD");
        assert_eq!(Reference::parse("7KQ4MPX2RD").unwrap(), r);
    }

    #[test]
    fn references_with_look_alikes_or_the_wrong_length_are_refused() {
        assert!(Reference::parse("7KQ4M-PX2R0").is_err());
        assert!(Reference::parse("7KQ4M-PX2R").is_err());
        assert!(
            Reference::parse("")
                .unwrap_err()
                .message()
                .contains("required")
        );
    }

    proptest! {
        #[test]
        fn every_generated_reference_parses_back_from_its_display_form(_n in 0..100u8) {
            let r = Reference::generate();
            prop_assert_eq!(Reference::parse(&r.to_string()).unwrap(), r);
        }

        #[test]
        fn reference_parsing_never_panics(raw in ".{0,16}") {
            let _ = Reference::parse(&raw);
        }
    }
}
