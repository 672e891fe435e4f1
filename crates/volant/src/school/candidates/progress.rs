//! Progress on the national competency grid (the *livret d'apprentissage* of the
//! B licence, REMC): four competencies, each with its items, each item at one of
//! four levels. Every assessment is kept; the latest of each item counts.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::progress;
use crate::platform::error::AppResult;
use crate::platform::i18n::Msg;
use crate::platform::tenant::OrgId;

/// An item of the grid: `(code, title)`.
pub type Item = (&'static str, &'static str);

/// The four competencies: `(code, title, items)`.
pub const GRID: &[(&str, &str, &[Item])] = &[
    (
        "C1",
        "Maîtriser le maniement du véhicule dans un trafic faible ou nul",
        &[
            (
                "C1a",
                "Connaître les principaux organes et commandes du véhicule, effectuer des vérifications intérieures et extérieures",
            ),
            ("C1b", "Entrer, s'installer au poste de conduite et en sortir"),
            ("C1c", "Tenir, tourner le volant et maintenir la trajectoire"),
            ("C1d", "Démarrer et s'arrêter"),
            ("C1e", "Doser l'accélération et le freinage à diverses allures"),
            ("C1f", "Utiliser la boîte de vitesses"),
            ("C1g", "Diriger la voiture en avant en ligne droite et en courbe en adaptant allure et trajectoire"),
            ("C1h", "Regarder autour de soi et avertir"),
            ("C1i", "Effectuer une marche arrière et un demi-tour en sécurité"),
        ],
    ),
    (
        "C2",
        "Appréhender la route et circuler dans des conditions normales",
        &[
            ("C2a", "Rechercher la signalisation, les indices utiles et en tenir compte"),
            ("C2b", "Positionner le véhicule sur la chaussée et choisir la voie de circulation"),
            ("C2c", "Adapter l'allure aux situations"),
            ("C2d", "Détecter, identifier et franchir les intersections suivant le régime de priorité"),
            ("C2e", "Tourner à droite et à gauche en agglomération"),
            ("C2f", "Franchir les ronds-points et les carrefours à sens giratoire"),
            ("C2g", "S'arrêter et stationner en épi, en bataille et en créneau"),
        ],
    ),
    (
        "C3",
        "Circuler dans des conditions difficiles et partager la route avec les autres usagers",
        &[
            ("C3a", "Évaluer et maintenir les distances de sécurité"),
            ("C3b", "Croiser, dépasser, être dépassé"),
            ("C3c", "Passer des virages et conduire en déclivité"),
            ("C3d", "Connaître les caractéristiques des autres usagers et savoir se comporter à leur égard"),
            ("C3e", "S'insérer, circuler et sortir d'une voie rapide"),
            ("C3f", "Conduire dans une file de véhicules et dans une circulation dense"),
            ("C3g", "Conduire quand l'adhérence et la visibilité sont réduites"),
            ("C3h", "Conduire à l'abord et dans la traversée d'ouvrages routiers (tunnels, ponts…)"),
        ],
    ),
    (
        "C4",
        "Pratiquer une conduite autonome, sûre et économique",
        &[
            ("C4a", "Suivre un itinéraire de manière autonome"),
            ("C4b", "Préparer et effectuer un voyage longue distance en autonomie"),
            ("C4c", "Connaître les principaux facteurs de risque au volant et les recommandations à appliquer"),
            ("C4d", "Connaître les comportements à adopter en cas d'accident : protéger, alerter, secourir"),
            ("C4e", "Faire l'expérience des aides à la conduite du véhicule"),
            ("C4f", "Avoir des notions sur l'entretien, le dépannage et les situations d'urgence"),
            ("C4g", "Pratiquer l'écoconduite"),
        ],
    ),
];

/// 0 not started, 1 addressed (abordé), 2 practised (traité), 3 mastered (assimilé).
pub const MAX_LEVEL: i16 = 3;

pub fn is_item(code: &str) -> bool {
    GRID.iter().any(|(_, _, items)| items.iter().any(|(c, _)| *c == code))
}

/// An assessment of one item, recorded with a lesson's outcome.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct Assessment {
    /// An item code, e.g. `C2f`.
    #[schema(example = "C2f")]
    pub item: String,
    /// 0 to 3: not started, addressed, practised, mastered.
    pub level: i16,
    pub comment: Option<String>,
}

/// Checks assessments: known items, levels 0–3, each item once.
pub fn check(assessments: &[Assessment]) -> Result<(), Msg> {
    let mut seen = Vec::with_capacity(assessments.len());
    for a in assessments {
        if !is_item(&a.item) || seen.contains(&a.item.as_str()) {
            return Err(Msg::new("progress.item_unknown").arg("item", &a.item));
        }
        if !(0..=MAX_LEVEL).contains(&a.level) {
            return Err(Msg::new("progress.level_invalid"));
        }
        if a.comment.as_deref().is_some_and(|c| c.chars().count() > 1000) {
            return Err(Msg::new("field.too_long").arg("max", 1000));
        }
        seen.push(&a.item);
    }
    Ok(())
}

/// Records assessments in the caller's transaction.
pub async fn record(
    txn: &impl ConnectionTrait,
    org: OrgId,
    candidate_id: i64,
    lesson_id: Option<i64>,
    recorded_by: Option<i64>,
    assessments: &[Assessment],
) -> AppResult<()> {
    let now = Utc::now();
    for a in assessments {
        progress::ActiveModel {
            organization_id: Set(org.get()),
            candidate_id: Set(candidate_id),
            lesson_id: Set(lesson_id),
            item: Set(a.item.clone()),
            level: Set(a.level),
            comment: Set(a.comment.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned)),
            recorded_by: Set(recorded_by),
            recorded_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ItemProgress {
    pub item: String,
    pub title: String,
    pub level: i16,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CompetencyProgress {
    pub code: String,
    pub title: String,
    /// Levels reached out of all levels of the competency's items, in percent.
    pub percent: i64,
    pub items: Vec<ItemProgress>,
}

/// A candidate's grid: each item's latest level.
pub async fn grid_of(db: &impl ConnectionTrait, candidate_id: i64) -> AppResult<Vec<CompetencyProgress>> {
    let rows = progress::Entity::find()
        .filter(progress::Column::CandidateId.eq(candidate_id))
        .order_by_asc(progress::Column::Id)
        .all(db)
        .await?;
    let mut latest: HashMap<String, progress::Model> = HashMap::new();
    for row in rows {
        latest.insert(row.item.clone(), row);
    }
    Ok(GRID
        .iter()
        .map(|(code, title, items)| {
            let items: Vec<ItemProgress> = items
                .iter()
                .map(|(item, title)| {
                    let current = latest.get(*item);
                    ItemProgress {
                        item: (*item).to_owned(),
                        title: (*title).to_owned(),
                        level: current.map_or(0, |r| r.level),
                        comment: current.and_then(|r| r.comment.clone()),
                    }
                })
                .collect();
            let reached: i64 = items.iter().map(|i| i64::from(i.level)).sum();
            let possible = i64::try_from(items.len()).unwrap_or(1).max(1) * i64::from(MAX_LEVEL);
            CompetencyProgress {
                code: (*code).to_owned(),
                title: (*title).to_owned(),
                percent: reached * 100 / possible,
                items,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_has_four_competencies_and_unique_items() {
        assert_eq!(GRID.len(), 4);
        let mut codes: Vec<&str> = GRID.iter().flat_map(|(_, _, items)| items.iter().map(|(c, _)| *c)).collect();
        let count = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), count);
        assert_eq!(count, 31);
    }

    #[test]
    fn assessments_are_checked() {
        let a = |item: &str, level| Assessment { item: item.into(), level, comment: None };
        assert!(check(&[a("C1a", 3), a("C4g", 0)]).is_ok());
        assert_eq!(check(&[a("C5a", 1)]).map_err(|m| m.key), Err("progress.item_unknown"));
        assert_eq!(check(&[a("C1a", 1), a("C1a", 2)]).map_err(|m| m.key), Err("progress.item_unknown"));
        assert_eq!(check(&[a("C1a", 4)]).map_err(|m| m.key), Err("progress.level_invalid"));
    }
}
