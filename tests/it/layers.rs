//! The crate's layers run one way (see `src/lib.rs`): a room may import only rooms below it.
//! Read from the source text, so a new import that breaks the order fails here at once.

use std::path::{Path, PathBuf};

/// Rooms from the core outwards, and the prefixes each must not name.
const RULES: &[(&str, &[&str])] = &[
    (
        "src/domain",
        &[
            "crate::catalogue",
            "crate::store",
            "crate::events",
            "crate::booking",
        ],
    ),
    (
        "src/catalogue.rs",
        &["crate::store", "crate::events", "crate::booking"],
    ),
    ("src/store", &["crate::events", "crate::booking"]),
    ("src/events", &["crate::booking"]),
    ("src/limiter.rs", &["crate::"]),
    ("src/metrics.rs", &["crate::"]),
    ("src/config.rs", &["crate::"]),
];

/// Names no room below the HTTP edge may use, whatever its place in the order above.
const HTTP_EDGE: &[&str] = &[
    "crate::http",
    "crate::api",
    "crate::web",
    "crate::app",
    "axum",
];

fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_owned()];
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).unwrap() {
        files.extend(rust_files(&entry.unwrap().path()));
    }
    files.retain(|f| f.extension().is_some_and(|e| e == "rs"));
    files
}

fn offences(room: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = rust_files(&root.join(room));
    assert!(
        !files.is_empty(),
        "{room} has no Rust files: is the map out of date?"
    );
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for name in forbidden {
                if code.contains(name) {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, code));
                }
            }
        }
    }
    found
}

#[test]
fn the_core_below_the_booking_service_imports_no_http_and_no_higher_room() {
    let mut found = Vec::new();
    for (room, forbidden) in RULES {
        found.extend(offences(room, forbidden));
    }
    for room in [
        "src/domain",
        "src/catalogue.rs",
        "src/store",
        "src/events",
        "src/booking",
        "src/limiter.rs",
        "src/metrics.rs",
    ] {
        found.extend(offences(room, HTTP_EDGE));
    }
    assert!(
        found.is_empty(),
        "imports against the layer order:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_shared_http_layer_imports_neither_front_end_and_only_main_imports_app() {
    let mut found = offences("src/http", &["crate::api", "crate::web", "crate::app"]);
    found.extend(offences("src/api", &["crate::web", "crate::app"]));
    found.extend(offences("src/web", &["crate::api", "crate::app"]));
    assert!(
        found.is_empty(),
        "imports against the layer order:\n{}",
        found.join("\n")
    );
}
