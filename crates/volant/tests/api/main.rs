//! One integration-test binary (links once): the real router, real databases.

mod helpers;

mod fleet_garages;
mod fleet_vehicles;
mod platform;
mod web;
