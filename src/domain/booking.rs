//! A booking: who holds which slot, under which reference.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Address, PersonId, PersonName, Phone, Postcode, Reference, SlotKey};

/// The person a booking is for, as downstream SMS and records systems need them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: PersonId,
    pub name: PersonName,
    pub phone: Phone,
    pub address: Address,
    pub postcode: Option<Postcode>,
}

/// Whether the place is still held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BookingStatus {
    Confirmed,
    Cancelled { cancelled_at: DateTime<Utc> },
}

/// A booking. The service builds one and asks the store to take its place; only a booking the
/// store accepted in that atomic step is ever confirmed or shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    pub reference: Reference,
    pub slot: SlotKey,
    pub person: Person,
    pub booked_at: DateTime<Utc>,
    #[serde(flatten)]
    pub status: BookingStatus,
}

impl Booking {
    pub fn is_active(&self) -> bool {
        self.status == BookingStatus::Confirmed
    }
}
