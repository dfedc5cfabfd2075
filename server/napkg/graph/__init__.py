"""The graph's files and what they say: where they are (paths), the prefixes and IRIs (namespaces), reading
and checking them (load, validate).

The lowest layer: it imports nothing else of napkg, and everything above reads the graph through it.
"""
