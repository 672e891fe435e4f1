//! One integration-test binary (links once): the real router, real databases.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::disallowed_methods)]

mod fixtures;
mod helpers;

mod cli;
mod fleet_garages;
mod fleet_vehicles;
mod identity_access;
mod identity_audit;
mod identity_auth;
mod identity_invitations;
mod identity_limits;
mod identity_organizations;
mod identity_passwords;
mod identity_tenants;
mod identity_users;
mod identity_web;
mod identity_welcome;
mod jobs_amqp;
mod jobs_processes;
mod jobs_queue;
mod notify_delivery;
mod notify_mail;
mod platform;
mod platform_backup;
mod platform_db;
mod platform_files;
mod platform_input;
mod platform_metrics;
mod platform_process;
mod platform_proxy;
mod platform_redis;
mod platform_replica;
mod platform_scale;
mod school_exams;
mod school_hostile;
mod school_more;
mod school_people;
mod school_planning;
mod school_reports;
mod school_tenants;
mod school_web;
mod servers;
mod tenant_sweep;
mod web;
mod web_hardening;
mod web_redirects;
mod workshop_clients;
mod workshop_dashboard;
mod workshop_exports;
mod workshop_hostile;
mod workshop_maintenance;
mod workshop_quotes;
mod workshop_tenants;
mod workshop_web;
