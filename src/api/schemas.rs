//! The request fields' rules as JSON Schema, so that a client generated from `/openapi.json`
//! refuses what the server would refuse for its form, before it sends anything.
//!
//! Each schema states the rule of one parser in `crate::domain`. Patterns describe the forms
//! people write (a MyKad number with or without its dashes, a reference in either case); the
//! parsers also tolerate stray spaces around a value, which the schemas leave out. What no
//! pattern can say — a date that is not in the calendar, a birth date still to come, a window
//! that ends before it starts — is said in the description and left to the server. The tests
//! below hold each pattern to its parser: whatever a schema accepts, the parser accepts too,
//! unless for one of those reasons.

use serde_json::json;
use utoipa::openapi::Required;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, Object, ObjectBuilder, SchemaFormat, SchemaType, Type};

use crate::domain::text::FORMAT_CHARACTERS;
use crate::domain::{Address, CentreCode, PersonId, PersonName, State};

/// Characters the server refuses in free text: control characters other than tab, line feed
/// and carriage return (`char::is_control` is Unicode's Cc: U+0000–U+001F and U+007F–U+009F).
const CONTROL: &str = r"\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F";

/// The format characters (Cf) the server refuses, as a character-class body: those of the
/// Basic Multilingual Plane. The few beyond it (U+110BD and up) are left to the server: naming
/// them needs `\u{…}`, which an ECMA-262 engine without its `u` flag reads as something else.
fn format_class() -> String {
    FORMAT_CHARACTERS
        .iter()
        .filter(|(_, last)| u32::from(*last) <= 0xFFFF)
        .map(|(first, last)| {
            if first == last {
                format!("\\u{:04X}", u32::from(*first))
            } else {
                format!("\\u{:04X}-\\u{:04X}", u32::from(*first), u32::from(*last))
            }
        })
        .collect()
}

/// What free text may not contain anywhere, as a character-class body.
fn forbidden() -> String {
    format!("{CONTROL}{}", format_class())
}

/// The server's reason for refusing a character no pattern here names.
const BEYOND_THE_PLANE: &str = "Invisible formatting characters (Unicode Cf: bidi overrides, \
    zero-width characters…) are refused; the pattern names those of the Basic Multilingual Plane, \
    the server refuses the rest too (U+110BD, U+110CD, U+13430–U+1343F, U+1BCA0–U+1BCA3, \
    U+1D173–U+1D17A, U+E0001, U+E0020–U+E007F).";

/// Control characters and what `char::is_whitespace` calls a space (Unicode's White_Space
/// outside Cc): free text needs one character that is none of these. Spelled out, because regex
/// engines disagree on `\s` (ECMA-262 adds U+FEFF; some engines leave out U+3000).
const SPACES: &str = r"\x00-\x20\x7F-\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// One character that is neither a space nor refused: what makes text not blank.
fn visible() -> String {
    format!("[^{SPACES}{}]", format_class())
}

/// A year, a month 01–12 and a day 01–31: the shape of a date; the calendar is the server's.
const ISO_DATE: &str = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";
const COMPACT_DATE: &str = "^[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])$";

/// `YYMMDD`, the place-of-birth codes JPN issues (`person::PLACES_OF_BIRTH`) and a serial,
/// dashes or spaces optional between the groups; or a passport number with at least one letter
/// (all digits would be read as a MyKad number).
const ID_NUMBER: &str = "^([0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[- ]?\
    (0[1-9]|1[0-6]|2[1-9]|[3-5][0-9]|6[0-8]|7[124-9]|8[2-9]|9[0-389])[- ]?[0-9]{4}\
    |[0-9]*[A-Za-z][A-Za-z0-9]*)$";

/// `01X` and 7 or 8 digits, or the same after `+60` or `60` in place of the first `0`; spaces,
/// dashes and brackets anywhere are ignored, as `Phone::parse` ignores them.
const PHONE: &str = r"^[-() ]*(\+[-() ]*6[-() ]*0|6[-() ]*0|0)[-() ]*1([-() ]*[0-9]){8,9}[-() ]*$";

/// Two groups of five from the reference alphabet (no 0/O, 1/I/L, U), any case, dash optional.
const REFERENCE: &str = "^[2-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{5}-?[2-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{5}$";

/// `HH:MM-HH:MM`; the end may be `24:00`.
const WINDOW: &str = "^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$";

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// Free text as `clean_text` takes it: no control characters, and at least one character that
/// is not a space. Its length bound counts the text as sent; the server counts it after folding
/// repeated spaces, so the schema is never the more lenient of the two.
fn text(max_chars: usize) -> ObjectBuilder {
    string()
        .pattern(Some(format!(
            "^[^{forbidden}]*{visible}[^{forbidden}]*$",
            forbidden = forbidden(),
            visible = visible()
        )))
        .min_length(Some(1))
        .max_length(Some(max_chars))
}

/// A centre (PPV) code, e.g. `PWTC`; any case.
pub fn centre_code() -> Object {
    string()
        .pattern(Some(format!(
            "^[A-Za-z0-9-]{{{},{}}}$",
            CentreCode::LEN.start(),
            CentreCode::LEN.end()
        )))
        .description(Some(
            "A centre (PPV) code: letters, digits or dashes, e.g. `PWTC`.",
        ))
        .examples([json!("PWTC")])
        .build()
}

/// A centre code as a path parameter. (Written out because utoipa's `IntoParams` derive drops
/// `required` from a parameter whose schema comes from `schema_with`, and a path parameter is
/// always required.)
pub fn centre_code_in_path(name: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .schema(Some(centre_code()))
        .build()
}

/// The v1 API's dates.
pub fn iso_date() -> Object {
    string()
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
        .pattern(Some(ISO_DATE))
        .description(Some(
            "An ISO 8601 calendar date, `YYYY-MM-DD`. A day that is not in the calendar \
             (2021-02-30) is refused by the server.",
        ))
        .examples([json!("2021-05-16")])
        .build()
}

/// The seed's dates.
pub fn compact_date() -> Object {
    string()
        .pattern(Some(COMPACT_DATE))
        .description(Some(
            "A date written `yyyymmdd`, as the 2021 seed system wrote it. A day that is not in \
             the calendar (20210230) is refused by the server.",
        ))
        .examples([json!("20210516")])
        .build()
}

/// A time window as the availability listing writes it.
pub fn time_window() -> Object {
    string()
        .pattern(Some(WINDOW))
        .description(Some(
            "A time window `HH:MM-HH:MM`, as `/api/v1/centres/{code}/availability` lists it; \
             it must end after it starts.",
        ))
        .examples([json!("09:00-12:00")])
        .build()
}

/// An identity number: MyKad or passport.
pub fn id_number() -> Object {
    string()
        .pattern(Some(ID_NUMBER))
        .min_length(Some(*PersonId::PASSPORT_LEN.start()))
        .max_length(Some(*PersonId::PASSPORT_LEN.end()))
        .description(Some(
            "A MyKad number, 12 digits `YYMMDD-PB-###G` (dashes or spaces optional) whose first \
             six digits are a birth date that has passed and whose digits 7–8 are a \
             place-of-birth code in use; or a passport number of 6 to 20 letters and digits.",
        ))
        .examples([json!("900127-01-5527")])
        .build()
}

/// A person's name, in any script.
pub fn person_name() -> Object {
    text(PersonName::MAX_CHARS)
        .description(Some(format!(
            "The person's name in any script: at most 100 characters, not only spaces, no \
             control characters. {BEYOND_THE_PLANE}"
        )))
        .examples([json!("Fadhil Yaacob")])
        .build()
}

/// The seed's first name: the seed joins `firstName` and `lastName` into one name.
pub fn first_name() -> Object {
    text(PersonName::MAX_CHARS)
        .description(Some(format!(
            "Not only spaces, no control characters. Joined with `lastName` by a space, the \
             name must be at most 100 characters. {BEYOND_THE_PLANE}"
        )))
        .examples([json!("Fadhil")])
        .build()
}

/// The seed's last name: may be empty (a person with one name gives it as `firstName`).
pub fn last_name() -> Object {
    string()
        .pattern(Some(format!("^[^{}]*$", forbidden())))
        .max_length(Some(PersonName::MAX_CHARS))
        .description(Some(format!(
            "May be empty; no control characters. Joined with `firstName` by a space, the \
             name must be at most 100 characters. {BEYOND_THE_PLANE}"
        )))
        .examples([json!("Yaacob")])
        .build()
}

/// A postal address.
pub fn address() -> Object {
    text(Address::MAX_CHARS)
        .description(Some(format!(
            "A postal address: at most 200 characters, not only spaces, no control \
             characters. {BEYOND_THE_PLANE}"
        )))
        .examples([json!("Kuala Lumpur")])
        .build()
}

/// A Malaysian mobile number.
pub fn phone() -> Object {
    string()
        .pattern(Some(PHONE))
        .description(Some(
            "A Malaysian mobile number: `01X` and 7 or 8 digits, or the same with `+60`/`60` in \
             place of the first `0`. Spaces, dashes and brackets are ignored. Stored in E.164.",
        ))
        .examples([json!("012-345 6789")])
        .build()
}

/// An optional postcode.
pub fn postcode() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .pattern(Some("^[0-9]{5}$"))
        .description(Some(
            "A Malaysian postcode, five digits; leave it out if unknown.",
        ))
        .examples([json!("50480")])
        .build()
}

/// A booking reference as the server hands it out.
pub fn reference() -> Object {
    string()
        .pattern(Some(REFERENCE))
        .description(Some(
            "A booking reference: 10 letters and digits, any case, dash in the middle optional.",
        ))
        .examples([json!("7KQ4M-PX2RD")])
        .build()
}

/// A state or federal territory code, listed from `State::ALL`.
pub fn state_code() -> Object {
    string()
        .enum_values(Some(State::ALL.map(State::code)))
        .description(Some("A state or federal territory code."))
        .examples([json!("selangor")])
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        Phone, Postcode, Reference, TimeWindow, parse_compact_date, parse_iso_date,
    };
    use proptest::prelude::*;

    type Parser = fn(&str) -> Result<(), String>;

    fn ok<T, E: ToString>(parsed: Result<T, E>) -> Result<(), String> {
        parsed.map(|_| ()).map_err(|e| e.to_string())
    }

    fn accepts(schema: &Object, value: &str) -> bool {
        let schema = serde_json::to_value(schema).unwrap();
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap()
            .is_valid(&json!(value))
    }

    /// Whatever the schema accepts, the parser accepts, unless its reason is `beyond`: one a
    /// pattern cannot state.
    fn assert_never_laxer(schema: &Object, parse: Parser, beyond: &[&str], value: &str) {
        if accepts(schema, value)
            && let Err(reason) = parse(value)
        {
            assert!(
                beyond.iter().any(|b| reason.contains(b)),
                "the schema accepts {value:?}, the server refuses it: {reason}"
            );
        }
    }

    fn assert_accepts(schema: &Object, parse: Parser, values: &[&str]) {
        for value in values {
            assert!(parse(value).is_ok(), "the parser refuses {value:?}");
            assert!(accepts(schema, value), "the schema refuses {value:?}");
        }
    }

    fn assert_refuses(schema: &Object, parse: Parser, values: &[&str]) {
        for value in values {
            assert!(parse(value).is_err(), "the parser accepts {value:?}");
            assert!(!accepts(schema, value), "the schema accepts {value:?}");
        }
    }

    fn id(raw: &str) -> Result<(), String> {
        ok(PersonId::parse(raw))
    }
    fn name(raw: &str) -> Result<(), String> {
        ok(PersonName::parse(raw))
    }
    fn addr(raw: &str) -> Result<(), String> {
        ok(Address::parse(raw))
    }
    fn phone_number(raw: &str) -> Result<(), String> {
        ok(Phone::parse(raw))
    }
    fn centre(raw: &str) -> Result<(), String> {
        ok(CentreCode::parse(raw))
    }
    fn reference_code(raw: &str) -> Result<(), String> {
        ok(Reference::parse(raw))
    }
    fn window(raw: &str) -> Result<(), String> {
        ok(TimeWindow::parse(raw))
    }
    fn iso(raw: &str) -> Result<(), String> {
        ok(parse_iso_date(raw))
    }
    fn compact(raw: &str) -> Result<(), String> {
        ok(parse_compact_date(raw))
    }
    fn post(raw: &str) -> Result<(), String> {
        ok(Postcode::parse(raw))
    }

    #[test]
    fn the_forms_people_write_are_accepted_by_schema_and_parser_alike() {
        assert_accepts(
            &id_number(),
            id,
            &[
                "900127-01-5527",
                "900127015527",
                "900127 01 5527",
                "A1234567",
                "a1234567",
                "12AB34",
            ],
        );
        assert_accepts(
            &person_name(),
            name,
            &["Fadhil Yaacob", "Siti", "陈美玲", "N"],
        );
        assert_accepts(&address(), addr, &["Jalan 1,\nKuala Lumpur", "KL"]);
        assert_accepts(
            &phone(),
            phone_number,
            &[
                "0123456789",
                "012-345 6789",
                "011-2345 6789",
                "60123456789",
                "+60123456789",
                "+60 12-345 6789",
                "(012) 345 6789",
            ],
        );
        assert_accepts(&centre_code(), centre, &["PWTC", "pwtc", "IDCC-2", "UM"]);
        assert_accepts(
            &reference(),
            reference_code,
            &["7KQ4M-PX2RD", "7kq4m-px2rd", "7KQ4MPX2RD"],
        );
        assert_accepts(
            &time_window(),
            window,
            &["09:00-12:00", "00:00-24:00", "13:30-17:45"],
        );
        assert_accepts(&iso_date(), iso, &["2021-05-16", "2024-02-29"]);
        assert_accepts(&compact_date(), compact, &["20210516", "20240229"]);
        assert_accepts(&postcode(), post, &["50480", "01000"]);
        for state in State::ALL {
            assert!(accepts(&state_code(), state.code()));
        }
    }

    #[test]
    fn what_the_parser_refuses_for_its_form_the_schema_refuses_too() {
        assert_refuses(
            &id_number(),
            id,
            &[
                "",
                "123",
                "90012701552",
                "9001270155271",
                "901327015527",
                "900127005527",
                "900127975527",
                "A12#4567",
                "A1234",
                "123456",
                "A123456789012345678901",
            ],
        );
        assert_refuses(
            &person_name(),
            name,
            &[
                "",
                "   ",
                "\t\n",
                "Siti\u{0}",
                &"a".repeat(101),
                "Ali\u{202E}nimda",
                "\u{200B}",
                "Siti\u{FEFF}",
                "\u{2066}Siti\u{2069}",
            ],
        );
        assert_refuses(
            &address(),
            addr,
            &["", " ", "Jalan\u{7}", &"a".repeat(201), "Jalan\u{200D}1"],
        );
        assert_refuses(
            &phone(),
            phone_number,
            &[
                "",
                "0321234567",
                "012345678",
                "012345678901",
                "01234S6789",
                "+6512345678",
                "600123456789",
            ],
        );
        assert_refuses(
            &centre_code(),
            centre,
            &["P", "PW TC", "PWTC!", &"A".repeat(17)],
        );
        assert_refuses(
            &reference(),
            reference_code,
            &[
                "",
                "7KQ4M-PX2R0",
                "7KQ4M-PX2R",
                "7KQ4M-PX2RDX",
                "IIIII-LLLLL",
            ],
        );
        assert_refuses(
            &time_window(),
            window,
            &["9-12", "09:60-10:00", "09:00-24:01", "24:00-24:00"],
        );
        assert_refuses(&iso_date(), iso, &["16/05/2021", "2021-13-01", "20210516"]);
        assert_refuses(
            &compact_date(),
            compact,
            &["2021-05-16", "20211301", "2021051"],
        );
        assert_refuses(&postcode(), post, &["5048", "504800", "5O480"]);
        assert!(!accepts(&state_code(), "atlantis"));
        assert!(State::parse("atlantis").is_err());
    }

    proptest! {
        // Strings built from the characters each rule cares about, so that near misses are
        // common: a pattern that is laxer than its parser is found here.
        #[test]
        fn an_identity_number_the_schema_accepts_is_one_the_server_accepts(
            raw in "[0-9]{6}[- ]{0,2}[0-9]{2}[- ]{0,2}[0-9]{4}|[0-9A-Za-z -]{0,22}",
        ) {
            assert_never_laxer(&id_number(), id, &["birth date"], &raw);
        }

        #[test]
        fn a_phone_number_the_schema_accepts_is_one_the_server_accepts(
            raw in "[+]?[-() ]{0,2}(6|60|0)?[-() ]{0,2}[0-9() -]{0,13}",
        ) {
            assert_never_laxer(&phone(), phone_number, &[], &raw);
        }

        #[test]
        fn text_the_schema_accepts_is_text_the_server_accepts(
            raw in "[ \t\n\r\u{0}-\u{1f}\u{7f}-\u{a0}\u{ad}a-z\u{1680}\u{2000}-\u{200f}\u{2028}-\u{202f}\u{2060}-\u{206f}\u{3000}\u{feff}\u{e0041}]{0,5}",
        ) {
            // Beyond the plane: the tag character U+E0041, which the server alone refuses.
            let beyond = ["invisible formatting"];
            assert_never_laxer(&person_name(), name, &beyond, &raw);
            assert_never_laxer(&address(), addr, &beyond, &raw);
            if !raw.contains('\u{e0041}') {
                assert_never_laxer(&person_name(), name, &[], &raw);
            }
        }

        #[test]
        fn slots_and_references_the_schema_accepts_are_ones_the_server_accepts(
            code in "[A-Za-z0-9 !-]{0,18}",
            time in "[0-9]{2}:[0-9]{2}-[0-9]{2}:[0-9]{2}",
            date in "[0-9]{4}-[0-9]{2}-[0-9]{2}",
            compact_day in "[0-9]{8}",
            reference_raw in "[0-9A-Za-z]{5}-?[0-9A-Za-z]{5}",
        ) {
            assert_never_laxer(&centre_code(), centre, &[], &code);
            assert_never_laxer(&time_window(), window, &["end after it starts"], &time);
            assert_never_laxer(&iso_date(), iso, &["calendar date"], &date);
            assert_never_laxer(&compact_date(), compact, &["real calendar date"], &compact_day);
            assert_never_laxer(&reference(), reference_code, &[], &reference_raw);
        }
    }
}
