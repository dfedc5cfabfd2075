"""napkg.sparql.remote reads the endpoint's status and message out of SPARQLWrapper's exceptions."""

from __future__ import annotations

import pytest
from SPARQLWrapper import SPARQLExceptions as errors

from napkg.sparql.remote import refusal


@pytest.mark.parametrize(
    "cls, status",
    [
        (errors.QueryBadFormed, "400 Bad Request"),
        (errors.Unauthorized, "401 Unauthorized"),
        (errors.EndPointNotFound, "404 Not Found"),
        (errors.URITooLong, "414 URI Too Long"),
        (errors.EndPointInternalError, "500 Internal Server Error"),
    ],
)
def test_status_and_message(cls, status):
    said = 'Syntax error: line 1 it\'s "quoted"\nPREFIX é: <x:>'
    assert refusal(cls(said.encode("utf-8"))) == (status, said)


def test_no_body():
    assert refusal(errors.QueryBadFormed()) == ("400 Bad Request", "")


def test_an_exception_of_no_known_status_is_named():
    assert refusal(errors.SPARQLWrapperException(b"x")) == ("SPARQLWrapperException", "x")
