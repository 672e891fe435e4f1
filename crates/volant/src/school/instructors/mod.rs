//! Instructors: who teaches which licence categories, when, and which days off.

pub mod api;
pub mod entity;
pub mod service;
pub mod web;
