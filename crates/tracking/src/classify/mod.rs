//! Human or machine.
