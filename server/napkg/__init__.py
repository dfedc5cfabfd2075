"""napkg: the knowledge graph of the Dutch National Action Plan on Business and Human Rights."""

__version__ = "0.1.0"
