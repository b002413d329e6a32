"""Paper-ready LaTeX: ASCII booktabs tables (one header row, metric direction, best value bold) and a PDF build.

Tables need only `booktabs` and `graphicx` (for \\resizebox, so a wide table shrinks to the text width and a narrow
one keeps its size). The standalone document adds `geometry`; all three ship with texlive-latex-base/-recommended.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from bench.core.errors import BenchError
from bench.core.fsutil import atomic_path

HIGHER = {"HOTA", "DetA", "AssA", "MOTA", "IDF1", "mAP", "rank-1", "FPS", "recall", "ID consistency", "re-link rate"}
LOWER = {"IDs", "FP", "FN", "train s", "IDsw/100"}
PACKAGES = ["booktabs", "graphicx"]
# Unicode used in the markdown tables -> LaTeX (applied after escaping, so the math is not escaped).
TRANSLATE = {"Δ": "$\\Delta$", "±": "$\\pm$", "–": "--", "—": "---", "−": "-", "×": "$\\times$",
             "↑": "$\\uparrow$",
             "↓": "$\\downarrow$", "≥": "$\\geq$", "≤": "$\\leq$", "σ": "$\\sigma$"}


def ascii_tex(text: str) -> str:
    """Translate the few Unicode signs bench writes into LaTeX; anything else non-ASCII is a bug, so it raises."""
    for u, t in TRANSLATE.items():
        text = text.replace(u, t)
    bad = sorted({c for c in text if ord(c) > 127})
    if bad:
        raise ValueError(f"non-ASCII character(s) {''.join(bad)!r} in LaTeX output; add them to latex.TRANSLATE")
    return text


def with_direction(col: str) -> str:
    """'HOTA' -> 'HOTA↑', 'IDs' -> 'IDs↓' (translated to $\\uparrow$ / $\\downarrow$ in LaTeX)."""
    base = col.removeprefix("Δ")
    return col + ("↑" if base in HIGHER else "↓" if base in LOWER else "")


def best_mask(values: pd.DataFrame, groups: pd.Series | None = None) -> pd.DataFrame:
    """True where a cell holds its column's best displayed value (max for ↑, min for ↓; ties all True).

    `values` holds the numbers as displayed (already rounded); `groups` picks the best within each group
    (e.g. per sequence)."""
    mask = pd.DataFrame(False, index=values.index, columns=values.columns)
    keys = groups if groups is not None else pd.Series(0, index=values.index)
    for col in values.columns:
        if col not in HIGHER and col not in LOWER:
            continue
        num = pd.to_numeric(values[col], errors="coerce")
        best = num.groupby(keys).transform("max" if col in HIGHER else "min")
        mask[col] = (num == best) & num.notna() & (num.groupby(keys).transform("count") > 1)
    return mask


def table(
    df: pd.DataFrame, caption: str, label: str, bold: pd.DataFrame | None = None, align: str | None = None
) -> str:
    """A table float of display strings (index ignored): one header row, `bold` cells in bold, fit to text width."""
    df = df.reset_index(drop=True).astype(str)
    styler = df.style.hide(axis="index").format(escape="latex").format_index(escape="latex", axis=1)
    if bold is not None:
        mask = bold.reset_index(drop=True).reindex(columns=df.columns, fill_value=False).fillna(False).astype(bool)
        css = pd.DataFrame(np.where(mask, "font-weight: bold", ""), index=df.index, columns=df.columns)
        styler = styler.apply(lambda _: css, axis=None)
    if align is None:
        align = "".join("r" if numeric(df[c]) else "l" for c in df.columns)
    tabular = styler.to_latex(hrules=True, convert_css=True, column_format=align).strip()
    # a row starting with "[" (a visibility bin) would be read as the optional argument of the previous "\\"
    tabular = "\n".join("{}" + line if line.startswith("[") else line for line in tabular.splitlines())
    tabular = tabular.replace(">", "\\textgreater{}").replace("<", "\\textless{}")  # OT1 text has no < >
    return ascii_tex(
        "\n".join(
            [
                "\\begin{table}[htbp]",
                "\\centering",
                f"\\caption{{{_escape(caption)}}}",
                f"\\label{{{label}}}",
                "\\sbox0{%",  # shrink to the text width only when wider
                tabular,
                "}",
                "\\ifdim\\wd0>\\linewidth\\resizebox{\\linewidth}{!}{\\usebox0}\\else\\usebox0\\fi",
                "\\end{table}",
                "",
            ]
        )
    )


def numeric(col: pd.Series) -> bool:
    """A column of numbers (signed, or missing as '–') is right-aligned."""
    col = col[col != "–"]
    return not col.empty and bool(pd.to_numeric(col.str.replace("−", "-"), errors="coerce").notna().all())


def _escape(text: str) -> str:
    """Escape LaTeX specials in free text (captions), keeping $...$ math written by bench."""
    out = []
    for i, part in enumerate(text.split("$")):
        if i % 2:
            out.append(f"${part}$")
            continue
        for a, b in (("&", "\\&"), ("%", "\\%"), ("#", "\\#"), ("_", "\\_"), ("{", "\\{"), ("}", "\\}"),
                     (">", "\\textgreater{}"), ("<", "\\textless{}")):
            part = part.replace(a, b)
        out.append(part)
    return "".join(out)


def document(title: str, tables_file: str, figures: list[tuple[str, str]], notes: list[str] = ()) -> str:
    """A standalone article that \\input's the tables file and includes the figures (file, caption)."""
    lines = [
        "\\documentclass[10pt]{article}",
        "\\usepackage[margin=2cm]{geometry}",
        *(f"\\usepackage{{{p}}}" for p in PACKAGES),
        f"\\title{{{_escape(title)}}}",
        "\\date{}",
        "\\begin{document}",
        "\\maketitle",
        *(_escape(n) + "\n" for n in notes),
        f"\\input{{{tables_file}}}",
        "\\clearpage",
    ]
    for path, caption in figures:
        lines += [
            "\\begin{figure}[htbp]",
            "\\centering",
            f"\\includegraphics[width=\\linewidth,height=0.4\\textheight,keepaspectratio]{{{path}}}",
            f"\\caption{{{_escape(caption)}}}",
            "\\end{figure}",
        ]
    lines.append("\\end{document}")
    return ascii_tex("\n".join(lines) + "\n")


def compile_pdf(tex: Path, pdf: Path) -> Path:
    """pdflatex `tex` in its folder (aux files in a temp dir, two passes), then move the PDF atomically to `pdf`."""
    exe = shutil.which("pdflatex")
    if exe is None:
        raise BenchError(
            "pdflatex not found on PATH; the .tex files were written, the PDF was not",
            hint="install TeX Live (apt-get install texlive-latex-base texlive-latex-recommended) or drop --pdf",
        )
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [exe, "-interaction=nonstopmode", "-halt-on-error", f"-output-directory={tmp}", tex.name]
        for _ in range(2):  # second pass settles float placement and references
            proc = subprocess.run(cmd, cwd=tex.parent, capture_output=True, text=True, errors="replace")
            if proc.returncode != 0:
                tail = "\n".join(proc.stdout.splitlines()[-15:])
                raise BenchError(f"pdflatex failed:\n{tail}", tex, hint="see the message above; the .tex files stay")
        with atomic_path(pdf) as out:
            shutil.copyfile(Path(tmp) / f"{tex.stem}.pdf", out)
    return pdf
