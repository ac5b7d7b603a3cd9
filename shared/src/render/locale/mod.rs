//! Locale- and timezone-aware rendering of cell values (dates, date-times and
//! numbers) for CSV and XLSX exports.
//!
//! # Modes
//!
//! * **ISO mode** — the locale is omitted or is exactly `en` (no script,
//!   region, variants or extensions; case-insensitive). Output is
//!   machine-oriented and locale-independent:
//!   * `DATE`: `YYYY-MM-DD` (years outside `0..=9999` use the ISO 8601
//!     expanded form, e.g. `+10000-01-01`, `-0001-01-01`);
//!   * `DATE_TIME`: RFC 3339 in the export timezone with seconds precision
//!     (sub-seconds are truncated) and **always a numeric offset**, never `Z`:
//!     `2024-03-10T11:30:00-03:00`, `2024-03-10T14:30:00+00:00`. Historical
//!     local-mean-time offsets that are not whole minutes (zones before ~1900)
//!     are written with seconds, e.g. `-04:42:46`, so the instant stays exact;
//!   * numbers: `.` decimal point, no grouping, shortest round-trip digits.
//! * **ICU mode** — any other well-formed BCP 47 tag. Patterns, digits and
//!   symbols come from ICU4X compiled (CLDR) data:
//!   * `DATE`: ICU's numeric year-month-day (`YMD::short()` with
//!     `YearStyle::Full`, i.e. a 4-digit year) in the locale's default
//!     calendar, e.g. `22.11.2033` (de-DE), `11/22/2033` (en-US);
//!   * `DATE_TIME`: ICU's numeric date plus hours, minutes and seconds with
//!     the locale's hour cycle, e.g. `11/22/2033, 1:45:56 PM` (en-US, with
//!     ICU's U+202F narrow no-break space before `PM`); no offset is shown;
//!   * numbers: the locale's decimal separator and minus sign from
//!     `icu_decimal`, but **never grouping separators**, so CSV cells stay
//!     machine-readable (`1234567,5` for es-CL, not `1.234.567,5`). Digits are
//!     the same shortest round-trip digits as in ISO mode.
//!
//! In both modes `DATE` values are calendar dates and are never shifted by
//! the timezone; `DATE_TIME` values are UTC instants shifted into the export
//! timezone before rendering.
//!
//! # es-CL date separator
//!
//! CLDR (and therefore ICU4X 2.x) formats es-CL numeric dates as `dd-MM-y`
//! (`22-11-2033`). The product design requires `dd/mm/yyyy` for Chile, so
//! for language `es` + region `CL` a `-` literal that sits *between two
//! numeric date fields* of the ICU-derived pattern is replaced with `/`.
//! Field order, zero padding and everything else still come from ICU. This
//! override applies to the derived (fast-path) pattern only; it is the sole
//! per-locale rule in this module.
//!
//! # Performance
//!
//! [`CellFormatter::new`] asks ICU once for the pattern of a sample
//! date-time, parses that UTS 35 pattern into tokens (numeric fields and
//! literals), extracts the AM/PM strings for 12-hour locales, and verifies
//! that rendering the tokens reproduces ICU's output exactly for a set of
//! sample values (midnight, noon, single-digit fields, the years 1000 and
//! 9999, ...). Cells are then rendered by walking the tokens and pushing
//! zero-padded ASCII numbers straight into the output buffer: no allocation
//! and no ICU call per cell. Numbers likewise use the shortest round-trip
//! `Display` of `f64` with the locale's separator and minus sign substituted.
//!
//! When verification fails — non-Latin digits (ar-EG, fa-IR, bn-BD, ...), a
//! non-Gregorian default calendar (th-TH, fa-IR), text fields or flexible day
//! periods (zh-Hant-TW uses `B`: 上午/下午/凌晨...) — that value kind falls
//! back to calling the ICU formatter per cell (correct but slower), and the
//! Excel format strings fall back to `yyyy-mm-dd` / `yyyy-mm-dd hh:mm:ss`.
//! The fast path is also limited to years `1000..=9999`: ICU adds an era to
//! earlier years (`04/03/999 d.C.`), so such cells go through ICU as well,
//! and years ICU cannot represent (beyond ±9999) are written in ISO form.
//!
//! ICU4X formatters are neither `Send` nor `Sync` (their data payloads use
//! `Rc` unless ICU's `sync` feature is enabled), whereas [`CellFormatter`]
//! is `Send + Sync` so it can be held across `.await` points. The ICU
//! formatters needed by the fallback are therefore kept in a small
//! per-thread cache keyed by locale: they are constructed at most once per
//! thread and locale (and already by [`CellFormatter::new`] on its thread),
//! never per cell.
//!
//! # Non-finite numbers and negative zero
//!
//! `NaN`, `Infinity` and `-Infinity` are written in ASCII in every mode;
//! `-0.0` is written as `0`.
//!
//! # Layout
//!
//! This file holds the public types; the private submodules hold the
//! machinery: `pattern` (deriving, tokenising and rendering ICU date
//! patterns: the fast path), `icu` (the ICU slow path and its per-thread
//! cache), `number` (number formatting) and `iso` (ISO 8601 helpers).

mod collate;
mod icu;
mod iso;
mod number;
mod pattern;
#[cfg(test)]
mod tests;

use std::fmt::Write as _;
use std::ops::RangeInclusive;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Offset, Utc};
use chrono_tz::Tz;
use fixed_decimal::Decimal;
use icu_locale_core::Locale as IcuLocale;

pub use self::collate::compare_names;
use self::icu::{icu_date, icu_datetime, with_icu};
use self::iso::{push_iso_date, push_iso_naive, push_offset};
use self::number::{derive_number_style, push_number, NumberStyle};
use self::pattern::{derive_date_style, DateStyle, Fields};

/// Errors: malformed BCP-47 tag or unknown IANA zone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocaleError {
    #[error("locale '{0}' is not a valid BCP 47 tag")]
    InvalidLocale(String),
    #[error("timezone '{0}' is not a known IANA zone")]
    InvalidTimezone(String),
}

/// An export locale: either ISO mode or an ICU locale.
///
/// Parsed from a BCP 47 tag with `icu_locale_core`:
/// * `None` => ISO mode (same as `"en"`);
/// * `"en"` — exactly the language `en` with no script, region, variants or
///   extensions, case-insensitive (`"EN"` too) => ISO mode;
/// * any other well-formed tag (`"es-CL"`, `"es"`, `"de-DE"`, `"en-US"`,
///   `"pt-BR"`, `"fr"`, `"zh-Hant-TW"`, `"en-u-hc-h23"`) => ICU mode;
/// * malformed tags (`""`, `"es_CL!"`, `"123"`, `"x"`) and the underscore
///   form (`"es_CL"`; BCP 47 separates subtags with `-`) =>
///   [`LocaleError::InvalidLocale`]. Surrounding whitespace is not trimmed.
///
/// Well-formed tags for which CLDR has no data (e.g. `"xx-YY"`) are accepted;
/// ICU then falls back to its root locale (`y-MM-dd`, `HH:mm:ss`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Locale {
    inner: IcuLocale,
}

impl Locale {
    /// Parses an optional BCP 47 tag (see the type docs for the rules).
    pub fn parse(tag: Option<&str>) -> Result<Locale, LocaleError> {
        let Some(tag) = tag else {
            return Ok(Locale::iso());
        };
        if tag.is_empty() || tag.contains('_') {
            return Err(LocaleError::InvalidLocale(tag.to_owned()));
        }
        IcuLocale::try_from_str(tag)
            .map(|inner| Locale { inner })
            .map_err(|_| LocaleError::InvalidLocale(tag.to_owned()))
    }

    /// The ISO-mode locale (`en`).
    pub fn iso() -> Locale {
        Locale {
            inner: icu_locale_core::locale!("en"),
        }
    }

    /// Whether this locale renders in ISO mode (exactly `en`).
    pub fn is_iso(&self) -> bool {
        let id = &self.inner.id;
        id.language.as_str() == "en"
            && id.script.is_none()
            && id.region.is_none()
            && id.variants.is_empty()
            && self.inner.extensions.is_empty()
    }

    /// The normalized (canonical-case) tag, e.g. `"es-CL"` for `"es-cl"`;
    /// `"en"` for ISO mode.
    pub fn tag(&self) -> String {
        self.inner.to_string()
    }

    /// Language `es` with region `CL` (any script, variants or extensions).
    fn is_es_cl(&self) -> bool {
        self.inner.id.language.as_str() == "es"
            && self.inner.id.region.is_some_and(|r| r.as_str() == "CL")
    }
}

/// Parses an IANA zone name with chrono-tz (`None` => UTC).
///
/// Matching is exact and case-sensitive (`"America/Santiago"`, not
/// `"america/santiago"`); unknown names, including `""`, give
/// [`LocaleError::InvalidTimezone`].
pub fn parse_timezone(name: Option<&str>) -> Result<Tz, LocaleError> {
    match name {
        None => Ok(Tz::UTC),
        Some(name) => name
            .parse::<Tz>()
            .map_err(|_| LocaleError::InvalidTimezone(name.to_owned())),
    }
}

/// Formats cell values for one export: built once per export, then used per
/// cell. See the module docs for the exact output in each mode.
///
/// `Send + Sync`; cheap to clone.
#[derive(Debug, Clone)]
pub struct CellFormatter {
    tz: Tz,
    /// `None` in ISO mode.
    icu_locale: Option<IcuLocale>,
    date: DateStyle,
    datetime: DateStyle,
    number: NumberStyle,
    excel_date: String,
    excel_datetime: String,
}

/// Excel format of ISO mode and of the ICU fallback path.
const ISO_EXCEL_DATE: &str = "yyyy-mm-dd";
/// Excel format of ISO mode and of the ICU fallback path.
const ISO_EXCEL_DATETIME: &str = "yyyy-mm-dd hh:mm:ss";

/// Years the token fast path renders; ICU adds an era below 1000 and cannot
/// represent years beyond 9999.
const FAST_YEARS: RangeInclusive<i32> = 1000..=9999;

impl CellFormatter {
    /// Builds the formatter for `locale` and the export timezone `tz`.
    ///
    /// In ICU mode this loads ICU4X data (compiled in) and derives the token
    /// patterns; it never fails. Should ICU data be unavailable for some
    /// value kind (not the case with compiled data, which falls back to the
    /// root locale), that kind is rendered in ISO form.
    pub fn new(locale: &Locale, tz: Tz) -> CellFormatter {
        if locale.is_iso() {
            return CellFormatter {
                tz,
                icu_locale: None,
                date: DateStyle::Iso,
                datetime: DateStyle::Iso,
                number: NumberStyle::ISO,
                excel_date: ISO_EXCEL_DATE.to_owned(),
                excel_datetime: ISO_EXCEL_DATETIME.to_owned(),
            };
        }
        let es_cl = locale.is_es_cl();
        let (date, datetime, number) = with_icu(&locale.inner, |icu| {
            let date = match &icu.date {
                None => DateStyle::Iso,
                Some(f) => derive_date_style(es_cl, |t| {
                    let formatted = f.format(&icu_date(t.date())?);
                    Some((formatted.to_string(), formatted.pattern().to_string()))
                }),
            };
            let datetime = match &icu.datetime {
                None => DateStyle::Iso,
                Some(f) => derive_date_style(es_cl, |t| {
                    let formatted = f.format(&icu_datetime(t)?);
                    Some((formatted.to_string(), formatted.pattern().to_string()))
                }),
            };
            let number = match &icu.number {
                None => NumberStyle::ISO,
                Some(f) => derive_number_style(f),
            };
            (date, datetime, number)
        });
        let excel = |style: &DateStyle, iso: &str| match style {
            DateStyle::Pattern(p) => p.excel_format().unwrap_or_else(|| iso.to_owned()),
            DateStyle::Iso | DateStyle::Icu => iso.to_owned(),
        };
        CellFormatter {
            tz,
            icu_locale: Some(locale.inner.clone()),
            excel_date: excel(&date, ISO_EXCEL_DATE),
            excel_datetime: excel(&datetime, ISO_EXCEL_DATETIME),
            date,
            datetime,
            number,
        }
    }

    /// The export timezone.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// Appends a `DATE` value. DATE values are NOT shifted by timezone.
    pub fn format_date(&self, d: NaiveDate, out: &mut String) {
        match &self.date {
            DateStyle::Iso => push_iso_date(out, d),
            DateStyle::Pattern(p) if FAST_YEARS.contains(&d.year()) => {
                p.render(out, &Fields::from_date(d));
            }
            DateStyle::Pattern(_) | DateStyle::Icu => {
                let written = self.icu_locale.as_ref().and_then(|locale| {
                    let input = icu_date(d)?;
                    with_icu(locale, |icu| {
                        let f = icu.date.as_ref()?;
                        let _ = write!(out, "{}", f.format(&input));
                        Some(())
                    })
                });
                if written.is_none() {
                    push_iso_date(out, d);
                }
            }
        }
    }

    /// Appends a `DATE_TIME` value. DATE_TIME values are shifted from UTC
    /// into the timezone first.
    pub fn format_datetime(&self, t: DateTime<Utc>, out: &mut String) {
        let (local, offset) = self.zoned(t);
        match &self.datetime {
            DateStyle::Iso => {
                push_iso_naive(out, local);
                push_offset(out, offset);
            }
            DateStyle::Pattern(p) if FAST_YEARS.contains(&local.year()) => {
                p.render(out, &Fields::from_datetime(local));
            }
            DateStyle::Pattern(_) | DateStyle::Icu => {
                let written = self.icu_locale.as_ref().and_then(|locale| {
                    let input = icu_datetime(local)?;
                    with_icu(locale, |icu| {
                        let f = icu.datetime.as_ref()?;
                        let _ = write!(out, "{}", f.format(&input));
                        Some(())
                    })
                });
                if written.is_none() {
                    push_iso_naive(out, local);
                }
            }
        }
    }

    /// Appends a number (see the module docs: no grouping, shortest
    /// round-trip digits, locale decimal separator in ICU mode).
    pub fn format_number(&self, n: f64, out: &mut String) {
        match &self.number {
            NumberStyle::Ascii { decimal, minus } => push_number(out, n, decimal, minus),
            NumberStyle::Icu => {
                let start = out.len();
                // The plain rendering doubles as the input for ICU and as the
                // answer should ICU be unavailable.
                push_number(out, n, ".", "-");
                if !n.is_finite() {
                    return;
                }
                let Some(locale) = &self.icu_locale else {
                    return;
                };
                let Some(decimal) = out.get(start..).and_then(|s| Decimal::try_from_str(s).ok())
                else {
                    return;
                };
                with_icu(locale, |icu| {
                    if let Some(f) = &icu.number {
                        out.truncate(start);
                        let _ = write!(out, "{}", f.format(&decimal));
                    }
                });
            }
        }
    }

    /// The local wall-clock time of `t` in the export's timezone (for XLSX
    /// cells).
    pub fn local_datetime(&self, t: DateTime<Utc>) -> NaiveDateTime {
        self.zoned(t).0
    }

    /// `t` as wall-clock time in the export's timezone, and that zone's
    /// offset from UTC in seconds. UTC (the default zone) skips the zone
    /// lookup, which is a measurable share of a date-time cell.
    fn zoned(&self, t: DateTime<Utc>) -> (NaiveDateTime, i32) {
        if self.tz == chrono_tz::UTC {
            return (t.naive_utc(), 0);
        }
        let zoned = t.with_timezone(&self.tz);
        (zoned.naive_local(), zoned.offset().fix().local_minus_utc())
    }

    /// Excel number format for date cells: `yyyy-mm-dd` in ISO mode (and for
    /// the ICU fallback path), otherwise derived from the ICU pattern, e.g.
    /// `dd/mm/yyyy` (es-CL), `m/d/yyyy` (en-US), `dd\.mm\.yyyy` (de-DE).
    pub fn excel_date_format(&self) -> &str {
        &self.excel_date
    }

    /// Excel number format for date-time cells: `yyyy-mm-dd hh:mm:ss` in ISO
    /// mode (and for the ICU fallback path), otherwise derived from the ICU
    /// pattern, e.g. `dd/mm/yyyy\, hh:mm:ss` (es-CL) or
    /// `m/d/yyyy\, h:mm:ss AM/PM` (en-US). Literals other than space, `-`,
    /// `/` and `:` are backslash-escaped; no-break and thin spaces become
    /// spaces and bidi marks are dropped.
    pub fn excel_datetime_format(&self) -> &str {
        &self.excel_datetime
    }
}
