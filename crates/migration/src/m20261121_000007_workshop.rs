//! Workshop (seed 004): clients and their vehicles over time, quotes (devis) with
//! gapless numbering per organization and year, and the e-mail outbox.
//!
//! Money is stored as integers in exact units: amounts in the currency's minor
//! unit (cents), unit prices in ten-thousandths, quantities in thousandths, rates
//! in basis points. The application computes with `rust_decimal`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Vehicles {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Clients {
    Table,
    Id,
    OrganizationId,
    Kind,
    Name,
    CompanyName,
    TaxId,
    Email,
    Phone,
    Address,
    Notes,
    ConsentMarketing,
    ConsentNotifications,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ClientSearchTerms {
    Table,
    OrganizationId,
    Term,
    ClientId,
}

#[derive(DeriveIden)]
enum VehicleOwnerships {
    Table,
    Id,
    OrganizationId,
    VehicleId,
    ClientId,
    StartedAt,
    EndedAt,
}

#[derive(DeriveIden)]
enum WorkshopSettings {
    Table,
    OrganizationId,
    QuoteNumberFormat,
    QuoteValidityDays,
    LineDecisions,
    QuoteTerms,
    LegalMentions,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum QuoteCounters {
    Table,
    OrganizationId,
    Year,
    LastNumber,
}

#[derive(DeriveIden)]
enum Quotes {
    Table,
    Id,
    OrganizationId,
    Number,
    Year,
    Sequence,
    ClientId,
    VehicleId,
    Status,
    IssueDate,
    ValidUntil,
    Currency,
    Notes,
    Terms,
    TotalExclMinor,
    TotalVatMinor,
    TotalInclMinor,
    LineDecisions,
    ShareTokenHash,
    ShareExpiresAt,
    SentAt,
    DecidedAt,
    DecisionIp,
    DuplicatedFrom,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum QuoteLines {
    Table,
    Id,
    QuoteId,
    Position,
    Kind,
    Description,
    QuantityMilli,
    Unit,
    UnitPriceE4,
    VatRateBp,
    DiscountBp,
    TotalExclMinor,
    Accepted,
}

#[derive(DeriveIden)]
enum EmailOutbox {
    Table,
    Id,
    OrganizationId,
    ToAddress,
    Subject,
    BodyText,
    AttachmentName,
    AttachmentType,
    Attachment,
    Status,
    Attempts,
    LastError,
    CreatedAt,
    SentAt,
}

fn id<T: IntoIden>(column: T) -> ColumnDef {
    ColumnDef::new(column).big_integer().not_null().auto_increment().primary_key().to_owned()
}

fn timestamp<T: IntoIden>(column: T) -> ColumnDef {
    ColumnDef::new(column).timestamp_with_time_zone().not_null().to_owned()
}

fn organization_fk(table: impl IntoIden, name: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from_tbl(table)
        .from_col(Alias::new("organization_id"))
        .to(Organizations::Table, Organizations::Id)
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

const INDEXES: &[&str] = &[
    "CREATE INDEX idx_clients_organization_id_id ON clients (organization_id, id)",
    "CREATE INDEX idx_client_search_terms_client_id ON client_search_terms (client_id)",
    // At most one current owner per vehicle; the ended rows are its history.
    "CREATE UNIQUE INDEX uq_vehicle_ownerships_current ON vehicle_ownerships (vehicle_id) WHERE ended_at IS NULL",
    "CREATE INDEX idx_vehicle_ownerships_vehicle_id ON vehicle_ownerships (vehicle_id, started_at)",
    "CREATE INDEX idx_vehicle_ownerships_client_id ON vehicle_ownerships (client_id, ended_at)",
    "CREATE UNIQUE INDEX uq_quotes_number ON quotes (organization_id, number)",
    "CREATE UNIQUE INDEX uq_quotes_sequence ON quotes (organization_id, year, sequence)",
    "CREATE UNIQUE INDEX uq_quotes_share_token_hash ON quotes (share_token_hash)",
    "CREATE INDEX idx_quotes_organization_id_id ON quotes (organization_id, id)",
    "CREATE INDEX idx_quotes_client_id ON quotes (client_id, id)",
    "CREATE INDEX idx_quotes_vehicle_id ON quotes (vehicle_id)",
    "CREATE INDEX idx_quotes_duplicated_from ON quotes (duplicated_from)",
    "CREATE INDEX idx_quotes_status_valid_until ON quotes (status, valid_until)",
    "CREATE INDEX idx_quotes_organization_issue_date ON quotes (organization_id, issue_date)",
    "CREATE INDEX idx_quote_lines_quote_id ON quote_lines (quote_id, position)",
    "CREATE INDEX idx_email_outbox_status ON email_outbox (status, id)",
    "CREATE INDEX idx_email_outbox_organization_id ON email_outbox (organization_id, id)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Clients::Table)
                    .col(id(Clients::Id))
                    .col(ColumnDef::new(Clients::OrganizationId).big_integer().not_null())
                    .col(ColumnDef::new(Clients::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(Clients::Name).string_len(120).not_null())
                    .col(ColumnDef::new(Clients::CompanyName).string_len(120).null())
                    .col(ColumnDef::new(Clients::TaxId).string_len(40).null())
                    .col(ColumnDef::new(Clients::Email).string_len(254).null())
                    .col(ColumnDef::new(Clients::Phone).string_len(40).null())
                    .col(ColumnDef::new(Clients::Address).string_len(255).null())
                    .col(ColumnDef::new(Clients::Notes).text().null())
                    .col(ColumnDef::new(Clients::ConsentMarketing).boolean().not_null().default(false))
                    .col(ColumnDef::new(Clients::ConsentNotifications).boolean().not_null().default(false))
                    .col(timestamp(Clients::CreatedAt))
                    .col(timestamp(Clients::UpdatedAt))
                    .check(Expr::col(Clients::Kind).is_in(["individual", "company"]))
                    .foreign_key(&mut organization_fk(Clients::Table, "fk_clients_organization"))
                    .to_owned(),
            )
            .await?;
        // Search: every word of a client's names, e-mail and phone digits, lower-cased;
        // a prefix search is one range of this table's primary key.
        manager
            .create_table(
                Table::create()
                    .table(ClientSearchTerms::Table)
                    .col(ColumnDef::new(ClientSearchTerms::OrganizationId).big_integer().not_null())
                    .col(ColumnDef::new(ClientSearchTerms::Term).string_len(254).not_null())
                    .col(ColumnDef::new(ClientSearchTerms::ClientId).big_integer().not_null())
                    .primary_key(
                        Index::create()
                            .col(ClientSearchTerms::OrganizationId)
                            .col(ClientSearchTerms::Term)
                            .col(ClientSearchTerms::ClientId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_client_search_terms_client")
                            .from(ClientSearchTerms::Table, ClientSearchTerms::ClientId)
                            .to(Clients::Table, Clients::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(VehicleOwnerships::Table)
                    .col(id(VehicleOwnerships::Id))
                    .col(ColumnDef::new(VehicleOwnerships::OrganizationId).big_integer().not_null())
                    .col(ColumnDef::new(VehicleOwnerships::VehicleId).big_integer().not_null())
                    .col(ColumnDef::new(VehicleOwnerships::ClientId).big_integer().not_null())
                    .col(timestamp(VehicleOwnerships::StartedAt))
                    .col(ColumnDef::new(VehicleOwnerships::EndedAt).timestamp_with_time_zone().null())
                    .foreign_key(&mut organization_fk(VehicleOwnerships::Table, "fk_vehicle_ownerships_organization"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_vehicle_ownerships_vehicle")
                            .from(VehicleOwnerships::Table, VehicleOwnerships::VehicleId)
                            .to(Vehicles::Table, Vehicles::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_vehicle_ownerships_client")
                            .from(VehicleOwnerships::Table, VehicleOwnerships::ClientId)
                            .to(Clients::Table, Clients::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WorkshopSettings::Table)
                    .col(ColumnDef::new(WorkshopSettings::OrganizationId).big_integer().not_null().primary_key())
                    .col(ColumnDef::new(WorkshopSettings::QuoteNumberFormat).string_len(60).not_null())
                    .col(ColumnDef::new(WorkshopSettings::QuoteValidityDays).integer().not_null())
                    .col(ColumnDef::new(WorkshopSettings::LineDecisions).boolean().not_null())
                    .col(ColumnDef::new(WorkshopSettings::QuoteTerms).text().null())
                    .col(ColumnDef::new(WorkshopSettings::LegalMentions).text().null())
                    .col(timestamp(WorkshopSettings::UpdatedAt))
                    .foreign_key(&mut organization_fk(WorkshopSettings::Table, "fk_workshop_settings_organization"))
                    .to_owned(),
            )
            .await?;
        // The last quote number given per organization and year. Taking a number
        // increments this row inside the quote's own transaction: concurrent creators
        // queue on the row, and a rolled-back creation gives its number back.
        manager
            .create_table(
                Table::create()
                    .table(QuoteCounters::Table)
                    .col(ColumnDef::new(QuoteCounters::OrganizationId).big_integer().not_null())
                    .col(ColumnDef::new(QuoteCounters::Year).integer().not_null())
                    .col(ColumnDef::new(QuoteCounters::LastNumber).big_integer().not_null())
                    .primary_key(Index::create().col(QuoteCounters::OrganizationId).col(QuoteCounters::Year))
                    .foreign_key(&mut organization_fk(QuoteCounters::Table, "fk_quote_counters_organization"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Quotes::Table)
                    .col(id(Quotes::Id))
                    .col(ColumnDef::new(Quotes::OrganizationId).big_integer().not_null())
                    .col(ColumnDef::new(Quotes::Number).string_len(60).not_null())
                    .col(ColumnDef::new(Quotes::Year).integer().not_null())
                    .col(ColumnDef::new(Quotes::Sequence).big_integer().not_null())
                    .col(ColumnDef::new(Quotes::ClientId).big_integer().not_null())
                    .col(ColumnDef::new(Quotes::VehicleId).big_integer().null())
                    .col(ColumnDef::new(Quotes::Status).string_len(16).not_null())
                    .col(ColumnDef::new(Quotes::IssueDate).date().not_null())
                    .col(ColumnDef::new(Quotes::ValidUntil).date().not_null())
                    .col(ColumnDef::new(Quotes::Currency).string_len(3).not_null())
                    .col(ColumnDef::new(Quotes::Notes).text().null())
                    .col(ColumnDef::new(Quotes::Terms).text().null())
                    .col(ColumnDef::new(Quotes::TotalExclMinor).big_integer().not_null())
                    .col(ColumnDef::new(Quotes::TotalVatMinor).big_integer().not_null())
                    .col(ColumnDef::new(Quotes::TotalInclMinor).big_integer().not_null())
                    .col(ColumnDef::new(Quotes::LineDecisions).boolean().not_null())
                    .col(ColumnDef::new(Quotes::ShareTokenHash).string_len(64).null())
                    .col(ColumnDef::new(Quotes::ShareExpiresAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Quotes::SentAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Quotes::DecidedAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Quotes::DecisionIp).string_len(64).null())
                    .col(ColumnDef::new(Quotes::DuplicatedFrom).big_integer().null())
                    .col(timestamp(Quotes::CreatedAt))
                    .col(timestamp(Quotes::UpdatedAt))
                    .check(Expr::col(Quotes::Status).is_in(["draft", "sent", "accepted", "rejected", "expired"]))
                    .check(Expr::col(Quotes::ValidUntil).gte(Expr::col(Quotes::IssueDate)))
                    .foreign_key(&mut organization_fk(Quotes::Table, "fk_quotes_organization"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_quotes_client")
                            .from(Quotes::Table, Quotes::ClientId)
                            .to(Clients::Table, Clients::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_quotes_vehicle")
                            .from(Quotes::Table, Quotes::VehicleId)
                            .to(Vehicles::Table, Vehicles::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_quotes_duplicated_from")
                            .from(Quotes::Table, Quotes::DuplicatedFrom)
                            .to(Quotes::Table, Quotes::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(QuoteLines::Table)
                    .col(id(QuoteLines::Id))
                    .col(ColumnDef::new(QuoteLines::QuoteId).big_integer().not_null())
                    .col(ColumnDef::new(QuoteLines::Position).integer().not_null())
                    .col(ColumnDef::new(QuoteLines::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(QuoteLines::Description).string_len(500).not_null())
                    .col(ColumnDef::new(QuoteLines::QuantityMilli).big_integer().not_null())
                    .col(ColumnDef::new(QuoteLines::Unit).string_len(20).null())
                    .col(ColumnDef::new(QuoteLines::UnitPriceE4).big_integer().not_null())
                    .col(ColumnDef::new(QuoteLines::VatRateBp).integer().not_null())
                    .col(ColumnDef::new(QuoteLines::DiscountBp).integer().not_null())
                    .col(ColumnDef::new(QuoteLines::TotalExclMinor).big_integer().not_null())
                    .col(ColumnDef::new(QuoteLines::Accepted).boolean().null())
                    .check(Expr::col(QuoteLines::Kind).is_in(["part", "labour", "other"]))
                    .check(Expr::col(QuoteLines::QuantityMilli).gt(0))
                    .check(Expr::col(QuoteLines::DiscountBp).between(0, 10_000))
                    .check(Expr::col(QuoteLines::VatRateBp).between(0, 10_000))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_quote_lines_quote")
                            .from(QuoteLines::Table, QuoteLines::QuoteId)
                            .to(Quotes::Table, Quotes::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // E-mails waiting for the notification module to deliver them: written in the
        // transaction of what caused them, so none is lost.
        manager
            .create_table(
                Table::create()
                    .table(EmailOutbox::Table)
                    .col(id(EmailOutbox::Id))
                    .col(ColumnDef::new(EmailOutbox::OrganizationId).big_integer().not_null())
                    .col(ColumnDef::new(EmailOutbox::ToAddress).string_len(254).not_null())
                    .col(ColumnDef::new(EmailOutbox::Subject).string_len(255).not_null())
                    .col(ColumnDef::new(EmailOutbox::BodyText).text().not_null())
                    .col(ColumnDef::new(EmailOutbox::AttachmentName).string_len(255).null())
                    .col(ColumnDef::new(EmailOutbox::AttachmentType).string_len(100).null())
                    .col(ColumnDef::new(EmailOutbox::Attachment).blob().null())
                    .col(ColumnDef::new(EmailOutbox::Status).string_len(16).not_null())
                    .col(ColumnDef::new(EmailOutbox::Attempts).integer().not_null().default(0))
                    .col(ColumnDef::new(EmailOutbox::LastError).text().null())
                    .col(timestamp(EmailOutbox::CreatedAt))
                    .col(ColumnDef::new(EmailOutbox::SentAt).timestamp_with_time_zone().null())
                    .check(Expr::col(EmailOutbox::Status).is_in(["pending", "sent", "failed"]))
                    .foreign_key(&mut organization_fk(EmailOutbox::Table, "fk_email_outbox_organization"))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for sql in INDEXES {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["email_outbox", "quote_lines", "quotes", "quote_counters", "workshop_settings"] {
            manager.drop_table(Table::drop().table(Alias::new(table)).to_owned()).await?;
        }
        for table in ["vehicle_ownerships", "client_search_terms", "clients"] {
            manager.drop_table(Table::drop().table(Alias::new(table)).to_owned()).await?;
        }
        Ok(())
    }
}
