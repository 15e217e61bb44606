//! The real binary as operators run it: JSON logs without personal data, clean SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::free_port;

const ID: &str = "900127015527";
const PHONE_DIGITS: &str = "123456789";
const ADDRESS: &str = "Lorong Rahsia Tujuh";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_json_with_request_ids_and_never_show_identity_phone_or_address_and_sigterm_stops_cleanly()
 {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_jkjav"))
        .arg("serve")
        .env("PORT", port.to_string())
        .env("JKJAV_HOST", "127.0.0.1")
        .env("JKJAV_ADMIN_ADDR", "127.0.0.1:0")
        .env("JKJAV_CATALOGUE", "data/seed-2021.toml")
        .env("JKJAV_LOG", "debug")
        .env("JKJAV_LOG_FORMAT", "json")
        .env_remove("REDIS_URL")
        .env_remove("KAFKA_BROKERS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seed = json!({"address": ADDRESS, "date": "20210516", "firstName": "Fadhil", "lastName": "Yaacob",
                      "location": "PWTC", "mysejahteraId": ID, "phoneNumber": format!("0{PHONE_DIGITS}")});
    for _ in 0..2 {
        client
            .post(format!("{base}/booking"))
            .json(&seed)
            .send()
            .await
            .unwrap();
    }
    let bad = json!({"centre": "PWTC", "date": "2021-05-16", "window": "00:00-24:00", "idNumber": ID,
                     "name": "x", "phone": "99", "address": ADDRESS});
    let refused = client
        .post(format!("{base}/api/v1/bookings"))
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let pid = child.id().to_string();
    let stopping = Instant::now();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(10),
            "SIGTERM did not stop the server"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status}");

    let lines = reader.join().unwrap();
    assert!(lines.len() > 3, "too few log lines: {lines:?}");
    let mut with_request_id = 0;
    for line in &lines {
        let entry: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if entry["span"]["request_id"].is_string() {
            with_request_id += 1;
        }
        for secret in [ID, PHONE_DIGITS, ADDRESS] {
            assert!(
                !line.contains(secret),
                "a log line shows personal data: {line}"
            );
        }
    }
    assert!(with_request_id > 0, "no log line carries a request id");
    assert!(
        lines.iter().any(|l| l.contains("stopped")),
        "no shutdown log line"
    );
}
