//! Course enrollment: the course-enrollment workflow (see DESIGN.md); functions arrive with its issue.
