"""Impact reports and dashboards."""
