pub mod api;
pub mod entity;
pub mod rules;
pub mod service;
pub mod web;
