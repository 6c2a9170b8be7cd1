//! MuQ Live plugin.
