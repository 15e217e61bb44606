//! Booking events through the outbox to Kafka: librdkafka's mock cluster (the real protocol,
//! in process) for outages and injected errors, and a relay that dies mid-round.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jkjav::booking::{BookingRequest, BookingService};
use jkjav::events::BookingEvent;
use jkjav::events::publisher::{KafkaOptions, KafkaPublisher};
use jkjav::events::relay::{Relay, RelayOptions};
use jkjav::store::{RedisStore, RedisStoreOptions, Store};
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{RedisServer, TestApp, booking_body, catalogue, mykad};
use crate::scrape::{parse_openmetrics, sample};

const TOPIC: &str = "booking-slot";

fn cluster() -> MockCluster<'static, DefaultProducerContext> {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic(TOPIC, 3, 1).unwrap();
    cluster
}

async fn app_with_kafka(bootstrap: String, capacity: u32) -> TestApp {
    TestApp::spawn_with(catalogue(capacity), |config| {
        config.kafka_brokers = Some(bootstrap);
        config.kafka_message_timeout_ms = 3_000;
        config.relay_poll_ms = 20;
    })
    .await
}

/// Reads the topic from the beginning until `want` distinct events arrived (then a little
/// longer, to catch any extra), or the deadline passes.
pub async fn consume(
    bootstrap: &str,
    want: usize,
    within: Duration,
) -> Vec<(String, BookingEvent)> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("test-{}", uuid::Uuid::new_v4()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    // Assigned, not subscribed: no consumer-group rebalance to wait for.
    let mut partitions = rdkafka::TopicPartitionList::new();
    for partition in 0..3 {
        partitions
            .add_partition_offset(TOPIC, partition, rdkafka::Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&partitions).unwrap();
    let deadline = Instant::now() + within;
    let mut events = Vec::new();
    let mut ids = HashSet::new();
    let mut settle_until: Option<Instant> = None;
    loop {
        let now = Instant::now();
        let until = settle_until.unwrap_or(deadline).min(deadline);
        if now >= until {
            break;
        }
        if let Ok(Ok(message)) = tokio::time::timeout(until - now, consumer.recv()).await {
            let key = String::from_utf8(message.key().unwrap().to_vec()).unwrap();
            let event: BookingEvent = serde_json::from_slice(message.payload().unwrap()).unwrap();
            ids.insert(event.event_id);
            events.push((key, event));
            if ids.len() >= want && settle_until.is_none() {
                settle_until = Some(Instant::now() + Duration::from_millis(500));
            }
        }
    }
    events
}

fn distinct(events: &[(String, BookingEvent)]) -> HashMap<uuid::Uuid, BookingEvent> {
    events
        .iter()
        .map(|(_, e)| (e.event_id, e.clone()))
        .collect()
}

pub async fn book(app: &TestApp, n: u32) -> String {
    let response = app
        .post_json(
            "/api/v1/bookings",
            booking_body(n, "BIG", "2030-01-01", "00:00-24:00"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    body["reference"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_confirmed_and_cancelled_booking_yields_exactly_one_event_and_refusals_none() {
    let cluster = cluster();
    let app = app_with_kafka(cluster.bootstrap_servers(), 1).await;
    let mut references = Vec::new();
    for n in 0..20 {
        references.push(book(&app, n).await);
    }
    let cancelled = app
        .post_json(
            "/api/v1/bookings/cancel",
            json!({"reference": references[0], "idNumber": mykad(0)}),
        )
        .await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    let duplicate = app
        .post_json(
            "/api/v1/bookings",
            booking_body(1, "BIG", "2030-01-01", "00:00-24:00"),
        )
        .await;
    assert_eq!(duplicate.status(), StatusCode::CONFLICT);
    assert_eq!(
        app.post_json(
            "/api/v1/bookings",
            booking_body(50, "TEST", "2030-01-01", "09:00-12:00")
        )
        .await
        .status(),
        StatusCode::CREATED
    );
    let sold_out = app
        .post_json(
            "/api/v1/bookings",
            booking_body(51, "TEST", "2030-01-01", "09:00-12:00"),
        )
        .await;
    assert_eq!(sold_out.status(), StatusCode::CONFLICT);

    let events = consume(&cluster.bootstrap_servers(), 22, Duration::from_secs(20)).await;

    assert_eq!(
        events.len(),
        22,
        "expected exactly 22 events, got {}",
        events.len()
    );
    let confirmed: Vec<_> = events
        .iter()
        .filter(|(_, e)| e.event_type == jkjav::events::EventType::Confirmed)
        .collect();
    assert_eq!(confirmed.len(), 21);
    let cancellations: Vec<_> = events
        .iter()
        .filter(|(_, e)| e.event_type == jkjav::events::EventType::Cancelled)
        .collect();
    assert_eq!(cancellations.len(), 1);
    assert_eq!(cancellations[0].1.reference, references[0]);
    let refs: HashSet<_> = confirmed.iter().map(|(_, e)| e.reference.clone()).collect();
    assert!(references.iter().all(|r| refs.contains(r)));
    for (key, event) in &events {
        assert_eq!(
            key, &event.slot.centre,
            "the message key must be the centre code"
        );
        assert_eq!(event.schema, "jkjav.booking.v1");
    }
    let (_, sample) = confirmed
        .iter()
        .find(|(_, e)| e.reference == references[3])
        .unwrap();
    assert_eq!(sample.person.id_number, mykad(3));
    assert_eq!(sample.person.id_type, "mykad");
    assert_eq!(sample.person.phone, "+60123456789");
    assert_eq!(sample.person.postcode.as_deref(), Some("50480"));
    assert_eq!(
        (sample.slot.date.as_str(), sample.slot.window.as_str()),
        ("2030-01-01", "00:00-24:00")
    );
    assert_eq!(sample.slot.centre_name, "Big Centre");
    wait_for_empty_outbox(&app).await;
}

async fn wait_for_empty_outbox(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let ready: Value = app.admin_get("/readyz").await.json().await.unwrap();
        if ready["outboxBacklog"] == 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the outbox did not drain: {ready}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bookings_keep_being_confirmed_while_the_broker_is_down_and_their_events_arrive_after() {
    let cluster = cluster();
    let app = app_with_kafka(cluster.bootstrap_servers(), 1).await;
    for n in 0..5 {
        book(&app, n).await;
    }
    assert_eq!(
        distinct(&consume(&cluster.bootstrap_servers(), 5, Duration::from_secs(15)).await).len(),
        5
    );

    cluster.broker_down(1).unwrap();
    for n in 5..15 {
        book(&app, n).await;
    }
    // Longer than the producer's message timeout (3 s): the relay's own retries take over.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let waiting: Value = app.admin_get("/readyz").await.json().await.unwrap();
    assert!(
        waiting["outboxBacklog"].as_u64().unwrap() > 0,
        "events cannot have been delivered: {waiting}"
    );
    cluster.broker_up(1).unwrap();

    let events =
        distinct(&consume(&cluster.bootstrap_servers(), 15, Duration::from_secs(30)).await);
    let after: Value = app.admin_get("/readyz").await.json().await.unwrap();
    assert_eq!(
        events.len(),
        15,
        "events were lost across the outage; readiness now: {after}"
    );
    wait_for_empty_outbox(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn injected_produce_errors_are_retried_and_no_event_is_lost() {
    let cluster = cluster();
    cluster.request_errors(
        RDKafkaApiKey::Produce,
        &[
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        ],
    );
    let app = app_with_kafka(cluster.bootstrap_servers(), 1).await;
    for n in 0..12 {
        book(&app, n).await;
    }
    let events = consume(&cluster.bootstrap_servers(), 12, Duration::from_secs(30)).await;
    assert_eq!(distinct(&events).len(), 12);
    assert_eq!(
        events.len(),
        12,
        "the idempotent producer must not duplicate on retry"
    );
}

/// A Redis store holding `people` confirmed bookings, so `people` events wait in its outbox.
async fn redis_outbox_with_bookings(redis: &RedisServer, people: u32) -> Arc<dyn Store> {
    let cat = catalogue(1);
    let store: Arc<dyn Store> = Arc::new(
        RedisStore::new(RedisStoreOptions {
            url: redis.url(),
            namespace: cat.campaign().id.clone(),
            timeout: Duration::from_secs(2),
        })
        .unwrap(),
    );
    let service = BookingService::new(store.clone(), Arc::new(cat), Duration::from_millis(50));
    service.sync_catalogue().await.unwrap();
    let slot = service
        .catalogue()
        .slots()
        .keys()
        .find(|k| k.centre.as_str() == "BIG")
        .unwrap()
        .clone();
    for n in 0..people {
        let person = jkjav::domain::Person {
            id: jkjav::domain::PersonId::parse(&mykad(n)).unwrap(),
            name: jkjav::domain::PersonName::parse("Test Person").unwrap(),
            phone: jkjav::domain::Phone::parse("0123456789").unwrap(),
            address: jkjav::domain::Address::parse("Kuala Lumpur").unwrap(),
            postcode: None,
        };
        let request = BookingRequest {
            slot: slot.clone(),
            person,
            client: Default::default(),
            idempotency_key: None,
        };
        service.book(request).await.unwrap();
    }
    store
}

fn kafka_publisher(bootstrap: &str) -> Arc<KafkaPublisher> {
    Arc::new(
        KafkaPublisher::new(KafkaOptions {
            brokers: bootstrap.into(),
            topic: TOPIC.into(),
            message_timeout: Duration::from_secs(2),
            partitions: 3,
            replication: 1,
        })
        .unwrap(),
    )
}

fn relay_options(consumer: &str, reclaim_after: Duration) -> RelayOptions {
    RelayOptions {
        consumer: consumer.into(),
        batch: 10,
        poll_interval: Duration::from_millis(20),
        reclaim_after,
        warn_backlog: 1_000,
        warn_age: Duration::from_secs(60),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_relay_stopped_while_the_broker_is_down_hands_its_events_back_at_once() {
    let cluster = cluster();
    let redis = RedisServer::start();
    let store = redis_outbox_with_bookings(&redis, 5).await;
    // Reclaiming takes a minute: only a hand-back lets relay B deliver within the test.
    let patient = Duration::from_secs(60);

    cluster.broker_down(1).unwrap();
    let a = Relay::new(
        store.clone(),
        kafka_publisher(&cluster.bootstrap_servers()),
        relay_options("relay-a", patient),
    );
    assert!(a.step().await.is_err(), "nothing can be delivered yet");
    assert_eq!(
        store
            .outbox_claim("relay-b", 10, patient)
            .await
            .unwrap()
            .len(),
        0,
        "relay A still holds every event"
    );
    let (_, stopped) = tokio::sync::watch::channel(true);
    a.run(stopped).await;
    cluster.broker_up(1).unwrap();

    let b = Relay::new(
        store.clone(),
        kafka_publisher(&cluster.bootstrap_servers()),
        relay_options("relay-b", patient),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut delivered = 0;
    while delivered < 5 {
        assert!(
            Instant::now() < deadline,
            "relay B got {delivered} of 5 events"
        );
        delivered += b.step().await.unwrap_or(0);
    }
    assert_eq!(store.outbox_stats().await.unwrap().backlog, 0);
    let events = distinct(&consume(&cluster.bootstrap_servers(), 5, Duration::from_secs(20)).await);
    assert_eq!(events.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_relay_killed_mid_round_loses_nothing_once_another_takes_over() {
    let cluster = cluster();
    let redis = RedisServer::start();
    let store = redis_outbox_with_bookings(&redis, 30).await;
    let publisher = || kafka_publisher(&cluster.bootstrap_servers());
    let options = |consumer: &str| relay_options(consumer, Duration::from_millis(300));

    // Relay A delivers one round, then claims the next and dies before acknowledging it.
    let a = Relay::new(store.clone(), publisher(), options("relay-a"));
    assert_eq!(a.step().await.unwrap(), 10);
    let orphaned = store
        .outbox_claim("relay-a", 10, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(orphaned.len(), 10);
    drop(a);

    // Relay B takes over once A's claims are old enough.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let b = tokio::spawn(Relay::new(store.clone(), publisher(), options("relay-b")).run(stopped));
    let deadline = Instant::now() + Duration::from_secs(15);
    while store.outbox_stats().await.unwrap().backlog > 0 {
        assert!(
            Instant::now() < deadline,
            "relay B did not drain the outbox"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(true).unwrap();
    b.await.unwrap();

    let events =
        distinct(&consume(&cluster.bootstrap_servers(), 30, Duration::from_secs(20)).await);
    assert_eq!(
        events.len(),
        30,
        "an event claimed by the dead relay was lost"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_kafka_events_go_to_the_log_and_the_outbox_stays_empty() {
    let app = TestApp::spawn_with(catalogue(5), |config| config.relay_poll_ms = 20).await;
    for n in 0..10 {
        let r = app
            .post_json(
                "/api/v1/bookings",
                booking_body(n, "BIG", "2030-01-01", "00:00-24:00"),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    wait_for_empty_outbox(&app).await;
    // Empty because the ten events went through the relay, not because none was written.
    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    let delivered = sample(
        &parse_openmetrics(&metrics),
        "jkjav_outbox_events_delivered_total",
        &[],
    );
    assert_eq!(delivered, 10.0, "every booking's event was relayed once");
}
