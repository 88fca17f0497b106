//! Connectors to outside services: one small trait per capability, one file per service
//! behind it, and one shared HTTP agent. Connectors are built lazily (no connection unless
//! something is sent) and take every base URL from `aie.yaml`; nothing hard-codes a host.

pub mod anthropic;
pub mod capabilities;
pub mod facebook;
pub mod gmail;
pub mod http;
pub mod instagram;
pub mod linkedin;
pub mod llm_http;
pub mod mail_auth;
pub mod mime;
pub mod oauth;
pub mod odoo;
pub mod odoo_ledger;
pub mod openai_compatible;
pub mod smtp;
pub mod social;
pub mod social_doctor;
pub mod whatsapp;
pub mod x;

pub use http::url_host;
