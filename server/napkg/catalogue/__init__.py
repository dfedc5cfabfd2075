"""The named queries: the catalogue of .rq files with their #+ headers and parameters (queries), running
them in this process for the command line and Python (local), and the REST API that serves them (api).

Builds on napkg.endpoint, napkg.sparql and napkg.graph.
"""
