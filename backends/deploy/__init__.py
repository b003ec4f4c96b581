"""Deploy, upgrade, scale, remove and reconcile stacks across the hosts."""
