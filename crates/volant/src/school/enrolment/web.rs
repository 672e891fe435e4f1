//! The pages of a candidate's administration: the file and its checklist, the
//! initial evaluation, the training contract (drafted, signed on screen or on
//! paper, amended, ended), the incomplete files at a glance, and the candidate's
//! own view of their contract in their space.

use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use axum::routing::{get, post};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::service::{
    self as enrolment, AmendmentInput, CandidateFile, Contract, ContractInput, ContractStatus, EndInput, EndReason,
    Evaluation, EvaluationInput, FileInput, FundingInput, FundingSource, IncompleteFile, Piece, RoadSafety, SignInput,
    SignatureMethod, Signer,
};
use crate::documents::model::{DocumentKind, Owner, OwnerKind};
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::identity::roles::Permission;
use crate::platform::error::AppError;
use crate::platform::http::extract::{FormBody, Id};
use crate::platform::http::respond::pdf_response;
use crate::platform::i18n::{self, Msg};
use crate::platform::web::{
    FormErrors, PageCtx, SelectOption, WebResult, form_flow, id_options, redirect_with_flash, refusal_to_flash,
};
use crate::school::access::Viewer;
use crate::school::candidates::service::{self as candidates, Candidate};
use crate::school::instructors::service as instructors;
use crate::school::model::CATEGORIES;
use crate::school::packs::service as packs;
use crate::school::planning::service::format_duration;

/// A value a template hands over as itself or behind references (askama
/// borrows fields it passes to functions, and `if let` binds references).
pub trait Plain<T> {
    fn plain(&self) -> T;
}

impl Plain<chrono::NaiveDate> for chrono::NaiveDate {
    fn plain(&self) -> chrono::NaiveDate {
        *self
    }
}

impl Plain<i32> for i32 {
    fn plain(&self) -> i32 {
        *self
    }
}

impl Plain<chrono::DateTime<chrono::Utc>> for chrono::DateTime<chrono::Utc> {
    fn plain(&self) -> chrono::DateTime<chrono::Utc> {
        *self
    }
}

impl<T, X: Plain<T> + ?Sized> Plain<T> for &X {
    fn plain(&self) -> T {
        (**self).plain()
    }
}

/// A day as the pages write it.
pub fn day(d: impl Plain<chrono::NaiveDate>) -> String {
    i18n::date(d.plain())
}

/// Minutes as hours (`25 h 30`).
pub fn duration(m: impl Plain<i32>) -> String {
    format_duration(m.plain())
}

/// An instant in the school's time zone: its day and time.
pub fn when(t: impl Plain<chrono::DateTime<chrono::Utc>>) -> String {
    let t = t.plain();
    format!("{} {}", i18n::local_date(t), i18n::local_time(t, "%H:%M"))
}

pub fn routes() -> Routes {
    vec![
        ("/school/files", get(files_page)),
        ("/school/candidates/{id}/file", get(file_form).post(save_file)),
        ("/school/candidates/{id}/evaluation", get(evaluation_form).post(save_evaluation)),
        ("/school/candidates/{id}/contract", get(new_contract_form).post(create_contract)),
        ("/school/candidates/{id}/learning-record.pdf", get(record_pdf)),
        ("/school/contracts/{id}", get(contract_page)),
        ("/school/contracts/{id}/edit", get(edit_contract_form).post(update_contract)),
        ("/school/contracts/{id}/delete", post(delete_contract)),
        ("/school/contracts/{id}/sign", post(sign_contract)),
        ("/school/contracts/{id}/end", post(end_contract)),
        ("/school/contracts/{id}/amendments", post(amend)),
        ("/school/amendments/{id}/sign", post(sign_amendment)),
        ("/school/amendments/{id}/delete", post(delete_amendment)),
        ("/school/contracts/{id}/contract.pdf", get(staff_pdf)),
    ]
}

/// The candidate's own contract: read it, download it, sign it on screen.
pub fn portal_routes() -> Routes {
    vec![
        ("/portal/contracts/{id}", get(portal_contract).post(portal_sign)),
        ("/portal/contracts/{id}/contract.pdf", get(portal_pdf)),
    ]
}

/// The contract's PDF file: its name and bytes.
pub(crate) async fn contract_file(caller: &Caller, id: i64) -> Result<(String, Vec<u8>), AppError> {
    let contract = enrolment::get_contract(&caller.db, &caller.cipher, caller.org, id).await?;
    let organization = crate::identity::organizations::service::get(&caller.db, caller.org).await?;
    let (tr, zone) = (organization.locale, organization.zone()?);
    let name = format!("contrat-{}.pdf", contract.number.replace('/', "-"));
    let bytes = crate::platform::pdf::render_off_runtime(move || super::pdf::contract(&contract, tr, zone)).await?;
    Ok((name, bytes))
}

// ---------------------------------------------------------------- the file on the candidate's page

/// The file's summary on the candidate's page: checklist, steps, evaluation, contract.
pub struct Summary {
    pub file: CandidateFile,
    pub pieces: Vec<(String, bool, bool, Option<i64>)>,
    pub steps: Vec<(String, String)>,
    pub guardian: Option<String>,
    pub evaluation: Option<Evaluation>,
    pub forecast: String,
    pub contract: Option<Contract>,
    pub contract_status: String,
    /// No contract under way: a new one may be drafted.
    pub can_draft: bool,
}

pub async fn summary(caller: &Caller, tr: &i18n::Tr, candidate_id: i64) -> Result<Summary, AppError> {
    let file = enrolment::get_file(&caller.db, &caller.cipher, caller.org, candidate_id).await?;
    let evaluation = enrolment::evaluations(&caller.db, caller.org, candidate_id).await?.into_iter().next();
    let contract = enrolment::latest_contract(&caller.db, &caller.cipher, caller.org, candidate_id).await?;
    let pieces = file
        .checklist
        .iter()
        .filter(|i| i.required || i.done)
        .map(|i| (tr.t(i.piece.label_key()).to_owned(), i.required, i.done, i.document_id))
        .collect();
    let s = &file.steps;
    let steps = [
        ("enrolment.step.file_submitted", s.file_submitted_on),
        ("enrolment.step.neph_received", s.neph_received_on),
        ("enrolment.step.theory_booked", s.theory_booked_on),
        ("enrolment.step.theory_passed", s.theory_passed_on),
        ("enrolment.step.practical_booked", s.practical_booked_on),
        ("enrolment.step.practical_passed", s.practical_passed_on),
    ]
    .into_iter()
    .map(|(key, day)| (tr.t(key).to_owned(), day.map_or_else(|| "—".to_owned(), i18n::date)))
    .collect();
    let guardian = file.guardian.as_ref().map(|g| {
        let contact = [g.email.clone(), g.phone.clone()].into_iter().flatten().collect::<Vec<_>>().join(" · ");
        format!("{} {}", g.name, if contact.is_empty() { String::new() } else { format!("({contact})") })
    });
    Ok(Summary {
        forecast: evaluation.as_ref().map(|e| format_duration(e.forecast_minutes)).unwrap_or_default(),
        contract_status: contract.as_ref().map(|c| tr.t(c.status.label_key()).to_owned()).unwrap_or_default(),
        can_draft: contract.as_ref().is_none_or(|c| c.status == ContractStatus::Ended),
        file,
        pieces,
        steps,
        guardian,
        evaluation,
        contract,
    })
}

// ---------------------------------------------------------------- incomplete files

#[derive(Template, WebTemplate)]
#[template(path = "school/enrolment/files.html")]
struct FilesPage {
    page: PageCtx,
    rows: Vec<(IncompleteFile, String)>,
}

async fn files_page(caller: Caller, page: PageCtx) -> WebResult<FilesPage> {
    let tr = page.tr;
    let rows = enrolment::incomplete(&caller.db, &caller.cipher, caller.org)
        .await?
        .into_iter()
        .map(|f| {
            let missing = f.missing.iter().map(|p| tr.t(p.label_key())).collect::<Vec<_>>().join(", ");
            (f, missing)
        })
        .collect();
    Ok(FilesPage { page, rows })
}

// ---------------------------------------------------------------- the file's form

#[derive(Debug, Clone, Default)]
struct FileForm {
    neph: String,
    categories_held: Vec<String>,
    road_safety: String,
    ephoto_code: String,
    medical_required: Option<String>,
    guardian_name: String,
    guardian_email: String,
    guardian_phone: String,
    guardian_consent_on: String,
    file_submitted_on: String,
    neph_received_on: String,
    theory_booked_on: String,
    theory_passed_on: String,
    practical_booked_on: String,
    practical_passed_on: String,
}

fn text(value: &str) -> Option<String> {
    Some(value.trim().to_owned()).filter(|v| !v.is_empty())
}

fn day_text(day: Option<chrono::NaiveDate>) -> String {
    day.map(|d| d.to_string()).unwrap_or_default()
}

impl FileForm {
    /// The form as posted: `categories_held` once per box ticked.
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = Self::default();
        for (key, value) in pairs {
            let slot = match key.as_str() {
                "categories_held" => {
                    form.categories_held.push(value);
                    continue;
                }
                "medical_required" => {
                    form.medical_required = Some(value);
                    continue;
                }
                "neph" => &mut form.neph,
                "road_safety" => &mut form.road_safety,
                "ephoto_code" => &mut form.ephoto_code,
                "guardian_name" => &mut form.guardian_name,
                "guardian_email" => &mut form.guardian_email,
                "guardian_phone" => &mut form.guardian_phone,
                "guardian_consent_on" => &mut form.guardian_consent_on,
                "file_submitted_on" => &mut form.file_submitted_on,
                "neph_received_on" => &mut form.neph_received_on,
                "theory_booked_on" => &mut form.theory_booked_on,
                "theory_passed_on" => &mut form.theory_passed_on,
                "practical_booked_on" => &mut form.practical_booked_on,
                "practical_passed_on" => &mut form.practical_passed_on,
                _ => continue,
            };
            *slot = value;
        }
        form
    }

    fn of(f: &CandidateFile) -> Self {
        let g = f.guardian.as_ref();
        Self {
            neph: f.neph.clone().unwrap_or_default(),
            categories_held: f.categories_held.clone(),
            road_safety: f.road_safety.map(|r| r.as_str().to_owned()).unwrap_or_default(),
            ephoto_code: f.ephoto_code.clone().unwrap_or_default(),
            medical_required: f.medical_required.then(String::new),
            guardian_name: g.map(|g| g.name.clone()).unwrap_or_default(),
            guardian_email: g.and_then(|g| g.email.clone()).unwrap_or_default(),
            guardian_phone: g.and_then(|g| g.phone.clone()).unwrap_or_default(),
            guardian_consent_on: day_text(g.and_then(|g| g.consent_on)),
            file_submitted_on: day_text(f.steps.file_submitted_on),
            neph_received_on: day_text(f.steps.neph_received_on),
            theory_booked_on: day_text(f.steps.theory_booked_on),
            theory_passed_on: day_text(f.steps.theory_passed_on),
            practical_booked_on: day_text(f.steps.practical_booked_on),
            practical_passed_on: day_text(f.steps.practical_passed_on),
        }
    }

    fn to_input(&self) -> Result<FileInput, FormErrors> {
        let mut errors = FormErrors::default();
        let mut day = |field: &str, raw: &str| errors.read_date(field, raw);
        let steps = enrolment::AntsSteps {
            file_submitted_on: day("file_submitted_on", &self.file_submitted_on),
            neph_received_on: day("neph_received_on", &self.neph_received_on),
            theory_booked_on: day("theory_booked_on", &self.theory_booked_on),
            theory_passed_on: day("theory_passed_on", &self.theory_passed_on),
            practical_booked_on: day("practical_booked_on", &self.practical_booked_on),
            practical_passed_on: day("practical_passed_on", &self.practical_passed_on),
        };
        let guardian_consent_on = day("guardian_consent_on", &self.guardian_consent_on);
        let input = FileInput {
            neph: text(&self.neph),
            categories_held: self.categories_held.clone(),
            road_safety: RoadSafety::parse(&self.road_safety),
            ephoto_code: text(&self.ephoto_code),
            medical_required: self.medical_required.is_some(),
            guardian_name: text(&self.guardian_name),
            guardian_email: text(&self.guardian_email),
            guardian_phone: text(&self.guardian_phone),
            guardian_consent_on,
            steps,
        };
        if errors.is_empty() { Ok(input) } else { Err(errors) }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "school/enrolment/file_form.html")]
struct FileFormPage {
    page: PageCtx,
    candidate: Candidate,
    minor: bool,
    form: FileForm,
    categories: &'static [&'static str],
    road_safety: Vec<SelectOption>,
    errors: FormErrors,
}

fn road_safety_options(tr: &i18n::Tr, selected: &str) -> Vec<SelectOption> {
    crate::platform::web::options(
        Some("—"),
        selected,
        RoadSafety::ALL.iter().map(|r| (r.as_str().to_owned(), tr.t(r.label_key()).to_owned())),
    )
}

async fn file_form(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<FileFormPage> {
    let candidate = candidates::get(&caller.db, &caller.cipher, caller.org, id).await?;
    let file = enrolment::get_file(&caller.db, &caller.cipher, caller.org, id).await?;
    let form = FileForm::of(&file);
    Ok(FileFormPage {
        road_safety: road_safety_options(&page.tr, &form.road_safety),
        page,
        candidate,
        minor: file.minor,
        form,
        categories: CATEGORIES,
        errors: FormErrors::default(),
    })
}

async fn save_file(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> WebResult<Response> {
    let form = FileForm::from_pairs(pairs);
    let candidate = candidates::get(&caller.db, &caller.cipher, caller.org, id).await?;
    let result = match form.to_input() {
        Ok(input) => enrolment::update_file(&caller.db, &caller.cipher, &caller.actor, id, &input).await,
        Err(errors) => {
            let road_safety = road_safety_options(&page.tr, &form.road_safety);
            let page =
                FileFormPage { page, candidate, minor: false, form, categories: CATEGORIES, road_safety, errors };
            return Ok(crate::platform::web::unprocessable(page));
        }
    };
    let done = |_| {
        redirect_with_flash(&format!("/school/candidates/{id}"), "success", i18n::current().text("enrolment.saved"))
    };
    form_flow(result, done, async |errors| {
        let road_safety = road_safety_options(&page.tr, &form.road_safety);
        Ok(FileFormPage { page, candidate, minor: false, form, categories: CATEGORIES, road_safety, errors })
    })
    .await
}

// ---------------------------------------------------------------- evaluation

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct EvaluationForm {
    evaluated_on: String,
    instructor_id: String,
    result: String,
    forecast_hours: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "school/enrolment/evaluation_form.html")]
struct EvaluationPage {
    page: PageCtx,
    candidate: Candidate,
    instructors: Vec<SelectOption>,
    form: EvaluationForm,
    errors: FormErrors,
}

async fn instructor_options(
    caller: &Caller,
    tr: &i18n::Tr,
    selected: Option<i64>,
) -> Result<Vec<SelectOption>, AppError> {
    let all = instructors::list(&caller.db, caller.org).await?;
    Ok(id_options(Some(tr.t("school.choose")), selected, all.into_iter().map(|i| (i.id, i.full_name()))))
}

async fn evaluation_form(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<EvaluationPage> {
    let candidate = candidates::get(&caller.db, &caller.cipher, caller.org, id).await?;
    let today = crate::identity::organizations::service::today(&caller.db, caller.org).await?;
    let form = EvaluationForm { evaluated_on: today.to_string(), ..EvaluationForm::default() };
    let instructors = instructor_options(&caller, &page.tr, candidate.summary.instructor_id).await?;
    Ok(EvaluationPage { page, candidate, instructors, form, errors: FormErrors::default() })
}

async fn save_evaluation(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    FormBody(form): FormBody<EvaluationForm>,
) -> WebResult<Response> {
    let candidate = candidates::get(&caller.db, &caller.cipher, caller.org, id).await?;
    let mut errors = FormErrors::default();
    let evaluated_on = errors.read_date("evaluated_on", &form.evaluated_on);
    let instructor_id = errors.read_id("instructor_id", &form.instructor_id);
    let forecast = match form.forecast_hours.trim() {
        "" => None,
        raw => match raw.replace(',', ".").parse::<Decimal>().ok().and_then(candidates::hours_to_minutes) {
            Some(m) => Some(m),
            None => {
                errors.add("forecast_minutes", Msg::new("field.not_a_number").render(i18n::current()));
                None
            }
        },
    };
    let result = if errors.is_empty() {
        let input = EvaluationInput {
            evaluated_on,
            instructor_id,
            result: Some(form.result.clone()),
            forecast_minutes: forecast,
        };
        enrolment::evaluate(&caller.db, &caller.actor, id, &input).await
    } else {
        Err(AppError::Validation(Vec::new()))
    };
    let done = |_| {
        redirect_with_flash(&format!("/school/candidates/{id}"), "success", i18n::current().text("evaluation.saved"))
    };
    form_flow(result, done, async |more| {
        errors.extend(more);
        let instructors = instructor_options(&caller, &page.tr, instructor_id).await?;
        Ok(EvaluationPage { page, candidate, instructors, form, errors })
    })
    .await
}

// ---------------------------------------------------------------- contract form

/// Rows of funding sources the form offers (empty ones are left out).
const FUNDING_ROWS: usize = 3;

#[derive(Debug, Clone, Default)]
struct ContractForm {
    pack_id: String,
    instalments: String,
    first_due_on: String,
    source: Vec<String>,
    amount: Vec<String>,
    reference: Vec<String>,
    lender: Vec<String>,
    expected_on: Vec<String>,
}

/// One funding row of the form, as typed.
#[derive(Debug, Clone, Default)]
pub struct FundingRow {
    pub source: Vec<SelectOption>,
    pub amount: String,
    pub reference: String,
    pub lender: String,
    pub expected_on: String,
    /// The row's errors, joined.
    pub error: Option<String>,
}

impl ContractForm {
    /// The form as posted: each funding row's fields once per row, in order.
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "pack_id" => form.pack_id = value,
                "instalments" => form.instalments = value,
                "first_due_on" => form.first_due_on = value,
                "source" => form.source.push(value),
                "amount" => form.amount.push(value),
                "reference" => form.reference.push(value),
                "lender" => form.lender.push(value),
                "expected_on" => form.expected_on.push(value),
                _ => {}
            }
        }
        form
    }

    fn of(c: &Contract) -> Self {
        let f = &c.terms.fundings;
        Self {
            pack_id: c.pack_id.to_string(),
            instalments: c.instalments.to_string(),
            first_due_on: c.first_due_on.to_string(),
            source: f.iter().map(|f| f.source.as_str().to_owned()).collect(),
            amount: f.iter().map(|f| f.amount.to_string().replace('.', ",")).collect(),
            reference: f.iter().map(|f| f.reference.clone().unwrap_or_default()).collect(),
            lender: f.iter().map(|f| f.lender.clone().unwrap_or_default()).collect(),
            expected_on: f.iter().map(|f| day_text(f.expected_on)).collect(),
        }
    }

    fn rows(&self, tr: &i18n::Tr, errors: &FormErrors) -> Vec<FundingRow> {
        let at = |v: &Vec<String>, i: usize| v.get(i).cloned().unwrap_or_default();
        (0..FUNDING_ROWS.max(self.source.len()))
            .map(|i| FundingRow {
                source: crate::platform::web::options(
                    Some("—"),
                    &at(&self.source, i),
                    FundingSource::ALL.iter().map(|s| (s.as_str().to_owned(), tr.t(s.label_key()).to_owned())),
                ),
                amount: at(&self.amount, i),
                reference: at(&self.reference, i),
                lender: at(&self.lender, i),
                expected_on: at(&self.expected_on, i),
                error: errors.messages_with_prefix(&format!("fundings[{i}]")),
            })
            .collect()
    }

    fn to_input(&self) -> Result<ContractInput, FormErrors> {
        let mut errors = FormErrors::default();
        let pack_id = errors.read_id("pack_id", &self.pack_id);
        let instalments = self.instalments.trim().parse::<u32>().ok();
        let first_due_on = errors.read_date("first_due_on", &self.first_due_on);
        let mut fundings = Vec::new();
        let at = |v: &Vec<String>, i: usize| v.get(i).map(|s| s.trim().to_owned()).unwrap_or_default();
        for i in 0..self.source.len() {
            let (source, amount) = (at(&self.source, i), at(&self.amount, i));
            if source.is_empty() && amount.is_empty() {
                continue;
            }
            let index = fundings.len();
            let amount = match amount.replace(',', ".").replace(' ', "").parse::<Decimal>() {
                Ok(a) => Some(a),
                Err(_) => {
                    errors.add(
                        &format!("fundings[{index}].amount"),
                        Msg::new("field.not_a_number").render(i18n::current()),
                    );
                    None
                }
            };
            let expected_on = errors.read_date(&format!("fundings[{index}].expected_on"), &at(&self.expected_on, i));
            fundings.push(FundingInput {
                source: FundingSource::parse(&source),
                amount,
                reference: text(&at(&self.reference, i)),
                lender: text(&at(&self.lender, i)),
                expected_on,
            });
        }
        let input = ContractInput { evaluation_id: None, pack_id, instalments, first_due_on, fundings };
        if errors.is_empty() { Ok(input) } else { Err(errors) }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "school/enrolment/contract_form.html")]
struct ContractFormPage {
    page: PageCtx,
    candidate: Candidate,
    action: String,
    evaluation: Option<Evaluation>,
    packs: Vec<SelectOption>,
    instalments: Vec<SelectOption>,
    form: ContractForm,
    rows: Vec<FundingRow>,
    errors: FormErrors,
}

async fn contract_form_page(
    caller: &Caller,
    page: PageCtx,
    candidate_id: i64,
    action: String,
    form: ContractForm,
    errors: FormErrors,
) -> Result<ContractFormPage, AppError> {
    let candidate = candidates::get(&caller.db, &caller.cipher, caller.org, candidate_id).await?;
    let evaluation = enrolment::evaluations(&caller.db, caller.org, candidate_id).await?.into_iter().next();
    let on_sale = packs::list(&caller.db, caller.org, true).await?;
    let selected = form.pack_id.trim().parse().ok();
    let packs = id_options(
        Some(page.tr.t("school.choose")),
        selected,
        on_sale.into_iter().map(|p| {
            let label = format!(
                "{} — {} ({})",
                p.name,
                p.currency.format(p.price_incl_tax),
                format_duration(p.driving_minutes)
            );
            (p.id, label)
        }),
    );
    let instalments = crate::platform::web::options(
        None,
        if form.instalments.is_empty() { "1" } else { form.instalments.trim() },
        (1..=12).map(|n| (n.to_string(), n.to_string())),
    );
    let rows = form.rows(&page.tr, &errors);
    Ok(ContractFormPage { page, candidate, action, evaluation, packs, instalments, form, rows, errors })
}

async fn new_contract_form(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<ContractFormPage> {
    let today = crate::identity::organizations::service::today(&caller.db, caller.org).await?;
    let form = ContractForm { first_due_on: today.to_string(), instalments: "1".to_owned(), ..ContractForm::default() };
    Ok(contract_form_page(&caller, page, id, format!("/school/candidates/{id}/contract"), form, FormErrors::default())
        .await?)
}

/// A refusal that names no field (another contract under way, no evaluation) goes
/// back to the candidate's page as a flash; field errors stay on the form.
fn field_or_flash<T>(result: Result<T, AppError>, back: &str) -> Result<Result<T, AppError>, Box<WebResult<Response>>> {
    match result {
        Err(err @ AppError::Conflict { field: None, .. }) => Err(Box::new(refusal_to_flash(back, err))),
        other => Ok(other),
    }
}

async fn create_contract(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> WebResult<Response> {
    let form = ContractForm::from_pairs(pairs);
    let result = match form.to_input() {
        Ok(input) => enrolment::draft(&caller.db, &caller.cipher, &caller.actor, id, &input).await,
        Err(errors) => {
            let action = format!("/school/candidates/{id}/contract");
            return Ok(crate::platform::web::unprocessable(
                contract_form_page(&caller, page, id, action, form, errors).await?,
            ));
        }
    };
    let result = match field_or_flash(result, &format!("/school/candidates/{id}")) {
        Ok(result) => result,
        Err(flash) => return *flash,
    };
    let done = |c: Contract| {
        let message = i18n::current().format("contract.drafted", &[("number", &c.number)]);
        redirect_with_flash(&format!("/school/contracts/{}", c.id), "success", &message)
    };
    let action = format!("/school/candidates/{id}/contract");
    form_flow(result, done, async |errors| contract_form_page(&caller, page, id, action, form, errors).await).await
}

async fn edit_contract_form(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<ContractFormPage> {
    let contract = enrolment::get_contract(&caller.db, &caller.cipher, caller.org, id).await?;
    let form = ContractForm::of(&contract);
    let action = format!("/school/contracts/{id}/edit");
    Ok(contract_form_page(&caller, page, contract.candidate_id, action, form, FormErrors::default()).await?)
}

async fn update_contract(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> WebResult<Response> {
    let form = ContractForm::from_pairs(pairs);
    let candidate_id = enrolment::candidate_of_contract(&caller.db, caller.org, id).await?;
    let action = format!("/school/contracts/{id}/edit");
    let result = match form.to_input() {
        Ok(input) => enrolment::update_draft(&caller.db, &caller.cipher, &caller.actor, id, &input).await,
        Err(errors) => {
            let page = contract_form_page(&caller, page, candidate_id, action, form, errors).await?;
            return Ok(crate::platform::web::unprocessable(page));
        }
    };
    let result = match field_or_flash(result, &format!("/school/contracts/{id}")) {
        Ok(result) => result,
        Err(flash) => return *flash,
    };
    let done = |c: Contract| {
        let message = i18n::current().format("contract.updated", &[("number", &c.number)]);
        redirect_with_flash(&format!("/school/contracts/{id}"), "success", &message)
    };
    form_flow(result, done, async |errors| contract_form_page(&caller, page, candidate_id, action, form, errors).await)
        .await
}

async fn delete_contract(caller: Caller, Id(id): Id) -> WebResult<Response> {
    let candidate_id = enrolment::candidate_of_contract(&caller.db, caller.org, id).await?;
    match enrolment::delete_draft(&caller.db, &caller.actor, id).await {
        Ok(()) => Ok(redirect_with_flash(
            &format!("/school/candidates/{candidate_id}"),
            "success",
            i18n::current().text("contract.deleted"),
        )),
        Err(err) => refusal_to_flash(&format!("/school/contracts/{id}"), err),
    }
}

// ---------------------------------------------------------------- the contract's page

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct SignForm {
    method: String,
    candidate_signer: String,
    guardian_signer: String,
    accepted: Option<String>,
    document_id: String,
    terms_digest: String,
}

impl SignForm {
    fn to_input(&self) -> SignInput {
        SignInput {
            method: SignatureMethod::parse(&self.method),
            candidate_signer: text(&self.candidate_signer),
            guardian_signer: text(&self.guardian_signer),
            accepted: self.accepted.is_some(),
            document_id: self.document_id.trim().parse().ok(),
            terms_digest: text(&self.terms_digest),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "school/enrolment/contract.html")]
struct ContractPage {
    page: PageCtx,
    c: Contract,
    candidate: Candidate,
    status: String,
    /// The candidate's paper scans, for a signature on paper.
    scans: Vec<SelectOption>,
    form: SignForm,
    errors: FormErrors,
    /// Which form the errors belong to: `sign`, `amendment-{id}`, `amend`, `end`.
    errors_for: String,
    end_reasons: Vec<SelectOption>,
    packs: Vec<SelectOption>,
    /// The person signs in their own space.
    portal: bool,
    needs_guardian: bool,
    /// Where the contract's signature form posts.
    sign_action: String,
}

impl ContractPage {
    fn money(&self, amount: &Decimal) -> String {
        self.c.terms.currency.format(*amount)
    }
}

async fn contract_view(
    caller: &Caller,
    page: PageCtx,
    id: i64,
    form: SignForm,
    errors: FormErrors,
    errors_for: &str,
    portal: bool,
) -> Result<ContractPage, AppError> {
    let c = enrolment::get_contract(&caller.db, &caller.cipher, caller.org, id).await?;
    let candidate = candidates::get(&caller.db, &caller.cipher, caller.org, c.candidate_id).await?;
    let owner = Owner { kind: OwnerKind::Candidate, id: c.candidate_id };
    let scans = crate::documents::service::list(&caller.db, caller.org, owner)
        .await?
        .into_iter()
        .filter(|d| d.kind == DocumentKind::TrainingContract)
        .map(|d| (d.id, d.title));
    let scans = id_options(Some(page.tr.t("school.choose")), form.document_id.trim().parse().ok(), scans);
    let file = enrolment::get_file(&caller.db, &caller.cipher, caller.org, c.candidate_id).await?;
    let end_reasons = crate::platform::web::options(
        None,
        "",
        EndReason::ALL.iter().map(|r| (r.as_str().to_owned(), page.tr.t(r.label_key()).to_owned())),
    );
    let packs = id_options(
        Some("—"),
        None,
        packs::list(&caller.db, caller.org, true).await?.into_iter().map(|p| (p.id, p.name)),
    );
    let sign_action = match portal {
        true => format!("/portal/contracts/{id}"),
        false => format!("/school/contracts/{id}/sign"),
    };
    Ok(ContractPage {
        sign_action,
        status: page.tr.t(c.status.label_key()).to_owned(),
        needs_guardian: file.minor || file.guardian.is_some(),
        page,
        c,
        candidate,
        scans,
        form,
        errors,
        errors_for: errors_for.to_owned(),
        end_reasons,
        packs,
        portal,
    })
}

async fn contract_page(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<ContractPage> {
    let form = SignForm { method: "screen".to_owned(), ..SignForm::default() };
    Ok(contract_view(&caller, page, id, form, FormErrors::default(), "", false).await?)
}

async fn sign_contract(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    FormBody(form): FormBody<SignForm>,
) -> WebResult<Response> {
    let result = enrolment::sign(&caller.db, &caller.cipher, &caller.actor, Signer::School, id, &form.to_input()).await;
    let result = match field_or_flash(result, &format!("/school/contracts/{id}")) {
        Ok(result) => result,
        Err(flash) => return *flash,
    };
    let done = |c: Contract| {
        let message = i18n::current().format("contract.signed_flash", &[("number", &c.number)]);
        redirect_with_flash(&format!("/school/contracts/{id}"), "success", &message)
    };
    form_flow(result, done, async |errors| contract_view(&caller, page, id, form, errors, "sign", false).await).await
}

async fn sign_amendment(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    FormBody(form): FormBody<SignForm>,
) -> WebResult<Response> {
    let contract_id = enrolment::contract_of_amendment(&caller.db, caller.org, id).await?;
    let result =
        enrolment::sign_amendment(&caller.db, &caller.cipher, &caller.actor, Signer::School, id, &form.to_input())
            .await;
    let result = match field_or_flash(result, &format!("/school/contracts/{contract_id}")) {
        Ok(result) => result,
        Err(flash) => return *flash,
    };
    let done = |_| {
        redirect_with_flash(
            &format!("/school/contracts/{contract_id}"),
            "success",
            i18n::current().text("contract.amendment_signed_flash"),
        )
    };
    let errors_for = format!("amendment-{id}");
    form_flow(result, done, async |errors| {
        contract_view(&caller, page, contract_id, form, errors, &errors_for, false).await
    })
    .await
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct EndForm {
    reason: String,
    ended_on: String,
    note: String,
}

async fn end_contract(caller: Caller, Id(id): Id, FormBody(form): FormBody<EndForm>) -> WebResult<Response> {
    let back = format!("/school/contracts/{id}");
    let ended_on = chrono::NaiveDate::parse_from_str(form.ended_on.trim(), "%Y-%m-%d").ok();
    let input = EndInput { reason: EndReason::parse(&form.reason), ended_on, note: text(&form.note) };
    match enrolment::end(&caller.db, &caller.cipher, &caller.actor, id, &input).await {
        Ok(_) => Ok(redirect_with_flash(&back, "success", i18n::current().text("contract.ended_flash"))),
        Err(err) => refusal_to_flash(&back, err),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct AmendForm {
    summary: String,
    forecast_hours: String,
    pack_id: String,
}

async fn amend(caller: Caller, Id(id): Id, FormBody(form): FormBody<AmendForm>) -> WebResult<Response> {
    let back = format!("/school/contracts/{id}");
    let forecast =
        form.forecast_hours.trim().replace(',', ".").parse::<Decimal>().ok().and_then(candidates::hours_to_minutes);
    if !form.forecast_hours.trim().is_empty() && forecast.is_none() {
        return refusal_to_flash(&back, AppError::validation("forecast_minutes", Msg::new("field.not_a_number")));
    }
    let input = AmendmentInput {
        summary: text(&form.summary),
        forecast_minutes: forecast,
        pack_id: form.pack_id.trim().parse().ok(),
    };
    match enrolment::amend(&caller.db, &caller.cipher, &caller.actor, id, &input).await {
        Ok(_) => Ok(redirect_with_flash(&back, "success", i18n::current().text("contract.amendment_drafted"))),
        Err(err) => refusal_to_flash(&back, err),
    }
}

async fn delete_amendment(caller: Caller, Id(id): Id) -> WebResult<Response> {
    let contract_id = enrolment::contract_of_amendment(&caller.db, caller.org, id).await?;
    let back = format!("/school/contracts/{contract_id}");
    match enrolment::delete_amendment(&caller.db, &caller.actor, id).await {
        Ok(_) => Ok(redirect_with_flash(&back, "success", i18n::current().text("contract.amendment_deleted"))),
        Err(err) => refusal_to_flash(&back, err),
    }
}

async fn staff_pdf(caller: Caller, Id(id): Id) -> WebResult<Response> {
    let (name, bytes) = contract_file(&caller, id).await?;
    Ok(pdf_response(&name, bytes, false))
}

async fn record_pdf(caller: Caller, Id(id): Id) -> WebResult<Response> {
    let record = enrolment::learning_record(&caller.db, &caller.cipher, &caller.actor, id).await?;
    let tr = crate::identity::organizations::service::get(&caller.db, caller.org).await?.locale;
    let name = format!("livret-{}.pdf", record.candidate_number);
    let bytes = crate::platform::pdf::render_off_runtime(move || super::pdf::learning_record(&record, tr)).await?;
    Ok(pdf_response(&name, bytes, false))
}

// ---------------------------------------------------------------- the candidate's own space

/// The contract `id` if it is the signed-in candidate's (404 otherwise).
async fn own_contract(caller: &Caller, id: i64) -> Result<(), AppError> {
    let Viewer::Candidate(me) = Viewer::of(&caller.db, &caller.current).await? else {
        return Err(AppError::NotFound);
    };
    if enrolment::candidate_of_contract(&caller.db, caller.org, id).await? != me {
        return Err(AppError::NotFound);
    }
    Ok(())
}

async fn portal_contract(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<ContractPage> {
    own_contract(&caller, id).await?;
    let form = SignForm { method: "screen".to_owned(), ..SignForm::default() };
    Ok(contract_view(&caller, page, id, form, FormErrors::default(), "", true).await?)
}

async fn portal_sign(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    FormBody(mut form): FormBody<SignForm>,
) -> WebResult<Response> {
    own_contract(&caller, id).await?;
    form.method = "screen".to_owned();
    let result =
        enrolment::sign(&caller.db, &caller.cipher, &caller.actor, Signer::Candidate, id, &form.to_input()).await;
    let result = match field_or_flash(result, &format!("/portal/contracts/{id}")) {
        Ok(result) => result,
        Err(flash) => return *flash,
    };
    let done =
        |_| redirect_with_flash(&format!("/portal/contracts/{id}"), "success", i18n::current().text("contract.thanks"));
    form_flow(result, done, async |errors| contract_view(&caller, page, id, form, errors, "sign", true).await).await
}

async fn portal_pdf(caller: Caller, Id(id): Id) -> WebResult<Response> {
    own_contract(&caller, id).await?;
    let (name, bytes) = contract_file(&caller, id).await?;
    Ok(pdf_response(&name, bytes, false))
}

/// The candidate's own file, as their space shows it: what is missing, their contract.
pub struct PortalFile {
    pub missing: Vec<String>,
    pub contract: Option<(i64, String, ContractStatus)>,
}

pub async fn portal_file(caller: &Caller, tr: &i18n::Tr, candidate_id: i64) -> Result<PortalFile, AppError> {
    let file = enrolment::get_file(&caller.db, &caller.cipher, caller.org, candidate_id).await?;
    let contract = enrolment::latest_contract(&caller.db, &caller.cipher, caller.org, candidate_id)
        .await?
        .map(|c| (c.id, c.number, c.status));
    let missing = file.missing.iter().map(|p: &Piece| tr.t(p.label_key()).to_owned()).collect();
    Ok(PortalFile { missing, contract })
}
