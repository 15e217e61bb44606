//! Where and when: states, centre codes, dates, time windows and the slot they make together.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::ParseError;

/// Malaysia's 13 states and 3 federal territories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum State {
    Johor,
    Kedah,
    Kelantan,
    Melaka,
    NegeriSembilan,
    Pahang,
    Perak,
    Perlis,
    PulauPinang,
    Sabah,
    Sarawak,
    Selangor,
    Terengganu,
    KualaLumpur,
    Labuan,
    Putrajaya,
}

impl State {
    pub const ALL: [State; 16] = [
        State::Johor,
        State::Kedah,
        State::Kelantan,
        State::Melaka,
        State::NegeriSembilan,
        State::Pahang,
        State::Perak,
        State::Perlis,
        State::PulauPinang,
        State::Sabah,
        State::Sarawak,
        State::Selangor,
        State::Terengganu,
        State::KualaLumpur,
        State::Labuan,
        State::Putrajaya,
    ];

    /// The URL- and file-friendly code, e.g. `negeri-sembilan`, `kuala-lumpur`.
    pub fn code(self) -> &'static str {
        match self {
            State::Johor => "johor",
            State::Kedah => "kedah",
            State::Kelantan => "kelantan",
            State::Melaka => "melaka",
            State::NegeriSembilan => "negeri-sembilan",
            State::Pahang => "pahang",
            State::Perak => "perak",
            State::Perlis => "perlis",
            State::PulauPinang => "pulau-pinang",
            State::Sabah => "sabah",
            State::Sarawak => "sarawak",
            State::Selangor => "selangor",
            State::Terengganu => "terengganu",
            State::KualaLumpur => "kuala-lumpur",
            State::Labuan => "labuan",
            State::Putrajaya => "putrajaya",
        }
    }

    /// The official name, the same in Bahasa Melayu and English.
    pub fn name(self) -> &'static str {
        match self {
            State::Johor => "Johor",
            State::Kedah => "Kedah",
            State::Kelantan => "Kelantan",
            State::Melaka => "Melaka",
            State::NegeriSembilan => "Negeri Sembilan",
            State::Pahang => "Pahang",
            State::Perak => "Perak",
            State::Perlis => "Perlis",
            State::PulauPinang => "Pulau Pinang",
            State::Sabah => "Sabah",
            State::Sarawak => "Sarawak",
            State::Selangor => "Selangor",
            State::Terengganu => "Terengganu",
            State::KualaLumpur => "W.P. Kuala Lumpur",
            State::Labuan => "W.P. Labuan",
            State::Putrajaya => "W.P. Putrajaya",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let wanted = raw.trim().to_ascii_lowercase();
        State::ALL
            .into_iter()
            .find(|state| state.code() == wanted)
            .ok_or_else(|| {
                ParseError::new(format!(
                    "is not a state code; use one of: {}",
                    State::ALL.map(State::code).join(", ")
                ))
            })
    }
}

impl TryFrom<String> for State {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<State> for String {
    fn from(state: State) -> Self {
        state.code().to_owned()
    }
}

/// A vaccination centre's (PPV's) code, e.g. `PWTC`: 2–16 capitals, digits or dashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CentreCode(String);

impl CentreCode {
    /// A code's length; the API's schema states the same bound.
    pub const LEN: std::ops::RangeInclusive<usize> = 2..=16;

    /// Case-insensitive: `/stations/pwtc` finds `PWTC`.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let code = raw.trim().to_ascii_uppercase();
        let valid = Self::LEN.contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(Self(code))
        } else {
            Err(ParseError::new(
                "a centre code has 2 to 16 letters, digits or dashes, like PWTC",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CentreCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CentreCode {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CentreCode> for String {
    fn from(code: CentreCode) -> Self {
        code.0
    }
}

/// ISO 8601 calendar date (`2021-05-16`), as the v1 API writes dates.
pub fn parse_iso_date(raw: &str) -> Result<NaiveDate, ParseError> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| ParseError::new("must be a calendar date written YYYY-MM-DD, like 2021-05-16"))
}

/// The seed's compact date (`20210516`).
pub fn parse_compact_date(raw: &str) -> Result<NaiveDate, ParseError> {
    let raw = raw.trim();
    if raw.len() != 8 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::new(
            "must be a date written YYYYMMDD, like 20210516",
        ));
    }
    NaiveDate::parse_from_str(raw, "%Y%m%d")
        .map_err(|_| ParseError::new("must be a real calendar date written YYYYMMDD"))
}

/// A time window within one day, in whole minutes: `[start, end)`, `end` may be 24:00.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeWindow {
    start: u16,
    end: u16,
}

impl TimeWindow {
    const DAY: u16 = 24 * 60;

    /// Accepts `09:00-12:00` and the compact code `0900-1200`.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let invalid =
            || ParseError::new("must be a time window written HH:MM-HH:MM, like 09:00-12:00");
        let (start, end) = raw.trim().split_once('-').ok_or_else(invalid)?;
        let minutes = |text: &str| -> Option<u16> {
            let digits: String = text.trim().chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let hours: u16 = digits[..2].parse().ok()?;
            let mins: u16 = digits[2..].parse().ok()?;
            (mins < 60 && hours * 60 + mins <= Self::DAY).then_some(hours * 60 + mins)
        };
        let (start, end) = (
            minutes(start).ok_or_else(invalid)?,
            minutes(end).ok_or_else(invalid)?,
        );
        if start >= end {
            return Err(ParseError::new("a time window must end after it starts"));
        }
        Ok(Self { start, end })
    }

    pub fn all_day() -> Self {
        Self {
            start: 0,
            end: Self::DAY,
        }
    }

    pub fn is_all_day(&self) -> bool {
        *self == Self::all_day()
    }

    /// Stable code used in keys and URLs: `0900-1200`.
    pub fn code(&self) -> String {
        format!(
            "{:02}{:02}-{:02}{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }

    pub fn start_hhmm(&self) -> String {
        format!("{:02}:{:02}", self.start / 60, self.start % 60)
    }

    pub fn end_hhmm(&self) -> String {
        format!("{:02}:{:02}", self.end / 60, self.end % 60)
    }
}

/// `09:00-12:00`: the form the v1 API and catalogue use.
impl fmt::Display for TimeWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start_hhmm(), self.end_hhmm())
    }
}

impl fmt::Debug for TimeWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeWindow({self})")
    }
}

impl TryFrom<String> for TimeWindow {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TimeWindow> for String {
    fn from(window: TimeWindow) -> Self {
        window.to_string()
    }
}

/// One bookable slot: a centre, a date and a time window.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SlotKey {
    pub centre: CentreCode,
    pub date: NaiveDate,
    pub window: TimeWindow,
}

impl SlotKey {
    /// The compact text used as a Redis hash field: `PWTC:20210516:0900-1200`.
    pub fn storage_key(&self) -> String {
        format!(
            "{}:{}:{}",
            self.centre,
            self.date.format("%Y%m%d"),
            self.window.code()
        )
    }

    pub fn from_storage_key(raw: &str) -> Result<Self, ParseError> {
        let mut parts = raw.splitn(3, ':');
        let (Some(centre), Some(date), Some(window)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(ParseError::new("a slot key has three parts"));
        };
        Ok(Self {
            centre: CentreCode::parse(centre)?,
            date: parse_compact_date(date)?,
            window: TimeWindow::parse(window)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_state_code_parses_back_to_its_state() {
        for state in State::ALL {
            assert_eq!(State::parse(state.code()).unwrap(), state);
        }
        assert!(
            State::parse("atlantis")
                .unwrap_err()
                .message()
                .contains("selangor")
        );
    }

    #[test]
    fn centre_codes_are_upper_cased_and_bounded() {
        assert_eq!(CentreCode::parse("pwtc").unwrap().as_str(), "PWTC");
        assert!(CentreCode::parse("P").is_err());
        assert!(CentreCode::parse("PW TC").is_err());
    }

    #[test]
    fn dates_parse_in_both_the_v1_and_the_seed_form() {
        let day = NaiveDate::from_ymd_opt(2021, 5, 16).unwrap();
        assert_eq!(parse_iso_date("2021-05-16").unwrap(), day);
        assert_eq!(parse_compact_date("20210516").unwrap(), day);
        assert!(parse_compact_date("20210230").is_err());
        assert!(parse_iso_date("16/05/2021").is_err());
    }

    #[test]
    fn time_windows_parse_in_both_forms_and_must_not_be_empty() {
        let w = TimeWindow::parse("09:00-12:30").unwrap();
        assert_eq!(w.code(), "0900-1230");
        assert_eq!(TimeWindow::parse("0900-1230").unwrap(), w);
        assert_eq!(
            TimeWindow::parse("00:00-24:00").unwrap(),
            TimeWindow::all_day()
        );
        assert!(TimeWindow::parse("12:00-09:00").is_err());
        assert!(TimeWindow::parse("09:60-10:00").is_err());
        assert!(TimeWindow::parse("09:00-24:01").is_err());
    }

    proptest! {
        #[test]
        fn slot_keys_round_trip_through_their_storage_form(
            code in "[A-Z0-9]{2,16}", days in 0i64..3650, start in 0u16..1439, len in 1u16..600,
        ) {
            let end = (start + len).min(24 * 60);
            let window = TimeWindow::parse(&format!("{:02}{:02}-{:02}{:02}", start / 60, start % 60, end / 60, end % 60)).unwrap();
            let key = SlotKey {
                centre: CentreCode::parse(&code).unwrap(),
                date: NaiveDate::from_ymd_opt(2021, 1, 1).unwrap() + chrono::Duration::days(days),
                window,
            };
            prop_assert_eq!(SlotKey::from_storage_key(&key.storage_key()).unwrap(), key);
        }

        #[test]
        fn window_parsing_never_panics(raw in ".{0,16}") {
            let _ = TimeWindow::parse(&raw);
        }
    }
}
