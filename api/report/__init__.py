"""The assessment as one self-contained web page: what the page needs (``model``), how it is gathered from a
clip and the graph (``build``), and how it is written out as HTML (``page``)."""

from flexaqa.api.report.build import build_input
from flexaqa.api.report.model import ReportInput
from flexaqa.api.report.page import render_page, render_problem, render_upload

__all__ = ["ReportInput", "build_input", "render_page", "render_problem", "render_upload"]
