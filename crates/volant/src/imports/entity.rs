//! The tables imports own.

use crate::platform::db::table;

table! {
    pub mod import = "imports" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub kind: crate::imports::ImportKind,
        pub file_name: String,
        /// Where the file is kept in the file store.
        pub file_key: String,
        /// The file's headers, a JSON array of strings.
        pub headers: String,
        /// The first rows, a JSON array of arrays of strings (the mapping screen shows them).
        pub sample: String,
        /// For each of the kind's fields, the column it is read from: a JSON array of numbers or nulls.
        pub mapping: Option<String>,
        /// The vehicle a whole file is about, how it writes dates: JSON ([`crate::imports::service::ImportOptions`]).
        pub options: Option<String>,
        pub status: crate::imports::ImportStatus,
        /// Checking, importing or undoing: one at a time per organization (unique index).
        pub active: bool,
        /// The job of the current run: only its runner may write the import's progress.
        pub job_id: Option<i64>,
        pub total_rows: i64,
        pub processed_rows: i64,
        pub created_rows: i64,
        pub updated_rows: i64,
        pub refused_rows: i64,
        /// Changes to undo, and undone so far (while undoing).
        pub undo_total: i64,
        pub undone_rows: i64,
        pub error: Option<String>,
        /// The language the rows' refusals are written in (the importer's).
        pub locale: crate::platform::i18n::Locale,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub finished_at: Option<DateTimeUtc>,
    }
}

table! {
    pub mod result = "import_results" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub import_id: i64,
        /// `check` (the dry run) or `import`.
        pub phase: String,
        pub line: i64,
        /// `created`, `updated`, `unchanged` or `refused`.
        pub outcome: String,
        pub label: String,
        pub reason: Option<String>,
    }
}

table! {
    pub mod change = "import_changes" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub import_id: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub entity: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub entity_id: i64,
        /// The order changes were made in (undone in reverse).
        pub seq: i64,
        pub action: String,
        pub label: String,
        /// The record's fields before the import (for an update), JSON encrypted
        /// with the field key (a candidate's file holds sensitive fields).
        pub previous: Option<String>,
        /// The record's `updated_at` after the import: an undo touches it only while it is still this.
        pub stamp: DateTimeUtc,
    }
}
