//! Finding a slot: home (campaign hours, states), a state's centres, a centre's slots.
//!
//! Availability is an enhancement of these pages, never a condition: when the store cannot be
//! read, they render with a notice instead of counts.

use askama::Template;
use axum::extract::{Path, State as AxumState};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;

use super::WebState;
use super::ctx::Ctx;
use super::error::WebError;
use super::i18n::{Lang, Messages};
use super::page::{Chrome, web_page};
use crate::booking::{Availability, BookingService};
use crate::catalogue::Phase;
use crate::domain::{CentreCode, SlotKey, State, TimeWindow};

#[derive(Debug, Template)]
#[template(path = "pages/home.html")]
struct HomePage {
    chrome: Chrome,
    t: &'static Messages,
    campaign_name: String,
    phase: HomePhase,
    /// States with centres, as links; the others only named, so a phone need not scroll past
    /// a dozen dead ends.
    states: Vec<StateRow>,
    empty_states: String,
}

/// Where the campaign stands, as the home page tells it.
#[derive(Debug)]
enum HomePhase {
    Open,
    /// With the opening time written out, as an ISO timestamp (for `<time>` and the script's
    /// countdown), and the time left when the page was made.
    NotOpen {
        when: String,
        when_iso: String,
        countdown: String,
    },
    Closed {
        when: String,
        when_iso: String,
    },
}

#[derive(Debug)]
struct StateRow {
    code: &'static str,
    name: &'static str,
    summary: String,
}

pub async fn home(ctx: Ctx, AxumState(state): AxumState<WebState>) -> Response {
    let t = ctx.t;
    let catalogue = state.app.service.catalogue();
    let campaign = catalogue.campaign();
    let now = Utc::now();
    let phase = match campaign.phase(now) {
        Phase::Open => HomePhase::Open,
        Phase::NotOpen { opens_at } => HomePhase::NotOpen {
            when: ctx.lang.date_time(opens_at),
            when_iso: opens_at.to_rfc3339(),
            countdown: ctx
                .lang
                .countdown((opens_at.with_timezone(&Utc) - now).num_seconds()),
        },
        Phase::Closed { closed_at } => HomePhase::Closed {
            when: ctx.lang.date_time(closed_at),
            when_iso: closed_at.to_rfc3339(),
        },
    };
    let (with, without): (Vec<State>, Vec<State>) = State::ALL
        .into_iter()
        .partition(|s| catalogue.centres_in(*s).next().is_some());
    let states = with
        .into_iter()
        .map(|s| {
            let summary = match catalogue.centres_in(s).count() {
                1 => format!("1 {}", t.centre_one),
                n => format!("{} {}", ctx.lang.number(n as u64), t.centre_many),
            };
            StateRow {
                code: s.code(),
                name: s.name(),
                summary,
            }
        })
        .collect();
    let empty_states = without
        .into_iter()
        .map(State::name)
        .collect::<Vec<_>>()
        .join(", ");
    let page = HomePage {
        chrome: ctx.chrome(t.home_title),
        t,
        campaign_name: campaign.name.clone(),
        phase,
        states,
        empty_states,
    };
    ctx.render(StatusCode::OK, &page)
}

#[derive(Debug, Template)]
#[template(path = "pages/state.html")]
struct StatePage {
    chrome: Chrome,
    t: &'static Messages,
    state_name: &'static str,
    notice: String,
    centres: Vec<CentreRow>,
}

#[derive(Debug)]
struct CentreRow {
    code: String,
    name: String,
    address: String,
    summary: String,
}

/// Counts if they can be read, and the notice to show instead (or as well) if not.
async fn availability(service: &BookingService, t: &Messages) -> (Option<Availability>, String) {
    match service.availability().await {
        Ok(availability) if availability.stale => {
            (Some(availability), t.availability_stale.to_owned())
        }
        Ok(availability) => (Some(availability), String::new()),
        Err(error) => {
            tracing::warn!(%error, "rendering a page without availability");
            (None, t.availability_unavailable.to_owned())
        }
    }
}

pub async fn state_page(
    ctx: Ctx,
    AxumState(state): AxumState<WebState>,
    Path(code): Path<String>,
) -> Result<Response, WebError> {
    let t = ctx.t;
    let chosen = State::parse(&code).map_err(|_| WebError::not_found())?;
    let catalogue = state.app.service.catalogue();
    let (counts, notice) = availability(&state.app.service, t).await;
    let centres = catalogue
        .centres_in(chosen)
        .map(|centre| {
            let summary = match &counts {
                Some(counts) => {
                    let mut left = 0u64;
                    let mut days = std::collections::BTreeSet::new();
                    for (slot, _) in catalogue.slots_of(&centre.code) {
                        let remaining = counts.remaining(slot);
                        left += u64::from(remaining);
                        if remaining > 0 {
                            days.insert(slot.date);
                        }
                    }
                    if left == 0 {
                        t.fully_booked.to_owned()
                    } else {
                        let unit = if left == 1 { t.place_one } else { t.place_many };
                        let date_span = match (days.first(), days.last()) {
                            (Some(first), Some(last)) if first != last => format!(
                                " · {} – {}",
                                ctx.lang.long_date(*first),
                                ctx.lang.long_date(*last)
                            ),
                            (Some(only), _) => format!(" · {}", ctx.lang.long_date(*only)),
                            _ => String::new(),
                        };
                        format!(
                            "{} {unit} {}{date_span}",
                            ctx.lang.number(left),
                            t.places_left
                        )
                    }
                }
                None => t.places_unknown.to_owned(),
            };
            CentreRow {
                code: centre.code.to_string(),
                name: centre.name.clone(),
                address: centre.address.clone(),
                summary,
            }
        })
        .collect();
    let page = StatePage {
        chrome: ctx.chrome(chosen.name()),
        t,
        state_name: chosen.name(),
        notice,
        centres,
    };
    Ok(ctx.render(StatusCode::OK, &page))
}

#[derive(Debug, Template)]
#[template(path = "pages/centre.html")]
struct CentrePage {
    chrome: Chrome,
    t: &'static Messages,
    state_code: &'static str,
    state_name: &'static str,
    name: String,
    address: String,
    phase_notice: String,
    notice: String,
    days: Vec<DayRow>,
}

#[derive(Debug)]
struct DayRow {
    iso: String,
    label: String,
    windows: Vec<WindowRow>,
}

#[derive(Debug)]
struct WindowRow {
    time: String,
    left: String,
    bookable: bool,
    href: String,
}

/// "08:00–11:00", or the language's "all day".
pub fn window_label(lang: Lang, window: &TimeWindow) -> String {
    if window.is_all_day() {
        lang.messages().all_day.to_owned()
    } else {
        format!("{}–{}", window.start_hhmm(), window.end_hhmm())
    }
}

/// The booking form's address for a slot.
pub fn book_href(slot: &SlotKey) -> String {
    format!(
        "/book?centre={}&date={}&window={}",
        slot.centre,
        slot.date,
        slot.window.code()
    )
}

/// What the remaining count says, and whether a link to book it makes sense.
pub fn remaining_label(lang: Lang, counts: Option<&Availability>, slot: &SlotKey) -> (String, u32) {
    match counts {
        Some(counts) => {
            let left = counts.remaining(slot);
            if left == 0 {
                (lang.messages().fully_booked.to_owned(), 0)
            } else {
                (
                    format!("{} {}", lang.places(left), lang.messages().places_left),
                    left,
                )
            }
        }
        // Unknown: offer it; the booking itself answers truthfully.
        None => (lang.messages().places_unknown.to_owned(), u32::MAX),
    }
}

pub async fn centre_page(
    ctx: Ctx,
    AxumState(state): AxumState<WebState>,
    Path(code): Path<String>,
) -> Result<Response, WebError> {
    let t = ctx.t;
    let catalogue = state.app.service.catalogue();
    let centre = CentreCode::parse(&code)
        .ok()
        .and_then(|code| catalogue.centre(&code))
        .ok_or_else(WebError::not_found)?;
    let phase = catalogue.campaign().phase(Utc::now());
    let phase_notice = match phase {
        Phase::Open => String::new(),
        Phase::NotOpen { opens_at } => {
            format!("{} {}.", t.centre_not_open, ctx.lang.date_time(opens_at))
        }
        Phase::Closed { .. } => t.centre_closed.to_owned(),
    };
    let (counts, notice) = availability(&state.app.service, t).await;
    let mut days: Vec<DayRow> = Vec::new();
    for (slot, _) in catalogue.slots_of(&centre.code) {
        let (left, remaining) = remaining_label(ctx.lang, counts.as_ref(), slot);
        let window = WindowRow {
            time: window_label(ctx.lang, &slot.window),
            left,
            bookable: phase == Phase::Open && remaining > 0,
            href: book_href(slot),
        };
        let iso = slot.date.to_string();
        match days.last_mut() {
            Some(day) if day.iso == iso => day.windows.push(window),
            _ => days.push(DayRow {
                label: ctx.lang.long_date(slot.date),
                iso,
                windows: vec![window],
            }),
        }
    }
    let page = CentrePage {
        chrome: ctx.chrome(centre.name.clone()),
        t,
        state_code: centre.state.code(),
        state_name: centre.state.name(),
        name: centre.name.clone(),
        address: centre.address.clone(),
        phase_notice,
        notice,
        days,
    };
    Ok(ctx.render(StatusCode::OK, &page))
}

web_page!(HomePage, StatePage, CentrePage);
