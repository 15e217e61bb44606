//! The OpenAPI document against the server it describes: every operation lists what it can
//! answer (and what it answers is listed), its request schemas refuse what the server refuses,
//! and its links can be followed.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{TestApp, booking_body, catalogue, mykad};
use crate::slow_clients::answer_to_a_body_that_never_comes;

/// Every operation in the document: path, method and the operation object.
fn operations(doc: &Value) -> Vec<(String, Method, Value)> {
    let mut found = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            found.push((path.clone(), method, operation.clone()));
        }
    }
    assert!(!found.is_empty());
    found
}

fn response(operation: &Value, status: u16) -> Option<&Value> {
    operation["responses"].get(status.to_string())
}

fn lists(operation: &Value, status: u16) -> bool {
    response(operation, status).is_some()
}

fn media_types(operation: &Value, status: u16) -> BTreeSet<String> {
    response(operation, status)
        .and_then(|r| r["content"].as_object())
        .map(|content| content.keys().cloned().collect())
        .unwrap_or_default()
}

fn has_retry_after(operation: &Value, status: u16) -> bool {
    response(operation, status).is_some_and(|r| r["headers"]["Retry-After"].is_object())
}

fn has_path_parameter(operation: &Value) -> bool {
    operation["parameters"]
        .as_array()
        .is_some_and(|ps| ps.iter().any(|p| p["in"] == "path"))
}

/// Keeps the seed's contract: every client error is a 400 in its own shape.
fn is_seed(operation: &Value) -> bool {
    operation["tags"][0] == "seed"
}

async fn document(app: &TestApp) -> Value {
    app.get("/openapi.json").await.json().await.unwrap()
}

/// Operations whose handlers take a booking POST from the client address's allowance.
const BOOKING_POSTS: [&str; 2] = ["createBooking", "seedBooking"];

#[tokio::test]
async fn every_operation_lists_what_the_layers_and_its_extractors_can_answer() {
    // Arrange
    let app = TestApp::spawn(catalogue(2), None).await;

    // Act
    let doc = document(&app).await;

    // Assert: a new route that forgets one of these fails here.
    for (path, method, operation) in operations(&doc) {
        let at = format!("{method} {path}");
        for layer in [408, 431, 503] {
            assert!(lists(&operation, layer), "{at} does not list {layer}");
            assert!(
                media_types(&operation, layer).contains("application/problem+json"),
                "{at}: the layers answer {layer} as a problem document"
            );
        }
        assert!(
            has_retry_after(&operation, 503),
            "{at}: 503 without Retry-After"
        );
        if operation["requestBody"].is_object() {
            assert!(lists(&operation, 400), "{at}: a body can be malformed");
            if is_seed(&operation) {
                // The seed answered every client error with 400, an oversized body included;
                // but no longer takes a body that is not JSON (any page could send one).
                assert!(!lists(&operation, 413), "{at}");
                assert!(lists(&operation, 415), "{at} does not list 415");
            } else {
                for status in [413, 415, 422] {
                    assert!(lists(&operation, status), "{at} does not list {status}");
                }
                let body = &operation["requestBody"]["content"];
                assert!(body["application/json"].is_object(), "{at}: a JSON body");
            }
        }
        if method == Method::POST {
            assert!(
                lists(&operation, 403),
                "{at}: a cross-site write is refused"
            );
        }
        let id = operation["operationId"].as_str().unwrap();
        if BOOKING_POSTS.contains(&id) {
            assert!(lists(&operation, 429), "{at} does not list 429");
            assert!(
                has_retry_after(&operation, 429),
                "{at}: 429 without Retry-After"
            );
        }
        if has_path_parameter(&operation) {
            assert!(lists(&operation, 404), "{at}: nothing may be at that path");
            assert!(
                media_types(&operation, 400).contains("text/plain"),
                "{at}: a path that is not UTF-8 gets the router's own 400"
            );
        }
        let etag = &operation["responses"]["200"]["headers"]["ETag"];
        if etag.is_object() {
            assert!(
                lists(&operation, 304),
                "{at}: a conditional read can be 304"
            );
        }
        for (status, answer) in operation["responses"].as_object().unwrap() {
            let expected = if is_seed(&operation) {
                ["application/json", "application/problem+json", "text/plain"].as_slice()
            } else {
                ["application/problem+json", "text/plain"].as_slice()
            };
            if status.starts_with('4') || status.starts_with('5') {
                let content = answer["content"].as_object().unwrap();
                assert!(
                    content.keys().all(|m| expected.contains(&m.as_str())),
                    "{at} {status}: {content:?}"
                );
            }
            assert!(
                !answer["description"].as_str().unwrap().is_empty(),
                "{at} {status} says nothing"
            );
        }
    }
}

#[tokio::test]
async fn operations_have_stable_ids_and_every_reference_in_the_document_resolves() {
    let app = TestApp::spawn(catalogue(2), None).await;
    let doc = document(&app).await;

    let ids: BTreeSet<String> = operations(&doc)
        .iter()
        .map(|(_, _, op)| op["operationId"].as_str().unwrap().to_owned())
        .collect();
    // Generated clients name their methods after these: renaming one breaks them.
    let expected = [
        "cancelBooking",
        "createBooking",
        "findBooking",
        "getCentreAvailability",
        "listCentres",
        "listStates",
        "lookupBooking",
        "seedBooking",
        "seedStationDays",
    ];
    assert_eq!(ids, expected.map(String::from).into_iter().collect());

    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for reference in refs {
        let pointer = reference.strip_prefix('#').unwrap();
        assert!(
            doc.pointer(pointer).is_some(),
            "{reference} resolves to nothing"
        );
    }
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                refs.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, refs));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
        _ => {}
    }
}

/// The status and media type (no parameters) of an answer.
async fn answer(response: reqwest::Response) -> (u16, Option<String>, bool) {
    let status = response.status().as_u16();
    let media = response.headers().get("content-type").map(|v| {
        v.to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .trim()
            .to_owned()
    });
    let retry_after = response.headers().contains_key("retry-after");
    (status, media, retry_after)
}

/// The status and media type of an answer read off a raw socket.
fn raw_answer(raw: &str) -> (u16, Option<String>, bool) {
    let (head, _) = raw.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut media = None;
    let mut retry_after = false;
    for line in lines {
        let (name, value) = line.split_once(':').unwrap();
        if name.eq_ignore_ascii_case("content-type") {
            media = Some(value.split(';').next().unwrap().trim().to_owned());
        }
        retry_after |= name.eq_ignore_ascii_case("retry-after");
    }
    (status, media, retry_after)
}

/// Asserts the document lists this answer for the operation, with this media type.
fn assert_listed(at: &str, operation: &Value, (status, media, _): &(u16, Option<String>, bool)) {
    assert!(
        lists(operation, *status),
        "{at} answered {status}, which it does not list"
    );
    let listed = media_types(operation, *status);
    match media {
        Some(media) => assert!(
            listed.contains(media),
            "{at} answered {status} as {media}; the document lists {listed:?}"
        ),
        None => assert!(listed.is_empty(), "{at} answered {status} without a body"),
    }
}

fn concrete(path: &str, parameter: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').unwrap() + start;
        out.push_str(&rest[..start]);
        out.push_str(parameter);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn what_the_layers_answer_each_operation_is_what_the_document_lists() {
    // Arrange: small limits, so that each layer can be made to answer.
    let app = TestApp::spawn_with(catalogue(2), |config| {
        config.max_header_bytes = 1024;
        config.max_body_bytes = 1024;
        config.body_read_timeout_ms = 200;
    })
    .await;
    let doc = document(&app).await;
    let send = |method: &Method, path: &str| app.client.request(method.clone(), app.url(path));

    for (path, method, operation) in operations(&doc) {
        let at = format!("{method} {path}");
        let url = concrete(&path, "TEST");

        // Act + assert: an oversized head.
        let head = send(&method, &url).header("x-padding", "a".repeat(2048));
        let refused = answer(head.send().await.unwrap()).await;
        assert_eq!(refused.0, 431, "{at}");
        assert_listed(&at, &operation, &refused);

        // A body that never comes.
        let raw = answer_to_a_body_that_never_comes(app.addr, method.as_str(), &url).await;
        let timed_out = raw_answer(&raw);
        assert_eq!(timed_out.0, 408, "{at}: {raw}");
        assert_listed(&at, &operation, &timed_out);

        // A write from another site's page.
        if method == Method::POST {
            let request = send(&method, &url)
                .header("sec-fetch-site", "cross-site")
                .json(&json!({}));
            let refused = answer(request.send().await.unwrap()).await;
            assert_eq!(refused.0, 403, "{at}");
            assert_listed(&at, &operation, &refused);
        }

        if operation["requestBody"].is_object() {
            let big = format!("{{\"name\": \"{}\"}}", "a".repeat(2048));
            for (content_type, body) in [
                ("application/json", big),
                ("application/json", "{".to_owned()),
                ("text/plain", "centre=TEST".to_owned()),
            ] {
                let request = send(&method, &url)
                    .header("content-type", content_type)
                    .body(body);
                let refused = answer(request.send().await.unwrap()).await;
                assert!((400..500).contains(&refused.0), "{at}: {refused:?}");
                assert_listed(&at, &operation, &refused);
            }
        }
        if has_path_parameter(&operation) {
            let refused =
                answer(send(&method, &concrete(&path, "%FF")).send().await.unwrap()).await;
            assert_eq!(refused.0, 400, "{at}");
            assert_listed(&at, &operation, &refused);
            let unknown = answer(
                send(&method, &concrete(&path, "NOPE"))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(unknown.0, 404, "{at}");
            assert_listed(&at, &operation, &unknown);
        }
    }

    // A server that sheds everything: every operation's 503, with Retry-After.
    let shedding = TestApp::spawn_with(catalogue(2), |config| config.max_in_flight = 0).await;
    for (path, method, operation) in operations(&doc) {
        let at = format!("{method} {path}");
        let request = shedding
            .client
            .request(method.clone(), shedding.url(&concrete(&path, "TEST")))
            .json(&json!({}));
        let shed = answer(request.send().await.unwrap()).await;
        assert_eq!(shed.0, 503, "{at}");
        assert!(shed.2, "{at}: 503 without Retry-After");
        assert_listed(&at, &operation, &shed);
    }

    // One booking POST a minute per address: the second POST to each operation.
    let limited = TestApp::spawn_with(catalogue(2), |config| {
        config.booking_posts_per_ip_per_min = 1;
    })
    .await;
    for (path, method, operation) in operations(&doc) {
        if method != Method::POST {
            continue;
        }
        let at = format!("{method} {path}");
        let mut last = None;
        for _ in 0..2 {
            let response = limited.post_json(&path, json!({})).await;
            last = Some(answer(response).await);
        }
        let second = last.unwrap();
        let id = operation["operationId"].as_str().unwrap();
        if BOOKING_POSTS.contains(&id) {
            assert_eq!(second.0, 429, "{at}");
            assert!(second.2, "{at}: 429 without Retry-After");
        }
        assert_listed(&at, &operation, &second);
    }
}

/// A validator for one of the document's component schemas, its `$ref`s resolved within the
/// document.
fn request_schema(doc: &Value, name: &str) -> jsonschema::Validator {
    let schema = json!({
        "$ref": format!("#/components/schemas/{name}"),
        "components": doc["components"],
    });
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

/// What a sample is to both sides.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    /// Accepted by the schema and, for its form, by the server.
    Accepted,
    /// Refused by both for its form (a pattern, a length, a missing or unknown field).
    Refused,
    /// Refused by the server for a reason no schema states (the calendar, the order of times):
    /// the schema's description says so.
    BeyondTheSchema,
    /// Tolerated by the server, refused by the schema, which documents the usual form: a
    /// generated client asks for a little more than the server needs, never for less.
    StricterThanTheServer,
}

fn body_with(base: &Value, field: &str, value: Option<Value>) -> Value {
    let mut body = base.clone();
    let map = body.as_object_mut().unwrap();
    match value {
        Some(value) => map.insert(field.to_owned(), value),
        None => map.remove(field),
    };
    body
}

/// Asserts each side's verdict on each sample; `server_refuses` posts it and says whether the
/// server refused it for its form.
async fn assert_schema_agrees<F, Fut>(
    validator: &jsonschema::Validator,
    samples: Vec<(Value, Verdict)>,
    mut server_refuses: F,
) where
    F: FnMut(Value) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for (body, verdict) in samples {
        let schema_refuses = !validator.is_valid(&body);
        let refused = server_refuses(body.clone()).await;
        let expected = match verdict {
            Verdict::Accepted => (false, false),
            Verdict::Refused => (true, true),
            Verdict::BeyondTheSchema => (true, false),
            Verdict::StricterThanTheServer => (false, true),
        };
        assert_eq!(
            (refused, schema_refuses),
            expected,
            "{verdict:?} expected for {body}; (server refuses, schema refuses) differ"
        );
    }
}

#[tokio::test]
async fn the_v1_request_schemas_refuse_the_bodies_the_server_refuses_for_their_form() {
    use Verdict::*;
    // Arrange
    let app = TestApp::spawn(catalogue(100), None).await;
    let doc = document(&app).await;
    let mut n = 0;
    let mut person = || {
        n += 1;
        booking_body(n, "TEST", "2030-01-01", "09:00-12:00")
    };
    let s = |v: &str| Some(json!(v));
    let mut samples = Vec::new();
    for (field, value, verdict) in [
        ("centre", s("TEST"), Accepted),
        ("centre", s("test"), Accepted),
        ("centre", s("P"), Refused),
        ("centre", s("PW TC"), Refused),
        ("centre", Some(json!(5)), Refused),
        ("centre", None, Refused),
        ("date", s("2030-01-02"), Accepted),
        ("date", s("01/01/2030"), Refused),
        ("date", s("2030-13-01"), Refused),
        // `format: date` holds the calendar too.
        ("date", s("2030-02-30"), Refused),
        ("window", s("13:00-17:00"), Accepted),
        ("window", s("9-12"), Refused),
        ("window", s("09:60-10:00"), Refused),
        ("window", s("12:00-09:00"), BeyondTheSchema),
        ("idNumber", s("900127-10-0001"), Accepted),
        ("idNumber", s("A1234567"), Accepted),
        ("idNumber", s("123"), Refused),
        ("idNumber", s("900127-00-5527"), Refused),
        ("idNumber", s("900127-01-552"), Refused),
        ("idNumber", s("900231-14-1234"), BeyondTheSchema),
        ("name", s("陈美玲"), Accepted),
        ("name", s("   "), Refused),
        ("name", Some(json!("a".repeat(101))), Refused),
        ("name", s("Siti\u{0}"), Refused),
        ("name", s("Ali\u{202E}nimda"), Refused),
        ("name", s("Siti\u{200B}"), Refused),
        // A tag character: beyond the plane the pattern names; its description says so.
        ("name", s("Siti\u{E0041}"), BeyondTheSchema),
        ("address", s("Jalan\u{FEFF}1"), Refused),
        ("phone", s("+60 12-345 6789"), Accepted),
        ("phone", s("011-2345 6789"), Accepted),
        ("phone", s("0312345678"), Refused),
        ("phone", s("012345678"), Refused),
        ("address", s("Jalan 1,\nKuala Lumpur"), Accepted),
        ("address", s(""), Refused),
        ("address", Some(json!("a".repeat(201))), Refused),
        ("postcode", None, Accepted),
        ("postcode", Some(Value::Null), Accepted),
        ("postcode", s("5048"), Refused),
        ("colour", s("red"), Refused),
    ] {
        samples.push((body_with(&person(), field, value), verdict));
    }
    let validator = request_schema(&doc, "CreateBooking");
    let app = &app;

    // Act + assert: the server refuses a body for its form with a validation problem.
    assert_schema_agrees(&validator, samples, |body| async move {
        let response = app.post_json("/api/v1/bookings", body).await;
        let status = response.status();
        let problem: Value = response.json().await.unwrap();
        status == StatusCode::UNPROCESSABLE_ENTITY
            && problem["type"] == "/problems/validation-error"
    })
    .await;

    let key = json!({"reference": "7KQ4M-PX2RD", "idNumber": mykad(1)});
    let mut samples = Vec::new();
    for (field, value, verdict) in [
        ("reference", s("7KQ4M-PX2RD"), Accepted),
        ("reference", s("7kq4mpx2rd"), Accepted),
        ("reference", s("7KQ4M-PX2R0"), Refused),
        ("reference", s("7KQ4M"), Refused),
        ("reference", None, Refused),
        ("idNumber", s("12"), Refused),
        ("idNumber", s("A1234567"), Accepted),
        ("phone", s("0123456789"), Refused),
    ] {
        samples.push((body_with(&key, field, value), verdict));
    }
    let validator = request_schema(&doc, "BookingKey");
    for path in ["/api/v1/bookings/lookup", "/api/v1/bookings/cancel"] {
        assert_schema_agrees(&validator, samples.clone(), |body| async move {
            let response = app.post_json(path, body).await;
            response.status() == StatusCode::UNPROCESSABLE_ENTITY
        })
        .await;
    }
}

#[tokio::test]
async fn the_seed_request_schema_refuses_the_bodies_the_seed_endpoint_refuses_for_their_form() {
    use Verdict::*;
    // Arrange
    let seed =
        jkjav::catalogue::Catalogue::load(std::path::Path::new("data/seed-2021.toml")).unwrap();
    let app = TestApp::spawn(seed, None).await;
    let doc = document(&app).await;
    let base = json!({"address": "Kuala Lumpur", "date": "20210516", "firstName": "Fadhil",
                      "lastName": "Yaacob", "location": "PWTC", "phoneNumber": "0123456789"});
    let s = |v: &str| Some(json!(v));
    let mut samples = Vec::new();
    for (n, (field, value, verdict)) in [
        ("lastName", s(""), Accepted),
        ("lastName", None, Accepted),
        ("location", s("um"), Accepted),
        ("date", s("20210614"), Accepted),
        ("colour", s("red"), Accepted),
        ("phoneNumber", s("12"), Refused),
        ("date", s("2021-05-16"), Refused),
        ("date", s("20210230"), BeyondTheSchema),
        ("location", s("P"), Refused),
        ("firstName", s(" "), StricterThanTheServer),
        ("firstName", Some(json!(5)), Refused),
        ("address", None, Refused),
        ("mysejahteraId", s("90012701552"), Refused),
    ]
    .into_iter()
    .enumerate()
    {
        // Each sample its own person, so that none is refused as a second booking.
        let person = body_with(&base, "mysejahteraId", Some(json!(mykad(n as u32))));
        samples.push((body_with(&person, field, value), verdict));
    }
    let nameless = body_with(&base, "mysejahteraId", Some(json!(mykad(99))));
    let nameless = body_with(
        &body_with(&nameless, "firstName", s(" ")),
        "lastName",
        s(""),
    );
    samples.push((nameless, Refused));
    let validator = request_schema(&doc, "SeedBooking");
    let app = &app;

    // Act + assert: the seed refuses a body for its form with a 400 naming the field.
    let fields = [
        "mysejahteraId",
        "firstName",
        "lastName",
        "address",
        "location",
        "phoneNumber",
        "date",
    ];
    assert_schema_agrees(&validator, samples, |body| async move {
        let response = app.post_json("/booking", body).await;
        let status = response.status();
        let failure: Value = response.json().await.unwrap();
        let message = failure["message"].as_str().unwrap_or_default().to_owned();
        status == StatusCode::BAD_REQUEST
            && fields.iter().any(|f| message.starts_with(&format!("{f}:")))
    })
    .await;
}

/// Follows a link: fills its request body's runtime expressions from the request and response.
fn follow(link: &Value, request: &Value, response: &Value) -> Value {
    let mut body = serde_json::Map::new();
    for (name, expression) in link["requestBody"].as_object().unwrap() {
        let expression = expression.as_str().unwrap();
        let value = if let Some(pointer) = expression.strip_prefix("$response.body#") {
            response.pointer(pointer)
        } else if let Some(pointer) = expression.strip_prefix("$request.body#") {
            request.pointer(pointer)
        } else {
            panic!("{expression} is not a body expression")
        };
        body.insert(name.clone(), value.unwrap().clone());
    }
    Value::Object(body)
}

fn path_of(doc: &Value, operation_id: &str) -> String {
    operations(doc)
        .into_iter()
        .find(|(_, _, op)| op["operationId"] == operation_id)
        .map(|(path, _, _)| path)
        .unwrap_or_else(|| panic!("no operation {operation_id}"))
}

#[tokio::test]
async fn the_links_from_a_new_booking_lead_to_its_lookup_and_its_cancellation() {
    // Arrange
    let app = TestApp::spawn(catalogue(2), None).await;
    let doc = document(&app).await;
    let created = &doc["paths"]["/api/v1/bookings"]["post"]["responses"]["201"]["links"];
    let found = &doc["paths"]["/api/v1/bookings/lookup"]["post"]["responses"]["200"]["links"];
    assert_eq!(created["lookup"]["operationId"], "lookupBooking");
    assert_eq!(created["cancel"]["operationId"], "cancelBooking");
    assert_eq!(found["cancel"]["operationId"], "cancelBooking");

    // Act: book, then go where the links say, with what they say.
    let request = booking_body(1, "TEST", "2030-01-01", "09:00-12:00");
    let booked: Value = app
        .post_json("/api/v1/bookings", request.clone())
        .await
        .json()
        .await
        .unwrap();
    let lookup = path_of(&doc, "lookupBooking");
    let key = follow(&created["lookup"], &request, &booked);
    let looked_up = app.post_json(&lookup, key.clone()).await;
    assert_eq!(looked_up.status(), StatusCode::OK);
    let looked_up: Value = looked_up.json().await.unwrap();
    let cancel = path_of(&doc, "cancelBooking");
    let cancelled = app
        .post_json(&cancel, follow(&found["cancel"], &key, &looked_up))
        .await;

    // Assert
    assert_eq!(cancelled.status(), StatusCode::OK);
    let cancelled: Value = cancelled.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(
        follow(&created["cancel"], &request, &booked),
        key,
        "both links from a booking carry the same key"
    );
}
