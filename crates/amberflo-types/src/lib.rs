//! Amberflo API payload models, with validation.
