//! After booking: check a booking with its reference and identity number, or find it with the
//! identity number and the phone number it was made with; see it, cancel it after a
//! confirmation step. A wrong reference and a wrong identity number (or a wrong phone number)
//! get the same answer, and failures are limited (see `booking::attempts`): too many lock that
//! way in for a while, and the page names the other.

use askama::Template;
use axum::Form;
use axum::extract::State as AxumState;
use axum::extract::rejection::FormRejection;
use axum::http::{StatusCode, header};
use axum::response::Response;
use chrono::Utc;

use super::WebState;
use super::browse::window_label;
use super::ctx::Ctx;
use super::error::WebError;
use super::forms::{CheckForm, ErrorItem, Errors, FieldView, FindForm};
use super::i18n::Messages;
use super::page::{Chrome, web_page};
use super::pass::UncheckedPass;
use crate::booking::LookupError;
use crate::domain::{Booking, BookingStatus};
use crate::http::client::ClientId;

/// What the booking pages show of a booking. Not a digit of the identity number: beside the
/// reference it is half of what opens the booking, and these pages get screenshotted and shared.
/// The phone number is masked: whoever sees this screen knows it, a shoulder-surfer need not.
#[derive(Debug)]
pub struct BookingDetails {
    pub reference: String,
    pub status: &'static str,
    pub centre_name: String,
    pub centre_address: String,
    pub date: String,
    pub time: String,
    pub name: String,
    pub phone: String,
}

impl BookingDetails {
    pub fn new(ctx: &Ctx, state: &WebState, booking: &Booking) -> Self {
        let centre = state.app.service.catalogue().centre(&booking.slot.centre);
        Self {
            reference: booking.reference.to_string(),
            status: match booking.status {
                BookingStatus::Confirmed => ctx.t.status_confirmed,
                BookingStatus::Cancelled { .. } => ctx.t.status_cancelled,
            },
            centre_name: centre.map_or_else(|| booking.slot.centre.to_string(), |c| c.name.clone()),
            centre_address: centre.map(|c| c.address.clone()).unwrap_or_default(),
            date: ctx.lang.long_date(booking.slot.date),
            time: window_label(ctx.lang, &booking.slot.window),
            name: booking.person.name.as_ref().to_owned(),
            phone: booking.person.phone.masked(),
        }
    }
}

/// The booking cookie's value: a signed pass for this booking (see [`super::pass`]).
pub fn booking_cookie_value(state: &WebState, booking: &Booking) -> String {
    state.pass_key.issue(booking, Utc::now())
}

/// The booking this browser just made or looked up (its pass is for it); `None` when there is
/// no valid pass for a booking that exists, so the caller sends the person to the check form.
pub async fn current_booking(ctx: &Ctx, state: &WebState) -> Result<Option<Booking>, WebError> {
    let Some(pass) = ctx
        .booking_cookie()
        .and_then(|raw| UncheckedPass::parse(raw, Utc::now()))
    else {
        return Ok(None);
    };
    let key = &state.pass_key;
    match state
        .app
        .service
        .lookup_verified(&pass.reference, |booking| pass.is_for(booking, key))
        .await
    {
        Ok(booking) => Ok(Some(booking)),
        Err(LookupError::NotFound | LookupError::AlreadyCancelled) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// The current booking if it is still active; otherwise where to go instead: the booking as it
/// stands (cancelled), or the check form (no valid pass).
pub async fn active_booking(
    ctx: &Ctx,
    state: &WebState,
) -> Result<Result<Booking, Response>, WebError> {
    Ok(match current_booking(ctx, state).await? {
        Some(booking) if booking.is_active() => Ok(booking),
        Some(_) => Err(ctx.redirect("/my-booking")),
        None => Err(ctx.redirect("/check")),
    })
}

#[derive(Debug, Template)]
#[template(path = "pages/check.html")]
struct CheckPage {
    chrome: Chrome,
    t: &'static Messages,
    csrf: String,
    fields: Vec<FieldView>,
    errors: Vec<ErrorItem>,
}

fn check_page(ctx: &Ctx, values: &CheckForm, errors: &Errors) -> CheckPage {
    CheckPage {
        chrome: ctx.chrome(ctx.t.check_title),
        t: ctx.t,
        csrf: ctx.csrf().to_owned(),
        fields: values.fields(ctx.t, errors),
        errors: errors.summary(),
    }
}

pub async fn check_form(ctx: Ctx) -> Response {
    let page = check_page(&ctx, &CheckForm::default(), &Errors::default());
    ctx.render(StatusCode::OK, &page)
}

pub async fn check_submit(
    ctx: Ctx,
    AxumState(state): AxumState<WebState>,
    ClientId(client): ClientId,
    form: Result<Form<CheckForm>, FormRejection>,
) -> Result<Response, WebError> {
    let values = ctx.accept(form)?;
    let mut errors = Errors::default();
    let Some((reference, id)) = values.parse(ctx.t, &mut errors) else {
        let page = check_page(&ctx, &values, &errors);
        return Ok(ctx.render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    match state.app.service.lookup(&reference, &id, &client).await {
        Ok(booking) => Ok(to_my_booking(&ctx, &state, &booking)),
        Err(LookupError::NotFound | LookupError::AlreadyCancelled) => {
            // One message for either number being wrong: nothing to learn by trying.
            errors.add("", ctx.t.err_no_match);
            let page = check_page(&ctx, &values, &errors);
            Ok(ctx.render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(other) => Err(other.into()),
    }
}

/// 303 to the booking's page, with its pass.
fn to_my_booking(ctx: &Ctx, state: &WebState, booking: &Booking) -> Response {
    let mut response = ctx.redirect("/my-booking");
    if let Some(cookie) = ctx.booking_cookie_header(booking_cookie_value(state, booking)) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

#[derive(Debug, Template)]
#[template(path = "pages/find.html")]
struct FindPage {
    chrome: Chrome,
    t: &'static Messages,
    csrf: String,
    fields: Vec<FieldView>,
    errors: Vec<ErrorItem>,
}

fn find_page(ctx: &Ctx, values: &FindForm, errors: &Errors) -> FindPage {
    FindPage {
        chrome: ctx.chrome(ctx.t.find_title),
        t: ctx.t,
        csrf: ctx.csrf().to_owned(),
        fields: values.fields(ctx.t, errors),
        errors: errors.summary(),
    }
}

pub async fn find_form(ctx: Ctx) -> Response {
    let page = find_page(&ctx, &FindForm::default(), &Errors::default());
    ctx.render(StatusCode::OK, &page)
}

/// Find my booking: the identity number and the phone number it was made with open the
/// person's active booking (and give this browser its pass), reference or not.
pub async fn find_submit(
    ctx: Ctx,
    AxumState(state): AxumState<WebState>,
    ClientId(client): ClientId,
    form: Result<Form<FindForm>, FormRejection>,
) -> Result<Response, WebError> {
    let values = ctx.accept(form)?;
    let mut errors = Errors::default();
    let Some((id, phone)) = values.parse(ctx.t, &mut errors) else {
        let page = find_page(&ctx, &values, &errors);
        return Ok(ctx.render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    match state.app.service.find(&id, &phone, &client).await {
        Ok(booking) => Ok(to_my_booking(&ctx, &state, &booking)),
        Err(LookupError::NotFound) => {
            // One message whichever is wrong, and for no booking at all.
            errors.add("", ctx.t.err_find_no_match);
            let page = find_page(&ctx, &values, &errors);
            Ok(ctx.render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Template)]
#[template(path = "pages/my_booking.html")]
struct MyBookingPage {
    chrome: Chrome,
    t: &'static Messages,
    active: bool,
    status_notice: &'static str,
    d: BookingDetails,
}

pub async fn show(ctx: Ctx, AxumState(state): AxumState<WebState>) -> Result<Response, WebError> {
    let Some(booking) = current_booking(&ctx, &state).await? else {
        return Ok(ctx.redirect("/check"));
    };
    let t = ctx.t;
    let active = booking.is_active();
    let page = MyBookingPage {
        chrome: ctx.chrome(t.booking_title),
        t,
        active,
        status_notice: if active {
            t.booking_active_notice
        } else {
            t.booking_cancelled_notice
        },
        d: BookingDetails::new(&ctx, &state, &booking),
    };
    Ok(ctx.render(StatusCode::OK, &page))
}

#[derive(Debug, Template)]
#[template(path = "pages/cancel.html")]
struct CancelPage {
    chrome: Chrome,
    t: &'static Messages,
    csrf: String,
    d: BookingDetails,
}

pub async fn confirm_cancel(
    ctx: Ctx,
    AxumState(state): AxumState<WebState>,
) -> Result<Response, WebError> {
    let booking = match active_booking(&ctx, &state).await? {
        Ok(booking) => booking,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let page = CancelPage {
        chrome: ctx.chrome(ctx.t.cancel_title),
        t: ctx.t,
        csrf: ctx.csrf().to_owned(),
        d: BookingDetails::new(&ctx, &state, &booking),
    };
    Ok(ctx.render(StatusCode::OK, &page))
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct CancelForm {
    csrf: String,
}

impl super::forms::PostedForm for CancelForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn cancel(
    ctx: Ctx,
    AxumState(state): AxumState<WebState>,
    form: Result<Form<CancelForm>, FormRejection>,
) -> Result<Response, WebError> {
    ctx.accept(form)?;
    let Some(booking) = current_booking(&ctx, &state).await? else {
        return Ok(ctx.redirect("/check"));
    };
    // The pass proved the holder: not counted as a guess, never locked.
    match state
        .app
        .service
        .cancel_as_holder(&booking.reference, &booking.person.id)
        .await
    {
        // Already cancelled is what was asked for: show the booking as it stands.
        Ok(_) | Err(LookupError::AlreadyCancelled) => Ok(ctx.redirect("/my-booking")),
        Err(LookupError::NotFound) => Ok(ctx.redirect("/check")),
        Err(other) => Err(other.into()),
    }
}

web_page!(CheckPage, FindPage, MyBookingPage, CancelPage);
