"""napkg: the knowledge graph of the Dutch National Action Plan on Business and Human Rights."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .catalogue.local import Rows

__version__ = "0.1.0"


def query(name: str, **params: object) -> Rows:
    """Run a named query of the catalogue on the project graph.

    Returns its rows as a list of dictionaries of Python values (IRIs and strings as str, numbers as int,
    Decimal or float, dates as datetime.date); `.to_pandas()` on the result gives a DataFrame when pandas
    is installed.
    """
    from .catalogue.local import rows

    return rows(name, **params)
