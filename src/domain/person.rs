//! Who is booking: identity number (MyKad or passport), name, address, postcode.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::text::clean_text;
use super::{ParseError, State, today_in_malaysia};

/// A person's identity: a Malaysian MyKad number or, for non-citizens, a passport number.
///
/// Serialises to its canonical text (12 digits for MyKad, upper-case passport number). It has no
/// `Display`, and its `Debug` shows only its kind: not a digit of it reaches a log line or a page
/// by accident.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum PersonId {
    MyKad {
        /// The 12 digits, without dashes.
        digits: String,
        /// Decoded from the first six digits; the source of age-based eligibility rules.
        birth_date: NaiveDate,
    },
    Passport(String),
}

/// Sex as encoded in the last digit of a MyKad number (odd: male, even: female).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Male,
    Female,
}

/// Where a MyKad holder was born, as digits 7–8 of the number record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceOfBirth {
    /// A state or federal territory of Malaysia.
    State(State),
    /// In Malaysia, the state not recorded (code 82).
    StateUnknown,
    /// Abroad: a country or region (60–68, 71, 72, 74–79, 83–93), or one of the codes 98 and 99.
    Abroad,
}

/// The National Registration Department's (JPN) place-of-birth codes, as issued: each state has
/// its code from 01–16 and more from 21–59; births abroad have codes by country or region. A
/// code not in this table (00, 17–20, 69, 70, 73, 80, 81, 94–97) is on no genuine card.
const PLACES_OF_BIRTH: &[(&[u8], PlaceOfBirth)] = {
    use PlaceOfBirth::{Abroad, StateUnknown};
    use State::*;
    &[
        (&[1, 21, 22, 23, 24], PlaceOfBirth::State(Johor)),
        (&[2, 25, 26, 27], PlaceOfBirth::State(Kedah)),
        (&[3, 28, 29], PlaceOfBirth::State(Kelantan)),
        (&[4, 30], PlaceOfBirth::State(Melaka)),
        (&[5, 31, 59], PlaceOfBirth::State(NegeriSembilan)),
        (&[6, 32, 33], PlaceOfBirth::State(Pahang)),
        (&[7, 34, 35], PlaceOfBirth::State(PulauPinang)),
        (&[8, 36, 37, 38, 39], PlaceOfBirth::State(Perak)),
        (&[9, 40], PlaceOfBirth::State(Perlis)),
        (&[10, 41, 42, 43, 44], PlaceOfBirth::State(Selangor)),
        (&[11, 45, 46], PlaceOfBirth::State(Terengganu)),
        (&[12, 47, 48, 49], PlaceOfBirth::State(Sabah)),
        (&[13, 50, 51, 52, 53], PlaceOfBirth::State(Sarawak)),
        (&[14, 54, 55, 56, 57], PlaceOfBirth::State(KualaLumpur)),
        (&[15, 58], PlaceOfBirth::State(Labuan)),
        (&[16], PlaceOfBirth::State(Putrajaya)),
        (&[82], StateUnknown),
        // Brunei, Indonesia, Cambodia, Laos, Myanmar, the Philippines, Singapore, Thailand,
        // Vietnam; born abroad (71, 72); China, India, Pakistan, Saudi Arabia, Sri Lanka,
        // Bangladesh; then regions (83–93); and 98, 99.
        (&[60, 61, 62, 63, 64, 65, 66, 67, 68], Abroad),
        (&[71, 72, 74, 75, 76, 77, 78, 79], Abroad),
        (&[83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93], Abroad),
        (&[98, 99], Abroad),
    ]
};

fn place_of_birth(code: u8) -> Option<PlaceOfBirth> {
    PLACES_OF_BIRTH
        .iter()
        .find(|(codes, _)| codes.contains(&code))
        .map(|(_, place)| *place)
}

impl PersonId {
    /// A passport number's length in letters and digits (separators aside): the API's schema
    /// states the same bound.
    pub const PASSPORT_LEN: std::ops::RangeInclusive<usize> = 6..=20;

    /// Parses a MyKad number (`900127-01-5527`, dashes and spaces optional) or a passport number.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        Self::parse_on(raw, today_in_malaysia())
    }

    /// As [`PersonId::parse`], with "today" given: it decides the century of a MyKad birth year.
    pub fn parse_on(raw: &str, today: NaiveDate) -> Result<Self, ParseError> {
        let compact: String = raw
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .collect::<String>()
            .to_ascii_uppercase();
        if compact.is_empty() {
            return Err(ParseError::new("is required"));
        }
        if compact.chars().all(|c| c.is_ascii_digit()) {
            return Self::parse_mykad(compact, today);
        }
        if !compact.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ParseError::new(
                "may contain only digits (MyKad) or letters and digits (passport)",
            ));
        }
        if !Self::PASSPORT_LEN.contains(&compact.len()) {
            return Err(ParseError::new(
                "a passport number has between 6 and 20 letters and digits",
            ));
        }
        Ok(Self::Passport(compact))
    }

    fn parse_mykad(digits: String, today: NaiveDate) -> Result<Self, ParseError> {
        if digits.len() != 12 {
            return Err(ParseError::new(
                "a MyKad number has 12 digits, like 900127-01-5527",
            ));
        }
        let number = |range: std::ops::Range<usize>| -> u32 {
            digits[range]
                .bytes()
                .fold(0, |n, b| n * 10 + u32::from(b - b'0'))
        };
        let (yy, mm, dd) = (number(0..2), number(2..4), number(4..6));
        // The card carries two year digits: a year after this one must be last century.
        let this_yy = today.year().rem_euclid(100) as u32;
        let century = if yy > this_yy { 1900 } else { 2000 };
        let birth_date = NaiveDate::from_ymd_opt((century + yy) as i32, mm, dd)
            .filter(|date| *date <= today)
            .ok_or_else(|| {
                ParseError::new("the first six digits must be a real birth date (YYMMDD)")
            })?;
        if place_of_birth(number(6..8) as u8).is_none() {
            return Err(ParseError::new(
                "digits 7 and 8 are not a place-of-birth code in use",
            ));
        }
        Ok(Self::MyKad { digits, birth_date })
    }

    /// The canonical text, in full. Only for storage and for showing the person their own booking.
    pub fn as_str(&self) -> &str {
        match self {
            Self::MyKad { digits, .. } => digits,
            Self::Passport(number) => number,
        }
    }

    /// "mykad" or "passport": lets downstream systems tell the two apart.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MyKad { .. } => "mykad",
            Self::Passport(_) => "passport",
        }
    }

    pub fn birth_date(&self) -> Option<NaiveDate> {
        match self {
            Self::MyKad { birth_date, .. } => Some(*birth_date),
            Self::Passport(_) => None,
        }
    }

    /// Where a MyKad holder was born; `None` for a passport.
    pub fn place_of_birth(&self) -> Option<PlaceOfBirth> {
        match self {
            Self::MyKad { digits, .. } => digits
                .get(6..8)
                .and_then(|code| code.parse().ok())
                .and_then(place_of_birth),
            Self::Passport(_) => None,
        }
    }

    pub fn sex(&self) -> Option<Sex> {
        match self {
            Self::MyKad { digits, .. } => {
                let last = digits.bytes().last().map_or(0, |b| b - b'0');
                Some(if last % 2 == 1 {
                    Sex::Male
                } else {
                    Sex::Female
                })
            }
            Self::Passport(_) => None,
        }
    }

    /// The key that makes "one active booking per person" hold: kind and number together,
    /// so a passport that happens to be 12 digits long never collides with a MyKad.
    pub fn storage_key(&self) -> String {
        format!("{}:{}", self.kind(), self.as_str())
    }
}

impl TryFrom<String> for PersonId {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PersonId> for String {
    fn from(id: PersonId) -> Self {
        id.as_str().to_owned()
    }
}

/// Personal data: only the kind is shown. (Even the last digits are left out: next to a booking
/// reference they are half of what a stranger needs to open the booking.)
impl fmt::Debug for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonId({}, <redacted>)", self.kind())
    }
}

/// A person's name as they write it (any script), 1–100 characters, in NFC, without control or
/// invisible formatting characters (see [`super::text`]).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

impl PersonName {
    /// The longest name, in characters once spaces are tidied; the API's schema states it too.
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        clean_text(raw, Self::MAX_CHARS, "a name").map(Self)
    }
}

/// A postal address, 1–200 characters; line breaks are folded into spaces. Like a name, in NFC
/// and without control or invisible formatting characters.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Address(String);

impl Address {
    /// The longest address, in characters once spaces are tidied; the API's schema states it too.
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        clean_text(raw, Self::MAX_CHARS, "an address").map(Self)
    }

    /// What an answer shows of the address: its first word (at most 12 characters) and `…`.
    /// The person knows the rest; an answer that leaks should not tell a stranger where they live.
    pub fn masked(&self) -> String {
        let first: String = self
            .0
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .chars()
            .take(12)
            .collect();
        format!("{first} …")
    }
}

/// A Malaysian postcode: five digits.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Postcode(String);

impl Postcode {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let trimmed = raw.trim();
        if trimmed.len() == 5 && trimmed.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(ParseError::new("a postcode has five digits, like 50480"))
        }
    }
}

macro_rules! text_newtype_impls {
    ($($ty:ident),*) => {$(
        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $ty {
            type Error = ParseError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }
        impl From<$ty> for String {
            fn from(value: $ty) -> Self {
                value.0
            }
        }
        /// Personal data: only its length is shown, so it cannot leak through a log line.
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(<{} chars>)", stringify!($ty), self.0.chars().count())
            }
        }
    )*};
}
text_newtype_impls!(PersonName, Address, Postcode);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_seed_mysejahtera_id_is_a_mykad_of_a_man_born_in_1990() {
        let id = PersonId::parse_on("900127015527", day(2021, 5, 26)).unwrap();
        assert_eq!(id.kind(), "mykad");
        assert_eq!(id.birth_date(), Some(day(1990, 1, 27)));
        assert_eq!(id.sex(), Some(Sex::Male));
    }

    #[test]
    fn dashes_and_spaces_are_optional_in_a_mykad_number() {
        let today = day(2021, 5, 26);
        let a = PersonId::parse_on("900127-01-5528", today).unwrap();
        let b = PersonId::parse_on(" 900127 01 5528 ", today).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "900127015528");
        assert_eq!(a.sex(), Some(Sex::Female));
    }

    #[test]
    fn a_two_digit_year_after_this_year_is_last_century() {
        let id = PersonId::parse_on("050101-14-1234", day(2021, 5, 26)).unwrap();
        assert_eq!(id.birth_date(), Some(day(2005, 1, 1)));
        let id = PersonId::parse_on("250101-14-1234", day(2021, 5, 26)).unwrap();
        assert_eq!(id.birth_date(), Some(day(1925, 1, 1)));
    }

    #[test]
    fn impossible_birth_dates_and_unknown_places_are_refused() {
        let today = day(2021, 5, 26);
        for bad in [
            "900230015527",
            "901301015527",
            "900100015527",
            "900127005527",
            "900127975527",
        ] {
            assert!(
                PersonId::parse_on(bad, today).is_err(),
                "{bad} was accepted"
            );
        }
        // Born later this year is in the future.
        assert!(PersonId::parse_on("211231015527", today).is_err());
    }

    #[test]
    fn wrong_lengths_and_symbols_are_refused_with_a_reason() {
        let err = PersonId::parse("90012701552").unwrap_err();
        assert!(err.message().contains("12 digits"));
        assert!(
            PersonId::parse("")
                .unwrap_err()
                .message()
                .contains("required")
        );
        assert!(PersonId::parse("A12#4567").is_err());
        assert!(PersonId::parse("A1234").is_err());
    }

    #[test]
    fn a_passport_number_is_upper_cased() {
        let id = PersonId::parse("a1234567").unwrap();
        assert_eq!(id.as_str(), "A1234567");
        assert_eq!(id.kind(), "passport");
        assert_eq!(id.storage_key(), "passport:A1234567");
    }

    #[test]
    fn debug_never_shows_a_digit_of_an_identity_number_or_a_letter_of_a_name_or_address() {
        let id = PersonId::parse("900127015527").unwrap();
        let shown = format!("{id:?}");
        assert_eq!(shown, "PersonId(mykad, <redacted>)");
        assert!(!shown.contains("5527"));
        let passport = format!("{:?}", PersonId::parse("A1234567").unwrap());
        assert!(!passport.contains("1234567"), "{passport}");
        let name = PersonName::parse("Fadhil Yaacob").unwrap();
        assert!(!format!("{name:?}").contains("Fadhil"));
        let address = Address::parse("Lorong Rahsia 7").unwrap();
        assert!(!format!("{address:?}").contains("Rahsia"));
    }

    #[test]
    fn a_masked_address_shows_only_its_first_word() {
        let address = Address::parse("Lorong Rahsia 7, Kuala Lumpur").unwrap();
        assert_eq!(address.masked(), "Lorong …");
        let long = Address::parse("Kampungbaruhulukiri 3").unwrap();
        assert_eq!(long.masked(), "Kampungbaruh …");
    }

    #[test]
    fn every_place_of_birth_code_jpn_issues_is_accepted_and_no_other() {
        let today = day(2021, 5, 26);
        let refused: Vec<u8> = (0..=99u8)
            .filter(|code| PersonId::parse_on(&format!("900127{code:02}5527"), today).is_err())
            .collect();
        let mut expected = vec![0, 17, 18, 19, 20, 69, 70, 73, 80, 81];
        expected.extend(94..=97);
        assert_eq!(refused, expected);
        let error = PersonId::parse_on("900127205527", today).unwrap_err();
        assert!(error.message().contains("place-of-birth"), "{error}");
    }

    #[test]
    fn the_place_of_birth_code_names_the_state_or_abroad() {
        let today = day(2021, 5, 26);
        let place = |raw: &str| PersonId::parse_on(raw, today).unwrap().place_of_birth();
        assert_eq!(
            place("900127-14-5527"),
            Some(PlaceOfBirth::State(State::KualaLumpur))
        );
        assert_eq!(
            place("900127-56-5527"),
            Some(PlaceOfBirth::State(State::KualaLumpur))
        );
        assert_eq!(
            place("900127-59-5527"),
            Some(PlaceOfBirth::State(State::NegeriSembilan))
        );
        assert_eq!(
            place("900127-10-5527"),
            Some(PlaceOfBirth::State(State::Selangor))
        );
        assert_eq!(place("900127-82-5527"), Some(PlaceOfBirth::StateUnknown));
        assert_eq!(place("900127-66-5527"), Some(PlaceOfBirth::Abroad));
        assert_eq!(place("A1234567"), None);
        // Every state has at least its code from 01–16.
        for state in State::ALL {
            assert!(
                PLACES_OF_BIRTH
                    .iter()
                    .any(|(codes, p)| *p == PlaceOfBirth::State(state) && codes[0] <= 16),
                "{state:?}"
            );
        }
    }

    #[test]
    fn names_and_addresses_with_invisible_characters_are_refused_and_kept_in_nfc() {
        assert!(PersonName::parse("Ali\u{202E}nimda").is_err());
        assert!(Address::parse("Jalan\u{200B}1").is_err());
        assert_eq!(
            PersonName::parse("Jose\u{301}").unwrap().as_ref(),
            "Jos\u{E9}"
        );
    }

    #[test]
    fn names_and_addresses_are_trimmed_and_bounded() {
        assert_eq!(
            PersonName::parse("  Siti   Nur \n").unwrap().as_ref(),
            "Siti Nur"
        );
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse(&"a".repeat(101)).is_err());
        assert!(Address::parse("Jalan 1\u{0}").is_err());
        assert!(Postcode::parse("5048").is_err());
        assert_eq!(Postcode::parse(" 50480 ").unwrap().as_ref(), "50480");
    }

    proptest! {
        #[test]
        fn every_real_birth_date_with_a_valid_place_code_parses(
            days_ago in 1i64..36_000, place in prop::sample::select(vec![1u8, 10, 14, 21, 59, 60, 71, 74, 82, 93, 98]),
            serial in 0u32..10_000, dashes: bool,
        ) {
            let today = day(2026, 11, 24);
            let birth = today - chrono::Duration::days(days_ago);
            let yymmdd = birth.format("%y%m%d").to_string();
            let raw = if dashes { format!("{yymmdd}-{place:02}-{serial:04}") } else { format!("{yymmdd}{place:02}{serial:04}") };
            let id = PersonId::parse_on(&raw, today).unwrap();
            // Less than a century ago (1928 onwards), so the two-digit year is unambiguous.
            prop_assert_eq!(id.birth_date(), Some(birth));
            prop_assert_eq!(id.as_str().len(), 12);
            prop_assert_eq!(id.sex(), Some(if serial % 2 == 1 { Sex::Male } else { Sex::Female }));
        }

        #[test]
        fn parsing_never_panics_and_accepted_ids_round_trip(raw in ".{0,30}") {
            if let Ok(id) = PersonId::parse(&raw) {
                let again = PersonId::parse(id.as_str()).unwrap();
                prop_assert_eq!(again, id);
            }
        }

        #[test]
        fn digit_strings_that_are_not_twelve_long_are_refused(digits in "[0-9]{1,11}|[0-9]{13,20}") {
            prop_assert!(PersonId::parse(&digits).is_err());
        }
    }
}
