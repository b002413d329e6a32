"""report.html: one page per run that needs no server and no network — the metrics and error tables sortable (click a
column head), the error events filterable by sequence with that sequence's identity timelines, and a click on an
event opening its strip. Styles and script are inline; pictures are the run folder's own PNG files, linked
relatively (so the page and the markdown report share them and the folder can be moved or zipped as a whole).
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from bench.core.fsutil import atomic_write_text
from bench.core.record import Manifest
from bench.present.errors_section import PairErrors, link

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:13px}
th,td{border:1px solid #ccc;padding:2px 7px;text-align:right}
th{background:#f0f0f0;cursor:pointer;user-select:none;position:sticky;top:0}
th.asc::after{content:" \\25B2"} th.desc::after{content:" \\25BC"}
td.l,th.l{text-align:left}
tr.event{cursor:pointer} tr.event:hover{background:#fff6d5}
tr.fixed td:first-child{color:#1a7f37} tr.caused td:first-child{color:#c62828}
.scroll{max-height:520px;overflow:auto;display:inline-block}
img.barcode{max-width:100%;border:1px solid #ddd;margin:.3em 0}
dialog{max-width:95vw;padding:.6em} dialog img{max-width:92vw}
nav a{margin-right:1em} .note{color:#666;font-size:13px}
figure.strip{margin:.4em 0} figure.strip img{max-width:100%} figcaption{font-size:12px;color:#444}
"""

_JS = """
function cellValue(td){const v=td.dataset.v;if(v!==undefined&&v!==''&&!isNaN(Number(v)))return Number(v);
  return td.textContent.trim();}
function sortTable(th){const table=th.closest('table');const tbody=table.tBodies[0];
  const idx=Array.prototype.indexOf.call(th.parentNode.children,th);
  const asc=!th.classList.contains('asc');
  table.querySelectorAll('th').forEach(h=>h.classList.remove('asc','desc'));
  th.classList.add(asc?'asc':'desc');
  const rows=Array.from(tbody.rows);
  rows.sort((r1,r2)=>{const a=cellValue(r1.cells[idx]),b=cellValue(r2.cells[idx]);
    let c;if(typeof a==='number'&&typeof b==='number')c=a-b;
    else if(typeof a==='number')c=-1;else if(typeof b==='number')c=1;else c=String(a).localeCompare(String(b));
    return asc?c:-c;});
  rows.forEach(r=>tbody.appendChild(r));}
function openEvent(tr){const d=document.getElementById('strip-dialog');
  const img=document.getElementById('strip-img');const cap=document.getElementById('strip-caption');
  if(tr.dataset.strip){img.src=tr.dataset.strip;img.style.display='';}else{img.removeAttribute('src');
    img.style.display='none';}
  cap.textContent=tr.dataset.caption;d.showModal();}
function showSeq(sel){const pair=sel.dataset.pair;const seq=sel.value;
  document.querySelectorAll('tr.event[data-pair="'+pair+'"]').forEach(r=>{
    r.style.display=(seq===''||r.dataset.seq===seq)?'':'none';});
  document.querySelectorAll('[data-pair="'+pair+'"].barcode, [data-pair="'+pair+'"].strip').forEach(b=>{
    b.style.display=(seq===''||b.dataset.seq===seq)?'':'none';});}
document.addEventListener('DOMContentLoaded',()=>{
  document.querySelectorAll('th').forEach(th=>th.addEventListener('click',()=>sortTable(th)));
  document.querySelectorAll('tr.event').forEach(tr=>tr.addEventListener('click',()=>openEvent(tr)));
  document.querySelectorAll('select.seq').forEach(s=>s.addEventListener('change',()=>showSeq(s)));
  document.getElementById('strip-close').addEventListener('click',()=>document.getElementById('strip-dialog').close());
});
"""


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _fmt(v: object) -> tuple[str, str]:
    """(shown text, sort value) of a cell."""
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            return "–", ""
        a = abs(float(v))
        text = f"{v:.0f}" if a >= 100 or float(v).is_integer() else f"{v:.1f}" if a >= 1 else f"{v:.3g}"
        return text, repr(float(v))
    if isinstance(v, (int, np.integer)):
        return str(v), str(int(v))
    return str(v), ""


def table_html(df: pd.DataFrame, table_id: str, row_attrs: list[dict[str, str]] | None = None) -> str:
    left = [df[c].dtype == object for c in df.columns]  # text columns: left-aligned
    heads = "".join(f'<th class="{"l" if lft else ""}">{_e(c)}</th>' for c, lft in zip(df.columns, left))
    classes = [' class="l"' if lft else "" for lft in left]
    body = []
    # by columns of plain values, not iterrows (a Series per row: 2 s of a report with ~1,500 events)
    for k, row in enumerate(zip(*(df[c].tolist() for c in df.columns))):
        attrs = "".join(f' {a}="{_e(v)}"' for a, v in (row_attrs[k] if row_attrs else {}).items())
        cells = []
        for cls, value in zip(classes, row):
            text, val = _fmt(value)
            cells.append(f'<td{cls} data-v="{_e(val)}">{_e(text)}</td>')
        body.append(f"<tr{attrs}>{''.join(cells)}</tr>")
    return (f'<table id="{_e(table_id)}"><thead><tr>{heads}</tr></thead><tbody>{"".join(body)}</tbody></table>')


def _events_table(pe: PairErrors, run_dir: Path, k: int) -> str:
    d = pe.diff
    shown = pd.DataFrame({
        "status": d["status"], "kind": d["kind"], "seq": d["seq"].astype(str), "frame": d["frame"],
        "gt": d["gt_id"], "visibility": d["visibility"], "min vis": d["min_visibility"], "gap": d["gap"],
        f"{pe.a} ids": [_ids(x, y) for x, y in zip(d["a_before"], d["a_after"])],
        f"{pe.b} ids": [_ids(x, y) for x, y in zip(d["b_before"], d["b_after"])],
        "strip": ["yes" if i in pe.strips else "" for i in d.index],
    }).astype({"seq": object})
    attrs = []
    for i, e in zip(d.index, d.to_dict("records")):
        a = {"class": f"event {e['status']}", "data-pair": str(k), "data-seq": str(e["seq"]),
             "data-caption": _caption(pe, e, i)}
        if i in pe.strips:
            a["data-strip"] = link(pe.strips[i], run_dir)
        attrs.append(a)
    return table_html(shown, f"events-{k}", attrs)


def _ids(before: float, after: float) -> str:
    return f"{int(before)} → {int(after)}" if np.isfinite(before) else "–"


def _caption(pe: PairErrors, e: dict | pd.Series, i: int) -> str:
    text = (f"{e['seq']}, gt {int(e['gt_id'])}, frame {int(e['frame'])}: {e['kind']} {e['status']} "
            f"({pe.a}: {_ids(e['a_before'], e['a_after'])}; {pe.b}: {_ids(e['b_before'], e['b_after'])}; gap "
            f"{int(e['gap'])})")
    if i not in pe.strips:
        why = ("no images for this sequence" if e["seq"] in pe.no_images else
               "only the top fixed and caused ID switches get a strip")
        text += f". No strip: {why}."
    return text


def write_html(run_dir: Path, manifest: Manifest, metrics: pd.DataFrame, errors: list[PairErrors],
               figures: list[Path]) -> Path:
    """report.html of a run (see the module doc)."""
    suite = manifest.suite
    parts = [f"<h1>bench report: {_e(suite.name)}</h1>",
             f"<p class=note>Run <code>{_e(manifest.run_id)}</code>, {len(suite.sequences)} sequences, "
             f"{_e(suite.benchmark)}-style evaluation (TrackEval). Click a column head to sort; click an "
             "event to see its strip. The markdown report: <a href=\"report.md\">report.md</a>.</p>",
             '<nav><a href="#summary">Summary</a><a href="#per-seq">Per sequence</a><a href="#errors">Errors</a>'
             '<a href="#figures">Figures</a></nav>']
    main = ["HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDs", "Frag", "FP", "FN", "FPS"]
    cols = ["tracker", *[c for c in main if c in metrics]]
    combined = metrics[metrics["seq"] == "COMBINED"][cols].astype({"tracker": object})
    rates = [c for c in ("HOTA", "DetA", "AssA", "MOTA", "IDF1") if c in combined]
    combined[rates] = 100 * combined[rates]
    parts += ['<h2 id="summary">Summary</h2>', table_html(combined.reset_index(drop=True), "summary")]
    per_seq = metrics[metrics["seq"] != "COMBINED"][["seq", *cols]].astype({"seq": object, "tracker": object})
    per_seq[rates] = 100 * per_seq[rates]
    parts += ['<h2 id="per-seq">Per sequence</h2>', '<div class="scroll">',
              table_html(per_seq.reset_index(drop=True), "per-seq"), "</div>"]
    parts.append('<h2 id="errors">Errors: ID switches fixed and caused</h2>')
    if not errors:
        parts.append("<p>No tracker pair to compare.</p>")
    for k, pe in enumerate(errors):
        seqs = list(dict.fromkeys(suite.sequences))
        options = '<option value="">all sequences</option>' + "".join(
            f'<option value="{_e(s)}">{_e(s)}</option>' for s in seqs)
        parts += [f"<h3>{_e(pe.a)} (A) vs {_e(pe.b)} (B)</h3>",
                  "<p class=note>fixed = B switches and A does not; caused = A switches and B does not.</p>",
                  table_html(pe.by_vis.astype({"visibility": object}), f"vis-{k}"),
                  table_html(pe.by_gap.astype({"gap": object}), f"gap-{k}")]
        if pe.no_images:
            parts.append(f"<p class=note>No strips for {_e(', '.join(pe.no_images))}: no images.</p>")
        parts += [f'<p>Sequence: <select class="seq" data-pair="{k}">{options}</select></p>',
                  '<div class="scroll">', _events_table(pe, run_dir, k), "</div>"]
        parts.append('<div class="gallery">')
        for i, p in pe.strips.items():
            e = pe.diff.loc[i]
            parts.append(f'<figure class="strip" data-pair="{k}" data-seq="{_e(e["seq"])}"><a href="'
                         f'{_e(link(p, run_dir))}"><img loading="lazy" alt="strip" src="{_e(link(p, run_dir))}"></a>'
                         f'<figcaption>{_e(_caption(pe, e, i))}</figcaption></figure>')
        parts.append("</div>")
        for s, p in pe.barcodes.items():
            parts.append(f'<div class="barcode" data-pair="{k}" data-seq="{_e(s)}"><a href="{_e(link(p, run_dir))}">'
                         f'<img class="barcode" loading="lazy" alt="{_e(s)} identity timeline" '
                         f'src="{_e(link(p, run_dir))}"></a></div>')
    parts.append('<h2 id="figures">Figures of the markdown report</h2><ul>')
    parts += [f'<li><a href="{_e(link(p, run_dir))}">{_e(p.name)}</a></li>' for p in figures]
    parts.append("</ul>")
    parts.append('<dialog id="strip-dialog"><p id="strip-caption"></p><img id="strip-img" alt="event strip">'
                 '<p><button id="strip-close">close</button></p></dialog>')
    page = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>bench report "
            f"{_e(manifest.run_id)}</title><style>{_CSS}</style><script>{_JS}</script></head><body>"
            + "\n".join(parts) + "</body></html>\n")
    path = run_dir / "report.html"
    atomic_write_text(path, page)
    return path
