//! Other sites and the proxies in between: no page of another site can book or cancel through
//! its visitors' browsers; forwarded headers count only from trusted proxies; an IPv6 client is
//! one client per /64; over https cookies are `__Host-` and answers carry HSTS; and a redirect
//! never leaves this site.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Browser, TestApp, booking_body, catalogue, mykad};
use crate::probe::seed_body;

const SLOT_PAGE: &str = "/book?centre=TEST&date=2030-01-01&window=09:00-12:00";

/// What a page of another site can make a browser send without asking this server first.
const SIMPLE_CONTENT_TYPES: [Option<&str>; 4] = [
    Some("text/plain"),
    Some("application/x-www-form-urlencoded"),
    Some("multipart/form-data; boundary=x"),
    None,
];

#[tokio::test]
async fn the_seed_booking_takes_only_json_so_no_page_of_another_site_can_book_with_it() {
    // Arrange
    let app = TestApp::spawn(catalogue(5), None).await;
    let body = seed_body(1).to_string();

    for content_type in SIMPLE_CONTENT_TYPES {
        // Act
        let mut request = app.client.post(app.url("/booking")).body(body.clone());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let refused = request.send().await.unwrap();

        // Assert: 415 in the seed's shape.
        assert_eq!(
            refused.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}"
        );
        let failure: Value = refused.json().await.unwrap();
        assert_eq!(failure["status"], "Failed");
        assert!(failure["message"].as_str().unwrap().contains("JSON"));
    }
    // Nothing was booked: the seed's own clients (which send JSON) book this person now.
    let booked = app.post_json("/booking", seed_body(1)).await;
    assert_eq!(booked.status(), StatusCode::OK);
}

#[tokio::test]
async fn every_write_a_browser_says_another_site_sent_is_refused_with_403() {
    // Arrange
    let mut browser = Browser::new(TestApp::spawn(catalogue(5), None).await).await;
    let csrf = browser.get(SLOT_PAGE).await.csrf();
    let form = [
        ("csrf", csrf.as_str()),
        ("centre", "TEST"),
        ("slot", "2030-01-01_0900-1200"),
        ("id_number", "900127015527"),
    ];

    // Act + assert: the JSON API and the seed, as problem documents.
    for (path, body) in [
        (
            "/api/v1/bookings",
            booking_body(1, "TEST", "2030-01-01", "09:00-12:00"),
        ),
        ("/booking", seed_body(10)),
        (
            "/api/v1/bookings/cancel",
            json!({"reference": "7KQ4M-PX2RD", "idNumber": mykad(1)}),
        ),
    ] {
        let refused = browser
            .app
            .client
            .post(browser.app.url(path))
            .header("sec-fetch-site", "cross-site")
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
        let problem: Value = refused.json().await.unwrap();
        assert_eq!(problem["type"], "/problems/cross-site-request", "{path}");
    }
    // The web form, as a page, even with this browser's own cookie and token.
    for path in ["/book", "/check", "/my-booking/cancel"] {
        let request = browser
            .client()
            .post(browser.app.url(path))
            .header("sec-fetch-site", "cross-site")
            .form(&form);
        let page = browser.send(request).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(
            page.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
    // Reading from another site's link is fine.
    let linked = browser
        .client()
        .get(browser.app.url(SLOT_PAGE))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(linked.status(), StatusCode::OK);

    // Nothing was booked, and requests from this site (or with no such header) go through.
    for (n, site) in [Some("same-origin"), Some("same-site"), Some("none"), None]
        .into_iter()
        .enumerate()
    {
        let mut request = browser
            .app
            .client
            .post(browser.app.url("/api/v1/bookings"))
            .json(&booking_body(n as u32, "TEST", "2030-01-01", "09:00-12:00"));
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        let booked = request.send().await.unwrap();
        assert_eq!(booked.status(), StatusCode::CREATED, "{site:?}");
    }
    assert_eq!(
        browser
            .app
            .post_json("/booking", seed_body(10))
            .await
            .status(),
        StatusCode::OK
    );
    let page = browser.post("/book", &form).await;
    assert_ne!(
        page.status,
        StatusCode::FORBIDDEN,
        "a same-site form passes"
    );
}

/// Books `n` as the client that `forwarded_for` names (sent by the test, which is the proxy or
/// not, as the app is set up).
async fn book_as(app: &TestApp, n: u32, forwarded_for: &str) -> StatusCode {
    app.client
        .post(app.url("/api/v1/bookings"))
        .header("x-forwarded-for", forwarded_for)
        .json(&booking_body(n, "TEST", "2030-01-01", "09:00-12:00"))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn forwarded_headers_count_only_from_trusted_proxies() {
    // Arrange: one booking POST per client a minute; the test's address is no proxy.
    let app = TestApp::spawn_with(catalogue(50), |config| {
        config.booking_posts_per_ip_per_min = 1;
        config.trusted_proxies = "10.0.0.0/8".parse().unwrap();
    })
    .await;

    // Act + assert: a forged X-Forwarded-For does not make the test another client...
    assert_eq!(book_as(&app, 1, "203.0.113.1").await, StatusCode::CREATED);
    assert_eq!(
        book_as(&app, 2, "203.0.113.2").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // ...and a forged X-Forwarded-Proto does not make the page https.
    let page = app
        .client
        .get(app.url("/"))
        .header("accept", "text/html")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(!page.headers().contains_key("strict-transport-security"));
    let cookie = page.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("jkjav_csrf=") && !cookie.contains("Secure"));
}

#[tokio::test]
async fn behind_a_trusted_proxy_clients_are_told_apart_and_an_ipv6_client_is_its_64() {
    // Arrange: the test's address is the trusted proxy.
    let app = TestApp::spawn_with(catalogue(50), |config| {
        config.booking_posts_per_ip_per_min = 1;
        config.trusted_proxies = "127.0.0.0/8".parse().unwrap();
    })
    .await;

    // Act + assert: what the client wrote left of the proxy's entry does not make it another.
    assert_eq!(
        book_as(&app, 1, "6.6.6.6, 203.0.113.1").await,
        StatusCode::CREATED
    );
    assert_eq!(
        book_as(&app, 2, "7.7.7.7, 203.0.113.1").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(book_as(&app, 3, "203.0.113.2").await, StatusCode::CREATED);
    // Every address of one /64 is one client; the next /64 is another.
    assert_eq!(
        book_as(&app, 4, "2001:db8:1:2::1").await,
        StatusCode::CREATED
    );
    assert_eq!(
        book_as(&app, 5, "2001:db8:1:2:ffff:ffff:ffff:ffff").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        book_as(&app, 6, "2001:db8:1:3::1").await,
        StatusCode::CREATED
    );

    // The proxy says the client used https: host-only secure cookies, and HSTS.
    let page = app
        .client
        .get(app.url("/"))
        .header("accept", "text/html")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let cookie =
        cookie::Cookie::parse(page.headers()["set-cookie"].to_str().unwrap().to_owned()).unwrap();
    assert_eq!(cookie.name(), "__Host-jkjav_csrf");
    assert_eq!(cookie.secure(), Some(true));
}

#[tokio::test]
async fn with_secure_cookies_on_cookies_are_host_only_and_every_answer_sends_hsts() {
    // Arrange: TLS ends in front of this server.
    let app = TestApp::spawn_with(catalogue(5), |config| {
        config.secure_cookies = true;
        config.hsts_max_age_secs = 600;
    })
    .await;
    let mut browser = Browser::new(app).await;

    // Act
    let form = browser.get("/check").await;

    // Assert: every cookie is `__Host-`: Secure, Path=/, no Domain.
    assert_eq!(form.headers["strict-transport-security"], "max-age=600");
    let cookies: Vec<_> = form
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| cookie::Cookie::parse(v.to_str().unwrap().to_owned()).unwrap())
        .collect();
    assert!(!cookies.is_empty());
    for cookie in &cookies {
        assert!(cookie.name().starts_with("__Host-"), "{cookie}");
        assert_eq!(cookie.secure(), Some(true), "{cookie}");
        assert_eq!(cookie.path(), Some("/"), "{cookie}");
        assert_eq!(cookie.domain(), None, "{cookie}");
    }
    // The prefixed token cookie is read back: the form is not refused as forged.
    let csrf = form.csrf();
    assert_eq!(browser.cookie("__Host-jkjav_csrf"), csrf);
    let sent = browser
        .post(
            "/check",
            &[
                ("csrf", csrf.as_str()),
                ("reference", "7KQ4M-PX2RD"),
                ("id_number", "900127015527"),
            ],
        )
        .await;
    assert_ne!(sent.status, StatusCode::FORBIDDEN);
    // Answers to API clients carry it too; the seed's endpoints alike.
    let api = browser.app.get("/api/v1/states").await;
    assert_eq!(api.headers()["strict-transport-security"], "max-age=600");
    let switched = browser.get("/lang/en?back=/").await;
    assert!(
        switched.headers["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("__Host-lang=en;")
    );
}

async fn browser() -> Browser {
    Browser::new(TestApp::spawn(catalogue(5), None).await).await
}

#[tokio::test]
async fn the_language_switch_sends_browsers_back_only_to_a_path_on_this_site() {
    // Arrange
    let mut browser = browser().await;
    // Each of these, followed by a browser, would leave the site: browsers drop tabs and line
    // breaks from a URL, read `\` as `/`, and `//host` as another host.
    let away = [
        "/%09/evil.example",
        "/%0A/evil.example",
        "/%0D/evil.example",
        "%09//evil.example",
        "//evil.example",
        "///evil.example",
        "/%5Cevil.example",
        "%5C%5Cevil.example",
        "/%5C/evil.example",
        "https://evil.example",
        "https:evil.example",
        "javascript:alert(1)",
        "/%20/evil.example",
        "%20//evil.example",
        "evil.example",
    ];

    for back in away {
        // Act
        let page = browser.get(&format!("/lang/en?back={back}")).await;

        // Assert
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{back}");
        assert_eq!(page.location(), "/", "back={back} must not leave the site");
    }
    let home = browser.get("/lang/ms?back=/centres/TEST%3Fx%3D1").await;
    assert_eq!(home.location(), "/centres/TEST?x=1", "a path here is kept");
}
