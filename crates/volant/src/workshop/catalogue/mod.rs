//! The workshop's catalogue: parts and labour quoted again and again, with their
//! prices, offered by the line editor as a description is typed.

pub mod api;
pub mod entity;
pub mod service;
pub mod web;
