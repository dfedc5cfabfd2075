"""The query text and its evaluation, without HTTP: the lexer and the checks a query must pass (guard), the
join order (joinorder), parameters written into VALUES blocks (values), the result formats (results), the
pyoxigraph engine a worker runs (engine) and the refusal of remote endpoints (remote).

Builds on napkg.graph only.
"""
