//! What the benchmark asked for: each garage's vehicle count kept by the database
//! (listing garages no longer counts a million rows), and indexes for searching
//! vehicles by brand or model prefix whatever the case.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Garages {
    Table,
    VehicleCount,
}

const SQLITE_TRIGGERS: &[&str] = &[
    "CREATE TRIGGER trg_vehicles_count_insert AFTER INSERT ON vehicles BEGIN \
     UPDATE garages SET vehicle_count = vehicle_count + 1 WHERE id = NEW.garage_id; END",
    "CREATE TRIGGER trg_vehicles_count_delete AFTER DELETE ON vehicles BEGIN \
     UPDATE garages SET vehicle_count = vehicle_count - 1 WHERE id = OLD.garage_id; END",
    "CREATE TRIGGER trg_vehicles_count_move AFTER UPDATE OF garage_id ON vehicles \
     WHEN NEW.garage_id <> OLD.garage_id BEGIN \
     UPDATE garages SET vehicle_count = vehicle_count + CASE WHEN id = NEW.garage_id THEN 1 ELSE -1 END \
     WHERE id IN (OLD.garage_id, NEW.garage_id); END",
];

// One UPDATE for a move touches both garages in index order, so two opposite
// moves cannot deadlock.
const POSTGRES_TRIGGERS: &[&str] = &[
    "CREATE FUNCTION fleet_count_vehicles() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF TG_OP = 'INSERT' THEN
         UPDATE garages SET vehicle_count = vehicle_count + 1 WHERE id = NEW.garage_id;
       ELSIF TG_OP = 'DELETE' THEN
         UPDATE garages SET vehicle_count = vehicle_count - 1 WHERE id = OLD.garage_id;
       ELSE
         UPDATE garages SET vehicle_count = vehicle_count + CASE WHEN id = NEW.garage_id THEN 1 ELSE -1 END
         WHERE id IN (OLD.garage_id, NEW.garage_id);
       END IF;
       RETURN NULL;
     END $$",
    "CREATE TRIGGER trg_vehicles_count AFTER INSERT OR DELETE ON vehicles \
     FOR EACH ROW EXECUTE FUNCTION fleet_count_vehicles()",
    "CREATE TRIGGER trg_vehicles_count_move AFTER UPDATE OF garage_id ON vehicles \
     FOR EACH ROW WHEN (OLD.garage_id IS DISTINCT FROM NEW.garage_id) EXECUTE FUNCTION fleet_count_vehicles()",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Garages::Table)
                    .add_column(ColumnDef::new(Garages::VehicleCount).big_integer().not_null().default(0))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE garages SET vehicle_count = (SELECT COUNT(*) FROM vehicles WHERE vehicles.garage_id = garages.id)",
        )
        .await?;
        let triggers = match manager.get_database_backend() {
            DatabaseBackend::Postgres => POSTGRES_TRIGGERS,
            _ => SQLITE_TRIGGERS,
        };
        for sql in triggers {
            db.execute_unprepared(sql).await?;
        }
        // Search matches the start of the brand or model, ignoring case: these indexes
        // give the distinct values of a prefix in a few seeks, then each value's
        // vehicles in id order (a page without sorting). The plate's prefix uses the
        // unique (organization, normalized plate) index.
        db.execute_unprepared("DROP INDEX idx_vehicles_brand").await?;
        db.execute_unprepared("CREATE INDEX idx_vehicles_brand_lower ON vehicles (organization_id, lower(brand), id)")
            .await?;
        db.execute_unprepared("CREATE INDEX idx_vehicles_model_lower ON vehicles (organization_id, lower(model), id)")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX idx_vehicles_model_lower").await?;
        db.execute_unprepared("DROP INDEX idx_vehicles_brand_lower").await?;
        db.execute_unprepared("CREATE INDEX idx_vehicles_brand ON vehicles (organization_id, brand)").await?;
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared("DROP TRIGGER trg_vehicles_count_move ON vehicles").await?;
                db.execute_unprepared("DROP TRIGGER trg_vehicles_count ON vehicles").await?;
                db.execute_unprepared("DROP FUNCTION fleet_count_vehicles()").await?;
            }
            _ => {
                for name in ["trg_vehicles_count_insert", "trg_vehicles_count_delete", "trg_vehicles_count_move"] {
                    db.execute_unprepared(&format!("DROP TRIGGER {name}")).await?;
                }
            }
        }
        manager.alter_table(Table::alter().table(Garages::Table).drop_column(Garages::VehicleCount).to_owned()).await
    }
}
