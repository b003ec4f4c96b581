"""The log pane: a live, filtered, searchable view of merged container logs."""
