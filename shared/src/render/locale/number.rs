//! Number formatting: the locale's decimal separator and minus sign derived
//! from `icu_decimal` (verified against ICU on sample values), applied to
//! Rust's shortest round-trip `f64` rendering without grouping.

use super::iso::{push_digits, push_uint};
use std::borrow::Cow;
use std::fmt::Write as _;

use fixed_decimal::Decimal;
use icu_decimal::DecimalFormatter;

#[derive(Debug, Clone)]
pub(super) enum NumberStyle {
    /// Shortest round-trip ASCII digits with these symbols substituted.
    Ascii {
        decimal: Cow<'static, str>,
        minus: Cow<'static, str>,
    },
    /// ICU formatter per cell (non-Latin digits or unusual sign placement).
    Icu,
}

impl NumberStyle {
    pub(super) const ISO: NumberStyle = NumberStyle::Ascii {
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
pub(super) fn derive_number_style(f: &DecimalFormatter) -> NumberStyle {
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
pub(super) fn push_number(out: &mut String, n: f64, decimal: &str, minus: &str) {
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
    push_shortest(out, n);
    if decimal != "." {
        if let Some(at) = out.get(start..).and_then(|s| s.find('.')) {
            out.replace_range(start + at..start + at + 1, decimal);
        }
    }
    if minus != "-" && out.get(start..).is_some_and(|s| s.starts_with('-')) {
        out.replace_range(start..start + 1, minus);
    }
}

/// Appends finite `n` as `Display` for `f64` does (shortest round-trip
/// digits, never scientific, `42` for `42.0`), through `ryu` when that is
/// sure to give the same text: `core::fmt` costs several times more per
/// number, and numbers are a large share of export cells.
///
/// Both write the shortest digits that round-trip, but with 16 or 17
/// significant digits several shortest candidates can exist and the two
/// may pick different ones (`2086845729129147.2` against `.3`). With at
/// most 15 (`f64::DIGITS`) the shortest is unique, since every decimal of
/// 15 digits survives a round trip. So `ryu` is used for plain-decimal
/// output of at most 15 significant digits (its `.0` on integers is
/// dropped); exponents and longer digit strings go through `Display`.
pub(super) fn push_shortest(out: &mut String, n: f64) {
    if push_cents(out, n) {
        return;
    }
    let mut buf = ryu::Buffer::new();
    let s = buf.format_finite(n);
    let significant = s
        .bytes()
        .filter(u8::is_ascii_digit)
        .skip_while(|&b| b == b'0')
        .count();
    if significant > f64::DIGITS as usize || s.bytes().any(|b| b == b'e' || b == b'E') {
        let _ = write!(out, "{n}");
    } else {
        out.push_str(s.strip_suffix(".0").unwrap_or(s));
    }
}

/// Writes `n` when it is an amount with at most two decimals below 1e13
/// (the usual money column), without `ryu`; `false` (nothing written)
/// otherwise.
///
/// `m = round(n × 100)` is then exact, and `m / 100 == n` holds exactly when
/// the decimal `m / 100` parses to `n` (division and parsing both round
/// correctly). That decimal has at most 15 significant digits, and no other
/// decimal of at most 15 digits parses to the same double, so it is the
/// shortest round-trip text: what `Display` writes, trailing zeros dropped.
fn push_cents(out: &mut String, n: f64) -> bool {
    if !n.is_finite() || n.abs() >= 1e13 {
        return false;
    }
    let m = (n * 100.0).round();
    #[allow(clippy::float_cmp)] // exactness is the point
    if m / 100.0 != n {
        return false;
    }
    // |m| < 1e15 + 1, so the conversion is exact.
    let m = m as i64;
    if n.is_sign_negative() {
        out.push('-');
    }
    let (whole, cents) = (m.unsigned_abs() / 100, m.unsigned_abs() % 100);
    push_uint(out, whole, 0);
    if cents != 0 {
        out.push('.');
        // No trailing zero: `.5`, `.05`, `.55`.
        let cents = cents as u32;
        if cents.is_multiple_of(10) {
            push_digits(out, [cents / 10]);
        } else {
            push_digits(out, [cents / 10, cents % 10]);
        }
    }
    true
}

#[cfg(test)]
mod fast_path_tests {
    use super::push_shortest;
    use rand::{Rng, SeedableRng};

    #[test]
    fn ryu_fast_path_writes_what_display_writes() {
        // GIVEN decimals, integers, tiny and huge values and random bit patterns
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut values = vec![
            0.0,
            1.0,
            -1.0,
            42.0,
            0.1,
            0.3,
            1e15,
            1e16,
            1e17,
            1e21,
            1e22,
            1e-5,
            1e-6,
            1e-7,
            123456789.0,
            -98765.4321,
            0.30000000000000004,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            9007199254740993.0,
            0.05,
            0.5,
            -0.01,
            0.005,
            0.015,
            100.0,
            1e13,
            -1e13,
            9_999_999_999_999.99,
            9_999_999_999_999.995,
            -9_999_999_999_999.99,
            1234.565,
            -0.0,
        ];
        for _ in 0..200_000 {
            values.push(rng.random_range(-1_000_000_000i64..1_000_000_000) as f64 / 100.0);
            // Amounts up to the two-decimal path's bound, and just past it.
            let cents = rng.random_range(-1_000_000_000_000_000i64..1_000_000_000_000_000);
            values.push(cents as f64 / 100.0);
            values.push(rng.random_range(-1_000_000_000i64..1_000_000_000) as f64 / 1000.0);
            let bits = f64::from_bits(rng.random::<u64>());
            if bits.is_finite() {
                values.push(bits);
            }
        }
        for n in values {
            // WHEN written by the fast path
            let mut fast = String::new();
            push_shortest(&mut fast, n);
            // THEN it is exactly Display's text
            assert_eq!(fast, n.to_string(), "{n:e}");
        }
    }
}
