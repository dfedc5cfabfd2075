"""The SPARQL endpoint over HTTP: the request context, content negotiation, the SPARQL protocol with its
cache, the worker pool, the time limit on receiving a request (around uvicorn's protocol), SERVICE
federation, the graph store protocol and the service description.

Builds on napkg.sparql and napkg.graph; knows nothing of the catalogue or the web pages.
"""
