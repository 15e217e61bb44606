//! `/api/v1`: the versioned JSON API. Handlers parse into domain types, call `BookingService`,
//! and shape its answers; no business rule lives here.

use axum::Json;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::conditional;
use super::json::{ApiJson, JsonBodyRefused};
use super::problem::{ApiError, Problem};
use super::schemas;
use crate::booking::{BookingRequest, ClientKey};
use crate::domain::{
    Booking, BookingStatus, CentreCode, FieldErrors, IdempotencyKey, KeyField, Person, PersonField,
    PersonId, PersonInput, Phone, Reference, SlotKey, State, TimeWindow, parse_booking_key,
    parse_iso_date,
};
use crate::http::AppState;
use crate::http::client::ClientId;
use crate::http::limits::{BookingPostAllowed, TooManyBookingPosts};

/// Every v1 route with its operation; `routes!` takes each path from the handler's
/// `#[utoipa::path]`, so the router and the document cannot disagree.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_states))
        .routes(routes!(list_centres))
        .routes(routes!(centre_availability))
        .routes(routes!(create_booking))
        .routes(routes!(lookup_booking))
        .routes(routes!(find_booking))
        .routes(routes!(cancel_booking))
}

/// A state or federal territory, with how many centres it has in this campaign.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StateSummary {
    /// e.g. `kuala-lumpur`.
    code: &'static str,
    /// e.g. `W.P. Kuala Lumpur`.
    name: &'static str,
    centres: usize,
}

/// A vaccination centre (PPV).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CentreSummary {
    code: String,
    name: String,
    state: &'static str,
    state_name: &'static str,
    address: String,
}

/// A centre's offer: every date, every window, with remaining places.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CentreAvailability {
    centre: CentreSummary,
    /// True when the store could not be read just now and these counts are older than usual.
    stale: bool,
    days: Vec<DayAvailability>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DayAvailability {
    /// ISO 8601 date.
    #[schema(example = "2021-05-16")]
    date: String,
    windows: Vec<WindowAvailability>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WindowAvailability {
    /// `HH:MM-HH:MM`; pass it back as `window` when booking.
    #[schema(example = "09:00-12:00")]
    window: String,
    capacity: u32,
    remaining: u32,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CentresQuery {
    /// Only centres in this state.
    #[param(schema_with = schemas::state_code)]
    state: Option<String>,
}

/// The centre in an availability path.
#[derive(Debug, Deserialize)]
pub struct CentrePath {
    code: String,
}

impl IntoParams for CentrePath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![schemas::centre_code_in_path("code")]
    }
}

/// A booking request. Each field's schema states the rule the server checks; all problems are
/// reported together, each under its field. Fields default to empty so that a missing one is
/// reported as required with the others, not as a parse failure on its own.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateBooking {
    #[schema(schema_with = schemas::centre_code, required = true)]
    #[serde(default)]
    centre: String,
    #[schema(schema_with = schemas::iso_date, required = true)]
    #[serde(default)]
    date: String,
    #[schema(schema_with = schemas::time_window, required = true)]
    #[serde(default)]
    window: String,
    #[schema(schema_with = schemas::id_number, required = true)]
    #[serde(default)]
    id_number: String,
    #[schema(schema_with = schemas::person_name, required = true)]
    #[serde(default)]
    name: String,
    #[schema(schema_with = schemas::phone, required = true)]
    #[serde(default)]
    phone: String,
    #[schema(schema_with = schemas::address, required = true)]
    #[serde(default)]
    address: String,
    #[schema(schema_with = schemas::postcode)]
    postcode: Option<String>,
}

/// Reference and identity number together: neither alone discloses anything.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BookingKey {
    #[schema(schema_with = schemas::reference, required = true)]
    #[serde(default)]
    reference: String,
    #[schema(schema_with = schemas::id_number, required = true)]
    #[serde(default)]
    id_number: String,
}

/// The identity number and the phone number a booking was made with: the person knows both,
/// reference or not.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FindBooking {
    #[schema(schema_with = schemas::id_number, required = true)]
    #[serde(default)]
    id_number: String,
    #[schema(schema_with = schemas::phone, required = true)]
    #[serde(default)]
    phone: String,
}

/// Request bodies carry personal data: their `Debug` shows none of it.
macro_rules! redacted_debug {
    ($($ty:ident),*) => {$(
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($ty), " { .. }"))
            }
        }
    )*};
}
redacted_debug!(CreateBooking, BookingKey, FindBooking);

/// A booking as its holder sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BookingView {
    #[schema(example = "7KQ4M-PX2RD")]
    reference: String,
    /// `confirmed` or `cancelled`.
    status: &'static str,
    booked_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cancelled_at: Option<String>,
    centre: CentreSummary,
    date: String,
    window: String,
    /// `mykad` or `passport`. Not a digit of the number: beside the reference it would be half
    /// of what opens the booking, and answers get shown and shared.
    id_type: &'static str,
    name: String,
    /// Masked: the person knows it, an answer that leaks should not tell it.
    #[schema(example = "+60 12-*** **89")]
    phone: String,
    /// Masked: its first word and `…`.
    #[schema(example = "Jalan …")]
    address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    postcode: Option<String>,
}

/// `/api/v1`'s names for the person's fields (camelCase, as in the JSON bodies).
pub(crate) fn person_field_name(field: &PersonField) -> &'static str {
    match field {
        PersonField::IdNumber => "idNumber",
        PersonField::Name => "name",
        PersonField::Phone => "phone",
        PersonField::Address => "address",
        PersonField::Postcode => "postcode",
    }
}

fn key_field_name(field: &KeyField) -> &'static str {
    match field {
        KeyField::Reference => "reference",
        KeyField::IdNumber => "idNumber",
    }
}

fn centre_summary(state: &AppState, code: &CentreCode) -> CentreSummary {
    let centre = state.service.catalogue().centre(code);
    CentreSummary {
        code: code.to_string(),
        name: centre.map(|c| c.name.clone()).unwrap_or_default(),
        state: centre.map_or("", |c| c.state.code()),
        state_name: centre.map_or("", |c| c.state.name()),
        address: centre.map(|c| c.address.clone()).unwrap_or_default(),
    }
}

pub(crate) fn booking_view(state: &AppState, booking: &Booking) -> BookingView {
    let person = &booking.person;
    BookingView {
        reference: booking.reference.to_string(),
        status: if booking.is_active() {
            "confirmed"
        } else {
            "cancelled"
        },
        booked_at: booking.booked_at.to_rfc3339(),
        cancelled_at: match booking.status {
            BookingStatus::Cancelled { cancelled_at } => Some(cancelled_at.to_rfc3339()),
            BookingStatus::Confirmed => None,
        },
        centre: centre_summary(state, &booking.slot.centre),
        date: booking.slot.date.to_string(),
        window: booking.slot.window.to_string(),
        id_type: person.id.kind(),
        name: person.name.as_ref().to_owned(),
        phone: person.phone.masked(),
        address: person.address.masked(),
        postcode: person.postcode.as_ref().map(|p| p.as_ref().to_owned()),
    }
}

/// All 16 states and federal territories, each with its number of centres.
#[utoipa::path(get, path = "/api/v1/states", tag = "v1", operation_id = "listStates",
    responses((status = 200, description = "Every state and federal territory", body = [StateSummary])))]
pub async fn list_states(AxumState(state): AxumState<AppState>) -> Json<Vec<StateSummary>> {
    let catalogue = state.service.catalogue();
    Json(
        State::ALL
            .into_iter()
            .map(|s| StateSummary {
                code: s.code(),
                name: s.name(),
                centres: catalogue.centres_in(s).count(),
            })
            .collect(),
    )
}

/// Centres, optionally only those in one state.
#[utoipa::path(get, path = "/api/v1/centres", tag = "v1", operation_id = "listCentres", params(CentresQuery),
    responses(
        (status = 200, description = "The centres, in catalogue order", body = [CentreSummary]),
        (status = 422, description = "`/problems/validation-error`: an unknown state code, or a query parameter other than `state`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_centres(
    AxumState(state): AxumState<AppState>,
    query: Result<Query<CentresQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<CentreSummary>>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::field("query", e.body_text()))?;
    let filter = match query.state {
        Some(raw) => Some(State::parse(&raw).map_err(|e| ApiError::field("state", e.message()))?),
        None => None,
    };
    let centres = state
        .service
        .catalogue()
        .centres()
        .iter()
        .filter(|c| filter.is_none_or(|s| c.state == s))
        .map(|c| centre_summary(&state, &c.code))
        .collect();
    Ok(Json(centres))
}

/// A centre's dates and time windows with remaining places (at most about a second old).
#[utoipa::path(get, path = "/api/v1/centres/{code}/availability", tag = "v1",
    operation_id = "getCentreAvailability", params(CentrePath),
    responses(
        (status = 200, description = "The centre's dates and windows", body = CentreAvailability, headers(
            ("ETag" = String, description = "Send it back in `If-None-Match` to get 304 while the counts are unchanged"),
            ("Cache-Control" = String, description = "public, max-age=1, stale-while-revalidate=5"),
            ("X-Availability-Stale" = String, description = "`true` when the store could not be read and older counts are shown"),
        )),
        (status = 304, description = "Unchanged since the `ETag` in `If-None-Match`", headers(
            ("ETag" = String, description = "The same tag"),
            ("Cache-Control" = String, description = "public, max-age=1, stale-while-revalidate=5"),
        )),
        (status = 400, description = "The centre code is not UTF-8 once percent-decoded (the router's own plain-text answer)", body = String, content_type = "text/plain"),
        (status = 404, description = "`/problems/not-found`: no centre has this code", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "`/problems/internal-error`: the answer could not be encoded (a bug)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`/problems/service-unavailable`: the store cannot be read and there is no earlier snapshot.", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn centre_availability(
    AxumState(state): AxumState<AppState>,
    Path(CentrePath { code }): Path<CentrePath>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound(format!("there is no centre {code:?}"));
    let code = CentreCode::parse(&code).map_err(|_| not_found())?;
    let catalogue = state.service.catalogue();
    catalogue.centre(&code).ok_or_else(not_found)?;
    let availability = state.service.availability().await?;
    let key = format!("v1-availability:{code}");
    Ok(conditional::availability_json(
        &headers,
        &availability,
        &key,
        || {
            let mut days: Vec<DayAvailability> = Vec::new();
            for (slot, capacity) in catalogue.slots_of(&code) {
                let window = WindowAvailability {
                    window: slot.window.to_string(),
                    capacity,
                    remaining: availability.remaining(slot),
                };
                let date = slot.date.to_string();
                match days.last_mut() {
                    Some(day) if day.date == date => day.windows.push(window),
                    _ => days.push(DayAvailability {
                        date,
                        windows: vec![window],
                    }),
                }
            }
            CentreAvailability {
                centre: centre_summary(&state, &code),
                stale: availability.stale,
                days,
            }
        },
    ))
}

impl CreateBooking {
    /// Every field parsed; all problems reported together.
    fn parse(
        self,
        client: ClientKey,
        idempotency_key: Option<IdempotencyKey>,
    ) -> Result<BookingRequest, ApiError> {
        let mut errors: FieldErrors<&'static str> = FieldErrors::new();
        let centre = errors.check("centre", CentreCode::parse(&self.centre));
        let date = errors.check("date", parse_iso_date(&self.date));
        let window = errors.check("window", TimeWindow::parse(&self.window));
        let person = errors.absorb(
            Person::parse(PersonInput {
                id_number: &self.id_number,
                name: &self.name,
                phone: &self.phone,
                address: &self.address,
                postcode: self.postcode.as_deref().unwrap_or(""),
            }),
            |field| person_field_name(&field),
        );
        let request = (|| {
            Some(BookingRequest {
                slot: SlotKey {
                    centre: centre?,
                    date: date?,
                    window: window?,
                },
                person: person?,
                client,
                idempotency_key,
            })
        })();
        errors
            .finish(request)
            .map_err(|errors| ApiError::fields(errors, |name| *name))
    }
}

impl FindBooking {
    fn parse(self) -> Result<(PersonId, Phone), ApiError> {
        let mut errors: FieldErrors<&'static str> = FieldErrors::new();
        let id = errors.check("idNumber", PersonId::parse(&self.id_number));
        let phone = errors.check("phone", Phone::parse(&self.phone));
        errors
            .finish(id.zip(phone))
            .map_err(|errors| ApiError::fields(errors, |name| *name))
    }
}

/// The `Idempotency-Key` header, if sent; a malformed one is a field error naming it.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, ApiError> {
    let named = |message: &str| ApiError::field("Idempotency-Key", message);
    let mut values = headers.get_all("idempotency-key").iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(named("must be sent once"));
    }
    let raw = value
        .to_str()
        .map_err(|_| named("must be 1 to 255 visible ASCII characters, such as a UUID"))?;
    IdempotencyKey::parse(raw)
        .map(Some)
        .map_err(|e| named(e.message()))
}

impl BookingKey {
    fn parse(self) -> Result<(Reference, PersonId), ApiError> {
        parse_booking_key(&self.reference, &self.id_number)
            .map_err(|errors| ApiError::fields(errors, key_field_name))
    }
}

/// Books a place. 201 only when the booking and its event are stored.
///
/// Send an `Idempotency-Key` (e.g. a new UUID per booking the person asks for) and send it
/// again with any retry of the same request: if the first attempt was booked — its answer lost
/// to a timeout or a dropped connection — the retry gets that booking back (201, the same
/// reference), never `already-booked`. Keys are kept for a day, per identity number.
#[utoipa::path(post, path = "/api/v1/bookings", tag = "v1", operation_id = "createBooking",
    request_body = CreateBooking,
    params(("Idempotency-Key" = Option<String>, Header,
        description = "The client's name for this booking request (1 to 255 visible ASCII characters, e.g. a UUID). The same key with the same request gets the booking it made (201, the same reference) for a day; with a different request by the same identity number, 422 naming this header.")),
    responses(
        (status = 201, description = "Booked", body = BookingView, links(
            ("lookup" = (operation_id = "lookupBooking",
                request_body = json!({"reference": "$response.body#/reference", "idNumber": "$request.body#/idNumber"}),
                description = "Check the booking later: its reference from this answer, the identity number from this request (the answer does not show it).")),
            ("cancel" = (operation_id = "cancelBooking",
                request_body = json!({"reference": "$response.body#/reference", "idNumber": "$request.body#/idNumber"}),
                description = "Cancel the booking and free its place: the same two values.")),
        )),
        (status = 409, description = "`/problems/sold-out`, `/problems/already-booked`, `/problems/not-open` or `/problems/closed`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`/problems/validation-error`: per-field `errors` for every field that is missing, unknown, of the wrong type or not in its form, or for an `Idempotency-Key` that is malformed or was used by this identity number for a different request; or `/problems/unknown-slot`: the centre has no such date and window", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`/problems/too-many-requests`: too many booking requests from this address or for this identity number from this address", body = Problem, content_type = "application/problem+json", headers(
            ("Retry-After" = u64, description = "Seconds until this address or identity number may try again"),
        )),
        (status = 500, description = "`/problems/internal-error`: the booking event could not be encoded (a bug); nothing was booked. `findBooking` says where to check.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`/problems/service-unavailable`: the store did not answer in time; the booking may or may not have been made. `findBooking` names where to find out (identity number and phone number), or send the same request with the same `Idempotency-Key` again.", body = Problem, content_type = "application/problem+json"),
        JsonBodyRefused,
    ))]
pub async fn create_booking(
    allowed: Result<BookingPostAllowed, TooManyBookingPosts>,
    AxumState(state): AxumState<AppState>,
    ClientId(client): ClientId,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateBooking>,
) -> Result<(StatusCode, Json<BookingView>), ApiError> {
    allowed?;
    let key = idempotency_key(&headers)?;
    let request = body.parse(client, key)?;
    let booking = state.service.book(request).await?;
    Ok((StatusCode::CREATED, Json(booking_view(&state, &booking))))
}

/// Shows a booking to someone who has both its reference and its identity number.
#[utoipa::path(post, path = "/api/v1/bookings/lookup", tag = "v1", operation_id = "lookupBooking",
    request_body = BookingKey,
    responses(
        (status = 200, description = "The booking, confirmed or cancelled", body = BookingView, links(
            ("cancel" = (operation_id = "cancelBooking",
                request_body = json!({"reference": "$response.body#/reference", "idNumber": "$request.body#/idNumber"}),
                description = "Cancel this booking: its reference from this answer, the identity number from this request.")),
        )),
        (status = 404, description = "`/problems/not-found`: no booking matches both (the same answer whichever is wrong)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`/problems/validation-error`: `reference` or `idNumber` is missing, of the wrong type or not in its form, or the body has another field", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`/problems/too-many-failed-attempts`: too many failed attempts for this reference (5 in 15 minutes by default; `findBooking` names the other way in) or from this network", body = Problem, content_type = "application/problem+json", headers(
            ("Retry-After" = u64, description = "Seconds until the lock ends"),
        )),
        (status = 503, description = "`/problems/service-unavailable`: the store did not answer in time.", body = Problem, content_type = "application/problem+json"),
        JsonBodyRefused,
    ))]
pub async fn lookup_booking(
    AxumState(state): AxumState<AppState>,
    ClientId(client): ClientId,
    ApiJson(body): ApiJson<BookingKey>,
) -> Result<Json<BookingView>, ApiError> {
    let (reference, id) = body.parse()?;
    let booking = state.service.lookup(&reference, &id, &client).await?;
    Ok(Json(booking_view(&state, &booking)))
}

/// Finds the person's active booking by the identity number and the phone number it was made
/// with: the way back for someone who lost the reference, or never got the answer.
#[utoipa::path(post, path = "/api/v1/bookings/find", tag = "v1", operation_id = "findBooking",
    request_body = FindBooking,
    responses(
        (status = 200, description = "The person's active booking", body = BookingView, links(
            ("cancel" = (operation_id = "cancelBooking",
                request_body = json!({"reference": "$response.body#/reference", "idNumber": "$request.body#/idNumber"}),
                description = "Cancel it: its reference from this answer, the identity number from this request.")),
        )),
        (status = 404, description = "`/problems/not-found`: no active booking for this identity number with this phone number (the same answer whichever is wrong)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`/problems/validation-error`: `idNumber` or `phone` is missing, of the wrong type or not in its form, or the body has another field", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`/problems/too-many-failed-attempts`: too many failed attempts for this identity number (5 in 15 minutes by default; `lookupBooking` names the other way in) or from this network", body = Problem, content_type = "application/problem+json", headers(
            ("Retry-After" = u64, description = "Seconds until the lock ends"),
        )),
        (status = 503, description = "`/problems/service-unavailable`: the store did not answer in time.", body = Problem, content_type = "application/problem+json"),
        JsonBodyRefused,
    ))]
pub async fn find_booking(
    AxumState(state): AxumState<AppState>,
    ClientId(client): ClientId,
    ApiJson(body): ApiJson<FindBooking>,
) -> Result<Json<BookingView>, ApiError> {
    let (id, phone) = body.parse()?;
    let booking = state.service.find(&id, &phone, &client).await?;
    Ok(Json(booking_view(&state, &booking)))
}

/// Cancels a booking and frees its place; the person may book again.
#[utoipa::path(post, path = "/api/v1/bookings/cancel", tag = "v1", operation_id = "cancelBooking",
    request_body = BookingKey,
    responses(
        (status = 200, description = "Cancelled", body = BookingView),
        (status = 404, description = "`/problems/not-found`: no booking matches both (the same answer whichever is wrong)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`/problems/already-cancelled`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`/problems/validation-error`: `reference` or `idNumber` is missing, of the wrong type or not in its form, or the body has another field", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`/problems/too-many-failed-attempts`: too many failed attempts for this reference (5 in 15 minutes by default; `findBooking` names the other way in) or from this network", body = Problem, content_type = "application/problem+json", headers(
            ("Retry-After" = u64, description = "Seconds until the lock ends"),
        )),
        (status = 500, description = "`/problems/internal-error`: the cancellation event could not be encoded (a bug); nothing was cancelled", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`/problems/service-unavailable`: the store did not answer in time; a lookup shows whether the booking was cancelled.", body = Problem, content_type = "application/problem+json"),
        JsonBodyRefused,
    ))]
pub async fn cancel_booking(
    AxumState(state): AxumState<AppState>,
    ClientId(client): ClientId,
    ApiJson(body): ApiJson<BookingKey>,
) -> Result<Json<BookingView>, ApiError> {
    let (reference, id) = body.parse()?;
    let booking = state.service.cancel(&reference, &id, &client).await?;
    Ok(Json(booking_view(&state, &booking)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bodies_never_print_the_personal_data_they_carry() {
        let booking: CreateBooking = serde_json::from_value(serde_json::json!({
            "centre": "TEST", "date": "2030-01-01", "window": "09:00-12:00",
            "idNumber": "880514-14-5873", "name": "Siti Rahsia", "phone": "017-482 9316",
            "address": "Lorong Rahsia 7"}))
        .unwrap();
        let key: BookingKey = serde_json::from_value(
            serde_json::json!({"reference": "7KQ4M-PX2RD", "idNumber": "880514145873"}),
        )
        .unwrap();
        let find: FindBooking = serde_json::from_value(
            serde_json::json!({"idNumber": "880514145873", "phone": "0174829316"}),
        )
        .unwrap();
        let printed = format!("{booking:?} {key:?} {find:?}");
        for secret in ["5873", "9316", "Rahsia", "7KQ4M"] {
            assert!(!printed.contains(secret), "{printed}");
        }
    }
}
