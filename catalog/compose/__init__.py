"""docker-compose (v1/v2) plus rancher-compose.yml into the stack spec."""
