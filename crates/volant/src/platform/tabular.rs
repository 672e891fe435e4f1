//! Tables for spreadsheets: a typed cell, and the CSV and XLSX writers that
//! exports and reports share.

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet};

/// Spreadsheet number format of amounts: thousands grouped, two decimals.
const MONEY_FORMAT: &str = "#,##0.00";

/// A spreadsheet cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Money(Decimal),
    Number(Decimal),
    Date(NaiveDate),
    Empty,
}

impl Cell {
    pub fn text(value: Option<impl Into<String>>) -> Self {
        value.map_or(Self::Empty, |v| Self::Text(v.into()))
    }

    /// The cell as CSV writes it: exact figures, ISO dates.
    pub fn plain(&self) -> String {
        match self {
            Self::Text(t) => t.clone(),
            Self::Int(n) => n.to_string(),
            Self::Money(d) | Self::Number(d) => d.to_string(),
            Self::Date(d) => d.to_string(),
            Self::Empty => String::new(),
        }
    }
}

/// The formats numbers and dates are written with.
pub struct XlsxFormats {
    money: Format,
    date: Format,
}

impl XlsxFormats {
    pub fn new() -> Self {
        Self { money: Format::new().set_num_format(MONEY_FORMAT), date: Format::new().set_num_format("dd/mm/yyyy") }
    }
}

impl Default for XlsxFormats {
    fn default() -> Self {
        Self::new()
    }
}

/// Writes one row of cells at `row`.
pub fn write_row(sheet: &mut Worksheet, row: u32, cells: Vec<Cell>, formats: &XlsxFormats) -> Result<(), String> {
    for (col, cell) in cells.into_iter().enumerate() {
        let col = u16::try_from(col).map_err(|e| e.to_string())?;
        let written = match cell {
            Cell::Text(t) => sheet.write_string(row, col, t).map(|_| ()),
            #[allow(clippy::cast_precision_loss)] // Spreadsheets hold numbers as floats.
            Cell::Int(n) => sheet.write_number(row, col, n as f64).map(|_| ()),
            // Spreadsheets hold numbers as floats; the exact figure is in the CSV.
            Cell::Money(d) => {
                sheet.write_number_with_format(row, col, d.to_f64().unwrap_or_default(), &formats.money).map(|_| ())
            }
            Cell::Number(d) => sheet.write_number(row, col, d.to_f64().unwrap_or_default()).map(|_| ()),
            Cell::Date(d) => {
                let (y, m, dd) = (
                    u16::try_from(d.year()).unwrap_or(1900),
                    u8::try_from(d.month()).unwrap_or(1),
                    u8::try_from(d.day()).unwrap_or(1),
                );
                match ExcelDateTime::from_ymd(y, m, dd) {
                    Ok(value) => sheet.write_datetime_with_format(row, col, &value, &formats.date).map(|_| ()),
                    Err(_) => sheet.write_string(row, col, d.to_string()).map(|_| ()),
                }
            }
            Cell::Empty => Ok(()),
        };
        written.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A whole table as CSV, with a byte-order mark so spreadsheets read UTF-8.
pub fn csv_bytes(headers: &[String], rows: &[Vec<Cell>]) -> Result<Vec<u8>, String> {
    let mut writer = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    writer.write_record(headers).map_err(|e| e.to_string())?;
    for row in rows {
        writer.write_record(row.iter().map(Cell::plain)).map_err(|e| e.to_string())?;
    }
    writer.into_inner().map_err(|e| e.to_string())
}

/// A whole table as an XLSX workbook, in memory (blocking: call it off the async runtime).
pub fn xlsx_bytes(sheet_name: &str, headers: &[String], rows: Vec<Vec<Cell>>) -> Result<Vec<u8>, String> {
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    let formats = XlsxFormats::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(sheet_name.chars().take(31).collect::<String>()).map_err(|e| e.to_string())?;
    for (col, title) in headers.iter().enumerate() {
        let col = u16::try_from(col).map_err(|e| e.to_string())?;
        sheet.write_string_with_format(0, col, title, &bold).map_err(|e| e.to_string())?;
        sheet.set_column_width(col, 18).map_err(|e| e.to_string())?;
    }
    for (i, row) in rows.into_iter().enumerate() {
        let number = u32::try_from(i + 1).map_err(|e| e.to_string())?;
        write_row(sheet, number, row, &formats)?;
    }
    workbook.save_to_buffer().map_err(|e| e.to_string())
}
