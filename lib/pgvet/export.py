"""Executed notebooks -> one self-contained, offline HTML page (code hidden, Plotly drawn, no secrets):
each notebook is a section; plotly.js, the styles and the table script are in the page once."""
from __future__ import annotations

import base64
import gzip
import html
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import nbformat
import plotly.io as pio
import plotly.offline
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor

from .redact import redact

PLOTLY_MIME = "application/vnd.plotly.v1+json"
TEMPLATES = Path(__file__).resolve().parent / "templates"
PARAMETER_TAGS = {"parameters", "injected-parameters"}
PLOTLY_JS_SLOT = "pgvet-plotly-js-goes-here"
# A chart's drawing script waits for plotly.js, which the page carries gzipped (1.5 MB instead of 4.8 MB)
# and unpacks with the browser's DecompressionStream when it opens (report.js).
DEFERRED_PLOT = "text/x-pgvet-plot"


class PlotlyToHTML(Preprocessor):
    """Plotly 7 renders only its JSON mimetype, which stock nbconvert cannot draw: pre-render a <div>."""

    def preprocess_cell(self, cell, resources, index):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if PLOTLY_MIME in data:
                fig = pio.from_json(json.dumps(data[PLOTLY_MIME]), skip_invalid=True)
                div = pio.to_html(fig, full_html=False, include_plotlyjs=False, config={"displaylogo": False})
                data["text/html"] = re.sub(r'<script( type="text/javascript")?>', f'<script type="{DEFERRED_PLOT}">', div)
                for mime in [m for m in data if m not in ("text/html",)]:
                    del data[mime]
        return cell, resources


def without_parameters(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop the parameter cells, papermill's copy of the parameters, and stderr (progress bars, kernel
    warnings): a stakeholder reads results, not logs. Errors are outputs of their own and stay."""
    nb.cells = [c for c in nb.cells if not PARAMETER_TAGS & set(c.get("metadata", {}).get("tags", []))]
    for cell in nb.cells:
        if "outputs" in cell:
            cell.outputs = [o for o in cell.outputs if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
    nb.metadata.get("papermill", {}).pop("parameters", None)
    return nb


def redacted(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook with every password-like string masked."""
    return nbformat.reads(redact(nbformat.writes(nb)), as_version=4)


def notebook_to_section(nb_path: str | Path, section_path: str | Path) -> Path:
    """Write the executed notebook's cells (no <head>) as one section of the report page."""
    nb = redacted(without_parameters(nbformat.read(str(nb_path), as_version=4)))
    exporter = HTMLExporter(template_name="pgvet", extra_template_basedirs=[str(TEMPLATES)], exclude_input=True,
                            exclude_input_prompt=True, exclude_output_prompt=True)
    exporter.register_preprocessor(PlotlyToHTML(), enabled=True)
    body, _ = exporter.from_notebook_node(nb)
    section_path = Path(section_path)
    section_path.write_text(redact(body))
    return section_path


@dataclass
class Section:
    id: str          # the anchor other sections link to (`#references`)
    name: str        # its name in the navigation bar
    html: str


def assemble(sections: list[Section], html_path: str | Path, title: str, folder: str) -> Path:
    """One self-contained page: every section, the styles, the table script and plotly.js once."""
    import jinja2

    page = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES / "report")), autoescape=False)
    text = page.get_template("page.html.j2").render(
        title=html.escape(title), folder=html.escape(folder), css=(TEMPLATES / "report" / "report.css").read_text(),
        table_js=(TEMPLATES / "report" / "report.js").read_text(), plotly_js=PLOTLY_JS_SLOT,
        sections=[Section(html.escape(s.id), html.escape(s.name), s.html) for s in sections])
    html_path = Path(html_path)
    # plotly.js goes in last: library code that holds no secret (the sections are redacted already)
    html_path.write_text(text.replace(PLOTLY_JS_SLOT, packed_plotly_js(), 1))
    return html_path


@lru_cache(maxsize=1)
def packed_plotly_js() -> str:
    """plotly.js gzipped and base64-encoded, for the page to unpack."""
    return base64.b64encode(gzip.compress(plotly.offline.get_plotlyjs().encode(), 9, mtime=0)).decode()
