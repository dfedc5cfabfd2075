"""Screenshots of the pages for people, at desktop and phone widths, in build/screenshots/.

    .venv/bin/python tests/screenshots.py [--out build/screenshots] [--url http://127.0.0.1:8000]

Without --url it starts its own server (napkg serve on a free port) and stops it afterwards. Needs Debian's
chromium at /usr/bin/chromium and the playwright package (pip install -e '.[test]').
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from browser import ARGS, CHROMIUM  # noqa: E402
from server import ROOT, running_server  # noqa: E402

WIDTHS = {"": (1280, 900), "-phone": (390, 844)}
#: name -> path; overview only when the server has it.
PAGES = {
    "action-point": "/doc/action-point/nap-2022-02",
    "organisation": "/doc/organisation/szw",
    "overview": "/overview",
    "legal-instrument": "/doc/legal-instrument/artikel-273f-sr",
    "index": "/doc",
    "search": "/search?q=geinformeerd",
    "explanation": "/doc/action-point/nap-2022-10?lang=en",
}


def shoot(base: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            for name, path in PAGES.items():
                if httpx.get(base + path, timeout=30).status_code != 200:
                    print(f"skipped {name}: {path} is not served", file=sys.stderr)
                    continue
                for suffix, (width, height) in WIDTHS.items():
                    context = browser.new_context(
                        viewport={"width": width, "height": height},
                        device_scale_factor=1,
                        is_mobile=bool(suffix),
                        has_touch=bool(suffix),
                    )
                    page = context.new_page()
                    page.goto(base + path, wait_until="networkidle")
                    target = out / f"{name}{suffix}.png"
                    page.screenshot(path=str(target), full_page=True)
                    context.close()
                    written.append(target)
                    print(target)
        finally:
            browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "screenshots")
    parser.add_argument("--url", help="an already running server (default: start one)")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print("screenshots need Debian's chromium at /usr/bin/chromium: apt-get install chromium", file=sys.stderr)
        return 2
    with contextlib.ExitStack() as stack:
        base = args.url.rstrip("/") if args.url else stack.enter_context(running_server("--workers", "1")).url
        shoot(base, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
