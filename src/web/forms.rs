//! Form fields as the templates render them, and parsing submitted text into domain types with
//! an error message in the person's language next to each field.

use std::fmt;

use rand::Rng;
use serde::Deserialize;

use super::i18n::Messages;
use crate::domain::{
    FieldErrors, IdempotencyKey, KeyField, Person, PersonField, PersonId, PersonInput, Phone,
    Reference, parse_booking_key,
};

/// One input with its label, hint, entered value and error.
#[derive(Default)]
pub struct FieldView {
    pub name: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub value: String,
    pub error: String,
    pub input_type: &'static str,
    pub autocomplete: &'static str,
    pub inputmode: &'static str,
    pub maxlength: usize,
    /// Codes (references, passport numbers): no spell check, capitals on phone keyboards.
    pub no_spellcheck: bool,
    pub multiline: bool,
    pub required: bool,
    /// The hint's and the error's ids, for `aria-describedby`.
    pub described_by: String,
    /// Where htmx sends the form to check this one field when it changes; empty for none.
    pub validate_url: String,
}

/// The entered value is personal data: never printed.
impl fmt::Debug for FieldView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FieldView")
            .field("name", &self.name)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl FieldView {
    fn finish(mut self) -> Self {
        let mut ids = Vec::new();
        if !self.error.is_empty() {
            ids.push(format!("{}-error", self.name));
        }
        if !self.hint.is_empty() {
            ids.push(format!("{}-hint", self.name));
        }
        self.described_by = ids.join(" ");
        self
    }
}

/// An entry of the error summary: links to its field (empty `field` for a form-wide error).
#[derive(Debug, Clone)]
pub struct ErrorItem {
    pub field: String,
    pub message: String,
}

/// Per-field error messages, keyed by field name, in the order of the form.
#[derive(Debug, Default)]
pub struct Errors(Vec<(&'static str, String)>);

impl Errors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: &str) -> String {
        self.0
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, message)| message.clone())
            .unwrap_or_default()
    }

    pub fn summary(&self) -> Vec<ErrorItem> {
        self.0
            .iter()
            .map(|(field, message)| ErrorItem {
                field: (*field).to_owned(),
                message: message.clone(),
            })
            .collect()
    }
}

/// A form that carries the page's CSRF token.
pub trait PostedForm {
    fn csrf(&self) -> &str;
}

impl PostedForm for BookForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl PostedForm for CheckForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl PostedForm for FindForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// A new booking form's submission token: 128 random bits, in hex.
pub fn submission_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The booking form as submitted. Every field is text so that each can be reported.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct BookForm {
    pub csrf: String,
    /// The form's own token, made when the form was first shown and kept while it is shown
    /// again with errors: the booking's idempotency key, so that the same form sent twice (a
    /// double click, a resend after a timeout) gets the booking it made.
    pub submission: String,
    pub centre: String,
    pub slot: String,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub address: String,
    pub postcode: String,
}

/// Personal data: never printed.
impl fmt::Debug for BookForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BookForm { .. }")
    }
}

/// The form's name for a person's field, and the message shown next to it when it is wrong.
/// The message names the field and says what it needs, whether it was left empty or filled in
/// wrongly: an error summary of several "please fill in this field" would not say which is meant.
fn person_field(t: &Messages, field: PersonField) -> (&'static str, &'static str) {
    match field {
        PersonField::IdNumber => ("id_number", t.err_id_number),
        PersonField::Name => ("name", t.err_name),
        PersonField::Phone => ("phone", t.err_phone),
        PersonField::Address => ("address", t.err_address),
        PersonField::Postcode => ("postcode", t.err_postcode),
    }
}

impl BookForm {
    /// The submission token as an idempotency key; a form without a valid one books without.
    pub fn idempotency_key(&self) -> Option<IdempotencyKey> {
        IdempotencyKey::parse(&self.submission).ok()
    }

    /// The person, parsed through the domain; each failing field's message recorded in `errors`.
    pub fn parse_person(&self, t: &Messages, errors: &mut Errors) -> Option<Person> {
        let parsed = Person::parse(PersonInput {
            id_number: &self.id_number,
            name: &self.name,
            phone: &self.phone,
            address: &self.address,
            postcode: &self.postcode,
        });
        match parsed {
            Ok(person) => Some(person),
            Err(fields) => {
                for (field, _) in fields {
                    let (name, message) = person_field(t, field);
                    errors.add(name, message);
                }
                None
            }
        }
    }

    /// The person's inputs, with what was entered and any errors.
    pub fn fields(&self, t: &'static Messages, errors: &Errors) -> Vec<FieldView> {
        let validate = |name: &str| format!("/book/validate?field={name}");
        vec![
            FieldView {
                validate_url: validate("id_number"),
                ..id_number_field(t, &self.id_number, errors)
            }
            .finish(),
            FieldView {
                name: "name",
                label: t.label_name,
                hint: t.hint_name,
                value: self.name.clone(),
                error: errors.get("name"),
                input_type: "text",
                autocomplete: "name",
                maxlength: 100,
                required: true,
                validate_url: validate("name"),
                ..FieldView::default()
            }
            .finish(),
            FieldView {
                name: "phone",
                label: t.label_phone,
                hint: t.hint_phone,
                value: self.phone.clone(),
                error: errors.get("phone"),
                input_type: "tel",
                // `tel`, not `tel-national`: HTML allows only the whole number on a `type=tel`
                // input. An autofilled `+60…` is fine: the phone parser takes every form.
                autocomplete: "tel",
                inputmode: "tel",
                maxlength: 20,
                required: true,
                validate_url: validate("phone"),
                ..FieldView::default()
            }
            .finish(),
            FieldView {
                name: "address",
                label: t.label_address,
                value: self.address.clone(),
                error: errors.get("address"),
                autocomplete: "street-address",
                multiline: true,
                required: true,
                validate_url: validate("address"),
                ..FieldView::default()
            }
            .finish(),
            FieldView {
                name: "postcode",
                label: t.label_postcode,
                hint: t.hint_postcode,
                value: self.postcode.clone(),
                error: errors.get("postcode"),
                input_type: "text",
                autocomplete: "postal-code",
                inputmode: "numeric",
                maxlength: 5,
                validate_url: validate("postcode"),
                ..FieldView::default()
            }
            .finish(),
        ]
    }
}

/// The identity number input, as the booking and the check forms both ask for it.
fn id_number_field(t: &'static Messages, value: &str, errors: &Errors) -> FieldView {
    FieldView {
        name: "id_number",
        label: t.label_id_number,
        hint: t.hint_id_number,
        value: value.to_owned(),
        error: errors.get("id_number"),
        input_type: "text",
        autocomplete: "off",
        maxlength: 24,
        no_spellcheck: true,
        required: true,
        ..FieldView::default()
    }
}

/// The "check my booking" form.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct CheckForm {
    pub csrf: String,
    pub reference: String,
    pub id_number: String,
}

impl fmt::Debug for CheckForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CheckForm { .. }")
    }
}

impl CheckForm {
    pub fn parse(&self, t: &Messages, errors: &mut Errors) -> Option<(Reference, PersonId)> {
        match parse_booking_key(&self.reference, &self.id_number) {
            Ok(key) => Some(key),
            Err(fields) => {
                for (field, _) in fields {
                    match field {
                        KeyField::Reference => errors.add("reference", t.err_reference),
                        KeyField::IdNumber => errors.add("id_number", t.err_id_number),
                    }
                }
                None
            }
        }
    }

    pub fn fields(&self, t: &'static Messages, errors: &Errors) -> Vec<FieldView> {
        vec![
            FieldView {
                name: "reference",
                label: t.label_reference,
                hint: t.hint_reference,
                value: self.reference.clone(),
                error: errors.get("reference"),
                input_type: "text",
                autocomplete: "off",
                maxlength: 16,
                no_spellcheck: true,
                required: true,
                ..FieldView::default()
            }
            .finish(),
            id_number_field(t, &self.id_number, errors).finish(),
        ]
    }
}

/// The "find my booking" form: identity number and the phone number given at booking.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct FindForm {
    pub csrf: String,
    pub id_number: String,
    pub phone: String,
}

impl fmt::Debug for FindForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FindForm { .. }")
    }
}

impl FindForm {
    pub fn parse(&self, t: &Messages, errors: &mut Errors) -> Option<(PersonId, Phone)> {
        let mut fields = FieldErrors::new();
        let id = fields.check("id_number", PersonId::parse(&self.id_number));
        let phone = fields.check("phone", Phone::parse(&self.phone));
        match fields.finish(id.zip(phone)) {
            Ok(found) => Some(found),
            Err(fields) => {
                for (field, _) in fields {
                    match field {
                        "id_number" => errors.add("id_number", t.err_id_number),
                        _ => errors.add("phone", t.err_phone),
                    }
                }
                None
            }
        }
    }

    pub fn fields(&self, t: &'static Messages, errors: &Errors) -> Vec<FieldView> {
        vec![
            id_number_field(t, &self.id_number, errors).finish(),
            FieldView {
                name: "phone",
                label: t.label_phone,
                hint: t.hint_find_phone,
                value: self.phone.clone(),
                error: errors.get("phone"),
                input_type: "tel",
                autocomplete: "tel",
                inputmode: "tel",
                maxlength: 20,
                required: true,
                ..FieldView::default()
            }
            .finish(),
        ]
    }
}
