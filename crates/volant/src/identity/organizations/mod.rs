pub mod entity;
pub mod service;
