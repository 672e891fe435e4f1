//! The administration around a candidate that a French school owes: the file
//! the ANTS asks for and its documents checklist, the initial evaluation, the
//! training contract with its funding and amendments, the learning record a
//! candidate takes to another school.

pub mod api;
pub mod entity;
pub mod pdf;
pub mod service;
pub mod web;
