"""A minimal third-party plugin: one evaluator and an event listener."""
