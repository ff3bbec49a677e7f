"""redisqueue_tutor: learn Redis as a message broker by running it, one step at a time."""

__version__ = "0.1.0"
