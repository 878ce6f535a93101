"""What "the same result" means, once, for the runner, nbval and the figure test.

Floating-point results differ in their last bits from machine to machine (SIMD width, FMA, the BLAS
kernel, the Python minor version), so the collection never compares bytes. Two results are the same when:

- **claims**: the same ids, kinds, evidence classes, verdicts and expected verdicts, exactly; every number
  in the evidence within a relative tolerance ``RTOL`` (integers — counts — exactly), and values below
  ``ATOL`` (round-off on the O(1) scale of every quantity here) equal whatever their digits;
- **printed text**: the same text once numbers are masked; each printed number within ``RTOL`` or one unit
  of its last printed digit (what rounding to the printed precision can change), integers exactly;
- **figures**: the same plotted data (every line, marker set, filled area, image, bar, text and label, in
  the same order and style), every coordinate within ``RTOL`` of the other or within ``ATOL`` times the
  largest magnitude of its artist. Comparing the data rather than the pixels catches a curve that moved by
  1 % on a log axis spanning 16 decades (a fraction of a pixel) and a marker that disappeared, and it
  accepts any rendering of the same data.

``RTOL`` = 1e-3: across the CPUs we could simulate (numpy SIMD dispatch off, other OpenBLAS kernels) the
largest relative change of a meaningful number is 1.6e-6 (measured 2026-12-01; it was 2.3e-4, and up to 4 %
for networks trained in float32, before notebooks 04 and 10 trained in float64); a result that moved by
0.1 % is reported as moved.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np

RTOL = 1e-3
ATOL = 1e-12
# numbers as they are printed: 12, -0.283, 1.5e-05, .5 (a sign is part of the number)
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
# keys of a claim record that must agree exactly
EXACT_KEYS = {"id", "kind", "evidence_class", "verdict", "expected_verdict", "bound", "notebook",
              "alternative", "rejected", "holds", "limit_ok", "convergence_ok", "held_out_ok"}


# ------------------------------------------------------------------ numbers
def numbers_close(a: float, b: float, *, rtol: float = RTOL, atol: float = ATOL) -> bool:
    if a == b:
        return True
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return False
    return abs(a - b) <= max(rtol * max(abs(a), abs(b)), atol)


def _last_digit_unit(token: str) -> float:
    """One unit of the last printed digit of a number token: '0.283' -> 1e-3, '2.6e-16' -> 1e-17."""
    mant, _, exp = token.lower().partition("e")
    decimals = len(mant.split(".")[1]) if "." in mant else 0
    return 10.0 ** (int(exp or 0) - decimals)


def _is_integer_token(token: str) -> bool:
    return "." not in token and "e" not in token.lower()


def text_differences(old: str, new: str) -> list[str]:
    """How two printed texts differ under the rule (empty list: equivalent)."""
    if old == new:
        return []
    if _NUMBER.sub("#", old) != _NUMBER.sub("#", new):
        return [f"text changed: {_snippet(old, new)}"]
    out = []
    for x, y in zip(_NUMBER.findall(old), _NUMBER.findall(new)):
        if x == y:
            continue
        fx, fy = float(x), float(y)
        if _is_integer_token(x) and _is_integer_token(y):
            ok = fx == fy
        else:
            ulp = max(_last_digit_unit(x), _last_digit_unit(y))
            ok = numbers_close(fx, fy) or abs(fx - fy) <= ulp * (1 + 1e-9)
        if not ok:
            out.append(f"{x} -> {y}")
    return out


def _snippet(old: str, new: str, width: int = 60) -> str:
    i = next((k for k, (p, q) in enumerate(zip(old, new)) if p != q), min(len(old), len(new)))
    lo = max(0, i - 20)
    return f"{old[lo:lo + width]!r} -> {new[lo:lo + width]!r}"


# ------------------------------------------------------------------ JSON-like records (claims)
def json_differences(old, new, path: str = "") -> list[str]:
    """How two JSON-like values differ under the rule: structure, strings and integers exactly (strings
    holding printed numbers by the text rule), floats within RTOL / ATOL."""
    where = path or "value"
    if isinstance(old, dict) and isinstance(new, dict):
        if set(old) != set(new):                      # JSON objects: key order carries no meaning
            return [f"{where}: keys {sorted(set(old) ^ set(new))}"]
        return [d for k in old for d in (
            [f"{path}.{k}: {old[k]!r} -> {new[k]!r}"] if k in EXACT_KEYS and old[k] != new[k]
            else json_differences(old[k], new[k], f"{path}.{k}" if path else k))]
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return [f"{where}: {len(old)} -> {len(new)} items"]
        return [d for i, (a, b) in enumerate(zip(old, new)) for d in json_differences(a, b, f"{path}[{i}]")]
    if isinstance(old, bool) or isinstance(new, bool) or old is None or new is None:
        return [] if old == new else [f"{where}: {old!r} -> {new!r}"]
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        if isinstance(old, int) and isinstance(new, int):
            return [] if old == new else [f"{where}: {old} -> {new}"]
        return [] if numbers_close(float(old), float(new)) else [f"{where}: {old:.6g} -> {new:.6g}"]
    if isinstance(old, str) and isinstance(new, str):
        return [f"{where}: {d}" for d in text_differences(old, new)]
    return [] if old == new else [f"{where}: {old!r} -> {new!r}"]


def claims_differences(old: list[dict], new: list[dict]) -> list[str]:
    """Claim by claim: 'claim 01-fista-rate: evidence.parts[0].max_ratio_observed_over_bound 0.51 -> 0.55'."""
    o, n = {c["id"]: c for c in old}, {c["id"]: c for c in new}
    out = [f"claim {i}: new" for i in n if i not in o] + [f"claim {i}: removed" for i in o if i not in n]
    for i in n:
        if i in o:
            out += [f"claim {i}: {d}" for d in json_differences(o[i], n[i])]
    return out


# ------------------------------------------------------------------ figures: the plotted data
def _floats(a) -> list:
    arr = np.ma.filled(np.ma.asarray(a, dtype=float), np.nan).ravel()
    return [None if not np.isfinite(v) else float(f"{v:.7g}") for v in arr]


def _color(c) -> str:
    from matplotlib.colors import to_hex
    try:
        return to_hex(c, keep_alpha=True)
    except (ValueError, TypeError):
        return str(c)


def figure_data(fig) -> dict:
    """Everything a reader reads off a figure, in data coordinates: per axes its titles, labels, scales,
    limits and legend, then its lines, collections (markers, filled areas), images, patches (bars) and
    texts, each with its data and style; coordinates beyond the axis limits are clipped to them (a reader
    sees the curve leave the plot, not where it goes). Deterministic; public matplotlib API only."""
    axes = []
    for ax in fig.axes:
        lo, hi = np.sort(ax.get_xlim()), np.sort(ax.get_ylim())

        def seen(xy):
            """Points as the reader sees them: what lies beyond the axis limits is drawn at the edge."""
            xy = np.asarray(xy, float).reshape(-1, 2)
            return np.stack([np.clip(xy[:, 0], *lo), np.clip(xy[:, 1], *hi)], 1)

        items = []
        for ln in ax.lines:
            xy = seen(ln.get_xydata())
            items.append({"line": str(ln.get_label()), "style": f"{ln.get_linestyle()} {ln.get_marker()}",
                          "color": _color(ln.get_color()), "x": _floats(xy[:, 0]), "y": _floats(xy[:, 1])})
        for col in ax.collections:
            data_coords = col.get_transform() == ax.transData
            verts = [seen(p.vertices) if data_coords else np.asarray(p.vertices, float) for p in col.get_paths()]
            item = {"collection": type(col).__name__, "label": str(col.get_label()),
                    "offsets": _floats(seen(col.get_offsets()) if len(col.get_offsets()) else col.get_offsets()),
                    "paths": [_floats(v) for v in verts] if len(verts) <= 2000 else [f"{len(verts)} paths"]}
            if col.get_array() is not None:
                item["array"] = _floats(col.get_array())
            items.append(item)
        for im in ax.images:
            items.append({"image": str(np.shape(im.get_array())), "values": _floats(im.get_array()),
                          "extent": _floats(im.get_extent())})
        for pa in ax.patches:
            verts = pa.get_patch_transform().transform(pa.get_path().vertices)
            items.append({"patch": type(pa).__name__, "label": str(pa.get_label()), "vertices": _floats(verts),
                          "color": _color(pa.get_facecolor())})
        for tx in ax.texts:
            if tx.get_text():
                items.append({"text": tx.get_text(), "at": _floats(tx.get_position())})
        legend = ax.get_legend()
        axes.append({
            "title": " | ".join(t for t in (ax.get_title(loc=w) for w in ("left", "center", "right")) if t),
            "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
            "scale": f"{ax.get_xscale()} {ax.get_yscale()}",
            "xlim": _floats(ax.get_xlim()), "ylim": _floats(ax.get_ylim()),
            "legend": [t.get_text() for t in legend.get_texts()] if legend else [],
            "artists": items})
    texts = [t.get_text() for t in fig.texts if t.get_text()]
    if fig.get_suptitle():
        texts.append(fig.get_suptitle())
    return {"axes": axes, "texts": texts}


def _array_differences(old: list, new: list, where: str) -> list[str]:
    if len(old) != len(new):
        return [f"{where}: {len(old)} -> {len(new)} values"]
    a = np.array([np.nan if v is None else v for v in old], float)
    b = np.array([np.nan if v is None else v for v in new], float)
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return [f"{where}: missing values differ"]
    ok = ~np.isnan(a)
    if not ok.any():
        return []
    a, b = a[ok], b[ok]
    scale = max(np.abs(a).max(), np.abs(b).max())
    tol = np.maximum(RTOL * np.maximum(np.abs(a), np.abs(b)), ATOL * scale)
    bad = np.abs(a - b) > tol
    if not bad.any():
        return []
    rel = np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), ATOL * scale)
    i = int(np.argmax(np.where(bad, rel, -1)))
    return [f"{where}: {int(bad.sum())} of {a.size} values moved, up to {rel[i]:.2g} relative "
            f"({a[i]:.4g} -> {b[i]:.4g})"]


def figure_differences(old: dict, new: dict, name: str = "figure") -> list[str]:
    """How two figure_data records differ under the rule."""
    if len(old["axes"]) != len(new["axes"]):
        return [f"{name}: {len(old['axes'])} -> {len(new['axes'])} axes"]
    out = [f"{name}: figure text {d}" for a, b in [(old["texts"], new["texts"])] for d in json_differences(a, b)]
    for k, (ao, an) in enumerate(zip(old["axes"], new["axes"])):
        where = f"{name} axes {k}"
        for key in ("title", "xlabel", "ylabel", "scale", "legend"):
            out += [f"{where} {key}: {d}" for d in json_differences(ao[key], an[key])]
        for key in ("xlim", "ylim"):
            out += _array_differences(ao[key], an[key], f"{where} {key}")
        if len(ao["artists"]) != len(an["artists"]):
            out.append(f"{where}: {len(ao['artists'])} -> {len(an['artists'])} plotted items")
            continue
        for j, (p, q) in enumerate(zip(ao["artists"], an["artists"])):
            label = p.get("line") or p.get("label") or p.get("text") or p.get("collection") or p.get("patch") or ""
            w = f"{where} item {j}" + (f" ({label[:40]})" if label and not label.startswith("_") else "")
            if set(p) != set(q):
                out.append(f"{w}: a different kind of item")
                continue
            for key in p:
                if isinstance(p[key], list) and (not p[key] or not isinstance(p[key][0], (str, list))):
                    out += _array_differences(p[key], q[key], f"{w} {key}")
                elif key == "paths" and isinstance(p[key], list):
                    if any(isinstance(v, str) for v in p[key] + q[key]):   # ["2400 paths"]: too many to record
                        out += [f"{w} paths: {d}" for d in json_differences(p[key], q[key])]
                    elif len(p[key]) != len(q[key]):
                        out.append(f"{w} paths: {len(p[key])} -> {len(q[key])}")
                    else:
                        for i, (u, v) in enumerate(zip(p[key], q[key])):
                            out += _array_differences(u, v, f"{w} path {i}")
                else:
                    out += [f"{w} {key}: {d}" for d in json_differences(p[key], q[key])]
    return out


def write_figure_data(data: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n")
    tmp.replace(path)


def read_figure_data(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


# ------------------------------------------------------------------ notebook outputs
FIGURE_KEY = "sparsebounds_figure"   # output metadata naming the figure an embedded PNG shows


def output_differences(old: list, new: list, figures: dict | None = None) -> list[str]:
    """How two cells' output lists differ. Embedded figures (PNG outputs tagged with their figure's name)
    are equivalent when ``figures[name]`` says so; with ``figures=None`` images are not compared."""
    if len(old) != len(new):
        return [f"{len(old)} -> {len(new)} outputs"]
    out = []
    for a, b in zip(old, new):
        if a.get("output_type") != b.get("output_type") or a.get("name") != b.get("name"):
            out.append(f"output kind {a.get('output_type')} -> {b.get('output_type')}")
            continue
        if a.get("output_type") == "stream":
            out += text_differences("".join(a.get("text", "")), "".join(b.get("text", "")))
            continue
        if a.get("output_type") == "error":
            out.append(f"error output: {b.get('ename')}")
            continue
        da, db = a.get("data", {}), b.get("data", {})
        if sorted(da) != sorted(db):
            out.append(f"output types {sorted(da)} -> {sorted(db)}")
            continue
        for mime in da:
            if mime.startswith("image/"):
                name_a = a.get("metadata", {}).get(FIGURE_KEY)
                name_b = b.get("metadata", {}).get(FIGURE_KEY)
                if figures is None:
                    continue
                if name_a != name_b or name_b is None:
                    if da[mime] != db[mime]:
                        out.append(f"{mime}: a different image")
                elif not figures.get(name_b, False):
                    out.append(f"{mime}: figure {name_b} moved")
            elif isinstance(da[mime], (dict, list)):
                out += json_differences(da[mime], db[mime], mime)
            else:
                out += text_differences("".join(da[mime]), "".join(db[mime]))
    return out


def merge_notebook(old: dict, new: dict, figures: dict | None = None) -> tuple[dict, list[str]]:
    """The notebook to install: ``new``, but with the committed outputs of every cell whose source is
    unchanged and whose outputs are equivalent, so that a re-run on another machine changes no byte unless
    a result really changed. Returns (merged notebook, what moved)."""
    oc, nc = old.get("cells", []), new.get("cells", [])
    same_cells = len(oc) == len(nc) and all(
        a["cell_type"] == b["cell_type"] and "".join(a["source"]) == "".join(b["source"]) for a, b in zip(oc, nc))
    if not same_cells:
        return new, ["cells changed (sources edited)"]
    merged = json.loads(json.dumps(new))
    moved = []
    for i, (a, b) in enumerate(zip(oc, nc)):
        if a["cell_type"] != "code":
            merged["cells"][i] = a
            continue
        diffs = output_differences(a.get("outputs", []), b.get("outputs", []), figures)
        if diffs:
            moved += [f"cell {i}: {d}" for d in diffs]
        else:
            merged["cells"][i] = {**b, "outputs": a.get("outputs", []),
                                  "execution_count": a.get("execution_count")}
    return merged, moved


# ------------------------------------------------------------------ another machine, simulated on this one
_AVX512 = "AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL AVX512_SPR X86_V4"


def simulated_cpus() -> dict[str, dict[str, str]]:
    """Environment settings that make numpy and OpenBLAS on this machine compute like another CPU (other
    SIMD dispatch, other BLAS kernel), so the last bits of results change. Only settings this CPU can run
    are offered (forcing a BLAS kernel the CPU lacks can crash): x86-64 Linux with AVX; empty elsewhere."""
    try:
        flags = set(next(ln for ln in Path("/proc/cpuinfo").read_text().splitlines()
                         if ln.startswith("flags")).split(":", 1)[1].split())
    except (OSError, StopIteration):
        return {}
    if "avx" not in flags or "sse4_2" not in flags:
        return {}
    return {
        # no AVX2/AVX-512 loops in numpy, OpenBLAS's Sandy Bridge (AVX, no FMA) kernels
        "sandybridge": {"NPY_DISABLE_CPU_FEATURES": f"X86_V3 {_AVX512}", "OPENBLAS_CORETYPE": "Sandybridge"},
        # numpy's own dispatch unchanged, OpenBLAS's SSE-only Nehalem kernels
        "nehalem": {"NPY_DISABLE_CPU_FEATURES": _AVX512, "OPENBLAS_CORETYPE": "Nehalem"},
    }
