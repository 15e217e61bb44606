//! The 2021 seed system's endpoints, unchanged for its clients: same paths, field names,
//! `yyyymmdd` dates and status codes. Both go through `BookingService` like everything else.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State as AxumState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::conditional;
use super::json;
use super::problem::{ApiError, Problem, set_retry_after, with_cause};
use super::schemas;
use crate::booking::{BookingRequest, ClientKey};
use crate::domain::{
    CentreCode, FieldErrors, Person, PersonField, PersonInput, parse_compact_date,
};
use crate::http::AppState;
use crate::http::client::ClientId;
use crate::http::limits::{BookingPostAllowed, TooManyBookingPosts};

/// Both seed routes with their operations, as `v1::router` does it.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(stations))
        .routes(routes!(booking))
}

/// The station in a `/stations/{name}` path: a centre code.
#[derive(Debug, Deserialize)]
pub struct StationPath {
    name: String,
}

impl IntoParams for StationPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![schemas::centre_code_in_path("name")]
    }
}

/// One day at one centre, in the seed's shape.
#[derive(Debug, Serialize, ToSchema)]
pub struct StationDay {
    #[schema(example = "PWTC")]
    location: String,
    /// `yyyymmdd`.
    #[schema(example = "20210516")]
    date: String,
    /// Places left that day, summed over its time windows.
    #[schema(example = 1000)]
    availability: u32,
}

/// The seed's booking body. Unknown fields are ignored, as the seed did; a missing field is
/// empty, and reported like one.
#[derive(Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SeedBooking {
    /// MyKad number (or passport number).
    #[schema(schema_with = schemas::id_number, required = true)]
    mysejahtera_id: String,
    #[schema(schema_with = schemas::first_name, required = true)]
    first_name: String,
    #[schema(schema_with = schemas::last_name)]
    last_name: String,
    #[schema(schema_with = schemas::address, required = true)]
    address: String,
    /// Centre code.
    #[schema(schema_with = schemas::centre_code, required = true)]
    location: String,
    #[schema(schema_with = schemas::phone, required = true)]
    phone_number: String,
    #[schema(schema_with = schemas::compact_date, required = true)]
    date: String,
}

/// Personal data: never printed.
impl std::fmt::Debug for SeedBooking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SeedBooking { .. }")
    }
}

/// The seed's success answer: the booking echoed, plus the reference it now has.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeedBooked {
    #[serde(flatten)]
    booking: SeedBooking,
    /// Added by jkjav (extra fields do not disturb the seed's clients): needed to check or cancel.
    #[schema(example = "7KQ4M-PX2RD")]
    reference: String,
}

/// The seed's error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeedFailure {
    #[schema(example = "Failed")]
    status: &'static str,
    message: String,
}

/// Renders an error the way the seed did: 400 `{"status":"Failed"}` for anything the client
/// can fix or must accept, 404 for an unknown station, 503 (with Retry-After) when the store is down.
fn failure(error: ApiError) -> Response {
    let status = match error.status() {
        s if s.is_server_error() => StatusCode::SERVICE_UNAVAILABLE,
        // Not the seed's (it had no limits), but a client must be able to tell "wait" from "no";
        // and a body that is not JSON is refused as such (the seed took any).
        s @ (StatusCode::NOT_FOUND
        | StatusCode::TOO_MANY_REQUESTS
        | StatusCode::UNSUPPORTED_MEDIA_TYPE) => s,
        _ => StatusCode::BAD_REQUEST,
    };
    let message = match &error {
        ApiError::Validation(errors) => errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_problem().detail,
    };
    let response = (
        status,
        Json(SeedFailure {
            status: "Failed",
            message,
        }),
    )
        .into_response();
    with_cause(set_retry_after(response, error.retry_after()), &error)
}

/// A centre's days in date order with places left (the seed ignored the name; this does not).
#[utoipa::path(get, path = "/stations/{name}", tag = "seed", operation_id = "seedStationDays",
    params(StationPath),
    responses(
        (status = 200, description = "One entry per day, in date order", body = [StationDay], headers(
            ("Cache-Control" = String, description = "public, max-age=1, stale-while-revalidate=5"),
            ("ETag" = String, description = "Send it back in `If-None-Match` to get 304 while the counts are unchanged"),
            ("X-Availability-Stale" = String, description = "`true` when the store could not be read and older counts are shown"),
        )),
        (status = 304, description = "Unchanged since the `ETag` in `If-None-Match`", headers(
            ("ETag" = String, description = "The same tag"),
            ("Cache-Control" = String, description = "public, max-age=1, stale-while-revalidate=5"),
        )),
        (status = 400, description = "The name is not UTF-8 once percent-decoded (the router's own plain-text answer)", body = String, content_type = "text/plain"),
        (status = 404, description = "No centre has this code", body = SeedFailure),
        (status = 500, description = "`/problems/internal-error`: the answer could not be encoded (a bug)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store cannot be read and there is no earlier snapshot.", body = SeedFailure),
    ))]
pub async fn stations(
    AxumState(state): AxumState<AppState>,
    Path(StationPath { name }): Path<StationPath>,
    headers: HeaderMap,
) -> Response {
    let catalogue = state.service.catalogue();
    let Some(code) = CentreCode::parse(&name)
        .ok()
        .filter(|c| catalogue.centre(c).is_some())
    else {
        return failure(ApiError::NotFound(format!("unknown location {name:?}")));
    };
    let availability = match state.service.availability().await {
        Ok(availability) => availability,
        Err(error) => return failure(error.into()),
    };
    let key = format!("seed-stations:{code}");
    conditional::availability_json(&headers, &availability, &key, || {
        let mut days: Vec<StationDay> = Vec::new();
        for (slot, _) in catalogue.slots_of(&code) {
            let date = slot.date.format("%Y%m%d").to_string();
            let remaining = availability.remaining(slot);
            match days.last_mut() {
                Some(day) if day.date == date => day.availability += remaining,
                _ => days.push(StationDay {
                    location: code.to_string(),
                    date,
                    availability: remaining,
                }),
            }
        }
        days
    })
}

/// Books with the seed's payload. The window is the first one that day with places left.
#[utoipa::path(post, path = "/booking", tag = "seed", operation_id = "seedBooking",
    request_body(content = SeedBooking, description = "JSON, sent with `Content-Type: application/json` (the seed's own commands send it)."),
    responses(
        (status = 200, description = "Booked and stored", body = SeedBooked),
        (status = 400, description = "Every client error, as the seed answered them: a field not in its form, an unknown location or date, sold out, already booked, not open or closed; and a body that is not JSON, broke off, or is larger than the server takes (`JKJAV_MAX_BODY_BYTES`). `message` says which.", body = SeedFailure),
        (status = 415, description = "The `Content-Type` is not JSON (`application/json`). The seed read any body as JSON, so any web page could book through its visitors' browsers with a plain form; the seed's clients all send JSON.", body = SeedFailure),
        (status = 429, description = "Too many booking requests from this address or for this identity number", body = SeedFailure, headers(
            ("Retry-After" = u64, description = "Seconds until this address or identity number may try again"),
        )),
        (status = 503, description = "The store did not answer in time, or the booking event could not be encoded: the booking may or may not have been made, and `message` says how to find out (`POST /api/v1/bookings/find` with the identity number and phone number).", body = SeedFailure),
    ))]
pub async fn booking(
    allowed: Result<BookingPostAllowed, TooManyBookingPosts>,
    AxumState(state): AxumState<AppState>,
    headers: HeaderMap,
    ClientId(client): ClientId,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Err(limited) = allowed {
        return failure(limited.into());
    }
    if !json::is_json(&headers) {
        return failure(ApiError::UnsupportedMediaType);
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            return failure(json::body_error(rejection, state.config.max_body_bytes));
        }
    };
    let seed: SeedBooking = match json::parse(&body) {
        Ok(seed) => seed,
        Err(error) => return failure(error),
    };
    match book(&state, seed.clone(), client).await {
        Ok(reference) => Json(SeedBooked {
            booking: seed,
            reference,
        })
        .into_response(),
        Err(error) => failure(error),
    }
}

/// The seed's names for the person's fields; the name is the first and last name together.
fn person_field_name(field: &PersonField) -> &'static str {
    match field {
        PersonField::IdNumber => "mysejahteraId",
        PersonField::Name => "firstName",
        PersonField::Phone => "phoneNumber",
        PersonField::Address => "address",
        PersonField::Postcode => "postcode",
    }
}

async fn book(state: &AppState, seed: SeedBooking, client: ClientKey) -> Result<String, ApiError> {
    let mut errors: FieldErrors<&'static str> = FieldErrors::new();
    let name = format!("{} {}", seed.first_name, seed.last_name);
    let person = errors.absorb(
        Person::parse(PersonInput {
            id_number: &seed.mysejahtera_id,
            name: &name,
            phone: &seed.phone_number,
            address: &seed.address,
            postcode: "",
        }),
        |field| person_field_name(&field),
    );
    let centre = errors.check("location", CentreCode::parse(&seed.location));
    let date = errors.check("date", parse_compact_date(&seed.date));
    let (person, centre, date) = errors
        .finish(person.zip(centre).zip(date).map(|((p, c), d)| (p, c, d)))
        .map_err(|errors| ApiError::fields(errors, |name| *name))?;
    if state.service.catalogue().centre(&centre).is_none() {
        return Err(ApiError::field(
            "location",
            format!("there is no location {centre}"),
        ));
    }
    let slot = state
        .service
        .window_for(&centre, date)
        .await?
        .ok_or_else(|| {
            ApiError::field("date", format!("{centre} has no slots on {}", seed.date))
        })?;
    let request = BookingRequest {
        slot,
        person,
        client,
        idempotency_key: None,
    };
    let booking = state.service.book(request).await?;
    Ok(booking.reference.to_string())
}
