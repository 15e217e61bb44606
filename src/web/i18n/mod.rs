//! The message catalogue (Bahasa Melayu first, English second), language negotiation, and
//! dates and numbers written the way each language writes them.
//!
//! Every user-facing string of the web pages comes from a [`Messages`]: a struct rather than a
//! key-value file, so that a message missing in one language is a compile error, not a blank.
//! Each language's messages and calendar names are in a file of their own ([`ms`], [`en`]).
//! (Hand-written rather than a gettext/Fluent crate for exactly that compile-time check.)

mod en;
mod ms;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Offset, Timelike, Utc};

/// A language the pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ms,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Ms, Lang::En];

    /// The BCP 47 tag, as in `<html lang>` and the `lang` cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ms => "ms",
            Lang::En => "en",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Lang::ALL
            .into_iter()
            .find(|lang| raw.trim().eq_ignore_ascii_case(lang.code()))
    }

    pub fn messages(self) -> &'static Messages {
        match self {
            Lang::Ms => &ms::MESSAGES,
            Lang::En => &en::MESSAGES,
        }
    }

    /// The most preferred language of an `Accept-Language` header that the pages are written
    /// in; `None` when it names neither.
    pub fn negotiate(accept_language: &str) -> Option<Self> {
        let mut best: Option<(f32, usize, Lang)> = None;
        for (position, item) in accept_language.split(',').enumerate() {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            // Malay is also tagged `zsm` (individual language) in some browsers.
            let lang = match primary.to_ascii_lowercase().as_str() {
                "ms" | "zsm" => Lang::Ms,
                "en" => Lang::En,
                _ => continue,
            };
            if quality <= 0.0 {
                continue;
            }
            // Highest quality wins; on a tie, the one listed first.
            if best.is_none_or(|(q, p, _)| quality > q || (quality == q && position < p)) {
                best = Some((quality, position, lang));
            }
        }
        best.map(|(_, _, lang)| lang)
    }

    /// "Ahad, 16 Mei 2021" / "Sunday, 16 May 2021".
    pub fn long_date(self, date: NaiveDate) -> String {
        let (days, months) = match self {
            Lang::Ms => (&ms::DAYS, &ms::MONTHS),
            Lang::En => (&en::DAYS, &en::MONTHS),
        };
        format!(
            "{}, {} {} {}",
            days[date.weekday().num_days_from_monday() as usize],
            date.day(),
            months[date.month0() as usize],
            date.year()
        )
    }

    /// A date with the time of day, in Malaysian time: "Rabu, 26 Mei 2021, 12:00".
    pub fn date_time(self, at: DateTime<FixedOffset>) -> String {
        let local = at.with_timezone(&malaysia());
        format!(
            "{}, {:02}:{:02}",
            self.long_date(local.date_naive()),
            local.hour(),
            local.minute()
        )
    }

    /// Whole numbers with thousands grouped: both languages write 1,234 in Malaysia.
    pub fn number(self, n: u64) -> String {
        let digits = n.to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    }

    /// "1 tempat" / "1 place", "300 tempat" / "300 places".
    pub fn places(self, n: u32) -> String {
        let t = self.messages();
        let unit = if n == 1 { t.place_one } else { t.place_many };
        format!("{} {unit}", self.number(u64::from(n)))
    }

    /// How long until `at`, in the largest two units: "2 hari 3 jam" / "2 days 3 hours".
    pub fn countdown(self, seconds: i64) -> String {
        let t = self.messages();
        let seconds = seconds.max(0);
        let parts = [
            (seconds / 86_400, t.unit_days),
            ((seconds % 86_400) / 3_600, t.unit_hours),
            ((seconds % 3_600) / 60, t.unit_minutes),
            (seconds % 60, t.unit_seconds),
        ];
        let shown: Vec<String> = parts
            .iter()
            .skip_while(|(n, _)| *n == 0)
            .take(2)
            .map(|(n, unit)| format!("{n} {unit}"))
            .collect();
        if shown.is_empty() {
            format!("0 {}", t.unit_seconds)
        } else {
            shown.join(" ")
        }
    }
}

/// Asia/Kuala_Lumpur: UTC+8 all year.
pub fn malaysia() -> FixedOffset {
    // Eight hours is within chrono's ±24 h range, so the fallback never happens.
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix())
}

/// Every user-facing string of the web pages, in one language.
#[derive(Debug)]
pub struct Messages {
    /// The language's name in itself, for the switcher.
    pub self_name: &'static str,
    pub site_name: &'static str,
    pub skip_to_content: &'static str,
    pub nav_label: &'static str,
    pub nav_check: &'static str,
    pub footer_note: &'static str,
    pub breadcrumbs: &'static str,
    pub home_crumb: &'static str,

    pub error_summary_title: &'static str,
    pub error_prefix: &'static str,
    pub optional: &'static str,

    pub home_title: &'static str,
    pub home_intro: &'static str,
    pub home_not_open_title: &'static str,
    pub home_opens_at: &'static str,
    pub home_countdown: &'static str,
    pub home_not_open_hint: &'static str,
    pub home_closed_title: &'static str,
    pub home_closed_at: &'static str,
    pub home_open: &'static str,
    pub home_choose_state: &'static str,
    pub home_have_booking: &'static str,
    pub home_check_link: &'static str,
    pub home_find_link: &'static str,
    pub home_no_centres_in: &'static str,
    pub centre_one: &'static str,
    pub centre_many: &'static str,
    pub unit_days: &'static str,
    pub unit_hours: &'static str,
    pub unit_minutes: &'static str,
    pub unit_seconds: &'static str,

    pub state_intro: &'static str,
    pub place_one: &'static str,
    pub place_many: &'static str,
    pub places_left: &'static str,
    pub fully_booked: &'static str,
    pub places_unknown: &'static str,
    pub availability_unavailable: &'static str,
    pub availability_stale: &'static str,

    pub centre_intro: &'static str,
    pub centre_book_this: &'static str,
    pub centre_not_open: &'static str,
    pub centre_closed: &'static str,
    pub all_day: &'static str,

    pub book_title: &'static str,
    pub book_slot_legend: &'static str,
    pub book_slot_label: &'static str,
    pub book_change_centre: &'static str,
    pub book_person_legend: &'static str,
    pub book_privacy: &'static str,
    pub book_submit: &'static str,

    pub label_reference: &'static str,
    pub label_status: &'static str,
    pub label_centre: &'static str,
    pub label_date: &'static str,
    pub label_time: &'static str,
    pub label_name: &'static str,
    pub label_id_number: &'static str,
    pub label_phone: &'static str,
    pub label_address: &'static str,
    pub label_postcode: &'static str,
    pub hint_reference: &'static str,
    pub hint_id_number: &'static str,
    pub hint_name: &'static str,
    pub hint_phone: &'static str,
    pub hint_postcode: &'static str,

    pub err_reference: &'static str,
    pub err_id_number: &'static str,
    pub err_name: &'static str,
    pub err_phone: &'static str,
    pub err_address: &'static str,
    pub err_postcode: &'static str,
    pub err_slot: &'static str,
    pub err_already_booked: &'static str,
    pub err_no_match: &'static str,
    pub err_find_no_match: &'static str,

    pub booked_title: &'static str,
    pub booked_reference_label: &'static str,
    pub booked_reference_hint: &'static str,
    pub booked_qr_label: &'static str,
    pub booked_qr_caption: &'static str,
    pub booked_slot_title: &'static str,
    pub booked_check_link: &'static str,
    pub bring_title: &'static str,
    pub bring_items: &'static [&'static str],

    pub status_confirmed: &'static str,
    pub status_cancelled: &'static str,

    pub booking_title: &'static str,
    pub booking_active_notice: &'static str,
    pub booking_cancelled_notice: &'static str,
    pub booking_cancel_link: &'static str,
    pub booking_book_again: &'static str,

    pub cancel_title: &'static str,
    pub cancel_warning: &'static str,
    pub cancel_confirm: &'static str,
    pub cancel_keep: &'static str,

    pub check_title: &'static str,
    pub check_intro: &'static str,
    pub check_submit: &'static str,
    pub check_no_reference: &'static str,

    pub find_title: &'static str,
    pub find_intro: &'static str,
    pub find_submit: &'static str,
    pub find_have_reference: &'static str,
    pub hint_find_phone: &'static str,

    pub locked_title: &'static str,
    pub locked_reference: &'static str,
    pub locked_identity: &'static str,
    pub locked_client: &'static str,
    pub link_find: &'static str,

    pub sold_out_title: &'static str,
    pub sold_out_body: &'static str,
    pub sold_out_link: &'static str,
    pub not_open_title: &'static str,
    pub not_open_body: &'static str,
    pub closed_title: &'static str,
    pub closed_body: &'static str,
    pub not_found_title: &'static str,
    pub not_found_body: &'static str,
    pub unavailable_title: &'static str,
    pub unavailable_body: &'static str,
    pub unavailable_safe: &'static str,
    pub too_many_title: &'static str,
    pub too_many_body: &'static str,
    pub seconds: &'static str,
    pub forbidden_title: &'static str,
    pub forbidden_body: &'static str,
    pub error_title: &'static str,
    pub error_body: &'static str,
    pub bad_request_title: &'static str,
    pub bad_request_body: &'static str,
    pub link_home: &'static str,
    pub link_check: &'static str,
    pub link_try_again: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_the_way_each_language_writes_them() {
        let day = NaiveDate::from_ymd_opt(2021, 5, 16).unwrap();
        assert_eq!(Lang::Ms.long_date(day), "Ahad, 16 Mei 2021");
        assert_eq!(Lang::En.long_date(day), "Sunday, 16 May 2021");
        let noon = DateTime::parse_from_rfc3339("2021-05-26T04:00:00Z").unwrap();
        assert_eq!(Lang::Ms.date_time(noon), "Rabu, 26 Mei 2021, 12:00");
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(Lang::En.number(0), "0");
        assert_eq!(Lang::En.number(999), "999");
        assert_eq!(Lang::Ms.number(1_260_000), "1,260,000");
        assert_eq!(Lang::En.places(1), "1 place");
        assert_eq!(Lang::En.places(1000), "1,000 places");
    }

    #[test]
    fn accept_language_picks_the_preferred_language_the_pages_have() {
        assert_eq!(Lang::negotiate("en-GB,en;q=0.9"), Some(Lang::En));
        assert_eq!(Lang::negotiate("fr, en;q=0.5, ms;q=0.8"), Some(Lang::Ms));
        assert_eq!(Lang::negotiate("ms-MY"), Some(Lang::Ms));
        assert_eq!(Lang::negotiate("fr, de"), None);
        assert_eq!(Lang::negotiate("en;q=0"), None);
        assert_eq!(Lang::negotiate(""), None);
    }

    #[test]
    fn a_countdown_shows_its_two_largest_units() {
        assert_eq!(
            Lang::En.countdown(2 * 86_400 + 3 * 3_600 + 5),
            "2 days 3 hours"
        );
        assert_eq!(Lang::Ms.countdown(65), "1 minit 5 saat");
        assert_eq!(Lang::En.countdown(-3), "0 seconds");
    }
}
