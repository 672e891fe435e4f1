pub mod api;
pub mod entity;
pub mod service;
pub mod web;
