"""The parameters of a notebook: declared in its cell tagged ``parameters`` (``name = literal  # help
[low, high]``), with the ``full`` profile's values and any constraints in ``metadata.sparsebounds``. Everything
here runs before a kernel starts, and every problem is one ParameterError line.
"""
from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

from .figures import REPO_ROOT

PROFILES = ("default", "full")


class ParameterError(ValueError):
    """A problem found before any kernel starts (selection, parameters, files): one line, exit status 2."""


# ------------------------------------------------------------------ parameters
@dataclass(frozen=True)
class Param:
    name: str
    default: object
    help: str
    low: float | None = None
    high: float | None = None

    def check(self, value, notebook: str):
        """Return ``value`` coerced to this parameter's type, or raise ParameterError."""
        where = f"{notebook}: parameter {self.name!r}"
        d = self.default
        kind = type(d).__name__
        if isinstance(d, bool):
            ok = isinstance(value, bool)
        elif isinstance(d, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(d, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            value = float(value) if ok else value
        elif isinstance(d, (list, tuple)):
            ok = isinstance(value, (list, tuple)) and len(value) > 0
            if ok and d:
                inner = Param(self.name, d[0], self.help, self.low, self.high)
                value = type(d)(inner.check(v, notebook) for v in value)
                return value
        else:
            ok = isinstance(value, type(d))
        if not ok:
            raise ParameterError(f"{where} must be {kind} (like its default {d!r}), got {value!r}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if self.low is not None and value < self.low or self.high is not None and value > self.high:
                raise ParameterError(f"{where} = {value!r} is outside its range [{self.low:g}, {self.high:g}]"
                                     f" ({self.help})")
        return value


_RANGE = re.compile(r"\[\s*(-?[\d.eE+-]+)\s*,\s*(-?[\d.eE+-]+|inf)\s*\]\s*$")


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def parameters_of(nb: dict, notebook: str = "") -> dict[str, Param]:
    """The parameters declared in the cell tagged ``parameters``: name = literal  # help [low, high]."""
    cells = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ParameterError(f"{notebook}: needs exactly one cell tagged 'parameters', found {len(cells)}")
    src = _source(cells[0])
    try:
        comments = {tok.start[0]: tok.string.lstrip("#").strip()
                    for tok in tokenize.generate_tokens(io.StringIO(src).readline) if tok.type == tokenize.COMMENT}
        body = ast.parse(src).body
    except (SyntaxError, tokenize.TokenError) as exc:
        raise ParameterError(f"{notebook}: the parameters cell does not parse ({exc})") from None
    params = {}
    for node in body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            help_ = comments.get(node.lineno, "")
            m = _RANGE.search(help_)
            low, high = (float(m.group(1)), float(m.group(2))) if m else (None, None)
            try:
                default = ast.literal_eval(node.value)
            except ValueError:
                raise ParameterError(f"{notebook}: parameter {name!r} must be set to a literal "
                                     f"(a number, string, list or boolean)") from None
            params[name] = Param(name, default, help_, low, high)
    return params


def notebook_defaults(prefix: str) -> dict:
    """The default-profile parameter values of notebook ``prefix`` (e.g. '05'), as its parameters cell
    declares them: tests call the notebook's experiment with exactly these."""
    from .runner import resolve

    path = resolve([prefix])[0]
    return {name: p.default for name, p in parameters_of(read_notebook(path), path.name).items()}


def profile_values(prefix: str, profile: str) -> dict:
    """Every parameter of notebook ``prefix`` as the profile ``profile`` sets it (its defaults, then the
    profile's values from the notebook's metadata)."""
    from .runner import resolve

    if profile not in PROFILES:
        raise ParameterError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    path = resolve([prefix])[0]
    nb = read_notebook(path)
    values = {name: p.default for name, p in parameters_of(nb, path.name).items()}
    if profile != "default":
        values.update(nb.get("metadata", {}).get("sparsebounds", {}).get(profile, {}))
    return values


def running_profile(prefix: str, namespace: dict) -> str | None:
    """The profile whose parameter values ``namespace`` (a notebook's globals) holds, or None (values given
    with -p): for a finding registered as expected in one profile only."""
    for profile in PROFILES:
        if all(namespace.get(k) == v for k, v in profile_values(prefix, profile).items()):
            return profile
    return None


def arguments_of(function, values: dict) -> dict:
    """The entries of ``values`` that ``function`` takes as keyword arguments: a notebook's parameters also size
    its verdicts (``n_boot``, ``alpha``, ...), which its experiment function does not take, e.g.
    ``lowrank.experiment(**arguments_of(lowrank.experiment, notebook_defaults("09")))``."""
    import inspect

    taken = inspect.signature(function).parameters
    return {k: v for k, v in values.items() if k in taken}


def parse_value(text: str):
    """A command-line value as a Python literal (numbers, lists, booleans); anything else is a string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


# A notebook may state rules its parameters must obey beyond their ranges, checked before any kernel:
#   metadata.sparsebounds.constraints = [{"rule": "d_net & (d_net - 1) == 0", "message": "d_net must be a power of 2"}]
# A rule is a Python expression over the parameters, evaluated with nothing else in reach: no attributes,
# no imports, calls only to these builtins.
_RULE_BUILTINS = {f.__name__: f for f in (abs, all, any, bool, float, int, len, max, min, round, sorted, sum)}
_RULE_NODES = (ast.Expression, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp, ast.Call, ast.Name,
               ast.Constant, ast.List, ast.Tuple, ast.Subscript, ast.Slice, ast.GeneratorExp, ast.ListComp,
               ast.comprehension, ast.Load, ast.Store, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)


def check_rule(rule: str, values: dict) -> bool:
    """Evaluate one constraint ``rule`` over the parameter ``values``. Raises ValueError when the rule is not
    one the runner can evaluate safely (or names something that is not a parameter)."""
    try:
        tree = ast.parse(rule, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"it does not parse ({exc.msg})") from None
    for node in ast.walk(tree):
        if not isinstance(node, _RULE_NODES):
            raise ValueError(f"{type(node).__name__} is not allowed in a rule")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _RULE_BUILTINS
                                               and not node.keywords):
            raise ValueError(f"a rule may call only {', '.join(_RULE_BUILTINS)}")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ValueError(f"name {node.id!r} is not allowed in a rule")
    env = {"__builtins__": {}, **_RULE_BUILTINS, **values}
    try:
        return bool(eval(compile(tree, "<constraint>", "eval"), env))  # noqa: S307 - only the nodes above
    except NameError as exc:
        raise ValueError(f"{exc} (not a parameter)") from None
    except Exception as exc:
        raise ValueError(f"{type(exc).__name__}: {exc}") from None


def check_constraints(nb: dict, values: dict, notebook: str) -> None:
    """Raise ParameterError (one line) for the first declared constraint the parameter values break."""
    rules = nb.get("metadata", {}).get("sparsebounds", {}).get("constraints", [])
    if not isinstance(rules, list):
        raise ParameterError(f"{notebook}: metadata.sparsebounds.constraints must be a list of "
                             f"{{'rule': ..., 'message': ...}}")
    for c in rules:
        if not (isinstance(c, dict) and isinstance(c.get("rule"), str) and isinstance(c.get("message"), str)):
            raise ParameterError(f"{notebook}: constraint {c!r} needs a 'rule' and a 'message' (both text)")
        try:
            ok = check_rule(c["rule"], values)
        except ValueError as exc:
            raise ParameterError(f"{notebook}: constraint `{c['rule']}` cannot be checked: {exc}") from None
        if not ok:
            used = sorted({n.id for n in ast.walk(ast.parse(c["rule"], mode="eval"))
                           if isinstance(n, ast.Name) and n.id in values})
            got = ", ".join(f"{n}={values[n]!r}" for n in used)
            raise ParameterError(f"{notebook}: {c['message']} (got {got}; rule `{c['rule']}`)")


def plan(notebooks: list[Path], profile: str, overrides: list[tuple[str, str]]) -> dict[Path, dict]:
    """Validated parameters for each notebook (profile values, then -p overrides), checked against the
    notebook's constraints. Raises ParameterError."""
    if profile not in PROFILES:
        raise ParameterError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    seen: dict[str, str] = {}
    for name, text in overrides:
        if name in seen:
            raise ParameterError(f"parameter {name!r} is given twice (-p {name} {seen[name]} and -p {name} {text}): "
                                 f"give it once")
        seen[name] = text
    docs = {path: read_notebook(path) for path in notebooks}
    out, used = {}, set()
    for path, nb in docs.items():
        declared = parameters_of(nb, path.name)
        values = {}
        if profile != "default":
            prof = nb.get("metadata", {}).get("sparsebounds", {}).get(profile, {})
            for name, v in prof.items():
                if name not in declared:
                    raise ParameterError(f"{path.name}: profile {profile!r} sets unknown parameter {name!r}")
                values[name] = declared[name].check(v, path.name)
        for name, text in overrides:
            if name in declared:
                values[name] = declared[name].check(parse_value(text), path.name)
                used.add(name)
        check_constraints(nb, {**{n: p.default for n, p in declared.items()}, **values}, path.name)
        out[path] = values
    for name, _ in overrides:
        if name not in used:
            known = sorted({p for nb in docs.values() for p in parameters_of(nb)})
            raise ParameterError(f"unknown parameter {name!r}: the selected notebooks take {', '.join(known)}")
    return out


def read_notebook(path: Path) -> dict:
    """The notebook as JSON, or ParameterError naming the file (truncated, not JSON, not a notebook)."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        why = f"{exc.msg} at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ParameterError(f"{_rel(path)} is not a valid notebook (truncated or not JSON: {why}); restore it "
                             f"(git checkout -- {_rel(path)}) or remove it") from None
    except OSError as exc:
        raise ParameterError(f"cannot read {_rel(path)} ({exc.strerror or exc})") from None
    if not (isinstance(nb, dict) and isinstance(nb.get("cells"), list) and isinstance(nb.get("metadata"), dict)):
        raise ParameterError(f"{_rel(path)} is not a valid notebook (no 'cells' list or 'metadata'); restore it "
                             f"(git checkout -- {_rel(path)}) or remove it")
    return nb


def _rel(path: Path) -> str:
    try:
        return str(Path(path).relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
