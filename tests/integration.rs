//! The one integration-test binary: each module tests one layer through
//! its public surface.

mod support;

mod cli;
mod fixtures;
mod hostile;
mod robustness;
mod rules;
mod series;
