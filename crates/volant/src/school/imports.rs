//! What importing candidates and instructors means: each file row applied
//! through the candidates' and instructors' own services, matched to what
//! exists by its natural key — a candidate by file number, else e-mail; an
//! instructor by teaching licence number, else e-mail —, and undone the same way.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use crate::identity::audit::Actor;
use crate::platform::crypto::FieldCipher;
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::Msg;
use crate::platform::import::{Applied, Change, Field, Row, parse_bool, parse_date, update_if_changed};
use crate::platform::search::sort_key;
use crate::platform::tenant::OrgId;
use crate::school::candidates::service::{self as candidates, CandidateInput, TheoryStatus};
use crate::school::instructors::service::{self as instructors, Instructor, InstructorInput};

const CANDIDATE: &str = candidates::AUDIT_ENTITY;
const INSTRUCTOR: &str = instructors::AUDIT_ENTITY;
/// The records these imports write.
pub const ENTITIES: &[&str] = &[CANDIDATE, INSTRUCTOR];
/// The category of a new candidate whose file says none: most schools teach the car licence.
const DEFAULT_CATEGORY: &str = "B";

pub const CANDIDATE_FIELDS: &[Field] = &[
    Field {
        key: "number",
        label: "import.candidate_number",
        headers: &["n° de dossier", "numéro de dossier", "dossier", "n° candidat", "numéro", "file number", "number"],
    },
    Field {
        key: "last_name",
        label: "import.last_name",
        headers: &["nom", "nom de famille", "last name", "surname", "family name"],
    },
    Field {
        key: "first_name", label: "import.first_name", headers: &["prénom", "prenom", "first name", "given name"]
    },
    Field { key: "email", label: "import.email", headers: &["e-mail", "email", "mail", "courriel", "adresse e-mail"] },
    Field {
        key: "phone", label: "import.phone", headers: &["téléphone", "tél", "tel", "portable", "mobile", "phone"]
    },
    Field {
        key: "category",
        label: "import.category",
        headers: &["catégorie", "permis", "formation", "category", "licence category"],
    },
    Field {
        key: "registered_on",
        label: "candidate.registered_on",
        headers: &["date d'inscription", "inscrit le", "inscription", "registration date", "registered on"],
    },
    Field {
        key: "birth_date",
        label: "candidate.birth_date",
        headers: &["date de naissance", "né le", "née le", "naissance", "birth date", "date of birth"],
    },
    Field { key: "address", label: "import.address", headers: &["adresse", "adresse postale", "address"] },
    Field {
        key: "id_document_number",
        label: "candidate.id_document",
        headers: &["pièce d'identité", "n° de pièce d'identité", "n° cni", "id number", "id document"],
    },
    Field {
        key: "theory_status",
        label: "candidate.theory",
        headers: &["code", "code obtenu", "examen du code", "theory", "theory test"],
    },
    Field {
        key: "forecast_hours",
        label: "import.forecast_hours",
        headers: &["heures prévues", "heures estimées", "évaluation", "forecast hours"],
    },
    Field {
        key: "bought_hours",
        label: "import.bought_hours",
        headers: &["heures achetées", "heures payées", "heures acquises", "hours bought"],
    },
    Field {
        key: "instructor",
        label: "import.instructor",
        headers: &["moniteur", "monitrice", "enseignant", "formateur", "instructor"],
    },
];

pub const INSTRUCTOR_FIELDS: &[Field] = &[
    Field {
        key: "licence_number",
        label: "import.licence_number",
        headers: &[
            "n° d'autorisation d'enseigner",
            "autorisation d'enseigner",
            "n° d'autorisation",
            "autorisation",
            "licence number",
            "teaching licence",
        ],
    },
    Field { key: "last_name", label: "import.last_name", headers: &["nom", "nom de famille", "last name", "surname"] },
    Field {
        key: "first_name", label: "import.first_name", headers: &["prénom", "prenom", "first name", "given name"]
    },
    Field { key: "email", label: "import.email", headers: &["e-mail", "email", "mail", "courriel"] },
    Field {
        key: "phone", label: "import.phone", headers: &["téléphone", "tél", "tel", "portable", "mobile", "phone"]
    },
    Field {
        key: "categories",
        label: "import.categories",
        headers: &["catégories", "catégories enseignées", "permis", "categories"],
    },
    Field { key: "active", label: "import.active", headers: &["actif", "active", "en activité"] },
];

fn refused(field: &str, key: &'static str) -> AppError {
    AppError::validation(field, Msg::new(key))
}

/// `20`, `20,5`, `20h30` hours as minutes.
fn minutes(text: &str) -> Option<i32> {
    let cleaned = text.trim().to_lowercase().replace(' ', "");
    let cleaned =
        ["heures", "heure", "hours", "hour"].iter().fold(cleaned, |t, unit| t.trim_end_matches(unit).to_owned());
    let (hours, rest) = match cleaned.split_once('h') {
        Some((h, m)) => (h.to_owned(), m.trim_end_matches("min").to_owned()),
        None => (cleaned.replace(',', "."), String::new()),
    };
    let hours: f64 = hours.parse().ok()?;
    let extra: f64 = if rest.is_empty() { 0.0 } else { rest.parse().ok()? };
    let total = (hours * 60.0 + extra).round();
    #[allow(clippy::cast_possible_truncation)] // Bounded just above.
    (0.0..=100_000.0).contains(&total).then_some(total as i32)
}

fn theory(text: &str) -> Option<TheoryStatus> {
    match sort_key(text).as_str() {
        "en cours" | "in progress" | "inscrit" | "en preparation" => Some(TheoryStatus::InProgress),
        "obtenu" | "reussi" | "passed" | "acquis" => Some(TheoryStatus::Passed),
        "non commence" | "not started" | "a faire" => Some(TheoryStatus::NotStarted),
        other => match parse_bool(other)? {
            true => Some(TheoryStatus::Passed),
            false => Some(TheoryStatus::NotStarted),
        },
    }
}

/// What candidate rows need from the school, read once per import.
pub struct CandidateContext {
    /// Each instructor's `first last`, `last first` and e-mail, compared without case or accents.
    instructors: Vec<(i64, [String; 3])>,
}

impl CandidateContext {
    pub async fn load(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Self> {
        let instructors = instructors::list(db, org)
            .await?
            .into_iter()
            .map(|i| {
                let names = [
                    sort_key(&format!("{} {}", i.first_name, i.last_name)),
                    sort_key(&format!("{} {}", i.last_name, i.first_name)),
                    i.email.as_deref().map(str::to_lowercase).unwrap_or_default(),
                ];
                (i.id, names)
            })
            .collect();
        Ok(Self { instructors })
    }

    fn instructor(&self, named: &str) -> AppResult<i64> {
        let (key, email) = (sort_key(named), named.trim().to_lowercase());
        let found: Vec<i64> = self
            .instructors
            .iter()
            .filter(|(_, [a, b, e])| *a == key || *b == key || (!e.is_empty() && *e == email))
            .map(|(id, _)| *id)
            .collect();
        match found.as_slice() {
            [id] => Ok(*id),
            _ => Err(AppError::validation("instructor", Msg::new("import.instructor_unknown").arg("name", named))),
        }
    }
}

fn candidate_input(
    row: &Row,
    context: &CandidateContext,
    current: Option<&CandidateInput>,
) -> AppResult<CandidateInput> {
    let mut input = current.cloned().unwrap_or_default();
    for (key, slot) in [
        ("number", &mut input.number),
        ("first_name", &mut input.first_name),
        ("last_name", &mut input.last_name),
        ("email", &mut input.email),
        ("phone", &mut input.phone),
        ("address", &mut input.address),
        ("id_document_number", &mut input.id_document_number),
    ] {
        if let Some(value) = row.owned(key) {
            *slot = Some(value);
        }
    }
    if let Some(category) = row.owned("category") {
        input.category = Some(category);
    } else if current.is_none() {
        input.category = Some(DEFAULT_CATEGORY.to_owned());
    }
    for (key, slot) in [("registered_on", &mut input.registered_on), ("birth_date", &mut input.birth_date)] {
        if let Some(text) = row.get(key) {
            *slot = Some(parse_date(text).ok_or_else(|| refused(key, "import.not_a_date"))?);
        }
    }
    if let Some(text) = row.get("theory_status") {
        input.theory_status = Some(theory(text).ok_or_else(|| refused("theory_status", "import.theory_unknown"))?);
    }
    if let Some(text) = row.get("forecast_hours") {
        input.forecast_minutes = Some(minutes(text).ok_or_else(|| refused("forecast_hours", "import.not_hours"))?);
    }
    if let Some(text) = row.get("bought_hours") {
        input.bought_minutes = Some(minutes(text).ok_or_else(|| refused("bought_hours", "import.not_hours"))?);
    }
    if let Some(named) = row.get("instructor") {
        input.instructor_id = Some(context.instructor(named)?);
    }
    Ok(input)
}

/// The candidate a row names: by file number, else by e-mail (two with it: refused, not guessed).
async fn candidate_of(txn: &DatabaseTransaction, org: OrgId, row: &Row) -> AppResult<Option<i64>> {
    if let Some(number) = row.get("number") {
        return candidates::id_by_number(txn, org, number).await;
    }
    let Some(email) = row.get("email") else { return Ok(None) };
    match candidates::ids_by_email(txn, org, email).await?.as_slice() {
        [] => Ok(None),
        [id] => Ok(Some(*id)),
        _ => Err(AppError::validation("email", Msg::new("import.email_ambiguous").arg("email", email))),
    }
}

/// The service's field names as the import's fields name them.
fn as_fields(err: AppError) -> AppError {
    err.renamed(&[
        ("forecast_minutes", "forecast_hours"),
        ("bought_minutes", "bought_hours"),
        ("instructor_id", "instructor"),
    ])
}

async fn candidate_stamp(txn: &DatabaseTransaction, org: OrgId, id: i64) -> AppResult<chrono::DateTime<Utc>> {
    candidates::stamps(txn, org, &[id]).await?.remove(&id).ok_or(AppError::NotFound)
}

/// Creates the row's candidate, or updates the one with its number or e-mail.
pub async fn apply_candidate(
    txn: &DatabaseTransaction,
    cipher: &FieldCipher,
    actor: &Actor,
    context: &CandidateContext,
    row: &Row,
) -> AppResult<Applied> {
    let org = actor.org;
    let Some(id) = candidate_of(txn, org, row).await? else {
        let input = candidate_input(row, context, None)?;
        let saved = candidates::create(txn, cipher, actor, &input).await.map_err(as_fields)?;
        let id = saved.summary.id;
        let stamp = candidate_stamp(txn, org, id).await?;
        return Ok(Applied::one(Change::created(CANDIDATE, id, saved.summary.full_name(), stamp)));
    };
    let current = candidates::get(txn, cipher, org, id).await?;
    let before = candidates::input_of(&current);
    let input = candidate_input(row, context, Some(&before))?;
    let write = async |savepoint: &DatabaseTransaction, input: &CandidateInput| {
        candidates::update(savepoint, cipher, actor, id, input).await.map_err(as_fields)
    };
    Ok(match update_if_changed(txn, (&before, &input), write, candidates::input_of).await? {
        Some(saved) => {
            let stamp = candidate_stamp(txn, org, id).await?;
            Applied::one(Change::updated(CANDIDATE, id, saved.summary.full_name(), &before, stamp)?)
        }
        None => Applied::unchanged(current.summary.full_name()),
    })
}

fn instructor_input(row: &Row, current: Option<&InstructorInput>) -> AppResult<InstructorInput> {
    let mut input = current.cloned().unwrap_or_default();
    for (key, slot) in [
        ("licence_number", &mut input.licence_number),
        ("first_name", &mut input.first_name),
        ("last_name", &mut input.last_name),
        ("email", &mut input.email),
        ("phone", &mut input.phone),
    ] {
        if let Some(value) = row.owned(key) {
            *slot = Some(value);
        }
    }
    if let Some(text) = row.get("categories") {
        input.categories =
            text.split([',', ';', '/', ' ', '+']).filter(|c| !c.trim().is_empty()).map(str::to_owned).collect();
    }
    if let Some(text) = row.get("active") {
        input.active = Some(parse_bool(text).ok_or_else(|| refused("active", "import.not_yes_no"))?);
    }
    Ok(input)
}

/// The instructor a row names: by licence number, else by e-mail.
async fn instructor_of(txn: &DatabaseTransaction, org: OrgId, row: &Row) -> AppResult<Option<Instructor>> {
    if let Some(licence) = row.get("licence_number")
        && let Some(found) = instructors::by_licence(txn, org, licence).await?
    {
        return Ok(Some(found));
    }
    let Some(email) = row.get("email").map(str::to_lowercase) else { return Ok(None) };
    let found: Vec<Instructor> = instructors::list(txn, org)
        .await?
        .into_iter()
        .filter(|i| i.email.as_deref().is_some_and(|e| e.to_lowercase() == email))
        .collect();
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.into_iter().next()),
        _ => Err(AppError::validation("email", Msg::new("import.email_ambiguous").arg("email", &email))),
    }
}

async fn instructor_stamp(txn: &DatabaseTransaction, org: OrgId, id: i64) -> AppResult<chrono::DateTime<Utc>> {
    instructors::stamps(txn, org, &[id]).await?.remove(&id).ok_or(AppError::NotFound)
}

/// Creates the row's instructor, or updates the one with its licence number or e-mail.
pub async fn apply_instructor(txn: &DatabaseTransaction, actor: &Actor, row: &Row) -> AppResult<Applied> {
    let org = actor.org;
    let Some(current) = instructor_of(txn, org, row).await? else {
        let saved = instructors::create(txn, actor, &instructor_input(row, None)?).await?;
        let stamp = instructor_stamp(txn, org, saved.id).await?;
        return Ok(Applied::one(Change::created(INSTRUCTOR, saved.id, saved.full_name(), stamp)));
    };
    let before = instructors::input_of(&current);
    let input = instructor_input(row, Some(&before))?;
    let write = async |savepoint: &DatabaseTransaction, input: &InstructorInput| {
        instructors::update(savepoint, actor, current.id, input).await
    };
    Ok(match update_if_changed(txn, (&before, &input), write, instructors::input_of).await? {
        Some(saved) => {
            let stamp = instructor_stamp(txn, org, saved.id).await?;
            Applied::one(Change::updated(INSTRUCTOR, saved.id, saved.full_name(), &before, stamp)?)
        }
        None => Applied::unchanged(current.full_name()),
    })
}

/// When each of these records last changed, for the entities of this module.
pub async fn stamps(
    db: &impl ConnectionTrait,
    org: OrgId,
    entity: &str,
    ids: &[i64],
) -> AppResult<HashMap<i64, chrono::DateTime<Utc>>> {
    match entity {
        CANDIDATE => candidates::stamps(db, org, ids).await,
        INSTRUCTOR => instructors::stamps(db, org, ids).await,
        other => Err(AppError::Internal(format!("no import stamps for {other}"))),
    }
}

/// Whether a record this import created has gained what its deletion would
/// take with it or be refused for: documents, an account, lessons, exams…
pub async fn in_use(db: &impl ConnectionTrait, org: OrgId, change: &Change) -> AppResult<bool> {
    use crate::documents::model::{Owner, OwnerKind};
    use crate::documents::service as documents;
    let kind = match (change.entity, change.created) {
        (CANDIDATE, true) => OwnerKind::Candidate,
        (INSTRUCTOR, true) => OwnerKind::Instructor,
        _ => return Ok(false),
    };
    let documents = !documents::list(db, org, Owner { kind, id: change.id }).await?.is_empty();
    let history = match kind {
        OwnerKind::Candidate => candidates::has_history(db, org, change.id).await?,
        _ => instructors::has_history(db, org, change.id).await?,
    };
    Ok(documents || history)
}

/// Undoes one change of an import (its record unchanged since, as checked by the caller).
pub async fn undo(txn: &DatabaseTransaction, cipher: &FieldCipher, actor: &Actor, change: &Change) -> AppResult<()> {
    match (change.entity, change.created) {
        (CANDIDATE, true) => candidates::delete(txn, cipher, actor, change.id).await,
        (INSTRUCTOR, true) => instructors::delete(txn, actor, change.id).await,
        (CANDIDATE, false) => {
            let previous: CandidateInput = change.previous_as()?;
            candidates::update(txn, cipher, actor, change.id, &previous).await.map(|_| ())
        }
        (INSTRUCTOR, false) => {
            let previous: InstructorInput = change.previous_as()?;
            instructors::update(txn, actor, change.id, &previous).await.map(|_| ())
        }
        (other, _) => Err(AppError::Internal(format!("no import undo for {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_read_as_schools_write_them() {
        assert_eq!(minutes("20"), Some(1200));
        assert_eq!(minutes("20,5"), Some(1230));
        assert_eq!(minutes("20h30"), Some(1230));
        assert_eq!(minutes("20 heures"), Some(1200));
        assert_eq!(minutes("vingt"), None);
        assert_eq!(theory("Obtenu"), Some(TheoryStatus::Passed));
        assert_eq!(theory("en cours"), Some(TheoryStatus::InProgress));
        assert_eq!(theory("non"), Some(TheoryStatus::NotStarted));
    }
}
