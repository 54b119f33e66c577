//! Sensor CSV ingest: the csv-ingest workflow (see DESIGN.md); functions arrive with its issue.
