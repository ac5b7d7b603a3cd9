//! The date and date-time fast path: ICU's UTS 35 pattern for a sample value
//! is tokenised into numeric fields and literals, verified against ICU's
//! output for [`SAMPLES`], and then rendered per cell without ICU calls or
//! allocation. Also holds the es-CL `-` => `/` rule and the derivation of
//! Excel number formats from the tokens.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

use super::iso::push_padded;

#[derive(Debug, Clone)]
pub(super) enum DateStyle {
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
pub(super) fn derive_date_style(
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
pub(super) enum HourCycle {
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
pub(super) enum Token {
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
pub(super) struct Fields {
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl Fields {
    pub(super) fn from_date(d: NaiveDate) -> Fields {
        Fields {
            year: d.year(),
            month: d.month(),
            day: d.day(),
            hour: 0,
            minute: 0,
            second: 0,
        }
    }

    pub(super) fn from_datetime(t: NaiveDateTime) -> Fields {
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
pub(super) struct FieldPattern {
    pub(super) tokens: Vec<Token>,
    pub(super) am: Box<str>,
    pub(super) pm: Box<str>,
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
    pub(super) fn use_slash_between_date_fields(&mut self) {
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

    pub(super) fn render(&self, out: &mut String, f: &Fields) {
        render_tokens(&self.tokens, &self.am, &self.pm, f, out);
    }

    /// The Excel number format for these tokens, or `None` if Excel cannot
    /// express them (hour cycles `K`/`k`, or AM/PM not paired with `h`).
    pub(super) fn excel_format(&self) -> Option<String> {
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
pub(super) fn parse_pattern(pattern: &str) -> Option<Vec<Token>> {
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
