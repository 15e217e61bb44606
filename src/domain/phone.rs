//! Malaysian mobile numbers, stored in E.164.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ParseError;

/// A Malaysian mobile number (`01X` + 7 or 8 digits), held as E.164 (`+60123456789`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// Accepts `0123456789`, `012-345 6789`, `60123456789` and `+60123456789`.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let compact: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        if compact.is_empty() {
            return Err(ParseError::new("is required"));
        }
        let national = compact
            .strip_prefix("+60")
            .or_else(|| compact.strip_prefix("60"))
            .map(|rest| format!("0{rest}"))
            .unwrap_or(compact);
        let valid = national.bytes().all(|b| b.is_ascii_digit())
            && national.starts_with("01")
            && (10..=11).contains(&national.len());
        if !valid {
            return Err(ParseError::new(
                "must be a Malaysian mobile number: 01X followed by 7 or 8 digits, like 012-345 6789",
            ));
        }
        Ok(Self(format!("+6{national}")))
    }

    /// E.164, in full. For storage and for the person's own booking only.
    pub fn e164(&self) -> &str {
        &self.0
    }

    /// The local form people write (`0123456789`).
    pub fn national(&self) -> String {
        format!("0{}", &self.0[3..])
    }

    /// What an answer shows of the number: `+60 12-*** **89`. Enough for the person to know it is
    /// theirs; two digits are no help to a stranger.
    pub fn masked(&self) -> String {
        // After `+60`: the two digits of the mobile prefix, then 7 or 8 more.
        let digits = &self.0[3..];
        let (prefix, rest) = digits.split_at(2);
        let last = &rest[rest.len() - 2..];
        let hidden = "*".repeat(rest.len() - 4);
        format!("+60 {prefix}-{hidden} **{last}")
    }
}

impl TryFrom<String> for Phone {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Phone> for String {
    fn from(phone: Phone) -> Self {
        phone.0
    }
}

/// Personal data: not a digit is shown.
impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Phone(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_seed_phone_number_is_stored_in_e164() {
        assert_eq!(Phone::parse("0123456789").unwrap().e164(), "+60123456789");
    }

    #[test]
    fn the_common_ways_of_writing_a_number_are_the_same_number() {
        for raw in [
            "012-345 6789",
            "60123456789",
            "+60123456789",
            "+60 12-345 6789",
        ] {
            assert_eq!(Phone::parse(raw).unwrap().e164(), "+60123456789", "{raw}");
        }
        assert_eq!(
            Phone::parse("011-2345 6789").unwrap().e164(),
            "+601123456789"
        );
    }

    #[test]
    fn landlines_short_numbers_and_letters_are_refused() {
        for raw in [
            "0321234567",
            "012345678",
            "012345678901",
            "01234S6789",
            "",
            "+6512345678",
        ] {
            assert!(Phone::parse(raw).is_err(), "{raw} was accepted");
        }
    }

    #[test]
    fn debug_shows_no_digit_of_a_phone_number_and_the_masked_form_only_the_last_two() {
        let phone = Phone::parse("0123456789").unwrap();
        assert_eq!(format!("{phone:?}"), "Phone(<redacted>)");
        assert_eq!(phone.masked(), "+60 12-*** **89");
        assert_eq!(
            Phone::parse("011-2345 6789").unwrap().masked(),
            "+60 11-**** **89"
        );
    }

    proptest! {
        #[test]
        fn every_mobile_number_in_any_common_form_parses_to_one_e164(
            third in 0u8..10, rest in "[0-9]{7,8}", form in 0usize..3,
        ) {
            let national = format!("01{third}{rest}");
            let raw = match form {
                0 => national.clone(),
                1 => format!("6{national}"),
                _ => format!("+6{national}"),
            };
            let phone = Phone::parse(&raw).unwrap();
            prop_assert_eq!(phone.e164(), format!("+6{national}"));
            prop_assert_eq!(&phone.national(), &national);
            let masked = phone.masked();
            prop_assert!(masked.ends_with(&national[national.len() - 2..]));
            prop_assert_eq!(masked.chars().filter(char::is_ascii_digit).count(), 6);
        }

        #[test]
        fn phone_parsing_never_panics(raw in ".{0,24}") {
            let _ = Phone::parse(&raw);
        }
    }
}
