//! The citizen pages over HTTP: full pages and htmx partials, post/redirect/get, refused forms,
//! CSRF, no enumeration, languages, security headers and the friendly error pages.

use reqwest::StatusCode;

use crate::harness::{Browser, TestApp, catalogue, free_port, mykad};

async fn browser() -> Browser {
    Browser::new(TestApp::spawn(catalogue(2), None).await).await
}

const SLOT_PAGE: &str = "/book?centre=TEST&date=2030-01-01&window=09:00-12:00";

fn booking_form<'a>(csrf: &'a str, id: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("centre", "TEST"),
        ("slot", "2030-01-01_0900-1200"),
        ("id_number", id),
        ("name", "Siti Nur Aisyah"),
        ("phone", "012-345 6789"),
        ("address", "Jalan Test, Shah Alam"),
        ("postcode", "40200"),
    ]
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[tokio::test]
async fn every_page_is_a_whole_document_and_with_hx_request_only_its_partial() {
    let mut browser = browser().await;
    for path in [
        "/",
        "/states/selangor",
        "/centres/TEST",
        SLOT_PAGE,
        "/check",
    ] {
        let full = browser.get(path).await;
        assert_eq!(full.status, StatusCode::OK, "{path}");
        assert!(full.body.starts_with("<!doctype html>"), "{path}");
        assert!(full.body.contains("<html lang=\"ms\">"), "{path}");
        assert_eq!(count(&full.body, "<h1"), 1, "{path} has one h1");
        assert!(
            full.body.contains("href=\"#main\""),
            "{path} has a skip link"
        );
        assert!(full.body.contains("aria-live=\"polite\""), "{path}");

        let partial = browser.get_htmx(path).await;
        assert_eq!(partial.status, StatusCode::OK, "{path}");
        assert!(!partial.body.contains("<html"), "{path} partial");
        assert!(!partial.body.contains("<head>"), "{path} partial");
        assert_eq!(count(&partial.body, "<h1"), 1, "{path} partial");
        assert!(
            partial.body.starts_with("<title>"),
            "{path} partial carries its title"
        );
        assert!(partial.body.contains("<main id=\"main\""), "{path} partial");
    }
}

#[tokio::test]
async fn the_whole_journey_works_with_plain_forms_and_redirects() {
    let mut browser = browser().await;
    let form = browser.get(SLOT_PAGE).await;
    assert!(
        form.body
            .contains("value=\"2030-01-01_0900-1200\" selected")
    );
    let csrf = form.csrf();

    let booked = browser.post("/book", &booking_form(&csrf, &mykad(1))).await;
    assert_eq!(booked.status, StatusCode::SEE_OTHER);
    assert_eq!(booked.location(), "/booked");

    let confirmation = browser.get("/booked").await;
    assert_eq!(confirmation.status, StatusCode::OK);
    assert!(confirmation.body.contains("class=\"reference\""));
    assert!(confirmation.body.contains("<svg role=\"img\""), "a QR code");
    assert!(confirmation.body.contains("Selasa, 1 Januari 2030"));
    assert!(confirmation.body.contains("09:00–12:00"));
    assert!(
        !confirmation.body.contains(&mykad(1)),
        "the identity number is masked"
    );
    let htmx_confirmation = browser.get_htmx("/booked").await;
    assert!(!htmx_confirmation.body.contains("<html"));
    assert!(htmx_confirmation.body.contains("class=\"reference\""));

    let mine = browser.get("/my-booking").await;
    assert_eq!(mine.status, StatusCode::OK);
    assert!(mine.body.contains("Disahkan"));
    assert!(mine.body.contains("href=\"/my-booking/cancel\""));

    let confirm = browser.get("/my-booking/cancel").await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert_eq!(count(&confirm.body, "<h1"), 1);
    assert!(
        browser
            .get_htmx("/my-booking/cancel")
            .await
            .body
            .starts_with("<title>")
    );
    let cancelled = browser
        .post("/my-booking/cancel", &[("csrf", &confirm.csrf())])
        .await;
    assert_eq!(cancelled.status, StatusCode::SEE_OTHER);
    assert_eq!(cancelled.location(), "/my-booking");
    let after = browser.get("/my-booking").await;
    assert!(after.body.contains("Dibatalkan"));
    assert!(!after.body.contains("href=\"/my-booking/cancel\""));

    // The place came back: the same person may book again.
    let again = browser.post("/book", &booking_form(&csrf, &mykad(1))).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_booking_made_with_htmx_is_also_answered_with_a_redirect_to_its_confirmation() {
    let mut browser = browser().await;
    let csrf = browser.get(SLOT_PAGE).await.csrf();
    let booked = browser
        .post_htmx("/book", &booking_form(&csrf, &mykad(2)))
        .await;
    assert_eq!(booked.status, StatusCode::SEE_OTHER);
    assert_eq!(booked.location(), "/booked");
}

#[tokio::test]
async fn a_refused_booking_is_422_with_the_values_kept_and_each_error_next_to_its_field() {
    let mut browser = browser().await;
    let csrf = browser.get(SLOT_PAGE).await.csrf();
    let mut form = booking_form(&csrf, "12345");
    form.retain(|(k, _)| *k != "name");
    form.push(("name", ""));
    form.retain(|(k, _)| *k != "phone");
    form.push(("phone", "0321234567"));

    let refused = browser.post("/book", &form).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("<html"),
        "a whole page for a plain browser"
    );
    let summary = refused.error_summary().to_owned();
    for field in ["id_number", "name", "phone"] {
        assert!(summary.contains(&format!("href=\"#{field}\"")), "{summary}");
        assert!(
            refused.body.contains(&format!("id=\"{field}-error\"")),
            "{field}'s error sits next to it"
        );
    }
    assert!(refused.body.contains("aria-invalid=\"true\""));
    assert!(
        refused
            .body
            .contains("aria-describedby=\"id_number-error id_number-hint\"")
    );
    assert!(refused.body.contains("value=\"12345\""), "values kept");
    assert!(refused.body.contains("value=\"0321234567\""), "values kept");
    assert!(
        refused.body.contains("Jalan Test, Shah Alam</textarea>"),
        "values kept"
    );
    assert!(
        !refused.body.contains("id=\"address-error\""),
        "valid fields have no error"
    );
    assert!(
        refused
            .body
            .contains("value=\"2030-01-01_0900-1200\" selected")
    );

    let partial = browser.post_htmx("/book", &form).await;
    assert_eq!(partial.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!partial.body.contains("<html"));
    assert!(partial.body.contains("class=\"error-summary\""));
    assert_eq!(partial.headers["hx-push-url"], "false");
}

#[tokio::test]
async fn inline_validation_answers_one_field_with_its_error() {
    let mut browser = browser().await;
    let csrf = browser.get(SLOT_PAGE).await.csrf();
    let id = mykad(3);
    let mut form = booking_form(&csrf, &id);
    form.retain(|(k, _)| *k != "phone");
    form.push(("phone", "123"));
    let field = browser.post_htmx("/book/validate?field=phone", &form).await;
    assert_eq!(field.status, StatusCode::OK);
    assert!(
        field
            .body
            .trim_start()
            .starts_with("<div class=\"field field-error\" id=\"field-phone\"")
    );
    assert!(field.body.contains("id=\"phone-error\""));
    let fine = browser
        .post_htmx("/book/validate?field=id_number", &form)
        .await;
    assert!(!fine.body.contains("error-message"));
    form.retain(|(k, _)| *k != "csrf");
    let forged = browser.post_htmx("/book/validate?field=phone", &form).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_form_without_its_token_or_with_a_wrong_one_is_refused_with_403() {
    let mut browser = browser().await;
    // No cookie at all: the first request of a forged cross-site post.
    let forged = browser
        .post("/book", &booking_form(&"ab".repeat(32), &mykad(4)))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.body.contains("<h1>"));

    let csrf = browser.get(SLOT_PAGE).await.csrf();
    let wrong = "0".repeat(64);
    for (path, form) in [
        ("/book", booking_form(&wrong, &mykad(4))),
        ("/book", booking_form("", &mykad(4))),
        (
            "/check",
            vec![
                ("csrf", wrong.as_str()),
                ("reference", "7KQ4M-PX2RD"),
                ("id_number", "900127015527"),
            ],
        ),
        ("/my-booking/cancel", vec![("csrf", wrong.as_str())]),
    ] {
        let refused = browser.post(path, &form).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}");
    }
    // Nothing was booked by any of those.
    let booked = browser.post("/book", &booking_form(&csrf, &mykad(4))).await;
    assert_eq!(booked.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_lookup_answers_the_same_for_a_wrong_reference_and_a_wrong_identity_number() {
    let mut browser = browser().await;
    let csrf = browser.get(SLOT_PAGE).await.csrf();
    browser.post("/book", &booking_form(&csrf, &mykad(5))).await;
    let confirmation = browser.get("/booked").await.body;
    let marker = "class=\"reference\" data-focus tabindex=\"-1\">";
    let start = confirmation.find(marker).unwrap() + marker.len();
    let reference = confirmation[start..start + 11].to_owned();

    let mut other = browser_with_same_app(&browser).await;
    let csrf = other.get("/check").await.csrf();
    let wrong_reference = other
        .post(
            "/check",
            &[
                ("csrf", &csrf),
                ("reference", "7KQ4M-PX2RD"),
                ("id_number", &mykad(5)),
            ],
        )
        .await;
    let wrong_id = other
        .post(
            "/check",
            &[
                ("csrf", &csrf),
                ("reference", &reference),
                ("id_number", &mykad(6)),
            ],
        )
        .await;
    assert_eq!(wrong_reference.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong_id.status, wrong_reference.status);
    assert_eq!(wrong_id.error_summary(), wrong_reference.error_summary());

    let right = other
        .post(
            "/check",
            &[
                ("csrf", &csrf),
                ("reference", &reference),
                ("id_number", &mykad(5)),
            ],
        )
        .await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    assert_eq!(right.location(), "/my-booking");
    assert!(other.get("/my-booking").await.body.contains(&reference));
}

/// A second browser (its own cookies) on the same server.
async fn browser_with_same_app(browser: &Browser) -> Browser {
    browser.another().await
}

#[tokio::test]
async fn the_language_comes_from_the_cookie_then_accept_language_then_malay() {
    let app = TestApp::spawn(catalogue(2), None).await;
    let get = |headers: Vec<(&'static str, &'static str)>| {
        let mut request = app.client.get(app.url("/"));
        for (k, v) in headers {
            request = request.header(k, v);
        }
        async move { request.send().await.unwrap().text().await.unwrap() }
    };
    let default = get(vec![]).await;
    assert!(default.contains("<html lang=\"ms\">") && default.contains("Pilih negeri"));
    let english = get(vec![("accept-language", "en-GB,en;q=0.9,ms;q=0.5")]).await;
    assert!(english.contains("<html lang=\"en\">") && english.contains("Choose a state"));
    let cookie = get(vec![("accept-language", "en"), ("cookie", "lang=ms")]).await;
    assert!(cookie.contains("<html lang=\"ms\">"));

    let mut browser = Browser::new(app).await;
    let switched = browser.get("/lang/en?back=/centres/TEST").await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER);
    assert_eq!(switched.location(), "/centres/TEST");
    let set = switched
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("lang="))
        .unwrap();
    assert!(
        set.starts_with("lang=en;") && set.contains("Path=/"),
        "{set}"
    );
    let centre = browser.get("/centres/TEST").await;
    assert!(centre.body.contains("Tuesday, 1 January 2030"));
    assert!(centre.body.contains("2 places left"));
    assert!(centre.body.contains("href=\"/lang/ms?back=/centres/TEST\""));

    let elsewhere = browser.get("/lang/ms?back=//evil.example/").await;
    assert_eq!(elsewhere.location(), "/", "never redirects off the site");
    let header_injection = browser.get("/lang/ms?back=/%0D%0ASet-Cookie:%20x=1").await;
    assert_eq!(header_injection.status, StatusCode::SEE_OTHER);
    assert_eq!(header_injection.location(), "/");
}

#[tokio::test]
async fn pages_carry_a_strict_content_security_policy_and_the_docs_still_work() {
    let mut browser = browser().await;
    let home = browser.get("/").await;
    let csp = home.headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(home.headers["referrer-policy"], "no-referrer");
    assert_eq!(home.headers["x-content-type-options"], "nosniff");
    assert!(!home.body.contains("<script>") && !home.body.contains("style="));
    let cookie = home.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));

    // X-Forwarded-Proto is believed from a trusted proxy only (see `cross_site`): from anyone
    // else it changes nothing.
    let forged_tls = browser
        .app
        .client
        .get(browser.app.url("/check"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(
        !forged_tls.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Secure")
    );
    assert!(
        !forged_tls
            .headers()
            .contains_key("strict-transport-security")
    );

    assert_eq!(browser.get("/docs").await.status, StatusCode::OK);
    let htmx = browser.get("/static/vendor/htmx-2.0.11.min.js").await;
    assert_eq!(htmx.status, StatusCode::OK);
    assert_eq!(
        htmx.headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(browser.get("/static/app.css").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_sold_out_slot_is_shown_full_and_booking_it_gets_the_sold_out_page() {
    let mut browser = Browser::new(TestApp::spawn(catalogue(1), None).await).await;
    let csrf = browser.get(SLOT_PAGE).await.csrf();
    // A second person has the form open before the last place goes.
    let mut rival = browser_with_same_app(&browser).await;
    let rival_csrf = rival.get(SLOT_PAGE).await.csrf();
    assert_eq!(
        browser
            .post("/book", &booking_form(&csrf, &mykad(7)))
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    // Availability is a snapshot at most 50 ms old in tests.
    tokio::time::sleep(std::time::Duration::from_millis(120)).await;

    let late = rival
        .post("/book", &booking_form(&rival_csrf, &mykad(8)))
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert!(late.body.contains("Slot ini sudah penuh"));
    assert!(late.body.contains("href=\"/centres/TEST\""));

    let centre = rival.get("/centres/TEST").await;
    assert!(centre.body.contains("slot slot-full"));
    assert!(
        !centre.body.contains("date=2030-01-01&#38;window=0900-1200"),
        "no link to a full slot"
    );
    let form = rival.get(SLOT_PAGE).await;
    assert!(form.body.contains("Slot ini sudah penuh"));
}

#[tokio::test]
async fn a_second_booking_by_the_same_person_is_shown_on_the_form() {
    let mut browser = browser().await;
    let csrf = browser.get(SLOT_PAGE).await.csrf();
    browser.post("/book", &booking_form(&csrf, &mykad(9))).await;
    let again = browser.post("/book", &booking_form(&csrf, &mykad(9))).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.error_summary().contains("href=\"#id_number\""));
}

#[tokio::test]
async fn unknown_addresses_are_a_friendly_page_for_browsers_and_problem_json_for_the_api() {
    let mut browser = browser().await;
    for path in [
        "/nowhere",
        "/states/atlantis",
        "/centres/NOPE",
        "/book?centre=TEST&date=2031-01-01&window=0900-1200",
    ] {
        let page = browser
            .send(
                browser
                    .client()
                    .get(browser.app.url(path))
                    .header("accept", "text/html"),
            )
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
        assert!(page.body.contains("Halaman tidak dijumpai"), "{path}");
    }
    let api = browser.app.get("/nowhere").await;
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    assert_eq!(api.headers()["content-type"], "application/problem+json");
}

#[tokio::test]
async fn before_opening_the_home_page_counts_down_and_booking_is_refused() {
    let toml = r#"
        [campaign]
        id = "web-not-open"
        name = "Soon"
        opens_at = "2099-05-26T12:00:00+08:00"

        [[centre]]
        code = "TEST"
        name = "Test Centre"
        state = "selangor"
        dates = { from = "2030-01-01", to = "2030-01-01" }
        windows = [{ time = "09:00-12:00", capacity = 5 }]
    "#;
    let app = TestApp::spawn(jkjav::catalogue::Catalogue::from_toml(toml).unwrap(), None).await;
    let mut browser = Browser::new(app).await;
    let home = browser.get("/").await;
    assert!(home.body.contains("id=\"countdown\""));
    assert!(home.body.contains("datetime=\"2099-05-26T12:00:00+08:00\""));
    assert!(home.body.contains("Selasa, 26 Mei 2099, 12:00"));
    let centre = browser.get("/centres/TEST").await;
    assert!(
        !centre.body.contains("href=\"/book?"),
        "nothing to book yet"
    );
    let csrf = browser.cookie("jkjav_csrf");
    let refused = browser
        .post("/book", &booking_form(&csrf, &mykad(10)))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.body.contains("Tempahan belum dibuka"));
}

#[tokio::test]
async fn when_the_store_is_down_pages_still_render_and_a_booking_gets_a_friendly_503() {
    let dead_redis = format!("redis://127.0.0.1:{}", free_port());
    let mut browser = Browser::new(TestApp::spawn(catalogue(2), Some(dead_redis)).await).await;
    let centre = browser.get("/centres/TEST").await;
    assert_eq!(centre.status, StatusCode::OK);
    assert!(centre.body.contains("kekosongan tidak diketahui"));
    assert!(centre.body.contains("role=\"status\""));
    let csrf = browser.get(SLOT_PAGE).await.csrf();
    let refused = browser
        .post("/book", &booking_form(&csrf, &mykad(11)))
        .await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers.contains_key("retry-after"));
    assert!(refused.body.contains("Sistem terlalu sibuk sekarang"));
}

#[tokio::test]
async fn a_request_past_its_time_limit_gets_a_friendly_503_page_or_a_problem_document() {
    let dead_redis = format!("redis://127.0.0.1:{}", free_port());
    let app = TestApp::spawn_with(catalogue(2), |config| {
        config.redis_url = Some(dead_redis);
        config.redis_timeout_ms = 2_000;
        config.request_timeout_ms = 100;
    })
    .await;
    let page = app
        .client
        .get(app.url("/centres/TEST"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.headers().contains_key("retry-after"));
    assert!(page.headers().contains_key("content-security-policy"));
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("Sistem terlalu sibuk sekarang")
    );

    let api = app.get("/api/v1/centres/TEST/availability").await;
    assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(api.headers()["content-type"], "application/problem+json");

    // "Try again" after a GET is the same address, query included.
    let mut browser = Browser::new(app).await;
    let page = browser.get(SLOT_PAGE).await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        page.body.contains(
            "href=\"/book?centre=TEST&#38;date=2030-01-01&#38;window=09:00-12:00\">Cuba lagi"
        ),
        "{}",
        page.body
    );
    // After a POST there is nothing to try again at that address (GET /book without a slot is
    // a 404): the way on is to check whether the booking was made.
    let csrf = browser.get("/check").await.csrf();
    let page = browser.post("/book", &booking_form(&csrf, &mykad(9))).await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!page.body.contains("Cuba lagi"), "{}", page.body);
    assert!(!page.body.contains("href=\"/book\""), "{}", page.body);
    assert!(page.body.contains("href=\"/check\""));
}

#[tokio::test]
async fn after_closing_the_home_page_says_so_and_booking_is_refused() {
    let toml = r#"
        [campaign]
        id = "web-closed"
        name = "Over"
        opens_at = "2021-05-26T12:00:00+08:00"
        closes_at = "2021-06-14T23:59:59+08:00"

        [[centre]]
        code = "TEST"
        name = "Test Centre"
        state = "selangor"
        dates = { from = "2030-01-01", to = "2030-01-01" }
        windows = [{ time = "09:00-12:00", capacity = 5 }]
    "#;
    let app = TestApp::spawn(jkjav::catalogue::Catalogue::from_toml(toml).unwrap(), None).await;
    let mut browser = Browser::new(app).await;
    let home = browser.get("/").await;
    assert!(home.body.contains("Tempahan sudah ditutup"));
    assert!(home.body.contains("Isnin, 14 Jun 2021, 23:59"));
    assert!(!home.body.contains("id=\"countdown\""));
    let form = browser.get(SLOT_PAGE).await;
    assert!(form.body.contains("<h1>Tempahan sudah ditutup</h1>"));
    let csrf = browser.cookie("jkjav_csrf");
    let refused = browser
        .post("/book", &booking_form(&csrf, &mykad(12)))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.body.contains("<h1>Tempahan sudah ditutup</h1>"));
}

#[tokio::test]
async fn booking_forms_past_the_rate_limits_get_a_friendly_429_with_retry_after() {
    let app = TestApp::spawn_with(catalogue(50), |config| {
        config.booking_posts_per_ip_per_min = 2;
        config.booking_attempts_per_id_per_min = 1;
    })
    .await;
    let mut browser = Browser::new(app).await;
    let csrf = browser.get(SLOT_PAGE).await.csrf();

    // The identity number's one attempt per minute is spent; its next is limited.
    assert_eq!(
        browser
            .post("/book", &booking_form(&csrf, &mykad(20)))
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let same_person = browser
        .post("/book", &booking_form(&csrf, &mykad(20)))
        .await;
    assert_eq!(same_person.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(same_person.headers.contains_key("retry-after"));
    assert!(same_person.body.contains("Terlalu banyak cubaan"));
    assert_eq!(count(&same_person.body, "<h1"), 1);

    // The address has used its two booking POSTs: a third, by anyone, is limited.
    let by_ip = browser
        .post("/book", &booking_form(&csrf, &mykad(21)))
        .await;
    assert_eq!(by_ip.status, StatusCode::TOO_MANY_REQUESTS);
    let secs: u64 = by_ip.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&secs), "Retry-After {secs}");
    assert!(by_ip.body.contains("Terlalu banyak cubaan"));
}
