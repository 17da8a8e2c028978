//! Extractor and explicit-syntax behaviour on the demo catalog.

use super::*;
