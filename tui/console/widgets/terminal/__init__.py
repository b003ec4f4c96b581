"""The shell pane: a pyte terminal attached to `docker exec`."""
