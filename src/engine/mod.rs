//! The desired-state engine: spec -> validate -> plan -> apply (+ service),
//! and the views of a config directory that `show` and `import` print.

pub mod apply;
pub mod candidate;
pub mod converge;
pub mod effective_config;
pub mod equivalence;
pub mod live;
pub mod plan;
pub mod planfile;
pub mod policy;
pub mod schema;
pub mod secrets;
pub mod service;
pub mod spec;
pub mod tables;
pub mod validate;
pub mod version;
