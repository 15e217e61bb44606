//! The catalogue: states → centres → slots, and the campaign's opening hours, from a TOML file.
//!
//! The catalogue says what *can* be booked (capacity). How much of it *is* booked lives only in
//! the store, so loading a catalogue again after a restart never gives a booked place back.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::Deserialize;

use crate::domain::{CentreCode, ParseError, SlotKey, State, TimeWindow, today_in_malaysia};

/// The demo catalogue compiled into the binary: what `jkjav serve` uses without `--catalogue`.
pub const DEMO_TOML: &str = include_str!("../data/demo.toml");

/// Why a catalogue file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("cannot read catalogue {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("catalogue is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("catalogue: {0}")]
    Invalid(String),
}

/// A campaign: the unit within which one person holds at most one booking.
#[derive(Debug, Clone)]
pub struct Campaign {
    /// Short, stable id; it namespaces every Redis key, so changing it starts a new campaign.
    pub id: String,
    pub name: String,
    /// Before this instant bookings are refused as "not open yet".
    pub opens_at: Option<DateTime<FixedOffset>>,
    /// From this instant bookings are refused as "closed".
    pub closes_at: Option<DateTime<FixedOffset>>,
}

/// Where the campaign stands at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    NotOpen { opens_at: DateTime<FixedOffset> },
    Open,
    Closed { closed_at: DateTime<FixedOffset> },
}

impl Campaign {
    pub fn phase(&self, now: DateTime<Utc>) -> Phase {
        match (self.opens_at, self.closes_at) {
            (Some(opens_at), _) if now < opens_at => Phase::NotOpen { opens_at },
            (_, Some(closed_at)) if now >= closed_at => Phase::Closed { closed_at },
            _ => Phase::Open,
        }
    }
}

/// A vaccination centre (PPV).
#[derive(Debug, Clone)]
pub struct Centre {
    pub code: CentreCode,
    pub name: String,
    pub state: State,
    pub address: String,
}

/// The whole offer, immutable once loaded; shared behind an `Arc`.
#[derive(Debug, Clone)]
pub struct Catalogue {
    campaign: Campaign,
    /// In file order, which is the order people see them in.
    centres: Vec<Centre>,
    /// Capacity of every slot, ordered by centre, date, window: listings come out sorted.
    slots: BTreeMap<SlotKey, u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCatalogue {
    campaign: FileCampaign,
    #[serde(rename = "centre", default)]
    centres: Vec<FileCentre>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCampaign {
    id: String,
    name: String,
    opens_at: Option<DateTime<FixedOffset>>,
    closes_at: Option<DateTime<FixedOffset>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCentre {
    code: String,
    name: String,
    state: String,
    #[serde(default)]
    address: String,
    dates: FileDates,
    windows: Vec<FileWindow>,
}

/// Either fixed dates, or dates relative to the day the catalogue is loaded (for the demo).
#[derive(Deserialize)]
#[serde(untagged, deny_unknown_fields)]
enum FileDates {
    Fixed { from: NaiveDate, to: NaiveDate },
    Relative { starts_in_days: u32, days: u32 },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileWindow {
    time: String,
    capacity: u32,
}

/// More days than any real campaign; stops a typo from creating millions of slots.
const MAX_DAYS_PER_CENTRE: i64 = 3660;

impl Catalogue {
    pub fn load(path: &Path) -> Result<Self, CatalogueError> {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogueError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text)
    }

    pub fn demo() -> Result<Self, CatalogueError> {
        Self::from_toml(DEMO_TOML)
    }

    /// Parses a catalogue; relative dates count from today in Malaysia.
    pub fn from_toml(text: &str) -> Result<Self, CatalogueError> {
        Self::from_toml_on(text, today_in_malaysia())
    }

    pub fn from_toml_on(text: &str, today: NaiveDate) -> Result<Self, CatalogueError> {
        let file: FileCatalogue = toml::from_str(text)?;
        let invalid = |what: String| CatalogueError::Invalid(what);
        let id = file.campaign.id;
        if id.is_empty()
            || id.len() > 32
            || !id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(invalid(format!(
                "campaign id {id:?} must be 1-32 lower-case letters, digits or dashes"
            )));
        }
        let campaign = Campaign {
            id,
            name: file.campaign.name,
            opens_at: file.campaign.opens_at,
            closes_at: file.campaign.closes_at,
        };
        let mut centres = Vec::with_capacity(file.centres.len());
        let mut slots = BTreeMap::new();
        for centre in file.centres {
            let at = |e: ParseError| invalid(format!("centre {:?}: {e}", centre.code));
            let code = CentreCode::parse(&centre.code).map_err(at)?;
            if centres.iter().any(|c: &Centre| c.code == code) {
                return Err(invalid(format!("centre {code} is listed twice")));
            }
            let state = State::parse(&centre.state).map_err(at)?;
            let (first, last) = match centre.dates {
                FileDates::Fixed { from, to } => (from, to),
                FileDates::Relative {
                    starts_in_days,
                    days,
                } => {
                    let first = today + chrono::Duration::days(i64::from(starts_in_days));
                    (first, first + chrono::Duration::days(i64::from(days) - 1))
                }
            };
            let span = (last - first).num_days();
            if !(0..MAX_DAYS_PER_CENTRE).contains(&span) {
                return Err(invalid(format!(
                    "centre {code}: dates must run forwards and span at most {MAX_DAYS_PER_CENTRE} days"
                )));
            }
            let mut windows = Vec::with_capacity(centre.windows.len());
            for window in &centre.windows {
                let time = TimeWindow::parse(&window.time).map_err(at)?;
                if windows.iter().any(|(w, _)| *w == time) {
                    return Err(invalid(format!(
                        "centre {code}: window {time} is listed twice"
                    )));
                }
                windows.push((time, window.capacity));
            }
            if windows.is_empty() {
                return Err(invalid(format!("centre {code} has no time windows")));
            }
            for date in first.iter_days().take(span as usize + 1) {
                for (window, capacity) in &windows {
                    let key = SlotKey {
                        centre: code.clone(),
                        date,
                        window: *window,
                    };
                    slots.insert(key, *capacity);
                }
            }
            centres.push(Centre {
                code,
                name: centre.name,
                state,
                address: centre.address,
            });
        }
        Ok(Self {
            campaign,
            centres,
            slots,
        })
    }

    pub fn campaign(&self) -> &Campaign {
        &self.campaign
    }

    pub fn centres(&self) -> &[Centre] {
        &self.centres
    }

    pub fn centres_in(&self, state: State) -> impl Iterator<Item = &Centre> {
        self.centres.iter().filter(move |c| c.state == state)
    }

    pub fn centre(&self, code: &CentreCode) -> Option<&Centre> {
        self.centres.iter().find(|c| &c.code == code)
    }

    /// Every slot with its capacity, sorted by centre, date and window.
    pub fn slots(&self) -> &BTreeMap<SlotKey, u32> {
        &self.slots
    }

    /// One centre's slots, sorted by date and window.
    pub fn slots_of<'a>(
        &'a self,
        centre: &'a CentreCode,
    ) -> impl Iterator<Item = (&'a SlotKey, u32)> + 'a {
        self.slots
            .iter()
            .filter(move |(key, _)| &key.centre == centre)
            .map(|(key, capacity)| (key, *capacity))
    }

    pub fn capacity(&self, slot: &SlotKey) -> Option<u32> {
        self.slots.get(slot).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
        [campaign]
        id = "test"
        name = "Test"
        opens_at = "2021-05-26T12:00:00+08:00"

        [[centre]]
        code = "pwtc"
        name = "PWTC"
        state = "kuala-lumpur"
        dates = { from = "2021-05-16", to = "2021-05-18" }
        windows = [{ time = "13:00-17:00", capacity = 5 }, { time = "09:00-12:00", capacity = 10 }]

        [[centre]]
        code = "IDCC"
        name = "IDCC Shah Alam"
        state = "selangor"
        dates = { starts_in_days = 1, days = 2 }
        windows = [{ time = "00:00-24:00", capacity = 3 }]
    "#;

    #[test]
    fn a_catalogue_expands_centres_into_sorted_slots() {
        let today = NaiveDate::from_ymd_opt(2021, 5, 1).unwrap();
        let catalogue = Catalogue::from_toml_on(SAMPLE, today).unwrap();
        let pwtc = CentreCode::parse("PWTC").unwrap();
        let slots: Vec<_> = catalogue.slots_of(&pwtc).collect();
        assert_eq!(slots.len(), 6);
        assert_eq!(slots[0].0.window.to_string(), "09:00-12:00");
        assert_eq!(slots[0].1, 10);
        assert_eq!(
            slots[5].0.date,
            NaiveDate::from_ymd_opt(2021, 5, 18).unwrap()
        );
        let idcc = CentreCode::parse("IDCC").unwrap();
        let first = catalogue.slots_of(&idcc).next().unwrap().0.date;
        assert_eq!(first, NaiveDate::from_ymd_opt(2021, 5, 2).unwrap());
        assert_eq!(catalogue.centres_in(State::Selangor).count(), 1);
    }

    #[test]
    fn the_campaign_phase_follows_its_opening_time() {
        let catalogue = Catalogue::from_toml(SAMPLE).unwrap();
        let before = "2021-05-26T03:59:59Z".parse().unwrap();
        let after = "2021-05-26T04:00:00Z".parse().unwrap();
        assert!(matches!(
            catalogue.campaign().phase(before),
            Phase::NotOpen { .. }
        ));
        assert_eq!(catalogue.campaign().phase(after), Phase::Open);
    }

    #[test]
    fn a_catalogue_with_mistakes_is_refused_with_the_reason() {
        let bad_state = SAMPLE.replace("selangor", "atlantis");
        let err = Catalogue::from_toml(&bad_state).unwrap_err().to_string();
        assert!(err.contains("IDCC") && err.contains("state code"), "{err}");
        let unknown_field = SAMPLE.replace("name = \"Test\"", "name = \"Test\"\ncolour = 1");
        assert!(Catalogue::from_toml(&unknown_field).is_err());
        let twice = SAMPLE.replace("IDCC", "PWTC");
        assert!(
            Catalogue::from_toml(&twice)
                .unwrap_err()
                .to_string()
                .contains("twice")
        );
    }

    #[test]
    fn the_shipped_catalogues_load() {
        let demo = Catalogue::demo().unwrap();
        assert!(demo.centres().len() >= 4);
        let states: std::collections::BTreeSet<_> =
            demo.centres().iter().map(|c| c.state).collect();
        assert!(states.len() >= 3);
        let tomorrow = today_in_malaysia() + chrono::Duration::days(1);
        assert_eq!(demo.slots().keys().map(|k| k.date).min(), Some(tomorrow));

        let seed = Catalogue::load(Path::new("data/seed-2021.toml")).unwrap();
        let pwtc = CentreCode::parse("PWTC").unwrap();
        let days: Vec<_> = seed.slots_of(&pwtc).collect();
        assert_eq!(days.len(), 30);
        assert!(
            days.iter()
                .all(|(k, cap)| *cap == 1000 && k.window.is_all_day())
        );
        assert_eq!(
            days[0].0.date,
            NaiveDate::from_ymd_opt(2021, 5, 16).unwrap()
        );
        assert_eq!(
            days[29].0.date,
            NaiveDate::from_ymd_opt(2021, 6, 14).unwrap()
        );
        assert_eq!(seed.campaign().phase(Utc::now()), Phase::Open);

        let bench = Catalogue::load(Path::new("data/bench.toml")).unwrap();
        let centre = CentreCode::parse("BENCH").unwrap();
        let windows: Vec<_> = bench.slots_of(&centre).collect();
        assert_eq!(windows.len(), 1);
        assert!(windows[0].1 >= 1_000_000);
        assert_eq!(
            windows[0].0.date,
            NaiveDate::from_ymd_opt(2021, 5, 16).unwrap()
        );
        assert_eq!(bench.slots_of(&pwtc).count(), 30);
        assert_eq!(bench.campaign().phase(Utc::now()), Phase::Open);
    }
}
