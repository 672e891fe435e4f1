//! Database schema for Volant, written with SeaQuery builders so the same
//! migrations run on SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261121_000001_fleet;
mod m20261121_000002_identity;
mod m20261121_000003_audit;
mod m20261121_000004_api_tokens;
mod m20261121_000005_organization_settings;
mod m20261121_000006_fleet_performance;
mod m20261121_000007_workshop;
mod m20261121_000008_service_history;
mod m20261121_000009_school;
mod m20261121_000010_school_more;
mod m20261121_000011_jobs_notify;
mod m20261202_000012_quote_accepted_totals;
mod m20261202_000013_operators;
mod m20261203_000014_password_links;
mod m20261203_000015_deliveries_delivered;
mod m20261203_000016_mail_settings;
mod m20261203_000017_organization_profile;
mod m20261203_000018_lesson_cancellations;
mod m20261204_000019_catalogue;
mod m20261204_000020_organization_logos;
mod m20261204_000021_quote_sort_indexes;
mod m20261204_000022_alert_reminders;
mod m20261205_000023_sort_names;
mod m20261206_000024_billing;
mod m20261207_000025_school_packs;
mod m20261208_000026_invoice_deposits;
mod m20261209_000027_attachments;
mod m20261210_000028_document_settings;
mod m20261211_000029_token_scopes;
mod m20261212_000030_two_factor;
mod m20261213_000031_webhooks;
mod m20261214_000032_single_sign_on;
mod m20261215_000033_imports;
mod m20261216_000034_credential_changes;
mod m20261217_000035_dashboard_indexes;
mod m20261218_000036_alert_refreshes;
mod m20261218_000037_notification_inbox_indexes;
mod m20261219_000038_idempotency_keys;
mod m20261219_000039_interventions_under_way;
mod m20261219_000040_push_subscriptions;
mod m20261220_000041_maps_and_weather;
mod m20261221_000042_school_enrolment;
mod m20261222_000043_restore_drills;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_fleet::Migration),
            Box::new(m20261121_000002_identity::Migration),
            Box::new(m20261121_000003_audit::Migration),
            Box::new(m20261121_000004_api_tokens::Migration),
            Box::new(m20261121_000005_organization_settings::Migration),
            Box::new(m20261121_000006_fleet_performance::Migration),
            Box::new(m20261121_000007_workshop::Migration),
            Box::new(m20261121_000008_service_history::Migration),
            Box::new(m20261121_000009_school::Migration),
            Box::new(m20261121_000010_school_more::Migration),
            Box::new(m20261121_000011_jobs_notify::Migration),
            Box::new(m20261202_000012_quote_accepted_totals::Migration),
            Box::new(m20261202_000013_operators::Migration),
            Box::new(m20261203_000014_password_links::Migration),
            Box::new(m20261203_000015_deliveries_delivered::Migration),
            Box::new(m20261203_000016_mail_settings::Migration),
            Box::new(m20261203_000017_organization_profile::Migration),
            Box::new(m20261203_000018_lesson_cancellations::Migration),
            Box::new(m20261204_000019_catalogue::Migration),
            Box::new(m20261204_000020_organization_logos::Migration),
            Box::new(m20261204_000021_quote_sort_indexes::Migration),
            Box::new(m20261204_000022_alert_reminders::Migration),
            Box::new(m20261205_000023_sort_names::Migration),
            Box::new(m20261206_000024_billing::Migration),
            Box::new(m20261207_000025_school_packs::Migration),
            Box::new(m20261208_000026_invoice_deposits::Migration),
            Box::new(m20261209_000027_attachments::Migration),
            Box::new(m20261210_000028_document_settings::Migration),
            Box::new(m20261211_000029_token_scopes::Migration),
            Box::new(m20261212_000030_two_factor::Migration),
            Box::new(m20261213_000031_webhooks::Migration),
            Box::new(m20261214_000032_single_sign_on::Migration),
            Box::new(m20261215_000033_imports::Migration),
            Box::new(m20261216_000034_credential_changes::Migration),
            Box::new(m20261217_000035_dashboard_indexes::Migration),
            Box::new(m20261218_000036_alert_refreshes::Migration),
            Box::new(m20261218_000037_notification_inbox_indexes::Migration),
            Box::new(m20261219_000038_idempotency_keys::Migration),
            Box::new(m20261219_000039_interventions_under_way::Migration),
            Box::new(m20261219_000040_push_subscriptions::Migration),
            Box::new(m20261220_000041_maps_and_weather::Migration),
            Box::new(m20261221_000042_school_enrolment::Migration),
            Box::new(m20261222_000043_restore_drills::Migration),
        ]
    }
}
