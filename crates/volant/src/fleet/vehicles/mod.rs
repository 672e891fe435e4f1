pub mod api;
pub mod entity;
pub mod model;
pub mod service;
pub mod view;
pub mod web;
