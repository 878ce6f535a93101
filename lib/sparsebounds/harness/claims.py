"""Claims: what the collection asserts, machine-readable.

Every claim states its **evidence class**:

- ``test``: a plausible wrong claim would fail on this data. The notebook shows it: ``rejects`` maps each
  wrong alternative (a shifted exponent, a shrunk constant, a dropped factor) to the same check applied
  with the wrong claim, and every one of them must fail; a mutation test in ``tests/`` proves it again.
- ``identity``: true by construction or by a one-line argument; kept as a numerical check of the code,
  never counted as evidence for the theory.
- ``untestable``: the theory predicts nothing at this scale; ``reason`` says why, with the numbers, and
  the check (if any) is an observation that is reported, not a verdict.

and its **expected verdict** (like a strict xfail): ``holds`` unless the notebook registers the claim as
expected to be violated, with ``expected_reason``. A verdict that differs from the expected one, or a test
whose alternatives are no longer all rejected, is a *surprise*; the runner exits non-zero on surprises.

A notebook calls :func:`register` once per claim. The record is displayed as a cell output with its own
MIME type beside a readable Markdown line, so the executed notebook itself carries its claims; the runner
collects them from the notebooks into ``figures/claims.json`` and ``figures/claims.md``.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import sympy as sp

from .checks import Check

MIME = "application/vnd.sparsebounds.claim+json"
CLAIM_ID = re.compile(r"\d\d(-[a-z0-9]+)+")  # one style: the notebook's number, then kebab-case
KINDS = ("upper bound", "lower bound", "tight", "rate", "exact", "monotone")
EVIDENCE_CLASSES = ("test", "identity", "untestable")
VERDICTS = ("holds", "violated")


class ClaimRecord(dict):
    """The registered record; shown in a notebook as one line, not as the whole dictionary."""

    def __repr__(self):
        return f"claim {self['id']} ({self['evidence_class']}): {self['verdict']}"

    def _repr_pretty_(self, p, cycle):
        p.text(repr(self))


def register(id: str, *, statement: str, bound, symbols: dict, kind: str, check: Check, evidence_class: str,
             rejects: dict | None = None, reason: str = "", expected: str = "holds", expected_reason: str = "",
             source: str = "", note: str = "", display: bool = True) -> dict:
    """Register one claim. ``bound`` is the SymPy expression the derivation produced (or a relation).

    ``kind``: 'upper bound' / 'lower bound' (one-sided, may be loose), 'tight' (attained: observed equals
    the bound), 'rate' (an exponent), 'exact' (an identity), 'monotone'.
    ``evidence_class``: 'test' (needs ``rejects``: {wrong alternative: the same check with the wrong
    claim}), 'identity', or 'untestable' (needs ``reason``, with the numbers).
    ``expected``: 'holds' or 'violated' (then ``expected_reason`` says why).
    """
    if not CLAIM_ID.fullmatch(str(id)):
        raise ValueError(f"claim id {id!r}: write it NN-kebab-case, the notebook's two-digit number first "
                         f"(e.g. '05-lasso-rate-in-n')")
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} not in {KINDS}")
    if evidence_class not in EVIDENCE_CLASSES:
        raise ValueError(f"claim {id!r}: evidence_class {evidence_class!r} not in {EVIDENCE_CLASSES}")
    if not isinstance(check, Check):
        raise TypeError("check must be a sparsebounds.checks.Check")
    if expected not in VERDICTS:
        raise ValueError(f"claim {id!r}: expected {expected!r} not in {VERDICTS}")
    if expected != "holds" and len(expected_reason) < 20:
        raise ValueError(f"claim {id!r}: an expected violation needs expected_reason (why it is expected)")
    if evidence_class == "test" and not rejects:
        raise ValueError(f"claim {id!r}: a 'test' names the wrong alternatives it rejects (rejects={{name: check}})")
    if evidence_class != "test" and rejects:
        raise ValueError(f"claim {id!r}: only a 'test' carries rejects")
    if evidence_class == "untestable" and len(reason) < 20:
        raise ValueError(f"claim {id!r}: an 'untestable' claim says why, with the numbers (reason=...)")
    for name, alt in (rejects or {}).items():
        if not isinstance(alt, Check):
            raise TypeError(f"claim {id!r}: rejects[{name!r}] must be a Check (the wrong claim on the same data)")
    text = sp.sstr(bound) if isinstance(bound, sp.Basic) else str(bound)
    parsed = sp.sympify(text)  # what we write must parse back, to the same symbols
    if isinstance(parsed, (tuple, list)):
        parsed = sp.Tuple(*parsed)
    free = {str(x) for x in getattr(parsed, "free_symbols", set())}
    if isinstance(bound, sp.Basic) and {str(x) for x in bound.free_symbols} != free:
        raise ValueError(f"claim {id!r}: the bound's symbols {sorted(str(x) for x in bound.free_symbols)} do not "
                         f"survive sympify (SymPy reads names like I, E, S, N, Q, O as its own objects): rename them")
    if not free <= {str(k) for k in symbols}:
        raise ValueError(f"claim {id!r}: explain the symbols {sorted(free - set(map(str, symbols)))} in `symbols`")
    verdict = "untestable" if evidence_class == "untestable" else ("holds" if check.holds else "violated")
    record = ClaimRecord(id=id, statement=statement, bound=text,
                         symbols={str(k): v for k, v in symbols.items()}, kind=kind,
                         evidence_class=evidence_class, verdict=verdict,
                         expected_verdict="untestable" if evidence_class == "untestable" else expected,
                         evidence=check.evidence, source=source)
    if rejects:
        record["rejects"] = [{"alternative": name, "rejected": not alt.holds, "evidence": alt.evidence}
                             for name, alt in rejects.items()]
    if expected_reason:
        record["expected_reason"] = expected_reason
    if reason:
        record["reason"] = reason
    if note:
        record["note"] = note
    if display:
        from IPython.display import display as show
        show({MIME: dict(record), "text/markdown": _markdown_line(record),
              "text/plain": repr(record)}, raw=True)
    return record


def surprises(record: dict) -> list[str]:
    """What in this record differs from what was expected (empty when all is as registered)."""
    out = []
    if "evidence_class" not in record:
        return [f"{record['id']}: registered without an evidence class"]
    if record["evidence_class"] != "untestable" and record["verdict"] != record["expected_verdict"]:
        out.append(f"{record['id']}: expected {record['expected_verdict']}, got {record['verdict']}")
    for alt in record.get("rejects", []):
        if not alt["rejected"]:
            out.append(f"{record['id']}: the wrong alternative '{alt['alternative']}' is no longer rejected "
                       f"by the data, so the claim is not a test")
    return out


def _markdown_line(record: dict) -> str:
    marks = {"holds": "✅ holds", "violated": "❌ VIOLATED", "untestable": "➖ untestable here"}
    md = (f"**Claim `{record['id']}`** ({record['kind']}, {record['evidence_class']}): {record['statement']}  \n"
          f"bound: `{record['bound']}` — **{marks[record['verdict']]}**")
    if record["evidence_class"] != "untestable" and record["expected_verdict"] != "holds":
        md += f" (expected: {record['expected_verdict']} — {record['expected_reason']})"
    if record.get("rejects"):
        md += "  \nrejects: " + "; ".join(
            f"{a['alternative']} ({'rejected' if a['rejected'] else '**NOT rejected**'})" for a in record["rejects"])
    if record.get("reason"):
        md += f"  \n*Why untestable:* {record['reason']}"
    if record.get("note"):
        md += f"  \n*Note:* {record['note']}"
    for s_ in surprises(record):
        md += f"  \n**Surprise:** {s_}"
    return md


def from_notebook(path: Path) -> list[dict]:
    """The claims an executed notebook registered, in order, each tagged with the notebook's name."""
    nb = json.loads(Path(path).read_text())
    out = []
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []):
            rec = o.get("data", {}).get(MIME)
            if rec is not None:
                out.append({"id": rec["id"], "notebook": Path(path).stem, **rec})
    return out


def collect(notebooks: list[Path]) -> list[dict]:
    claims = [c for p in sorted(notebooks) for c in from_notebook(p)]
    seen = set()
    for c in claims:
        if c["id"] in seen:
            raise ValueError(f"claim id {c['id']!r} registered twice")
        seen.add(c["id"])
    return claims


def _evidence_summary(ev: dict) -> str:
    parts = ev.get("parts", [ev])
    bits = []
    for p in parts:
        keys = [k for k in p if k not in ("test", "holds", "rtol", "at_index", "n_boot")]
        bits.append(", ".join(f"{k}={p[k]}" for k in keys))
    return "; ".join(bits)


def _verdict_cell(c: dict) -> str:
    if "evidence_class" not in c:
        return c["verdict"] + " (unclassified)"
    if c["verdict"] == "untestable":
        return "untestable here"
    text = "holds" if c["verdict"] == "holds" else "**VIOLATED**"
    if c["verdict"] != c["expected_verdict"]:
        return text + " (**unexpected**)"
    if c["expected_verdict"] != "holds":
        return text + " (expected)"
    return text


def markdown_table(claims: list[dict]) -> str:
    """One row per claim: what, where, which kind and evidence class, the verdict (evidence in claims.md)."""
    rows = ["| claim | notebook | kind | evidence class | verdict |", "|---|---|---|---|---|"]
    for c in claims:
        rows.append(f"| `{c['id']}` | {c['notebook'][:2]} | {c['kind']} | {c.get('evidence_class', '—')} "
                    f"| {_verdict_cell(c)} |")
    return "\n".join(rows)


def counts(claims: list[dict]) -> dict:
    """Claims counted by evidence class and verdict, with the surprises."""
    out = {cls: {"total": 0, "holds": 0, "violated": 0, "expected violations": 0}
           for cls in EVIDENCE_CLASSES + ("unclassified",)}
    for c in claims:
        k = out[c.get("evidence_class", "unclassified")]
        k["total"] += 1
        if c["verdict"] in ("holds", "violated"):
            k[c["verdict"]] += 1
            if c["verdict"] == "violated" and c.get("expected_verdict") == "violated":
                k["expected violations"] += 1
    out["surprises"] = [s for c in claims for s in surprises(c)]
    return out


def summary(claims: list[dict]) -> str:
    """One line: '31 tests: 31 hold · 12 identities: 12 hold · 2 untestable here', then the surprises."""
    k = counts(claims)

    def part(cls: str, one: str, many: str) -> str:
        n = k[cls]
        bits = [f"{n['holds']} hold"]
        exp = n["expected violations"]
        if exp:
            bits.append(f"{exp} violated as expected")
        if n["violated"] - exp:
            bits.append(f"{n['violated'] - exp} violated unexpectedly")
        return f"{n['total']} {one if n['total'] == 1 else many}: " + ", ".join(bits)

    line = " · ".join([part("test", "test", "tests"), part("identity", "identity", "identities"),
                       f"{k['untestable']['total']} untestable here"])
    if k["unclassified"]["total"]:
        line += f" · {k['unclassified']['total']} without an evidence class"
    return line


def write_reports(claims: list[dict], folder: Path, parameters: dict | None = None) -> None:
    """Write claims.json and claims.md into ``folder`` (atomically, through uniquely named temporary files, so
    concurrent writers never collide). ``parameters`` (notebook -> the values it ran with; the runner passes
    it for runs outside the committed tree) is recorded in both."""
    import secrets

    folder.mkdir(parents=True, exist_ok=True)
    data = {"parameters": parameters, "claims": claims} if parameters is not None else {"claims": claims}
    body = json.dumps(data, indent=1, ensure_ascii=False, sort_keys=False) + "\n"
    md = ["# Claims checked by the notebooks", "",
          "Generated by `python -m sparsebounds run`; do not edit by hand. The full evidence is in `claims.json`",
          "and in each notebook.", "", f"**{summary(claims)}.**", ""]
    if parameters is not None:
        md += ["Parameters of this run (other than each notebook's defaults):", ""]
        md += [f"- {nb}: " + (", ".join(f"`{k} = {v!r}`" for k, v in values.items()) or "defaults")
               for nb, values in parameters.items()]
        md.append("")
    md += [markdown_table(claims), ""]
    for c in claims:
        md.append(f"- `{c['id']}` ({c.get('evidence_class', 'unclassified')}, {_verdict_cell(c)}): {c['statement']}"
                  f" — bound `{c['bound']}` — "
                  f"*{c.get('source', '')}*")
        if c.get("rejects"):
            md.append("  - rejects: " + "; ".join(a["alternative"] for a in c["rejects"]))
        for key, label in (("reason", "why untestable"), ("expected_reason", "why expected"), ("note", "note")):
            if c.get(key):
                md.append(f"  - {label}: {c[key]}")
        md.append(f"  - evidence: {_evidence_summary(c['evidence'])}")
    for name, text in (("claims.json", body), ("claims.md", "\n".join(md) + "\n")):
        path = folder / name
        if path.exists() and path.read_text() == text:
            continue                                   # same content: keep the file untouched
        tmp = folder / f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            tmp.write_text(text)
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
