"""The README stays a newcomer's page and the documentation in docs/ stays reachable and whole.

The README is at most 200 lines and opens with the two commands; every page in docs/ is linked from it; every
relative link in the README and in docs/*.md points to a file that exists, and an anchor into a Markdown file
of the repository names a heading that exists (GitHub's heading anchors).
"""

import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))

FENCE = re.compile(r"^(```|~~~)")
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
EXTERNAL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")  # http:, https:, mailto:, ...


def outside_fences(text: str) -> list[tuple[int, str]]:
    """The lines outside fenced code blocks, with their numbers."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


def prose(text: str) -> list[tuple[int, str]]:
    """The lines outside fenced code blocks, inline code removed (a link there is an example, not a link)."""
    return [(number, re.sub(r"`[^`]*`", "", line)) for number, line in outside_fences(text)]


def links(path: Path) -> list[tuple[int, str]]:
    """(line, target) of every Markdown link in the file's prose."""
    return [
        (number, m.group(1)) for number, line in prose(path.read_text(encoding="utf-8")) for m in LINK.finditer(line)
    ]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lowercased, punctuation removed, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = text.replace("`", "").replace("*", "").strip().lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a Markdown file's headings, with GitHub's -1, -2 ... for repeated ones."""
    seen: dict[str, int] = {}
    found = set()
    for _, line in outside_fences(path.read_text(encoding="utf-8")):
        m = HEADING.match(line)
        if not m:
            continue
        base = slug(m.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def relative_links(path: Path) -> list[tuple[int, str, Path, str]]:
    """(line, link, file it points to, anchor) for every link that stays in the repository."""
    out = []
    for number, target in links(path):
        if EXTERNAL.match(target):
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / unquote(file_part)).resolve() if file_part else path
        out.append((number, target, resolved, unquote(anchor)))
    return out


def test_the_pages_are_there():
    # a guard, so that the parametrised tests below cannot pass by matching nothing
    assert README.exists()
    assert {p.name for p in PAGES} >= {"endpoint.md", "operations.md", "model.md", "queries.md", "links.md", "data.md"}
    assert links(README), "no link found in the README: the link pattern is broken"


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; move the detail to a page in docs/"


def test_readme_opens_with_the_two_commands():
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.S | re.M)
    assert blocks, "the README has no code block"
    assert "make serve" in blocks[0] and "make test" in blocks[0], blocks[0]


def test_every_docs_page_is_linked_from_the_readme():
    linked = {resolved for _, _, resolved, _ in relative_links(README)}
    missing = [p.name for p in PAGES if p.resolve() not in linked]
    assert not missing, f"docs pages not linked from README.md: {missing}"


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    broken = []
    for number, target, resolved, anchor in relative_links(page):
        if not resolved.exists():
            broken.append(f"{page.name}:{number}: {target}: no such file")
        elif not resolved.is_relative_to(ROOT):
            broken.append(f"{page.name}:{number}: {target}: outside the repository")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(
                f"{page.name}:{number}: {target}: no heading with the anchor #{anchor} in {resolved.relative_to(ROOT)}"
            )
    assert not broken, "\n".join(broken)


def test_slug_is_githubs():
    assert (
        slug("Joining the registers live: the federated examples")
        == "joining-the-registers-live-the-federated-examples"
    )
    assert slug("`napkg validate` and `napkg build`") == "napkg-validate-and-napkg-build"
    assert slug("Safety: why the server has this shape") == "safety-why-the-server-has-this-shape"
    assert slug("Offline, in your own CI: `napkg links snapshot`") == "offline-in-your-own-ci-napkg-links-snapshot"
