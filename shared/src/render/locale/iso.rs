//! ISO 8601 / RFC 3339 rendering helpers of ISO mode (also the last resort
//! when ICU cannot represent a value), and the allocation-free zero-padded
//! number writer shared with the token fast path.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

/// Appends `value` in decimal, left-padded with zeros to `width`.
///
/// The digits are assembled in a stack buffer and appended once: pushing
/// them one `char` at a time showed in profiles of date-heavy exports.
pub(super) fn push_padded(out: &mut String, value: u32, width: usize) {
    // The fields of ISO dates (`MM`, `DD`, `hh`, `YYYY`): digit by digit.
    match (width, value) {
        (2, 0..=99) => {
            push_digits(out, [value / 10, value % 10]);
            return;
        }
        (4, 0..=9999) => {
            push_digits(
                out,
                [value / 1000, value / 100 % 10, value / 10 % 10, value % 10],
            );
            return;
        }
        _ => {}
    }
    // u32 has at most 10 digits; widths beyond that are padded separately.
    let mut buf = [b'0'; 10];
    let mut start = buf.len();
    let mut v = value;
    loop {
        start -= 1;
        if let Some(slot) = buf.get_mut(start) {
            *slot = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 || start == 0 {
            break;
        }
    }
    let digits = buf.len() - start;
    for _ in buf.len().max(digits)..width {
        out.push('0');
    }
    let from = buf.len().saturating_sub(width.max(digits)).min(start);
    if let Ok(s) = std::str::from_utf8(buf.get(from..).unwrap_or_default()) {
        out.push_str(s);
    }
}

fn push_digits<const N: usize>(out: &mut String, digits: [u32; N]) {
    for d in digits {
        out.push(char::from(b'0' + (d % 10) as u8));
    }
}

/// `YYYY`, or the ISO 8601 expanded form (`+10000`, `-0001`) outside 0..=9999.
fn push_iso_year(out: &mut String, year: i32) {
    if !(0..=9999).contains(&year) {
        out.push(if year < 0 { '-' } else { '+' });
    }
    push_padded(out, year.unsigned_abs(), 4);
}

pub(super) fn push_iso_date(out: &mut String, d: NaiveDate) {
    push_iso_year(out, d.year());
    out.push('-');
    push_padded(out, d.month(), 2);
    out.push('-');
    push_padded(out, d.day(), 2);
}

/// `YYYY-MM-DDTHH:MM:SS` (no offset).
pub(super) fn push_iso_naive(out: &mut String, t: NaiveDateTime) {
    push_iso_date(out, t.date());
    out.push('T');
    push_padded(out, t.hour(), 2);
    out.push(':');
    push_padded(out, t.minute(), 2);
    out.push(':');
    push_padded(out, t.second(), 2);
}

/// `±HH:MM`, plus `:SS` only if the offset is not a whole minute.
pub(super) fn push_offset(out: &mut String, seconds_east: i32) {
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
