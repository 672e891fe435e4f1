//! Lesson planning: booking, moving, cancelling and completing lessons, under
//! rules checked in the booking's own transaction.

pub mod api;
pub mod calendar;
pub mod entity;
pub mod reminders;
pub mod service;
pub mod slots;
pub mod web;
