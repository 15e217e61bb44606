//! Parsing a whole form at once: every field's error, not just the first.
//!
//! A front end names the fields its own way (`idNumber` in `/api/v1`, `mysejahteraId` in the
//! seed's body, `id_number` in the web form) and words the errors its own way (English
//! problem documents, Malay or English next to an input); the parsing and the rules live here,
//! once.

use super::{Address, ParseError, Person, PersonId, PersonName, Phone, Postcode, Reference};

/// Every field that could not be parsed, with why, in the order they were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldErrors<F> {
    errors: Vec<(F, ParseError)>,
}

impl<F> Default for FieldErrors<F> {
    fn default() -> Self {
        Self { errors: Vec::new() }
    }
}

impl<F> FieldErrors<F> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The parsed value, or `None` with the error recorded against `field`.
    pub fn check<T>(&mut self, field: F, parsed: Result<T, ParseError>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(error) => {
                self.errors.push((field, error));
                None
            }
        }
    }

    pub fn push(&mut self, field: F, error: ParseError) {
        self.errors.push((field, error));
    }

    /// The value of a nested parse, or `None` with its errors recorded under this form's
    /// names for its fields.
    pub fn absorb<T, G>(
        &mut self,
        parsed: Result<T, FieldErrors<G>>,
        name: impl Fn(G) -> F,
    ) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(nested) => {
                self.errors
                    .extend(nested.errors.into_iter().map(|(g, e)| (name(g), e)));
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &(F, ParseError)> {
        self.errors.iter()
    }

    /// `Ok(value)` when no field failed. `value` is `None` only if a field failed, so the
    /// fallback is never reached with an empty list.
    pub fn finish<T>(self, value: Option<T>) -> Result<T, Self> {
        match value {
            Some(value) if self.errors.is_empty() => Ok(value),
            _ => Err(self),
        }
    }
}

impl<F> IntoIterator for FieldErrors<F> {
    type Item = (F, ParseError);
    type IntoIter = std::vec::IntoIter<(F, ParseError)>;

    fn into_iter(self) -> Self::IntoIter {
        self.errors.into_iter()
    }
}

/// The person's fields of a booking, as typed.
#[derive(Clone, Copy, Default)]
pub struct PersonInput<'a> {
    pub id_number: &'a str,
    pub name: &'a str,
    pub phone: &'a str,
    pub address: &'a str,
    /// Optional: empty or only spaces means none.
    pub postcode: &'a str,
}

/// Personal data: never printed.
impl std::fmt::Debug for PersonInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PersonInput { .. }")
    }
}

/// A field of [`PersonInput`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PersonField {
    IdNumber,
    Name,
    Phone,
    Address,
    Postcode,
}

impl Person {
    /// Every field parsed; all problems reported together.
    pub fn parse(input: PersonInput<'_>) -> Result<Self, FieldErrors<PersonField>> {
        let mut errors = FieldErrors::new();
        let id = errors.check(PersonField::IdNumber, PersonId::parse(input.id_number));
        let name = errors.check(PersonField::Name, PersonName::parse(input.name));
        let phone = errors.check(PersonField::Phone, Phone::parse(input.phone));
        let address = errors.check(PersonField::Address, Address::parse(input.address));
        let postcode = match input.postcode.trim() {
            "" => Some(None),
            raw => errors
                .check(PersonField::Postcode, Postcode::parse(raw))
                .map(Some),
        };
        let person = (|| {
            Some(Person {
                id: id?,
                name: name?,
                phone: phone?,
                address: address?,
                postcode: postcode?,
            })
        })();
        errors.finish(person)
    }
}

/// A field of a booking's key: what lookup and cancel ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyField {
    Reference,
    IdNumber,
}

/// A booking's reference and its holder's identity number, both parsed; together (and only
/// together) they open the booking.
pub fn parse_booking_key(
    reference: &str,
    id_number: &str,
) -> Result<(Reference, PersonId), FieldErrors<KeyField>> {
    let mut errors = FieldErrors::new();
    let reference = errors.check(KeyField::Reference, Reference::parse(reference));
    let id = errors.check(KeyField::IdNumber, PersonId::parse(id_number));
    errors.finish(reference.zip(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_person_field_is_reported_at_once_in_form_order() {
        let errors = Person::parse(PersonInput {
            id_number: "12",
            name: " ",
            phone: "0123456789",
            address: "",
            postcode: "5048",
        })
        .unwrap_err();
        let fields: Vec<PersonField> = errors.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            [
                PersonField::IdNumber,
                PersonField::Name,
                PersonField::Address,
                PersonField::Postcode
            ]
        );
    }

    #[test]
    fn a_blank_postcode_is_none_and_a_good_person_parses() {
        let person = Person::parse(PersonInput {
            id_number: "900127-01-5527",
            name: "Siti  Nur",
            phone: "012-345 6789",
            address: "Kuala Lumpur",
            postcode: "  ",
        })
        .unwrap();
        assert_eq!(person.postcode, None);
        assert_eq!(person.name.as_ref(), "Siti Nur");
        assert_eq!(person.phone.e164(), "+60123456789");
    }

    #[test]
    fn nested_errors_take_the_outer_form_s_names() {
        let mut outer: FieldErrors<&'static str> = FieldErrors::new();
        let inner = parse_booking_key("", "x");
        assert!(outer.absorb(inner, format_key).is_none());
        let names: Vec<&str> = outer.iter().map(|(f, _)| *f).collect();
        assert_eq!(names, ["reference", "idNumber"]);
    }

    fn format_key(field: KeyField) -> &'static str {
        match field {
            KeyField::Reference => "reference",
            KeyField::IdNumber => "idNumber",
        }
    }
}
