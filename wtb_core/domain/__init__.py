"""Domain objects: what an execution, a checkpoint and an event are."""
