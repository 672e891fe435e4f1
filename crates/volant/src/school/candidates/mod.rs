//! Candidates: the school's file on each learner, and their progress on the
//! competency grid.

pub mod api;
pub mod entity;
pub mod progress;
pub mod service;
pub mod web;
