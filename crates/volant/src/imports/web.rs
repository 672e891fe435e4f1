//! The import pages: the imports and a form to upload a file; an import's page
//! with, as it goes, its columns to map (each with the file's first values),
//! its progress (followed while a job works on it), the check's or the
//! import's report row by row, and the buttons to import and to undo.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{DefaultBodyLimit, Query};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::service::{self, Import, MappingInput, Phase, RowResult};
use super::{ImportKind, ImportStatus};
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::platform::http::extract::{FormBody, FormWithFiles, Id, UPLOAD_LIMIT};
use crate::platform::i18n;
use crate::platform::import::DateOrder;
use crate::platform::web::{FormErrors, PageCtx, SelectOption, WebResult, redirect_with_flash, unprocessable};

/// Rows of the report a page shows.
const REPORT_PAGE: u64 = 100;

pub fn routes() -> Routes {
    vec![
        ("/imports", get(index).post(upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT))),
        ("/imports/{id}", get(show)),
        ("/imports/{id}/progress", get(progress)),
        ("/imports/{id}/check", post(check)),
        ("/imports/{id}/start", post(start)),
        ("/imports/{id}/undo", post(undo)),
    ]
}

/// An import as the list shows it.
pub struct ImportRow {
    pub import: Import,
    pub kind: String,
    pub status: String,
    pub when: String,
}

fn status_class(status: ImportStatus) -> &'static str {
    match status {
        ImportStatus::Imported | ImportStatus::Checked => "badge-accepted",
        ImportStatus::Failed => "badge-rejected",
        ImportStatus::Undone => "badge-expired",
        _ => "badge-sent",
    }
}

fn row_of(import: Import) -> ImportRow {
    let tr = i18n::current();
    ImportRow {
        kind: tr.text(import.kind.label_key()).to_owned(),
        status: tr.text(import.status.label_key()).to_owned(),
        when: i18n::local_date_time(import.created_at),
        import,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "imports/index.html")]
struct IndexPage {
    page: PageCtx,
    imports: Vec<ImportRow>,
    kinds: Vec<SelectOption>,
    vehicle: String,
    errors: FormErrors,
}

fn kinds(page: &PageCtx, chosen: Option<ImportKind>) -> Vec<SelectOption> {
    let tr = i18n::current();
    ImportKind::ALL
        .into_iter()
        .filter(|k| page.may(k.permission()))
        .map(|k| option(k.as_str(), tr.text(k.label_key()), chosen == Some(k)))
        .collect()
}

async fn index_page(
    caller: &Caller,
    page: PageCtx,
    (chosen, vehicle): (Option<ImportKind>, String),
    errors: FormErrors,
) -> WebResult<IndexPage> {
    let imports = service::list(&caller.db, caller.org)
        .await?
        .into_iter()
        .filter(|i| super::api::may_import(caller, i.kind).is_ok())
        .map(row_of)
        .collect();
    let kinds = kinds(&page, chosen);
    Ok(IndexPage { page, imports, kinds, vehicle, errors })
}

async fn index(caller: Caller, page: PageCtx) -> WebResult<IndexPage> {
    index_page(&caller, page, (None, String::new()), FormErrors::default()).await
}

#[derive(Deserialize)]
struct UploadFields {
    kind: Option<String>,
    vehicle: Option<String>,
}

async fn upload(caller: Caller, page: PageCtx, mut form: FormWithFiles<UploadFields>) -> WebResult<Response> {
    let kind = form.form.kind.as_deref().and_then(ImportKind::parse);
    let file = form.take_files("file").into_iter().next();
    let (name, bytes) = file.map(|f| (f.name, f.bytes)).unwrap_or_default();
    let uploaded = match kind {
        Some(kind) => match super::api::may_import(&caller, kind) {
            Ok(()) => {
                let target = (name, form.form.vehicle.as_deref());
                service::upload(
                    &caller.db,
                    (caller.files.as_ref(), caller.cipher.as_ref()),
                    &caller.actor,
                    kind,
                    target,
                    bytes,
                )
                .await
            }
            Err(err) => Err(err),
        },
        None => Err(crate::platform::error::AppError::validation(
            "kind",
            crate::platform::i18n::Msg::new("import.kind_unknown"),
        )),
    };
    match uploaded {
        Ok(import) => Ok(redirect_with_flash(
            &format!("/imports/{}", import.id),
            "success",
            i18n::current().text("import.uploaded"),
        )),
        Err(err) => {
            let errors = FormErrors::from_app_error(err)?;
            let vehicle = form.form.vehicle.clone().unwrap_or_default();
            Ok(unprocessable(index_page(&caller, page, (kind, vehicle), errors).await?))
        }
    }
}

/// A field of the mapping form: its select and the value of the first row in the chosen column.
pub struct FieldChoice {
    pub name: String,
    pub label: String,
    pub options: Vec<SelectOption>,
    pub example: String,
}

#[derive(Deserialize)]
struct ReportQuery {
    outcome: Option<String>,
    /// Read leniently: a mistyped link shows the first page.
    after: Option<String>,
}

fn option(value: &str, label: &str, selected: bool) -> SelectOption {
    SelectOption { value: value.to_owned(), label: label.to_owned(), selected }
}

/// A filter of the report, as a tab.
pub struct OutcomeTab {
    pub code: &'static str,
    pub label: String,
    pub count: i64,
    pub current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "imports/show.html")]
struct ShowPage {
    page: PageCtx,
    import: Import,
    kind: String,
    status: String,
    status_class: &'static str,
    fields: Vec<FieldChoice>,
    date_orders: Vec<SelectOption>,
    errors: FormErrors,
    tabs: Vec<OutcomeTab>,
    report: Vec<ReportRow>,
    outcome: String,
    next_after: Option<i64>,
}

/// A row of the report as shown.
pub struct ReportRow {
    pub row: RowResult,
    pub outcome: String,
    pub class: &'static str,
}

fn report_row(row: RowResult) -> ReportRow {
    let tr = i18n::current();
    let class = match row.outcome.as_str() {
        "created" | "updated" => "badge-accepted",
        "refused" => "badge-rejected",
        _ => "badge-expired",
    };
    ReportRow { outcome: tr.text(&format!("import.outcome.{}", row.outcome)).to_owned(), class, row }
}

fn date_orders(chosen: DateOrder) -> Vec<SelectOption> {
    let tr = i18n::current();
    [
        (DateOrder::DayFirst, "day_first", "import.day_first"),
        (DateOrder::MonthFirst, "month_first", "import.month_first"),
    ]
    .into_iter()
    .map(|(order, code, label)| option(code, tr.text(label), order == chosen))
    .collect()
}

fn field_choices(import: &Import, chosen: Option<&MappingInput>) -> Vec<FieldChoice> {
    let tr = i18n::current();
    let first = import.sample.first();
    import
        .mapping
        .iter()
        .map(|f| {
            let column = match chosen {
                Some(input) => input.mapping.get(&f.field).copied(),
                None => f.column,
            };
            let mut options = vec![option("", tr.text("import.not_imported"), column.is_none())];
            options.extend(import.headers.iter().enumerate().map(|(i, header)| {
                let label = if header.trim().is_empty() {
                    tr.format("import.column_n", &[("n", &(i + 1).to_string())])
                } else {
                    header.clone()
                };
                option(&i.to_string(), &label, column == Some(i))
            }));
            let example = column.and_then(|c| first.and_then(|row| row.get(c))).cloned().unwrap_or_default();
            FieldChoice { name: format!("map_{}", f.field), label: f.label.clone(), options, example }
        })
        .collect()
}

async fn show_page(
    caller: &Caller,
    page: PageCtx,
    id: i64,
    query: ReportQuery,
    chosen: Option<&MappingInput>,
    errors: FormErrors,
) -> WebResult<ShowPage> {
    let import = super::api::import_of(caller, id).await?;
    let tr = i18n::current();
    let phase = match import.status {
        ImportStatus::Imported | ImportStatus::Importing | ImportStatus::Undoing | ImportStatus::Undone => {
            Phase::Import
        }
        _ => Phase::Check,
    };
    let outcome = query.outcome.filter(|o| ["created", "updated", "unchanged", "refused"].contains(&o.as_str()));
    let shows_report = matches!(import.status, ImportStatus::Checked | ImportStatus::Imported | ImportStatus::Undone)
        || (import.status == ImportStatus::Failed && import.processed_rows > 0);
    let (report, next_after) = if shows_report {
        let rows = service::results(
            &caller.db,
            caller.org,
            id,
            phase,
            outcome.as_deref(),
            query.after.and_then(|a| a.parse().ok()).unwrap_or(0),
            REPORT_PAGE,
        )
        .await?;
        let next = (rows.len() as u64 == REPORT_PAGE).then(|| rows.last().map(|r| r.line)).flatten();
        (rows.into_iter().map(report_row).collect(), next)
    } else {
        (Vec::new(), None)
    };
    let tab = |code: &'static str, count: i64| OutcomeTab {
        code,
        label: tr.text(&format!("import.tab.{code}")).to_owned(),
        count,
        current: outcome.as_deref() == Some(code) || (code == "all" && outcome.is_none()),
    };
    let tabs = vec![
        tab("all", import.processed_rows),
        tab("refused", import.refused_rows),
        tab("created", import.created_rows),
        tab("updated", import.updated_rows),
        tab("unchanged", import.unchanged_rows),
    ];
    Ok(ShowPage {
        kind: tr.text(import.kind.label_key()).to_owned(),
        status: tr.text(import.status.label_key()).to_owned(),
        status_class: status_class(import.status),
        fields: field_choices(&import, chosen),
        date_orders: date_orders(chosen.and_then(|c| c.date_order).unwrap_or(import.date_order)),
        errors,
        tabs,
        report,
        outcome: outcome.unwrap_or_default(),
        next_after,
        page,
        import,
    })
}

async fn show(caller: Caller, page: PageCtx, Id(id): Id, Query(query): Query<ReportQuery>) -> WebResult<ShowPage> {
    show_page(&caller, page, id, query, None, FormErrors::default()).await
}

#[derive(Template, WebTemplate)]
#[template(path = "imports/_progress.html")]
struct ProgressFragment {
    page: PageCtx,
    import: Import,
}

/// The progress bar, polled while a job works; once it is done, the page reloads.
async fn progress(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<Response> {
    let import = super::api::import_of(&caller, id).await?;
    let done = !import.status.is_running();
    let mut response = ProgressFragment { page, import }.into_response();
    if done {
        response.headers_mut().insert("HX-Refresh", HeaderValue::from_static("true"));
    }
    Ok(response)
}

async fn check(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> WebResult<Response> {
    let kind = super::api::import_of(&caller, id).await?.kind;
    let mut input = MappingInput::default();
    for (key, value) in pairs {
        if key == "date_order" {
            input.date_order = serde_json::from_value(serde_json::Value::String(value)).ok();
        } else if let (Some(field), Ok(column)) = (key.strip_prefix("map_"), value.parse::<usize>()) {
            input.mapping.insert(field.to_owned(), column);
        }
    }
    super::api::may_map(&caller, kind, &input)?;
    match service::check(&caller.db, &caller.actor, id, &input).await {
        Ok(_) => {
            Ok(redirect_with_flash(&format!("/imports/{id}"), "success", i18n::current().text("import.check_queued")))
        }
        Err(err @ crate::platform::error::AppError::Conflict { .. }) => {
            Ok(redirect_with_flash(&format!("/imports/{id}"), "error", &err.detail(i18n::current())))
        }
        Err(err) => {
            let mut errors = FormErrors::from_app_error(err)?;
            for field in kind.fields() {
                errors = errors.renamed(field.key, &format!("map_{}", field.key));
            }
            let query = ReportQuery { outcome: None, after: None };
            Ok(unprocessable(show_page(&caller, page, id, query, Some(&input), errors).await?))
        }
    }
}

async fn start(caller: Caller, Id(id): Id) -> WebResult<Response> {
    super::api::may_run(&caller, &super::api::import_of(&caller, id).await?)?;
    match service::start(&caller.db, &caller.actor, id).await {
        Ok(_) => {
            Ok(redirect_with_flash(&format!("/imports/{id}"), "success", i18n::current().text("import.import_queued")))
        }
        Err(err @ crate::platform::error::AppError::Conflict { .. }) => {
            Ok(redirect_with_flash(&format!("/imports/{id}"), "error", &err.detail(i18n::current())))
        }
        Err(err) => Err(err.into()),
    }
}

async fn undo(caller: Caller, Id(id): Id) -> WebResult<Response> {
    super::api::may_run(&caller, &super::api::import_of(&caller, id).await?)?;
    match service::undo(&caller.db, &caller.actor, id).await {
        Ok(_) => {
            Ok(redirect_with_flash(&format!("/imports/{id}"), "success", i18n::current().text("import.undo_queued")))
        }
        Err(err @ crate::platform::error::AppError::Conflict { .. }) => {
            Ok(redirect_with_flash(&format!("/imports/{id}"), "error", &err.detail(i18n::current())))
        }
        Err(err) => Err(err.into()),
    }
}
