"""The human side: the entity pages (pages, routes), search, the model documentation (docs), the dataset
metadata (metadata), the overview charts (overview), with the Jinja templates/ and the static/ files
(the query editor's vendored YASGUI among them).

Builds on napkg.endpoint, napkg.sparql and napkg.graph; not on the catalogue.
"""
