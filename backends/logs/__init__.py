"""Following logs: one container, or every replica of a service or stack, merged."""
