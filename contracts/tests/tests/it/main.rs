//! Integration tests of Pond's contracts, wired together under motsu.
//! One binary (modules below) so the suite links once.

extern crate alloc;

mod attacks;
mod beacon;
mod deals;
mod market;
mod mediation;
mod offers;
mod properties;
mod registry;
mod relay;
mod timelock;
mod token;
mod vault;
