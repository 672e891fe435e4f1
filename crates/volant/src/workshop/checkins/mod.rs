//! Vehicle check-in (état des lieux): when a vehicle enters the workshop, its
//! mileage, fuel level, damage marked on an outline, photos and notes, signed
//! by the customer on screen; printed as a PDF kept with the intervention and
//! e-mailed to the customer.

pub mod api;
pub mod entity;
pub mod pdf;
pub mod service;
pub mod web;
