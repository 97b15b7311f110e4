//! Integration tests of the naming rules.
