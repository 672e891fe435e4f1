//! Spreadsheets read for imports: CSV (UTF-8 or Windows-1252, as French Excel
//! saves it; `;`, `,` or tab between cells, found from the first line) and XLSX
//! (the first sheet, read cell by cell: memory follows the batch, not the file);
//! the columns a file's headers name, guessed from French and English names; and
//! cells read as numbers, dates and yes/no the way people type them.

use std::borrow::Cow;
use std::io::Cursor;

use chrono::{Datelike, NaiveDate};
use tokio::sync::mpsc;

use crate::platform::search::sort_key;

/// Rows a file may hold (a file of a million rows is a mistake, not an import).
pub const MAX_ROWS: u64 = 200_000;
/// Columns a file may hold.
pub const MAX_COLUMNS: usize = 200;
/// Characters a cell may hold (a longer one is cut, and refused by the field's own limit).
const MAX_CELL: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

/// Why a file cannot be read as a table, each with its message key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unreadable {
    #[error("not a CSV or XLSX file")]
    NotATable,
    #[error("no row under the headers")]
    Empty,
    #[error("more than {MAX_ROWS} rows")]
    TooManyRows,
    #[error("more than {MAX_COLUMNS} columns")]
    TooManyColumns,
    /// An archive that unpacks to more than a spreadsheet of [`MAX_ROWS`] rows would.
    #[error("unpacks to too much")]
    TooLarge,
    #[error("damaged: {0}")]
    Damaged(String),
}

impl Unreadable {
    pub fn message_key(&self) -> &'static str {
        match self {
            Self::NotATable => "import.file_not_table",
            Self::Empty => "import.file_empty",
            Self::TooManyRows => "import.file_too_many_rows",
            Self::TooManyColumns => "import.file_too_many_columns",
            Self::TooLarge => "import.file_too_large",
            Self::Damaged(_) => "import.file_damaged",
        }
    }
}

/// A row of the file: its line (as a spreadsheet numbers it, the headers being
/// line 1 of a CSV) and its cells, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRow {
    pub line: u64,
    pub cells: Vec<String>,
}

/// What a file holds, read once when it arrives: its headers, its first rows, how many rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub format: Format,
    pub headers: Vec<String>,
    pub sample: Vec<RawRow>,
    pub rows: u64,
}

/// The file's format, from its content: XLSX is a ZIP archive; anything else
/// that reads as text is taken as CSV.
pub fn sniff(bytes: &[u8]) -> Result<Format, Unreadable> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Ok(Format::Xlsx);
    }
    // Binary files (a PDF, an old .xls, an image) hold NUL bytes or control characters.
    let head = &bytes[..bytes.len().min(4096)];
    if head.iter().any(|b| *b == 0 || (*b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))) {
        return Err(Unreadable::NotATable);
    }
    Ok(Format::Csv)
}

/// Reads the whole file once (on the blocking pool: it parses): headers, the
/// first `sample` rows, the number of rows.
pub fn preview(bytes: &[u8], sample: usize) -> Result<Preview, Unreadable> {
    let format = sniff(bytes)?;
    let mut headers = None;
    let mut rows = Vec::new();
    let mut count = 0_u64;
    each_row(bytes, format, &mut |row| {
        if headers.is_none() {
            headers = Some(row.cells);
            return Ok(true);
        }
        count += 1;
        if count > MAX_ROWS {
            return Err(Unreadable::TooManyRows);
        }
        if rows.len() < sample {
            rows.push(row);
        }
        Ok(true)
    })?;
    let headers = headers.ok_or(Unreadable::Empty)?;
    if count == 0 {
        return Err(Unreadable::Empty);
    }
    Ok(Preview { format, headers, sample: rows, rows: count })
}

/// The file's rows after the headers, skipping the first `skip`, in batches of
/// `batch`, read on a blocking thread that stays at most two batches ahead.
pub fn read_rows(bytes: Vec<u8>, skip: u64, batch: usize) -> mpsc::Receiver<Result<Vec<RawRow>, Unreadable>> {
    let (sender, receiver) = mpsc::channel(2);
    tokio::task::spawn_blocking(move || {
        let format = match sniff(&bytes) {
            Ok(format) => format,
            Err(err) => {
                let _ = sender.blocking_send(Err(err));
                return;
            }
        };
        let (mut seen_headers, mut index, mut pending) = (false, 0_u64, Vec::with_capacity(batch));
        let read = each_row(&bytes, format, &mut |row| {
            if !seen_headers {
                seen_headers = true;
                return Ok(true);
            }
            index += 1;
            if index <= skip {
                return Ok(true);
            }
            pending.push(row);
            if pending.len() == batch {
                let full = std::mem::replace(&mut pending, Vec::with_capacity(batch));
                // The receiver is gone: the job stopped, stop reading.
                return Ok(sender.blocking_send(Ok(full)).is_ok());
            }
            Ok(true)
        });
        let last = match read {
            Ok(()) if pending.is_empty() => return,
            Ok(()) => Ok(pending),
            Err(err) => Err(err),
        };
        let _ = sender.blocking_send(last);
    });
    receiver
}

/// Calls `each` with every non-empty row, the headers first; `each` answers
/// whether to go on.
fn each_row(
    bytes: &[u8],
    format: Format,
    each: &mut dyn FnMut(RawRow) -> Result<bool, Unreadable>,
) -> Result<(), Unreadable> {
    match format {
        Format::Csv => each_csv_row(bytes, each),
        Format::Xlsx => each_xlsx_row(bytes, each),
    }
}

/// UTF-8 (with or without its byte order mark), else Windows-1252: what Excel
/// writes on a French Windows.
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes).0,
    }
}

/// The separator the first line uses most: `;` (French Excel), `,` or tab.
fn delimiter(text: &str) -> u8 {
    let first = text.lines().next().unwrap_or_default();
    [b';', b',', b'\t']
        .into_iter()
        .max_by_key(|d| (first.bytes().filter(|b| b == d).count(), *d == b';'))
        .unwrap_or(b',')
}

fn clean(cell: &str) -> String {
    cell.chars().filter(|c| *c != '\0').take(MAX_CELL).collect()
}

fn is_blank(cells: &[String]) -> bool {
    cells.iter().all(|c| c.trim().is_empty())
}

fn each_csv_row(bytes: &[u8], each: &mut dyn FnMut(RawRow) -> Result<bool, Unreadable>) -> Result<(), Unreadable> {
    let text = decode(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter(&text))
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    // The line a record starts on, counted from its byte offset (a cell may hold line breaks).
    let (mut line, mut counted) = (1_u64, 0_usize);
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(err) => return Err(Unreadable::Damaged(err.to_string())),
        }
        let start = record.position().map_or(counted, |p| usize::try_from(p.byte()).unwrap_or(counted));
        let mut start = start.clamp(counted, text.len());
        // The position given is where the previous record ended: its line ends, and blank lines, come first.
        while text.as_bytes().get(start).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
            start += 1;
        }
        line += text.as_bytes()[counted..start].iter().filter(|b| **b == b'\n').count() as u64;
        counted = start;
        if record.len() > MAX_COLUMNS {
            return Err(Unreadable::TooManyColumns);
        }
        let cells: Vec<String> = record.iter().map(clean).collect();
        if is_blank(&cells) {
            continue;
        }
        if !each(RawRow { line, cells })? {
            return Ok(());
        }
    }
}

fn xlsx_text(value: &calamine::DataRef<'_>) -> String {
    use calamine::DataRef;
    match value {
        DataRef::Int(n) => n.to_string(),
        #[allow(clippy::cast_possible_truncation)] // Whole numbers within i64's exact range.
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => (*f as i64).to_string(),
        DataRef::Float(f) => f.to_string(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => clean(s),
        DataRef::SharedString(s) => clean(s),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(value) => match value.as_datetime() {
            Some(at) if at.time() == chrono::NaiveTime::MIN => at.date().to_string(),
            Some(at) => at.format("%Y-%m-%d %H:%M").to_string(),
            None => value.as_f64().to_string(),
        },
        DataRef::Error(_) | DataRef::Empty => String::new(),
    }
}

/// What an XLSX file may unpack to: its parts are read whole (the shared
/// strings), so a small archive of huge parts (a "zip bomb") is refused first.
const MAX_UNPACKED: u64 = 512 * 1024 * 1024;

fn check_unpacked_size(bytes: &[u8]) -> Result<(), Unreadable> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| Unreadable::Damaged(e.to_string()))?;
    let mut total = 0_u64;
    for i in 0..archive.len() {
        let part = archive.by_index_raw(i).map_err(|e| Unreadable::Damaged(e.to_string()))?;
        // Deflate packs text a thousandfold at most; past that, the sizes lie.
        if part.size() > part.compressed_size().saturating_mul(1_100).max(1 << 20) {
            return Err(Unreadable::TooLarge);
        }
        total = total.saturating_add(part.size());
    }
    if total > MAX_UNPACKED { Err(Unreadable::TooLarge) } else { Ok(()) }
}

fn each_xlsx_row(bytes: &[u8], each: &mut dyn FnMut(RawRow) -> Result<bool, Unreadable>) -> Result<(), Unreadable> {
    use calamine::{Reader, Xlsx};
    check_unpacked_size(bytes)?;
    let damaged = |e: calamine::XlsxError| Unreadable::Damaged(e.to_string());
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(damaged)?;
    let Some(sheet) = book.sheet_names().first().cloned() else { return Err(Unreadable::Empty) };
    let mut cells = book.worksheet_cells_reader(&sheet).map_err(damaged)?;
    let (mut row_at, mut row): (Option<u32>, Vec<String>) = (None, Vec::new());
    let mut flush = |at: u32, row: Vec<String>| -> Result<bool, Unreadable> {
        if is_blank(&row) { Ok(true) } else { each(RawRow { line: u64::from(at) + 1, cells: row }) }
    };
    while let Some(cell) = cells.next_cell().map_err(damaged)? {
        let (r, c) = cell.get_position();
        if row_at != Some(r) {
            if let Some(at) = row_at
                && !flush(at, std::mem::take(&mut row))?
            {
                return Ok(());
            }
            row_at = Some(r);
        }
        let c = c as usize;
        if c >= MAX_COLUMNS {
            return Err(Unreadable::TooManyColumns);
        }
        if row.len() <= c {
            row.resize(c + 1, String::new());
        }
        row[c] = xlsx_text(cell.get_value());
    }
    if let Some(at) = row_at {
        flush(at, row)?;
    }
    Ok(())
}

/// A field an import fills: its key, its label's message key, and the headers
/// that name it (French and English, compared without case, accents, spaces or
/// punctuation).
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub key: &'static str,
    pub label: &'static str,
    pub headers: &'static [&'static str],
}

/// `N° d'immatriculation` → `nimmatriculation`.
pub fn normalize_header(header: &str) -> String {
    sort_key(header).replace(' ', "")
}

/// For each field, the column whose header names it (each column used once,
/// fields in their order).
pub fn guess(fields: &[Field], headers: &[String]) -> Vec<Option<usize>> {
    let names: Vec<String> = headers.iter().map(|h| normalize_header(h)).collect();
    let mut used = vec![false; headers.len()];
    fields
        .iter()
        .map(|field| {
            let wanted: Vec<String> =
                std::iter::once(field.key).chain(field.headers.iter().copied()).map(normalize_header).collect();
            let found = names.iter().enumerate().find(|(i, name)| !used[*i] && wanted.contains(name)).map(|(i, _)| i);
            if let Some(i) = found {
                used[i] = true;
            }
            found
        })
        .collect()
}

/// A row as the import reads it: each field's value, trimmed, `None` when its
/// column is not mapped or its cell is empty.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: u64,
    values: Vec<(&'static str, String)>,
}

impl Row {
    pub fn new(line: u64, fields: &[Field], mapping: &[Option<usize>], cells: &[String]) -> Self {
        let values = fields
            .iter()
            .zip(mapping)
            .filter_map(|(field, column)| {
                let value = cells.get((*column)?)?.trim();
                (!value.is_empty()).then(|| (field.key, value.to_owned()))
            })
            .collect();
        Self { line, values }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_str())
    }

    pub fn owned(&self, key: &str) -> Option<String> {
        self.get(key).map(str::to_owned)
    }
}

/// `84 000`, `84000 km`, `84 000,0`: a whole number, spaces and units aside.
pub fn parse_int(text: &str) -> Option<i64> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace() && *c != '\u{202f}').collect();
    let digits = digits.trim_end_matches(|c: char| c.is_alphabetic() || c == '.');
    let digits = digits.strip_suffix(",0").or_else(|| digits.strip_suffix(".0")).unwrap_or(digits);
    let digits = digits.strip_suffix(",00").or_else(|| digits.strip_suffix(".00")).unwrap_or(digits);
    digits.parse().ok()
}

/// How a file writes its dates with slashes: day first (France) or month first
/// (the United States; LubeLogger in English).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DateOrder {
    #[default]
    DayFirst,
    MonthFirst,
}

/// `2026-03-14`, `14/03/2026`, `14.03.2026`, `14-03-2026`, `14/03/26`; a time after the date is ignored.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    parse_date_in(text, DateOrder::DayFirst)
}

/// [`parse_date`], slashed dates read in `order` (`3/14/2026` month first).
pub fn parse_date_in(text: &str, order: DateOrder) -> Option<NaiveDate> {
    let date = text.split([' ', 'T']).next().unwrap_or_default();
    let slashed: &[&str] = match order {
        DateOrder::DayFirst => &["%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%y", "%d.%m.%y", "%d-%m-%y"],
        DateOrder::MonthFirst => &["%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y", "%m-%d-%y"],
    };
    // `%Y` takes one to four digits: `3/14/26` would be the year 26, not 2026.
    // A year before 1900 is a two-digit year or a typo: `%y` reads the former.
    ["%Y-%m-%d", "%Y/%m/%d"]
        .iter()
        .chain(slashed)
        .filter_map(|format| NaiveDate::parse_from_str(date, format).ok())
        .find(|day| day.year() >= 1900)
}

/// `$1,234.56`, `1 234,56 €`, `123.45`, `EUR 99`: an amount as text with a
/// point before its decimals, currency signs and group separators aside.
pub fn parse_amount(text: &str) -> Option<rust_decimal::Decimal> {
    let kept: String = text.chars().filter(|c| c.is_ascii_digit() || matches!(c, ',' | '.' | '-')).collect();
    // The last separator followed by one or two digits marks the decimals.
    let decimal_at = kept.rfind([',', '.']).filter(|at| (1..=2).contains(&(kept.len() - at - 1)));
    let normalized: String = kept
        .char_indices()
        .filter_map(|(i, c)| match c {
            ',' | '.' if Some(i) == decimal_at => Some('.'),
            ',' | '.' => None,
            other => Some(other),
        })
        .collect();
    normalized.parse().ok()
}

/// `oui`, `non`, `yes`, `no`, `vrai`, `faux`, `true`, `false`, `x`, `1`, `0`.
pub fn parse_bool(text: &str) -> Option<bool> {
    match sort_key(text).as_str() {
        "oui" | "o" | "yes" | "y" | "vrai" | "true" | "x" | "1" => Some(true),
        "non" | "n" | "no" | "faux" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// Why an update was taken back.
enum Kept {
    Same,
    Failed(crate::platform::error::AppError),
}

impl From<sea_orm::DbErr> for Kept {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Failed(err.into())
    }
}

/// Writes `input` over a record that `before` describes (what `input_of` reads
/// back from a saved record), in a savepoint taken back when the record came
/// out as it was (a phone written another way, a plate in lower case): `None`
/// then, nothing written, no audit record.
pub async fn update_if_changed<I: PartialEq, T>(
    txn: &sea_orm::DatabaseTransaction,
    (before, input): (&I, &I),
    write: impl AsyncFnOnce(&sea_orm::DatabaseTransaction, &I) -> crate::platform::error::AppResult<T>,
    input_of: impl Fn(&T) -> I,
) -> crate::platform::error::AppResult<Option<T>> {
    if input == before {
        return Ok(None);
    }
    let written = crate::platform::db::write(txn, async |savepoint| {
        let saved = write(savepoint, input).await.map_err(Kept::Failed)?;
        if input_of(&saved) == *before { Err(Kept::Same) } else { Ok(saved) }
    })
    .await;
    match written {
        Ok(saved) => Ok(Some(saved)),
        Err(Kept::Same) => Ok(None),
        Err(Kept::Failed(err)) => Err(err),
    }
}

/// What applying a row did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    /// The row says what is already there: nothing written.
    Unchanged,
}

impl Outcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
        }
    }
}

/// One record a row created or changed, with what undoing it needs: the
/// record's fields before (for a change), and its `updated_at` after, which
/// must still be there for an undo to touch it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub entity: &'static str,
    pub id: i64,
    /// What names the record to a person (a plate, a name).
    pub label: String,
    pub created: bool,
    pub previous: Option<serde_json::Value>,
    pub stamp: chrono::DateTime<chrono::Utc>,
}

impl Change {
    pub fn created(entity: &'static str, id: i64, label: String, stamp: chrono::DateTime<chrono::Utc>) -> Self {
        Self { entity, id, label, created: true, previous: None, stamp }
    }

    /// A record changed, `previous` what an undo writes back.
    pub fn updated(
        entity: &'static str,
        id: i64,
        label: String,
        previous: &impl serde::Serialize,
        stamp: chrono::DateTime<chrono::Utc>,
    ) -> crate::platform::error::AppResult<Self> {
        let previous = serde_json::to_value(previous)
            .map_err(|e| crate::platform::error::AppError::Internal(format!("import change: {e}")))?;
        Ok(Self { entity, id, label, created: false, previous: Some(previous), stamp })
    }

    /// What an update's undo writes back.
    pub fn previous_as<T: serde::de::DeserializeOwned>(&self) -> crate::platform::error::AppResult<T> {
        serde_json::from_value(self.previous.clone().unwrap_or_default())
            .map_err(|e| crate::platform::error::AppError::Internal(format!("import change {}: {e}", self.id)))
    }
}

/// A row applied: its outcome, what names it in the report (a plate, a name),
/// and the records it wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub outcome: Outcome,
    pub label: String,
    pub changes: Vec<Change>,
}

impl Applied {
    pub fn unchanged(label: String) -> Self {
        Self { outcome: Outcome::Unchanged, label, changes: Vec::new() }
    }

    /// A row that created or changed one record.
    pub fn one(change: Change) -> Self {
        let outcome = if change.created { Outcome::Created } else { Outcome::Updated };
        Self { outcome, label: change.label.clone(), changes: vec![change] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(bytes: &[u8]) -> Vec<Vec<String>> {
        let mut all = Vec::new();
        each_row(bytes, sniff(bytes).unwrap_or(Format::Csv), &mut |row| {
            all.push(row.cells);
            Ok(true)
        })
        .ok();
        all
    }

    #[test]
    fn french_excel_csv_is_read_with_semicolons_and_windows_1252() {
        // "Prénom;Nom\nRené;Lefèvre" as Excel saves it on a French Windows.
        let bytes = b"Pr\xe9nom;Nom;Adresse\nRen\xe9;Lef\xe8vre;\"1 rue A\n75001 Paris\"\n";
        assert_eq!(
            rows(bytes),
            vec![vec!["Prénom", "Nom", "Adresse"], vec!["René", "Lefèvre", "1 rue A\n75001 Paris"]]
        );
    }

    #[test]
    fn csv_rows_are_numbered_as_a_spreadsheet_shows_them() {
        let mut lines = Vec::new();
        let bytes = b"plate;notes\r\nAB-1;\"two\nlines\"\r\n\r\nCD-2;x\r\n";
        each_row(bytes, Format::Csv, &mut |row| {
            lines.push(row.line);
            Ok(true)
        })
        .ok();
        assert_eq!(lines, vec![1, 2, 5]);
    }

    #[test]
    fn utf8_with_bom_and_commas_and_blank_lines() {
        let bytes = "\u{feff}plate,brand\n\nAB-123-CD,Renault 🚗\n , \n".as_bytes();
        assert_eq!(rows(bytes), vec![vec!["plate", "brand"], vec!["AB-123-CD", "Renault 🚗"]]);
    }

    #[test]
    fn binary_files_are_not_tables() {
        assert_eq!(sniff(b"%PDF-1.7\n\x00\x01"), Err(Unreadable::NotATable));
        assert_eq!(preview(b"plate\n", 5), Err(Unreadable::Empty));
    }

    #[test]
    fn headers_are_guessed_in_french_and_english() {
        const FIELDS: &[Field] = &[
            Field { key: "plate", label: "", headers: &["immatriculation", "license plate"] },
            Field { key: "mileage_km", label: "", headers: &["kilométrage", "mileage"] },
            Field { key: "brand", label: "", headers: &["marque", "make"] },
        ];
        let headers = vec!["N° ".to_owned(), "Kilométrage".to_owned(), "IMMATRICULATION".to_owned()];
        assert_eq!(guess(FIELDS, &headers), vec![Some(2), Some(1), None]);
        let headers = vec!["License plate".to_owned(), "Make".to_owned()];
        assert_eq!(guess(FIELDS, &headers), vec![Some(0), None, Some(1)]);
    }

    #[test]
    fn cells_are_read_as_people_type_them() {
        assert_eq!(parse_int("84 000 km"), Some(84_000));
        assert_eq!(parse_int("84000,0"), Some(84_000));
        assert_eq!(parse_int("beaucoup"), None);
        assert_eq!(parse_date("14/03/2026"), NaiveDate::from_ymd_opt(2026, 3, 14));
        assert_eq!(parse_date("2026-03-14 10:00"), NaiveDate::from_ymd_opt(2026, 3, 14));
        assert_eq!(parse_date("31/02/2026"), None);
        assert_eq!(parse_date_in("3/14/2026", DateOrder::MonthFirst), NaiveDate::from_ymd_opt(2026, 3, 14));
        assert_eq!(parse_date_in("1/2/2020", DateOrder::MonthFirst), NaiveDate::from_ymd_opt(2020, 1, 2));
        assert_eq!(parse_date_in("2020-01-02", DateOrder::MonthFirst), NaiveDate::from_ymd_opt(2020, 1, 2));
        assert_eq!(parse_date_in("3/14/26", DateOrder::MonthFirst), NaiveDate::from_ymd_opt(2026, 3, 14));
        assert_eq!(parse_date("12-03-20"), NaiveDate::from_ymd_opt(2020, 3, 12));
        assert_eq!(parse_date("14/03/0026"), None);
        let read = |t: &str| parse_amount(t).map(|d| d.to_string());
        assert_eq!(read("USD 1,234.56").as_deref(), Some("1234.56"));
        assert_eq!(read("1 234,56 €").as_deref(), Some("1234.56"));
        assert_eq!(read("20.60").as_deref(), Some("20.60"));
        assert_eq!(read("1,234").as_deref(), Some("1234"));
        assert_eq!(read("gratuit"), None);
        assert_eq!(parse_bool("Oui"), Some(true));
        assert_eq!(parse_bool("NON"), Some(false));
        assert_eq!(parse_bool("peut-être"), None);
    }
}
