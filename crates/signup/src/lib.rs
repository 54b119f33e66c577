//! Sign-up confirmation reminder: the confirmation-reminder workflow (see DESIGN.md); functions arrive with its issue.
