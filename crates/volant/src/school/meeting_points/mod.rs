//! The school's meeting points: named places where lessons start (the school's
//! door, a station, the exam centre), each on the map, where lesson weather is
//! forecast.

pub mod api;
pub mod service;
pub mod web;
