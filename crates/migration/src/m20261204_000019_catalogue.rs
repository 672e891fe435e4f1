//! The workshop's catalogue: the parts and labour a garage quotes again and
//! again, with their prices, offered as the quote editor's lines are typed.
//! A description is unique per organization once case and spaces are set aside
//! (`search_name`, which the suggestions also read).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum CatalogueItems {
    Table,
    Id,
    OrganizationId,
    Kind,
    Description,
    SearchName,
    Unit,
    UnitPriceE4,
    VatRateBp,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let timestamp = |column| ColumnDef::new(column).timestamp_with_time_zone().not_null().to_owned();
        manager
            .create_table(
                Table::create()
                    .table(CatalogueItems::Table)
                    .col(ColumnDef::new(CatalogueItems::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(CatalogueItems::OrganizationId).big_integer().not_null())
                    .col(ColumnDef::new(CatalogueItems::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(CatalogueItems::Description).string_len(500).not_null())
                    .col(ColumnDef::new(CatalogueItems::SearchName).text().not_null())
                    .col(ColumnDef::new(CatalogueItems::Unit).string_len(20).null())
                    .col(ColumnDef::new(CatalogueItems::UnitPriceE4).big_integer().not_null())
                    .col(ColumnDef::new(CatalogueItems::VatRateBp).integer().not_null())
                    .col(timestamp(CatalogueItems::CreatedAt))
                    .col(timestamp(CatalogueItems::UpdatedAt))
                    .check(Expr::col(CatalogueItems::Kind).is_in(["part", "labour", "other"]))
                    .check(Expr::col(CatalogueItems::UnitPriceE4).gte(0))
                    .check(Expr::col(CatalogueItems::VatRateBp).between(0, 10_000))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_catalogue_items_organization")
                            .from(CatalogueItems::Table, CatalogueItems::OrganizationId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for sql in [
            "CREATE UNIQUE INDEX idx_catalogue_items_organization_search_name ON catalogue_items (organization_id, search_name)",
            "CREATE INDEX idx_catalogue_items_organization_id_id ON catalogue_items (organization_id, id)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(CatalogueItems::Table).to_owned()).await
    }
}
