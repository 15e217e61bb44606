//! Free text as people type it (names, addresses): normalised, and refused when it carries
//! characters that make it show something other than what it is.
//!
//! A name travels on to SMS senders and vaccination records through Kafka. A right-to-left
//! override (U+202E) makes "Ali\u{202E}nimda" print as "Aliadmin"; zero-width spaces and joiners
//! make two names that look the same compare different; control characters break the systems
//! that print them. So free text is refused when it holds a control character (Unicode's Cc,
//! other than the tab and line breaks a pasted address carries, which become spaces) or a format
//! character (Cf: bidi controls, zero-width characters, the byte-order mark, tag characters…),
//! and what is kept is NFC: "é" typed as `e` + combining acute is the same name as a
//! precomposed "é", for comparisons, lengths and every system downstream.

use unicode_normalization::UnicodeNormalization;

use super::ParseError;

/// Unicode's format characters (general category Cf), as ranges. Written out, rather than asked
/// of a crate at run time, so that the API's schemas state the same set (see
/// `api::schemas`); a test holds it to Unicode's data.
pub const FORMAT_CHARACTERS: &[(char, char)] = &[
    ('\u{00AD}', '\u{00AD}'),
    ('\u{0600}', '\u{0605}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{06DD}', '\u{06DD}'),
    ('\u{070F}', '\u{070F}'),
    ('\u{0890}', '\u{0891}'),
    ('\u{08E2}', '\u{08E2}'),
    ('\u{180E}', '\u{180E}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFF9}', '\u{FFFB}'),
    ('\u{110BD}', '\u{110BD}'),
    ('\u{110CD}', '\u{110CD}'),
    ('\u{13430}', '\u{1343F}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0001}', '\u{E0001}'),
    ('\u{E0020}', '\u{E007F}'),
];

/// Whether `c` is a format character (Cf).
pub fn is_format_character(c: char) -> bool {
    FORMAT_CHARACTERS
        .iter()
        .any(|(first, last)| (*first..=*last).contains(&c))
}

/// Free text with no control or format characters, in NFC, with surrounding and repeated
/// whitespace removed; at least one visible character and at most `max_chars` (counted once
/// normalised).
pub fn clean_text(raw: &str, max_chars: usize, what: &'static str) -> Result<String, ParseError> {
    if raw
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ParseError::new(
            "contains control characters, which cannot be printed",
        ));
    }
    if raw.chars().any(is_format_character) {
        return Err(ParseError::new(
            "contains invisible formatting characters (such as a right-to-left override or a \
             zero-width space); please type it again without them",
        ));
    }
    let normalised: String = raw.nfc().collect();
    let cleaned = normalised.split_whitespace().collect::<Vec<_>>().join(" ");
    if cleaned.is_empty() {
        return Err(ParseError::new("is required"));
    }
    if cleaned.chars().count() > max_chars {
        return Err(ParseError::new(format!(
            "{what} must be at most {max_chars} characters"
        )));
    }
    Ok(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_general_category::{GeneralCategory, get_general_category};

    #[test]
    fn the_format_character_table_is_unicode_s_cf() {
        let differ: Vec<String> = (0..=u32::from(char::MAX))
            .filter_map(char::from_u32)
            .filter(|c| {
                (get_general_category(*c) == GeneralCategory::Format) != is_format_character(*c)
            })
            .map(|c| format!("U+{:04X}", u32::from(c)))
            .collect();
        assert!(
            differ.is_empty(),
            "FORMAT_CHARACTERS disagrees with Unicode's Cf at {differ:?}"
        );
    }

    #[test]
    fn bidi_overrides_zero_width_characters_and_tags_are_refused_with_a_reason() {
        for sneaky in [
            "Ali\u{202E}nimda",
            "Siti\u{200B}Nur",
            "Siti\u{200D}Nur",
            "\u{FEFF}Siti",
            "Siti\u{2066}Nur\u{2069}",
            "Siti\u{00AD}Nur",
            "Siti\u{E0041}\u{E0042}",
        ] {
            let error = clean_text(sneaky, 100, "a name").unwrap_err();
            assert!(error.message().contains("invisible"), "{sneaky:?}: {error}");
        }
        let error = clean_text("Siti\u{7}", 100, "a name").unwrap_err();
        assert!(error.message().contains("control"), "{error}");
    }

    #[test]
    fn text_is_kept_in_nfc_so_one_name_has_one_form() {
        let decomposed = clean_text("Jose\u{301}  Lim", 100, "a name").unwrap();
        let composed = clean_text("Jos\u{E9} Lim", 100, "a name").unwrap();
        assert_eq!(decomposed, composed);
        assert_eq!(decomposed, "Jos\u{E9} Lim");
        // Lengths count the normalised text.
        assert!(clean_text(&"e\u{301}".repeat(10), 10, "a name").is_ok());
    }

    #[test]
    fn pasted_line_breaks_and_tabs_become_spaces() {
        assert_eq!(
            clean_text(" Jalan 1,\r\n\tKuala Lumpur ", 200, "an address").unwrap(),
            "Jalan 1, Kuala Lumpur"
        );
    }
}
