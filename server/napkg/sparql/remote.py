"""What a remote SPARQL endpoint said when SPARQLWrapper turned its answer into an exception.

SPARQLWrapper raises its own exception for a 400, 401, 404, 414 or 500, with a generic text and the
endpoint's body only as the repr of bytes inside its message ("QueryBadFormed: A bad request has been
sent... Response: b'...'"). Both `napkg query --endpoint` and `napkg links` tell a person the status and
what the endpoint said, in plain text.
"""

from __future__ import annotations

import ast

from SPARQLWrapper import SPARQLExceptions as errors

STATUSES = {
    errors.QueryBadFormed: "400 Bad Request",
    errors.Unauthorized: "401 Unauthorized",
    errors.EndPointNotFound: "404 Not Found",
    errors.URITooLong: "414 URI Too Long",
    errors.EndPointInternalError: "500 Internal Server Error",
}


def refusal(error: errors.SPARQLWrapperException) -> tuple[str, str]:
    """(the HTTP status, the endpoint's own message as text; "" if it sent none)."""
    status = next((text for cls, text in STATUSES.items() if isinstance(error, cls)), type(error).__name__)
    _, found, said = str(error).partition("\n\nResponse:\n")
    if not found:
        return status, ""
    try:
        body = ast.literal_eval(said)
    except (ValueError, SyntaxError):
        return status, said.strip()
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    return status, text.strip()
