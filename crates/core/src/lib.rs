#![deny(clippy::all)]
//! sns-logger's core: everything but N-API, so that every front door (the Node.js binding,
//! the HTTP relay, the command line) shares one validation and one delivery path.
//!
//! The path of an event: [`plan`] checks it against the tracking plan, [`message`] writes the
//! SNS message, [`delivery`] queues, batches and retries it on the [`runtime`], a [`sink`]
//! publishes it, and [`storage`] keeps what cannot be sent yet. [`config`] turns options and
//! the environment into all of the above; [`ops`] are the operator commands.
//!
//! Layers, bottom first: a module imports only modules of the layers above its line
//! (`tests/layers.rs` holds the crate to this list).
//! 1. [`error`] (the error codes), [`hex`], [`wire`] (what every layer shares of the wire
//!    format: the message size limit, the JSON string writer), [`runtime`] (the tokio
//!    runtime)
//! 2. [`options`] (JSON options into typed values, errors naming the field), [`plan`]
//! 3. [`message`]
//! 4. [`sink`]
//! 5. [`storage`]
//! 6. [`config`]
//! 7. [`delivery`]
//! 8. [`ops`]

pub mod config;
pub mod delivery;
pub mod error;
pub mod hex;
pub mod message;
pub mod ops;
pub mod options;
pub mod plan;
pub mod runtime;
pub mod sink;
pub mod storage;
pub mod wire;

pub use config::LoggerConfig;
pub use delivery::{Logger, Notice, NoticeCode};
pub use error::{ErrorCode, LoggerError, Result};
pub use plan::EventInput;
