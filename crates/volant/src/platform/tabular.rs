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

/// Text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a tab or
/// carriage return before one) gets a leading `'`, as OWASP recommends against CSV
/// injection. Every CSV Volant writes goes through [`CsvWriter`], which applies it.
pub fn neutralize_formula(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// How a spreadsheet of a language reads CSV: a French one expects `;` between
/// fields and a decimal comma (`12,50`), an English one `,` and a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvDialect {
    pub delimiter: u8,
    pub decimal_comma: bool,
}

impl CsvDialect {
    /// `,` and decimal points: what programs read.
    pub const COMMA: Self = Self { delimiter: b',', decimal_comma: false };
    /// `;` and decimal commas: what French spreadsheets open.
    pub const SEMICOLON: Self = Self { delimiter: b';', decimal_comma: true };

    /// The dialect of the spreadsheets of `locale`'s readers.
    pub fn for_locale(locale: crate::platform::i18n::Locale) -> Self {
        match locale {
            crate::platform::i18n::Locale::Fr => Self::SEMICOLON,
            crate::platform::i18n::Locale::En => Self::COMMA,
        }
    }

    /// The dialect a request asks for (`separator=comma|semicolon`), else `default`.
    pub fn asked(separator: Option<&str>, default: Self) -> Result<Self, String> {
        match separator.map(str::trim) {
            None | Some("") => Ok(default),
            Some("comma") | Some(",") => Ok(Self::COMMA),
            Some("semicolon") | Some(";") => Ok(Self::SEMICOLON),
            Some(other) => Err(format!("separator must be comma or semicolon, not {other:?}")),
        }
    }

    /// A cell as this dialect writes it: exact figures, ISO dates.
    fn write(self, cell: &Cell) -> String {
        match cell {
            Cell::Text(t) => neutralize_formula(t).into_owned(),
            Cell::Money(_) | Cell::Number(_) if self.decimal_comma => cell.plain().replace('.', ","),
            other => other.plain(),
        }
    }
}

/// The one CSV writer: UTF-8 with a byte-order mark when asked (spreadsheets read
/// it as UTF-8), text fields neutralized against formula injection, numbers exact,
/// in the dialect of its readers' spreadsheets.
pub struct CsvWriter {
    inner: csv::Writer<Vec<u8>>,
    dialect: CsvDialect,
}

impl CsvWriter {
    /// A document's first chunk starts with the byte-order mark; later chunks of a
    /// streamed document do not.
    pub fn new(with_bom: bool, dialect: CsvDialect) -> Self {
        let start = if with_bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
        Self { inner: csv::WriterBuilder::new().delimiter(dialect.delimiter).from_writer(start), dialect }
    }

    /// A row of texts (headings, or rows already turned into text).
    pub fn text_row<I, T>(&mut self, fields: I) -> Result<(), String>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<str>,
    {
        let fields: Vec<String> = fields.into_iter().map(|f| neutralize_formula(f.as_ref()).into_owned()).collect();
        self.inner.write_record(&fields).map_err(|e| e.to_string())
    }

    /// A row of typed cells: text neutralized, numbers and dates written exactly.
    pub fn cell_row(&mut self, cells: &[Cell]) -> Result<(), String> {
        let dialect = self.dialect;
        self.inner.write_record(cells.iter().map(|cell| dialect.write(cell))).map_err(|e| e.to_string())
    }

    pub fn into_bytes(self) -> Result<Vec<u8>, String> {
        self.inner.into_inner().map_err(|e| e.to_string())
    }
}

/// A whole table as CSV, with a byte-order mark so spreadsheets read UTF-8.
pub fn csv_bytes(headers: &[String], rows: &[Vec<Cell>], dialect: CsvDialect) -> Result<Vec<u8>, String> {
    let mut writer = CsvWriter::new(true, dialect);
    writer.text_row(headers)?;
    for row in rows {
        writer.cell_row(row)?;
    }
    writer.into_bytes()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralized_and_numbers_kept() {
        for hostile in ["=HYPERLINK(\"http://x\")", "+33 6 12", "-2+3", "@SUM(A1)", "\t=1", "\r=1"] {
            assert_eq!(neutralize_formula(hostile), format!("'{hostile}"));
        }
        assert_eq!(neutralize_formula("Dupont"), "Dupont");
        let bytes = csv_bytes(
            &["=h".to_owned(), "b".to_owned(), "c".to_owned()],
            &[vec![Cell::Text("=1+1".to_owned()), Cell::Money(Decimal::new(-1250, 2)), Cell::Int(-3)]],
            CsvDialect::COMMA,
        )
        .expect("csv");
        let text = String::from_utf8(bytes).expect("utf-8");
        assert_eq!(text, "\u{feff}'=h,b,c\n'=1+1,-12.50,-3\n");
    }

    #[test]
    fn french_spreadsheets_get_semicolons_and_decimal_commas() {
        let row = vec![
            Cell::Text("Garage; Martin".to_owned()),
            Cell::Money(Decimal::new(123_456, 2)),
            Cell::Number(Decimal::new(15, 1)),
            Cell::Date(NaiveDate::from_ymd_opt(2026, 12, 3).expect("date")),
        ];
        let bytes =
            csv_bytes(&["a".to_owned(), "b".to_owned(), "c".to_owned(), "d".to_owned()], &[row], CsvDialect::SEMICOLON)
                .expect("csv");
        let text = String::from_utf8(bytes).expect("utf-8");
        assert_eq!(text, "\u{feff}a;b;c;d\n\"Garage; Martin\";1234,56;1,5;2026-12-03\n");
        assert_eq!(CsvDialect::for_locale(crate::platform::i18n::Locale::Fr), CsvDialect::SEMICOLON);
        assert_eq!(CsvDialect::asked(Some("comma"), CsvDialect::SEMICOLON), Ok(CsvDialect::COMMA));
        assert!(CsvDialect::asked(Some("tab"), CsvDialect::SEMICOLON).is_err());
    }
}
