//! XLSX through `rust_xlsxwriter`, in constant-memory mode.
//!
//! Text is always a string cell (never a formula), numbers are numbers,
//! booleans are booleans, dates and date-times are real Excel dates with the
//! locale's date format. The header is bold and frozen, with an autofilter.
//! Past 1,048,575 data rows the export continues on a new sheet with the same
//! header.

use super::{format_text, CellFormatter, ColumnKind, RenderColumn, RenderError};
use crate::model::Value;
use rust_xlsxwriter::{Format, Workbook};

/// Data rows per sheet: Excel's 1,048,576 rows less the header.
pub const MAX_DATA_ROWS_PER_SHEET: u32 = 1_048_575;

/// The zip deflate level: 1 is several times faster than the default 6 and
/// the files are about 15% larger; export files are short-lived downloads.
pub const ZIP_LEVEL: u8 = 1;

/// Streams rows into a workbook.
pub struct XlsxRenderer {
    workbook: Workbook,
    columns: Vec<RenderColumn>,
    formatter: CellFormatter,
    header: Format,
    /// An explicit General format, for numbers in a date-formatted column.
    general: Format,
    date: Format,
    datetime: Format,
    sheet: usize,
    rows_per_sheet: u32,
    /// The next data row on the current sheet (1-based: row 0 is the header).
    row: u32,
    text: String,
    /// What each column of the current sheet is, decided by its first date
    /// or number value: a date format carried as the column's format, or
    /// plain (numbers, whose cells must not inherit a date format).
    column_dates: Vec<Option<DateKind>>,
}

/// A column's format, decided by its first date or number value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateKind {
    Date,
    DateTime,
    /// Numbers came first: no column format, dates get theirs per cell.
    Plain,
}

impl XlsxRenderer {
    /// Starts a workbook and writes the first sheet's header.
    ///
    /// # Errors
    /// When the workbook rejects the sheet setup.
    pub fn new(columns: &[RenderColumn], formatter: CellFormatter) -> Result<Self, RenderError> {
        Self::with_rows_per_sheet(columns, formatter, MAX_DATA_ROWS_PER_SHEET)
    }

    /// Like [`XlsxRenderer::new`], with a smaller sheet size (tests use it to
    /// exercise the sheet overflow without a million rows).
    ///
    /// # Errors
    /// When the workbook rejects the sheet setup.
    pub fn with_rows_per_sheet(
        columns: &[RenderColumn],
        formatter: CellFormatter,
        rows_per_sheet: u32,
    ) -> Result<Self, RenderError> {
        let mut workbook = Workbook::new();
        workbook.set_zip_compression_level(ZIP_LEVEL);
        let date = Format::new().set_num_format(formatter.excel_date_format());
        let datetime = Format::new().set_num_format(formatter.excel_datetime_format());
        let mut r = XlsxRenderer {
            workbook,
            columns: columns.to_vec(),
            formatter,
            header: Format::new().set_bold(),
            general: Format::new().set_num_format("General"),
            date,
            datetime,
            sheet: 0,
            rows_per_sheet: rows_per_sheet.clamp(1, MAX_DATA_ROWS_PER_SHEET),
            row: 1,
            text: String::new(),
            column_dates: vec![None; columns.len()],
        };
        r.start_sheet()?;
        Ok(r)
    }

    /// Sets the zip deflate level (0–9) instead of [`ZIP_LEVEL`]; the
    /// benchmarks use it to compare with peers at their default level.
    #[must_use]
    pub fn with_zip_level(mut self, level: u8) -> Self {
        self.workbook.set_zip_compression_level(level.min(9));
        self
    }

    fn start_sheet(&mut self) -> Result<(), RenderError> {
        let sheet_number = self.workbook.worksheets().len() + 1;
        let ws = self.workbook.add_worksheet_with_constant_memory()?;
        ws.set_name(format!("Export {sheet_number}"))?;
        ws.set_freeze_panes(1, 0)?;
        for (col, c) in self.columns.iter().enumerate() {
            let col = col_num(col);
            let width = (c.header.chars().count() + 4).clamp(10, 50) as f64;
            ws.set_column_width(col, width)?;
            ws.write_string_with_format(0, col, &c.header, &self.header)?;
        }
        self.sheet = sheet_number - 1;
        self.row = 1;
        self.column_dates.fill(None);
        Ok(())
    }

    /// Writes one row; `values` are in column order.
    ///
    /// # Errors
    /// When the workbook rejects a cell.
    pub fn write_row(&mut self, values: &[Value]) -> Result<(), RenderError> {
        if self.row > self.rows_per_sheet {
            self.finish_sheet()?;
            self.start_sheet()?;
        }
        let row = self.row;
        let ws = self.workbook.worksheet_from_index(self.sheet)?;
        for (col, (value, column)) in values.iter().zip(&self.columns).enumerate() {
            let col = col_num(col);
            if column.kind == ColumnKind::Text && !matches!(value, Value::Text(_) | Value::Null) {
                self.text.clear();
                format_text(&self.formatter, column.kind, value, &mut self.text);
                ws.write_string(row, col, &self.text)?;
                continue;
            }
            match value {
                Value::Null => {}
                Value::Text(s) => {
                    ws.write_string(row, col, s)?;
                }
                Value::Number(n) => match self.column_dates.get_mut(usize::from(col)) {
                    // A number in a column that carries a date format (never
                    // in the registry's typed columns) must not show as a date.
                    Some(Some(DateKind::Date | DateKind::DateTime)) => {
                        ws.write_number_with_format(row, col, *n, &self.general)?;
                    }
                    Some(slot) => {
                        *slot = Some(DateKind::Plain);
                        ws.write_number(row, col, *n)?;
                    }
                    None => {
                        ws.write_number(row, col, *n)?;
                    }
                },
                Value::Bool(b) => {
                    ws.write_boolean(row, col, *b)?;
                }
                Value::Date(d) => {
                    let f = date_cell(&mut self.column_dates, ws, col, DateKind::Date, &self.date)?;
                    match f {
                        Some(format) => ws.write_datetime_with_format(row, col, d, format)?,
                        None => ws.write_datetime(row, col, d)?,
                    };
                }
                Value::DateTime(t) => {
                    let local = self.formatter.local_datetime(*t);
                    if column.kind == ColumnKind::DateOnly {
                        let f =
                            date_cell(&mut self.column_dates, ws, col, DateKind::Date, &self.date)?;
                        match f {
                            Some(format) => {
                                ws.write_datetime_with_format(row, col, local.date(), format)?
                            }
                            None => ws.write_datetime(row, col, local.date())?,
                        };
                    } else {
                        let f = date_cell(
                            &mut self.column_dates,
                            ws,
                            col,
                            DateKind::DateTime,
                            &self.datetime,
                        )?;
                        match f {
                            Some(format) => {
                                ws.write_datetime_with_format(row, col, local, format)?
                            }
                            None => ws.write_datetime(row, col, local)?,
                        };
                    }
                }
            }
        }
        self.row += 1;
        Ok(())
    }

    fn finish_sheet(&mut self) -> Result<(), RenderError> {
        let last_row = self.row - 1;
        let last_col = col_num(self.columns.len().saturating_sub(1));
        let ws = self.workbook.worksheet_from_index(self.sheet)?;
        ws.autofilter(0, 0, last_row, last_col)?;
        Ok(())
    }

    /// Closes the workbook and returns the file's bytes.
    ///
    /// # Errors
    /// When the workbook cannot be assembled.
    pub fn finish(mut self) -> Result<Vec<u8>, RenderError> {
        self.finish_sheet()?;
        Ok(self.workbook.save_to_buffer()?)
    }

    /// Closes the workbook into a writer (for files too big to buffer).
    ///
    /// # Errors
    /// When the workbook cannot be assembled or written.
    pub fn finish_into<W: std::io::Write + std::io::Seek + Send>(
        mut self,
        out: W,
    ) -> Result<(), RenderError> {
        self.finish_sheet()?;
        Ok(self.workbook.save_to_writer(out)?)
    }
}

/// Date cells take their number format from their column: the first date
/// value of a column sets that column's format, and later cells of the same
/// kind are written without one (rust_xlsxwriter then applies the column's
/// format, as the `s` attribute of each cell). Looking a `Format` up per
/// cell hashes and compares the whole format, which was a large share of
/// the time of a date cell. Returns the format to write explicitly, for a
/// column that already carries the other date kind.
fn date_cell<'f>(
    column_dates: &mut [Option<DateKind>],
    ws: &mut rust_xlsxwriter::Worksheet,
    col: u16,
    kind: DateKind,
    format: &'f Format,
) -> Result<Option<&'f Format>, RenderError> {
    let Some(slot) = column_dates.get_mut(usize::from(col)) else {
        return Ok(Some(format));
    };
    match slot {
        Some(k) if *k == kind => Ok(None),
        Some(_) => Ok(Some(format)),
        None => {
            ws.set_column_format(col, format)?;
            *slot = Some(kind);
            Ok(None)
        }
    }
}

fn col_num(i: usize) -> u16 {
    u16::try_from(i).unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{parse_timezone, Locale};
    use calamine::{open_workbook_from_rs, Data, DataType, Reader, Xlsx};
    use chrono::{NaiveDate, TimeZone, Utc};
    use std::io::Cursor;

    fn cols() -> Vec<RenderColumn> {
        ["Name", "Worth", "Active", "Born", "Created", "Phone"]
            .iter()
            .map(|h| RenderColumn {
                header: (*h).into(),
                kind: if *h == "Phone" {
                    ColumnKind::Text
                } else {
                    ColumnKind::Typed
                },
            })
            .collect()
    }

    fn row() -> Vec<Value> {
        vec![
            Value::Text("=1+1".into()),
            Value::Number(1234.5),
            Value::Bool(false),
            Value::Date(NaiveDate::from_ymd_opt(1986, 9, 4).unwrap()),
            Value::DateTime(Utc.with_ymd_and_hms(2024, 1, 15, 13, 0, 0).unwrap()),
            Value::Text("+56 9 1234 5678".into()),
        ]
    }

    fn open(bytes: Vec<u8>) -> Xlsx<Cursor<Vec<u8>>> {
        open_workbook_from_rs(Cursor::new(bytes)).unwrap()
    }

    #[test]
    fn cells_are_typed_and_text_is_never_a_formula() {
        // GIVEN one row of every type in es-CL / America/Santiago
        let f = CellFormatter::new(
            &Locale::parse(Some("es-CL")).unwrap(),
            parse_timezone(Some("America/Santiago")).unwrap(),
        );
        let mut r = XlsxRenderer::new(&cols(), f).unwrap();
        r.write_row(&row()).unwrap();
        r.write_row(&[
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
        ])
        .unwrap();
        // WHEN the file is opened with calamine
        let mut wb = open(r.finish().unwrap());
        let range = wb.worksheet_range("Export 1").unwrap();
        // THEN the header and the cells keep their types and order
        let header: Vec<String> = range
            .rows()
            .next()
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(
            header,
            ["Name", "Worth", "Active", "Born", "Created", "Phone"]
        );
        let r1 = &range.rows().nth(1).unwrap();
        assert_eq!(r1[0], Data::String("=1+1".into()));
        assert_eq!(r1[1], Data::Float(1234.5));
        assert_eq!(r1[2], Data::Bool(false));
        let born = r1[3].as_datetime().unwrap();
        assert_eq!(born.date(), NaiveDate::from_ymd_opt(1986, 9, 4).unwrap());
        // 13:00 UTC is 10:00 local in Santiago in January.
        let created = r1[4].as_datetime().unwrap();
        assert_eq!(created.to_string(), "2024-01-15 10:00:00");
        assert_eq!(r1[5], Data::String("+56 9 1234 5678".into()));
        // The all-empty row writes no cells at all.
        assert_eq!(range.height(), 2);
        // AND no cell holds a formula
        let formulas = wb.worksheet_formula("Export 1").unwrap();
        assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()));
    }

    #[test]
    fn the_header_is_frozen_with_an_autofilter_and_dates_use_the_locale_format() {
        let f = CellFormatter::new(&Locale::parse(Some("es-CL")).unwrap(), chrono_tz::UTC);
        let date_format = f.excel_date_format().to_string();
        let mut r = XlsxRenderer::new(&cols(), f).unwrap();
        r.write_row(&row()).unwrap();
        let bytes = r.finish().unwrap();
        let sheet = unzip(&bytes, "xl/worksheets/sheet1.xml");
        assert!(sheet.contains(
            r#"<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>"#
        ));
        assert!(sheet.contains(r#"<autoFilter ref="A1:F2"/>"#), "{sheet}");
        let styles = unzip(&bytes, "xl/styles.xml");
        assert!(
            styles.contains(&format!("formatCode=\"{date_format}\"")),
            "{styles}"
        );
        assert!(styles.contains("<b/>"));
    }

    #[test]
    fn rows_past_the_sheet_size_continue_on_a_new_sheet_with_the_header() {
        // GIVEN sheets of 2 data rows, WHEN 5 rows are written
        let f = CellFormatter::new(&Locale::iso(), chrono_tz::UTC);
        let cols = vec![RenderColumn {
            header: "N".into(),
            kind: ColumnKind::Typed,
        }];
        let mut r = XlsxRenderer::with_rows_per_sheet(&cols, f, 2).unwrap();
        for i in 0..5 {
            r.write_row(&[Value::Number(f64::from(i))]).unwrap();
        }
        let bytes = r.finish().unwrap();
        let mut wb = open(bytes.clone());
        // THEN three sheets each start with the header and keep the order
        assert_eq!(wb.sheet_names(), ["Export 1", "Export 2", "Export 3"]);
        let cells: Vec<Vec<Data>> = wb
            .sheet_names()
            .iter()
            .map(|n| {
                wb.worksheet_range(n)
                    .unwrap()
                    .rows()
                    .map(|r| r[0].clone())
                    .collect()
            })
            .collect();
        assert_eq!(
            cells[0],
            [Data::String("N".into()), Data::Float(0.0), Data::Float(1.0)]
        );
        assert_eq!(
            cells[1],
            [Data::String("N".into()), Data::Float(2.0), Data::Float(3.0)]
        );
        assert_eq!(cells[2], [Data::String("N".into()), Data::Float(4.0)]);
        // AND every sheet has its own autofilter and frozen header
        let parts = super::test_zip::entries(&bytes);
        assert!(parts["xl/worksheets/sheet2.xml"].contains(r#"<autoFilter ref="A1:A3"/>"#));
        assert!(parts["xl/worksheets/sheet3.xml"].contains(r#"<autoFilter ref="A1:A2"/>"#));
        assert!(parts["xl/worksheets/sheet3.xml"].contains(r#"state="frozen""#));
    }

    #[test]
    fn date_columns_carry_their_format_on_every_sheet_and_numbers_stay_numbers() {
        // GIVEN a date column, a date-time column shown as a date, and sheets of 2 rows
        let f = CellFormatter::new(&Locale::iso(), chrono_tz::UTC);
        let cols: Vec<RenderColumn> = [("Born", ColumnKind::Typed), ("Day", ColumnKind::DateOnly)]
            .iter()
            .map(|(h, kind)| RenderColumn {
                header: (*h).into(),
                kind: *kind,
            })
            .collect();
        let mut r = XlsxRenderer::with_rows_per_sheet(&cols, f, 2).unwrap();
        let day = |d: u32| NaiveDate::from_ymd_opt(2024, 1, d).unwrap();
        for d in 1..=4 {
            r.write_row(&[
                Value::Date(day(d)),
                Value::DateTime(Utc.with_ymd_and_hms(2024, 1, d, 23, 0, 0).unwrap()),
            ])
            .unwrap();
        }
        // AND a number before a date on one sheet, and after a date on the next
        r.write_row(&[Value::Number(45000.5), Value::Null]).unwrap();
        r.write_row(&[Value::Date(day(6)), Value::Null]).unwrap();
        r.write_row(&[Value::Date(day(7)), Value::Null]).unwrap();
        r.write_row(&[Value::Number(45001.5), Value::Null]).unwrap();
        let mut wb = open(r.finish().unwrap());
        // WHEN every sheet is read back
        let mut dates = Vec::new();
        let mut others = Vec::new();
        for name in wb.sheet_names() {
            for row in wb.worksheet_range(&name).unwrap().rows().skip(1) {
                match row[0].as_datetime() {
                    Some(t) if matches!(row[0], Data::DateTime(_)) => dates.push(t.date()),
                    _ => others.push(row[0].clone()),
                }
                if let Some(t) = row.get(1).and_then(|c| c.as_datetime()) {
                    assert!(matches!(row[1], Data::DateTime(_)));
                    assert_eq!(t.time(), chrono::NaiveTime::MIN, "DateOnly keeps the date");
                }
            }
        }
        // THEN dates are dates on every sheet, and the numbers are plain numbers
        assert_eq!(dates, [day(1), day(2), day(3), day(4), day(6), day(7)]);
        assert_eq!(others, [Data::Float(45000.5), Data::Float(45001.5)]);
    }

    /// One XML part of the file: calamine does not expose the raw parts.
    fn unzip(bytes: &[u8], name: &str) -> String {
        super::test_zip::entries(bytes)
            .remove(name)
            .unwrap_or_default()
    }
}

#[cfg(test)]
pub(crate) mod test_zip {
    //! Reads the text parts of a zip, for asserting on XLSX internals.
    use std::collections::HashMap;
    use std::io::Read;

    pub fn entries(bytes: &[u8]) -> HashMap<String, String> {
        let mut out = HashMap::new();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        for i in 0..archive.len() {
            let mut f = archive.by_index(i).unwrap();
            let mut s = String::new();
            if f.read_to_string(&mut s).is_ok() {
                out.insert(f.name().map(|n| n.to_string()).unwrap_or_default(), s);
            }
        }
        out
    }
}
