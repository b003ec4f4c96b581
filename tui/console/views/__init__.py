"""Resource views of the console: one table per kind of thing on the hosts."""
