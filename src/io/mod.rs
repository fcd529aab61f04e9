//! The only code that touches the disk: reading config files safely,
//! writing them atomically, hashing what was read.

pub(crate) mod accounts;
pub mod atomic;
pub mod hash;
pub mod index;
pub(crate) mod journal;
pub(crate) mod lock;
pub(crate) mod process;
pub(crate) mod programs;
pub(crate) mod read;
pub(crate) mod services;
pub(crate) mod smtp_probe;
pub(crate) mod transaction;
