//! The ICU4X slow path: the formatters of one locale and their per-thread
//! cache.
//!
//! ICU4X formatters are neither `Send` nor `Sync`, so [`super::CellFormatter`]
//! cannot hold them. Cells that the token fast path cannot render (see
//! `pattern`) and locales whose numbers need ICU go through [`with_icu`],
//! which builds the formatters at most once per thread and locale.

use std::cell::RefCell;
use std::rc::Rc;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use icu_calendar::{Date, Iso};
use icu_datetime::fieldsets::{YMD, YMDT};
use icu_datetime::options::YearStyle;
use icu_datetime::DateTimeFormatter;
use icu_decimal::options::{DecimalFormatterOptions, GroupingStrategy};
use icu_decimal::DecimalFormatter;
use icu_locale_core::Locale as IcuLocale;
use icu_time::{DateTime as IcuDateTime, Time as IcuTime};

/// The ICU formatters of one locale.
pub(super) struct IcuFormatters {
    pub(super) date: Option<DateTimeFormatter<YMD>>,
    pub(super) datetime: Option<DateTimeFormatter<YMDT>>,
    pub(super) number: Option<DecimalFormatter>,
}

impl IcuFormatters {
    pub(super) fn new(locale: &IcuLocale) -> IcuFormatters {
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
pub(super) const ICU_CACHE_CAPACITY: usize = 8;

thread_local! {
    pub(super) static ICU_CACHE: RefCell<Vec<(IcuLocale, Rc<IcuFormatters>)>> =
        const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's cached ICU formatters for `locale`,
/// constructing them on first use (oldest entry evicted beyond
/// [`ICU_CACHE_CAPACITY`]). If the cache is unavailable (thread teardown),
/// the formatters are built for this call only.
pub(super) fn with_icu<R>(locale: &IcuLocale, f: impl FnOnce(&IcuFormatters) -> R) -> R {
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

pub(super) fn icu_date(d: NaiveDate) -> Option<Date<Iso>> {
    let month = u8::try_from(d.month()).ok()?;
    let day = u8::try_from(d.day()).ok()?;
    Date::try_new_iso(d.year(), month, day).ok()
}

pub(super) fn icu_datetime(t: NaiveDateTime) -> Option<IcuDateTime<Iso>> {
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
