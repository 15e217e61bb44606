//! End to end against a real Kafka-compatible broker process (tansu) on a free loopback port:
//! bookings through the HTTP API, events read back by a real consumer, and a broker that is
//! stopped and comes back empty in the middle.

use std::collections::HashSet;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::events::{book, consume};
use crate::harness::{RedisServer, TestApp, catalogue, free_port, mykad};

/// Where `make test-deps` installs tansu (`cargo install`), unless `TANSU_BIN` says otherwise.
fn tansu_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("TANSU_BIN").map(PathBuf::from) {
        assert!(
            path.is_file(),
            "TANSU_BIN={} is not a file: run `make test-deps` \
             (cargo install tansu --locked --features dynostore)",
            path.display()
        );
        return path;
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("tansu"))
        .find(|candidate| candidate.is_file());
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    let installed = cargo_home.map(|home| home.join("bin").join("tansu"));
    match on_path.or(installed.filter(|path| path.is_file())) {
        Some(path) => path,
        None => panic!(
            "the tansu broker is not installed: run `make test-deps` \
             (cargo install tansu --locked --features dynostore) or set TANSU_BIN"
        ),
    }
}

/// A tansu broker keeping everything in memory: stopping it loses every topic and message.
struct Tansu {
    child: Option<Child>,
    port: u16,
}

impl Tansu {
    fn start() -> Self {
        let mut broker = Self {
            child: None,
            port: free_port(),
        };
        broker.spawn();
        broker
    }

    fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let child = Command::new(tansu_binary())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start tansu: {error}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tansu did not listen on {} within 15 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the broker; with memory storage, everything it held is gone.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn restart_empty(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_reach_a_real_broker_and_none_made_while_it_was_down_is_lost() {
    let mut broker = Tansu::start();
    let redis = RedisServer::start();
    let bootstrap = broker.bootstrap();
    let app = TestApp::spawn_with(catalogue(10), |config| {
        config.redis_url = Some(redis.url());
        config.kafka_brokers = Some(bootstrap.clone());
        config.kafka_topic_partitions = 3;
        config.kafka_message_timeout_ms = 3_000;
        config.relay_poll_ms = 20;
    })
    .await;

    // Before the outage: bookings and a cancellation, read back by a real consumer.
    let mut before = Vec::new();
    for n in 0..10 {
        before.push(book(&app, n).await);
    }
    let cancelled = app
        .post_json(
            "/api/v1/bookings/cancel",
            json!({"reference": before[0], "idNumber": mykad(0)}),
        )
        .await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    let events = consume(&bootstrap, 11, Duration::from_secs(60)).await;
    let ids: HashSet<_> = events.iter().map(|(_, e)| e.event_id).collect();
    assert_eq!(ids.len(), 11, "10 confirmations and 1 cancellation");
    let confirmed: HashSet<_> = events
        .iter()
        .filter(|(_, e)| e.event_type == jkjav::events::EventType::Confirmed)
        .map(|(_, e)| e.reference.clone())
        .collect();
    assert_eq!(confirmed, before.iter().cloned().collect());
    assert!(
        events
            .iter()
            .all(|(key, e)| key == "BIG" && e.slot.centre == "BIG")
    );

    // The broker goes away; bookings go on being confirmed (they are stored, events owed).
    broker.stop();
    let mut during = Vec::new();
    for n in 100..120 {
        during.push(book(&app, n).await);
    }

    // It comes back with nothing: no topic, no producer state. The relay recreates the topic
    // and delivers every event made during the outage.
    broker.restart_empty();
    let events = consume(&bootstrap, during.len(), Duration::from_secs(90)).await;
    let arrived: HashSet<_> = events.iter().map(|(_, e)| e.reference.clone()).collect();
    let missing: Vec<_> = during.iter().filter(|r| !arrived.contains(*r)).collect();
    assert!(missing.is_empty(), "events lost in the outage: {missing:?}");
    let ids: HashSet<_> = events.iter().map(|(_, e)| e.event_id).collect();
    assert_eq!(ids.len(), during.len(), "no event invented");

    // And the outbox is empty once they are delivered.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ready: serde_json::Value = app.admin_get("/readyz").await.json().await.unwrap();
        if ready["outboxBacklog"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "outbox not drained: {ready}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
