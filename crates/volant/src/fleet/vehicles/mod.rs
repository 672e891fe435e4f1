pub mod api;
pub mod entity;
pub mod model;
pub mod service;
pub mod web;
