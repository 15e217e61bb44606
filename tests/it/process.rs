//! The real binary as operators run it: JSON logs without personal data or references through a
//! whole day's kinds of requests, a clean SIGTERM, and no start without the settings it needs.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Browser, RedisServer, TEST_COOKIE_KEY, TestApp, free_port};

/// The people of the run: identity number (as typed), phone number (as typed), and what else
/// the logs may never show of them.
const API_PERSON: (&str, &str) = ("880514-14-5873", "017-482 9316");
const SEED_PERSON: (&str, &str) = ("910823-10-6241", "0139847261");
const WEB_PERSON: (&str, &str) = ("750302-08-3917", "011-5283 7460");
const ADDRESS: &str = "Lorong Rahsia Tujuh";

const CATALOGUE: &str = r#"
[campaign]
id = "process-test"
name = "Process test"

[[centre]]
code = "TEST"
name = "Test Centre"
state = "selangor"
dates = { from = "2030-01-01", to = "2030-01-01" }
windows = [{ time = "09:00-12:00", capacity = 50 }, { time = "13:00-17:00", capacity = 50 }]
"#;

/// Every form a log line could show an identity number or a phone number in.
fn forms_of((id, phone): (&str, &str)) -> Vec<String> {
    let id_digits: String = id.chars().filter(char::is_ascii_digit).collect();
    let national: String = phone.chars().filter(char::is_ascii_digit).collect();
    let subscriber = national[1..].to_owned();
    vec![
        id.to_owned(),
        id_digits,
        phone.to_owned(),
        national,
        format!(
            "+6{}",
            &phone
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
        ),
        // E.164 without its plus, and the subscriber digits every form contains.
        format!("60{subscriber}"),
        subscriber,
    ]
}

fn serve(port: u16, env: &[(&str, String)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jkjav"));
    command
        .arg("serve")
        .env("PORT", port.to_string())
        .env("JKJAV_HOST", "127.0.0.1")
        .env("JKJAV_ADMIN_ADDR", "127.0.0.1:0")
        .env("JKJAV_LOG", "debug")
        .env("JKJAV_LOG_FORMAT", "json")
        .env("JKJAV_SNAPSHOT_MAX_AGE_MS", "50")
        .env_remove("REDIS_URL")
        .env_remove("JKJAV_COOKIE_KEY")
        .env_remove("KAFKA_BROKERS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    command.spawn().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_run_logs_json_with_request_ids_and_never_an_identity_number_phone_address_or_reference()
 {
    // Arrange: the binary over a real Redis, as in production.
    let dir = tempfile::tempdir().unwrap();
    let catalogue = dir.path().join("catalogue.toml");
    std::fs::write(&catalogue, CATALOGUE).unwrap();
    let mut redis = RedisServer::start();
    let port = free_port();
    let mut child = serve(
        port,
        &[
            ("JKJAV_CATALOGUE", catalogue.display().to_string()),
            ("REDIS_URL", redis.url()),
            ("JKJAV_COOKIE_KEY", TEST_COOKIE_KEY.to_owned()),
            ("JKJAV_REDIS_TIMEOUT_MS", "300".to_owned()),
        ],
    );
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
    loop {
        let ready = client.get(format!("{base}/readyz")).send().await;
        if ready.is_ok_and(|r| r.status() == StatusCode::OK) {
            break;
        }
        assert!(Instant::now() < deadline, "the server did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let post = |path: &str, body: Value| client.post(format!("{base}{path}")).json(&body).send();
    let mut references = Vec::new();

    // Act: book through the API (with a retry of the same submission), the seed and the web.
    let (id, phone) = API_PERSON;
    let api_booking = json!({"centre": "TEST", "date": "2030-01-01", "window": "09:00-12:00",
        "idNumber": id, "name": "Siti Nur", "phone": phone, "address": ADDRESS, "postcode": "40200"});
    for _ in 0..2 {
        let booked = client
            .post(format!("{base}/api/v1/bookings"))
            .header("idempotency-key", "process-run-1")
            .json(&api_booking)
            .send()
            .await
            .unwrap();
        assert_eq!(booked.status(), StatusCode::CREATED);
        let booked: Value = booked.json().await.unwrap();
        references.push(booked["reference"].as_str().unwrap().to_owned());
    }
    let (seed_id, seed_phone) = SEED_PERSON;
    let seed = json!({"address": ADDRESS, "date": "20300101", "firstName": "Fadhil", "lastName": "Yaacob",
                      "location": "TEST", "mysejahteraId": seed_id, "phoneNumber": seed_phone});
    let seeded: Value = post("/booking", seed.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    references.push(seeded["reference"].as_str().unwrap().to_owned());
    let refused = post("/booking", seed).await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "already booked");

    let app = TestApp {
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        // The child's operators' listener is on a port of its own choosing; this run reads
        // only the public one.
        admin: SocketAddr::from(([127, 0, 0, 1], 0)),
        client: client.clone(),
    };
    let mut browser = Browser::new(app).await;
    let (web_id, web_phone) = WEB_PERSON;
    let csrf = browser
        .get("/book?centre=TEST&date=2030-01-01&window=13:00-17:00")
        .await
        .csrf();
    let form = [
        ("csrf", csrf.as_str()),
        ("centre", "TEST"),
        ("slot", "2030-01-01_1300-1700"),
        ("id_number", web_id),
        ("name", "Aminah"),
        ("phone", web_phone),
        ("address", ADDRESS),
        ("postcode", ""),
    ];
    assert_eq!(
        browser.post("/book", &form).await.status,
        StatusCode::SEE_OTHER
    );
    let confirmation = browser.get("/booked").await.body;
    let marker = "class=\"reference\" data-focus tabindex=\"-1\">";
    let start = confirmation.find(marker).unwrap() + marker.len();
    let web_reference = confirmation[start..start + 11].to_owned();
    references.push(web_reference.clone());

    // Check, find, refusals: the API and the web.
    let key = json!({"reference": references[0], "idNumber": id});
    assert_eq!(
        post("/api/v1/bookings/lookup", key.clone())
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let wrong = json!({"reference": references[2], "idNumber": id});
    assert_eq!(
        post("/api/v1/bookings/lookup", wrong)
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    let find = json!({"idNumber": seed_id, "phone": seed_phone});
    assert_eq!(
        post("/api/v1/bookings/find", find).await.unwrap().status(),
        StatusCode::OK
    );
    let wrong = json!({"idNumber": seed_id, "phone": phone});
    assert_eq!(
        post("/api/v1/bookings/find", wrong).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let bad = json!({"centre": "TEST", "date": "2030-01-01", "window": "00:00-24:00", "idNumber": id,
                     "name": "x", "phone": "99", "address": ADDRESS});
    let invalid = post("/api/v1/bookings", bad).await.unwrap();
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let csrf = browser.cookie("jkjav_csrf");
    let checked = browser
        .post(
            "/check",
            &[
                ("csrf", csrf.as_str()),
                ("reference", &web_reference),
                ("id_number", web_id),
            ],
        )
        .await;
    assert_eq!(checked.status, StatusCode::SEE_OTHER);
    let found = browser
        .post(
            "/find",
            &[
                ("csrf", csrf.as_str()),
                ("id_number", web_id),
                ("phone", web_phone),
            ],
        )
        .await;
    assert_eq!(found.status, StatusCode::SEE_OTHER);
    let not_found = browser
        .post(
            "/find",
            &[
                ("csrf", csrf.as_str()),
                ("id_number", web_id),
                ("phone", phone),
            ],
        )
        .await;
    assert_eq!(not_found.status, StatusCode::UNPROCESSABLE_ENTITY);

    // A reference locked by guesses.
    for n in 0..6 {
        let guess =
            json!({"reference": references[2], "idNumber": format!("900127{:02}0001", 10 + n)});
        post("/api/v1/bookings/lookup", guess).await.unwrap();
    }
    let locked = post(
        "/api/v1/bookings/lookup",
        json!({"reference": references[2], "idNumber": seed_id}),
    );
    assert_eq!(
        locked.await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    // Cancel: the API, and the web with its pass.
    assert_eq!(
        post("/api/v1/bookings/cancel", key).await.unwrap().status(),
        StatusCode::OK
    );
    let cancelled = browser
        .post("/my-booking/cancel", &[("csrf", csrf.as_str())])
        .await;
    assert_eq!(cancelled.status, StatusCode::SEE_OTHER);

    // Redis goes away: a booking that cannot be confirmed, on the API and the web.
    redis.kill();
    let unconfirmed = post("/api/v1/bookings", api_booking).await.unwrap();
    assert_eq!(unconfirmed.status(), StatusCode::SERVICE_UNAVAILABLE);
    let problem: Value = unconfirmed.json().await.unwrap();
    assert_eq!(problem["findBooking"], "/api/v1/bookings/find");
    let page = browser.post("/book", &form).await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);

    let lines = stop(child, reader);

    // Assert
    assert!(lines.len() > 3, "too few log lines: {lines:?}");
    let mut with_request_id = 0;
    let mut secrets: Vec<String> = [API_PERSON, SEED_PERSON, WEB_PERSON]
        .into_iter()
        .flat_map(forms_of)
        .collect();
    secrets.push(ADDRESS.to_owned());
    secrets.push("Rahsia".to_owned());
    secrets.push("process-run-1".to_owned());
    for reference in &references {
        secrets.push(reference.clone());
        secrets.push(reference.replace('-', ""));
    }
    for line in &lines {
        let entry: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if entry["span"]["request_id"].is_string() {
            with_request_id += 1;
        }
        for secret in &secrets {
            assert!(
                !line.contains(secret.as_str()),
                "a log line shows {secret:?}: {line}"
            );
        }
    }
    assert!(with_request_id > 0, "no log line carries a request id");
    assert!(
        lines.iter().any(|l| l.contains("request failed")),
        "the 503s' causes were logged"
    );
    assert!(
        lines.iter().any(|l| l.contains("stopped")),
        "no shutdown log line"
    );
}

/// SIGTERM, a clean exit within 10 s, and every line the process wrote.
fn stop(mut child: Child, reader: std::thread::JoinHandle<Vec<String>>) -> Vec<String> {
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
    reader.join().unwrap()
}

#[test]
fn with_redis_and_without_a_cookie_key_the_binary_refuses_to_start_and_says_which_setting() {
    let redis = RedisServer::start();
    let mut child = serve(free_port(), &[("REDIS_URL", redis.url())]);

    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("the server started without JKJAV_COOKIE_KEY");
        }
        std::thread::sleep(Duration::from_millis(20));
    };

    assert!(!status.success());
    let mut said = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    assert!(said.contains("JKJAV_COOKIE_KEY"), "{said}");
}
