//! QR codes of booking references, drawn as inline SVG on the server: no script, no image
//! request, and crisp when printed.

use qrcode::QrCode;
use qrcode::render::svg;

/// The SVG markup of a QR code for `text`, labelled for screen readers; empty if `text` cannot
/// be encoded (never the case for a reference, which is short ASCII).
pub fn qr_svg(text: &str, label: &str) -> String {
    let Ok(code) = QrCode::new(text.as_bytes()) else {
        return String::new();
    };
    let svg = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // Inline in HTML: drop the XML declaration, add an accessible name.
    let start = svg.find("<svg").unwrap_or(0);
    let label = label
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    svg[start..].replacen(
        "<svg",
        &format!("<svg role=\"img\" aria-label=\"{label}\" focusable=\"false\""),
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_becomes_an_inline_labelled_svg() {
        let svg = qr_svg("7KQ4M-PX2RD", "QR \"code\"");
        assert!(
            svg.starts_with("<svg role=\"img\" aria-label=\"QR &quot;code&quot;\""),
            "{svg}"
        );
        assert!(svg.contains("<path") || svg.contains("<rect"), "{svg}");
        assert!(!svg.contains("<?xml"));
        assert!(
            !svg.contains("style="),
            "inline styles break the CSP: {svg}"
        );
    }
}
