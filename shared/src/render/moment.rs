//! The bulk exports' date formats ([`DateFormat`]), in the tenant's locale
//! and timezone, through ICU4X:
//!
//! | format | DATE_TIME (shifted to the timezone) | DATE (never shifted) |
//! |---|---|---|
//! | `ISO` | `1986-09-04T20:30:00-03:00` (RFC 3339, numeric offset) | `1986-09-04` |
//! | `L` | ICU's numeric short date, day and month zero-padded: `09/04/1986` | same |
//! | `LL` | ICU's long date: `September 4, 1986` | same |
//! | `LLL` | long date, a space, ICU's hour and minute: `September 4, 1986 8:30 PM` | as `LL` (a date has no time) |
//!
//! This mirrors moment.js's `L`, `LL` and `LLL` (`MM/DD/YYYY`, `MMMM D,
//! YYYY`, `MMMM D, YYYY h:mm A` in English). Without a tenant locale, the
//! localized formats use `en-US`, moment's default. ICU's narrow and
//! non-breaking spaces are written as plain spaces, as moment writes them.
//!
//! ICU4X formatters are not `Send`, so they live in a per-thread cache
//! keyed by locale, built once per thread, never per cell.

use super::locale::LocaleError;
use crate::model::bulk::DateFormat;
use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Timelike, Utc};
use chrono_tz::Tz;
use icu_calendar::{Date, Iso};
use icu_datetime::fieldsets::{T, YMD};
use icu_datetime::options::YearStyle;
use icu_datetime::{DateTimeFormatter, NoCalendarFormatter};
use icu_locale_core::Locale as IcuLocale;
use std::cell::RefCell;
use std::fmt::Write as _;
use std::rc::Rc;

/// Formats dates for one bulk export. `Send + Sync`, cheap to clone.
#[derive(Debug, Clone)]
pub struct MomentFormatter {
    format: DateFormat,
    locale: IcuLocale,
    tz: Tz,
    /// es-CL: CLDR writes `04-09-1986`; the design wants `dd/mm/yyyy`.
    slash_dates: bool,
}

struct Formatters {
    short: Option<DateTimeFormatter<YMD>>,
    long: Option<DateTimeFormatter<YMD>>,
    time: Option<NoCalendarFormatter<T>>,
}

thread_local! {
    static CACHE: RefCell<Vec<(IcuLocale, Rc<Formatters>)>> = const { RefCell::new(Vec::new()) };
}

fn with_formatters<R>(locale: &IcuLocale, f: impl FnOnce(&Formatters) -> R) -> R {
    let build = || Formatters {
        short: DateTimeFormatter::try_new(
            locale.into(),
            YMD::short().with_year_style(YearStyle::Full),
        )
        .ok(),
        long: DateTimeFormatter::try_new(locale.into(), YMD::long()).ok(),
        time: NoCalendarFormatter::try_new(locale.into(), T::hm()).ok(),
    };
    let cached = CACHE
        .try_with(|c| {
            let mut c = c.try_borrow_mut().ok()?;
            if let Some((_, fs)) = c.iter().find(|(l, _)| l == locale) {
                return Some(Rc::clone(fs));
            }
            let fs = Rc::new(build());
            if c.len() >= 8 {
                c.remove(0);
            }
            c.push((locale.clone(), Rc::clone(&fs)));
            Some(fs)
        })
        .ok()
        .flatten();
    match cached {
        Some(fs) => f(&fs),
        None => f(&build()),
    }
}

/// Pads every lone ASCII digit that stands alone between non-digits to two
/// digits (`9/4/1986` → `09/04/1986`), as moment's `L` pads day and month.
fn pad_lone_digits(s: &str, out: &mut String) {
    let chars: Vec<char> = s.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        let digit = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(char::is_ascii_digit)
        };
        if c.is_ascii_digit() && !digit(i.checked_sub(1)) && !digit(Some(i + 1)) {
            out.push('0');
        }
        out.push(*c);
    }
}

fn push_spaced(s: &str, out: &mut String) {
    out.extend(s.chars().map(|c| match c {
        '\u{202F}' | '\u{00A0}' | '\u{2009}' => ' ',
        other => other,
    }));
}

impl MomentFormatter {
    /// The formatter of `format` in `locale` (BCP 47; `None` = `en-US`) and
    /// `timezone` (IANA; `None` = UTC).
    ///
    /// # Errors
    /// [`LocaleError`] for a malformed locale or an unknown zone.
    pub fn new(
        format: DateFormat,
        locale: Option<&str>,
        timezone: Option<&str>,
    ) -> Result<MomentFormatter, LocaleError> {
        let tag = locale.unwrap_or("en-US");
        let locale: IcuLocale = tag
            .parse()
            .map_err(|_| LocaleError::InvalidLocale(tag.to_string()))?;
        let tz = super::parse_timezone(timezone)?;
        let slash_dates = locale.id.language.as_str() == "es"
            && locale.id.region.is_some_and(|r| r.as_str() == "CL");
        Ok(MomentFormatter {
            format,
            locale,
            tz,
            slash_dates,
        })
    }

    fn local_date(&self, d: NaiveDate, long: bool, out: &mut String) -> bool {
        let Some(date) = u8::try_from(d.month())
            .ok()
            .zip(u8::try_from(d.day()).ok())
            .and_then(|(m, day)| Date::<Iso>::try_new_iso(d.year(), m, day).ok())
        else {
            return false;
        };
        with_formatters(&self.locale, |f| {
            let fmt = if long { &f.long } else { &f.short };
            let Some(fmt) = fmt else { return false };
            let text = fmt.format(&date).to_string();
            if long {
                push_spaced(&text, out);
            } else if self.slash_dates {
                pad_lone_digits(&text.replace('-', "/"), out);
            } else {
                pad_lone_digits(&text, out);
            }
            true
        })
    }

    /// Appends a DATE value (not shifted by the timezone).
    pub fn date(&self, d: NaiveDate, out: &mut String) {
        let written = match self.format {
            DateFormat::Iso => false,
            DateFormat::L => self.local_date(d, false, out),
            DateFormat::LL | DateFormat::LLL => self.local_date(d, true, out),
        };
        if !written {
            let _ = write!(out, "{}", d.format("%Y-%m-%d"));
        }
    }

    /// Appends a DATE_TIME value, shifted into the timezone.
    pub fn datetime(&self, t: DateTime<Utc>, out: &mut String) {
        let zoned = t.with_timezone(&self.tz);
        let local = zoned.naive_local();
        let written = match self.format {
            DateFormat::Iso => false,
            DateFormat::L => self.local_date(local.date(), false, out),
            DateFormat::LL => self.local_date(local.date(), true, out),
            DateFormat::LLL => {
                let start = out.len();
                let ok = self.local_date(local.date(), true, out)
                    && with_formatters(&self.locale, |f| {
                        let Some(fmt) = &f.time else { return false };
                        let Ok(time) =
                            icu_time::Time::try_new(local.hour() as u8, local.minute() as u8, 0, 0)
                        else {
                            return false;
                        };
                        out.push(' ');
                        push_spaced(&fmt.format(&time).to_string(), out);
                        true
                    });
                if !ok {
                    out.truncate(start);
                }
                ok
            }
        };
        if !written {
            out.push_str(&zoned.to_rfc3339_opts(SecondsFormat::Secs, false));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn fmt(format: DateFormat, locale: Option<&str>, tz: Option<&str>) -> (String, String) {
        let f = MomentFormatter::new(format, locale, tz).unwrap();
        // 1986-09-04 20:30 in New York is 1986-09-05 00:30 UTC.
        let t = Utc.with_ymd_and_hms(1986, 9, 5, 0, 30, 0).unwrap();
        let (mut a, mut b) = (String::new(), String::new());
        f.datetime(t, &mut a);
        f.date(NaiveDate::from_ymd_opt(1986, 9, 4).unwrap(), &mut b);
        (a, b)
    }

    #[test]
    fn the_moment_formats_of_the_issue_in_english() {
        let ny = Some("America/New_York");
        assert_eq!(
            fmt(DateFormat::L, Some("en-US"), ny),
            ("09/04/1986".into(), "09/04/1986".into())
        );
        assert_eq!(
            fmt(DateFormat::LL, None, ny),
            ("September 4, 1986".into(), "September 4, 1986".into())
        );
        assert_eq!(
            fmt(DateFormat::LLL, None, ny),
            (
                "September 4, 1986 8:30 PM".into(),
                "September 4, 1986".into()
            )
        );
        assert_eq!(
            fmt(DateFormat::Iso, None, ny),
            ("1986-09-04T20:30:00-04:00".into(), "1986-09-04".into())
        );
    }

    #[test]
    fn other_locales_use_their_own_patterns() {
        let (l, _) = fmt(DateFormat::L, Some("es-CL"), Some("America/Santiago"));
        assert_eq!(l, "04/09/1986");
        let (lll, _) = fmt(DateFormat::LLL, Some("es-CL"), Some("America/Santiago"));
        assert!(lll.starts_with("4 de septiembre de 1986 "), "{lll}");
        assert!(lll.ends_with("20:30") || lll.ends_with("21:30"), "{lll}");
    }

    #[test]
    fn bad_settings_are_errors() {
        assert!(MomentFormatter::new(DateFormat::L, Some("es_CL!"), None).is_err());
        assert!(MomentFormatter::new(DateFormat::L, None, Some("Mars/Base")).is_err());
    }
}
