pub mod api;
pub mod entity;
pub mod logo;
pub mod service;
pub mod web;
