"""The named queries of queries/*.rq: their headers, and their answers on the real data.

Each query has `queries/<name>.expected.json`: {"cases": [{"params": {...}, "result": ...}]}, where result
is what our endpoint writes for it, read back: for a SELECT the SPARQL JSON results object (head.vars and
results.bindings), for an ASK the boolean, for a CONSTRUCT the sorted N-Triples lines. The federated
examples (a header with `endpoints`) are the exception: their answer comes from registers the tests cannot
reach, so they have none; tests/test_federated_examples.py runs them against local stand-ins.

After a change to the data or a query, rewrite the results of the existing cases with

    .venv/bin/python tests/test_queries.py [NAME ...]

and READ the difference before committing it: an expected file is a claim about the report, not a snapshot.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

import napkg
from napkg.catalogue import local
from napkg.catalogue import queries as catalogue
from napkg.sparql import values as values_blocks

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ROOT / "queries"
FILES = sorted(QUERIES.glob("*.rq"))
EXPECTED_FILES = sorted(QUERIES.glob("*.expected.json"))
ID = "https://w3id.org/nap-bhr/id/"
TABLE = ("application/sparql-results+json",)
GRAPH = ("application/n-triples",)
NAME = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


def expected_path(path: Path) -> Path:
    return path.with_name(path.stem + ".expected.json")


def body(text: str) -> str:
    """The query without its comment lines (the #+ header included)."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def ordered(query: catalogue.NamedQuery) -> bool:
    """Whether the query itself (not only a subquery) ends with ORDER BY."""
    text = body(query.text)
    return bool(re.search(r"\bORDER\s+BY\b", text[text.rfind("}") :], re.IGNORECASE))


def run_case(query: catalogue.NamedQuery, params: dict):
    """The answer of the local engine, in the form the expected files keep."""
    graph = query.operation in ("CONSTRUCT", "DESCRIBE")
    answer = local.engine().run(local.job(query, params, GRAPH if graph else TABLE))
    assert answer.status == 200, f"{query.name} with {params}: HTTP {answer.status}: {answer.error}"
    assert not answer.truncated, f"{query.name} with {params}: the answer was cut"
    if graph:
        return sorted(line for line in answer.body.decode("utf-8").splitlines() if line.strip())
    result = json.loads(answer.body)
    return result["boolean"] if "boolean" in result else result


def load_cases(path: Path) -> list[dict]:
    try:
        return json.loads(expected_path(path).read_text(encoding="utf-8"))["cases"]
    except FileNotFoundError:
        return []


CASES = [(path, i) for path in FILES for i in range(len(load_cases(path)))]


def test_the_catalogue_is_there():
    assert len(FILES) >= 25, f"only {len(FILES)} named queries in queries/"
    assert len(catalogue.catalogue(QUERIES)) == len(FILES)


@pytest.mark.parametrize("expected", EXPECTED_FILES, ids=lambda p: p.name)
def test_every_expected_file_has_its_query(expected):
    query = expected.with_name(expected.name.removesuffix(".expected.json") + ".rq")
    assert query.exists(), f"{expected.name} has no {query.name}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_header(path):
    query = catalogue.parse(path)
    assert NAME.fullmatch(query.name), f"{path.name}: name it in lowercase-with-hyphens"
    for key in ("summary", "summary_nl", "description"):
        assert getattr(query, key).strip(), f"{path.name}: empty {key}"
    assert query.summary != query.summary_nl, f"{path.name}: summary_nl must be the Dutch summary"
    assert isinstance(query.header.get("tags"), list) and query.tags, f"{path.name}: tags must be a list"
    assert all(isinstance(t, str) and t for t in query.tags)
    assert query.operation in ("SELECT", "ASK", "CONSTRUCT"), f"{path.name}: {query.operation}"
    text = body(query.text)
    used = set(re.findall(r"[?$]_([a-z][a-z0-9_]*)", text))
    declared = {p.name for p in query.params}
    assert used == declared, f"{path.name}: ?_ variables {sorted(used)} but parameters {sorted(declared)}"
    for param in query.params:
        assert param.description.strip(), f"{path.name}: parameter '{param.name}' has no description"
        assert "type" in query.header["params"][param.name], f"{path.name}: parameter '{param.name}' has no type"
        if param.enum and param.default is not None:
            assert param.default in param.enum
        if query.operation == "SELECT":
            # pyoxigraph binds a value (SEP-0007) only to a variable that the query projects.
            projection = re.search(r"\bSELECT\b(.*?)\bWHERE\b", text, re.S | re.I).group(1)
            assert f"?_{param.name}" in projection, f"{path.name}: SELECT must project ?_{param.name}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_expected_cases(path):
    query = catalogue.parse(path)
    cases = load_cases(path)
    if query.endpoints:
        # Its answer depends on another register: a kept answer could not be checked here, only go stale.
        assert not expected_path(path).exists(), (
            f"{expected_path(path).name}: a federated query ({', '.join(query.endpoints)}) keeps no expected answer"
        )
        return
    assert cases, f"{expected_path(path).name}: no expected answers"
    if query.params:
        defaults = {p.name: p.default for p in query.params if p.default is not None}
        given = [c["params"] for c in cases]
        assert any(all(p.get(k, v) == v for k, v in defaults.items()) for p in given), (
            f"{path.name}: no case with the defaults"
        )
        assert any(any(p.get(k) not in (None, defaults.get(k)) for k in p) for p in given), (
            f"{path.name}: no case with a value other than the default"
        )


@pytest.mark.parametrize("path,index", CASES, ids=[f"{p.stem}-{i}" for p, i in CASES])
def test_answer(path, index):
    query = catalogue.parse(path)
    case = load_cases(path)[index]
    actual = run_case(query, case["params"])
    expected = case["result"]
    if isinstance(expected, dict):
        assert actual["head"]["vars"] == expected["head"]["vars"]
        got, want = actual["results"]["bindings"], expected["results"]["bindings"]
        if not ordered(query):
            key = lambda b: json.dumps(b, sort_keys=True, ensure_ascii=False)  # noqa: E731
            got, want = sorted(got, key=key), sorted(want, key=key)
        assert len(got) == len(want), f"{path.stem} {case['params']}: {len(got)} rows, expected {len(want)}"
        for row, (g, w) in enumerate(zip(got, want, strict=True)):
            assert g == w, f"{path.stem} {case['params']}: row {row} differs"
    else:
        assert actual == expected


@pytest.mark.parametrize("path,index", CASES, ids=[f"{p.stem}-{i}" for p, i in CASES])
def test_answer_with_values_block(path, index):
    """The same answer when the parameters are written into VALUES blocks (napkg.sparql.values.with_values), as for
    SPARQL endpoints that take no substitutions and for the query editor's examples."""
    from napkg.sparql.engine import Job

    query = catalogue.parse(path)
    case = load_cases(path)[index]
    graph = query.operation in ("CONSTRUCT", "DESCRIBE")
    text = values_blocks.with_values(query.text, query.substitutions(case["params"]))
    answer = local.engine().run(Job(query=text, media_types=GRAPH if graph else TABLE, max_rows=1_000_000))
    assert answer.status == 200, answer.error
    if graph:
        actual = sorted(line for line in answer.body.decode("utf-8").splitlines() if line.strip())
    else:
        actual = json.loads(answer.body)
        actual = actual.get("boolean", actual)
    if isinstance(actual, dict) and not ordered(query):
        key = lambda b: json.dumps(b, sort_keys=True, ensure_ascii=False)  # noqa: E731
        actual["results"]["bindings"].sort(key=key)
        expected = dict(case["result"], results={"bindings": sorted(case["result"]["results"]["bindings"], key=key)})
        assert actual == expected
    else:
        assert actual == case["result"]


# --- What the answers must say about the report, beyond matching the files ---------------------------


def values(name: str, column: str, **params) -> list:
    return [row[column] for row in napkg.query(name, **params)]


def test_the_delayed_action_points_are_those_of_the_report():
    assert values("delayed-action-points", "notation") == ["02", "08", "19"]
    assert values("action-points-by-status", "notation") == ["02", "08", "19"]


def test_status_counts_are_those_of_the_report():
    counts = {row["status"].rsplit("/", 1)[1]: row["action_points"] for row in napkg.query("status-counts")}
    assert counts == {
        "ongoing": 11,
        "completed": 6,
        "on-schedule": 9,
        "delayed": 3,
        "in-consultation": 2,
        "not-applicable": 1,
        "in-progress": 1,
    }
    pillars = napkg.query("status-counts-per-pillar")
    assert [row["action_points"] for row in pillars] == [16, 6, 11]
    themes = napkg.query("status-counts-per-theme")
    for column in ("action_points", "ongoing", "completed", "on_schedule", "delayed"):
        assert sum(row[column] for row in themes) == sum(row[column] for row in pillars)


def test_query_returns_python_values():
    rows = napkg.query("status-counts", report=ID + "report/2024")
    assert rows.variables == ["_report", "status", "status_nl", "status_en", "action_points"]
    assert all(type(row["action_points"]) is int for row in rows)
    assert all(isinstance(row["status"], str) and row["status"].startswith(ID) for row in rows)
    overdue = napkg.query("overdue-action-points", year=2026)  # an int is accepted and bound as a year
    assert all(type(row["end_year"]) is int and row["end_year"] < 2026 for row in overdue)
    completeness = napkg.query("report-completeness")
    assert [(r["reporting_year"], r["action_points"], r["missing"], r["complete"]) for r in completeness] == [
        (2024, 33, 0, True)
    ]
    triples = napkg.query("action-point-neighbourhood", action_point=ID + "action-point/nap-2022-05")
    # The end year is what the 2024 report's entry says, not a fact of the action point itself.
    assert {
        "subject": ID + "status-assessment/2024-05",
        "predicate": "https://w3id.org/nap-bhr/def#endYear",
        "object": 2025,
    } in triples
    assert not any(
        t["subject"] == ID + "action-point/nap-2022-05" and t["predicate"].endswith("#endYear") for t in triples
    )


def test_search_ignores_case_and_accents():
    def found(word):
        return {(r["notation"], r["field"], r["source"]) for r in napkg.query("search", word=word)}

    assert found("CSDDD") == found("csddd") == found("CsDdD")
    assert len(found("CSDDD")) == 8
    accented = {r["notation"] for r in napkg.query("search", word="geinformeerd")}
    assert accented == {"01", "16", "28"}
    assert found("geinformeerd") == found("geïnformeerd") == found("GEÏNFORMEERD")
    assert all("geïnformeerd" in r["snippet"] for r in napkg.query("search", word="geinformeerd"))
    assert found("UNGP's") == found("UNGP’s") and found("UNGP's")
    assert found("(CSDDD)") and not found("CSDDD.*")  # the word is text, not a pattern


def test_parameters_without_default_mean_all():
    everyone = napkg.query("responsibilities-by-role")
    # 43 responsibilities in the 2024 report; EZK has two roles in 07. Two of them are the partners BZ
    # works with in 12 ("i.s.m."), which are groups, not organisations of the registry.
    assert len(everyone) == 44
    coordinating = napkg.query("responsibilities-by-role", role=ID + "role/coordinating")
    assert [(r["notation"], r["organisation"].rsplit("/", 1)[1]) for r in coordinating] == [
        ("01", "szw"),
        ("02", "jenv"),
    ]


def test_every_query_that_returns_framework_links_has_a_basis_column():
    """Stated and editorial links never mix unseen: a query over framework links shows the basis of each
    (a column basis, or _basis where the basis is asked for)."""
    for path in FILES:
        query = catalogue.parse(path)
        if "nap:FrameworkLink" not in body(query.text):
            continue
        projection = re.search(r"\bSELECT\b(.*?)\bWHERE\b", body(query.text), re.S | re.I).group(1)
        assert re.search(r"\?_?basis\b", projection), f"{path.name} returns framework links without a basis column"


def test_the_report_states_the_six_due_diligence_steps_for_24_and_26_and_step_6_for_27():
    stated = {
        (r["notation"], r["element"].rsplit("/", 1)[1])
        for r in napkg.query("stated-framework-links")
        if "/due-diligence-step/" in r["element"]
    }
    assert stated == {(ap, str(step)) for ap in ("24", "26") for step in range(1, 7)} | {("27", "6")}
    steps = {
        (r["notation"], r["notations"]) for r in napkg.query("due-diligence-steps") if r["basis"] == ID + "basis/stated"
    }
    assert steps == {
        ("1", "24, 26"),
        ("2", "24, 26"),
        ("3", "24, 26"),
        ("4", "24, 26"),
        ("5", "24, 26"),
        ("6", "24, 26, 27"),
    }
    assert all(r["quote"] and r["entry"] and r["column_label"] for r in napkg.query("stated-framework-links"))


def test_editorial_links_carry_their_justification_and_provenance():
    rows = napkg.query("editorial-framework-links", lang="en")
    assert {r["basis"] for r in rows} <= {ID + "basis/editorial"}
    for row in rows:
        for column in (
            "justification",
            "entry",
            "column_label",
            "confidence_label",
            "codebook_version",
            "coder",
            "date",
            "comment",
        ):
            assert row[column] not in (None, ""), f"{row['link']} has no {column}"


def test_links_per_principle_and_chapter_have_a_basis_and_the_report_s_status():
    for name in ("action-points-per-ungp-principle", "action-points-per-oecd-chapter"):
        for row in napkg.query(name):
            assert row["basis"] in (ID + "basis/stated", ID + "basis/editorial"), (name, row["link"])
            assert row["status"] and row["title"], (name, row["link"])
    remedy = napkg.query("action-points-per-ungp-principle", principle="principle:31")
    assert ("26", ID + "basis/stated") in {(r["notation"], r["basis"]) for r in remedy}
    assert {r["_principle"] for r in remedy} == {ID + "ungp-principle/31"}


def test_ungp_principles_lists_all_31_and_counts_match_the_links():
    rows = napkg.query("ungp-principles")
    assert {r["notation"] for r in rows} == {str(n) for n in range(1, 32)}
    links = napkg.query("action-points-per-ungp-principle")
    for row in rows:
        linked = {r["notation"] for r in links if r["_principle"] == row["principle"] and r["basis"] == row["basis"]}
        assert row["action_points"] == len(linked), row["principle"]
    per_status = napkg.query("status-per-ungp-principle")
    assert {r["principle"] for r in per_status} == {r["principle"] for r in rows}


def test_the_csddd_negotiation_and_transposition_are_told_apart():
    def relation(kind):
        rows = napkg.query(
            "action-points-by-instrument-relation", law="law:csddd", relation=ID + "instrument-relation-type/" + kind
        )
        assert all(r["quote"] and r["basis"] for r in rows)
        return {r["notation"] for r in rows}

    assert relation("negotiates") == {"17", "26"}
    assert relation("transposes") == {"18"}
    assert {"12", "28", "31"} <= relation("mentions")


def test_a_statement_says_which_report_and_column_it_came_from():
    rows = napkg.query("statements-with-provenance", action_point=ID + "action-point/nap-2022-02")
    where = {
        (r["value"], r["column"].rsplit("/", 1)[1])
        for r in rows
        if r["property"].endswith("#mentionsInTitle") or r["property"].endswith("#mentionsInExplanation")
    }
    assert (ID + "legal-instrument/wetboek-van-strafrecht", "action") in where
    assert (ID + "legal-instrument/artikel-273f-sr", "explanation") in where
    assert {r["_report"] for r in rows} == {ID + "report/2024"}
    assert {r["entry"] for r in rows} == {ID + "status-assessment/2024-02"}
    status = [r for r in rows if r["property"].endswith("#status")]
    assert [(r["value"], r["column"]) for r in status] == [(ID + "status/delayed", ID + "report-column/status")]
    # A report that does not exist says nothing; the action point itself carries no report's statements.
    assert (
        napkg.query(
            "statements-with-provenance", action_point=ID + "action-point/nap-2022-02", report=ID + "report/2025"
        )
        == []
    )


def dump(cases: list[dict]) -> str:
    """The expected file as JSON with one result row (or triple) per line, so a change shows as a row."""

    def compact(value):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))

    out = []
    for case in cases:
        result = case["result"]
        if isinstance(result, dict):
            rows = ",\n".join("   " + compact(b) for b in result["results"]["bindings"])
            text = (
                f'{{"head": {compact(result["head"])}, "results": {{"bindings": ['
                + (f"\n{rows}\n  " if rows else "")
                + "]}}"
            )
        elif isinstance(result, list):
            rows = ",\n".join("   " + compact(line) for line in result)
            text = "[" + (f"\n{rows}\n  " if rows else "") + "]"
        else:
            text = compact(result)
        out.append(f' {{"params": {compact(case["params"])},\n  "result": {text}}}')
    return '{"cases": [\n' + ",\n".join(out) + "\n]}\n"


def regenerate(names: list[str]) -> None:
    """Rewrite the results of the cases in the expected files of these queries (all when none is given)."""
    for path in FILES:
        if names and path.stem not in names:
            continue
        query = catalogue.parse(path)
        if query.endpoints:  # answered by other registers: nothing to keep (test_expected_cases)
            print(f"{path.relative_to(ROOT)}: federated, no expected answer")
            continue
        cases = load_cases(path) or [{"params": {}}]
        for case in cases:
            case["result"] = run_case(query, case["params"])
        expected_path(path).write_text(dump(cases), encoding="utf-8")
        print(f"{expected_path(path).relative_to(ROOT)}: {len(cases)} case(s)")


if __name__ == "__main__":
    regenerate(sys.argv[1:])
