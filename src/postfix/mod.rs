//! How Postfix reads its files: no I/O, no specs, no plans.
//!
//! * [`maincf`]: a lossless main.cf document that reads exactly like Postfix.
//! * [`mastercf`]: master.cf services.
//! * [`macros`]: `$name` expansion and the text primitives under it.
//! * `network`: network patterns of address lists (`mynetworks`).
//! * [`table`]: lookup table sources (postmap, aliases, regexp, pcre, cidr).
//! * [`space`]: Postfix's whitespace (C `isspace`, VT and FF included).

pub mod list;
pub mod macros;
pub mod maincf;
pub mod mastercf;
pub(crate) mod network;
pub(crate) mod number;
pub mod space;
pub mod table;
