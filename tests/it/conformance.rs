//! The store conformance suite: every backend must pass every case, memory and Redis alike.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use jkjav::domain::{
    Address, Booking, BookingStatus, CentreCode, Person, PersonId, PersonName, Phone, Reference,
    SlotKey, TimeWindow,
};
use jkjav::store::{
    AttemptLimit, AttemptOutcome, BookOutcome, CancelOutcome, Idempotency, MemoryStore,
    OutboxEvent, RedisStore, RedisStoreOptions, Store,
};

use crate::harness::{RedisServer, mykad};

type Backend = (Arc<dyn Store>, Option<RedisServer>);

async fn memory() -> Backend {
    (Arc::new(MemoryStore::new()), None)
}

async fn redis() -> Backend {
    let server = RedisServer::start();
    let store = RedisStore::new(RedisStoreOptions {
        url: server.url(),
        namespace: "conformance".into(),
        timeout: std::time::Duration::from_secs(2),
    })
    .unwrap();
    (Arc::new(store), Some(server))
}

fn slot(window: &str) -> SlotKey {
    SlotKey {
        centre: CentreCode::parse("TEST").unwrap(),
        date: NaiveDate::from_ymd_opt(2030, 1, 1).unwrap(),
        window: TimeWindow::parse(window).unwrap(),
    }
}

fn booking(person: u32, slot: &SlotKey) -> Booking {
    Booking {
        reference: Reference::generate(),
        slot: slot.clone(),
        person: Person {
            id: PersonId::parse(&mykad(person)).unwrap(),
            name: PersonName::parse("Siti Aminah").unwrap(),
            phone: Phone::parse("0123456789").unwrap(),
            address: Address::parse("Kuala Lumpur").unwrap(),
            postcode: None,
        },
        booked_at: Utc::now(),
        status: BookingStatus::Confirmed,
    }
}

fn event(tag: &str) -> OutboxEvent {
    OutboxEvent {
        key: "TEST".into(),
        payload: format!("{{\"tag\":\"{tag}\"}}"),
    }
}

async fn remaining(store: &dyn Store, slot: &SlotKey) -> u32 {
    store.counts().await.unwrap()[slot].remaining()
}

pub async fn a_booking_takes_a_place_and_is_stored_with_its_event(store: Arc<dyn Store>) {
    let s = slot("09:00-12:00");
    store.set_capacities(&[(s.clone(), 3)]).await.unwrap();
    let b = booking(1, &s);

    let outcome = store.book(&b, &event("b1"), None).await.unwrap();

    assert_eq!(outcome, BookOutcome::Booked);
    assert_eq!(remaining(&*store, &s).await, 2);
    assert_eq!(store.find(&b.reference).await.unwrap(), Some(b));
    assert_eq!(store.outbox_len().await.unwrap(), 1);
}

pub async fn a_second_booking_by_the_same_person_is_refused_even_for_another_slot(
    store: Arc<dyn Store>,
) {
    let (s1, s2) = (slot("09:00-12:00"), slot("13:00-17:00"));
    store
        .set_capacities(&[(s1.clone(), 3), (s2.clone(), 3)])
        .await
        .unwrap();
    store
        .book(&booking(1, &s1), &event("first"), None)
        .await
        .unwrap();

    let again = booking(1, &s2);
    let outcome = store.book(&again, &event("again"), None).await.unwrap();

    assert_eq!(outcome, BookOutcome::AlreadyBooked);
    assert_eq!(
        remaining(&*store, &s2).await,
        3,
        "a refused booking took a place"
    );
    assert_eq!(store.find(&again.reference).await.unwrap(), None);
    assert_eq!(
        store.outbox_len().await.unwrap(),
        1,
        "a refused booking wrote an event"
    );
}

pub async fn a_full_slot_refuses_and_writes_nothing(store: Arc<dyn Store>) {
    let s = slot("09:00-12:00");
    store.set_capacities(&[(s.clone(), 1)]).await.unwrap();
    store
        .book(&booking(1, &s), &event("1"), None)
        .await
        .unwrap();

    let late = booking(2, &s);
    let outcome = store.book(&late, &event("2"), None).await.unwrap();

    assert_eq!(outcome, BookOutcome::SoldOut);
    assert_eq!(store.find(&late.reference).await.unwrap(), None);
    assert_eq!(store.outbox_len().await.unwrap(), 1);
    assert_eq!(store.counts().await.unwrap()[&s].taken, 1);
}

pub async fn a_slot_the_store_does_not_know_is_reported_missing(store: Arc<dyn Store>) {
    let outcome = store
        .book(&booking(1, &slot("09:00-12:00")), &event("x"), None)
        .await
        .unwrap();
    assert_eq!(outcome, BookOutcome::SlotMissing);
    assert_eq!(store.outbox_len().await.unwrap(), 0);
}

pub async fn cancelling_gives_the_place_back_and_frees_the_person(store: Arc<dyn Store>) {
    let s = slot("09:00-12:00");
    store.set_capacities(&[(s.clone(), 1)]).await.unwrap();
    let b = booking(1, &s);
    store.book(&b, &event("book"), None).await.unwrap();
    let at = Utc::now();

    let outcome = store
        .cancel(&b.reference, &b.person.id, at, &event("cancel"))
        .await
        .unwrap();

    assert_eq!(outcome, CancelOutcome::Cancelled);
    assert_eq!(remaining(&*store, &s).await, 1);
    let stored = store.find(&b.reference).await.unwrap().unwrap();
    match stored.status {
        BookingStatus::Cancelled { cancelled_at } => {
            assert_eq!(cancelled_at.timestamp_millis(), at.timestamp_millis())
        }
        BookingStatus::Confirmed => panic!("still confirmed after cancelling"),
    }
    assert_eq!(store.outbox_len().await.unwrap(), 2);
    let rebook = booking(1, &s);
    assert_eq!(
        store.book(&rebook, &event("rebook"), None).await.unwrap(),
        BookOutcome::Booked
    );
}

pub async fn a_booking_is_cancelled_once_and_only_by_its_holder(store: Arc<dyn Store>) {
    let s = slot("09:00-12:00");
    store.set_capacities(&[(s.clone(), 2)]).await.unwrap();
    let b = booking(1, &s);
    store.book(&b, &event("book"), None).await.unwrap();
    let stranger = PersonId::parse(&mykad(2)).unwrap();

    let by_stranger = store
        .cancel(&b.reference, &stranger, Utc::now(), &event("x"))
        .await
        .unwrap();
    let first = store
        .cancel(&b.reference, &b.person.id, Utc::now(), &event("c1"))
        .await
        .unwrap();
    let second = store
        .cancel(&b.reference, &b.person.id, Utc::now(), &event("c2"))
        .await
        .unwrap();
    let unknown = store
        .cancel(
            &Reference::generate(),
            &b.person.id,
            Utc::now(),
            &event("u"),
        )
        .await
        .unwrap();

    assert_eq!(by_stranger, CancelOutcome::NotFound);
    assert_eq!(first, CancelOutcome::Cancelled);
    assert_eq!(second, CancelOutcome::AlreadyCancelled);
    assert_eq!(unknown, CancelOutcome::NotFound);
    assert_eq!(
        remaining(&*store, &s).await,
        2,
        "a second cancel gave back a second place"
    );
    assert_eq!(store.outbox_len().await.unwrap(), 2);
}

pub async fn loading_capacities_again_never_refills_booked_places(store: Arc<dyn Store>) {
    let s = slot("09:00-12:00");
    store.set_capacities(&[(s.clone(), 3)]).await.unwrap();
    store
        .book(&booking(1, &s), &event("1"), None)
        .await
        .unwrap();
    store
        .book(&booking(2, &s), &event("2"), None)
        .await
        .unwrap();

    store.set_capacities(&[(s.clone(), 3)]).await.unwrap();
    assert_eq!(
        remaining(&*store, &s).await,
        1,
        "the same catalogue changed the count"
    );

    store.set_capacities(&[(s.clone(), 5)]).await.unwrap();
    assert_eq!(
        remaining(&*store, &s).await,
        3,
        "a capacity rise of 2 should add 2 places"
    );

    store.set_capacities(&[(s.clone(), 1)]).await.unwrap();
    assert_eq!(
        remaining(&*store, &s).await,
        0,
        "a cut below what is booked must floor at zero"
    );
    assert_eq!(
        store
            .book(&booking(3, &s), &event("3"), None)
            .await
            .unwrap(),
        BookOutcome::SoldOut
    );
}

pub async fn two_thousand_people_racing_for_a_thousand_places_get_exactly_a_thousand(
    store: Arc<dyn Store>,
) {
    let s = slot("09:00-12:00");
    store.set_capacities(&[(s.clone(), 1000)]).await.unwrap();

    let attempts = (0..2000).map(|n| {
        let store = store.clone();
        let b = booking(n, &s);
        tokio::spawn(async move { (store.book(&b, &event("race"), None).await.unwrap(), b) })
    });
    let results = futures::future::join_all(attempts).await;

    let mut booked = Vec::new();
    for result in results {
        let (outcome, b) = result.unwrap();
        match outcome {
            BookOutcome::Booked => booked.push(b),
            BookOutcome::SoldOut => {}
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(booked.len(), 1000);
    assert_eq!(remaining(&*store, &s).await, 0);
    let people: HashSet<_> = booked.iter().map(|b| b.person.id.clone()).collect();
    assert_eq!(people.len(), 1000, "someone holds two places");
    for b in &booked {
        assert!(
            store.find(&b.reference).await.unwrap().is_some(),
            "confirmed but not stored"
        );
    }
    assert_eq!(store.outbox_len().await.unwrap(), 1000);
}

pub async fn one_person_sending_fifty_requests_at_once_gets_exactly_one_booking(
    store: Arc<dyn Store>,
) {
    let s = slot("09:00-12:00");
    store.set_capacities(&[(s.clone(), 100)]).await.unwrap();

    let attempts = (0..50).map(|_| {
        let store = store.clone();
        let b = booking(7, &s);
        tokio::spawn(async move { store.book(&b, &event("same"), None).await.unwrap() })
    });
    let outcomes: Vec<_> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();

    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == BookOutcome::Booked)
            .count(),
        1
    );
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, BookOutcome::Booked | BookOutcome::AlreadyBooked))
    );
    assert_eq!(remaining(&*store, &s).await, 99);
    assert_eq!(store.outbox_len().await.unwrap(), 1);
}

async fn payloads(entries: &[jkjav::store::OutboxEntry]) -> Vec<String> {
    entries.iter().map(|e| e.event.payload.clone()).collect()
}

const LONG: std::time::Duration = std::time::Duration::from_secs(60);

pub async fn the_outbox_hands_out_events_oldest_first_and_forgets_acknowledged_ones(
    store: Arc<dyn Store>,
) {
    let s = slot("09:00-12:00");
    store.set_capacities(&[(s.clone(), 5)]).await.unwrap();
    for n in 0..3 {
        store
            .book(&booking(n, &s), &event(&n.to_string()), None)
            .await
            .unwrap();
    }
    let stats = store.outbox_stats().await.unwrap();
    assert_eq!(stats.backlog, 3);
    assert!(stats.oldest_age.unwrap() < LONG);

    let claimed = store.outbox_claim("relay-a", 10, LONG).await.unwrap();
    assert_eq!(
        payloads(&claimed).await,
        [r#"{"tag":"0"}"#, r#"{"tag":"1"}"#, r#"{"tag":"2"}"#]
    );
    assert!(claimed.iter().all(|e| e.event.key == "TEST"));
    store
        .outbox_ack(&[claimed[0].id.clone(), claimed[1].id.clone()])
        .await
        .unwrap();

    assert_eq!(store.outbox_stats().await.unwrap().backlog, 1);
    assert!(
        store
            .outbox_claim("relay-a", 10, LONG)
            .await
            .unwrap()
            .is_empty(),
        "a held event was handed out twice"
    );
    store.outbox_ack(&[claimed[2].id.clone()]).await.unwrap();
    let empty = store.outbox_stats().await.unwrap();
    assert_eq!((empty.backlog, empty.oldest_age), (0, None));
}

pub async fn an_event_held_by_a_live_relay_is_not_shared_but_a_dead_relay_s_is_taken_over(
    store: Arc<dyn Store>,
) {
    let s = slot("09:00-12:00");
    store.set_capacities(&[(s.clone(), 5)]).await.unwrap();
    store
        .book(&booking(1, &s), &event("held"), None)
        .await
        .unwrap();
    let held = store.outbox_claim("relay-a", 10, LONG).await.unwrap();
    assert_eq!(held.len(), 1);

    assert!(
        store
            .outbox_claim("relay-b", 10, LONG)
            .await
            .unwrap()
            .is_empty()
    );
    tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    let taken_over = store
        .outbox_claim("relay-b", 10, std::time::Duration::from_millis(30))
        .await
        .unwrap();

    assert_eq!(payloads(&taken_over).await, [r#"{"tag":"held"}"#]);
    store.outbox_ack(&[taken_over[0].id.clone()]).await.unwrap();
    assert_eq!(store.outbox_stats().await.unwrap().backlog, 0);
}

pub async fn an_event_handed_back_by_a_stopping_relay_is_taken_over_at_once(store: Arc<dyn Store>) {
    let s = slot("09:00-12:00");
    store.set_capacities(&[(s.clone(), 5)]).await.unwrap();
    store
        .book(&booking(1, &s), &event("handed-back"), None)
        .await
        .unwrap();
    let held = store.outbox_claim("relay-a", 10, LONG).await.unwrap();
    assert_eq!(held.len(), 1);

    store.outbox_release(&[held[0].id.clone()]).await.unwrap();
    let taken_over = store.outbox_claim("relay-b", 10, LONG).await.unwrap();

    assert_eq!(payloads(&taken_over).await, [r#"{"tag":"handed-back"}"#]);
    store.outbox_ack(&[taken_over[0].id.clone()]).await.unwrap();
    assert_eq!(store.outbox_stats().await.unwrap().backlog, 0);
}

fn once(key: &str, fingerprint: &str, ttl: std::time::Duration) -> Idempotency {
    Idempotency {
        key: key.into(),
        fingerprint: fingerprint.into(),
        ttl,
    }
}

pub async fn a_submission_sent_again_gets_its_booking_back_and_never_a_second_place(
    store: Arc<dyn Store>,
) {
    let s = slot("09:00-12:00");
    store.set_capacities(&[(s.clone(), 3)]).await.unwrap();
    let first = booking(1, &s);
    let key = once("submission-1", "request-a", LONG);
    assert_eq!(
        store.book(&first, &event("1"), Some(&key)).await.unwrap(),
        BookOutcome::Booked
    );

    // The retry is built afresh (a new reference), as a client's resend would be.
    let retry = booking(1, &s);
    let outcome = store.book(&retry, &event("1"), Some(&key)).await.unwrap();

    assert_eq!(outcome, BookOutcome::Replayed(first.reference.clone()));
    let recorded = store.idempotent("submission-1").await.unwrap().unwrap();
    assert_eq!(recorded.reference, first.reference);
    assert_eq!(recorded.fingerprint, "request-a");
    assert_eq!(
        remaining(&*store, &s).await,
        2,
        "a retry took a second place"
    );
    assert_eq!(store.find(&retry.reference).await.unwrap(), None);
    assert_eq!(
        store.outbox_len().await.unwrap(),
        1,
        "a retry wrote an event"
    );
}

pub async fn a_key_sent_with_another_request_is_refused_and_changes_nothing(store: Arc<dyn Store>) {
    let s = slot("09:00-12:00");
    store.set_capacities(&[(s.clone(), 3)]).await.unwrap();
    store
        .book(
            &booking(1, &s),
            &event("1"),
            Some(&once("k", "request-a", LONG)),
        )
        .await
        .unwrap();

    let other = store
        .book(
            &booking(1, &s),
            &event("2"),
            Some(&once("k", "request-b", LONG)),
        )
        .await
        .unwrap();
    // Another key for a person who holds a booking: the usual refusal.
    let fresh = store
        .book(
            &booking(1, &s),
            &event("3"),
            Some(&once("k2", "request-b", LONG)),
        )
        .await
        .unwrap();

    assert_eq!(other, BookOutcome::KeyReused);
    assert_eq!(fresh, BookOutcome::AlreadyBooked);
    assert_eq!(store.idempotent("k2").await.unwrap(), None);
    assert_eq!(remaining(&*store, &s).await, 2);
    assert_eq!(store.outbox_len().await.unwrap(), 1);
}

pub async fn an_idempotency_key_is_forgotten_after_its_time(store: Arc<dyn Store>) {
    let s = slot("09:00-12:00");
    store.set_capacities(&[(s.clone(), 3)]).await.unwrap();
    let short = once("brief", "request-a", std::time::Duration::from_millis(100));
    store
        .book(&booking(1, &s), &event("1"), Some(&short))
        .await
        .unwrap();
    assert!(store.idempotent("brief").await.unwrap().is_some());

    tokio::time::sleep(std::time::Duration::from_millis(250)).await;

    assert_eq!(store.idempotent("brief").await.unwrap(), None);
    assert_eq!(
        store
            .book(&booking(1, &s), &event("2"), Some(&short))
            .await
            .unwrap(),
        BookOutcome::AlreadyBooked,
        "a forgotten key is a new submission"
    );
}

pub async fn a_person_s_active_booking_is_found_by_their_identity_until_cancelled(
    store: Arc<dyn Store>,
) {
    let s = slot("09:00-12:00");
    store.set_capacities(&[(s.clone(), 3)]).await.unwrap();
    let b = booking(1, &s);
    store.book(&b, &event("1"), None).await.unwrap();
    let nobody = PersonId::parse(&mykad(2)).unwrap();

    assert_eq!(
        store.active_booking_of(&b.person.id).await.unwrap(),
        Some(b.clone())
    );
    assert_eq!(store.active_booking_of(&nobody).await.unwrap(), None);

    store
        .cancel(&b.reference, &b.person.id, Utc::now(), &event("c"))
        .await
        .unwrap();
    assert_eq!(store.active_booking_of(&b.person.id).await.unwrap(), None);
}

fn limit(key: &str, max: u32, window_ms: u64) -> AttemptLimit {
    AttemptLimit {
        key: key.into(),
        max,
        window: std::time::Duration::from_millis(window_ms),
    }
}

pub async fn attempts_past_a_limit_are_refused_until_its_window_has_passed(store: Arc<dyn Store>) {
    let limits = [limit("a", 2, 300)];
    assert_eq!(
        store.attempt(&limits).await.unwrap(),
        AttemptOutcome::Allowed
    );
    assert_eq!(
        store.attempt(&limits).await.unwrap(),
        AttemptOutcome::Allowed
    );

    let refused = store.attempt(&limits).await.unwrap();
    let AttemptOutcome::Refused { index, retry_after } = refused else {
        panic!("a third attempt of two was allowed");
    };
    assert_eq!(index, 0);
    assert!(
        retry_after > std::time::Duration::from_millis(100)
            && retry_after <= std::time::Duration::from_millis(300),
        "{retry_after:?}"
    );
    assert_eq!(
        store.attempt(&[limit("b", 2, 300)]).await.unwrap(),
        AttemptOutcome::Allowed,
        "another key has its own count"
    );

    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(
        store.attempt(&limits).await.unwrap(),
        AttemptOutcome::Allowed
    );
}

pub async fn a_refused_attempt_counts_against_no_limit(store: Arc<dyn Store>) {
    let (wide, narrow) = (limit("wide", 2, 60_000), limit("narrow", 1, 60_000));
    let both = [wide.clone(), narrow.clone()];
    assert_eq!(store.attempt(&both).await.unwrap(), AttemptOutcome::Allowed);

    let refused = store.attempt(&both).await.unwrap();

    assert!(
        matches!(refused, AttemptOutcome::Refused { index: 1, .. }),
        "{refused:?}"
    );
    // `wide` counted one attempt, not two: it allows a second.
    assert_eq!(
        store.attempt(std::slice::from_ref(&wide)).await.unwrap(),
        AttemptOutcome::Allowed
    );
    assert!(matches!(
        store.attempt(&[wide]).await.unwrap(),
        AttemptOutcome::Refused { index: 0, .. }
    ));
}

pub async fn an_attempt_that_succeeded_is_taken_back(store: Arc<dyn Store>) {
    let limits = [limit("mine", 2, 60_000), limit("off", 0, 60_000)];
    for _ in 0..5 {
        assert_eq!(
            store.attempt(&limits).await.unwrap(),
            AttemptOutcome::Allowed
        );
        store.attempt_succeeded(&limits).await.unwrap();
    }
    // Only failures add up: two more, then none.
    assert_eq!(
        store.attempt(&limits).await.unwrap(),
        AttemptOutcome::Allowed
    );
    assert_eq!(
        store.attempt(&limits).await.unwrap(),
        AttemptOutcome::Allowed
    );
    assert!(matches!(
        store.attempt(&limits).await.unwrap(),
        AttemptOutcome::Refused { index: 0, .. }
    ));
}

pub async fn fifty_attempts_at_once_against_a_limit_of_five_let_exactly_five_through(
    store: Arc<dyn Store>,
) {
    let attempts = (0..50).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.attempt(&[limit("burst", 5, 60_000)]).await.unwrap() })
    });
    let outcomes: Vec<AttemptOutcome> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let allowed = outcomes
        .iter()
        .filter(|o| **o == AttemptOutcome::Allowed)
        .count();
    assert_eq!(allowed, 5, "guesses slipped past the limit in a burst");
}

macro_rules! suite {
    ($backend:ident; $($case:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let (store, _server) = super::$backend().await;
                    super::$case(store).await;
                }
            )*
        }
    };
}

macro_rules! conformance {
    ($($backend:ident),*) => {$(
        suite!($backend;
            a_booking_takes_a_place_and_is_stored_with_its_event,
            a_second_booking_by_the_same_person_is_refused_even_for_another_slot,
            a_full_slot_refuses_and_writes_nothing,
            a_slot_the_store_does_not_know_is_reported_missing,
            cancelling_gives_the_place_back_and_frees_the_person,
            a_booking_is_cancelled_once_and_only_by_its_holder,
            loading_capacities_again_never_refills_booked_places,
            two_thousand_people_racing_for_a_thousand_places_get_exactly_a_thousand,
            one_person_sending_fifty_requests_at_once_gets_exactly_one_booking,
            the_outbox_hands_out_events_oldest_first_and_forgets_acknowledged_ones,
            an_event_held_by_a_live_relay_is_not_shared_but_a_dead_relay_s_is_taken_over,
            an_event_handed_back_by_a_stopping_relay_is_taken_over_at_once,
            a_submission_sent_again_gets_its_booking_back_and_never_a_second_place,
            a_key_sent_with_another_request_is_refused_and_changes_nothing,
            an_idempotency_key_is_forgotten_after_its_time,
            a_person_s_active_booking_is_found_by_their_identity_until_cancelled,
            attempts_past_a_limit_are_refused_until_its_window_has_passed,
            a_refused_attempt_counts_against_no_limit,
            an_attempt_that_succeeded_is_taken_back,
            fifty_attempts_at_once_against_a_limit_of_five_let_exactly_five_through,
        );
    )*};
}

conformance!(memory, redis);
