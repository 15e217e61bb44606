//! Other sites and the proxies in between: a redirect never leaves this site.

use reqwest::StatusCode;

use crate::harness::{Browser, TestApp, catalogue};

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
