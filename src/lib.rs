//! postform: keep Postfix configuration in a declared state.
//!
//! The library is the product; the `postform` binary, the Ansible module and
//! the GitOps commands are thin front ends over it.
//!
//! * [`maincf`]: a lossless main.cf document that reads exactly like Postfix.
//! * [`mastercf`]: master.cf services (for service-derived parameter names).
//! * [`catalog`]: the built-in parameters of Postfix 3.7 with types and defaults.
//! * [`spec`] -> [`validate`] -> [`plan`] -> [`apply`] (+ [`service`]): the
//!   desired-state engine; [`converge`] runs it in one call.

pub mod ansible;
pub mod apply;
pub mod atomic;
pub mod candidate;
pub mod catalog;
pub mod checked_plan;
pub mod converge;
pub mod effective_config;
pub mod gitops;
pub mod macros;
pub mod maincf;
pub mod mastercf;
pub mod plan;
pub mod planfile;
pub mod postfix_space;
pub mod read_file;
pub mod schema;
pub mod service;
pub mod spec;
pub mod validate;
pub mod value;
