"""One engine's resources: facts, containers, volumes, images, stats, actions, live events."""
