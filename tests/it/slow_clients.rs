//! Slow and greedy clients, over raw sockets: a head trickled a line at a time, an idle
//! keep-alive connection, a body trickled a byte at a time, and more connections from one
//! address than it may hold. None of them may starve anyone else.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::harness::{TestApp, catalogue};
use crate::scrape::{parse_openmetrics, sample};

/// Every wait here ends by this deadline: a server that never answers fails the test rather
/// than hanging it.
const PATIENCE: Duration = Duration::from_secs(10);

/// How often a trickling client sends its next piece.
const TRICKLE: Duration = Duration::from_millis(50);

/// What the server did with a connection it stopped reading.
#[derive(Debug, PartialEq)]
enum Ended {
    /// It closed the connection (EOF or reset) after sending these bytes (maybe none).
    Closed(String),
}

/// A TCP connection to `server` from the loopback address `from` (127.0.0.x: Linux accepts any
/// of them), so that tests can be several clients.
async fn connect_from(from: [u8; 4], server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(IpAddr::from(from), 0)).unwrap();
    socket.connect(server).await.unwrap()
}

/// Reads what arrives within `wait`: `Some(bytes)` (empty at EOF or reset), `None` if nothing
/// came and the connection is still open.
async fn read_for(stream: &mut TcpStream, wait: Duration) -> Option<Vec<u8>> {
    let mut buf = [0u8; 4096];
    match tokio::time::timeout(wait, stream.read(&mut buf)).await {
        Ok(Ok(n)) => Some(buf[..n].to_vec()),
        Ok(Err(_reset)) => Some(Vec::new()),
        Err(_still_open) => None,
    }
}

/// Reads until the connection ends, within [`PATIENCE`].
async fn read_to_end(stream: &mut TcpStream) -> Ended {
    let deadline = Instant::now() + PATIENCE;
    let mut received = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "the connection is still open after {PATIENCE:?}; received {:?}",
            String::from_utf8_lossy(&received)
        );
        match read_for(stream, left).await {
            Some(bytes) if bytes.is_empty() => {
                return Ended::Closed(String::from_utf8_lossy(&received).into_owned());
            }
            Some(bytes) => received.extend(bytes),
            None => {}
        }
    }
}

/// Sends one keep-alive GET and reads its whole answer; returns the status line.
async fn get_keep_alive(stream: &mut TcpStream, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: jkjav.test\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let deadline = Instant::now() + PATIENCE;
    let mut received = Vec::new();
    loop {
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().unwrap())
                })
                .expect("a Content-Length");
            if received.len() >= end + 4 + length {
                return text.lines().next().unwrap().to_owned();
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no whole answer to GET {path}: {text:?}");
        match read_for(stream, left).await {
            Some(bytes) if bytes.is_empty() => panic!("closed before answering: {text:?}"),
            Some(bytes) => received.extend(bytes),
            None => {}
        }
    }
}

/// Whether the server closed this connection without answering a request sent on it.
async fn is_refused(stream: &mut TcpStream) -> bool {
    // The write may already fail if the server closed first; the read then ends at once.
    let _ = stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: jkjav.test\r\nConnection: close\r\n\r\n")
        .await;
    read_to_end(stream).await == Ended::Closed(String::new())
}

/// Sends `method path` announcing a body that never comes, and returns the whole answer (the
/// server must give one within [`PATIENCE`]).
pub async fn answer_to_a_body_that_never_comes(
    server: SocketAddr,
    method: &str,
    path: &str,
) -> String {
    let mut stream = TcpStream::connect(server).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: jkjav.test\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let Ended::Closed(answer) = read_to_end(&mut stream).await;
    answer
}

#[tokio::test]
async fn a_head_trickled_past_the_header_timeout_is_cut_off_and_so_is_an_idle_keep_alive_connection()
 {
    // Arrange
    let app = TestApp::spawn_with(catalogue(5), |config| {
        config.header_read_timeout_ms = 300;
    })
    .await;
    let mut trickled = TcpStream::connect(app.addr).await.unwrap();
    trickled
        .write_all(b"POST /api/v1/bookings HTTP/1.1\r\nHost: jkjav.test\r\n")
        .await
        .unwrap();

    // Act: one more header line every TRICKLE, each well within any per-read timeout.
    let deadline = Instant::now() + PATIENCE;
    let mut lines = 0;
    let received = loop {
        assert!(
            Instant::now() < deadline,
            "a head trickled for {PATIENCE:?} ({lines} lines) is still being read"
        );
        let line = format!("X-Trickle-{lines}: still coming\r\n");
        if trickled.write_all(line.as_bytes()).await.is_err() {
            break String::new();
        }
        lines += 1;
        if let Some(bytes) = read_for(&mut trickled, TRICKLE).await {
            let mut received = String::from_utf8_lossy(&bytes).into_owned();
            if !bytes.is_empty() {
                let Ended::Closed(rest) = read_to_end(&mut trickled).await;
                received.push_str(&rest);
            }
            break received;
        }
    };

    // Assert: cut off (at most with a 408), never answered by a handler.
    assert!(
        received.is_empty() || received.starts_with("HTTP/1.1 408"),
        "a trickled head got {received:?}"
    );

    // Arrange: a connection that asked once, then stays idle.
    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    assert_eq!(
        get_keep_alive(&mut idle, "/api/v1/states").await,
        "HTTP/1.1 200 OK"
    );

    // Act + assert: the server closes it instead of keeping it forever.
    assert_eq!(read_to_end(&mut idle).await, Ended::Closed(String::new()));
    // Someone who sends a whole head in time is served.
    let mut prompt = TcpStream::connect(app.addr).await.unwrap();
    assert_eq!(
        get_keep_alive(&mut prompt, "/api/v1/states").await,
        "HTTP/1.1 200 OK"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_holds_no_in_flight_permit_and_gets_408_once_its_time_is_up() {
    // Arrange: one request at a time, and a body that has one second to arrive.
    let app = TestApp::spawn_with(catalogue(5), |config| {
        config.max_in_flight = 1;
        config.body_read_timeout_ms = 1_000;
    })
    .await;
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(
        b"POST /api/v1/bookings HTTP/1.1\r\nHost: jkjav.test\r\n\
          Content-Type: application/json\r\nContent-Length: 400\r\n\
          Expect: 100-continue\r\n\r\n",
    )
    .await
    .unwrap();
    // The interim answer comes when the server starts reading the body: from here on it waits
    // for the body (where a permit, if taken, would be held).
    let interim = read_for(&mut slow, PATIENCE)
        .await
        .expect("an interim answer");
    assert!(
        String::from_utf8_lossy(&interim).starts_with("HTTP/1.1 100 Continue"),
        "{:?}",
        String::from_utf8_lossy(&interim)
    );
    slow.write_all(b"{\"centre\":").await.unwrap();

    // Act + assert: others are served while the body trickles.
    for _ in 0..3 {
        let response = app.get("/api/v1/states").await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "a slow body must not hold the only in-flight permit"
        );
        // On a machine slow enough, its time may already be up: the loop below reads the 408.
        let _ = slow.write_all(b" ").await;
    }

    // Act: keep trickling, one byte every TRICKLE, never finishing.
    let deadline = Instant::now() + PATIENCE;
    let answer = loop {
        assert!(
            Instant::now() < deadline,
            "a body trickled for {PATIENCE:?} is still being read"
        );
        if slow.write_all(b" ").await.is_err() {
            let Ended::Closed(rest) = read_to_end(&mut slow).await;
            break rest;
        }
        if let Some(bytes) = read_for(&mut slow, TRICKLE).await {
            let Ended::Closed(rest) = read_to_end(&mut slow).await;
            break format!("{}{rest}", String::from_utf8_lossy(&bytes));
        }
    };

    // Assert: 408, as a problem document, and the connection closed.
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(answer.contains("/problems/request-timeout"), "{answer:?}");
}

#[tokio::test]
async fn past_the_connection_caps_new_connections_are_closed_while_other_clients_connect() {
    // Arrange: three connections in all, two per client address.
    let app = TestApp::spawn_with(catalogue(5), |config| {
        config.max_connections = 3;
        config.max_connections_per_client = 2;
    })
    .await;
    let (one, two, three) = ([127, 0, 0, 1], [127, 0, 0, 2], [127, 0, 0, 3]);
    let mut first = connect_from(one, app.addr).await;
    let mut second = connect_from(one, app.addr).await;
    // Answered, so the server has counted both.
    for held in [&mut first, &mut second] {
        assert_eq!(get_keep_alive(held, "/healthz").await, "HTTP/1.1 200 OK");
    }

    // Act + assert: a third from the same address is closed unanswered...
    let mut third = connect_from(one, app.addr).await;
    assert!(
        is_refused(&mut third).await,
        "the per-client cap let a third in"
    );
    // ...while another address still connects...
    let mut other = connect_from(two, app.addr).await;
    assert_eq!(
        get_keep_alive(&mut other, "/healthz").await,
        "HTTP/1.1 200 OK"
    );
    // ...until the total is reached.
    let mut fourth = connect_from(three, app.addr).await;
    assert!(
        is_refused(&mut fourth).await,
        "the total cap let a fourth in"
    );

    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    let samples = parse_openmetrics(&metrics);
    for cap in ["per_client", "total"] {
        let refused = sample(&samples, "jkjav_connections_refused_total", &[("cap", cap)]);
        assert_eq!(refused, 1.0, "{cap}");
    }
    assert_eq!(sample(&samples, "jkjav_open_connections", &[]), 3.0);

    // A connection that ends frees its place.
    drop(first);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut again = connect_from(one, app.addr).await;
        if !is_refused(&mut again).await {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a closed connection's place was never freed"
        );
        tokio::time::sleep(TRICKLE).await;
    }
}
