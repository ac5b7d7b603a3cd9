//! Tests of the locale module: locale and timezone parsing, ISO mode, the
//! es-CL rule, DST shifting, Excel formats, the token fast path compared with
//! ICU's own output, the ICU fallback path and its cache, and the pattern
//! internals.

use super::icu::{icu_date, icu_datetime, IcuFormatters, ICU_CACHE, ICU_CACHE_CAPACITY};
use super::pattern::{parse_pattern, FieldPattern, Fields, HourCycle, Token};
use super::*;
use chrono::TimeZone;

fn locale(tag: &str) -> Locale {
    Locale::parse(Some(tag)).expect("test tag is valid")
}

fn formatter(tag: Option<&str>, tz: &str) -> CellFormatter {
    let locale = Locale::parse(tag).expect("test tag is valid");
    CellFormatter::new(
        &locale,
        parse_timezone(Some(tz)).expect("test zone is valid"),
    )
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
        .single()
        .expect("valid test instant")
}

fn naive(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
    ymd(y, mo, d)
        .and_hms_opt(h, mi, s)
        .expect("valid test time")
}

fn date_str(f: &CellFormatter, d: NaiveDate) -> String {
    let mut out = String::new();
    f.format_date(d, &mut out);
    out
}

fn datetime_str(f: &CellFormatter, t: DateTime<Utc>) -> String {
    let mut out = String::new();
    f.format_datetime(t, &mut out);
    out
}

fn number_str(f: &CellFormatter, n: f64) -> String {
    let mut out = String::new();
    f.format_number(n, &mut out);
    out
}

/// ICU's own output (date, date-time) for a local date-time, bypassing
/// `CellFormatter`.
fn icu_direct_with(icu: &IcuFormatters, t: NaiveDateTime) -> (String, String) {
    let date = icu_date(t.date()).expect("in ICU range");
    let datetime = icu_datetime(t).expect("in ICU range");
    (
        icu.date
            .as_ref()
            .expect("date data")
            .format(&date)
            .to_string(),
        icu.datetime
            .as_ref()
            .expect("datetime data")
            .format(&datetime)
            .to_string(),
    )
}

fn icu_direct(tag: &str, t: NaiveDateTime) -> (String, String) {
    icu_direct_with(&IcuFormatters::new(&locale(tag).inner), t)
}

// ----- Locale parsing -------------------------------------------------

#[test]
fn none_en_and_uppercase_en_are_iso_mode() {
    // GIVEN no tag, "en" and "EN"
    // WHEN parsed
    // THEN all are ISO mode with the tag "en"
    for tag in [None, Some("en"), Some("EN"), Some("En")] {
        let l = Locale::parse(tag).expect("valid");
        assert!(l.is_iso(), "{tag:?} should be ISO mode");
        assert_eq!(l.tag(), "en");
    }
    assert!(Locale::iso().is_iso());
    assert_eq!(Locale::iso(), locale("en"));
}

#[test]
fn other_well_formed_tags_are_icu_mode_and_normalized() {
    // GIVEN well-formed tags other than exactly "en"
    // WHEN parsed
    // THEN they are ICU mode and their tags are canonicalized
    for (tag, normalized) in [
        ("es-CL", "es-CL"),
        ("es-cl", "es-CL"),
        ("es", "es"),
        ("de-DE", "de-DE"),
        ("en-US", "en-US"),
        ("pt-BR", "pt-BR"),
        ("fr", "fr"),
        ("zh-Hant-TW", "zh-Hant-TW"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("en-u-hc-h23", "en-u-hc-h23"),
        ("en-Latn", "en-Latn"),
    ] {
        let l = locale(tag);
        assert!(!l.is_iso(), "{tag} should be ICU mode");
        assert_eq!(l.tag(), normalized);
    }
}

#[test]
fn malformed_tags_are_invalid_locale_errors() {
    // GIVEN malformed tags, including the underscore form
    // WHEN parsed
    // THEN each gives InvalidLocale carrying the original input
    for tag in [
        "es_CL!", "", "123", "x", "es_CL", " es", "es-", "en--US", "x-foo",
    ] {
        assert_eq!(
            Locale::parse(Some(tag)),
            Err(LocaleError::InvalidLocale(tag.to_owned())),
            "{tag:?}"
        );
    }
    assert_eq!(
        LocaleError::InvalidLocale("es_CL".into()).to_string(),
        "locale 'es_CL' is not a valid BCP 47 tag"
    );
}

#[test]
fn timezones_parse_and_unknown_zones_are_rejected() {
    // GIVEN no zone, known IANA zones and unknown names
    // WHEN parsed
    // THEN None is UTC, known zones parse, unknown ones are errors
    assert_eq!(parse_timezone(None), Ok(Tz::UTC));
    assert_eq!(
        parse_timezone(Some("America/Santiago")),
        Ok(Tz::America__Santiago)
    );
    assert_eq!(parse_timezone(Some("UTC")), Ok(Tz::UTC));
    for bad in ["Mars/Olympus_Mons", "", "america/santiago", "GMT+25"] {
        assert_eq!(
            parse_timezone(Some(bad)),
            Err(LocaleError::InvalidTimezone(bad.to_owned()))
        );
    }
    assert_eq!(
        LocaleError::InvalidTimezone("Nope".into()).to_string(),
        "timezone 'Nope' is not a known IANA zone"
    );
}

// ----- ISO mode -------------------------------------------------------

#[test]
fn iso_mode_dates_datetimes_and_numbers() {
    // GIVEN an ISO-mode formatter for America/Santiago
    let f = formatter(None, "America/Santiago");
    assert_eq!(f.timezone(), Tz::America__Santiago);
    // WHEN formatting a date, a date-time and numbers
    // THEN dates are YYYY-MM-DD, date-times RFC 3339 with the zone offset
    assert_eq!(date_str(&f, ymd(2033, 11, 22)), "2033-11-22");
    assert_eq!(date_str(&f, ymd(2024, 1, 5)), "2024-01-05");
    assert_eq!(
        datetime_str(&f, utc(2024, 3, 10, 14, 30, 0)),
        "2024-03-10T11:30:00-03:00"
    );
    // AND sub-seconds are truncated
    let with_millis = utc(2024, 3, 10, 14, 30, 0) + chrono::Duration::milliseconds(999);
    assert_eq!(datetime_str(&f, with_millis), "2024-03-10T11:30:00-03:00");
    assert_eq!(number_str(&f, 1234.5), "1234.5");
    assert_eq!(number_str(&f, -1234567.25), "-1234567.25");
    // AND UTC uses a numeric +00:00 offset, never Z
    let f = formatter(Some("en"), "UTC");
    assert_eq!(
        datetime_str(&f, utc(2024, 3, 10, 14, 30, 0)),
        "2024-03-10T14:30:00+00:00"
    );
    // AND half-hour / 45-minute offsets keep their minutes
    let f = formatter(None, "Asia/Kathmandu");
    assert_eq!(
        datetime_str(&f, utc(2024, 3, 10, 0, 0, 0)),
        "2024-03-10T05:45:00+05:45"
    );
}

#[test]
fn iso_mode_numbers_are_shortest_round_trip() {
    // GIVEN an ISO-mode formatter
    let f = formatter(None, "UTC");
    // WHEN formatting assorted floats
    // THEN the output is the shortest round-trip form without exponent or grouping
    for (n, expected) in [
        (42.0, "42"),
        (-42.0, "-42"),
        (0.0, "0"),
        (-0.0, "0"),
        (1234.5, "1234.5"),
        (0.1 + 0.2, "0.30000000000000004"),
        (1e21, "1000000000000000000000"),
        (1e-7, "0.0000001"),
        (123456789.0, "123456789"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "Infinity"),
        (f64::NEG_INFINITY, "-Infinity"),
    ] {
        assert_eq!(number_str(&f, n), expected, "{n:?}");
    }
    // AND every finite output parses back to the same value
    for n in [
        0.1,
        1.0 / 3.0,
        2.5e-300,
        1.7976931348623157e308,
        -9.87654321e15,
    ] {
        let s = number_str(&f, n);
        assert_eq!(s.parse::<f64>().expect("parses"), n);
        assert!(!s.contains('e'), "{s}");
    }
}

#[test]
fn iso_mode_years_outside_four_digits_use_expanded_form() {
    // GIVEN an ISO-mode formatter
    let f = formatter(None, "UTC");
    // WHEN formatting years with fewer or more than four digits
    // THEN they are zero-padded / signed per ISO 8601
    assert_eq!(date_str(&f, ymd(999, 3, 4)), "0999-03-04");
    assert_eq!(date_str(&f, ymd(12345, 1, 2)), "+12345-01-02");
    assert_eq!(date_str(&f, ymd(-1, 1, 2)), "-0001-01-02");
}

#[test]
fn output_is_appended_to_existing_buffer() {
    // GIVEN buffers that already hold other cells
    let iso = formatter(None, "UTC");
    let es = formatter(Some("es-CL"), "UTC");
    let sv = formatter(Some("sv-SE"), "UTC");
    let mut out = String::from("a;");
    // WHEN several values are pushed in sequence
    iso.format_number(-1.5, &mut out);
    out.push(';');
    es.format_number(-1.5, &mut out);
    out.push(';');
    sv.format_number(-1.5, &mut out);
    out.push(';');
    es.format_date(ymd(2033, 11, 22), &mut out);
    // THEN earlier content is untouched and symbols land in the right place
    assert_eq!(out, "a;-1.5;-1,5;\u{2212}1,5;22/11/2033");
}

// ----- es-CL ----------------------------------------------------------

#[test]
fn es_cl_dates_use_slashes() {
    // GIVEN CLDR's es-CL numeric date pattern (which uses '-')
    let (icu_date, _) = icu_direct("es-CL", naive(2033, 11, 22, 13, 45, 56));
    assert_eq!(icu_date, "22-11-2033", "CLDR es-CL data changed");
    // WHEN formatting es-CL dates
    let f = formatter(Some("es-CL"), "America/Santiago");
    // THEN the project rule gives dd/mm/yyyy with ICU's zero padding
    assert_eq!(date_str(&f, ymd(2033, 11, 22)), "22/11/2033");
    assert_eq!(date_str(&f, ymd(2024, 1, 5)), "05/01/2024");
    assert!(matches!(f.date, DateStyle::Pattern(_)));
}

#[test]
fn es_cl_datetime_is_shifted_into_santiago() {
    // GIVEN an es-CL formatter for America/Santiago
    let f = formatter(Some("es-CL"), "America/Santiago");
    // WHEN formatting UTC instants in summer (-03) and winter (-04)
    // THEN the local wall time is shown in ICU's 24-hour style
    assert_eq!(
        datetime_str(&f, utc(2024, 3, 10, 14, 30, 0)),
        "10/03/2024, 11:30:00"
    );
    assert_eq!(
        datetime_str(&f, utc(2024, 7, 1, 3, 5, 9)),
        "30/06/2024, 23:05:09"
    );
    assert_eq!(
        datetime_str(&f, utc(2033, 11, 22, 16, 45, 56)),
        "22/11/2033, 13:45:56"
    );
    assert!(matches!(f.datetime, DateStyle::Pattern(_)));
}

#[test]
fn es_cl_numbers_use_decimal_comma_without_grouping() {
    // GIVEN an es-CL formatter
    let f = formatter(Some("es-CL"), "UTC");
    // WHEN formatting numbers
    // THEN the decimal separator is a comma and there is no grouping
    assert_eq!(number_str(&f, 1234.5), "1234,5");
    assert_eq!(number_str(&f, -1234567.25), "-1234567,25");
    assert_eq!(number_str(&f, 42.0), "42");
    assert_eq!(number_str(&f, 1e21), "1000000000000000000000");
    assert!(matches!(f.number, NumberStyle::Ascii { .. }));
}

// ----- DST and timezone shifting -------------------------------------

#[test]
fn santiago_dst_end_april_2024() {
    // GIVEN America/Santiago, where DST ended at 2024-04-07 03:00 UTC
    // (local midnight -03:00 became 2024-04-06 23:00 -04:00)
    let iso = formatter(None, "America/Santiago");
    let es = formatter(Some("es-CL"), "America/Santiago");
    let before = utc(2024, 4, 7, 2, 59, 59);
    let after = utc(2024, 4, 7, 3, 0, 0);
    // WHEN formatting instants on both sides of the transition
    // THEN the offset changes from -03:00 to -04:00 and the wall clock repeats 23:xx
    assert_eq!(datetime_str(&iso, before), "2024-04-06T23:59:59-03:00");
    assert_eq!(datetime_str(&iso, after), "2024-04-06T23:00:00-04:00");
    assert_eq!(iso.local_datetime(before), naive(2024, 4, 6, 23, 59, 59));
    assert_eq!(iso.local_datetime(after), naive(2024, 4, 6, 23, 0, 0));
    assert_eq!(datetime_str(&es, before), "06/04/2024, 23:59:59");
    assert_eq!(datetime_str(&es, after), "06/04/2024, 23:00:00");
}

#[test]
fn santiago_dst_start_september_2024() {
    // GIVEN America/Santiago, where DST started at 2024-09-08 04:00 UTC
    // (local midnight -04:00 jumped to 01:00 -03:00)
    let iso = formatter(None, "America/Santiago");
    let before = utc(2024, 9, 8, 3, 59, 59);
    let after = utc(2024, 9, 8, 4, 0, 0);
    // WHEN formatting instants on both sides of the transition
    // THEN the offset changes from -04:00 to -03:00 and 00:xx is skipped
    assert_eq!(datetime_str(&iso, before), "2024-09-07T23:59:59-04:00");
    assert_eq!(datetime_str(&iso, after), "2024-09-08T01:00:00-03:00");
    assert_eq!(iso.local_datetime(before), naive(2024, 9, 7, 23, 59, 59));
    assert_eq!(iso.local_datetime(after), naive(2024, 9, 8, 1, 0, 0));
}

#[test]
fn dates_never_shift_with_timezone() {
    // GIVEN formatters for the extreme zones UTC+14 and UTC-11
    for tag in [None, Some("es-CL"), Some("ar-EG")] {
        let kiritimati = formatter(tag, "Pacific/Kiritimati");
        let pago_pago = formatter(tag, "Pacific/Pago_Pago");
        let utc_f = formatter(tag, "UTC");
        // WHEN formatting dates that would cross midnight if shifted
        for d in [ymd(2024, 12, 31), ymd(2025, 1, 1), ymd(2024, 2, 29)] {
            // THEN every zone renders the same calendar date
            let expected = date_str(&utc_f, d);
            assert_eq!(date_str(&kiritimati, d), expected, "{tag:?} {d}");
            assert_eq!(date_str(&pago_pago, d), expected, "{tag:?} {d}");
        }
    }
    let f = formatter(None, "Pacific/Kiritimati");
    assert_eq!(date_str(&f, ymd(2024, 12, 31)), "2024-12-31");
    // AND date-times do shift (contrast): 23:30 UTC is the next day in +14
    assert_eq!(
        datetime_str(&f, utc(2024, 12, 31, 23, 30, 0)),
        "2025-01-01T13:30:00+14:00"
    );
    let f = formatter(None, "Pacific/Pago_Pago");
    assert_eq!(
        datetime_str(&f, utc(2025, 1, 1, 0, 30, 0)),
        "2024-12-31T13:30:00-11:00"
    );
}

#[test]
fn local_datetime_is_the_wall_clock_in_the_export_zone() {
    // GIVEN formatters in three zones
    let t = utc(2024, 3, 10, 14, 30, 15);
    // WHEN asking for the local wall-clock time
    // THEN it is the shifted naive date-time, independent of locale
    assert_eq!(
        formatter(None, "UTC").local_datetime(t),
        naive(2024, 3, 10, 14, 30, 15)
    );
    assert_eq!(
        formatter(Some("es-CL"), "America/Santiago").local_datetime(t),
        naive(2024, 3, 10, 11, 30, 15)
    );
    assert_eq!(
        formatter(Some("en-US"), "Asia/Tokyo").local_datetime(t),
        naive(2024, 3, 10, 23, 30, 15)
    );
}

// ----- Excel formats ----------------------------------------------------

#[test]
fn excel_formats_for_iso_es_cl_and_en_us() {
    // GIVEN formatters for ISO, es-CL, en-US and de-DE
    // WHEN asking for Excel number formats
    // THEN they mirror the CSV patterns
    let iso = formatter(None, "UTC");
    assert_eq!(iso.excel_date_format(), "yyyy-mm-dd");
    assert_eq!(iso.excel_datetime_format(), "yyyy-mm-dd hh:mm:ss");
    let es = formatter(Some("es-CL"), "America/Santiago");
    assert_eq!(es.excel_date_format(), "dd/mm/yyyy");
    assert_eq!(es.excel_datetime_format(), "dd/mm/yyyy\\, hh:mm:ss");
    let us = formatter(Some("en-US"), "America/New_York");
    assert_eq!(us.excel_date_format(), "m/d/yyyy");
    assert_eq!(us.excel_datetime_format(), "m/d/yyyy\\, h:mm:ss AM/PM");
    let de = formatter(Some("de-DE"), "Europe/Berlin");
    assert_eq!(de.excel_date_format(), "dd\\.mm\\.yyyy");
    assert_eq!(de.excel_datetime_format(), "dd\\.mm\\.yyyy\\, hh:mm:ss");
}

// ----- Other ICU locales ------------------------------------------------

#[test]
fn en_us_uses_twelve_hour_clock_from_icu() {
    // GIVEN an en-US formatter in UTC
    let f = formatter(Some("en-US"), "UTC");
    // WHEN formatting afternoon, early-morning, midnight and noon instants
    // THEN ICU's 12-hour pattern with its narrow no-break space is used
    assert_eq!(date_str(&f, ymd(2033, 11, 22)), "11/22/2033");
    assert_eq!(date_str(&f, ymd(2034, 1, 5)), "1/5/2034");
    assert_eq!(
        datetime_str(&f, utc(2033, 11, 22, 13, 45, 56)),
        "11/22/2033, 1:45:56\u{202f}PM"
    );
    assert_eq!(
        datetime_str(&f, utc(2034, 1, 5, 1, 4, 7)),
        "1/5/2034, 1:04:07\u{202f}AM"
    );
    assert_eq!(
        datetime_str(&f, utc(2034, 1, 5, 0, 0, 0)),
        "1/5/2034, 12:00:00\u{202f}AM"
    );
    assert_eq!(
        datetime_str(&f, utc(2034, 1, 5, 12, 0, 0)),
        "1/5/2034, 12:00:00\u{202f}PM"
    );
    assert_eq!(number_str(&f, 1234567.5), "1234567.5");
}

#[test]
fn icu_outputs_for_common_locales() {
    // GIVEN 2033-11-22 13:45:56 UTC and -1234567.5
    let d = ymd(2033, 11, 22);
    let t = utc(2033, 11, 22, 13, 45, 56);
    // WHEN formatted in several locales (UTC)
    // THEN the output matches ICU4X's CLDR conventions
    for (tag, date, datetime, number) in [
        ("es", "22/11/2033", "22/11/2033, 13:45:56", "-1234567,5"),
        ("de-DE", "22.11.2033", "22.11.2033, 13:45:56", "-1234567,5"),
        ("fr", "22/11/2033", "22/11/2033 13:45:56", "-1234567,5"),
        ("pt-BR", "22/11/2033", "22/11/2033, 13:45:56", "-1234567,5"),
        ("en-GB", "22/11/2033", "22/11/2033, 13:45:56", "-1234567.5"),
        ("ja-JP", "2033/11/22", "2033/11/22 13:45:56", "-1234567.5"),
        (
            "sv-SE",
            "2033-11-22",
            "2033-11-22 13:45:56",
            "\u{2212}1234567,5",
        ),
        (
            "en-u-hc-h23",
            "11/22/2033",
            "11/22/2033, 13:45:56",
            "-1234567.5",
        ),
    ] {
        let f = formatter(Some(tag), "UTC");
        assert_eq!(date_str(&f, d), date, "{tag}");
        assert_eq!(datetime_str(&f, t), datetime, "{tag}");
        assert_eq!(number_str(&f, -1234567.5), number, "{tag}");
    }
}

#[test]
fn fast_path_matches_icu_for_many_values() {
    // GIVEN locales whose patterns are tokenised
    let tags = [
        "es", "de-DE", "en-US", "fr", "pt-BR", "en-GB", "ja-JP", "ko-KR", "hi-IN", "sv-SE",
        "nl-NL", "es-MX", "he-IL", "fr-CA", "zh-CN", "it-IT", "en-CA", "und", "ar",
    ];
    for tag in tags {
        let f = formatter(Some(tag), "UTC");
        assert!(matches!(f.date, DateStyle::Pattern(_)), "{tag} date");
        assert!(
            matches!(f.datetime, DateStyle::Pattern(_)),
            "{tag} datetime"
        );
        let icu = IcuFormatters::new(&locale(tag).inner);
        // WHEN formatting values spread over years 1000..=9999 and all hours
        let mut t = utc(1000, 1, 1, 0, 0, 0);
        let step = chrono::Duration::seconds(123_456_789);
        while t.year() <= 9999 {
            let local = t.naive_utc();
            let (icu_date, icu_datetime) = icu_direct_with(&icu, local);
            // THEN the token rendering equals ICU's own output
            assert_eq!(date_str(&f, local.date()), icu_date, "{tag} {local}");
            assert_eq!(datetime_str(&f, t), icu_datetime, "{tag} {local}");
            t += step;
        }
    }
}

#[test]
fn es_cl_fast_path_is_icu_with_slashes_for_many_values() {
    // GIVEN es-CL, whose ICU date separator is '-'
    let f = formatter(Some("es-CL"), "UTC");
    let icu = IcuFormatters::new(&locale("es-CL").inner);
    let mut t = utc(1000, 1, 1, 0, 0, 0);
    let step = chrono::Duration::seconds(98_765_431);
    while t.year() <= 9999 {
        let local = t.naive_utc();
        let (icu_date, icu_datetime) = icu_direct_with(&icu, local);
        // WHEN formatting THEN only the date separators differ from ICU
        assert_eq!(date_str(&f, local.date()), icu_date.replace('-', "/"));
        assert_eq!(datetime_str(&f, t), icu_datetime.replacen('-', "/", 2));
        t += step;
    }
}

#[test]
fn years_outside_fast_range_use_icu_or_iso() {
    // GIVEN an es-CL formatter
    let f = formatter(Some("es-CL"), "UTC");
    // WHEN formatting a year below 1000 THEN ICU's era form is used
    assert_eq!(date_str(&f, ymd(999, 3, 4)), "04/03/999 d.C.");
    assert_eq!(
        datetime_str(&f, utc(999, 3, 4, 5, 6, 7)),
        "04/03/999 d.C., 05:06:07"
    );
    // WHEN formatting a year ICU cannot represent THEN ISO form is used
    assert_eq!(date_str(&f, ymd(12345, 1, 2)), "+12345-01-02");
    assert_eq!(
        datetime_str(&f, utc(12345, 1, 2, 3, 4, 5)),
        "+12345-01-02T03:04:05"
    );
}

// ----- ICU fallback path ------------------------------------------------

#[test]
fn non_latin_digits_fall_back_to_icu_per_cell() {
    // GIVEN ar-EG, whose ICU output uses Arabic-Indic digits
    let f = formatter(Some("ar-EG"), "Africa/Cairo");
    assert!(matches!(f.date, DateStyle::Icu));
    assert!(matches!(f.datetime, DateStyle::Icu));
    assert!(matches!(f.number, NumberStyle::Icu));
    // WHEN formatting values
    let t = utc(2033, 11, 22, 11, 45, 56); // 13:45:56 in Cairo (UTC+2)
    let local = f.local_datetime(t);
    assert_eq!(local, naive(2033, 11, 22, 13, 45, 56));
    let (icu_date, icu_datetime) = icu_direct("ar-EG", local);
    // THEN the output is ICU's, with Arabic-Indic digits
    assert_eq!(date_str(&f, ymd(2033, 11, 22)), icu_date);
    assert_eq!(datetime_str(&f, t), icu_datetime);
    assert_eq!(
        icu_date,
        "\u{662}\u{662}\u{200f}/\u{661}\u{661}\u{200f}/\u{662}\u{660}\u{663}\u{663}"
    );
    assert_eq!(
        number_str(&f, 1234.5),
        "\u{661}\u{662}\u{663}\u{664}\u{66b}\u{665}"
    );
    assert_eq!(number_str(&f, f64::NAN), "NaN");
    // AND Excel formats fall back to ISO
    assert_eq!(f.excel_date_format(), "yyyy-mm-dd");
    assert_eq!(f.excel_datetime_format(), "yyyy-mm-dd hh:mm:ss");
}

#[test]
fn non_gregorian_calendars_fall_back_to_icu_per_cell() {
    // GIVEN th-TH (Buddhist calendar, Latin digits) and fa-IR (Persian calendar and digits)
    let th = formatter(Some("th-TH"), "Asia/Bangkok");
    let fa = formatter(Some("fa-IR"), "Asia/Tehran");
    // WHEN formatting 2033-11-22
    // THEN the year is in the locale's calendar, as ICU renders it
    assert!(matches!(th.date, DateStyle::Icu));
    assert_eq!(date_str(&th, ymd(2033, 11, 22)), "22/11/2576");
    assert!(matches!(th.number, NumberStyle::Ascii { .. }));
    assert!(matches!(fa.date, DateStyle::Icu));
    assert_eq!(
        date_str(&fa, ymd(2033, 11, 22)),
        "\u{6f1}\u{6f4}\u{6f1}\u{6f2}/\u{6f9}/\u{6f2}"
    );
    assert_eq!(th.excel_date_format(), "yyyy-mm-dd");
}

#[test]
fn flexible_day_periods_fall_back_to_icu_per_cell() {
    // GIVEN zh-Hant-TW, whose time pattern uses flexible day periods (B)
    let f = formatter(Some("zh-Hant-TW"), "Asia/Taipei");
    // WHEN formatting
    // THEN dates take the fast path and date-times go through ICU
    assert!(matches!(f.date, DateStyle::Pattern(_)));
    assert!(matches!(f.datetime, DateStyle::Icu));
    assert_eq!(date_str(&f, ymd(2033, 11, 22)), "2033/11/22");
    let t = utc(2033, 11, 22, 5, 45, 56); // 13:45:56 in Taipei
    let (_, icu_datetime) = icu_direct("zh-Hant-TW", naive(2033, 11, 22, 13, 45, 56));
    assert_eq!(datetime_str(&f, t), icu_datetime);
    assert_eq!(f.excel_date_format(), "yyyy/m/d");
    assert_eq!(f.excel_datetime_format(), "yyyy-mm-dd hh:mm:ss");
}

#[test]
fn formatter_is_send_sync_and_fallback_works_on_other_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CellFormatter>();
    assert_send_sync::<Locale>();
    // GIVEN a fallback formatter built on this thread
    let f = formatter(Some("ar-EG"), "UTC");
    let expected = date_str(&f, ymd(2033, 11, 22));
    // WHEN it is used on a fresh thread (empty ICU cache)
    let on_other_thread = std::thread::spawn(move || date_str(&f, ymd(2033, 11, 22)))
        .join()
        .expect("thread ran");
    // THEN the output is identical
    assert_eq!(on_other_thread, expected);
}

#[test]
fn icu_cache_is_bounded() {
    // GIVEN more fallback locales than the cache holds
    let tags = [
        "ar-EG",
        "fa-IR",
        "bn-BD",
        "mr-IN",
        "my-MM",
        "th-TH",
        "ar-SA",
        "ne-NP",
        "zh-Hant-TW",
        "ps-AF",
    ];
    assert!(tags.len() > ICU_CACHE_CAPACITY);
    std::thread::spawn(move || {
        // WHEN formatting with each of them
        for tag in tags {
            let f = formatter(Some(tag), "UTC");
            assert!(!date_str(&f, ymd(2033, 11, 22)).is_empty());
        }
        // THEN the per-thread cache stays within its capacity
        let len = ICU_CACHE.with(|c| c.borrow().len());
        assert_eq!(len, ICU_CACHE_CAPACITY);
    })
    .join()
    .expect("thread ran");
}

// ----- Pattern internals ------------------------------------------------

#[test]
fn pattern_parser_handles_quotes_and_rejects_text_fields() {
    // GIVEN UTS 35 patterns with quoted literals
    // WHEN parsed
    // THEN quoted text is literal and '' is an apostrophe
    assert_eq!(
        parse_pattern("HH 'h' mm 'min' ss 's'"),
        Some(vec![
            Token::Hour(HourCycle::H23, 2),
            Token::Literal(" h ".into()),
            Token::Minute(2),
            Token::Literal(" min ".into()),
            Token::Second(2),
            Token::Literal(" s".into()),
        ])
    );
    assert_eq!(
        parse_pattern("d''M 'o''clock'"),
        Some(vec![
            Token::Day(1),
            Token::Literal("'".into()),
            Token::Month(1),
            Token::Literal(" o'clock".into()),
        ])
    );
    // AND text months, weekdays, eras, flexible periods and bad quotes are rejected
    for p in ["d MMM y", "EEE d/M/y", "d/M/y G", "Bh:mm", "d/M/y 'open"] {
        assert_eq!(parse_pattern(p), None, "{p}");
    }
}

#[test]
fn es_cl_rule_only_touches_dashes_between_date_fields() {
    // GIVEN a pattern with dashes between date fields and elsewhere
    let mut p = FieldPattern {
        tokens: parse_pattern("dd-MM-y - HH-mm").expect("parses"),
        am: "".into(),
        pm: "".into(),
    };
    // WHEN the es-CL rule is applied
    p.use_slash_between_date_fields();
    // THEN only the separators between numeric date fields change
    let mut out = String::new();
    p.render(
        &mut out,
        &Fields::from_datetime(naive(2033, 11, 22, 13, 45, 56)),
    );
    assert_eq!(out, "22/11/2033 - 13-45");
}

#[test]
fn hour_cycles_render_as_uts35_defines() {
    // GIVEN patterns with each hour cycle
    // WHEN rendering midnight, 1 AM, noon and 1 PM
    // THEN H is 0-23, h is 1-12, K is 0-11 and k is 1-24
    for (pattern, expected) in [
        ("H", ["0", "1", "12", "13"]),
        ("h", ["12", "1", "12", "1"]),
        ("K", ["0", "1", "0", "1"]),
        ("kk", ["24", "01", "12", "13"]),
    ] {
        let p = FieldPattern {
            tokens: parse_pattern(pattern).expect("parses"),
            am: "".into(),
            pm: "".into(),
        };
        for (hour, want) in [0, 1, 12, 13].into_iter().zip(expected) {
            let mut out = String::new();
            p.render(
                &mut out,
                &Fields::from_datetime(naive(2033, 1, 1, hour, 0, 0)),
            );
            assert_eq!(out, want, "{pattern} at {hour}");
        }
    }
}

#[test]
fn utc_skips_the_zone_lookup_with_the_same_result() {
    // GIVEN instants across years, a leap day and the extremes of the ISO range
    let instants = [
        utc(2024, 2, 29, 23, 59, 59),
        utc(1970, 1, 1, 0, 0, 0),
        utc(1, 1, 1, 0, 0, 0),
        utc(9999, 12, 31, 23, 59, 59),
        utc(2026, 11, 22, 8, 5, 9),
    ];
    for tag in [None, Some("en-US"), Some("es-CL")] {
        let f = formatter(tag, "UTC");
        for t in instants {
            // WHEN formatted through the UTC fast path
            // THEN text and wall-clock time equal the zone conversion's
            let zoned = t.with_timezone(&chrono_tz::UTC);
            assert_eq!(f.local_datetime(t), zoned.naive_local());
            assert_eq!(f.zoned(t), (zoned.naive_local(), 0));
            if tag.is_none() {
                assert_eq!(
                    datetime_str(&f, t),
                    format!("{}+00:00", zoned.naive_local().format("%Y-%m-%dT%H:%M:%S"))
                );
            }
        }
    }
}
