#![deny(clippy::all)]
//! sns-logger: typed, validated analytics events from Rocket.Chat apps to AWS SNS.
//!
//! Layers: `plan` (tracking plan and validation) → `message` (the SNS request) → `config`
//! (options, df_config.json) → `delivery` (queue, batching, retry) → `sink` (SNS, file,
//! memory). `bindings` is the thin napi layer.

pub mod config;
pub mod delivery;
pub mod error;
pub mod message;
pub mod plan;
pub mod sink;
