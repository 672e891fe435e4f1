//! What documents belong to, and the kinds each owner takes.

use crate::identity::roles::Permission;
use crate::platform::enums::string_enum;

string_enum! {
    /// The kind of object a document belongs to.
    #[derive(utoipa::ToSchema)]
    pub enum OwnerKind (labels "document.owner.") {
        Vehicle,
        Intervention,
        Quote,
        Invoice,
        Client,
        Candidate,
        Instructor,
    }
}

string_enum! {
    /// What a document is; each owner takes its own list ([`OwnerKind::kinds`]).
    #[derive(utoipa::ToSchema)]
    pub enum DocumentKind (labels "document.kind.") {
        /// Carte grise.
        RegistrationCertificate,
        /// Procès-verbal de contrôle technique.
        InspectionReport,
        /// Attestation d'assurance.
        Insurance,
        Photo,
        PhotoBefore,
        PhotoAfter,
        /// A parts receipt, a supplier's invoice.
        Receipt,
        /// A photo taken at check-in.
        CheckinPhoto,
        /// The customer's signature of a check-in (made by the check-in only).
        Signature,
        /// The check-in's PDF (made by the check-in only).
        CheckinReport,
        SupportingDocument,
        IdentityDocument,
        ProofOfAddress,
        MedicalCertificate,
        /// ASSR / ASR (road safety certificates).
        Assr,
        DrivingLicence,
        /// Autorisation d'enseigner.
        TeachingLicence,
        /// Certificate of the Journée défense et citoyenneté, or of exemption.
        Jdc,
        /// A training contract or amendment signed on paper (its scan).
        TrainingContract,
        Other,
    }
}

impl DocumentKind {
    /// Made by Volant (a check-in's signature and PDF): never uploaded, never deleted alone.
    pub const fn is_generated(self) -> bool {
        matches!(self, Self::Signature | Self::CheckinReport)
    }

    /// Photos: the phone's camera is offered for them.
    pub const fn is_photo(self) -> bool {
        matches!(self, Self::Photo | Self::PhotoBefore | Self::PhotoAfter | Self::CheckinPhoto)
    }
}

impl OwnerKind {
    /// The permissions to see an owner's documents, and to add or remove them:
    /// those of the owner itself.
    pub const fn permissions(self) -> (Permission, Permission) {
        match self {
            Self::Vehicle => (Permission::FleetRead, Permission::FleetWrite),
            Self::Intervention => (Permission::WorkshopRead, Permission::InterventionsRecord),
            Self::Quote | Self::Client => (Permission::WorkshopRead, Permission::WorkshopWrite),
            Self::Invoice => (Permission::BillingRead, Permission::BillingWrite),
            Self::Candidate | Self::Instructor => (Permission::SchoolRead, Permission::SchoolWrite),
        }
    }

    /// People's files (identity documents, licences) are encrypted at rest.
    pub const fn encrypted(self) -> bool {
        matches!(self, Self::Candidate | Self::Instructor)
    }

    /// The kinds a person may upload for this owner, the usual first.
    pub const fn kinds(self) -> &'static [DocumentKind] {
        use DocumentKind as K;
        match self {
            Self::Vehicle => &[K::RegistrationCertificate, K::InspectionReport, K::Insurance, K::Photo, K::Other],
            Self::Intervention => &[K::PhotoBefore, K::PhotoAfter, K::Receipt, K::CheckinPhoto, K::Other],
            Self::Quote => &[K::SupportingDocument, K::Photo, K::Other],
            Self::Invoice => &[K::SupportingDocument, K::Receipt, K::Other],
            Self::Client => &[K::IdentityDocument, K::DrivingLicence, K::ProofOfAddress, K::Other],
            Self::Candidate => &[
                K::IdentityDocument,
                K::ProofOfAddress,
                K::Photo,
                K::Assr,
                K::MedicalCertificate,
                K::Jdc,
                K::DrivingLicence,
                K::TrainingContract,
                K::Other,
            ],
            Self::Instructor => &[K::TeachingLicence, K::DrivingLicence, K::IdentityDocument, K::Other],
        }
    }

    /// The owner's page in the application.
    pub fn page(self, id: i64) -> String {
        match self {
            Self::Vehicle => format!("/vehicles/{id}"),
            Self::Intervention => format!("/interventions/{id}"),
            Self::Quote => format!("/quotes/{id}"),
            Self::Invoice => format!("/invoices/{id}"),
            Self::Client => format!("/clients/{id}"),
            Self::Candidate => format!("/school/candidates/{id}"),
            Self::Instructor => format!("/school/instructors/{id}"),
        }
    }

    /// The path segment of the owner's documents (`/vehicles/{id}/documents`).
    pub const fn documents_path(self) -> &'static str {
        match self {
            Self::Vehicle => "/vehicles/{id}/documents",
            Self::Intervention => "/interventions/{id}/documents",
            Self::Quote => "/quotes/{id}/documents",
            Self::Invoice => "/invoices/{id}/documents",
            Self::Client => "/clients/{id}/documents",
            Self::Candidate => "/school/candidates/{id}/documents",
            Self::Instructor => "/school/instructors/{id}/documents",
        }
    }
}

/// What an owner is, named and located.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub kind: OwnerKind,
    pub id: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_kinds_are_never_offered() {
        for owner in OwnerKind::ALL {
            assert!(owner.kinds().iter().all(|k| !k.is_generated()), "{owner:?}");
            assert!(owner.kinds().contains(&DocumentKind::Other));
        }
    }
}
