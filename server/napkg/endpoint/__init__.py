"""The SPARQL endpoint over HTTP: the request context, content negotiation, the SPARQL protocol with its
cache, the worker pool and the transport that feeds it, SERVICE federation, the graph store protocol and the
service description.

Builds on napkg.sparql and napkg.graph; knows nothing of the catalogue or the web pages.
"""
