//! The front ends: the only code that prints, colours or chooses exit
//! codes. The terminal ([`cli`]), Ansible ([`ansible`]) and GitOps
//! (`gitops`) all drive the same engine.

pub mod ansible;
pub mod cli;
pub(crate) mod gitops;
