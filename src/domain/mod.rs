//! Domain types that parse at the edge: once a value is one of these, it is valid.
//!
//! Each type has a private field and a `parse` constructor; the adapters (JSON API, seed
//! endpoints, web forms) turn raw strings into these before any I/O, and name the field when
//! parsing fails. The `Debug` of personal data is redacted, and identity and phone numbers have
//! no `Display`, so that a stray log line or template cannot leak them; what answers show of a
//! phone or an address comes from their `masked` forms.

mod booking;
mod fields;
mod idempotency;
mod person;
mod phone;
mod reference;
mod slot;
pub mod text;

pub use booking::{Booking, BookingStatus, Person};
pub use fields::{FieldErrors, KeyField, PersonField, PersonInput, parse_booking_key};
pub use idempotency::IdempotencyKey;
pub use person::{Address, PersonId, PersonName, PlaceOfBirth, Postcode, Sex};
pub use phone::Phone;
pub use reference::Reference;
pub use slot::{CentreCode, SlotKey, State, TimeWindow, parse_compact_date, parse_iso_date};

use std::borrow::Cow;

/// Why a raw value is not a valid domain value. The message is written for the person who typed
/// it; the adapter adds the field name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(Cow<'static, str>);

impl ParseError {
    pub(crate) fn new(message: impl Into<Cow<'static, str>>) -> Self {
        Self(message.into())
    }

    pub fn message(&self) -> &str {
        &self.0
    }
}

/// Today's date in Malaysia (Asia/Kuala_Lumpur is UTC+8 all year, no daylight saving).
pub fn today_in_malaysia() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}
