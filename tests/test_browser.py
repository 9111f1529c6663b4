"""The executed book in a real browser: Debian's Chromium driven headless by Playwright.

Needs a built book (``make book``) and Chromium; the test is skipped, with the
reason, when either is missing. CI builds the book and then runs this file.
Requests that leave the machine (CDNs) are answered with an empty response, so
that the test neither needs nor waits for a network.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
PAGES = [TOC["root"]] + [entry["file"] for part in TOC["parts"] for entry in part["chapters"]]
CHAPTERS = [p for p in PAGES if p.startswith("chapters/")]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.browser

if not (HTML / "index.html").is_file():
    pytest.skip(f"no built book in {HTML}: run `make book` first", allow_module_level=True)
if CHROMIUM is None:
    pytest.skip("Chromium is not installed (Debian: apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")


@pytest.fixture(scope="module")
def server():
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


# What a reader sees of code at a 1280-pixel window: the page must not make them scroll sideways.
WINDOW = {"width": 1280, "height": 900}


def open_page(browser, server, path):
    """Load a page; return it with the console errors and the failed local requests seen."""
    page = browser.new_page(viewport=WINDOW)
    errors, failed = [], []
    local = lambda url: url.startswith(server)  # noqa: E731

    def external(route):
        route.fulfill(status=200, body="", content_type="text/plain")

    page.route(re.compile(r"^(?!http://127\.0\.0\.1).*"), external)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda req: failed.append(req.url) if local(req.url) else None)
    page.on("response", lambda res: failed.append(f"{res.status} {res.url}")
            if local(res.url) and res.status >= 400 else None)
    page.goto(urljoin(server, path), wait_until="load")
    page.wait_for_load_state("networkidle")
    return page, errors, failed


@pytest.fixture(scope="module")
def visit(browser, server):
    """Each page of the book loaded once, kept open for every test that reads it: loading
    (and waiting for the network to fall quiet) is most of this file's time."""
    opened = {}

    def load(name):
        if name not in opened:
            opened[name] = open_page(browser, server, f"{name}.html")
        return opened[name]

    yield load
    for page, _, _ in opened.values():
        page.close()


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_cleanly(visit, name):
    page, errors, failed = visit(name)
    assert page.title(), f"{name}: empty title"
    assert not errors, f"{name}: console errors {errors}"
    assert not failed, f"{name}: failed local requests {failed}"


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_shows_outputs_figures_and_colab_link(visit, name):
    page, _, _ = visit(name)
    assert page.locator("div.cell_output").count() > 3, f"{name}: no executed output cells"
    widths = page.eval_on_selector_all("div.cell_output img, figure img", "imgs => imgs.map(i => i.naturalWidth)")
    assert widths and all(w > 0 for w in widths), f"{name}: figures missing or broken: {widths}"
    colab = page.eval_on_selector_all("a[href*='colab.research.google.com']", "links => links.map(a => a.href)")
    assert colab, f"{name}: no Colab launch link"
    repo_path = re.sub(r"^https://colab\.research\.google\.com/github/[^/]+/[^/]+/blob/[^/]+/", "", colab[0])
    assert repo_path == f"{name}.ipynb", f"{name}: Colab link points to {colab[0]}"
    assert (ROOT / repo_path).is_file()


@pytest.mark.parametrize("name", PAGES)
def test_no_code_or_output_block_scrolls_sideways(visit, name):
    page, _, _ = visit(name)
    # Open every collapsed box first: a block that scrolls once opened scrolls for the reader too.
    page.evaluate("""() => {
        document.querySelectorAll('details').forEach(d => { d.open = true; });
        document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
    }""")
    wide = page.eval_on_selector_all(
        "article pre",
        """blocks => blocks.filter(b => b.offsetParent !== null && b.scrollWidth > b.clientWidth + 1)
                         .map(b => b.textContent.split('\\n').reduce((a, l) => l.length > a.length ? l : a, ''))""")
    assert not wide, f"{name}: {len(wide)} block(s) scroll sideways at 1280 pixels; longest lines: {wide[:3]}"


@pytest.mark.parametrize("name", PAGES)
def test_math_is_typeset_by_the_books_own_mathjax(visit, name):
    html = (HTML / f"{name}.html").read_text(encoding="utf-8")
    if 'class="math' not in html:
        assert "$$" not in html and "\\(" not in html, f"{name}: math delimiters but no math element"
        return
    scripts = re.findall(r'<script[^>]+src="([^"]*mathjax[^"]*)"', html, flags=re.I)
    assert scripts and all(not s.startswith(("http:", "https:", "//")) for s in scripts), \
        f"{name}: MathJax is not loaded from the book itself: {scripts}"
    page, errors, _ = visit(name)
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
    page.evaluate("() => MathJax.startup.promise")
    untypeset = page.locator("article .math:not(:has(mjx-container))").count()  # Sphinx's math, left as text
    failed = page.locator("article mjx-merror").count()
    prose = page.evaluate("""() => {
        const copy = document.querySelector('article').cloneNode(true);
        copy.querySelectorAll('pre, .highlight, mjx-container').forEach(e => e.remove());
        return copy.textContent;
    }""")
    raw = re.findall(r"\\\(|\\\[|\$\$", prose)
    # inline math the Markdown parser broke up (a line that starts with "+ " turns into a
    # list item): its dollar signs stay in the text beside LaTeX
    raw += re.findall(r"\$\\[a-zA-Z]+|[_^][a-zA-Z0-9{}]+\$", prose)
    assert not untypeset, f"{name}: {untypeset} equation(s) not typeset"
    assert not failed, f"{name}: {failed} equation(s) with a MathJax error"
    assert not raw, f"{name}: raw LaTeX delimiters left visible: {raw[:5]}"
    assert not errors, f"{name}: console errors {errors}"


@functools.cache
def ids_in(html_file: Path) -> set[str]:
    return set(re.findall(r'\sid="([^"]+)"', html_file.read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", PAGES)
def test_internal_links_resolve(visit, server, name):
    page, _, _ = visit(name)
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    broken = []
    for href in hrefs:
        if not href.startswith(server):
            continue
        url, fragment = urldefrag(href)
        target = HTML / unquote(urlparse(url).path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(href)
        elif fragment and target.suffix == ".html" and unquote(fragment) not in ids_in(target):
            broken.append(href)
    assert not broken, f"{name}: links to missing pages or anchors: {broken}"


def test_search_finds_negative_sampling(browser, server):
    page, errors, _ = open_page(browser, server, "search.html?q=negative+sampling")
    results = page.locator("#search-results ul.search li")
    results.first.wait_for(timeout=20_000)
    titles = " ".join(results.all_inner_texts()).lower()
    assert "word2vec" in titles, f"search results: {titles[:300]}"
    assert not errors, errors
    page.close()


class _Figures(HTMLParser):
    """Counts a page's output images (``_images/``) that are not in a captioned <figure>."""

    def __init__(self):
        super().__init__()
        self.open_figures: list[dict] = []
        self.uncaptioned = 0
        self.images = 0

    def handle_starttag(self, tag, attrs):
        if tag == "figure":
            self.open_figures.append({"img": False, "caption": False})
        elif tag == "figcaption" and self.open_figures:
            self.open_figures[-1]["caption"] = True
        elif tag == "img" and "/_images/" in (dict(attrs).get("src") or ""):  # cell outputs only
            self.images += 1
            if self.open_figures:
                self.open_figures[-1]["img"] = True
            else:
                self.uncaptioned += 1

    def handle_endtag(self, tag):
        if tag == "figure" and self.open_figures:
            figure = self.open_figures.pop()
            self.uncaptioned += figure["img"] and not figure["caption"]


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_figure_has_a_caption(name):
    parser = _Figures()
    parser.feed((HTML / f"{name}.html").read_text(encoding="utf-8"))
    assert parser.images > 0, f"{name}: no output image found: has the page's HTML changed its layout?"
    assert parser.uncaptioned == 0, f"{name}: {parser.uncaptioned} image(s) without a caption"
