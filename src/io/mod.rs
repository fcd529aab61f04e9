//! The only code that touches the disk: reading config files safely,
//! writing them atomically, hashing what was read.

pub mod accounts;
pub mod atomic;
pub mod hash;
pub mod index;
pub mod journal;
pub mod lock;
pub mod process;
pub mod programs;
pub mod read;
pub mod services;
pub mod smtp_probe;
pub mod transaction;
