//! Reading and writing files of other tools and people: prompt sets (and, later, battle logs).

pub mod battles;
pub mod prompts;
pub mod style;
