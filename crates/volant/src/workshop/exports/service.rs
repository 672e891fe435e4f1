//! What each export contains, a page at a time, and the two writers.

use std::collections::HashMap;
use std::io::Seek;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use sea_orm::DatabaseConnection;

use crate::fleet::garages::service as garages;
use crate::fleet::vehicles::service::{self as vehicles, VehicleFilter};
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::Locale;
use crate::platform::pagination::PageRequest;
use crate::platform::tabular::{self, Cell, CsvDialect, CsvWriter};
use crate::platform::tenant::OrgId;
use crate::workshop::clients::service as clients;
use crate::workshop::maintenance::service::{self as maintenance, AlertFilter};
use crate::workshop::quotes::service::{self as quotes, QuoteFilter};

/// Rows read per query.
const PAGE: u64 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

/// What to export, with its filters.
#[derive(Debug, Clone)]
pub enum Dataset {
    Clients { q: Option<String> },
    Vehicles(VehicleFilter),
    Quotes(QuoteFilter),
    Alerts(AlertFilter),
}

impl Dataset {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Clients { .. } => "clients",
            Self::Vehicles(_) => "vehicules",
            Self::Quotes(_) => "devis",
            Self::Alerts(_) => "alertes",
        }
    }

    fn headers(&self, tr: Locale) -> Vec<String> {
        let keys: &[&str] = match self {
            Self::Clients { .. } => &[
                "export.id",
                "client.kind",
                "client.person_name",
                "client.company_name",
                "client.tax_id",
                "client.email",
                "client.phone",
                "client.address",
                "client.consent_notifications",
                "client.consent_marketing",
                "export.created_at",
            ],
            Self::Vehicles(_) => &[
                "export.id",
                "vehicle.license_plate",
                "vehicle.brand",
                "vehicle.model",
                "vehicle.year",
                "vehicle.vin",
                "vehicle.mileage_km",
                "vehicle.fuel_type",
                "vehicle.garage",
                "export.owner",
            ],
            Self::Quotes(_) => &[
                "quote.number",
                "quote.status",
                "quote.issue_date",
                "quote.valid_until",
                "quote.client",
                "quote.vehicle",
                "export.quote_total_excl",
                "export.quote_total_incl",
                "export.currency",
                "export.line",
                "quote.kind",
                "pdf.description",
                "pdf.quantity",
                "pdf.unit",
                "pdf.unit_price",
                "export.vat_rate",
                "export.discount",
                "pdf.total",
                "export.line_accepted",
            ],
            Self::Alerts(_) => &[
                "export.id",
                "vehicle.license_plate",
                "vehicle.garage",
                "alerts.kind",
                "alerts.due_on",
                "alerts.due_km",
                "quote.status",
                "export.created_at",
            ],
        };
        keys.iter().map(|k| tr.text(k).to_owned()).collect()
    }

    /// The rows after `after` (the previous page's cursor) and the next cursor, if any.
    async fn page(&self, db: &DatabaseConnection, org: OrgId, after: Option<String>, tr: Locale) -> AppResult<Rows> {
        let request = PageRequest::parse(None, after.as_deref())?.with_limit(PAGE);
        match self {
            Self::Clients { q } => client_rows(db, org, q.as_deref(), request, tr).await,
            Self::Vehicles(filter) => vehicle_rows(db, org, filter, request, tr).await,
            Self::Quotes(filter) => quote_rows(db, org, filter, request, tr).await,
            Self::Alerts(filter) => alert_rows(db, org, filter, request, tr).await,
        }
    }
}

/// A page's rows and the cursor of the next page, if any.
type Rows = (Vec<Vec<Cell>>, Option<String>);

fn yes_no(tr: Locale, b: bool) -> Cell {
    Cell::Text(tr.text(if b { "export.yes" } else { "export.no" }).to_owned())
}

async fn client_rows(
    db: &DatabaseConnection,
    org: OrgId,
    q: Option<&str>,
    request: PageRequest,
    tr: Locale,
) -> AppResult<Rows> {
    let page = clients::list(db, org, q, request).await?;
    let next = page.next_cursor.clone();
    let rows = page
        .items
        .into_iter()
        .map(|c| {
            vec![
                Cell::Int(c.id),
                Cell::Text(
                    tr.text(if c.company_name.is_some() { "client.kind.company" } else { "client.kind.individual" })
                        .to_owned(),
                ),
                Cell::Text(c.name),
                Cell::text(c.company_name),
                Cell::text(c.tax_id),
                Cell::text(c.email),
                Cell::text(c.phone),
                Cell::text(c.address),
                yes_no(tr, c.consent_notifications),
                yes_no(tr, c.consent_marketing),
                Cell::Date(c.created_at.date_naive()),
            ]
        })
        .collect();
    Ok((rows, next))
}

async fn vehicle_rows(
    db: &DatabaseConnection,
    org: OrgId,
    filter: &VehicleFilter,
    request: PageRequest,
    tr: Locale,
) -> AppResult<Rows> {
    let page = vehicles::list(db, org, filter, request).await?;
    let next = page.next_cursor.clone();
    let names = garages::names(db, org, page.items.iter().map(|v| v.garage_id).collect()).await?;
    let ids: Vec<i64> = page.items.iter().map(|v| v.id).collect();
    let mut owners = clients::current_owners(db, org, &ids).await?;
    let rows = page
        .items
        .into_iter()
        .map(|v| {
            vec![
                Cell::Int(v.id),
                Cell::Text(v.license_plate),
                Cell::Text(v.brand),
                Cell::Text(v.model),
                Cell::Int(i64::from(v.year)),
                Cell::text(v.vin),
                v.mileage_km.map_or(Cell::Empty, Cell::Int),
                Cell::text(v.fuel_type.map(|f| tr.text(f.label_key()).to_owned())),
                Cell::text(names.get(&v.garage_id).cloned()),
                Cell::text(owners.remove(&v.id).map(|c| c.display_name().to_owned())),
            ]
        })
        .collect();
    Ok((rows, next))
}

/// A row per line (its quote's columns repeated), or one for a quote without lines.
async fn quote_rows(
    db: &DatabaseConnection,
    org: OrgId,
    filter: &QuoteFilter,
    request: PageRequest,
    tr: Locale,
) -> AppResult<Rows> {
    // Quotes list newest first: the cursor is the last id, going down.
    let page = quotes::list(db, org, filter, request).await?;
    let next = page.next_cursor.clone();
    let mut lines = quotes::lines_of_quotes(db, org, &page.items).await?;
    let client_ids: Vec<i64> = page.items.iter().map(|q| q.client_id).collect();
    let names = clients::get_many(db, org, &client_ids).await?;
    let vehicle_ids: Vec<i64> = page.items.iter().filter_map(|q| q.vehicle_id).collect();
    let plates: HashMap<i64, String> =
        vehicles::get_many(db, org, &vehicle_ids).await?.into_iter().map(|v| (v.id, v.license_plate)).collect();
    let mut rows = Vec::new();
    for q in page.items {
        let head = vec![
            Cell::Text(q.number.clone()),
            Cell::Text(tr.text(q.status.label_key()).to_owned()),
            Cell::Date(q.issue_date),
            Cell::Date(q.valid_until),
            Cell::text(names.get(&q.client_id).map(|c| c.display_name().to_owned())),
            Cell::text(q.vehicle_id.and_then(|id| plates.get(&id).cloned())),
            Cell::Money(q.total_excl_tax),
            Cell::Money(q.total_incl_tax),
            Cell::Text(q.currency.to_string()),
        ];
        let quote_lines = lines.remove(&q.id).unwrap_or_default();
        if quote_lines.is_empty() {
            let mut row = head.clone();
            row.extend(std::iter::repeat_n(Cell::Empty, 10));
            rows.push(row);
        }
        for l in quote_lines {
            let mut row = head.clone();
            row.extend([
                Cell::Int(i64::from(l.position) + 1),
                Cell::Text(tr.text(l.kind.label_key()).to_owned()),
                Cell::Text(l.description),
                Cell::Number(l.quantity),
                Cell::text(l.unit),
                Cell::Money(l.unit_price),
                Cell::Number(l.vat_rate),
                Cell::Number(l.discount),
                Cell::Money(l.total_excl_tax),
                l.accepted.map_or(Cell::Empty, |a| yes_no(tr, a)),
            ]);
            rows.push(row);
        }
    }
    Ok((rows, next))
}

async fn alert_rows(
    db: &DatabaseConnection,
    org: OrgId,
    filter: &AlertFilter,
    request: PageRequest,
    tr: Locale,
) -> AppResult<Rows> {
    let page =
        maintenance::list(db, org, filter, request, crate::identity::organizations::service::today(db, org).await?)
            .await?;
    let next = page.next_cursor.clone();
    let names: HashMap<String, String> =
        maintenance::organization_rules(db, org).await?.into_iter().map(|r| (r.kind, r.name)).collect();
    let ids: Vec<i64> = page.items.iter().map(|a| a.vehicle_id).collect();
    let found: HashMap<i64, vehicles::Vehicle> =
        vehicles::get_many(db, org, &ids).await?.into_iter().map(|v| (v.id, v)).collect();
    let garage_names = garages::names(db, org, found.values().map(|v| v.garage_id).collect()).await?;
    let rows = page
        .items
        .into_iter()
        .map(|a| {
            let vehicle = found.get(&a.vehicle_id);
            vec![
                Cell::Int(a.id),
                Cell::text(vehicle.map(|v| v.license_plate.clone())),
                Cell::text(vehicle.and_then(|v| garage_names.get(&v.garage_id).cloned())),
                Cell::Text(names.get(&a.kind).cloned().unwrap_or(a.kind)),
                a.due_on.map_or(Cell::Empty, Cell::Date),
                a.due_km.map_or(Cell::Empty, Cell::Int),
                Cell::Text(tr.text(a.status.label_key()).to_owned()),
                Cell::Date(a.created_at.date_naive()),
            ]
        })
        .collect();
    Ok((rows, next))
}

fn attachment(response: &mut Response, content_type: &'static str, filename: &str) {
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
}

/// Streams the export in `format`.
pub async fn export(
    db: DatabaseConnection,
    org: OrgId,
    dataset: Dataset,
    format: Format,
    (tr, dialect): (Locale, CsvDialect),
) -> AppResult<Response> {
    let filename = format!(
        "{}-{}.{}",
        dataset.name(),
        crate::identity::organizations::service::today(&db, org).await?,
        if format == Format::Csv { "csv" } else { "xlsx" }
    );
    match format {
        Format::Csv => {
            // The first page is read before answering, so that a refusal is a
            // proper error response rather than a download cut short.
            let first = dataset.page(&db, org, None, tr).await?;
            let mut response = Body::from_stream(csv_stream(db, org, dataset, (tr, dialect), first)).into_response();
            attachment(&mut response, "text/csv; charset=utf-8", &filename);
            Ok(response)
        }
        Format::Xlsx => {
            let file = xlsx_file(db, org, dataset, tr).await?;
            let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
            let mut response = Body::from_stream(stream).into_response();
            attachment(&mut response, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", &filename);
            Ok(response)
        }
    }
}

/// A header chunk (with a byte-order mark, so spreadsheets read UTF-8), then one
/// chunk per page of rows.
fn csv_stream(
    db: DatabaseConnection,
    org: OrgId,
    dataset: Dataset,
    (tr, dialect): (Locale, CsvDialect),
    first: Rows,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    enum Step {
        Header(Rows),
        Rows(Option<String>),
        Done,
    }
    let chunk = move |header: Option<Vec<String>>, rows: Vec<Vec<Cell>>| -> Result<Bytes, std::io::Error> {
        let mut writer = CsvWriter::new(header.is_some(), dialect);
        if let Some(header) = header {
            writer.text_row(header).map_err(std::io::Error::other)?;
        }
        for row in rows {
            writer.cell_row(&row).map_err(std::io::Error::other)?;
        }
        writer.into_bytes().map(Bytes::from).map_err(std::io::Error::other)
    };
    let next_step = |next: Option<String>| next.map_or(Step::Done, |after| Step::Rows(Some(after)));
    futures_util::stream::unfold((Step::Header(first), db, dataset), move |(step, db, dataset)| async move {
        match step {
            Step::Done => None,
            Step::Header((rows, next)) => {
                let bytes = chunk(Some(dataset.headers(tr)), rows);
                Some((bytes, (next_step(next), db, dataset)))
            }
            Step::Rows(after) => match dataset.page(&db, org, after, tr).await {
                Ok((rows, next)) => Some((chunk(None, rows), (next_step(next), db, dataset))),
                Err(err) => {
                    tracing::error!(error = %err, "export stopped");
                    Some((Err(std::io::Error::other(err.to_string())), (Step::Done, db, dataset)))
                }
            },
        }
    })
    // Fused: the compression layer polls its body once more after the end, and an
    // unfused `Unfold` panics when polled again after returning `None`.
    .fuse()
    .boxed()
}

/// Pages are read here and written by a blocking worker into a spreadsheet kept on
/// disk (constant memory), returned as an unnamed temporary file at its start.
async fn xlsx_file(db: DatabaseConnection, org: OrgId, dataset: Dataset, tr: Locale) -> AppResult<std::fs::File> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Vec<Cell>>>(2);
    let headers = dataset.headers(tr);
    let writer = tokio::task::spawn_blocking(move || -> Result<std::fs::File, String> {
        use rust_xlsxwriter::{Format as XlsxFormat, Workbook};
        let mut workbook = Workbook::new();
        let bold = XlsxFormat::new().set_bold();
        let formats = tabular::XlsxFormats::new();
        let sheet = workbook.add_worksheet_with_constant_memory().map_err(|e| e.to_string())?;
        for (col, title) in headers.iter().enumerate() {
            let col = u16::try_from(col).map_err(|e| e.to_string())?;
            sheet.write_string_with_format(0, col, title, &bold).map_err(|e| e.to_string())?;
            sheet.set_column_width(col, 16).map_err(|e| e.to_string())?;
        }
        let mut row_number: u32 = 1;
        while let Some(rows) = rx.blocking_recv() {
            for row in rows {
                tabular::write_row(sheet, row_number, row, &formats)?;
                row_number = row_number.saturating_add(1);
            }
        }
        let mut file = tempfile::tempfile().map_err(|e| e.to_string())?;
        workbook.save_to_writer(&mut file).map_err(|e| e.to_string())?;
        file.rewind().map_err(|e| e.to_string())?;
        Ok(file)
    });
    let mut after = None;
    loop {
        let (rows, next) = dataset.page(&db, org, after, tr).await?;
        if tx.send(rows).await.is_err() {
            break;
        }
        match next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    drop(tx);
    writer
        .await
        .map_err(|e| AppError::Internal(format!("XLSX writer stopped: {e}")))?
        .map_err(|e| AppError::Internal(format!("XLSX: {e}")))
}
