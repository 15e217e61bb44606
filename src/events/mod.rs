//! Booking events: the contract with downstream systems (SMS sender, vaccination records).
//!
//! An event is built before the store step and written by it, into the outbox, atomically with
//! the change it describes; it is never published for a change that was not stored.

pub mod publisher;
pub mod relay;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::catalogue::{Catalogue, Centre};
use crate::domain::Booking;
use crate::store::OutboxEvent;

/// The schema identifier carried by every event; bumped on any incompatible change.
pub const SCHEMA: &str = "jkjav.booking.v1";

/// What happened to the booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum EventType {
    #[serde(rename = "booking.confirmed")]
    Confirmed,
    #[serde(rename = "booking.cancelled")]
    Cancelled,
}

/// One booking event, as published (JSON, camelCase). Consumers de-duplicate by `eventId`:
/// delivery is at least once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BookingEvent {
    /// Always `jkjav.booking.v1` for this shape.
    pub schema: String,
    /// Unique per event (UUIDv7, so it also sorts by time): the de-duplication key.
    pub event_id: Uuid,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub occurred_at: DateTime<Utc>,
    pub campaign: String,
    /// As shown to the person, e.g. `7KQ4M-PX2RD`.
    pub reference: String,
    pub slot: EventSlot,
    pub person: EventPerson,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventSlot {
    pub centre: String,
    pub centre_name: String,
    pub state: String,
    /// ISO 8601 date, Malaysian local.
    pub date: String,
    /// `HH:MM-HH:MM`, Malaysian local time.
    pub window: String,
}

/// The person fields downstream systems need: identity to record the dose, phone for the SMS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventPerson {
    /// `mykad` or `passport`.
    pub id_type: String,
    pub id_number: String,
    pub name: String,
    /// E.164.
    pub phone: String,
    pub address: String,
    pub postcode: Option<String>,
}

/// An event that could not be encoded: a bug, reported instead of writing an empty event.
#[derive(Debug, thiserror::Error)]
#[error("cannot encode the booking event: {0}")]
pub struct EncodeError(#[from] serde_json::Error);

impl BookingEvent {
    /// The event for `booking`, which is at `centre` (the caller looked it up in `catalogue`).
    pub fn new(
        event_type: EventType,
        booking: &Booking,
        catalogue: &Catalogue,
        centre: &Centre,
        occurred_at: DateTime<Utc>,
    ) -> Self {
        let person = &booking.person;
        Self {
            schema: SCHEMA.to_owned(),
            event_id: Uuid::now_v7(),
            event_type,
            occurred_at,
            campaign: catalogue.campaign().id.clone(),
            reference: booking.reference.to_string(),
            slot: EventSlot {
                centre: booking.slot.centre.to_string(),
                centre_name: centre.name.clone(),
                state: centre.state.code().to_owned(),
                date: booking.slot.date.to_string(),
                window: booking.slot.window.to_string(),
            },
            person: EventPerson {
                id_type: person.id.kind().to_owned(),
                id_number: person.id.as_str().to_owned(),
                name: person.name.as_ref().to_owned(),
                phone: person.phone.e164().to_owned(),
                address: person.address.as_ref().to_owned(),
                postcode: person.postcode.as_ref().map(|p| p.as_ref().to_owned()),
            },
        }
    }

    /// The outbox entry: keyed by centre so each centre's events stay in order downstream.
    pub fn to_outbox(&self) -> Result<OutboxEvent, EncodeError> {
        Ok(OutboxEvent {
            key: self.slot.centre.clone(),
            payload: serde_json::to_string(self)?,
        })
    }
}
