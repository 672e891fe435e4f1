//! Weather on lesson days: the forecast at each driving lesson's meeting point,
//! its risk against the school's thresholds, shown on the planning and the
//! lesson, and told to the instructor and the managers when a booked lesson
//! turns high-risk (docs/integrations.md).

pub mod api;
pub mod service;
pub mod web;
