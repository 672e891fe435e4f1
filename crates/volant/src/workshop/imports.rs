//! What importing clients and vehicles (with their owners) means: each file
//! row applied through the clients' and vehicles' own services (their rules,
//! their audit records), matched to what exists by its natural key — a client
//! by e-mail, a vehicle by plate —, and undone the same way.

use chrono::Utc;
use sea_orm::DatabaseTransaction;

use crate::fleet::garages::service as garages;
use crate::fleet::vehicles::model::FuelType;
use crate::fleet::vehicles::service::{self as vehicles, VehicleInput};
use crate::identity::audit::Actor;
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::Locale;
use crate::platform::i18n::Msg;
use crate::platform::import::{Applied, Change, Field, Outcome, Row, parse_bool, parse_int, update_if_changed};
use crate::platform::import::{DateOrder, parse_date_in};
use crate::platform::search::sort_key;
use crate::platform::tenant::OrgId;
use crate::workshop::clients::service::{self as clients, ClientInput, ClientKind};
use crate::workshop::history::service::{self as history, InterventionInput, ReadingInput};

const CLIENT: &str = clients::AUDIT_ENTITY;
const VEHICLE: &str = vehicles::AUDIT_ENTITY;
const INTERVENTION: &str = history::AUDIT_ENTITY;
const READING: &str = "mileage_reading";
pub const OWNERSHIP: &str = "vehicle_ownership";
/// The records these imports write.
pub const ENTITIES: &[&str] = &[CLIENT, VEHICLE, OWNERSHIP, INTERVENTION, READING];

pub const CLIENT_FIELDS: &[Field] = &[
    Field {
        key: "name",
        label: "client.person_name",
        headers: &["nom complet", "full name", "name", "nom du client", "client", "contact"],
    },
    Field {
        key: "last_name",
        label: "import.last_name",
        headers: &["nom", "nom de famille", "last name", "surname", "family name"],
    },
    Field {
        key: "first_name", label: "import.first_name", headers: &["prénom", "prenom", "first name", "given name"]
    },
    Field {
        key: "company_name",
        label: "client.company_name",
        headers: &["société", "entreprise", "raison sociale", "company", "company name"],
    },
    Field {
        key: "email",
        label: "client.email",
        headers: &["e-mail", "email", "mail", "courriel", "adresse e-mail", "email address"],
    },
    Field {
        key: "phone",
        label: "client.phone",
        headers: &["téléphone", "tél", "tel", "portable", "mobile", "phone", "phone number"],
    },
    Field { key: "address", label: "client.address", headers: &["adresse", "adresse postale", "address"] },
    Field {
        key: "tax_id",
        label: "client.tax_id",
        headers: &["siret", "siren", "n° tva", "tva intracommunautaire", "vat number", "tax id"],
    },
    Field {
        key: "notes",
        label: "client.notes",
        headers: &["notes", "note", "remarques", "commentaire", "commentaires", "comments"],
    },
    Field {
        key: "consent_notifications",
        label: "client.consent_notifications",
        headers: &["accepte les notifications", "notifications", "consent notifications"],
    },
    Field {
        key: "consent_marketing",
        label: "client.consent_marketing",
        headers: &["accepte la prospection", "marketing", "newsletter", "consent marketing"],
    },
];

pub const VEHICLE_FIELDS: &[Field] = &[
    Field {
        key: "license_plate",
        label: "vehicle.license_plate",
        headers: &[
            "immatriculation",
            "immat",
            "plaque",
            "n° d'immatriculation",
            "license plate",
            "licence plate",
            "plate",
            "registration",
        ],
    },
    Field { key: "brand", label: "vehicle.brand", headers: &["marque", "constructeur", "brand", "make"] },
    Field { key: "model", label: "vehicle.model", headers: &["modèle", "modele", "model"] },
    Field {
        key: "year",
        label: "vehicle.year",
        headers: &["année", "annee", "année modèle", "millésime", "year", "model year"],
    },
    Field {
        key: "vin",
        label: "vehicle.vin",
        headers: &["vin", "numéro de série", "n° de série", "châssis", "n° vin", "serial number"],
    },
    Field {
        key: "mileage_km",
        label: "vehicle.mileage_km",
        headers: &["kilométrage", "kilometrage", "km", "compteur", "mileage", "odometer"],
    },
    Field {
        key: "fuel_type",
        label: "vehicle.fuel_type",
        headers: &["carburant", "énergie", "energie", "motorisation", "fuel", "fuel type"],
    },
    Field { key: "color", label: "vehicle.color", headers: &["couleur", "teinte", "color", "colour"] },
    Field { key: "garage", label: "import.garage", headers: &["garage", "atelier", "site", "agence", "garage name"] },
    Field {
        key: "owner_name",
        label: "import.owner_name",
        headers: &[
            "propriétaire",
            "proprietaire",
            "nom du propriétaire",
            "nom client",
            "client",
            "owner",
            "owner name",
        ],
    },
    Field {
        key: "owner_email",
        label: "import.owner_email",
        headers: &[
            "e-mail du propriétaire",
            "email propriétaire",
            "email client",
            "e-mail",
            "email",
            "courriel",
            "owner email",
        ],
    },
    Field {
        key: "owner_phone",
        label: "import.owner_phone",
        headers: &[
            "téléphone du propriétaire",
            "téléphone client",
            "téléphone",
            "tél",
            "portable",
            "phone",
            "owner phone",
        ],
    },
];

/// A vehicle's service history, as LubeLogger exports it (`Date, Odometer,
/// Description, Notes, Cost, Tags` for service, repair and upgrade records) or
/// as a spreadsheet lists it; the vehicle is the file's or a plate column's.
pub const SERVICE_FIELDS: &[Field] = &[
    Field {
        key: "license_plate",
        label: "vehicle.license_plate",
        headers: &["immatriculation", "immat", "plaque", "license plate", "licenseplate", "plate"],
    },
    Field {
        key: "date",
        label: "import.date",
        headers: &["date", "date d'intervention", "effectué le", "performed on"],
    },
    Field {
        key: "mileage_km",
        label: "vehicle.mileage_km",
        headers: &["odometer", "kilométrage", "kilometrage", "km", "compteur", "mileage"],
    },
    Field {
        key: "description",
        label: "import.description",
        headers: &["description", "intervention", "travaux", "opération", "work"],
    },
    Field { key: "notes", label: "import.notes", headers: &["notes", "note", "remarques", "commentaire"] },
    Field { key: "cost", label: "import.cost", headers: &["cost", "coût", "cout", "montant", "prix", "price"] },
    Field { key: "tags", label: "import.tags", headers: &["tags", "étiquettes", "catégorie"] },
    Field {
        key: "technician",
        label: "import.technician",
        headers: &["mécanicien", "technicien", "technician", "garage"],
    },
];

/// A vehicle's odometer readings, as LubeLogger exports them (`Date,
/// InitialOdometer, Odometer, Notes, Tags`) or a spreadsheet lists them.
pub const READING_FIELDS: &[Field] = &[
    Field {
        key: "license_plate",
        label: "vehicle.license_plate",
        headers: &["immatriculation", "immat", "plaque", "license plate", "licenseplate", "plate"],
    },
    Field { key: "date", label: "import.date", headers: &["date", "date du relevé", "relevé le", "read on"] },
    Field {
        key: "mileage_km",
        label: "vehicle.mileage_km",
        headers: &["odometer", "kilométrage", "kilometrage", "km", "compteur", "relevé", "mileage"],
    },
];

/// A refusal of a row for a reason found here (not by a service).
fn refused(field: &str, key: &'static str) -> AppError {
    AppError::validation(field, Msg::new(key))
}

fn bool_cell(row: &Row, key: &'static str) -> AppResult<Option<bool>> {
    row.get(key).map(|v| parse_bool(v).ok_or_else(|| refused(key, "import.not_yes_no"))).transpose()
}

/// The row's client, its cells over what `current` holds.
fn client_input(row: &Row, current: Option<&ClientInput>) -> AppResult<ClientInput> {
    let mut input = current.cloned().unwrap_or_default();
    let joined = [row.get("first_name"), row.get("last_name")].into_iter().flatten().collect::<Vec<_>>().join(" ");
    if let Some(name) = row.owned("name").or_else(|| Some(joined).filter(|n| !n.is_empty())) {
        input.name = Some(name);
    }
    if let Some(company) = row.owned("company_name") {
        input.company_name = Some(company);
        input.kind = Some(ClientKind::Company);
    }
    for (key, slot) in [
        ("email", &mut input.email),
        ("phone", &mut input.phone),
        ("address", &mut input.address),
        ("tax_id", &mut input.tax_id),
        ("notes", &mut input.notes),
    ] {
        if let Some(value) = row.owned(key) {
            *slot = Some(value);
        }
    }
    if let Some(consent) = bool_cell(row, "consent_notifications")? {
        input.consent_notifications = Some(consent);
    }
    if let Some(consent) = bool_cell(row, "consent_marketing")? {
        input.consent_marketing = Some(consent);
    }
    Ok(input)
}

/// The client an e-mail names, if exactly one has it (several: the row is refused, not guessed).
async fn client_by_email(txn: &DatabaseTransaction, org: OrgId, email: &str) -> AppResult<Option<clients::Client>> {
    let mut found = clients::find_by_email(txn, org, email).await?;
    if found.len() > 1 {
        return Err(AppError::validation("email", Msg::new("import.email_ambiguous").arg("email", email)));
    }
    Ok(found.pop())
}

/// Creates the row's client, or updates the one with its e-mail address.
pub async fn apply_client(txn: &DatabaseTransaction, actor: &Actor, row: &Row) -> AppResult<Applied> {
    let existing = match row.get("email") {
        Some(email) => client_by_email(txn, actor.org, email).await?,
        None => None,
    };
    let label = |c: &clients::Client| c.display_name().to_owned();
    let Some(current) = existing else {
        let saved = clients::create(txn, actor, &client_input(row, None)?).await?;
        return Ok(Applied::one(Change::created(CLIENT, saved.id, label(&saved), saved.updated_at)));
    };
    let before = clients::input_of(&current);
    let input = client_input(row, Some(&before))?;
    let write = async |savepoint: &DatabaseTransaction, input: &ClientInput| {
        clients::replace(savepoint, actor, current.id, input).await
    };
    Ok(match update_if_changed(txn, (&before, &input), write, clients::input_of).await? {
        Some(saved) => Applied::one(Change::updated(CLIENT, saved.id, label(&saved), &before, saved.updated_at)?),
        None => Applied::unchanged(label(&current)),
    })
}

/// What vehicle rows need from the organization, read once per import.
pub struct VehicleContext {
    garages: Vec<(i64, String)>,
}

impl VehicleContext {
    pub async fn load(db: &impl sea_orm::ConnectionTrait, org: OrgId) -> AppResult<Self> {
        Ok(Self { garages: garages::all_names(db, org).await? })
    }

    /// The garage a cell names (case and accents aside), or the only garage.
    fn garage(&self, named: Option<&str>) -> AppResult<i64> {
        match named {
            Some(name) => {
                let key = sort_key(name);
                self.garages.iter().find(|(_, n)| sort_key(n) == key).map(|(id, _)| *id).ok_or_else(|| {
                    AppError::validation("garage", Msg::new("import.garage_unknown").arg("garage", name))
                })
            }
            None => match self.garages.as_slice() {
                [(id, _)] => Ok(*id),
                [] => Err(refused("garage", "import.no_garage")),
                _ => Err(refused("garage", "import.garage_required")),
            },
        }
    }
}

/// `essence`, `gazole`, `diesel`, `électrique`, `hybride`, `GPL`… as the fuel types Volant knows.
fn fuel(text: &str) -> Option<FuelType> {
    let key = sort_key(text);
    let fuel = match key.as_str() {
        "essence" | "petrol" | "gasoline" | "sp95" | "sp98" | "e10" | "sans plomb" => FuelType::Petrol,
        "diesel" | "gazole" | "gasoil" | "go" => FuelType::Diesel,
        "hybride" | "hybrid" | "hybride rechargeable" | "plug in hybrid" => FuelType::Hybrid,
        "electrique" | "electric" | "ev" | "el" => FuelType::Electric,
        "gpl" | "lpg" | "gnv" | "cng" => FuelType::Lpg,
        "autre" | "other" | "ethanol" | "e85" | "hydrogene" | "hydrogen" => FuelType::Other,
        _ => return FuelType::ALL.into_iter().find(|f| f.as_str() == key),
    };
    Some(fuel)
}

fn vehicle_input(row: &Row, context: &VehicleContext, current: Option<&VehicleInput>) -> AppResult<VehicleInput> {
    let mut input = current.cloned().unwrap_or_default();
    if current.is_none() || row.get("garage").is_some() {
        input.garage_id = Some(context.garage(row.get("garage"))?);
    }
    for (key, slot) in
        [("license_plate", &mut input.license_plate), ("brand", &mut input.brand), ("model", &mut input.model)]
    {
        if let Some(value) = row.owned(key) {
            *slot = Some(value);
        }
    }
    for (key, slot) in [("vin", &mut input.vin), ("color", &mut input.color)] {
        if let Some(value) = row.owned(key) {
            *slot = Some(value);
        }
    }
    if let Some(year) = row.get("year") {
        let year = parse_int(year)
            .and_then(|y| i32::try_from(y).ok())
            .ok_or_else(|| refused("year", "import.not_a_number"))?;
        input.year = Some(year);
    }
    if let Some(km) = row.get("mileage_km") {
        input.mileage_km = Some(parse_int(km).ok_or_else(|| refused("mileage_km", "import.not_a_number"))?);
    }
    if let Some(text) = row.get("fuel_type") {
        input.fuel_type = Some(fuel(text).ok_or_else(|| refused("fuel_type", "import.fuel_unknown"))?);
    }
    Ok(input)
}

/// The owner a row names: the client with its e-mail, else the one client with
/// its name, else a new client (recorded among the import's changes).
async fn owner(
    txn: &DatabaseTransaction,
    actor: &Actor,
    row: &Row,
    changes: &mut Vec<Change>,
) -> AppResult<Option<i64>> {
    let (name, email) = (row.get("owner_name"), row.get("owner_email"));
    if name.is_none() && email.is_none() {
        return Ok(None);
    }
    if let Some(email) = email {
        if let Some(client) =
            client_by_email(txn, actor.org, email).await.map_err(|e| e.renamed(&[("email", "owner_email")]))?
        {
            return Ok(Some(client.id));
        }
    } else if let Some(name) = name
        && let [client] = clients::find_by_name(txn, actor.org, name, 2).await?.as_slice()
    {
        return Ok(Some(client.id));
    }
    let input = ClientInput {
        name: Some(name.or(email).unwrap_or_default().to_owned()),
        email: email.map(str::to_owned),
        phone: row.owned("owner_phone"),
        ..ClientInput::default()
    };
    let created = clients::create(txn, actor, &input)
        .await
        .map_err(|e| e.renamed(&[("name", "owner_name"), ("email", "owner_email"), ("phone", "owner_phone")]))?;
    changes.push(Change::created(CLIENT, created.id, created.display_name().to_owned(), created.updated_at));
    Ok(Some(created.id))
}

/// Creates the row's vehicle, or updates the one with its plate; gives it the
/// row's owner when it has none (a vehicle owned by someone else is refused:
/// a change of owner is made on the vehicle's page, where it is seen).
pub async fn apply_vehicle(
    txn: &DatabaseTransaction,
    actor: &Actor,
    context: &VehicleContext,
    row: &Row,
) -> AppResult<Applied> {
    let plate = row.get("license_plate").ok_or_else(|| refused("license_plate", "field.required"))?;
    let existing = vehicles::find_by_plate(txn, actor.org, plate).await?;
    let mut changes = Vec::new();
    let owner_id = owner(txn, actor, row, &mut changes).await?;
    let (outcome, vehicle, before) = match existing {
        Some(current) => {
            let before = vehicles::input_of(&current);
            let input = vehicle_input(row, context, Some(&before))?;
            let write = async |savepoint: &DatabaseTransaction, input: &VehicleInput| {
                vehicles::replace(savepoint, actor, current.id, input).await
            };
            let updated = update_if_changed(txn, (&before, &input), write, vehicles::input_of).await?;
            match updated {
                Some(saved) => (Outcome::Updated, saved, Some(before)),
                None => (Outcome::Unchanged, current, Some(before)),
            }
        }
        None => (Outcome::Created, vehicles::create(txn, actor, &vehicle_input(row, context, None)?).await?, None),
    };
    let (label, stamp) = (vehicle.license_plate.clone(), vehicle.updated_at);
    match (outcome, &before) {
        (Outcome::Created, _) => changes.push(Change::created(VEHICLE, vehicle.id, label.clone(), stamp)),
        (Outcome::Updated, Some(before)) => {
            changes.push(Change::updated(VEHICLE, vehicle.id, label.clone(), before, stamp)?);
        }
        _ => {}
    }
    let mut outcome = outcome;
    if let Some(owner_id) = owner_id {
        match clients::current_owner(txn, actor.org, vehicle.id).await? {
            Some(current) if current.id == owner_id => {}
            Some(current) => {
                return Err(AppError::validation(
                    "owner_name",
                    Msg::new("import.owned_by_another").arg("owner", current.display_name()),
                ));
            }
            None => {
                // The ownership is a change of its own, undone before the vehicle and the client.
                clients::assign_vehicle(txn, actor, owner_id, vehicle.id).await?;
                let (id, started) =
                    clients::current_ownership(txn, actor.org, vehicle.id).await?.ok_or(AppError::NotFound)?;
                changes.push(Change::created(OWNERSHIP, id, label.clone(), started));
                if outcome == Outcome::Unchanged {
                    outcome = Outcome::Updated;
                }
            }
        }
    }
    Ok(Applied { outcome, label, changes })
}

/// What history rows need: the file's vehicle (when it has no plate column),
/// how it writes dates, and the language the notes it adds are written in.
pub struct HistoryContext {
    pub vehicle_id: Option<i64>,
    pub dates: DateOrder,
    pub locale: Locale,
}

impl HistoryContext {
    /// The row's vehicle: its plate column's, else the file's.
    async fn vehicle(&self, txn: &DatabaseTransaction, org: OrgId, row: &Row) -> AppResult<vehicles::Vehicle> {
        match row.get("license_plate") {
            Some(plate) => vehicles::find_by_plate(txn, org, plate).await?.ok_or_else(|| {
                AppError::validation("license_plate", Msg::new("import.vehicle_unknown").arg("plate", plate))
            }),
            None => match self.vehicle_id {
                Some(id) => vehicles::get(txn, org, id).await,
                None => Err(refused("license_plate", "field.required")),
            },
        }
    }

    fn date(&self, row: &Row) -> AppResult<Option<chrono::NaiveDate>> {
        row.get("date")
            .map(|d| parse_date_in(d, self.dates).ok_or_else(|| refused("date", "import.not_a_date")))
            .transpose()
    }
}

/// Records the row's intervention in the vehicle's history, unless it is
/// there already (same day, same description). What the file says it cost is
/// kept in the description as declared: another garage's price is not this
/// one's turnover, nor split into tax.
pub async fn apply_service(
    txn: &DatabaseTransaction,
    actor: &Actor,
    context: &HistoryContext,
    row: &Row,
) -> AppResult<Applied> {
    let vehicle = context.vehicle(txn, actor.org, row).await?;
    let tr = context.locale;
    let mut description = row.owned("description").ok_or_else(|| refused("description", "field.required"))?;
    for (key, label) in [("notes", "import.notes"), ("cost", "import.cost_declared"), ("tags", "import.tags")] {
        if let Some(value) = row.get(key) {
            description.push('\n');
            description.push_str(&tr.format("import.labelled", &[("label", tr.text(label)), ("value", value)]));
        }
    }
    let mileage_km = row
        .get("mileage_km")
        .map(|km| parse_int(km).ok_or_else(|| refused("mileage_km", "import.not_a_number")))
        .transpose()?;
    let performed_on = context.date(row)?;
    let label = format!("{} · {}", vehicle.license_plate, row.get("description").unwrap_or_default());
    let work = row.get("description").unwrap_or_default();
    if let Some(day) = performed_on
        && history::has_intervention_like(txn, actor.org, vehicle.id, day, work).await?
    {
        return Ok(Applied::unchanged(label));
    }
    let input = InterventionInput {
        vehicle_id: Some(vehicle.id),
        performed_on,
        // LubeLogger writes 0 when no odometer was noted.
        mileage_km: mileage_km.filter(|km| *km > 0),
        description: Some(description),
        technician: row.owned("technician"),
        ..InterventionInput::default()
    };
    let recorded = history::record_past(txn, actor, &input).await?;
    Ok(Applied::one(Change::created(INTERVENTION, recorded.id, label, recorded.created_at)))
}

/// Records the row's odometer reading, unless the vehicle has it already.
pub async fn apply_reading(
    txn: &DatabaseTransaction,
    actor: &Actor,
    context: &HistoryContext,
    row: &Row,
) -> AppResult<Applied> {
    let vehicle = context.vehicle(txn, actor.org, row).await?;
    let km = row.get("mileage_km").ok_or_else(|| refused("mileage_km", "field.required"))?;
    let km = parse_int(km).ok_or_else(|| refused("mileage_km", "import.not_a_number"))?;
    let read_on = context.date(row)?;
    let label = format!("{} · {km} km", vehicle.license_plate);
    if let Some(day) = read_on
        && history::has_reading(txn, actor.org, vehicle.id, day, km).await?
    {
        return Ok(Applied::unchanged(label));
    }
    let input = ReadingInput { read_on, mileage_km: Some(km), is_correction: false };
    let recorded = history::record_past_reading(txn, actor, vehicle.id, &input).await?;
    let stamp = history::reading_stamps(txn, actor.org, &[recorded.id])
        .await?
        .remove(&recorded.id)
        .ok_or(AppError::NotFound)?;
    Ok(Applied::one(Change::created(READING, recorded.id, label, stamp)))
}

/// When each of these records last changed, for the entities of this module.
pub async fn stamps(
    db: &impl sea_orm::ConnectionTrait,
    org: OrgId,
    entity: &str,
    ids: &[i64],
) -> AppResult<std::collections::HashMap<i64, chrono::DateTime<Utc>>> {
    match entity {
        CLIENT => clients::stamps(db, org, ids).await,
        VEHICLE => vehicles::stamps(db, org, ids).await,
        OWNERSHIP => clients::ownership_stamps(db, org, ids).await,
        INTERVENTION => history::stamps(db, org, ids).await,
        READING => history::reading_stamps(db, org, ids).await,
        other => Err(AppError::Internal(format!("no import stamps for {other}"))),
    }
}

/// Why a record this import created cannot be taken back: what was added to
/// it since (the database would delete or unlink it with the record); the
/// ownerships `own` are the import's (taken back before their vehicle).
pub async fn in_use(
    db: &impl sea_orm::ConnectionTrait,
    org: OrgId,
    change: &Change,
    own: &std::collections::HashSet<i64>,
) -> AppResult<bool> {
    use crate::documents::model::{Owner, OwnerKind};
    use crate::documents::service as documents;
    let documents_of = async |kind| -> AppResult<bool> {
        Ok(!documents::list(db, org, Owner { kind, id: change.id }).await?.is_empty())
    };
    Ok(match (change.entity, change.created) {
        (VEHICLE, true) => {
            let quotes =
                crate::workshop::quotes::service::QuoteFilter { vehicle_id: Some(change.id), ..Default::default() };
            clients::has_ownerships_besides(db, org, change.id, own).await?
                || crate::workshop::quotes::service::count(db, org, &quotes).await? > 0
                || history::has_history(db, org, change.id).await?
                || crate::school::cars::service::get(db, org, change.id).await.is_ok()
                || documents_of(OwnerKind::Vehicle).await?
        }
        (CLIENT, true) => {
            let quotes =
                crate::workshop::quotes::service::QuoteFilter { client_id: Some(change.id), ..Default::default() };
            clients::has_vehicles_besides(db, org, change.id, own).await?
                || crate::workshop::quotes::service::count(db, org, &quotes).await? > 0
                || !history::of_client(db, org, change.id, 1).await?.is_empty()
                || documents_of(OwnerKind::Client).await?
        }
        (INTERVENTION, true) => {
            use crate::billing::invoices::{model::SourceKind, service as invoices};
            documents_of(OwnerKind::Intervention).await?
                || crate::workshop::checkins::service::of_intervention(db, org, change.id).await?.is_some()
                || invoices::find_by_source(db, org, SourceKind::Intervention, change.id).await?.is_some()
        }
        _ => false,
    })
}

/// Undoes one change of an import (its record unchanged since, as checked by the caller).
pub async fn undo(txn: &DatabaseTransaction, actor: &Actor, change: &Change) -> AppResult<()> {
    match (change.entity, change.created) {
        (CLIENT, true) => clients::delete(txn, actor, change.id).await,
        (VEHICLE, true) => vehicles::delete(txn, actor, change.id).await,
        (INTERVENTION, true) => history::forget(txn, actor, change.id).await,
        (READING, true) => history::forget_reading(txn, actor, change.id).await,
        (CLIENT, false) => {
            let previous: ClientInput = change.previous_as()?;
            clients::replace(txn, actor, change.id, &previous).await.map(|_| ())
        }
        (VEHICLE, false) => {
            let previous: VehicleInput = change.previous_as()?;
            vehicles::replace(txn, actor, change.id, &previous).await.map(|_| ())
        }
        (OWNERSHIP, true) => clients::forget_ownership(txn, actor, change.id).await,
        (other, _) => Err(AppError::Internal(format!("no import undo for {other}"))),
    }
}
