//! What a workshop accumulates over the years, at benchmark scale: quotes with
//! their lines and numbers, the service history, issued invoices with their
//! payments. Loaded in batched multi-row inserts like the fleet; every total is
//! the sum of its lines, every number is taken in sequence and the counters are
//! left where the next number continues.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, Set, Statement, TransactionTrait};
use volant::platform::lines::LineKind;
use volant::platform::money::Currency;
use volant::platform::tenant::OrgId;
use volant::workshop::quotes::model::QuoteStatus;

use crate::seed::Scale;

const ROWS_PER_INSERT: usize = 1_000;
/// 20 % VAT on whole-euro prices: every amount is exact in cents.
const VAT_BP: i32 = 2_000;

/// Work a French or West African workshop quotes and does, with its price in euros.
const WORK: &[(LineKind, &str, i64)] = &[
    (LineKind::Part, "Filtre à huile", 12),
    (LineKind::Part, "Huile moteur 5W30 (5 L)", 45),
    (LineKind::Part, "Plaquettes de frein avant", 68),
    (LineKind::Part, "Disques de frein avant (paire)", 120),
    (LineKind::Part, "Courroie de distribution (kit)", 240),
    (LineKind::Part, "Batterie 70 Ah", 135),
    (LineKind::Part, "Pneu 205/55 R16", 85),
    (LineKind::Labour, "Vidange et contrôle des niveaux", 40),
    (LineKind::Labour, "Remplacement des plaquettes", 60),
    (LineKind::Labour, "Distribution : dépose et repose", 320),
    (LineKind::Labour, "Diagnostic électronique", 55),
    (LineKind::Other, "Recyclage des déchets", 5),
];

/// The benchmark organization's clients with the vehicle each owns, in id order.
async fn owners(db: &DatabaseConnection, org: OrgId, limit: usize) -> Result<Vec<(i64, i64, String)>, String> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT o.client_id, o.vehicle_id, c.name FROM vehicle_ownerships o JOIN clients c ON c.id = o.client_id \
                 WHERE o.organization_id = {} AND o.ended_at IS NULL ORDER BY o.client_id LIMIT {limit}",
                org.get()
            ),
        ))
        .await
        .map_err(|e| e.to_string())?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some((
                r.try_get::<i64>("", "client_id").ok()?,
                r.try_get("", "vehicle_id").ok()?,
                r.try_get("", "name").ok()?,
            ))
        })
        .collect())
}

/// The ids of the last `n` rows of `table` (one loader: they are this batch's, in order).
async fn last_ids(txn: &impl ConnectionTrait, table: &str, n: usize) -> Result<Vec<i64>, String> {
    let rows = txn
        .query_all_raw(Statement::from_string(
            txn.get_database_backend(),
            format!("SELECT id FROM {table} ORDER BY id DESC LIMIT {n}"),
        ))
        .await
        .map_err(|e| e.to_string())?;
    let mut ids: Vec<i64> = rows.into_iter().filter_map(|r| r.try_get("", "id").ok()).collect();
    ids.reverse();
    if ids.len() != n {
        return Err(format!("{table}: {} ids read back, {n} inserted", ids.len()));
    }
    Ok(ids)
}

/// One to `most` lines drawn from the catalogue: (kind, description, price in cents).
fn pick_lines(rng: &mut fastrand::Rng, most: usize) -> Vec<(LineKind, &'static str, i64)> {
    (0..rng.usize(1..=most))
        .map(|_| {
            let (kind, description, euros) = WORK[rng.usize(..WORK.len())];
            (kind, description, euros * 100)
        })
        .collect()
}

/// (excl. tax, VAT, incl. tax) in cents of lines priced in whole euros.
fn totals(lines: &[(LineKind, &str, i64)]) -> (i64, i64, i64) {
    let excl: i64 = lines.iter().map(|(_, _, cents)| cents).sum();
    let vat = excl * i64::from(VAT_BP) / 10_000;
    (excl, vat, excl + vat)
}

/// The day of the `i`-th of `count` documents spread evenly over `[first, last]`.
fn spread(first: NaiveDate, last: NaiveDate, i: usize, count: usize) -> NaiveDate {
    let span = (last - first).num_days().max(0);
    first + Duration::days(span * i as i64 / count.max(1) as i64)
}

/// Seeds every record the scale asks for that the database does not hold yet;
/// whether it added any.
pub async fn seed(db: &DatabaseConnection, org: OrgId, scale: Scale) -> Result<bool, String> {
    let count = |table: &'static str| async move {
        db.query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table} WHERE organization_id = {}", org.get()),
        ))
        .await
        .map_err(|e| e.to_string())
        .map(|r| r.and_then(|r| r.try_get::<i64>("", "n").ok()).unwrap_or(0))
    };
    let owners = owners(db, org, scale.clients).await?;
    if owners.is_empty() {
        return Err("the benchmark's clients are missing".to_owned());
    }
    // Quotes and interventions are loaded whole or not at all: numbers and
    // counters cannot resume from a part (invoices resume by year).
    let partial = |table: &str| format!("{table} were partly loaded (an interrupted seed): run with --reseed");
    let mut added = false;
    match count("quotes").await? {
        0 => {
            seed_quotes(db, org, &owners, scale.quotes).await?;
            added = true;
        }
        n if n < scale.quotes as i64 => return Err(partial("quotes")),
        _ => {}
    }
    // The school's cars have their service on record already.
    match count("interventions").await? {
        n if n <= scale.instructors as i64 => {
            seed_interventions(db, org, &owners, scale.interventions).await?;
            added = true;
        }
        n if n < scale.interventions as i64 => return Err(partial("interventions")),
        _ => {}
    }
    if count("invoices").await? < scale.invoices as i64 {
        seed_invoices(db, org, &owners, scale.invoices).await?;
        added = true;
    }
    Ok(added)
}

/// Quotes of the last three years up to yesterday, three lines each on average,
/// numbered `DEV-{year}-{seq}` in date order; the counters continue from them.
async fn seed_quotes(
    db: &DatabaseConnection,
    org: OrgId,
    owners: &[(i64, i64, String)],
    count: usize,
) -> Result<(), String> {
    use volant::workshop::quotes::entity::{counter, line, quote};
    let err = |e: sea_orm::DbErr| e.to_string();
    let mut rng = fastrand::Rng::with_seed(300_000);
    let today = Utc::now().date_naive();
    let (first, last) = (today - Duration::days(3 * 365), today - Duration::days(1));
    let mut sequences: BTreeMap<i32, i64> = BTreeMap::new();
    let mut done = 0;
    while done < count {
        let chunk = (count - done).min(ROWS_PER_INSERT);
        let txn = db.begin().await.map_err(err)?;
        let mut quotes = Vec::with_capacity(chunk);
        let mut lines_of = Vec::with_capacity(chunk);
        for i in done..done + chunk {
            let (client_id, vehicle_id, _) = &owners[rng.usize(..owners.len())];
            let day = spread(first, last, i, count);
            let sequence = sequences.entry(day.year()).or_insert(0);
            *sequence += 1;
            let lines = pick_lines(&mut rng, 5);
            let (excl, vat, incl) = totals(&lines);
            let status = match rng.u8(..10) {
                0..=3 => QuoteStatus::Accepted,
                // A sent quote past its validity was expired by the hourly job.
                4..=5 if day + Duration::days(30) < today => QuoteStatus::Expired,
                4..=5 => QuoteStatus::Sent,
                6 => QuoteStatus::Rejected,
                7..=8 => QuoteStatus::Expired,
                _ => QuoteStatus::Draft,
            };
            let at = day.and_hms_opt(9, 0, 0).ok_or("time")?.and_utc();
            let decided = matches!(status, QuoteStatus::Accepted | QuoteStatus::Rejected);
            quotes.push(quote::ActiveModel {
                organization_id: Set(org.get()),
                number: Set(format!("DEV-{}-{:04}", day.year(), sequence)),
                year: Set(day.year()),
                sequence: Set(*sequence),
                client_id: Set(*client_id),
                vehicle_id: Set(Some(*vehicle_id)),
                status: Set(status),
                issue_date: Set(day),
                valid_until: Set(day + Duration::days(30)),
                currency: Set(Currency::EUR),
                notes: Set(None),
                terms: Set(None),
                total_excl_minor: Set(excl),
                total_vat_minor: Set(vat),
                total_incl_minor: Set(incl),
                line_decisions: Set(false),
                share_token_hash: Set(None),
                share_expires_at: Set(None),
                sent_at: Set((status != QuoteStatus::Draft).then_some(at)),
                decided_at: Set(decided.then(|| at + Duration::days(2))),
                decision_ip: Set(None),
                duplicated_from: Set(None),
                created_at: Set(at),
                updated_at: Set(at),
                ..Default::default()
            });
            lines_of.push((lines, decided.then_some(status == QuoteStatus::Accepted)));
        }
        quote::Entity::insert_many(quotes).exec_without_returning(&txn).await.map_err(err)?;
        let ids = last_ids(&txn, "quotes", chunk).await?;
        let mut rows = Vec::new();
        for (id, (lines, accepted)) in ids.iter().zip(lines_of) {
            for (position, (kind, description, cents)) in lines.into_iter().enumerate() {
                rows.push(line::ActiveModel {
                    quote_id: Set(*id),
                    position: Set(position as i32 + 1),
                    kind: Set(kind),
                    description: Set(description.to_owned()),
                    quantity_milli: Set(1_000),
                    unit: Set(None),
                    unit_price_e4: Set(cents * 100),
                    vat_rate_bp: Set(VAT_BP),
                    discount_bp: Set(0),
                    total_excl_minor: Set(cents),
                    accepted: Set(accepted),
                    ..Default::default()
                });
            }
        }
        for batch in rows.chunks(ROWS_PER_INSERT) {
            line::Entity::insert_many(batch.to_vec()).exec_without_returning(&txn).await.map_err(err)?;
        }
        txn.commit().await.map_err(err)?;
        done += chunk;
        if done % 50_000 < ROWS_PER_INSERT || done == count {
            eprint!("\r  {done} / {count} quotes");
        }
    }
    eprintln!();
    let rows = sequences.iter().map(|(year, last)| counter::ActiveModel {
        organization_id: Set(org.get()),
        year: Set(*year),
        last_number: Set(*last),
    });
    counter::Entity::insert_many(rows).exec_without_returning(db).await.map_err(err)?;
    Ok(())
}

/// The service history: interventions of the last five years on the clients'
/// vehicles, one or two lines each, none under way.
async fn seed_interventions(
    db: &DatabaseConnection,
    org: OrgId,
    owners: &[(i64, i64, String)],
    count: usize,
) -> Result<(), String> {
    use volant::workshop::history::entity::{intervention, line};
    let err = |e: sea_orm::DbErr| e.to_string();
    let mut rng = fastrand::Rng::with_seed(1_000_000);
    let today = Utc::now().date_naive();
    let first = today - Duration::days(5 * 365);
    let mut done = 0;
    while done < count {
        let chunk = (count - done).min(ROWS_PER_INSERT);
        let txn = db.begin().await.map_err(err)?;
        let mut rows = Vec::with_capacity(chunk);
        let mut lines_of = Vec::with_capacity(chunk);
        for i in done..done + chunk {
            let (client_id, vehicle_id, _) = &owners[rng.usize(..owners.len())];
            let day = spread(first, today - Duration::days(1), i, count);
            let lines = pick_lines(&mut rng, 2);
            let (excl, _, _) = totals(&lines);
            rows.push(intervention::ActiveModel {
                organization_id: Set(org.get()),
                vehicle_id: Set(*vehicle_id),
                client_id: Set(Some(*client_id)),
                quote_id: Set(None),
                performed_on: Set(day),
                mileage_km: Set(Some(rng.i64(1_000..250_000))),
                description: Set(lines[0].1.to_owned()),
                technician: Set(Some("Atelier".to_owned())),
                currency: Set(Currency::EUR),
                total_excl_minor: Set(excl),
                created_by: Set(None),
                created_at: Set(day.and_hms_opt(17, 0, 0).ok_or("time")?.and_utc()),
                in_progress: Set(false),
                ..Default::default()
            });
            lines_of.push(lines);
        }
        intervention::Entity::insert_many(rows).exec_without_returning(&txn).await.map_err(err)?;
        let ids = last_ids(&txn, "interventions", chunk).await?;
        let mut rows = Vec::new();
        for (id, lines) in ids.iter().zip(lines_of) {
            for (position, (kind, description, cents)) in lines.into_iter().enumerate() {
                rows.push(line::ActiveModel {
                    intervention_id: Set(*id),
                    position: Set(position as i32 + 1),
                    kind: Set(kind),
                    description: Set(description.to_owned()),
                    quantity_milli: Set(1_000),
                    unit: Set(None),
                    unit_price_e4: Set(cents * 100),
                    vat_rate_bp: Set(VAT_BP),
                    discount_bp: Set(0),
                    total_excl_minor: Set(cents),
                    ..Default::default()
                });
            }
        }
        for batch in rows.chunks(ROWS_PER_INSERT) {
            line::Entity::insert_many(batch.to_vec()).exec_without_returning(&txn).await.map_err(err)?;
        }
        txn.commit().await.map_err(err)?;
        done += chunk;
        if done % 50_000 < ROWS_PER_INSERT || done == count {
            eprint!("\r  {done} / {count} interventions");
        }
    }
    eprintln!();
    Ok(())
}

/// `number` as SQL: the prefix and the zero-padded `sequence` expression.
fn number_sql(backend: DbBackend, prefix: &str, sequence: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("'{prefix}' || lpad(({sequence})::text, 5, '0')"),
        _ => format!("'{prefix}' || printf('%05d', {sequence})"),
    }
}

/// Invoices of the last two full years, issued in date order (numbers
/// `FAC-{year}-{seq:5}`), with the seller and mentions of an invoice the
/// application issued itself; most paid in full, some in part.
async fn seed_invoices(
    db: &DatabaseConnection,
    org: OrgId,
    owners: &[(i64, i64, String)],
    count: usize,
) -> Result<(), String> {
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter, QueryOrder};
    use volant::billing::invoices::entity::{counter, invoice, line, payment};
    use volant::billing::invoices::model::{CustomerKind, InvoiceKind, InvoiceStatus, PaymentKind, PaymentMethod};
    let err = |e: sea_orm::DbErr| e.to_string();
    let backend = db.get_database_backend();
    let model = invoice::Entity::find()
        .filter(invoice::Column::OrganizationId.eq(org.get()))
        .filter(invoice::Column::Status.eq(InvoiceStatus::Issued))
        .order_by_asc(invoice::Column::Id)
        .one(db)
        .await
        .map_err(err)?
        .ok_or("no issued invoice to take the seller from")?;
    let mut rng = fastrand::Rng::with_seed(100_000);
    let this_year = Utc::now().year();
    let yesterday = Utc::now().date_naive() - Duration::days(1);
    let mut done = 0;
    for year in [this_year - 2, this_year - 1] {
        let in_year = count / 2 + if year == this_year - 1 { count % 2 } else { 0 };
        if in_year > 99_999 {
            return Err(format!("{in_year} invoices in {year}: numbers have five digits"));
        }
        // A year already issued is kept (an interrupted seed resumes at the next).
        let issued = invoice::Entity::find()
            .filter(invoice::Column::OrganizationId.eq(org.get()))
            .filter(invoice::Column::Year.eq(year))
            .filter(invoice::Column::Status.eq(InvoiceStatus::Issued))
            .count(db)
            .await
            .map_err(err)?;
        if issued > 0 {
            done += in_year;
            continue;
        }
        let first = NaiveDate::from_ymd_opt(year, 1, 2).ok_or("date")?;
        let last = NaiveDate::from_ymd_opt(year, 12, 30).ok_or("date")?;
        let mut first_id = None;
        let mut last_id = 0;
        let mut paid = Vec::with_capacity(in_year);
        let mut made = 0;
        while made < in_year {
            // 45 columns: 500 rows stay under SQLite's 32,766 bound values.
            let chunk = (in_year - made).min(ROWS_PER_INSERT / 2);
            let txn = db.begin().await.map_err(err)?;
            let mut rows = Vec::with_capacity(chunk);
            let mut lines_of = Vec::with_capacity(chunk);
            for i in made..made + chunk {
                let (client_id, vehicle_id, name) = &owners[rng.usize(..owners.len())];
                let day = spread(first, last, i, in_year);
                let lines = pick_lines(&mut rng, 3);
                let (excl, vat, incl) = totals(&lines);
                let at = day.and_hms_opt(18, 0, 0).ok_or("time")?.and_utc();
                rows.push(invoice::ActiveModel {
                    organization_id: Set(org.get()),
                    kind: Set(InvoiceKind::Invoice),
                    // Drafts first: an issued invoice's lines can no longer be added.
                    status: Set(InvoiceStatus::Draft),
                    number: Set(None),
                    year: Set(Some(year)),
                    sequence: Set(None),
                    customer_kind: Set(CustomerKind::Client),
                    customer_id: Set(*client_id),
                    buyer_name: Set(name.clone()),
                    buyer_address: Set(None),
                    buyer_email: Set(None),
                    buyer_tax_id: Set(None),
                    buyer_is_business: Set(false),
                    vehicle_id: Set(Some(*vehicle_id)),
                    vehicle_label: Set(None),
                    source_kind: Set(None),
                    source_id: Set(None),
                    credited_invoice_id: Set(None),
                    issue_date: Set(Some(day)),
                    service_date: Set(Some(day)),
                    due_date: Set(Some(day + Duration::days(30))),
                    currency: Set(Currency::EUR),
                    notes: Set(None),
                    payment_terms: Set(model.payment_terms.clone()),
                    late_penalty_rate_bp: Set(model.late_penalty_rate_bp),
                    vat_exempt: Set(false),
                    seller_name: Set(model.seller_name.clone()),
                    seller_address: Set(model.seller_address.clone()),
                    seller_registration: Set(model.seller_registration.clone()),
                    seller_vat_number: Set(model.seller_vat_number.clone()),
                    mentions: Set(model.mentions.clone()),
                    total_excl_minor: Set(excl),
                    total_vat_minor: Set(vat),
                    total_incl_minor: Set(incl),
                    issued_at: Set(Some(at)),
                    issued_by: Set(None),
                    share_token_hash: Set(None),
                    share_expires_at: Set(None),
                    sent_at: Set(None),
                    created_at: Set(at),
                    updated_at: Set(at),
                    is_deposit: Set(false),
                    garage_id: Set(model.garage_id),
                    ..Default::default()
                });
                lines_of.push((lines, incl, day));
            }
            invoice::Entity::insert_many(rows).exec_without_returning(&txn).await.map_err(err)?;
            let ids = last_ids(&txn, "invoices", chunk).await?;
            first_id.get_or_insert(ids[0]);
            last_id = ids[ids.len() - 1];
            let mut rows = Vec::new();
            for (id, (lines, incl, day)) in ids.iter().zip(lines_of) {
                for (position, (kind, description, cents)) in lines.into_iter().enumerate() {
                    rows.push(line::ActiveModel {
                        invoice_id: Set(*id),
                        position: Set(position as i32 + 1),
                        kind: Set(kind),
                        description: Set(description.to_owned()),
                        quantity_milli: Set(1_000),
                        unit: Set(None),
                        unit_price_e4: Set(cents * 100),
                        vat_rate_bp: Set(VAT_BP),
                        discount_bp: Set(0),
                        total_excl_minor: Set(cents),
                        deposit_invoice_id: Set(None),
                        ..Default::default()
                    });
                }
                paid.push((*id, incl, day));
            }
            for batch in rows.chunks(ROWS_PER_INSERT) {
                line::Entity::insert_many(batch.to_vec()).exec_without_returning(&txn).await.map_err(err)?;
            }
            txn.commit().await.map_err(err)?;
            made += chunk;
            // PostgreSQL plans the lines' trigger (is the invoice issued?) once per
            // connection; without fresh statistics that plan, made when the table
            // was small, scans the whole table for every line.
            if backend == DbBackend::Postgres && made % 10_000 < ROWS_PER_INSERT {
                db.execute_unprepared("ANALYZE invoices").await.map_err(err)?;
            }
        }
        let Some(first_id) = first_id else { continue };
        // Issued in one statement, numbered in id (= date) order.
        let sequence = format!("id - {} + 1", first_id);
        db.execute_raw(Statement::from_string(
            backend,
            format!(
                "UPDATE invoices SET status = 'issued', sequence = {sequence}, number = {} WHERE id BETWEEN {first_id} AND {last_id}",
                number_sql(backend, &format!("FAC-{year}-"), &sequence)
            ),
        ))
        .await
        .map_err(err)?;
        counter::Entity::insert(counter::ActiveModel {
            organization_id: Set(org.get()),
            kind: Set("invoice".to_owned()),
            year: Set(year),
            last_number: Set(last_id - first_id + 1),
        })
        .exec_without_returning(db)
        .await
        .map_err(err)?;
        // Nine in ten paid in full within a fortnight, one in twenty in part.
        let payments: Vec<payment::ActiveModel> = paid
            .into_iter()
            .filter_map(|(id, incl, day)| {
                let share = rng.u8(..20);
                let amount = match share {
                    0..=17 => incl,
                    18 => incl / 2,
                    _ => return None,
                };
                (amount > 0).then(|| payment::ActiveModel {
                    organization_id: Set(org.get()),
                    invoice_id: Set(id),
                    kind: Set(PaymentKind::Payment),
                    method: Set(
                        [PaymentMethod::Card, PaymentMethod::Transfer, PaymentMethod::Cash][usize::from(share % 3)]
                    ),
                    provider: Set(None),
                    reference: Set(None),
                    amount_minor: Set(amount),
                    currency: Set(Currency::EUR),
                    received_on: Set((day + Duration::days(i64::from(share % 14))).min(yesterday)),
                    note: Set(None),
                    recorded_by: Set(None),
                    created_at: Set(day.and_hms_opt(19, 0, 0).unwrap_or_default().and_utc()),
                    ..Default::default()
                })
            })
            .collect();
        let txn = db.begin().await.map_err(err)?;
        for batch in payments.chunks(ROWS_PER_INSERT) {
            payment::Entity::insert_many(batch.to_vec()).exec_without_returning(&txn).await.map_err(err)?;
        }
        txn.commit().await.map_err(err)?;
        done += in_year;
        eprint!("\r  {done} / {count} invoices");
    }
    eprintln!();
    Ok(())
}
