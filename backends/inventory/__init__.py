"""The inventory: which hosts Corral manages, read and edited in place."""
