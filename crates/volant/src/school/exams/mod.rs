//! Exams: sessions (theory or practical, at a centre, with seats), candidates'
//! registrations under eligibility rules, and results validated by hand.

pub mod api;
pub mod entity;
pub mod service;
pub mod web;
