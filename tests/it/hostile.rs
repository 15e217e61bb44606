//! A hostile crowd (issue 11): a stranger who knows a booking's reference or a person's identity
//! number can neither open the booking, nor cancel it, nor stop the person from booking or
//! checking; a person whose answer was lost can always find out whether they are booked.
//!
//! Clients at different addresses are real: each binds its own loopback address (127.0.0.x),
//! so the server sees them as the different peers they are.

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use jkjav::app::{Application, BuildError};
use jkjav::config::ServeConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Browser, RedisServer, TestApp, booking_body, catalogue, mykad};
use crate::probe::{ProbeStore, until};

/// An HTTP client whose connections come from `ip` (any 127.0.0.x reaches the server).
fn client_at(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn post(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    body: Value,
) -> reqwest::Response {
    client.post(app.url(path)).json(&body).send().await.unwrap()
}

async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.unwrap())
}

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// A MyKad number whose digits appear nowhere else on a page (no date, no count).
const OWNER_ID: &str = "880514-14-5873";
const OWNER_PHONE: &str = "017-482 9316";

fn owner_booking(window: &str) -> Value {
    json!({"centre": "TEST", "date": "2030-01-01", "window": window, "idNumber": OWNER_ID,
           "name": "Siti Nur Aisyah", "phone": OWNER_PHONE, "address": "Lorong Rahsia 7, Shah Alam",
           "postcode": "40200"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reference_from_a_screenshot_is_locked_after_five_wrong_guesses_on_any_instance_and_the_owner_still_finds_the_booking()
 {
    // Arrange: two instances behind one address, sharing Redis (and the cookie key).
    let redis = RedisServer::start();
    let cat = catalogue(5);
    let first = TestApp::spawn(cat.clone(), Some(redis.url())).await;
    let second = TestApp::spawn(cat, Some(redis.url())).await;
    let owner = client_at("127.0.0.3");
    let (status, booked) = json_of(
        post(
            &owner,
            &first,
            "/api/v1/bookings",
            owner_booking("09:00-12:00"),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let reference = booked["reference"].as_str().unwrap().to_owned();

    // Act: a stranger, with the reference, guesses identity numbers on both instances.
    let stranger = client_at("127.0.0.2");
    for n in 0..5 {
        let app = if n % 2 == 0 { &first } else { &second };
        let guess = json!({"reference": reference, "idNumber": mykad(n)});
        let wrong = post(&stranger, app, "/api/v1/bookings/lookup", guess).await;
        assert_eq!(wrong.status(), StatusCode::NOT_FOUND, "guess {n}");
    }
    // Even the right identity number is now refused: a lock a guess could pass would tell.
    let right = json!({"reference": reference, "idNumber": OWNER_ID});
    let locked = post(&stranger, &second, "/api/v1/bookings/lookup", right.clone()).await;

    // Assert
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&locked);
    assert!((800..=900).contains(&wait), "locked for 15 minutes: {wait}");
    let problem: Value = locked.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/too-many-failed-attempts");
    assert_eq!(problem["findBooking"], "/api/v1/bookings/find");
    assert!(
        problem["detail"].as_str().unwrap().contains("phone number"),
        "{problem}"
    );
    for (app, path) in [
        (&first, "/api/v1/bookings/lookup"),
        (&first, "/api/v1/bookings/cancel"),
    ] {
        let by_owner = post(&owner, app, path, right.clone()).await;
        assert_eq!(by_owner.status(), StatusCode::TOO_MANY_REQUESTS, "{path}");
    }
    // The other way in still works for the owner: identity number and phone number.
    let find = json!({"idNumber": OWNER_ID, "phone": "+60174829316"});
    let (status, found) = json_of(post(&owner, &first, "/api/v1/bookings/find", find).await).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["reference"], reference.as_str());
    assert_eq!(
        found["status"], "confirmed",
        "the stranger cancelled nothing"
    );
    assert_eq!(found["phone"], "+60 17-*** **16");
    assert_eq!(found["address"], "Lorong …");
    assert!(found.get("idNumber").is_none());
}

#[tokio::test]
async fn one_client_guessing_across_many_references_is_locked_and_other_clients_are_not() {
    let app = TestApp::spawn_with(catalogue(5), |config| {
        config.failed_attempts_per_client = 3;
    })
    .await;
    let sprayer = client_at("127.0.0.4");
    for guess in ["22222-22222", "33333-33333", "44444-44444"] {
        let key = json!({"reference": guess, "idNumber": mykad(1)});
        let wrong = post(&sprayer, &app, "/api/v1/bookings/lookup", key).await;
        assert_eq!(wrong.status(), StatusCode::NOT_FOUND);
    }

    let fourth = json!({"reference": "55555-55555", "idNumber": mykad(1)});
    let locked = post(&sprayer, &app, "/api/v1/bookings/lookup", fourth.clone()).await;
    let find = json!({"idNumber": mykad(1), "phone": "0123456789"});
    let also_locked = post(&sprayer, &app, "/api/v1/bookings/find", find).await;

    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&locked) > 500, "locked for about ten minutes");
    let problem: Value = locked.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/too-many-failed-attempts");
    assert!(
        problem.get("findBooking").is_none(),
        "no other way from this network"
    );
    assert_eq!(also_locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let elsewhere = post(
        &client_at("127.0.0.5"),
        &app,
        "/api/v1/bookings/lookup",
        fourth,
    )
    .await;
    assert_eq!(
        elsewhere.status(),
        StatusCode::NOT_FOUND,
        "another client is not locked"
    );
}

#[tokio::test]
async fn finding_by_a_known_identity_number_is_locked_after_five_wrong_phones_and_the_reference_still_works()
 {
    let app = TestApp::spawn(catalogue(5), None).await;
    let owner = client_at("127.0.0.3");
    let (_, booked) = json_of(
        post(
            &owner,
            &app,
            "/api/v1/bookings",
            owner_booking("09:00-12:00"),
        )
        .await,
    )
    .await;
    let reference = booked["reference"].as_str().unwrap();
    let stranger = client_at("127.0.0.2");
    for n in 0..5 {
        let guess = json!({"idNumber": OWNER_ID, "phone": format!("01248293{n:02}")});
        let wrong = post(&stranger, &app, "/api/v1/bookings/find", guess).await;
        assert_eq!(wrong.status(), StatusCode::NOT_FOUND);
    }

    let right = json!({"idNumber": OWNER_ID, "phone": OWNER_PHONE});
    let locked = post(&owner, &app, "/api/v1/bookings/find", right).await;
    let key = json!({"reference": reference, "idNumber": OWNER_ID});
    let by_reference = post(&owner, &app, "/api/v1/bookings/lookup", key).await;

    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let problem: Value = locked.json().await.unwrap();
    assert_eq!(problem["lookupBooking"], "/api/v1/bookings/lookup");
    assert_eq!(
        by_reference.status(),
        StatusCode::OK,
        "the other way in is not locked"
    );
}

#[tokio::test]
async fn a_successful_lookup_is_never_counted_as_a_guess() {
    let app = TestApp::spawn(catalogue(5), None).await;
    let owner = client_at("127.0.0.3");
    let (_, booked) = json_of(
        post(
            &owner,
            &app,
            "/api/v1/bookings",
            owner_booking("09:00-12:00"),
        )
        .await,
    )
    .await;
    let key = json!({"reference": booked["reference"], "idNumber": OWNER_ID});
    for _ in 0..12 {
        let again = post(&owner, &app, "/api/v1/bookings/lookup", key.clone()).await;
        assert_eq!(again.status(), StatusCode::OK);
    }
}

#[tokio::test]
async fn no_page_shows_a_digit_of_the_identity_number_beside_the_reference_and_the_qr_holds_the_reference_alone()
 {
    let mut browser = Browser::new(TestApp::spawn(catalogue(5), None).await).await;
    let csrf = browser
        .get("/book?centre=TEST&date=2030-01-01&window=09:00-12:00")
        .await
        .csrf();
    let form = [
        ("csrf", csrf.as_str()),
        ("centre", "TEST"),
        ("slot", "2030-01-01_0900-1200"),
        ("id_number", OWNER_ID),
        ("name", "Siti Nur Aisyah"),
        ("phone", OWNER_PHONE),
        ("address", "Lorong Rahsia 7, Shah Alam"),
        ("postcode", "40200"),
    ];
    assert_eq!(
        browser.post("/book", &form).await.status,
        StatusCode::SEE_OTHER
    );

    let booked = browser.get("/booked").await.body;
    let marker = "class=\"reference\" data-focus tabindex=\"-1\">";
    let start = booked.find(marker).unwrap() + marker.len();
    let reference = &booked[start..start + 11];
    for path in ["/booked", "/my-booking", "/my-booking/cancel"] {
        // The form token is random hex: it may hold any four digits.
        let page = browser
            .get(path)
            .await
            .body
            .replace(&browser.cookie("jkjav_csrf"), "");
        assert!(page.contains(reference), "{path} shows the reference");
        for digits in ["5873", "880514", "145873", "9316", "4829316"] {
            assert!(
                !page.contains(digits),
                "{path} shows {digits:?} of the identity or phone number"
            );
        }
        assert!(!page.contains("Rahsia"), "{path} shows the address");
    }
    let mine = browser.get("/my-booking").await.body;
    assert!(mine.contains("+60 17-*** **16"), "the phone number, masked");
    let qr = jkjav::web::qr::qr_svg(reference, "Kod QR nombor rujukan");
    assert!(
        booked.contains(&qr),
        "the QR code encodes the reference and nothing else"
    );
}

#[tokio::test]
async fn a_stranger_s_attempts_with_someone_s_identity_number_never_stop_them_from_booking_or_checking()
 {
    // Arrange: the morning window is full.
    let app = TestApp::spawn(catalogue(1), None).await;
    let filled = app
        .post_json(
            "/api/v1/bookings",
            booking_body(1, "TEST", "2030-01-01", "09:00-12:00"),
        )
        .await;
    assert_eq!(filled.status(), StatusCode::CREATED);

    // Act: from client A, twenty attempts with B's identity number against the full window.
    let stranger = client_at("127.0.0.2");
    let mut limited = 0;
    for _ in 0..20 {
        let attempt = post(
            &stranger,
            &app,
            "/api/v1/bookings",
            owner_booking("09:00-12:00"),
        )
        .await;
        match attempt.status() {
            StatusCode::CONFLICT => {}
            StatusCode::TOO_MANY_REQUESTS => limited += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert!(limited > 0, "the stranger's own attempts are limited");

    // Assert: B, from another address, books and checks.
    let owner = client_at("127.0.0.3");
    let (status, booked) = json_of(
        post(
            &owner,
            &app,
            "/api/v1/bookings",
            owner_booking("13:00-17:00"),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let key = json!({"reference": booked["reference"], "idNumber": OWNER_ID});
    let checked = post(&owner, &app, "/api/v1/bookings/lookup", key).await;
    assert_eq!(checked.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_booking_sent_again_with_its_idempotency_key_gets_the_same_booking_even_once_the_slot_is_full()
 {
    let app = TestApp::spawn(catalogue(1), None).await;
    let send = |body: Value, key: &'static str| {
        app.client
            .post(app.url("/api/v1/bookings"))
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let body = owner_booking("09:00-12:00");
    let (status, first) = json_of(send(body.clone(), "3f0c9a1e-booking-1").await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED);

    // The answer was lost; the client sends the same request again. The window is now full
    // (this booking took its only place) and the person holds a booking: neither matters.
    let (status, again) = json_of(send(body.clone(), "3f0c9a1e-booking-1").await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(again["reference"], first["reference"]);

    let other = send(owner_booking("13:00-17:00"), "3f0c9a1e-booking-1")
        .await
        .unwrap();
    let (status, refused) = json_of(other).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        refused["errors"][0]["field"], "Idempotency-Key",
        "{refused}"
    );
    let bad = send(body, "not a key").await.unwrap();
    let (status, refused) = json_of(bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused["errors"][0]["field"], "Idempotency-Key");

    let days: Value = app
        .get("/api/v1/centres/TEST/availability")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(days["days"][0]["windows"][0]["remaining"], 0);
    assert_eq!(
        days["days"][0]["windows"][1]["remaining"], 1,
        "no second place taken"
    );
}

#[tokio::test]
async fn the_same_booking_form_sent_twice_shows_the_confirmation_of_its_one_booking() {
    let mut browser = Browser::new(TestApp::spawn(catalogue(5), None).await).await;
    let page = browser
        .get("/book?centre=TEST&date=2030-01-01&window=09:00-12:00")
        .await;
    let marker = "name=\"submission\" value=\"";
    let start = page.body.find(marker).expect("the form carries its token") + marker.len();
    let token = page.body[start..start + 32].to_owned();
    let csrf = page.csrf();
    let form = [
        ("csrf", csrf.as_str()),
        ("submission", token.as_str()),
        ("centre", "TEST"),
        ("slot", "2030-01-01_0900-1200"),
        ("id_number", OWNER_ID),
        ("name", "Siti Nur Aisyah"),
        ("phone", OWNER_PHONE),
        ("address", "Lorong Rahsia 7"),
        ("postcode", ""),
    ];
    let first = browser.post("/book", &form).await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    let reference = browser.get("/booked").await.body;

    // Another browser (the pass is lost too) sends the same form again.
    let mut resend = browser.another().await;
    resend.get("/check").await;
    let mut again = form;
    let csrf = resend.cookie("jkjav_csrf");
    again[0].1 = csrf.as_str();
    let second = resend.post("/book", &again).await;

    assert_eq!(second.status, StatusCode::SEE_OTHER, "{}", second.body);
    assert_eq!(second.location(), "/booked");
    let shown = resend.get("/booked").await.body;
    let marker = "class=\"reference\" data-focus tabindex=\"-1\">";
    let at = |body: &str| body[body.find(marker).unwrap() + marker.len()..][..11].to_owned();
    assert_eq!(at(&shown), at(&reference));
}

#[tokio::test]
async fn find_my_booking_works_on_the_api_and_the_web_with_the_phone_in_any_form() {
    let app = TestApp::spawn(catalogue(5), None).await;
    let (_, booked) = json_of(
        app.post_json("/api/v1/bookings", owner_booking("09:00-12:00"))
            .await,
    )
    .await;
    let reference = booked["reference"].as_str().unwrap().to_owned();

    for phone in ["0174829316", "+60 17-482 9316", "60174829316"] {
        let (status, found) = json_of(
            app.post_json(
                "/api/v1/bookings/find",
                json!({"idNumber": "880514145873", "phone": phone}),
            )
            .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{phone}: {found}");
        assert_eq!(found["reference"], reference.as_str());
    }
    let wrong = app
        .post_json(
            "/api/v1/bookings/find",
            json!({"idNumber": OWNER_ID, "phone": "0174829317"}),
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::NOT_FOUND);
    let invalid = app
        .post_json(
            "/api/v1/bookings/find",
            json!({"idNumber": OWNER_ID, "phone": "99"}),
        )
        .await;
    let (status, problem) = json_of(invalid).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "phone");

    let mut browser = Browser::new(app).await;
    let csrf = browser.get("/find").await.csrf();
    let no_match = browser
        .post(
            "/find",
            &[
                ("csrf", &csrf),
                ("id_number", OWNER_ID),
                ("phone", "0174829317"),
            ],
        )
        .await;
    assert_eq!(no_match.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_match.body.contains("class=\"error-summary\""));
    let found = browser
        .post(
            "/find",
            &[
                ("csrf", &csrf),
                ("id_number", OWNER_ID),
                ("phone", OWNER_PHONE),
            ],
        )
        .await;
    assert_eq!(found.status, StatusCode::SEE_OTHER);
    assert_eq!(found.location(), "/my-booking");
    assert!(browser.get("/my-booking").await.body.contains(&reference));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_whose_answer_ran_out_of_time_says_how_to_find_out_and_is_then_found() {
    // Arrange: the store takes the booking but answers after the request's time is up.
    let store = ProbeStore::new();
    let app = TestApp::spawn_with_store(catalogue(5), store.clone(), |config| {
        config.request_timeout_ms = 200;
    })
    .await;
    store.hold_books.send_replace(true);

    // Act
    let lost = app
        .post_json("/api/v1/bookings", owner_booking("09:00-12:00"))
        .await;

    // Assert: 503, and how to find out.
    assert_eq!(lost.status(), StatusCode::SERVICE_UNAVAILABLE);
    let problem: Value = lost.json().await.unwrap();
    assert_eq!(problem["findBooking"], "/api/v1/bookings/find", "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("may or may not"),
        "{problem}"
    );
    let seed = app
        .post_json(
            "/booking",
            json!({"address": "Kuala Lumpur", "date": "20300101", "firstName": "Ali", "lastName": "",
                   "location": "TEST", "mysejahteraId": mykad(7), "phoneNumber": "0123456789"}),
        )
        .await;
    assert_eq!(seed.status(), StatusCode::SERVICE_UNAVAILABLE);
    let seed = seed.text().await.unwrap();
    assert!(seed.contains("/api/v1/bookings/find"), "{seed}");

    let mut browser = Browser::new(TestApp {
        addr: app.addr,
        admin: app.admin,
        client: app.client.clone(),
    })
    .await;
    let csrf = browser
        .get("/book?centre=TEST&date=2030-01-01&window=13:00-17:00")
        .await
        .csrf();
    let page = browser
        .post(
            "/book",
            &[
                ("csrf", csrf.as_str()),
                ("centre", "TEST"),
                ("slot", "2030-01-01_1300-1700"),
                ("id_number", &mykad(8)),
                ("name", "Ali"),
                ("phone", "0123456789"),
                ("address", "Jalan 1"),
                ("postcode", ""),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        page.body.contains("href=\"/find\""),
        "the 503 page after a POST links to /find"
    );

    // The store step finishes on its own; the person finds the booking.
    store.hold_books.send_replace(false);
    until("the held bookings to be stored", || {
        store.books_entered.load(Ordering::SeqCst) >= 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let find = json!({"idNumber": OWNER_ID, "phone": OWNER_PHONE});
    let found = app.post_json("/api/v1/bookings/find", find).await;
    assert_eq!(found.status(), StatusCode::OK);
}

#[tokio::test]
async fn with_redis_and_no_cookie_key_the_server_refuses_to_start_and_names_the_variable() {
    let mut config = ServeConfig::defaults();
    config.host = [127, 0, 0, 1].into();
    config.port = 0;
    config.redis_url = Some("redis://127.0.0.1:1".into());
    config.cookie_key = None;

    let refused = Application::build_with(config, catalogue(1)).await;

    let Err(error) = refused else {
        panic!("started without JKJAV_COOKIE_KEY");
    };
    assert!(matches!(error, BuildError::CookieKeyRequired), "{error}");
    assert!(error.to_string().contains("JKJAV_COOKIE_KEY"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_page_served_by_another_instance_still_shows_the_booking() {
    let redis = RedisServer::start();
    let cat = catalogue(5);
    let first = TestApp::spawn(cat.clone(), Some(redis.url())).await;
    let second = TestApp::spawn(cat, Some(redis.url())).await;
    let mut browser = Browser::new(first).await;
    let csrf = browser
        .get("/book?centre=TEST&date=2030-01-01&window=09:00-12:00")
        .await
        .csrf();
    let form = [
        ("csrf", csrf.as_str()),
        ("centre", "TEST"),
        ("slot", "2030-01-01_0900-1200"),
        ("id_number", OWNER_ID),
        ("name", "Siti"),
        ("phone", OWNER_PHONE),
        ("address", "Jalan 1"),
        ("postcode", ""),
    ];
    assert_eq!(
        browser.post("/book", &form).await.status,
        StatusCode::SEE_OTHER
    );

    // The load balancer sends the redirect's GET to the other instance.
    browser.app = second;
    let shown = browser.get("/booked").await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.contains("class=\"reference\""));
}
