"""Paper-ready LaTeX: ASCII booktabs tables (one header row, metric direction, best value bold) and a PDF build.

Tables need only `booktabs` and `graphicx` (for \\resizebox, so a wide table shrinks to the text width and a narrow
one keeps its size). The standalone document adds `geometry`; all three ship with texlive-latex-base/-recommended.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import unicodedata
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


# Accents LaTeX's default (OT1) fonts can set, by Unicode combining mark; letters that are their own commands.
_ACCENTS = {"\u0300": "`", "\u0301": "'", "\u0302": "^", "\u0303": "~", "\u0304": "=", "\u0306": "u",
            "\u0307": ".", "\u0308": '"', "\u030a": "r", "\u030b": "H", "\u030c": "v", "\u0327": "c"}
_LETTERS = {"ß": "{\\ss}", "æ": "{\\ae}", "Æ": "{\\AE}", "œ": "{\\oe}", "Œ": "{\\OE}", "ø": "{\\o}",
            "Ø": "{\\O}", "ł": "{\\l}", "Ł": "{\\L}", "ı": "{\\i}", "å": "{\\aa}", "Å": "{\\AA}"}


def _transliterate(c: str) -> str:
    """One non-ASCII character of a name as ASCII LaTeX: an accented letter as its accent command (ä -> \\"{a}),
    anything else (CJK, emoji) as its code point, so that different names stay different in the table."""
    if c in _LETTERS:
        return _LETTERS[c]
    base, *marks = unicodedata.normalize("NFD", c)
    if base.isascii() and base.isalpha() and marks and all(m in _ACCENTS for m in marks):
        out = base
        for m in marks:
            out = f"\\{_ACCENTS[m]}{{{out}}}"
        return out
    return f"{{\\ttfamily U+{ord(c):04X}}}"


def ascii_tex(text: str) -> str:
    """Translate the Unicode signs bench writes into LaTeX math, and any other non-ASCII character (names are
    data: a suite called Datensätze, a sequence in CJK) into ASCII LaTeX, so the .tex stays ASCII and compiles."""
    for u, t in TRANSLATE.items():
        text = text.replace(u, t)
    # "\$" (pandas' and _escape's dollar) needs the TS1 font tcrm, which TeX Live's base packages lack (pdflatex
    # then fails unless it may generate the font); char 36 of the OT1 roman and bold fonts is the dollar sign
    text = re.sub(r"(?<!\\)\\\$", lambda _: "{\\char36}", text)
    if text.isascii():
        return text
    return "".join(c if c.isascii() else _transliterate(c) for c in text)


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
                f"\\label{{{_label(label)}}}",
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
    """Escape every LaTeX special in free text (captions, titles: they carry names and paths). bench writes its
    math as Unicode (Δ, ±), which `ascii_tex` turns into LaTeX after this."""
    specials = {"\\": "\\textbackslash{}", "&": "\\&", "%": "\\%", "$": "\\$", "#": "\\#", "_": "\\_",
                "{": "\\{", "}": "\\}", "~": "\\textasciitilde{}", "^": "\\textasciicircum{}",
                ">": "\\textgreater{}", "<": "\\textless{}"}
    return "".join(specials.get(c, c) for c in text)


def _label(label: str) -> str:
    """A \\label key from any name: characters LaTeX keys cannot hold become '-'."""
    return re.sub(r"[^A-Za-z0-9:._-]", "-", label)


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
        stray = tex.parent / "missfont.log"  # pdflatex writes it into the working folder when a font is missing
        had_stray = stray.exists()
        for _ in range(2):  # second pass settles float placement and references
            proc = subprocess.run(cmd, cwd=tex.parent, capture_output=True, text=True, errors="replace")
            if proc.returncode != 0:
                if not had_stray:
                    stray.unlink(missing_ok=True)
                tail = "\n".join(proc.stdout.splitlines()[-15:])
                raise BenchError(f"pdflatex failed:\n{tail}", tex, hint="see the message above; the .tex files stay")
        with atomic_path(pdf) as out:
            shutil.copyfile(Path(tmp) / f"{tex.stem}.pdf", out)
    return pdf
