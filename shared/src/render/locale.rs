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

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt::Write as _;
use std::ops::RangeInclusive;
use std::rc::Rc;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Offset, Timelike, Utc};
use chrono_tz::Tz;
use fixed_decimal::Decimal;
use icu_calendar::{Date, Iso};
use icu_datetime::fieldsets::{YMD, YMDT};
use icu_datetime::options::YearStyle;
use icu_datetime::DateTimeFormatter;
use icu_decimal::options::{DecimalFormatterOptions, GroupingStrategy};
use icu_decimal::DecimalFormatter;
use icu_locale_core::Locale as IcuLocale;
use icu_time::{DateTime as IcuDateTime, Time as IcuTime};

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
        let zoned = t.with_timezone(&self.tz);
        let local = zoned.naive_local();
        match &self.datetime {
            DateStyle::Iso => {
                push_iso_naive(out, local);
                push_offset(out, zoned.offset().fix().local_minus_utc());
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
        t.with_timezone(&self.tz).naive_local()
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

// ---------------------------------------------------------------------------
// Per-thread ICU formatter cache (for the fallback path)
// ---------------------------------------------------------------------------

/// The ICU formatters of one locale.
struct IcuFormatters {
    date: Option<DateTimeFormatter<YMD>>,
    datetime: Option<DateTimeFormatter<YMDT>>,
    number: Option<DecimalFormatter>,
}

impl IcuFormatters {
    fn new(locale: &IcuLocale) -> IcuFormatters {
        let date_fields = YMD::short().with_year_style(YearStyle::Full);
        IcuFormatters {
            date: DateTimeFormatter::try_new(locale.into(), date_fields).ok(),
            datetime: DateTimeFormatter::try_new(locale.into(), date_fields.with_time_hms()).ok(),
            number: DecimalFormatter::try_new(
                locale.into(),
                DecimalFormatterOptions::from(GroupingStrategy::Never),
            )
            .ok(),
        }
    }
}

/// Locales whose ICU formatters are kept per thread.
const ICU_CACHE_CAPACITY: usize = 8;

thread_local! {
    static ICU_CACHE: RefCell<Vec<(IcuLocale, Rc<IcuFormatters>)>> =
        const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's cached ICU formatters for `locale`,
/// constructing them on first use (oldest entry evicted beyond
/// [`ICU_CACHE_CAPACITY`]). If the cache is unavailable (thread teardown),
/// the formatters are built for this call only.
fn with_icu<R>(locale: &IcuLocale, f: impl FnOnce(&IcuFormatters) -> R) -> R {
    let cached = ICU_CACHE
        .try_with(|cache| {
            let mut cache = cache.try_borrow_mut().ok()?;
            if let Some((_, fmts)) = cache.iter().find(|(l, _)| l == locale) {
                return Some(Rc::clone(fmts));
            }
            let fmts = Rc::new(IcuFormatters::new(locale));
            if cache.len() >= ICU_CACHE_CAPACITY {
                cache.remove(0);
            }
            cache.push((locale.clone(), Rc::clone(&fmts)));
            Some(fmts)
        })
        .ok()
        .flatten();
    match cached {
        Some(fmts) => f(&fmts),
        None => f(&IcuFormatters::new(locale)),
    }
}

fn icu_date(d: NaiveDate) -> Option<Date<Iso>> {
    let month = u8::try_from(d.month()).ok()?;
    let day = u8::try_from(d.day()).ok()?;
    Date::try_new_iso(d.year(), month, day).ok()
}

fn icu_datetime(t: NaiveDateTime) -> Option<IcuDateTime<Iso>> {
    let time = IcuTime::try_new(
        u8::try_from(t.hour()).ok()?,
        u8::try_from(t.minute()).ok()?,
        u8::try_from(t.second()).ok()?,
        0,
    )
    .ok()?;
    Some(IcuDateTime {
        date: icu_date(t.date())?,
        time,
    })
}

// ---------------------------------------------------------------------------
// Date and date-time patterns
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum DateStyle {
    /// ISO 8601 (ISO mode, or ICU data unavailable).
    Iso,
    /// Token fast path derived from (and verified against) ICU.
    Pattern(FieldPattern),
    /// ICU formatter per cell.
    Icu,
}

/// Samples used to derive and verify patterns. The first has distinct digit
/// runs in every field (day 22, month 11, year 2033, hour 13 / 1, minute 45,
/// second 56) and is PM; the second has single-digit fields and is AM.
const SAMPLES: [(i32, u32, u32, u32, u32, u32); 8] = [
    (2033, 11, 22, 13, 45, 56),
    (2034, 1, 5, 1, 4, 7),
    (1999, 12, 31, 0, 0, 0),
    (2000, 2, 29, 12, 0, 0),
    (1000, 1, 1, 23, 59, 59),
    (9999, 12, 31, 11, 30, 5),
    (1970, 7, 4, 10, 9, 8),
    (2024, 10, 10, 12, 34, 9),
];

fn sample(i: usize) -> Option<NaiveDateTime> {
    let (y, mo, d, h, mi, s) = *SAMPLES.get(i)?;
    NaiveDate::from_ymd_opt(y, mo, d)?.and_hms_opt(h, mi, s)
}

/// Derives the fast-path pattern from `icu` (which returns ICU's output and
/// its UTS 35 pattern for a value), or [`DateStyle::Icu`] if the output
/// cannot be reproduced from tokens.
fn derive_date_style(
    es_cl: bool,
    icu: impl Fn(NaiveDateTime) -> Option<(String, String)>,
) -> DateStyle {
    match FieldPattern::derive(&icu) {
        Some(mut pattern) => {
            if es_cl {
                pattern.use_slash_between_date_fields();
            }
            DateStyle::Pattern(pattern)
        }
        None => DateStyle::Icu,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HourCycle {
    /// `H`: 0-23.
    H23,
    /// `h`: 1-12.
    H12,
    /// `K`: 0-11.
    H11,
    /// `k`: 1-24.
    H24,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(Box<str>),
    /// `y`: width 1 = unpadded, 2 = last two digits, n = padded to n.
    Year(u8),
    /// Numeric month, width 1 or 2.
    Month(u8),
    Day(u8),
    Hour(HourCycle, u8),
    Minute(u8),
    Second(u8),
    /// `a`: AM/PM marker.
    DayPeriod,
}

impl Token {
    /// Maps a UTS 35 field (letter repeated `count` times) to a token, or
    /// `None` for fields the fast path does not render (text months, eras,
    /// weekdays, flexible day periods, zones, ...).
    fn field(letter: char, count: usize) -> Option<Token> {
        let width = u8::try_from(count).ok()?;
        let numeric = count <= 2;
        Some(match letter {
            'y' if count <= 9 => Token::Year(width),
            'M' | 'L' if numeric => Token::Month(width),
            'd' if numeric => Token::Day(width),
            'H' if numeric => Token::Hour(HourCycle::H23, width),
            'h' if numeric => Token::Hour(HourCycle::H12, width),
            'K' if numeric => Token::Hour(HourCycle::H11, width),
            'k' if numeric => Token::Hour(HourCycle::H24, width),
            'm' if numeric => Token::Minute(width),
            's' if numeric => Token::Second(width),
            'a' if count <= 5 => Token::DayPeriod,
            _ => return None,
        })
    }

    fn is_date_field(&self) -> bool {
        matches!(self, Token::Year(_) | Token::Month(_) | Token::Day(_))
    }
}

/// Field values of one cell (Gregorian/ISO calendar, wall-clock time).
#[derive(Debug, Clone, Copy)]
struct Fields {
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl Fields {
    fn from_date(d: NaiveDate) -> Fields {
        Fields {
            year: d.year(),
            month: d.month(),
            day: d.day(),
            hour: 0,
            minute: 0,
            second: 0,
        }
    }

    fn from_datetime(t: NaiveDateTime) -> Fields {
        Fields {
            hour: t.hour(),
            minute: t.minute(),
            second: t.second(),
            ..Fields::from_date(t.date())
        }
    }
}

/// A tokenised ICU pattern plus the locale's AM/PM strings.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldPattern {
    tokens: Vec<Token>,
    am: Box<str>,
    pm: Box<str>,
}

impl FieldPattern {
    /// Parses ICU's pattern for the first sample, extracts AM/PM strings and
    /// checks that the tokens reproduce ICU's output for every sample.
    fn derive(icu: &impl Fn(NaiveDateTime) -> Option<(String, String)>) -> Option<FieldPattern> {
        let pm_sample = sample(0)?;
        let am_sample = sample(1)?;
        let (pm_output, pattern) = icu(pm_sample)?;
        let mut derived = FieldPattern {
            tokens: parse_pattern(&pattern)?,
            am: "".into(),
            pm: "".into(),
        };
        match derived
            .tokens
            .iter()
            .filter(|t| **t == Token::DayPeriod)
            .count()
        {
            0 => {}
            1 => {
                let (am_output, _) = icu(am_sample)?;
                derived.am = derived.day_period_in(am_sample, &am_output)?;
                derived.pm = derived.day_period_in(pm_sample, &pm_output)?;
            }
            _ => return None,
        }
        let mut rendered = String::new();
        for t in (0..SAMPLES.len()).map(sample) {
            let t = t?;
            let (expected, _) = icu(t)?;
            rendered.clear();
            derived.render(&mut rendered, &Fields::from_datetime(t));
            if rendered != expected {
                return None;
            }
        }
        Some(derived)
    }

    /// The text ICU printed for the single day-period token: `output` minus
    /// the rendering of the tokens before and after it.
    fn day_period_in(&self, t: NaiveDateTime, output: &str) -> Option<Box<str>> {
        let at = self.tokens.iter().position(|t| *t == Token::DayPeriod)?;
        let fields = Fields::from_datetime(t);
        let mut prefix = String::new();
        let mut suffix = String::new();
        render_tokens(self.tokens.get(..at)?, "", "", &fields, &mut prefix);
        render_tokens(self.tokens.get(at + 1..)?, "", "", &fields, &mut suffix);
        let marker = output.strip_prefix(&prefix)?.strip_suffix(&suffix)?;
        (!marker.is_empty()).then(|| marker.into())
    }

    /// The es-CL rule: a `-` literal between two numeric date fields becomes
    /// `/` (CLDR's es-CL pattern is `dd-MM-y`).
    fn use_slash_between_date_fields(&mut self) {
        for i in 1..self.tokens.len().saturating_sub(1) {
            let between_date_fields = self.tokens.get(i - 1).is_some_and(Token::is_date_field)
                && self.tokens.get(i + 1).is_some_and(Token::is_date_field);
            if let (true, Some(Token::Literal(lit))) = (between_date_fields, self.tokens.get_mut(i))
            {
                if &**lit == "-" {
                    *lit = "/".into();
                }
            }
        }
    }

    fn render(&self, out: &mut String, f: &Fields) {
        render_tokens(&self.tokens, &self.am, &self.pm, f, out);
    }

    /// The Excel number format for these tokens, or `None` if Excel cannot
    /// express them (hour cycles `K`/`k`, or AM/PM not paired with `h`).
    fn excel_format(&self) -> Option<String> {
        let has_day_period = self.tokens.contains(&Token::DayPeriod);
        let mut out = String::new();
        for token in &self.tokens {
            match token {
                Token::Literal(lit) => {
                    for c in lit.chars() {
                        match c {
                            ' ' | '-' | '/' | ':' => out.push(c),
                            '\u{a0}' | '\u{202f}' | '\u{2009}' => out.push(' '),
                            // Bidi marks: Excel lays out the cell itself.
                            '\u{200e}' | '\u{200f}' | '\u{61c}' => {}
                            _ => {
                                out.push('\\');
                                out.push(c);
                            }
                        }
                    }
                }
                Token::Year(2) => out.push_str("yy"),
                Token::Year(_) => out.push_str("yyyy"),
                Token::Month(w) => out.push_str(if *w == 2 { "mm" } else { "m" }),
                Token::Day(w) => out.push_str(if *w == 2 { "dd" } else { "d" }),
                Token::Hour(cycle, w) => {
                    let ok = match cycle {
                        HourCycle::H23 => !has_day_period,
                        HourCycle::H12 => has_day_period,
                        HourCycle::H11 | HourCycle::H24 => false,
                    };
                    if !ok {
                        return None;
                    }
                    out.push_str(if *w == 2 { "hh" } else { "h" });
                }
                Token::Minute(w) => out.push_str(if *w == 2 { "mm" } else { "m" }),
                Token::Second(w) => out.push_str(if *w == 2 { "ss" } else { "s" }),
                Token::DayPeriod => out.push_str("AM/PM"),
            }
        }
        Some(out)
    }
}

fn render_tokens(tokens: &[Token], am: &str, pm: &str, f: &Fields, out: &mut String) {
    for token in tokens {
        match token {
            Token::Literal(lit) => out.push_str(lit),
            Token::Year(2) => push_padded(out, f.year.unsigned_abs() % 100, 2),
            Token::Year(w) => {
                if f.year < 0 {
                    out.push('-');
                }
                push_padded(out, f.year.unsigned_abs(), usize::from(*w));
            }
            Token::Month(w) => push_padded(out, f.month, usize::from(*w)),
            Token::Day(w) => push_padded(out, f.day, usize::from(*w)),
            Token::Hour(cycle, w) => {
                let h = f.hour;
                let shown = match cycle {
                    HourCycle::H23 => h,
                    HourCycle::H12 if h.is_multiple_of(12) => 12,
                    HourCycle::H12 | HourCycle::H11 => h % 12,
                    HourCycle::H24 if h == 0 => 24,
                    HourCycle::H24 => h,
                };
                push_padded(out, shown, usize::from(*w));
            }
            Token::Minute(w) => push_padded(out, f.minute, usize::from(*w)),
            Token::Second(w) => push_padded(out, f.second, usize::from(*w)),
            Token::DayPeriod => out.push_str(if f.hour < 12 { am } else { pm }),
        }
    }
}

/// Parses a UTS 35 date pattern (`dd-MM-y, HH:mm:ss`, `HH 'h' mm`) into
/// tokens; `None` if it contains a field the fast path does not support or
/// an unterminated quote.
fn parse_pattern(pattern: &str) -> Option<Vec<Token>> {
    fn flush(literal: &mut String, tokens: &mut Vec<Token>) {
        if !literal.is_empty() {
            tokens.push(Token::Literal(std::mem::take(literal).into()));
        }
    }
    let mut tokens = Vec::new();
    let mut literal = String::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.next_if_eq(&'\'').is_some() {
                literal.push('\'');
                continue;
            }
            loop {
                match chars.next()? {
                    '\'' if chars.next_if_eq(&'\'').is_some() => literal.push('\''),
                    '\'' => break,
                    q => literal.push(q),
                }
            }
        } else if c.is_ascii_alphabetic() {
            let mut count = 1;
            while chars.next_if_eq(&c).is_some() {
                count += 1;
            }
            flush(&mut literal, &mut tokens);
            tokens.push(Token::field(c, count)?);
        } else {
            literal.push(c);
        }
    }
    flush(&mut literal, &mut tokens);
    Some(tokens)
}

// ---------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum NumberStyle {
    /// Shortest round-trip ASCII digits with these symbols substituted.
    Ascii {
        decimal: Cow<'static, str>,
        minus: Cow<'static, str>,
    },
    /// ICU formatter per cell (non-Latin digits or unusual sign placement).
    Icu,
}

impl NumberStyle {
    const ISO: NumberStyle = NumberStyle::Ascii {
        decimal: Cow::Borrowed("."),
        minus: Cow::Borrowed("-"),
    };
}

/// Values checked against ICU before taking the fast path.
const NUMBER_SAMPLES: [f64; 10] = [
    0.0,
    42.0,
    -42.0,
    1234567.25,
    -0.001,
    1e21,
    1e-7,
    0.30000000000000004,
    -98765.4321,
    123456789.0,
];

/// Derives the locale's decimal separator and minus sign from ICU and checks
/// the fast path against ICU for [`NUMBER_SAMPLES`].
fn derive_number_style(f: &DecimalFormatter) -> NumberStyle {
    let icu = |plain: &str| {
        Decimal::try_from_str(plain)
            .ok()
            .map(|d| f.format(&d).to_string())
    };
    let (Some(positive), Some(negative)) = (icu("1.5"), icu("-1.5")) else {
        return NumberStyle::Icu;
    };
    let decimal = positive.strip_prefix('1').and_then(|r| r.strip_suffix('5'));
    let minus = negative.strip_suffix(positive.as_str());
    let (Some(decimal), Some(minus)) = (decimal, minus) else {
        return NumberStyle::Icu;
    };
    let symbol_ok = |s: &str| !s.is_empty() && !s.bytes().any(|b| b.is_ascii_digit());
    if !symbol_ok(decimal) || !symbol_ok(minus) {
        return NumberStyle::Icu;
    }
    let mut plain = String::new();
    let mut fast = String::new();
    for n in NUMBER_SAMPLES {
        plain.clear();
        fast.clear();
        push_number(&mut plain, n, ".", "-");
        push_number(&mut fast, n, decimal, minus);
        if icu(&plain).as_deref() != Some(fast.as_str()) {
            return NumberStyle::Icu;
        }
    }
    NumberStyle::Ascii {
        decimal: Cow::Owned(decimal.to_owned()),
        minus: Cow::Owned(minus.to_owned()),
    }
}

/// Shortest round-trip rendering of `n` (Rust's `Display` for `f64`: never
/// scientific, `42` for `42.0`), with `decimal` and `minus` substituted.
fn push_number(out: &mut String, n: f64, decimal: &str, minus: &str) {
    if n.is_nan() {
        out.push_str("NaN");
        return;
    }
    if n.is_infinite() {
        out.push_str(if n > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    // -0.0 == 0.0: write negative zero as "0".
    let n = if n == 0.0 { 0.0 } else { n };
    let start = out.len();
    let _ = write!(out, "{n}");
    if decimal != "." {
        if let Some(at) = out.get(start..).and_then(|s| s.find('.')) {
            out.replace_range(start + at..start + at + 1, decimal);
        }
    }
    if minus != "-" && out.get(start..).is_some_and(|s| s.starts_with('-')) {
        out.replace_range(start..start + 1, minus);
    }
}

// ---------------------------------------------------------------------------
// ISO helpers
// ---------------------------------------------------------------------------

/// Appends `value` in decimal, left-padded with zeros to `width`.
fn push_padded(out: &mut String, value: u32, width: usize) {
    let mut digits = [0u8; 10];
    let mut len = 0;
    let mut v = value;
    loop {
        if let Some(slot) = digits.get_mut(len) {
            *slot = b'0' + (v % 10) as u8;
        }
        len += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for _ in len..width {
        out.push('0');
    }
    for &d in digits.iter().take(len).rev() {
        out.push(char::from(d));
    }
}

/// `YYYY`, or the ISO 8601 expanded form (`+10000`, `-0001`) outside 0..=9999.
fn push_iso_year(out: &mut String, year: i32) {
    if !(0..=9999).contains(&year) {
        out.push(if year < 0 { '-' } else { '+' });
    }
    push_padded(out, year.unsigned_abs(), 4);
}

fn push_iso_date(out: &mut String, d: NaiveDate) {
    push_iso_year(out, d.year());
    out.push('-');
    push_padded(out, d.month(), 2);
    out.push('-');
    push_padded(out, d.day(), 2);
}

/// `YYYY-MM-DDTHH:MM:SS` (no offset).
fn push_iso_naive(out: &mut String, t: NaiveDateTime) {
    push_iso_date(out, t.date());
    out.push('T');
    push_padded(out, t.hour(), 2);
    out.push(':');
    push_padded(out, t.minute(), 2);
    out.push(':');
    push_padded(out, t.second(), 2);
}

/// `±HH:MM`, plus `:SS` only if the offset is not a whole minute.
fn push_offset(out: &mut String, seconds_east: i32) {
    out.push(if seconds_east < 0 { '-' } else { '+' });
    let abs = seconds_east.unsigned_abs();
    push_padded(out, abs / 3600, 2);
    out.push(':');
    push_padded(out, abs / 60 % 60, 2);
    if !abs.is_multiple_of(60) {
        out.push(':');
        push_padded(out, abs % 60, 2);
    }
}

#[cfg(test)]
mod tests {
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
}
