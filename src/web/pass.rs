//! The booking pass: after a booking or a successful check, the browser holds a short-lived
//! cookie that lets it see (and cancel) that one booking without typing the reference and
//! identity number again. It carries the reference and an expiry, signed with HMAC-SHA256 over
//! them and the holder's identity number — never the identity number itself, so nothing
//! personal sits in the browser's cookie store.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::config::Secret;
use crate::domain::{Booking, Reference};

type HmacSha256 = Hmac<Sha256>;

/// How long a pass is good for: long enough to read the confirmation and cancel.
pub const PASS_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// The key passes are signed with, and the one it replaced (still accepted while rotating,
/// never used to sign).
#[derive(Clone)]
pub struct PassKey {
    current: [u8; 32],
    previous: Option<[u8; 32]>,
}

impl std::fmt::Debug for PassKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PassKey(********)")
    }
}

impl PassKey {
    /// From the configured secret, or a random key for this process alone.
    pub fn new(secret: Option<&Secret>) -> Self {
        Self::rotating(secret, None)
    }

    /// From the configured secret, still accepting passes signed with `previous`.
    pub fn rotating(secret: Option<&Secret>, previous: Option<&Secret>) -> Self {
        let derive =
            |secret: &Secret| -> [u8; 32] { Sha256::digest(secret.expose().as_bytes()).into() };
        let current = match secret {
            Some(secret) => derive(secret),
            None => {
                let mut key = [0u8; 32];
                rand::rng().fill(&mut key);
                key
            }
        };
        Self {
            current,
            previous: previous.map(derive),
        }
    }

    fn mac(&self, reference: &str, expires: i64, holder: &str) -> HmacSha256 {
        Self::mac_with(&self.current, reference, expires, holder)
    }

    fn mac_with(key: &[u8; 32], reference: &str, expires: i64, holder: &str) -> HmacSha256 {
        // A 32-byte key is always accepted.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"jkjav-booking-pass-v1\0");
        mac.update(reference.as_bytes());
        mac.update(b"\0");
        mac.update(expires.to_string().as_bytes());
        mac.update(b"\0");
        mac.update(holder.as_bytes());
        mac
    }

    /// The cookie value for `booking`, good until `now` + [`PASS_LIFETIME`].
    pub fn issue(&self, booking: &Booking, now: DateTime<Utc>) -> String {
        let expires = now.timestamp() + PASS_LIFETIME.as_secs() as i64;
        let reference = booking.reference.as_str();
        let tag = self
            .mac(reference, expires, &booking.person.id.storage_key())
            .finalize()
            .into_bytes();
        format!("{reference}.{expires}.{}", hex(&tag))
    }
}

/// A pass read from a cookie: its reference is known, its signature not yet checked (that
/// needs the holder's identity number, from the store).
#[derive(Debug)]
pub struct UncheckedPass {
    pub reference: Reference,
    expires: i64,
    tag: Vec<u8>,
}

impl UncheckedPass {
    pub fn parse(raw: &str, now: DateTime<Utc>) -> Option<Self> {
        let mut parts = raw.split('.');
        let reference = Reference::parse(parts.next()?).ok()?;
        let expires: i64 = parts.next()?.parse().ok()?;
        let tag = unhex(parts.next()?)?;
        if parts.next().is_some() || expires < now.timestamp() {
            return None;
        }
        Some(Self {
            reference,
            expires,
            tag,
        })
    }

    /// Whether this pass was issued, by a holder of `key` (or of the key it replaced), for
    /// `booking`.
    pub fn is_for(&self, booking: &Booking, key: &PassKey) -> bool {
        let holder = booking.person.id.storage_key();
        let signed_by = |k: &[u8; 32]| {
            PassKey::mac_with(k, self.reference.as_str(), self.expires, &holder)
                .verify_slice(&self.tag)
                .is_ok()
        };
        booking.reference == self.reference
            && (signed_by(&key.current) || key.previous.as_ref().is_some_and(signed_by))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        Address, BookingStatus, CentreCode, Person, PersonId, PersonName, Phone, SlotKey,
        TimeWindow,
    };

    fn booking(id: &str) -> Booking {
        Booking {
            reference: Reference::generate(),
            slot: SlotKey {
                centre: CentreCode::parse("PWTC").unwrap(),
                date: chrono::NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(),
                window: TimeWindow::parse("09:00-12:00").unwrap(),
            },
            person: Person {
                id: PersonId::parse(id).unwrap(),
                name: PersonName::parse("Siti Nur Aisyah").unwrap(),
                phone: Phone::parse("0123456789").unwrap(),
                address: Address::parse("Kuala Lumpur").unwrap(),
                postcode: None,
            },
            booked_at: Utc::now(),
            status: BookingStatus::Confirmed,
        }
    }

    #[test]
    fn a_pass_opens_its_own_booking_and_never_carries_the_identity_number() {
        let key = PassKey::new(None);
        let mine = booking("900127015527");
        let now = Utc::now();
        let raw = key.issue(&mine, now);

        assert!(!raw.contains("900127015527") && !raw.contains("5527."));
        let pass = UncheckedPass::parse(&raw, now).unwrap();
        assert!(pass.is_for(&mine, &key));
    }

    #[test]
    fn a_pass_is_refused_for_another_holder_key_reference_or_once_expired() {
        let key = PassKey::new(None);
        let mine = booking("900127015527");
        let now = Utc::now();
        let raw = key.issue(&mine, now);
        let pass = UncheckedPass::parse(&raw, now).unwrap();

        // Same reference, another person: the signature binds the holder.
        let mut theirs = booking("900127015538");
        theirs.reference = mine.reference.clone();
        assert!(!pass.is_for(&theirs, &key));
        // Another process's key (or a forged one).
        assert!(!pass.is_for(&mine, &PassKey::new(None)));
        // Another booking's reference with this signature.
        let other = booking("900127015549");
        let forged = raw.replacen(mine.reference.as_str(), other.reference.as_str(), 1);
        let forged = UncheckedPass::parse(&forged, now).unwrap();
        assert!(!forged.is_for(&other, &key));
        // A later expiry written in by hand.
        let (head, tag) = raw.rsplit_once('.').unwrap();
        let (reference, expires) = head.split_once('.').unwrap();
        let stretched = format!(
            "{reference}.{}.{tag}",
            expires.parse::<i64>().unwrap() + 3600
        );
        assert!(
            !UncheckedPass::parse(&stretched, now)
                .unwrap()
                .is_for(&mine, &key)
        );
        // Expired, and malformed.
        let later = now + chrono::Duration::seconds(PASS_LIFETIME.as_secs() as i64 + 1);
        assert!(UncheckedPass::parse(&raw, later).is_none());
        assert!(UncheckedPass::parse("garbage", now).is_none());
        assert!(UncheckedPass::parse(&format!("{raw}.x"), now).is_none());
    }

    #[test]
    fn while_rotating_passes_of_the_previous_key_are_accepted_and_new_ones_use_the_new_key() {
        let old: Secret = "the-old-secret-of-at-least-32-characters".parse().unwrap();
        let new: Secret = "the-new-secret-of-at-least-32-characters".parse().unwrap();
        let mine = booking("900127015527");
        let now = Utc::now();
        let before = PassKey::new(Some(&old)).issue(&mine, now);
        let rotating = PassKey::rotating(Some(&new), Some(&old));

        let old_pass = UncheckedPass::parse(&before, now).unwrap();
        assert!(old_pass.is_for(&mine, &rotating), "a pass of the old key");
        let after = rotating.issue(&mine, now);
        let new_pass = UncheckedPass::parse(&after, now).unwrap();
        assert!(
            new_pass.is_for(&mine, &PassKey::new(Some(&new))),
            "signed with the new key"
        );
        assert!(
            !new_pass.is_for(&mine, &PassKey::new(Some(&old))),
            "never with the old"
        );
        assert!(
            !old_pass.is_for(&mine, &PassKey::new(Some(&new))),
            "once rotation is over"
        );
    }

    #[test]
    fn a_configured_secret_gives_every_instance_the_same_key() {
        let secret: Secret = "a-shared-secret-of-at-least-32-chars!".parse().unwrap();
        let (a, b) = (PassKey::new(Some(&secret)), PassKey::new(Some(&secret)));
        let mine = booking("900127015527");
        let now = Utc::now();
        let pass = UncheckedPass::parse(&a.issue(&mine, now), now).unwrap();
        assert!(pass.is_for(&mine, &b));
        assert!("too short".parse::<Secret>().is_err());
    }
}
