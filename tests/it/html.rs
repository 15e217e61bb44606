//! Valid HTML: every page and every htmx partial passes the W3C Nu HTML Checker with zero
//! errors, in both languages and in each state a person can meet (campaign open, not open,
//! closed; places left, a full slot, availability unknown; each form empty and refused; the
//! booking and its cancellation; every notice page). Markup that follows the standard is markup
//! that screen readers, old phones' browsers and chromium all read the same way.
//!
//! The pages come from the application on a free port (in-memory store), fetched as a plain
//! browser and as htmx would; they are written to a temporary directory and checked in one run
//! of `vnu.jar` (the browser tests' npm package `vnu-jar`, run on Java). A missing Java or
//! vnu.jar fails the test with how to install it: it never passes without checking.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use jkjav::catalogue::Catalogue;
use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;

use crate::harness::{Browser, TestApp, catalogue, free_port, mykad};
use crate::probe::ProbeStore;

const SLOT_PAGE: &str = "/book?centre=TEST&date=2030-01-01&window=09:00-12:00";
const MORNING: &str = "2030-01-01_0900-1200";
const AFTERNOON: &str = "2030-01-01_1300-1700";

/// A person's name, phone, address and postcode that the booking form accepts.
const PERSON: [&str; 4] = [
    "Siti Nur Aisyah",
    "012-345 6789",
    "Jalan Test, Shah Alam",
    "40200",
];
/// The same four, each refused.
const WRONG: [&str; 4] = ["", "123", "", "12"];

#[tokio::test]
async fn every_page_and_every_htmx_partial_in_both_languages_is_valid_html() {
    let mut docs = Documents::new();
    for lang in ["ms", "en"] {
        open_campaign(&mut docs, lang).await;
        too_many_attempts(&mut docs, lang).await;
        too_many_failed_attempts(&mut docs, lang).await;
        before_opening(&mut docs, lang).await;
        after_closing(&mut docs, lang).await;
        store_down(&mut docs, lang).await;
        store_too_slow(&mut docs, lang).await;
    }
    let mut reader = Browser::new(TestApp::spawn(catalogue(1), None).await).await;
    let api_docs = reader.get("/docs").await;
    assert_eq!(api_docs.status, StatusCode::OK);
    docs.add("api-docs", &api_docs.body);

    let errors = nu_html_check(&docs.files);

    if !errors.is_empty() {
        let refused: BTreeSet<&str> = errors.iter().map(|e| e.file.as_str()).collect();
        let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
        let (documents, total) = (docs.files.len(), errors.len());
        let kept = docs.dir.keep();
        panic!(
            "the Nu HTML Checker refused {} of the {documents} documents ({total} errors; the \
             documents are kept in {}):\n{}",
            refused.len(),
            kept.display(),
            listed.join("\n")
        );
    }
}

/// The checker itself, so that a pass above means something: it refuses htmx's bare `hx-*`
/// attributes (the reason the templates use `data-hx-*`) and accepts a valid page.
#[test]
fn the_checker_refuses_an_invalid_page_and_accepts_a_valid_one() {
    let dir = tempfile::tempdir().unwrap();
    let page = |name: &str, body_tag: &str| {
        let path = dir.path().join(name);
        let html = document("en", "Check", "<p>Hello</p>").replace("<body>", body_tag);
        std::fs::write(&path, html).unwrap();
        path
    };
    let invalid = page("invalid.html", "<body hx-boost=\"true\">");
    let valid = page("valid.html", "<body data-hx-boost=\"true\">");

    let errors = nu_html_check(&[invalid, valid]);

    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].file, "invalid.html");
    assert_eq!(errors[0].line, 7);
    assert!(errors[0].message.contains("hx-boost"), "{errors:?}");
}

/// An open campaign, from the home page to a cancelled booking, with every refusal on the way.
async fn open_campaign(docs: &mut Documents, lang: &'static str) {
    let app = TestApp::spawn(catalogue(1), None).await;
    let mut person = Visitor::new(app, lang, docs).await;
    let id = mykad(1);

    person.get("home", "/", ok("panel-ok")).await;
    person
        .get("state", "/states/selangor", ok("class=\"cards\""))
        .await;
    person
        .get("centre", "/centres/TEST", ok("<a class=\"slot\""))
        .await;
    person.get("book", SLOT_PAGE, ok("action=\"/book\"")).await;
    let wrong = person.booking_form(MORNING, "12345", WRONG);
    let refused = answer(StatusCode::UNPROCESSABLE_ENTITY, "class=\"error-summary\"");
    person
        .post("book-field-errors", "/book", &wrong, refused)
        .await;
    // htmx checks each field as it changes and swaps in that field alone.
    let right = person.booking_form(MORNING, &id, PERSON);
    for field in ["id_number", "name", "phone", "address", "postcode"] {
        person.field(field, &wrong, true).await;
        person.field(field, &right, false).await;
    }

    person.get("check", "/check", ok("action=\"/check\"")).await;
    let empty = person.check_form("", "");
    let refused = answer(StatusCode::UNPROCESSABLE_ENTITY, "href=\"#reference\"");
    person
        .post("check-field-errors", "/check", &empty, refused)
        .await;
    let nobody = person.check_form("7KQ4M-PX2RD", &id);
    let refused = answer(StatusCode::UNPROCESSABLE_ENTITY, "class=\"error-summary\"");
    person
        .post("check-no-match", "/check", &nobody, refused)
        .await;

    person.get("find", "/find", ok("action=\"/find\"")).await;
    let empty = person.find_form("", "");
    let refused = answer(StatusCode::UNPROCESSABLE_ENTITY, "href=\"#phone\"");
    person
        .post("find-field-errors", "/find", &empty, refused)
        .await;
    let nobody = person.find_form(&mykad(9), "0123456789");
    let refused = answer(StatusCode::UNPROCESSABLE_ENTITY, "class=\"error-summary\"");
    person
        .post("find-no-match", "/find", &nobody, refused)
        .await;

    person.post_then_303("/book", &right).await;
    person.get("booked", "/booked", ok("<svg")).await;
    person
        .get("my-booking", "/my-booking", ok("panel-ok"))
        .await;
    let asks = ok("action=\"/my-booking/cancel\"");
    person.get("cancel", "/my-booking/cancel", asks).await;
    let again = person.booking_form(AFTERNOON, &id, PERSON);
    let refused = answer(StatusCode::CONFLICT, "href=\"#id_number\"");
    person
        .post("book-already-booked", "/book", &again, refused)
        .await;

    // The morning's one place is taken; availability is a snapshot at most 50 ms old in tests.
    tokio::time::sleep(std::time::Duration::from_millis(120)).await;
    person
        .get("centre-slot-full", "/centres/TEST", ok("slot-full"))
        .await;
    person
        .get("sold-out", SLOT_PAGE, ok("class=\"actions\""))
        .await;
    let late = person.booking_form(MORNING, &mykad(2), PERSON);
    let refused = answer(StatusCode::CONFLICT, "href=\"/centres/TEST\"");
    person
        .post("sold-out-after-post", "/book", &late, refused)
        .await;

    let cancel = [("csrf", person.csrf())];
    person.post_then_303("/my-booking/cancel", &cancel).await;
    let cancelled = ok("panel-warn");
    person
        .get("my-booking-cancelled", "/my-booking", cancelled)
        .await;

    let missing = answer(StatusCode::NOT_FOUND, "<h1>");
    person.get("not-found", "/nowhere", missing).await;
    person.get("no-such-centre", "/centres/NOPE", missing).await;
    let mut forged = person.booking_form(MORNING, &mykad(3), PERSON);
    forged[0].1 = "0".repeat(64);
    let refused = answer(StatusCode::FORBIDDEN, "<h1>");
    person.post("forbidden", "/book", &forged, refused).await;
    let mut unreadable = person.booking_form(MORNING, &mykad(3), PERSON);
    unreadable[1].1 = "NOPE".into();
    let refused = answer(StatusCode::BAD_REQUEST, "<h1>");
    person
        .post("bad-request", "/book", &unreadable, refused)
        .await;
    let padded = person
        .request("/")
        .header("x-padding", "a".repeat(20 * 1024));
    let refused = answer(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "<h1>");
    person.send("headers-too-large", padded, refused).await;
}

/// 429: one booking attempt per identity number per minute, and a second.
async fn too_many_attempts(docs: &mut Documents, lang: &'static str) {
    let app = TestApp::spawn_with(catalogue(5), |config| {
        config.booking_attempts_per_id_per_min = 1;
    })
    .await;
    let mut person = Visitor::new(app, lang, docs).await;
    let form = person.booking_form(MORNING, &mykad(1), PERSON);
    person.post_then_303("/book", &form).await;
    let limited = answer(StatusCode::TOO_MANY_REQUESTS, "<h1>");
    person
        .post("too-many-attempts", "/book", &form, limited)
        .await;
}

/// 429 after failed attempts: a locked reference (the page offers finding by phone), a locked
/// identity number (it offers the reference), a locked client (it offers waiting).
async fn too_many_failed_attempts(docs: &mut Documents, lang: &'static str) {
    let app = TestApp::spawn_with(catalogue(5), |config| {
        config.failed_lookups_per_reference = 1;
        config.failed_finds_per_id = 1;
        config.failed_attempts_per_client = 3;
    })
    .await;
    let mut person = Visitor::new(app, lang, docs).await;
    let guess = person.check_form("7KQ4M-PX2RD", &mykad(1));
    person.post_unrecorded("/check", &guess).await;
    let locked = answer(StatusCode::TOO_MANY_REQUESTS, "href=\"/find\"");
    person.post("check-locked", "/check", &guess, locked).await;
    let guess = person.find_form(&mykad(1), "0123456789");
    person.post_unrecorded("/find", &guess).await;
    let locked = answer(StatusCode::TOO_MANY_REQUESTS, "<h1>");
    person.post("find-locked", "/find", &guess, locked).await;
    // Three failures from this client: the client is locked whatever it tries next.
    let guess = person.check_form("22222-22222", &mykad(2));
    person.post_unrecorded("/check", &guess).await;
    let fresh = person.check_form("33333-33333", &mykad(2));
    person.post("client-locked", "/check", &fresh, locked).await;
}

async fn before_opening(docs: &mut Documents, lang: &'static str) {
    let hours = "opens_at = \"2099-05-26T12:00:00+08:00\"";
    let mut person = Visitor::new(TestApp::spawn(one_centre(hours), None).await, lang, docs).await;
    person
        .get("home-not-open", "/", ok("id=\"countdown\""))
        .await;
    let phase = ok("panel-info");
    person.get("centre-not-open", "/centres/TEST", phase).await;
    person
        .get("not-open", SLOT_PAGE, ok("class=\"actions\""))
        .await;
    let early = person.booking_form(MORNING, &mykad(1), PERSON);
    let refused = answer(StatusCode::CONFLICT, "class=\"actions\"");
    person
        .post("not-open-after-post", "/book", &early, refused)
        .await;
}

async fn after_closing(docs: &mut Documents, lang: &'static str) {
    let hours = "opens_at = \"2021-05-26T12:00:00+08:00\"\n\
                 closes_at = \"2021-06-14T23:59:59+08:00\"";
    let mut person = Visitor::new(TestApp::spawn(one_centre(hours), None).await, lang, docs).await;
    person.get("home-closed", "/", ok("closed-title")).await;
    person
        .get("closed", SLOT_PAGE, ok("class=\"actions\""))
        .await;
    let late = person.booking_form(MORNING, &mykad(1), PERSON);
    let refused = answer(StatusCode::CONFLICT, "class=\"actions\"");
    person
        .post("closed-after-post", "/book", &late, refused)
        .await;
}

/// Availability cannot be read: the pages say so; a booking gets the 503 page.
async fn store_down(docs: &mut Documents, lang: &'static str) {
    let dead_redis = format!("redis://127.0.0.1:{}", free_port());
    let app = TestApp::spawn(catalogue(2), Some(dead_redis)).await;
    let mut person = Visitor::new(app, lang, docs).await;
    person.get("home-store-down", "/", ok("<h1>")).await;
    let unknown = ok("role=\"status\"");
    person
        .get("state-store-down", "/states/selangor", unknown)
        .await;
    person
        .get("centre-store-down", "/centres/TEST", unknown)
        .await;
    let form = person.booking_form(MORNING, &mykad(1), PERSON);
    let refused = answer(StatusCode::SERVICE_UNAVAILABLE, "href=\"/find\"");
    person
        .post("unavailable-after-post", "/book", &form, refused)
        .await;
}

/// A page past its time limit: the 503 page with a "try again" link to the same address.
/// Availability is held at the store, so a page that reads it runs out of time every time.
async fn store_too_slow(docs: &mut Documents, lang: &'static str) {
    let store = ProbeStore::new();
    let app = TestApp::spawn_with_store(catalogue(2), store.clone(), |config| {
        config.request_timeout_ms = 100;
    })
    .await;
    store.hold_counts.send_replace(true);
    let mut person = Visitor::new(app, lang, docs).await;
    let try_again = "href=\"/book?centre=TEST&#38;date=2030-01-01";
    let refused = answer(StatusCode::SERVICE_UNAVAILABLE, try_again);
    person.get("unavailable", SLOT_PAGE, refused).await;
}

fn one_centre(hours: &str) -> Catalogue {
    Catalogue::from_toml(&format!(
        r#"
        [campaign]
        id = "html-{}"
        name = "Hours"
        {hours}

        [[centre]]
        code = "TEST"
        name = "Test Centre"
        state = "selangor"
        dates = {{ from = "2030-01-01", to = "2030-01-01" }}
        windows = [{{ time = "09:00-12:00", capacity = 5 }}]
        "#,
        free_port()
    ))
    .unwrap()
}

/// What an answer must be for the document to be the one meant: its status, and a piece of
/// markup only that state shows (a pass on the wrong page would prove nothing).
#[derive(Debug, Clone, Copy)]
struct Expect {
    status: StatusCode,
    shows: &'static str,
}

fn ok(shows: &'static str) -> Expect {
    answer(StatusCode::OK, shows)
}

fn answer(status: StatusCode, shows: &'static str) -> Expect {
    Expect { status, shows }
}

impl Expect {
    fn check(self, name: &str, status: StatusCode, body: &str) {
        assert_eq!(status, self.status, "{name}: {body}");
        assert!(
            body.contains(self.shows),
            "{name} does not show {:?}: {body}",
            self.shows
        );
    }
}

/// A browser in one language that keeps each page it gets for the checker.
struct Visitor<'d> {
    browser: Browser,
    lang: &'static str,
    docs: &'d mut Documents,
}

impl<'d> Visitor<'d> {
    /// The language is chosen with the switcher, as a person does; that also sets the token.
    async fn new(app: TestApp, lang: &'static str, docs: &'d mut Documents) -> Self {
        let mut browser = Browser::new(app).await;
        let switched = browser.get(&format!("/lang/{lang}?back=/")).await;
        assert_eq!(switched.status, StatusCode::SEE_OTHER);
        Self {
            browser,
            lang,
            docs,
        }
    }

    fn csrf(&self) -> String {
        let token = self.browser.cookie("jkjav_csrf");
        assert!(!token.is_empty(), "every page sets the CSRF cookie");
        token
    }

    fn booking_form(&self, slot: &str, id: &str, person: [&str; 4]) -> Vec<(&'static str, String)> {
        let [name, phone, address, postcode] = person;
        vec![
            ("csrf", self.csrf()),
            ("centre", "TEST".into()),
            ("slot", slot.into()),
            ("id_number", id.into()),
            ("name", name.into()),
            ("phone", phone.into()),
            ("address", address.into()),
            ("postcode", postcode.into()),
        ]
    }

    fn check_form(&self, reference: &str, id: &str) -> Vec<(&'static str, String)> {
        vec![
            ("csrf", self.csrf()),
            ("reference", reference.into()),
            ("id_number", id.into()),
        ]
    }

    fn find_form(&self, id: &str, phone: &str) -> Vec<(&'static str, String)> {
        vec![
            ("csrf", self.csrf()),
            ("id_number", id.into()),
            ("phone", phone.into()),
        ]
    }

    /// A step on the way whose page is not kept (setting up a state).
    async fn post_unrecorded(&mut self, path: &str, form: &[(&str, String)]) {
        let request = self
            .browser
            .client()
            .post(self.browser.app.url(path))
            .form(form);
        self.browser.send(request).await;
    }

    fn request(&self, path: &str) -> RequestBuilder {
        self.browser.client().get(self.browser.app.url(path))
    }

    async fn get(&mut self, name: &str, path: &str, expect: Expect) {
        self.send(name, self.request(path), expect).await;
    }

    async fn post(&mut self, name: &str, path: &str, form: &[(&str, String)], expect: Expect) {
        let request = self
            .browser
            .client()
            .post(self.browser.app.url(path))
            .form(form);
        self.send(name, request, expect).await;
    }

    /// A step on the way (a booking, a cancellation) whose answer is a redirect: no page.
    async fn post_then_303(&mut self, path: &str, form: &[(&str, String)]) {
        let request = self
            .browser
            .client()
            .post(self.browser.app.url(path))
            .form(form);
        let answer = self.browser.send(request).await;
        assert_eq!(
            answer.status,
            StatusCode::SEE_OTHER,
            "{path}: {}",
            answer.body
        );
    }

    /// Sends `request` as a plain browser does and as htmx does, and keeps both answers: the
    /// whole document, and the partial inside the `#page` htmx swaps it into.
    async fn send(&mut self, name: &str, request: RequestBuilder, expect: Expect) {
        let name = format!("{}-{name}", self.lang);
        let htmx = request.try_clone().unwrap().header("hx-request", "true");
        let full = self.browser.send(request).await;
        expect.check(&name, full.status, &full.body);
        self.docs.add(&name, &full.body);

        let partial = self.browser.send(htmx).await;
        expect.check(&name, partial.status, &partial.body);
        let (title, body) = partial
            .body
            .strip_prefix("<title>")
            .and_then(|rest| rest.split_once("</title>"))
            .unwrap_or_else(|| panic!("{name}: a page partial starts with its <title>"));
        let page = format!("<div id=\"page\">\n{body}</div>");
        self.docs.add(
            &format!("{name}.partial"),
            &document(self.lang, title, &page),
        );
    }

    /// htmx's check of one booking field as it changes: that field alone, kept inside the
    /// form whose field it replaces.
    async fn field(&mut self, field: &str, form: &[(&str, String)], with_error: bool) {
        let name = format!(
            "{}-validate-{field}{}",
            self.lang,
            if with_error { "-error" } else { "" }
        );
        let url = self
            .browser
            .app
            .url(&format!("/book/validate?field={field}"));
        let request = self
            .browser
            .client()
            .post(url)
            .form(form)
            .header("hx-request", "true");
        let answer = self.browser.send(request).await;
        ok("<div class=\"field").check(&name, answer.status, &answer.body);
        assert_eq!(
            answer.body.contains("error-message"),
            with_error,
            "{name}: {}",
            answer.body
        );
        let form = format!(
            "<form method=\"post\" action=\"/book\">\n<fieldset>\n{}</fieldset>\n</form>",
            answer.body
        );
        self.docs.add(
            &format!("{name}.partial"),
            &document(self.lang, "Field", &form),
        );
    }
}

/// A fragment is not a document: it is checked inside the smallest document around it, with
/// the title htmx would move into the head.
fn document(lang: &str, title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title}</title>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
}

/// The documents to check, written to a temporary directory as they are fetched.
struct Documents {
    dir: tempfile::TempDir,
    files: Vec<PathBuf>,
}

impl Documents {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            files: Vec::new(),
        }
    }

    fn add(&mut self, name: &str, html: &str) {
        let path = self.dir.path().join(format!("{name}.html"));
        assert!(!self.files.contains(&path), "{name} is fetched twice");
        std::fs::write(&path, html).unwrap();
        self.files.push(path);
    }
}

/// One error the checker found.
#[derive(Debug)]
struct CheckError {
    file: String,
    line: u64,
    message: String,
    extract: String,
}

impl std::fmt::Display for CheckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "  {}:{}: {}", self.file, self.line, self.message)?;
        if !self.extract.is_empty() {
            write!(f, "\n      {}", self.extract)?;
        }
        Ok(())
    }
}

const INSTALL: &str = "run `make test-deps`, which installs Java (apt-get install \
                       default-jre-headless) and the browser tests' npm packages, vnu-jar among \
                       them (npm ci --prefix tests/browser)";

/// Every error the Nu HTML Checker finds in `files`, in one run of `vnu.jar`.
fn nu_html_check(files: &[PathBuf]) -> Vec<CheckError> {
    assert!(!files.is_empty(), "nothing to check");
    let jar = vnu_jar();
    let output = Command::new("java")
        .arg("-jar")
        .arg(&jar)
        .args(["--errors-only", "--format", "json", "--stdout"])
        .args(files)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run `java` ({e}); the Nu HTML Checker needs Java 17 or later: {INSTALL}")
        });
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "vnu.jar gave no JSON report ({e}; {}); it needs Java 17 or later: {INSTALL}.\n{stderr}",
            output.status
        )
    });
    let errors: Vec<CheckError> = report["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("vnu.jar's report has no messages: {report}"))
        .iter()
        .filter(|m| m["type"] != "info")
        .map(|m| CheckError {
            file: m["url"]
                .as_str()
                .and_then(|url| Path::new(url).file_name())
                .map_or_else(
                    || m["url"].to_string(),
                    |f| f.to_string_lossy().into_owned(),
                ),
            line: m["lastLine"].as_u64().unwrap_or(0),
            message: m["message"].as_str().unwrap_or("(no message)").to_owned(),
            extract: m["extract"].as_str().unwrap_or("").replace('\n', "⏎"),
        })
        .collect();
    // A checker that failed yet reported nothing did not check: that is never a pass.
    assert!(
        output.status.success() || !errors.is_empty(),
        "vnu.jar failed ({}) without reporting an error:\n{stderr}",
        output.status
    );
    errors
}

/// The jar of the browser tests' npm package `vnu-jar`, where the package says it is (its main
/// module exports the jar's path).
fn vnu_jar() -> PathBuf {
    let packages = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let output = Command::new("node")
        .current_dir(&packages)
        .args(["-e", "process.stdout.write(String(require('vnu-jar')))"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run `node` to find vnu.jar ({e}): {INSTALL}"));
    assert!(
        output.status.success(),
        "vnu-jar is not installed in tests/browser/node_modules: {INSTALL}.\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let jar = PathBuf::from(String::from_utf8(output.stdout).unwrap());
    assert!(jar.is_file(), "{} is missing: {INSTALL}", jar.display());
    jar
}
