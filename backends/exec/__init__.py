"""Interactive `docker exec` in a container over a host's tunnel."""
