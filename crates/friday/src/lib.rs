//! Is it Friday yet? The friday-reminder workflow (see DESIGN.md); functions arrive with its issue.
