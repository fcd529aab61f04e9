//! postform: keep Postfix configuration in a declared state.
//!
//! The library is the product; the `postform` binary, the Ansible module and
//! the GitOps commands are thin front ends over it. The code is layered in
//! wings, each using only the ones below it:
//!
//! * [`frontends`]: the terminal, Ansible and GitOps (the only code that
//!   prints or chooses exit codes);
//! * [`engine`]: spec -> validate -> plan -> apply (+ service);
//! * [`catalog`]: Postfix's parameters: names, types, defaults, restart class;
//! * [`postfix`]: how Postfix reads its files (main.cf, master.cf, macros);
//! * [`io`]: reading, hashing and atomically writing files.
//!
//! The public API is what the binary, the tests and the benchmarks use:
//! the wings' document models (main.cf, master.cf, tables), the catalog,
//! the spec, validation, planning and policies, and the front ends' entry
//! points. Machinery only the engine drives (the transaction, journal,
//! locks, service control, apply, converge, plan files, version choice,
//! the GitOps repository model) is `pub(crate)`.

pub mod catalog;
pub mod engine;
pub mod frontends;
pub mod io;
pub mod postfix;
