"""The report page as one HTML file: the template, its hand-written CSS and JS inlined, the data as JSON.

Nothing is fetched when the page opens: the file works from a disk with no network. The data goes into a
``<script type="application/json">`` block with every ``<`` escaped, so no text from a clip or the graph can
close the block or inject markup.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from html import escape
from importlib.resources import files

from flexaqa.api.report.model import ReportInput

STATIC = files("flexaqa.api.report") / "static"
SLOT = re.compile(r"\{\{(\w+)\}\}")


@cache
def _asset(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def render_page(data: ReportInput) -> str:
    """The whole page for ``data``; the title and language are set here so the page reads right before its
    script runs."""
    shown = data.languages[data.lang].assessment
    slots = {"lang": escape(data.lang), "title": escape(f"{shown.action_label} - {shown.score:.1f} / 100"),
             "css": _asset("page.css"), "js": _asset("page.js"),
             "data": data.model_dump_json().replace("<", "\\u003c")}
    return SLOT.sub(lambda m: slots[m.group(1)], _asset("page.html"))  # one pass: filled text is not rescanned


def render_upload(actions: Mapping[str, str], assess_url: str, example_url: str) -> str:
    """The start page: a form that posts a clip bundle to ``assess_url`` as HTML, the action picked from
    ``actions`` (id -> label, from the graph), and a link to the bundled example's report (the report
    switches language itself)."""
    options = "".join(f'<option value="{escape(a)}">{escape(a)} {escape(label)}</option>'
                      for a, label in actions.items())
    body = f"""<section class="card" aria-labelledby="up-h">
<h2 id="up-h">Assess a clip</h2>
<form method="post" action="{escape(assess_url)}" enctype="multipart/form-data">
<p><label for="bundle">Clip bundle (.npz: skeleton and/or sEMG, as <code>flexaqa</code> writes it)</label><br>
<input type="file" id="bundle" name="bundle" accept=".npz" required></p>
<p><label for="action">Action</label><br>
<select id="action" name="action"><option value="">as the bundle says</option>{options}</select></p>
<p><button type="submit" id="submit">Assess</button></p>
</form>
</section>
<section class="card" aria-labelledby="ex-h">
<h2 id="ex-h">Or look at the bundled example</h2>
<p>Four synthetic barbell back squats, two with knees caving in, one too shallow.</p>
<p><a id="example" href="{escape(example_url)}">Report of the bundled example</a></p>
</section>"""
    return SLOT.sub(lambda m: {"title": "flexaqa: form feedback", "css": _asset("page.css"), "body": body}[m.group(1)],
                    _asset("upload.html"))


def render_problem(status: int, detail: str, field: str | None) -> str:
    """A refused request as a page a person reads: what is wrong, with which field, and the way back."""
    where = f"<p>Field: <code>{escape(field)}</code></p>" if field else ""
    body = (f'<section class="card" role="alert"><h2>The clip could not be assessed ({status})</h2>'
            f'<p>{escape(detail)}</p>{where}<p><a href="/">Back to the upload form</a></p></section>')
    return SLOT.sub(lambda m: {"title": "flexaqa: not assessed", "css": _asset("page.css"), "body": body}[m.group(1)],
                    _asset("upload.html"))
