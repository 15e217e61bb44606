//! The HTTP contract: every v1 endpoint and error, the seed endpoints, docs and health.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{TestApp, booking_body, catalogue, mykad};

const SEED_PAYLOAD: &str = r#"{"address":"Kuala Lumpur","date":"20210516","firstName":"Fadhil","lastName":"Yaacob","location":"PWTC","mysejahteraId":"900127015527","phoneNumber":"0123456789"}"#;

async fn app() -> TestApp {
    TestApp::spawn(catalogue(2), None).await
}

async fn seed_app() -> TestApp {
    let seed =
        jkjav::catalogue::Catalogue::load(std::path::Path::new("data/seed-2021.toml")).unwrap();
    TestApp::spawn(seed, None).await
}

async fn problem(response: reqwest::Response, status: StatusCode, kind: &str) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], format!("/problems/{kind}"), "{body}");
    assert_eq!(body["status"], status.as_u16());
    body
}

#[tokio::test]
async fn states_lists_all_sixteen_with_centre_counts() {
    let app = app().await;
    let states: Value = app.get("/api/v1/states").await.json().await.unwrap();
    let states = states.as_array().unwrap();
    assert_eq!(states.len(), 16);
    let selangor = states.iter().find(|s| s["code"] == "selangor").unwrap();
    assert_eq!(selangor["centres"], 1);
    assert_eq!(
        states.iter().find(|s| s["code"] == "johor").unwrap()["centres"],
        0
    );
}

#[tokio::test]
async fn centres_can_be_filtered_by_state_and_an_unknown_state_is_named() {
    let app = app().await;
    let all: Value = app.get("/api/v1/centres").await.json().await.unwrap();
    assert_eq!(all.as_array().unwrap().len(), 2);
    let kl: Value = app
        .get("/api/v1/centres?state=kuala-lumpur")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(kl.as_array().unwrap().len(), 1);
    assert_eq!(kl[0]["code"], "BIG");

    let body = problem(
        app.get("/api/v1/centres?state=atlantis").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation-error",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "state");
}

#[tokio::test]
async fn availability_lists_dates_and_windows_in_order_and_counts_bookings() {
    let app = app().await;
    let before: Value = app
        .get("/api/v1/centres/test/availability")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(before["days"].as_array().unwrap().len(), 2);
    assert_eq!(before["days"][0]["date"], "2030-01-01");
    assert_eq!(before["days"][0]["windows"][0]["window"], "09:00-12:00");
    assert_eq!(before["days"][0]["windows"][0]["remaining"], 2);

    let booked = app
        .post_json(
            "/api/v1/bookings",
            booking_body(1, "TEST", "2030-01-01", "09:00-12:00"),
        )
        .await;
    assert_eq!(booked.status(), StatusCode::CREATED);
    tokio::time::sleep(std::time::Duration::from_millis(80)).await; // > snapshot max age (50 ms)

    let after: Value = app
        .get("/api/v1/centres/TEST/availability")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["days"][0]["windows"][0]["remaining"], 1);
    assert_eq!(after["days"][0]["windows"][1]["remaining"], 2);
    problem(
        app.get("/api/v1/centres/NOPE/availability").await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
}

#[tokio::test]
async fn a_booking_is_created_looked_up_and_cancelled() {
    let app = app().await;
    let created = app
        .post_json(
            "/api/v1/bookings",
            booking_body(1, "TEST", "2030-01-01", "09:00-12:00"),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    let reference = created["reference"].as_str().unwrap().to_owned();
    assert_eq!(created["status"], "confirmed");
    assert_eq!(
        created["phone"], "+60 12-*** **89",
        "the phone number is masked"
    );
    assert_eq!(created["address"], "Jalan …", "the address is masked");
    assert_eq!(created["idType"], "mykad");
    assert!(
        created.get("idNumber").is_none(),
        "not a digit of the identity number beside the reference"
    );

    let key = json!({"reference": reference.to_lowercase(), "idNumber": mykad(1)});
    let found: Value = app
        .post_json("/api/v1/bookings/lookup", key.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["reference"], reference);
    assert_eq!(found["window"], "09:00-12:00");

    let cancelled = app.post_json("/api/v1/bookings/cancel", key.clone()).await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    let cancelled: Value = cancelled.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert!(cancelled["cancelledAt"].is_string());

    problem(
        app.post_json("/api/v1/bookings/cancel", key.clone()).await,
        StatusCode::CONFLICT,
        "already-cancelled",
    )
    .await;
    let found: Value = app
        .post_json("/api/v1/bookings/lookup", key)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found["status"], "cancelled");
}

#[tokio::test]
async fn a_lookup_with_either_half_wrong_gets_the_same_not_found() {
    let app = app().await;
    let created: Value = app
        .post_json(
            "/api/v1/bookings",
            booking_body(1, "TEST", "2030-01-01", "09:00-12:00"),
        )
        .await
        .json()
        .await
        .unwrap();
    let reference = created["reference"].as_str().unwrap();

    let wrong_id = problem(
        app.post_json(
            "/api/v1/bookings/lookup",
            json!({"reference": reference, "idNumber": mykad(2)}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    let wrong_ref = problem(
        app.post_json(
            "/api/v1/bookings/lookup",
            json!({"reference": "22222-22222", "idNumber": mykad(1)}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    assert_eq!(wrong_id, wrong_ref);
    problem(
        app.post_json(
            "/api/v1/bookings/cancel",
            json!({"reference": reference, "idNumber": mykad(2)}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
}

#[tokio::test]
async fn duplicate_person_and_sold_out_are_distinct_conflicts() {
    let app = app().await;
    for n in [1, 2] {
        let r = app
            .post_json(
                "/api/v1/bookings",
                booking_body(n, "TEST", "2030-01-01", "09:00-12:00"),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    problem(
        app.post_json(
            "/api/v1/bookings",
            booking_body(1, "TEST", "2030-01-02", "09:00-12:00"),
        )
        .await,
        StatusCode::CONFLICT,
        "already-booked",
    )
    .await;
    problem(
        app.post_json(
            "/api/v1/bookings",
            booking_body(3, "TEST", "2030-01-01", "09:00-12:00"),
        )
        .await,
        StatusCode::CONFLICT,
        "sold-out",
    )
    .await;
    problem(
        app.post_json(
            "/api/v1/bookings",
            booking_body(3, "TEST", "2031-01-01", "09:00-12:00"),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown-slot",
    )
    .await;
}

#[tokio::test]
async fn every_invalid_field_is_reported_by_name_at_once() {
    let app = app().await;
    let body = json!({"centre": "TEST", "date": "01/01/2030", "window": "9-12", "idNumber": "123",
                      "name": " ", "phone": "0312345678", "address": "KL", "postcode": "123"});
    let body = problem(
        app.post_json("/api/v1/bookings", body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation-error",
    )
    .await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["date", "window", "idNumber", "name", "phone", "postcode"]
    );

    let missing = problem(
        app.post_json("/api/v1/bookings", json!({"centre": "TEST"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation-error",
    )
    .await;
    assert!(
        missing["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["field"] == "idNumber" && e["message"] == "is required")
    );
}

#[tokio::test]
async fn names_and_addresses_that_would_print_as_something_else_are_refused_naming_the_field() {
    let app = app().await;
    for (field, sneaky) in [
        ("name", "Ali\u{202E}nimda"),
        ("name", "Siti\u{200B}Nur"),
        ("address", "Jalan\u{2066}1\u{2069}"),
        ("address", "Jalan 1\u{E0041}"),
    ] {
        let mut body = booking_body(1, "TEST", "2030-01-01", "09:00-12:00");
        body[field] = json!(sneaky);
        let refused = problem(
            app.post_json("/api/v1/bookings", body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-error",
        )
        .await;
        assert_eq!(
            refused["errors"][0]["field"], field,
            "{sneaky:?}: {refused}"
        );
        assert!(
            refused["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("invisible"),
            "{refused}"
        );
    }
    // The seed's endpoint goes through the same parse.
    let seed = json!({"address": "Kuala Lumpur", "date": "20300101", "firstName": "Ali\u{202E}",
                      "lastName": "nimda", "location": "TEST", "mysejahteraId": mykad(2),
                      "phoneNumber": "0123456789"});
    let refused = app.post_json("/booking", seed).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let refused: Value = refused.json().await.unwrap();
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .starts_with("firstName:"),
        "{refused}"
    );
    // A name in NFD is booked in NFC: one name, one form downstream.
    let mut body = booking_body(3, "TEST", "2030-01-01", "09:00-12:00");
    body["name"] = json!("Jose\u{301} Lim");
    let booked = app.post_json("/api/v1/bookings", body).await;
    assert_eq!(booked.status(), StatusCode::CREATED);
    let booked: Value = booked.json().await.unwrap();
    assert_eq!(booked["name"], "Jos\u{E9} Lim");
}

#[tokio::test]
async fn malformed_requests_get_a_4xx_that_says_what_is_wrong() {
    let app = app().await;
    let send = |body: &'static str, content_type: &'static str| {
        app.client
            .post(app.url("/api/v1/bookings"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    problem(
        send("{\"centre\": ", "application/json").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "malformed-json",
    )
    .await;
    problem(
        send("centre=TEST", "application/x-www-form-urlencoded")
            .await
            .unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    )
    .await;
    let typed = problem(
        send("{\"centre\": 5}", "application/json").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation-error",
    )
    .await;
    assert_eq!(typed["errors"][0]["field"], "centre");
    let unknown = problem(
        send("{\"colour\": \"red\"}", "application/json")
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation-error",
    )
    .await;
    assert_eq!(unknown["errors"][0]["field"], "colour");

    let huge = format!("{{\"name\": \"{}\"}}", "a".repeat(64 * 1024));
    let response = app
        .client
        .post(app.url("/api/v1/bookings"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large").await;
    problem(
        app.get("/no/such/page").await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
}

#[tokio::test]
async fn a_body_that_breaks_off_is_a_400_not_too_large() {
    // Arrange: a client that promises 200 bytes, sends 20 and stops sending.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = app().await;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = "POST /api/v1/bookings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Content-Length: 200\r\nConnection: close\r\n\r\n{\"centre\": \"TEST\", ";
    stream.write_all(head.as_bytes()).await.unwrap();

    // Act: it half-closes, so the server sees the body end early.
    stream.shutdown().await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_string(&mut answer),
    )
    .await
    .expect("the server answers")
    .unwrap();

    // Assert
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("/problems/unreadable-body"), "{answer}");
}

#[tokio::test]
async fn bookings_are_refused_before_the_campaign_opens() {
    let toml = r#"
        [campaign]
        id = "later"
        name = "Later"
        opens_at = "2099-01-01T12:00:00+08:00"
        [[centre]]
        code = "TEST"
        name = "Test"
        state = "johor"
        dates = { from = "2099-02-01", to = "2099-02-01" }
        windows = [{ time = "09:00-12:00", capacity = 5 }]
    "#;
    let app = TestApp::spawn(jkjav::catalogue::Catalogue::from_toml(toml).unwrap(), None).await;
    let body = problem(
        app.post_json(
            "/api/v1/bookings",
            booking_body(1, "TEST", "2099-02-01", "09:00-12:00"),
        )
        .await,
        StatusCode::CONFLICT,
        "not-open",
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("2099-01-01"));
}

#[tokio::test]
async fn the_seed_payload_books_and_its_retry_is_refused() {
    let app = seed_app().await;
    let send = || {
        app.client
            .post(app.url("/booking"))
            .header("content-type", "application/json")
            .body(SEED_PAYLOAD)
            .send()
    };

    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let echoed: Value = first.json().await.unwrap();
    let sent: Value = serde_json::from_str(SEED_PAYLOAD).unwrap();
    for (field, value) in sent.as_object().unwrap() {
        assert_eq!(&echoed[field], value, "{field} not echoed");
    }
    let reference = echoed["reference"].as_str().unwrap();
    let found = app
        .post_json(
            "/api/v1/bookings/lookup",
            json!({"reference": reference, "idNumber": "900127015527"}),
        )
        .await;
    assert_eq!(
        found.status(),
        StatusCode::OK,
        "the seed confirmation must be stored"
    );

    let again = send().await.unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["status"], "Failed");
}

#[tokio::test]
async fn seed_bookings_with_bad_fields_fail_in_the_seed_shape() {
    let app = seed_app().await;
    let bad = SEED_PAYLOAD
        .replace("0123456789", "12")
        .replace("20210516", "20200101");
    let response = app
        .client
        .post(app.url("/booking"))
        .header("content-type", "application/json")
        .body(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "Failed");
    assert!(
        body["message"].as_str().unwrap().contains("phoneNumber"),
        "{body}"
    );

    let nowhere = SEED_PAYLOAD.replace("PWTC", "NOWHERE");
    let body: Value = app
        .client
        .post(app.url("/booking"))
        .header("content-type", "application/json")
        .body(nowhere)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("location"),
        "{body}"
    );
    let broken = app
        .client
        .post(app.url("/booking"))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn stations_lists_that_centre_s_days_in_order_with_cache_headers() {
    let app = seed_app().await;
    let response = app.get("/stations/PWTC").await;
    assert_eq!(response.status(), StatusCode::OK);
    // The seed's `public, max-age=1`, plus leave for caches to serve while they revalidate.
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=1, stale-while-revalidate=5"
    );
    let days: Value = response.json().await.unwrap();
    let days = days.as_array().unwrap();
    assert_eq!(days.len(), 30);
    assert_eq!(
        days[0],
        json!({"location": "PWTC", "date": "20210516", "availability": 1000})
    );
    assert_eq!(days[29]["date"], "20210614");
    assert!(
        days.windows(2)
            .all(|w| w[0]["date"].as_str() < w[1]["date"].as_str())
    );

    let um: Value = app.get("/stations/UM").await.json().await.unwrap();
    assert!(
        um.as_array()
            .unwrap()
            .iter()
            .all(|d| d["location"] == "UM" && d["availability"] == 5000)
    );
    assert_eq!(
        app.get("/stations/NOWHERE").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_openapi_document_covers_every_route_and_docs_work_offline() {
    let app = app().await;
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut paths: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "/api/v1/bookings",
            "/api/v1/bookings/cancel",
            "/api/v1/bookings/find",
            "/api/v1/bookings/lookup",
            "/api/v1/centres",
            "/api/v1/centres/{code}/availability",
            "/api/v1/states",
            "/booking",
            "/stations/{name}",
        ]
    );
    assert!(doc["components"]["schemas"]["BookingEvent"].is_object());

    let page = app.get("/docs").await.text().await.unwrap();
    assert!(
        !page.contains("https://"),
        "the docs page must not load anything from a CDN"
    );
    let assets: Vec<&str> = page
        .split("src=\"")
        .skip(1)
        .chain(page.split("href=\"").skip(1))
        .filter_map(|rest| rest.split('"').next())
        .filter(|path| path.starts_with("/static/"))
        .collect();
    // The script, its stylesheet and the page's own start-up script, at least.
    assert!(
        assets.len() >= 3,
        "the docs page names its assets: {assets:?}"
    );
    for path in assets {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(
            !response.bytes().await.unwrap().is_empty(),
            "{path} is empty"
        );
    }
}

#[tokio::test]
async fn health_and_readiness_report_on_the_store() {
    let app = app().await;
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["ready"], true);
    let detailed: Value = app.admin_get("/readyz").await.json().await.unwrap();
    assert_eq!(detailed["ready"], true);
    assert_eq!(detailed["catalogueSynced"], true);
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_keeps_a_given_one() {
    let app = app().await;
    let generated = app.get("/healthz").await;
    assert!(!generated.headers()["x-request-id"].is_empty());
    let given = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "abc-123");
}
