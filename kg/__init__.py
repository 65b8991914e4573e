"""kg: a knowledge graph of actors, groups and events built from news, every fact with its evidence."""

__version__ = "0.1.0"
