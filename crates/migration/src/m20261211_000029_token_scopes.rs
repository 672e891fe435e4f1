//! Personal API tokens get scopes (read or write, per area of the API) and,
//! optionally, the address ranges they may be used from. Tokens created before
//! keep what they had: every area, written.

use sea_orm_migration::prelude::*;

#[derive(DeriveIden)]
enum ApiTokens {
    Table,
    Scopes,
    AllowedIps,
}

/// What `Grant::full().to_stored()` wrote on the day scopes came.
const EVERY_AREA_WRITTEN: &str =
    "account:write fleet:write workshop:write school:write billing:write consents:write administration:write";

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let scopes = ColumnDef::new(ApiTokens::Scopes).text().not_null().default("").to_owned();
        manager.alter_table(Table::alter().table(ApiTokens::Table).add_column(scopes).to_owned()).await?;
        let ips = ColumnDef::new(ApiTokens::AllowedIps).text().null().to_owned();
        manager.alter_table(Table::alter().table(ApiTokens::Table).add_column(ips).to_owned()).await?;
        manager
            .get_connection()
            .execute_unprepared(&format!("UPDATE api_tokens SET scopes = '{EVERY_AREA_WRITTEN}'"))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(ApiTokens::Table).drop_column(ApiTokens::AllowedIps).to_owned())
            .await?;
        manager.alter_table(Table::alter().table(ApiTokens::Table).drop_column(ApiTokens::Scopes).to_owned()).await
    }
}
