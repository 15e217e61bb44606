//! The message catalogue (Bahasa Melayu first, English second), language negotiation, and
//! dates and numbers written the way each language writes them.
//!
//! Every user-facing string of the web pages comes from a [`Messages`]: a struct rather than a
//! key-value file, so that a message missing in one language is a compile error, not a blank.

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
            Lang::Ms => &MS,
            Lang::En => &EN,
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
            Lang::Ms => (&MS_DAYS, &MS_MONTHS),
            Lang::En => (&EN_DAYS, &EN_MONTHS),
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

const MS_DAYS: [&str; 7] = [
    "Isnin", "Selasa", "Rabu", "Khamis", "Jumaat", "Sabtu", "Ahad",
];
const EN_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MS_MONTHS: [&str; 12] = [
    "Januari",
    "Februari",
    "Mac",
    "April",
    "Mei",
    "Jun",
    "Julai",
    "Ogos",
    "September",
    "Oktober",
    "November",
    "Disember",
];
const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

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

pub static MS: Messages = Messages {
    self_name: "Bahasa Melayu",
    site_name: "Janji Temu Vaksin",
    skip_to_content: "Langkau ke kandungan utama",
    nav_label: "Menu utama",
    nav_check: "Semak tempahan",
    footer_note: "Waktu yang ditunjukkan ialah waktu Malaysia (UTC+8).",
    breadcrumbs: "Anda di sini",
    home_crumb: "Utama",

    error_summary_title: "Sila betulkan perkara berikut",
    error_prefix: "Ralat:",
    optional: "(pilihan)",

    home_title: "Tempah janji temu vaksin",
    home_intro: "Pilih negeri, pusat pemberian vaksin (PPV), tarikh dan masa, kemudian isi borang ringkas. Anda akan menerima nombor rujukan tempahan serta-merta.",
    home_not_open_title: "Tempahan belum dibuka",
    home_opens_at: "Tempahan dibuka pada",
    home_countdown: "Dibuka dalam:",
    home_not_open_hint: "Anda boleh melihat pusat dan slot sekarang; butang tempah berfungsi sebaik sahaja tempahan dibuka.",
    home_closed_title: "Tempahan sudah ditutup",
    home_closed_at: "Tempahan ditutup pada",
    home_open: "Tempahan dibuka sekarang.",
    home_choose_state: "Pilih negeri",
    home_have_booking: "Sudah membuat tempahan?",
    home_check_link: "Semak atau batalkan tempahan anda",
    home_no_centres_in: "Belum ada pusat di",
    centre_one: "pusat",
    centre_many: "pusat",
    unit_days: "hari",
    unit_hours: "jam",
    unit_minutes: "minit",
    unit_seconds: "saat",

    state_intro: "Pilih pusat pemberian vaksin (PPV).",
    place_one: "tempat",
    place_many: "tempat",
    places_left: "kosong",
    fully_booked: "Penuh",
    places_unknown: "kekosongan tidak diketahui",
    availability_unavailable: "Bilangan tempat kosong tidak dapat dibaca sekarang. Anda masih boleh memilih slot; jawapan tempahan tetap benar.",
    availability_stale: "Bilangan tempat kosong mungkin lewat beberapa saat.",

    centre_intro: "Pilih tarikh dan masa. Bilangan tempat kosong dikemas kini setiap saat.",
    centre_book_this: "tempah slot ini",
    centre_not_open: "Tempahan belum dibuka. Slot boleh ditempah mulai",
    centre_closed: "Tempahan sudah ditutup.",
    all_day: "Sepanjang hari",

    book_title: "Tempah slot",
    book_slot_legend: "Slot yang dipilih",
    book_slot_label: "Tarikh dan masa",
    book_change_centre: "Tukar pusat atau lihat semua slot",
    book_person_legend: "Maklumat anda",
    book_privacy: "Maklumat anda hanya digunakan untuk janji temu vaksin ini.",
    book_submit: "Sahkan tempahan",

    label_reference: "Nombor rujukan",
    label_status: "Status",
    label_centre: "Pusat",
    label_date: "Tarikh",
    label_time: "Masa",
    label_name: "Nama penuh",
    label_id_number: "Nombor MyKad atau pasport",
    label_phone: "Nombor telefon bimbit",
    label_address: "Alamat",
    label_postcode: "Poskod",
    hint_reference: "10 huruf dan angka, seperti 7KQ4M-PX2RD.",
    hint_id_number: "MyKad: 12 digit, seperti 900127-01-5527. Bukan warganegara: nombor pasport.",
    hint_name: "Seperti dalam MyKad atau pasport.",
    hint_phone: "Seperti 012-345 6789. Kami menghantar SMS peringatan ke nombor ini.",
    hint_postcode: "5 digit, seperti 50480.",

    err_reference: "Masukkan nombor rujukan 10 huruf dan angka, seperti 7KQ4M-PX2RD.",
    err_id_number: "Masukkan nombor MyKad 12 digit yang sah (seperti 900127-01-5527) atau nombor pasport (6 hingga 20 huruf dan angka).",
    err_name: "Masukkan nama anda (paling banyak 100 aksara).",
    err_phone: "Masukkan nombor telefon bimbit Malaysia: 01X diikuti 7 atau 8 digit, seperti 012-345 6789.",
    err_address: "Masukkan alamat anda (paling banyak 200 aksara).",
    err_postcode: "Poskod mempunyai 5 digit, seperti 50480.",
    err_slot: "Pilih tarikh dan masa yang ditawarkan di pusat ini.",
    err_already_booked: "Nombor pengenalan ini sudah mempunyai tempahan dalam kempen ini. Semak tempahan anda, atau batalkannya dahulu untuk menempah semula.",
    err_no_match: "Tiada tempahan sepadan dengan nombor rujukan dan nombor pengenalan ini. Semak kedua-duanya dan cuba lagi.",

    booked_title: "Tempahan anda disahkan",
    booked_reference_label: "Nombor rujukan anda:",
    booked_reference_hint: "Simpan nombor ini. Anda memerlukannya bersama nombor MyKad atau pasport untuk menyemak atau membatalkan tempahan.",
    booked_qr_label: "Kod QR nombor rujukan",
    booked_qr_caption: "Tunjukkan kod QR ini di pusat vaksin.",
    booked_slot_title: "Butiran janji temu",
    booked_check_link: "Semak tempahan anda",
    bring_title: "Apa yang perlu dibawa",
    bring_items: &[
        "MyKad atau pasport yang anda gunakan semasa menempah.",
        "Nombor rujukan atau kod QR ini (dicetak atau dalam telefon).",
        "Pelitup muka. Datang 15 minit lebih awal.",
    ],

    status_confirmed: "Disahkan",
    status_cancelled: "Dibatalkan",

    booking_title: "Tempahan anda",
    booking_active_notice: "Tempahan ini aktif.",
    booking_cancelled_notice: "Tempahan ini telah dibatalkan dan tempatnya dilepaskan. Anda boleh menempah semula.",
    booking_cancel_link: "Batalkan tempahan ini",
    booking_book_again: "Tempah slot baharu",

    cancel_title: "Batalkan tempahan?",
    cancel_warning: "Tempat anda akan diberikan kepada orang lain. Tindakan ini tidak boleh dibatalkan.",
    cancel_confirm: "Ya, batalkan tempahan",
    cancel_keep: "Tidak, kekalkan tempahan saya",

    check_title: "Semak tempahan",
    check_intro: "Masukkan nombor rujukan tempahan dan nombor MyKad atau pasport yang digunakan semasa menempah.",
    check_submit: "Semak",

    sold_out_title: "Slot ini sudah penuh",
    sold_out_body: "Semua tempat untuk masa ini telah ditempah. Tiada tempahan dibuat. Sila pilih masa lain.",
    sold_out_link: "Pilih slot lain",
    not_open_title: "Tempahan belum dibuka",
    not_open_body: "Tiada tempahan dibuat. Tempahan dibuka pada",
    closed_title: "Tempahan sudah ditutup",
    closed_body: "Tiada tempahan dibuat. Tempahan ditutup pada",
    not_found_title: "Halaman tidak dijumpai",
    not_found_body: "Tiada apa-apa di alamat ini. Mungkin pautan itu lama atau tersalah taip.",
    unavailable_title: "Sistem terlalu sibuk sekarang",
    unavailable_body: "Terlalu ramai orang sedang menempah. Sila cuba lagi dalam beberapa saat.",
    unavailable_safe: "Jika anda menghantar borang tempahan, semak tempahan anda sebelum mencuba lagi: kami tidak pernah mengesahkan tempahan yang tidak disimpan.",
    too_many_title: "Terlalu banyak cubaan",
    too_many_body: "Terlalu banyak cubaan tempahan dibuat dari sambungan ini atau untuk nombor pengenalan ini. Tiada apa-apa ditempah. Sila cuba lagi selepas",
    seconds: "saat.",
    forbidden_title: "Borang ini sudah tamat tempoh",
    forbidden_body: "Demi keselamatan, borang mesti dihantar dari halaman ini dalam pelayar yang sama. Tiada apa-apa diubah. Muat semula halaman dan cuba lagi.",
    error_title: "Maaf, berlaku ralat",
    error_body: "Tiada apa-apa diubah. Sila cuba lagi.",
    bad_request_title: "Permintaan tidak dapat difahami",
    bad_request_body: "Borang yang dihantar tidak lengkap. Tiada apa-apa diubah.",
    link_home: "Kembali ke halaman utama",
    link_check: "Semak tempahan anda",
    link_try_again: "Cuba lagi",
};

pub static EN: Messages = Messages {
    self_name: "English",
    site_name: "Vaccine Appointments",
    skip_to_content: "Skip to main content",
    nav_label: "Main menu",
    nav_check: "Check a booking",
    footer_note: "Times shown are Malaysian time (UTC+8).",
    breadcrumbs: "You are here",
    home_crumb: "Home",

    error_summary_title: "Please correct the following",
    error_prefix: "Error:",
    optional: "(optional)",

    home_title: "Book a vaccination appointment",
    home_intro: "Choose a state, a vaccination centre (PPV), a date and a time, then fill in a short form. You get your booking reference straight away.",
    home_not_open_title: "Bookings are not open yet",
    home_opens_at: "Bookings open on",
    home_countdown: "Opens in:",
    home_not_open_hint: "You can look at centres and slots now; booking works as soon as bookings open.",
    home_closed_title: "Bookings are closed",
    home_closed_at: "Bookings closed on",
    home_open: "Bookings are open now.",
    home_choose_state: "Choose a state",
    home_have_booking: "Already booked?",
    home_check_link: "Check or cancel your booking",
    home_no_centres_in: "No centres yet in",
    centre_one: "centre",
    centre_many: "centres",
    unit_days: "days",
    unit_hours: "hours",
    unit_minutes: "minutes",
    unit_seconds: "seconds",

    state_intro: "Choose a vaccination centre (PPV).",
    place_one: "place",
    place_many: "places",
    places_left: "left",
    fully_booked: "Fully booked",
    places_unknown: "availability unknown",
    availability_unavailable: "The number of free places cannot be read right now. You can still choose a slot; the answer to your booking will be the truth.",
    availability_stale: "The number of free places may be a few seconds old.",

    centre_intro: "Choose a date and a time. Free places are updated every second.",
    centre_book_this: "book this slot",
    centre_not_open: "Bookings are not open yet. Slots can be booked from",
    centre_closed: "Bookings are closed.",
    all_day: "All day",

    book_title: "Book a slot",
    book_slot_legend: "Your chosen slot",
    book_slot_label: "Date and time",
    book_change_centre: "Change centre or see all slots",
    book_person_legend: "Your details",
    book_privacy: "Your details are used only for this vaccination appointment.",
    book_submit: "Confirm booking",

    label_reference: "Booking reference",
    label_status: "Status",
    label_centre: "Centre",
    label_date: "Date",
    label_time: "Time",
    label_name: "Full name",
    label_id_number: "MyKad or passport number",
    label_phone: "Mobile phone number",
    label_address: "Address",
    label_postcode: "Postcode",
    hint_reference: "10 letters and digits, like 7KQ4M-PX2RD.",
    hint_id_number: "MyKad: 12 digits, like 900127-01-5527. Non-citizens: your passport number.",
    hint_name: "As on your MyKad or passport.",
    hint_phone: "Like 012-345 6789. We send a reminder SMS to this number.",
    hint_postcode: "5 digits, like 50480.",

    err_reference: "Enter the 10-character booking reference, like 7KQ4M-PX2RD.",
    err_id_number: "Enter a valid 12-digit MyKad number (like 900127-01-5527) or a passport number (6 to 20 letters and digits).",
    err_name: "Enter your name (at most 100 characters).",
    err_phone: "Enter a Malaysian mobile number: 01X followed by 7 or 8 digits, like 012-345 6789.",
    err_address: "Enter your address (at most 200 characters).",
    err_postcode: "A postcode has 5 digits, like 50480.",
    err_slot: "Choose a date and time offered at this centre.",
    err_already_booked: "This identity number already holds a booking in this campaign. Check your booking, or cancel it first to book again.",
    err_no_match: "No booking matches this reference and identity number. Check both and try again.",

    booked_title: "Your booking is confirmed",
    booked_reference_label: "Your booking reference:",
    booked_reference_hint: "Keep this reference. You need it with your MyKad or passport number to check or cancel your booking.",
    booked_qr_label: "QR code of the booking reference",
    booked_qr_caption: "Show this QR code at the vaccination centre.",
    booked_slot_title: "Appointment details",
    booked_check_link: "Check your booking",
    bring_title: "What to bring",
    bring_items: &[
        "The MyKad or passport you booked with.",
        "This booking reference or QR code (printed or on your phone).",
        "A face mask. Arrive 15 minutes early.",
    ],

    status_confirmed: "Confirmed",
    status_cancelled: "Cancelled",

    booking_title: "Your booking",
    booking_active_notice: "This booking is active.",
    booking_cancelled_notice: "This booking is cancelled and its place released. You may book again.",
    booking_cancel_link: "Cancel this booking",
    booking_book_again: "Book a new slot",

    cancel_title: "Cancel your booking?",
    cancel_warning: "Your place will be given to someone else. This cannot be undone.",
    cancel_confirm: "Yes, cancel my booking",
    cancel_keep: "No, keep my booking",

    check_title: "Check a booking",
    check_intro: "Enter your booking reference and the MyKad or passport number you booked with.",
    check_submit: "Check",

    sold_out_title: "This slot is fully booked",
    sold_out_body: "Every place at this time has been taken. Nothing was booked. Please choose another time.",
    sold_out_link: "Choose another slot",
    not_open_title: "Bookings are not open yet",
    not_open_body: "Nothing was booked. Bookings open on",
    closed_title: "Bookings are closed",
    closed_body: "Nothing was booked. Bookings closed on",
    not_found_title: "Page not found",
    not_found_body: "There is nothing at this address. The link may be old or mistyped.",
    unavailable_title: "The service is too busy right now",
    unavailable_body: "Too many people are booking at once. Please try again in a few seconds.",
    unavailable_safe: "If you sent a booking form, check your booking before trying again: we never confirm a booking that was not stored.",
    too_many_title: "Too many attempts",
    too_many_body: "Too many booking attempts came from this connection or for this identity number. Nothing was booked. Please try again in",
    seconds: "seconds.",
    forbidden_title: "This form has expired",
    forbidden_body: "For your safety, a form must be sent from its own page in the same browser. Nothing was changed. Reload the page and try again.",
    error_title: "Sorry, something went wrong",
    error_body: "Nothing was changed. Please try again.",
    bad_request_title: "The request could not be understood",
    bad_request_body: "The form sent was incomplete. Nothing was changed.",
    link_home: "Back to the home page",
    link_check: "Check your booking",
    link_try_again: "Try again",
};

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
