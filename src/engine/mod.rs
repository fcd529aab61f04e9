//! The desired-state engine: spec -> validate -> plan -> apply (+ service),
//! and the views of a config directory that `show` and `import` print.

pub(crate) mod apply;
pub mod candidate;
pub(crate) mod converge;
pub mod effective_config;
pub(crate) mod equivalence;
pub mod live;
pub mod plan;
pub(crate) mod planfile;
pub mod policy;
pub(crate) mod schema;
pub(crate) mod secrets;
pub(crate) mod service;
pub mod spec;
pub(crate) mod tables;
pub mod validate;
pub(crate) mod version;
