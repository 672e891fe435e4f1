//! Platform operators: a flag on users, outside organizations. Operators see the
//! instance's status and the platform-wide jobs (those of no organization).
//! An existing instance makes its first administrator of the default (oldest)
//! organization the operator, so the status page is not lost on upgrade.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    OrganizationId,
    IsOperator,
}

#[derive(DeriveIden)]
enum UserRoles {
    Table,
    UserId,
    Role,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(ColumnDef::new(Users::IsOperator).boolean().not_null().default(false))
                    .to_owned(),
            )
            .await?;
        // The oldest administrator of the oldest organization.
        let default_org =
            Query::select().expr(Func::min(Expr::col(Organizations::Id))).from(Organizations::Table).to_owned();
        let first_admin = Query::select()
            .expr(Func::min(Expr::col((Users::Table, Users::Id))))
            .from(Users::Table)
            .inner_join(
                UserRoles::Table,
                Expr::col((UserRoles::Table, UserRoles::UserId)).equals((Users::Table, Users::Id)),
            )
            .and_where(Expr::col((UserRoles::Table, UserRoles::Role)).eq("admin"))
            .and_where(Expr::col((Users::Table, Users::OrganizationId)).in_subquery(default_org))
            .to_owned();
        manager
            .exec_stmt(
                Query::update()
                    .table(Users::Table)
                    .value(Users::IsOperator, true)
                    .and_where(Expr::col(Users::Id).in_subquery(first_admin))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::IsOperator).to_owned()).await
    }
}
