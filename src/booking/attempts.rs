//! Guessing, limited: failed attempts to open a booking — a lookup or a cancellation by
//! reference and identity number, a "find my booking" by identity and phone number — are
//! counted in the store, so the limits hold whichever instance the guesses reach.
//!
//! Three counters, each its own lock:
//! - per reference (lookups and cancellations): a screenshot's reference cannot be tried
//!   against a few hundred thousand identity numbers;
//! - per identity number (find my booking): a known identity number cannot be tried against
//!   phone numbers;
//! - per client (an address; an IPv6 /64), for both: one client cannot spray guesses across
//!   many references or people.
//!
//! An attempt is counted before it is tried (so a burst of concurrent guesses cannot slip in
//! before the first failure is recorded) and taken back when it succeeds: only failures add
//! up. A stranger can therefore at most delay a person, never lock them out for good: the two
//! ways in are locked independently (a locked reference leaves "find my booking", a locked
//! identity number leaves the reference), and the web pages' signed booking pass is never
//! counted or locked.

use std::hash::Hash;
use std::net::IpAddr;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::domain::{PersonId, Reference};
use crate::store::AttemptLimit;

/// Who counts as one client for the per-client limits: an IPv4 address, or an IPv6 /64 (one
/// household or phone gets a whole /64, and can pick any address in it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey(String);

impl ClientKey {
    /// The client at `ip`; `None` (an in-process call) is one shared client.
    pub fn of(ip: Option<IpAddr>) -> Self {
        Self(match ip {
            Some(IpAddr::V4(v4)) => v4.to_string(),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
            None => "unknown".into(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ClientKey {
    fn default() -> Self {
        Self::of(None)
    }
}

/// How many failed attempts lock what, and for how long. 0 turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureLimits {
    /// Failed lookups and cancellations per reference within `booking_window`.
    pub per_reference: u32,
    /// Failed "find my booking" per identity number within `booking_window`.
    pub per_identity: u32,
    /// How long a reference's or an identity number's failures are remembered, and how long
    /// it stays locked once it has too many.
    pub booking_window: Duration,
    /// Failed attempts of every kind per client within `client_window`.
    pub per_client: u32,
    pub client_window: Duration,
}

impl Default for FailureLimits {
    /// The configuration's defaults: see `config::ServeConfig`.
    fn default() -> Self {
        Self {
            per_reference: 5,
            per_identity: 5,
            booking_window: Duration::from_secs(15 * 60),
            per_client: 100,
            client_window: Duration::from_secs(10 * 60),
        }
    }
}

/// What a lock is on: says which other way in still works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locked {
    /// This reference: finding the booking by identity and phone number still works.
    Reference,
    /// Finding by this identity number: the reference and identity number still work.
    Identity,
    /// This client's network: every way but the booking pass waits.
    Client,
}

/// A guess's two counters: its target's and its client's.
pub(super) struct Guess {
    pub limits: [AttemptLimit; 2],
    target: Locked,
}

impl Guess {
    pub fn reference(limits: &FailureLimits, reference: &Reference, client: &ClientKey) -> Self {
        Self::new(
            limits.per_reference,
            limits.booking_window,
            hashed("reference", reference.as_str()),
            Locked::Reference,
            limits,
            client,
        )
    }

    pub fn identity(limits: &FailureLimits, person: &PersonId, client: &ClientKey) -> Self {
        Self::new(
            limits.per_identity,
            limits.booking_window,
            hashed("find", &person.storage_key()),
            Locked::Identity,
            limits,
            client,
        )
    }

    fn new(
        max: u32,
        window: Duration,
        key: String,
        target: Locked,
        limits: &FailureLimits,
        client: &ClientKey,
    ) -> Self {
        Self {
            limits: [
                AttemptLimit { key, max, window },
                AttemptLimit {
                    key: hashed("client", client.as_str()),
                    max: limits.per_client,
                    window: limits.client_window,
                },
            ],
            target,
        }
    }

    /// Which lock the limit at `index` is.
    pub fn locked(&self, index: usize) -> Locked {
        if index == 0 {
            self.target
        } else {
            Locked::Client
        }
    }
}

/// A counter's name in the store: a digest, so that the store's key names carry no reference,
/// identity number or address (they show in `MONITOR`, slow logs and key scans).
pub(super) fn hashed(kind: &str, value: &str) -> String {
    let digest = Sha256::new()
        .chain_update(kind.as_bytes())
        .chain_update(b"\0")
        .chain_update(value.as_bytes())
        .finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// A submission's idempotency key as the store keeps it: scoped by the person, so that the
/// same key from two people is two submissions.
pub(super) fn scoped_idempotency_key(person: &PersonId, key: &impl AsRef<str>) -> String {
    hashed(
        "idempotency",
        &format!("{}\0{}", person.storage_key(), key.as_ref()),
    )
}

/// What a booking request asked for, so that a key sent again with another request is caught.
pub(super) fn fingerprint(parts: &impl serde::Serialize) -> String {
    let encoded = serde_json::to_vec(parts).unwrap_or_default();
    let digest = Sha256::digest(&encoded);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_is_its_64_and_an_ipv4_one_its_address() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientKey::of(Some(a)), ClientKey::of(Some(b)));
        assert_ne!(ClientKey::of(Some(a)), ClientKey::of(Some(c)));
        let v4: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(ClientKey::of(Some(v4)).as_str(), "10.1.2.3");
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(ClientKey::of(Some(mapped)), ClientKey::of(Some(v4)));
    }

    #[test]
    fn counter_names_carry_no_personal_data() {
        let name = hashed("find", "mykad:900127015527");
        assert_eq!(name.len(), 32);
        assert!(!name.contains("5527"));
        assert_ne!(name, hashed("reference", "mykad:900127015527"));
    }
}
