//! The web pages called in process through the router (`oneshot`), without a socket: full
//! pages and htmx partials, post/redirect/get, a refused form, and CSRF.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use jkjav::app::Application;
use jkjav::config::ServeConfig;
use tower::ServiceExt;

use crate::harness::{catalogue, mykad};

const SLOT_PAGE: &str = "/book?centre=TEST&date=2030-01-01&window=09:00-12:00";

async fn router() -> Router {
    let mut config = ServeConfig::defaults();
    config.host = [127, 0, 0, 1].into();
    config.port = 0;
    config.booking_posts_per_ip_per_min = 0;
    Application::build_with(config, catalogue(5))
        .await
        .unwrap()
        .router()
}

async fn call(router: &Router, request: Request<Body>) -> (Response<Body>, String) {
    let mut response = router.clone().oneshot(request).await.unwrap();
    let bytes = response.body_mut().collect().await.unwrap().to_bytes();
    (response, String::from_utf8(bytes.to_vec()).unwrap())
}

fn get(path: &str) -> axum::http::request::Builder {
    Request::get(path).header(header::ACCEPT, "text/html")
}

/// The CSRF cookie a page set and the token its form carries.
fn csrf(response: &Response<Body>, body: &str) -> (String, String) {
    let cookie = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("jkjav_csrf="))
        .expect("the page sets the CSRF cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let marker = "name=\"csrf\" value=\"";
    let start = body.find(marker).expect("a form token") + marker.len();
    (cookie, body[start..start + 64].to_owned())
}

fn form(token: &str, id: &str, name: &str) -> String {
    let fields = [
        ("csrf", token),
        ("centre", "TEST"),
        ("slot", "2030-01-01_0900-1200"),
        ("id_number", id),
        ("name", name),
        ("phone", "012-345 6789"),
        ("address", "Jalan Test, Shah Alam"),
        ("postcode", "40200"),
    ];
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace(' ', "+").replace(',', "%2C")))
        .collect::<Vec<_>>()
        .join("&")
}

fn post(path: &str, cookie: &str, body: String) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .header(header::COOKIE, cookie)
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn each_page_is_a_full_document_and_with_hx_request_its_partial() {
    let router = router().await;
    for path in [
        "/",
        "/states/selangor",
        "/centres/TEST",
        SLOT_PAGE,
        "/check",
    ] {
        let (full, body) = call(&router, get(path).body(Body::empty()).unwrap()).await;
        assert_eq!(full.status(), StatusCode::OK, "{path}");
        assert!(body.starts_with("<!doctype html>"), "{path}");
        assert!(body.contains("<html lang=\"ms\">"), "{path}");

        let request = get(path).header("hx-request", "true").body(Body::empty());
        let (partial, body) = call(&router, request.unwrap()).await;
        assert_eq!(partial.status(), StatusCode::OK, "{path}");
        assert!(!body.contains("<html"), "{path}: a partial, not a page");
        assert!(body.contains("<main id=\"main\""), "{path}");
    }
}

#[tokio::test]
async fn a_booking_post_answers_303_and_a_refused_one_422_with_values_and_errors() {
    let router = router().await;
    let (page, body) = call(&router, get(SLOT_PAGE).body(Body::empty()).unwrap()).await;
    let (cookie, token) = csrf(&page, &body);

    let (refused, body) = call(
        &router,
        post(
            "/book",
            &cookie,
            form(&token, "900230011234", "Siti Nur Aisyah"),
        ),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("value=\"Siti Nur Aisyah\""),
        "entered values kept"
    );
    assert!(body.contains("value=\"900230011234\""));
    assert!(body.contains("class=\"error-summary\""));
    assert!(body.contains("aria-invalid=\"true\""));

    let (booked, _) = call(
        &router,
        post("/book", &cookie, form(&token, &mykad(1), "Siti Nur Aisyah")),
    )
    .await;
    assert_eq!(booked.status(), StatusCode::SEE_OTHER);
    assert_eq!(booked.headers()[header::LOCATION], "/booked");
}

#[tokio::test]
async fn a_post_without_its_token_or_with_another_is_403_and_books_nothing() {
    let router = router().await;
    let (page, body) = call(&router, get(SLOT_PAGE).body(Body::empty()).unwrap()).await;
    let (cookie, token) = csrf(&page, &body);

    let (missing, _) = call(
        &router,
        post("/book", "", form(&token, &mykad(2), "Siti Nur Aisyah")),
    )
    .await;
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let (wrong, _) = call(
        &router,
        post(
            "/book",
            &cookie,
            form(&"ab".repeat(32), &mykad(2), "Siti Nur Aisyah"),
        ),
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);

    // The same person can still book: the refused posts stored nothing.
    let (booked, _) = call(
        &router,
        post("/book", &cookie, form(&token, &mykad(2), "Siti Nur Aisyah")),
    )
    .await;
    assert_eq!(booked.status(), StatusCode::SEE_OTHER);
}
