//! The administration around a candidate: their file, initial evaluations,
//! training contracts, the contracts' funding sources and amendments.

use crate::platform::db::table;

table! {
    pub mod file = "school_candidate_files" {
        #[sea_orm(primary_key, auto_increment = false)]
        pub candidate_id: i64,
        pub organization_id: i64,
        pub neph: Option<String>,
        /// Categories already held, comma-separated (`AM,A1`).
        pub categories_held: String,
        pub road_safety: Option<crate::school::enrolment::service::RoadSafety>,
        pub ephoto_code: Option<String>,
        pub medical_required: bool,
        pub guardian_name: Option<String>,
        pub guardian_email: Option<String>,
        pub guardian_phone: Option<String>,
        pub guardian_consent_on: Option<Date>,
        /// The candidate's 18th birthday: the guardian's copies stop then.
        pub guardian_until: Option<Date>,
        pub file_submitted_on: Option<Date>,
        pub neph_received_on: Option<Date>,
        pub theory_booked_on: Option<Date>,
        pub theory_passed_on: Option<Date>,
        pub practical_booked_on: Option<Date>,
        pub practical_passed_on: Option<Date>,
        pub updated_at: DateTimeUtc,
    }
}

table! {
    pub mod evaluation = "school_evaluations" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub candidate_id: i64,
        pub evaluated_on: Date,
        pub instructor_id: Option<i64>,
        pub result: String,
        pub forecast_minutes: i32,
        pub recorded_by: Option<i64>,
        pub created_at: DateTimeUtc,
    }
}

table! {
    pub mod contract = "school_contracts" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub candidate_id: i64,
        pub number: String,
        pub status: crate::school::enrolment::service::ContractStatus,
        pub evaluation_id: i64,
        pub pack_id: i64,
        pub instalments: i32,
        pub first_due_on: Date,
        /// What was signed, as JSON ([`crate::school::enrolment::service::Terms`]).
        pub terms: Option<String>,
        pub signed_at: Option<DateTimeUtc>,
        pub signature_method: Option<crate::school::enrolment::service::SignatureMethod>,
        pub candidate_signer: Option<String>,
        pub guardian_signer: Option<String>,
        pub signed_by: Option<i64>,
        pub scan_document_id: Option<i64>,
        pub sale_id: Option<i64>,
        pub ended_on: Option<Date>,
        pub end_reason: Option<crate::school::enrolment::service::EndReason>,
        pub end_note: Option<String>,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}

table! {
    pub mod funding = "school_contract_fundings" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub contract_id: i64,
        pub source: crate::school::enrolment::service::FundingSource,
        pub amount_minor: i64,
        pub reference: Option<String>,
        pub lender: Option<String>,
        pub expected_on: Option<Date>,
    }
}

table! {
    pub mod amendment = "school_contract_amendments" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub organization_id: i64,
        pub contract_id: i64,
        pub position: i32,
        pub status: crate::school::enrolment::service::AmendmentStatus,
        pub summary: String,
        pub forecast_minutes: Option<i32>,
        pub pack_id: Option<i64>,
        pub sale_id: Option<i64>,
        pub signed_at: Option<DateTimeUtc>,
        pub signature_method: Option<crate::school::enrolment::service::SignatureMethod>,
        pub candidate_signer: Option<String>,
        pub guardian_signer: Option<String>,
        pub signed_by: Option<i64>,
        pub scan_document_id: Option<i64>,
        pub created_by: Option<i64>,
        pub created_at: DateTimeUtc,
    }
}
