//! RFC 4180 CSV, UTF-8, with formula injection neutralised on text cells.

use super::{format_text, CellFormatter, ColumnKind, RenderColumn, RenderError};
use crate::model::Value;
use std::io::Write;

/// Characters that make a spreadsheet read a cell as a formula, including
/// their full-width forms.
const FORMULA_STARTS: [char; 11] = [
    '=', '+', '-', '@', '\t', '\r', '\n', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}',
];

/// Prefixes `'` when a text cell starts with a formula character.
pub fn neutralise_formula(s: &str) -> Option<String> {
    needs_neutralising(s).then(|| format!("'{s}"))
}

/// Whether a text cell starts with a formula character (no allocation).
fn needs_neutralising(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| FORMULA_STARTS.contains(&c))
}

/// Streams rows into a CSV writer.
///
/// Cells go straight into the `csv` writer's buffer: text values as they
/// are, other values formatted into one reused buffer. No allocation per
/// cell, except for the rare text cell that needs its formula start
/// neutralised.
pub struct CsvRenderer<W: Write> {
    writer: ::csv::Writer<W>,
    kinds: Vec<ColumnKind>,
    formatter: CellFormatter,
    cell: String,
}

/// The `csv` writer's buffer: large enough that a row never straddles many
/// flushes, small enough to stay in cache.
const BUFFER_BYTES: usize = 64 * 1024;

impl<W: Write> CsvRenderer<W> {
    /// Writes the optional BOM and the header row.
    ///
    /// # Errors
    /// When the underlying writer fails.
    pub fn new(
        mut out: W,
        columns: &[RenderColumn],
        formatter: CellFormatter,
        delimiter: u8,
        bom: bool,
    ) -> Result<Self, RenderError> {
        if bom {
            out.write_all("\u{FEFF}".as_bytes())?;
        }
        let mut writer = ::csv::WriterBuilder::new()
            .delimiter(delimiter)
            .terminator(::csv::Terminator::CRLF)
            .buffer_capacity(BUFFER_BYTES)
            .from_writer(out);
        let headers: Vec<String> = columns
            .iter()
            .map(|c| neutralise_formula(&c.header).unwrap_or_else(|| c.header.clone()))
            .collect();
        writer.write_record(&headers)?;
        Ok(CsvRenderer {
            writer,
            kinds: columns.iter().map(|c| c.kind).collect(),
            formatter,
            cell: String::with_capacity(64),
        })
    }

    /// Writes one row; `values` are in column order (missing trailing values
    /// are empty cells, extra values are ignored).
    ///
    /// # Errors
    /// When the underlying writer fails.
    pub fn write_row(&mut self, values: &[Value]) -> Result<(), RenderError> {
        for (i, kind) in self.kinds.iter().enumerate() {
            match values.get(i).unwrap_or(&Value::Null) {
                Value::Null => self.writer.write_field(b"")?,
                // Only text reaches a spreadsheet as text: numbers and dates keep their sign.
                Value::Text(s) if needs_neutralising(s) => {
                    self.writer.write_field(format!("'{s}"))?;
                }
                Value::Text(s) => self.writer.write_field(s)?,
                value => {
                    self.cell.clear();
                    format_text(&self.formatter, *kind, value, &mut self.cell);
                    if *kind == ColumnKind::Text && needs_neutralising(&self.cell) {
                        self.cell.insert(0, '\'');
                    }
                    self.writer.write_field(self.cell.as_bytes())?;
                }
            }
        }
        self.writer.write_record(None::<&[u8]>)?;
        Ok(())
    }

    /// Flushes and returns the underlying writer.
    ///
    /// # Errors
    /// When the final flush fails.
    pub fn finish(self) -> Result<W, RenderError> {
        self.writer
            .into_inner()
            .map_err(|e| RenderError::Io(std::io::Error::other(e.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{parse_timezone, Locale};
    use chrono::{NaiveDate, TimeZone, Utc};

    fn columns(headers: &[&str]) -> Vec<RenderColumn> {
        headers
            .iter()
            .map(|h| RenderColumn {
                header: (*h).into(),
                kind: ColumnKind::Typed,
            })
            .collect()
    }

    fn render(
        locale: Option<&str>,
        tz: Option<&str>,
        delimiter: u8,
        rows: &[Vec<Value>],
    ) -> String {
        let f = CellFormatter::new(&Locale::parse(locale).unwrap(), parse_timezone(tz).unwrap());
        let cols = columns(&["Name", "Net worth", "Active", "Born", "Created"]);
        let mut r = CsvRenderer::new(Vec::new(), &cols, f, delimiter, false).unwrap();
        for row in rows {
            r.write_row(row).unwrap();
        }
        String::from_utf8(r.finish().unwrap()).unwrap()
    }

    fn row(name: &str) -> Vec<Value> {
        vec![
            Value::Text(name.into()),
            Value::Number(-1234.5),
            Value::Bool(true),
            Value::Date(NaiveDate::from_ymd_opt(1986, 9, 4).unwrap()),
            Value::DateTime(Utc.with_ymd_and_hms(2024, 1, 15, 13, 0, 0).unwrap()),
        ]
    }

    fn parse(csv: &str, delimiter: u8) -> Vec<Vec<String>> {
        ::csv::ReaderBuilder::new()
            .has_headers(false)
            .delimiter(delimiter)
            .from_reader(csv.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect()
    }

    #[test]
    fn iso_rows_parse_back_with_typed_text() {
        // GIVEN one row of every type, WHEN rendered in ISO mode
        let out = render(
            None,
            Some("America/New_York"),
            b',',
            &[row("Ana, \"la\" jefa\nline2")],
        );
        // THEN it is RFC 4180 (CRLF, quoting) and parses back to the same values
        assert!(out.starts_with("Name,Net worth,Active,Born,Created\r\n"));
        let rows = parse(&out, b',');
        assert_eq!(
            rows[1],
            [
                "Ana, \"la\" jefa\nline2",
                "-1234.5",
                "true",
                "1986-09-04",
                "2024-01-15T08:00:00-05:00"
            ]
        );
    }

    #[test]
    fn es_cl_uses_day_month_year_and_a_decimal_comma() {
        let out = render(Some("es-CL"), Some("America/Santiago"), b';', &[row("Ana")]);
        let rows = parse(&out, b';');
        assert_eq!(rows[1][1], "-1234,5");
        assert_eq!(rows[1][3], "04/09/1986");
        // 13:00 UTC is 10:00 in Santiago (UTC-3 in January).
        assert!(rows[1][4].starts_with("15/01/2024"), "{}", rows[1][4]);
        assert!(rows[1][4].contains("10:00"), "{}", rows[1][4]);
    }

    #[test]
    fn formula_starts_are_neutralised_on_text_only() {
        // GIVEN hostile text cells, including full-width forms
        let hostile = [
            "=HYPERLINK(\"http://x\")",
            "+1+1",
            "-2",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "\nx",
            "＝1",
            "＋1",
            "－1",
            "＠x",
        ];
        let rows: Vec<Vec<Value>> = hostile.iter().map(|h| row(h)).collect();
        let out = render(None, None, b',', &rows);
        let parsed = parse(&out, b',');
        for (h, r) in hostile.iter().zip(&parsed[1..]) {
            // THEN each gets a leading quote and keeps its content
            assert_eq!(r[0], format!("'{h}"));
            // AND the negative number in the same row is left alone
            assert_eq!(r[1], "-1234.5");
        }
        assert_eq!(neutralise_formula("safe"), None);
        assert_eq!(neutralise_formula(""), None);
    }

    #[test]
    fn bom_is_written_only_when_asked() {
        let f = CellFormatter::new(&Locale::iso(), chrono_tz::UTC);
        let r = CsvRenderer::new(Vec::new(), &columns(&["a"]), f, b',', true).unwrap();
        let bytes = r.finish().unwrap();
        assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
    }
}
