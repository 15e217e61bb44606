//! Booking: the form (slot shown and changeable), its submission (303 to the confirmation, or
//! 422 with the form and its errors), inline validation for htmx, and the confirmation page.

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State as AxumState};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;

use super::WebState;
use super::browse::{remaining_label, window_label};
use super::ctx::Ctx;
use super::error::WebError;
use super::forms::{BookForm, ErrorItem, Errors, FieldView, submission_token};
use super::i18n::Messages;
use super::manage::{BookingDetails, active_booking, booking_cookie_value};
use super::page::{Chrome, NoticeKind, web_page};
use super::qr::qr_svg;
use crate::booking::{Availability, BookError, BookingRequest};
use crate::catalogue::{Centre, Phase};
use crate::domain::{CentreCode, SlotKey, TimeWindow, parse_iso_date};
use crate::http::client::ClientId;
use crate::http::limits::{BookingPostAllowed, TooManyBookingPosts};

#[derive(Debug, Template)]
#[template(path = "pages/book.html")]
struct BookPage {
    chrome: Chrome,
    t: &'static Messages,
    csrf: String,
    /// The form's submission token (see [`BookForm::submission`]).
    submission: String,
    state_code: &'static str,
    state_name: &'static str,
    centre_code: String,
    centre_name: String,
    centre_address: String,
    slot_error: String,
    slot_groups: Vec<SlotGroup>,
    fields: Vec<FieldView>,
    errors: Vec<ErrorItem>,
}

#[derive(Debug)]
struct SlotGroup {
    label: String,
    options: Vec<SlotOption>,
}

#[derive(Debug)]
struct SlotOption {
    value: String,
    label: String,
    selected: bool,
    disabled: bool,
}

/// A slot as the form's `<select>` writes it: `2021-05-16_0900-1200`.
fn slot_value(slot: &SlotKey) -> String {
    format!("{}_{}", slot.date, slot.window.code())
}

fn parse_slot_value(centre: &CentreCode, raw: &str) -> Option<SlotKey> {
    let (date, window) = raw.split_once('_')?;
    Some(SlotKey {
        centre: centre.clone(),
        date: parse_iso_date(date).ok()?,
        window: TimeWindow::parse(window).ok()?,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SlotQuery {
    centre: String,
    date: String,
    window: String,
}

/// The slot a link names, if the catalogue has it.
fn chosen_slot<'a>(state: &'a WebState, query: &SlotQuery) -> Option<(&'a Centre, SlotKey)> {
    let catalogue = state.app.service.catalogue();
    let centre = catalogue.centre(&CentreCode::parse(&query.centre).ok()?)?;
    let date: NaiveDate = parse_iso_date(&query.date).ok()?;
    let window = TimeWindow::parse(&query.window).ok()?;
    let slot = SlotKey {
        centre: centre.code.clone(),
        date,
        window,
    };
    catalogue.capacity(&slot)?;
    Some((centre, slot))
}

/// Why the campaign takes no booking now, if it does not.
fn closed_notice(state: &WebState) -> Option<NoticeKind> {
    match state
        .app
        .service
        .catalogue()
        .campaign()
        .phase(chrono::Utc::now())
    {
        Phase::Open => None,
        Phase::NotOpen { opens_at } => Some(NoticeKind::NotOpen { opens_at }),
        Phase::Closed { closed_at } => Some(NoticeKind::Closed { closed_at }),
    }
}

pub async fn form(
    ctx: Ctx,
    AxumState(state): AxumState<WebState>,
    Query(query): Query<SlotQuery>,
) -> Result<Response, WebError> {
    let (centre, slot) = chosen_slot(&state, &query).ok_or_else(WebError::not_found)?;
    // Not errors: the answer to "can I book this?", shown where the form would be.
    if let Some(notice) = closed_notice(&state) {
        return Ok(ctx.notice(StatusCode::OK, notice));
    }
    let counts = state.app.service.availability().await.ok();
    if counts.as_ref().is_some_and(|c| c.remaining(&slot) == 0) {
        let centre = Some(centre.code.clone());
        return Ok(ctx.notice(StatusCode::OK, NoticeKind::SoldOut { centre }));
    }
    let values = BookForm {
        slot: slot_value(&slot),
        ..BookForm::default()
    };
    let page = book_page(&ctx, &state, centre, &values, &Errors::default(), counts);
    Ok(ctx.render(StatusCode::OK, &page))
}

fn book_page(
    ctx: &Ctx,
    state: &WebState,
    centre: &Centre,
    values: &BookForm,
    errors: &Errors,
    counts: Option<Availability>,
) -> BookPage {
    let t = ctx.t;
    let mut groups: Vec<SlotGroup> = Vec::new();
    for (slot, _) in state.app.service.catalogue().slots_of(&centre.code) {
        let value = slot_value(slot);
        let (left, remaining) = remaining_label(ctx.lang, counts.as_ref(), slot);
        let selected = value == values.slot;
        let option = SlotOption {
            label: format!("{} · {left}", window_label(ctx.lang, &slot.window)),
            selected,
            disabled: remaining == 0 && !selected,
            value,
        };
        let label = ctx.lang.long_date(slot.date);
        match groups.last_mut() {
            Some(group) if group.label == label => group.options.push(option),
            _ => groups.push(SlotGroup {
                label,
                options: vec![option],
            }),
        }
    }
    let mut summary = Vec::new();
    let slot_error = errors.get("slot");
    if !slot_error.is_empty() {
        summary.push(ErrorItem {
            field: "slot".into(),
            message: slot_error.clone(),
        });
    }
    summary.extend(errors.summary().into_iter().filter(|e| e.field != "slot"));
    BookPage {
        chrome: ctx.chrome(t.book_title),
        t,
        csrf: ctx.csrf().to_owned(),
        // Kept while the same form is shown again, so a resend is recognised; a new form (or
        // one without a valid token) gets a new one.
        submission: match values.idempotency_key() {
            Some(_) => values.submission.clone(),
            None => submission_token(),
        },
        state_code: centre.state.code(),
        state_name: centre.state.name(),
        centre_code: centre.code.to_string(),
        centre_name: centre.name.clone(),
        centre_address: centre.address.clone(),
        slot_error,
        slot_groups: groups,
        fields: values.fields(t, errors),
        errors: summary,
    }
}

pub async fn submit(
    allowed: Result<BookingPostAllowed, TooManyBookingPosts>,
    ctx: Ctx,
    AxumState(state): AxumState<WebState>,
    ClientId(client): ClientId,
    form: Result<Form<BookForm>, FormRejection>,
) -> Result<Response, WebError> {
    let values = ctx.accept(form)?;
    if let Err(limited) = allowed {
        let retry_after_secs = limited.retry_after_secs;
        return Err(WebError::new(
            StatusCode::TOO_MANY_REQUESTS,
            NoticeKind::TooManyAttempts { retry_after_secs },
        ));
    }
    let t = ctx.t;
    let service = &state.app.service;
    let catalogue = service.catalogue();
    let centre = CentreCode::parse(&values.centre)
        .ok()
        .and_then(|code| catalogue.centre(&code))
        .ok_or_else(WebError::bad_request)?;
    let mut errors = Errors::default();
    let slot = parse_slot_value(&centre.code, &values.slot)
        .filter(|slot| catalogue.capacity(slot).is_some());
    if slot.is_none() {
        errors.add("slot", t.err_slot);
    }
    let person = values.parse_person(t, &mut errors);
    let (Some(slot), Some(person)) = (slot, person) else {
        return Ok(form_again(
            &ctx,
            &state,
            centre,
            &values,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await);
    };
    // Refusals that belong next to a field show the form again, values kept; the others are
    // pages of their own.
    let request = BookingRequest {
        slot,
        person,
        client,
        idempotency_key: values.idempotency_key(),
    };
    // The same form sent again (a double click, a resend after a timeout) gets the booking it
    // made, and so the confirmation again.
    let (field, message, status) = match service.book(request).await {
        Ok(booking) => {
            let mut response = ctx.redirect("/booked");
            if let Some(cookie) = ctx.booking_cookie_header(booking_cookie_value(&state, &booking))
            {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
            return Ok(response);
        }
        // The form's token already booked this person, for other details (back, edit, resend):
        // they hold a booking.
        Err(BookError::AlreadyBooked | BookError::KeyReused) => {
            ("id_number", t.err_already_booked, StatusCode::CONFLICT)
        }
        Err(BookError::UnknownSlot) => ("slot", t.err_slot, StatusCode::UNPROCESSABLE_ENTITY),
        Err(BookError::SoldOut) => return Err(WebError::sold_out_at(&centre.code)),
        Err(other) => return Err(other.into()),
    };
    let mut errors = Errors::default();
    errors.add(field, message);
    Ok(form_again(&ctx, &state, centre, &values, &errors, status).await)
}

/// The form again, with what was entered and every error.
async fn form_again(
    ctx: &Ctx,
    state: &WebState,
    centre: &Centre,
    values: &BookForm,
    errors: &Errors,
    status: StatusCode,
) -> Response {
    let counts = state.app.service.availability().await.ok();
    let page = book_page(ctx, state, centre, values, errors, counts);
    ctx.render(status, &page)
}

#[derive(Debug, Template)]
#[template(path = "partials/field_only.html")]
struct FieldPartial {
    t: &'static Messages,
    f: FieldView,
}

#[derive(Debug, Deserialize)]
pub struct FieldQuery {
    field: String,
}

/// htmx's inline check of one field as it changes: answers that field's markup, with its error
/// if it has one. htmx sends the whole form, token included, which is checked like any POST.
pub async fn validate(
    ctx: Ctx,
    Query(query): Query<FieldQuery>,
    form: Result<Form<BookForm>, FormRejection>,
) -> Result<Response, WebError> {
    let values = ctx.accept(form)?;
    let mut errors = Errors::default();
    values.parse_person(ctx.t, &mut errors);
    let field = values
        .fields(ctx.t, &errors)
        .into_iter()
        .find(|f| f.name == query.field)
        .ok_or_else(WebError::not_found)?;
    let html = FieldPartial { t: ctx.t, f: field }
        .render()
        .map_err(|error| WebError::render_failed(&error))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response())
}

#[derive(Debug, Template)]
#[template(path = "pages/booked.html")]
struct BookedPage {
    chrome: Chrome,
    t: &'static Messages,
    reference: String,
    qr_svg: String,
    d: BookingDetails,
}

/// The confirmation: shown from the store, never from what the form said.
pub async fn confirmation(
    ctx: Ctx,
    AxumState(state): AxumState<WebState>,
) -> Result<Response, WebError> {
    let booking = match active_booking(&ctx, &state).await? {
        Ok(booking) => booking,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let t = ctx.t;
    let reference = booking.reference.to_string();
    let page = BookedPage {
        chrome: ctx.chrome(t.booked_title),
        t,
        qr_svg: qr_svg(&reference, t.booked_qr_label),
        reference,
        d: BookingDetails::new(&ctx, &state, &booking),
    };
    Ok(ctx.render(StatusCode::OK, &page))
}

web_page!(BookPage, BookedPage);
