//! Test helpers: a real `redis-server` on a free loopback port, the application on port 0, and
//! a cookie-keeping browser for the web pages.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jkjav::app::Application;
use jkjav::catalogue::Catalogue;
use jkjav::config::ServeConfig;
use jkjav::store::Store;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `redis-server` child process owned by one test; killed on drop.
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
    durable: bool,
}

impl RedisServer {
    /// Nothing on disk: the fastest, for tests that do not restart Redis.
    pub fn start() -> Self {
        Self::launch(free_port(), tempfile::tempdir().unwrap(), false)
    }

    /// Append-only file fsynced on every write, so a killed server comes back with every
    /// acknowledged write: what production runs.
    pub fn start_durable() -> Self {
        Self::launch(free_port(), tempfile::tempdir().unwrap(), true)
    }

    /// A server on `port`, for tests that start the app before Redis.
    pub fn start_on(port: u16) -> Self {
        Self::launch(port, tempfile::tempdir().unwrap(), false)
    }

    fn launch(port: u16, dir: tempfile::TempDir, durable: bool) -> Self {
        let mut server = Self {
            child: None,
            port,
            dir,
            durable,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let mut args: Vec<String> = vec![
            "--port".into(),
            self.port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
            "--save".into(),
            "".into(),
            "--dir".into(),
            self.dir.path().display().to_string(),
        ];
        if self.durable {
            args.extend(["--appendonly", "yes", "--appendfsync", "always"].map(String::from));
        } else {
            args.extend(["--appendonly", "no"].map(String::from));
        }
        let child = Command::new("redis-server")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start redis-server ({e}). The Redis tests need it on PATH: run `make test`, \
                     which installs it (apt-get install redis-server)."
                )
            });
        self.child = Some(child);
        wait_for_pong(self.port);
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// SIGKILL: no chance to save anything, as in a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same port and data directory.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn wait_for_pong(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
            let mut buf = [0u8; 16];
            if stream.write_all(b"PING\r\n").is_ok()
                && stream
                    .read(&mut buf)
                    .is_ok_and(|n| buf[..n].starts_with(b"+PONG"))
            {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("redis-server on port {port} did not answer PING within 10 s");
}

/// A small catalogue: `TEST` (capacity per window given), `BIG` (1,000 places), `SHUT` (not open).
pub fn catalogue(capacity: u32) -> Catalogue {
    Catalogue::from_toml(&format!(
        r#"
        [campaign]
        id = "it-{}"
        name = "Integration tests"

        [[centre]]
        code = "TEST"
        name = "Test Centre"
        state = "selangor"
        dates = {{ from = "2030-01-01", to = "2030-01-02" }}
        windows = [{{ time = "09:00-12:00", capacity = {capacity} }}, {{ time = "13:00-17:00", capacity = {capacity} }}]

        [[centre]]
        code = "BIG"
        name = "Big Centre"
        state = "kuala-lumpur"
        dates = {{ from = "2030-01-01", to = "2030-01-01" }}
        windows = [{{ time = "00:00-24:00", capacity = 1000 }}]
        "#,
        free_port()
    ))
    .unwrap()
}

/// The booking pass key every test application signs with.
pub const TEST_COOKIE_KEY: &str = "integration-tests-cookie-key-0123456789";

/// The application on a free port, serving in the background until the test ends.
pub struct TestApp {
    pub addr: SocketAddr,
    /// The operators' listener: `/metrics`, the detailed `/readyz`.
    pub admin: SocketAddr,
    pub client: reqwest::Client,
}

impl TestApp {
    pub async fn spawn(catalogue: Catalogue, redis_url: Option<String>) -> Self {
        Self::spawn_with(catalogue, |config| config.redis_url = redis_url).await
    }

    pub async fn spawn_with(catalogue: Catalogue, adjust: impl FnOnce(&mut ServeConfig)) -> Self {
        let config = Self::config(adjust);
        let app = Application::build_with(config, catalogue).await.unwrap();
        Self::serve(app)
    }

    /// The application over a given store (e.g. a wrapper that counts or holds calls).
    pub async fn spawn_with_store(
        catalogue: Catalogue,
        store: Arc<dyn Store>,
        adjust: impl FnOnce(&mut ServeConfig),
    ) -> Self {
        let config = Self::config(adjust);
        let app = Application::build_with_store(config, catalogue, store, "test")
            .await
            .unwrap();
        Self::serve(app)
    }

    fn config(adjust: impl FnOnce(&mut ServeConfig)) -> ServeConfig {
        let mut config = ServeConfig::defaults();
        config.host = [127, 0, 0, 1].into();
        config.port = 0;
        config.admin_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        config.redis_timeout_ms = 300;
        config.snapshot_max_age_ms = 50;
        // Every test request comes from 127.0.0.1: the per-IP limit is tested on its own.
        config.booking_posts_per_ip_per_min = 0;
        // Required with Redis, as in production; one key for every instance a test starts.
        config.cookie_key = Some(TEST_COOKIE_KEY.parse().unwrap());
        adjust(&mut config);
        config
    }

    fn serve(app: Application) -> Self {
        let (addr, admin) = (app.local_addr(), app.admin_addr());
        tokio::spawn(app.run_until(std::future::pending()));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Self {
            addr,
            admin,
            client,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A GET on the operators' listener.
    pub async fn admin_get(&self, path: &str) -> reqwest::Response {
        let url = format!("http://{}{path}", self.admin);
        self.client.get(url).send().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }
}

/// A valid MyKad number for person `n` (distinct for every n < 60,000).
pub fn mykad(n: u32) -> String {
    format!("900127{:02}{:04}", 10 + n / 10_000, n % 10_000)
}

pub fn booking_body(n: u32, centre: &str, date: &str, window: &str) -> serde_json::Value {
    serde_json::json!({
        "centre": centre, "date": date, "window": window,
        "idNumber": mykad(n), "name": format!("Person {n}"), "phone": "012-345 6789",
        "address": "Jalan Test, Kuala Lumpur", "postcode": "50480",
    })
}

/// A browser: remembers cookies, and the last form token it saw.
pub struct Browser {
    pub app: TestApp,
    cookies: Vec<(String, String)>,
}

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("the page has a form token") + marker.len();
        self.body[start..start + 64].to_owned()
    }

    pub fn location(&self) -> &str {
        self.headers["location"].to_str().unwrap()
    }

    pub fn error_summary(&self) -> &str {
        let start = self
            .body
            .find("<div class=\"error-summary\"")
            .expect("an error summary");
        let end = start + self.body[start..].find("</div>").unwrap();
        &self.body[start..end]
    }
}

impl Browser {
    pub async fn new(app: TestApp) -> Self {
        Self {
            app,
            cookies: Vec::new(),
        }
    }

    /// A second browser (its own cookies) on the same server.
    pub async fn another(&self) -> Self {
        Self::new(TestApp {
            addr: self.app.addr,
            admin: self.app.admin,
            client: self.app.client.clone(),
        })
        .await
    }

    /// Every page sets the token cookie, forms or not; a forged form could not read it.
    pub fn cookie(&self, name: &str) -> String {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn remember(&mut self, headers: &HeaderMap) {
        for set in headers.get_all("set-cookie") {
            let cookie = cookie::Cookie::parse(set.to_str().unwrap()).unwrap();
            let (name, value) = (cookie.name().to_owned(), cookie.value().to_owned());
            self.cookies.retain(|(k, _)| *k != name);
            self.cookies.push((name, value));
        }
    }

    pub async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let request = if self.cookies.is_empty() {
            request
        } else {
            request.header("cookie", self.cookie_header())
        };
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        self.remember(&headers);
        Page {
            status,
            headers,
            body: response.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.client().get(self.app.url(path));
        self.send(request).await
    }

    pub async fn get_htmx(&mut self, path: &str) -> Page {
        let request = self
            .client()
            .get(self.app.url(path))
            .header("hx-request", "true");
        self.send(request).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self.client().post(self.app.url(path)).form(form);
        self.send(request).await
    }

    pub async fn post_htmx(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self
            .client()
            .post(self.app.url(path))
            .header("hx-request", "true")
            .form(form);
        self.send(request).await
    }

    /// Redirects are for the test to follow, so that each 303 can be checked. Asks for HTML,
    /// as a browser does.
    pub fn client(&self) -> reqwest::Client {
        let mut headers = HeaderMap::new();
        headers.insert(
            "accept",
            reqwest::header::HeaderValue::from_static("text/html,application/xhtml+xml"),
        );
        reqwest::Client::builder()
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap()
    }
}
