//! Explicit syntax: `name key=value …` and `/name v1, v2, …` (positional values fill the
//! parameters in declaration order).
//!
//! STUB — to be replaced.

use std::sync::Arc;

use super::extract::Extraction;
use crate::workflow::{Catalog, Command};

/// An explicit call: the command it names and the values it gives.
#[derive(Debug, Clone)]
pub struct ExplicitCall {
    pub command: Arc<Command>,
    pub extraction: Extraction,
}

/// `text` as an explicit call of one of `catalog`'s commands, if it is one.
pub fn parse_explicit(catalog: &Catalog, text: &str) -> Option<ExplicitCall> {
    let _ = (catalog, text);
    None
}
