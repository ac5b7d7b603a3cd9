//! ISO 8601 / RFC 3339 rendering helpers of ISO mode (also the last resort
//! when ICU cannot represent a value), and the allocation-free zero-padded
//! number writer shared with the token fast path.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

/// Appends `value` in decimal, left-padded with zeros to `width`.
pub(super) fn push_padded(out: &mut String, value: u32, width: usize) {
    // The fields of ISO dates (`MM`, `DD`, `hh`, `YYYY`) at fixed widths:
    // unrolled, they measured about 11% of a W2 CSV row's render
    // instructions below the general loop.
    match (width, value) {
        (2, 0..=99) => push_digits(out, [value / 10, value % 10]),
        (4, 0..=9999) => push_digits(
            out,
            [value / 1000, value / 100 % 10, value / 10 % 10, value % 10],
        ),
        _ => push_uint(out, u64::from(value), width),
    }
}

/// Appends single decimal digits (each below 10) as ASCII.
pub(super) fn push_digits<const N: usize>(out: &mut String, digits: [u32; N]) {
    for d in digits {
        out.push(char::from(b'0' + (d % 10) as u8));
    }
}

/// Appends `value` in decimal, left-padded with zeros to `width`, one ASCII
/// `char` at a time (no formatting machinery, no UTF-8 check: a stack
/// buffer checked as `str` cost about 175 instructions per ISO field).
pub(super) fn push_uint(out: &mut String, value: u64, width: usize) {
    // Least significant digit first; u64 has at most 20 digits.
    let mut digits = [0u8; 20];
    let mut len = 0;
    let mut rest = value;
    for slot in &mut digits {
        *slot = (rest % 10) as u8;
        len += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for _ in len..width {
        out.push('0');
    }
    for &d in digits[..len].iter().rev() {
        out.push(char::from(b'0' + d));
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
