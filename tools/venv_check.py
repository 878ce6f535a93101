"""Is the project's venv usable with this Python?  Used by the Makefile on every `make`, run by $(PY).

    python3 tools/venv_check.py VENV [--origin ORIGIN] [--repair]

The venv must be recreated when
- its python does not run (the interpreter it was made from is gone),
- it has no pip (its creation was interrupted during ensurepip: every later pip call would fail),
- it was made by a Python this project does not support (3.11-3.13), or, when PY was given explicitly
  (ORIGIN, make's $(origin PY), is "command line" or "environment"), by another Python than PY.

Without --repair: prints that reason as one line (nothing when the venv is fine or absent); always exit 0.
With --repair: recreates the venv (one line saying why) or creates a missing one; exit 1 with one line if
this Python cannot make it (not 3.11-3.13).

Runs under any Python 3 that may be `python3` on a user's path, so it keeps to old syntax.
"""
import os
import shutil
import subprocess
import sys

SUPPORTED = ((3, 11), (3, 12), (3, 13))
PROBE = "import sys; print('%d.%d' % sys.version_info[:2]); import pip"


def _ver(v):
    return "%d.%d" % tuple(v)


def venv_problem(venv, explicit):
    """Why ``venv`` must be made again, or '' (also '' when it does not exist)."""
    python = os.path.join(venv, "bin", "python")
    if not os.path.lexists(python) and not os.path.isdir(venv):
        return ""
    if not os.path.exists(python):
        return "%s does not exist (or its interpreter is gone)" % python
    try:
        r = subprocess.run([python, "-c", PROBE], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return "its python does not run (%s)" % exc
    out = r.stdout.strip()
    if not out:
        last = (r.stderr.strip().splitlines() or ["no output"])[-1]
        return "its python does not run (%s)" % last
    made_by = tuple(int(x) for x in out.split(".")[:2])
    if made_by not in SUPPORTED:
        return "it was made by Python %s, which this project does not support (3.11-3.13)" % _ver(made_by)
    if explicit and made_by != sys.version_info[:2]:
        return "it was made by Python %s and PY is Python %s" % (_ver(made_by), _ver(sys.version_info[:2]))
    if r.returncode != 0:
        return "it has no pip (its creation was interrupted)"
    return ""


def main(argv):
    args = list(argv)
    repair = "--repair" in args
    origin = "default"
    if "--origin" in args:
        i = args.index("--origin")
        origin = args[i + 1]
        del args[i:i + 2]
    args = [a for a in args if a != "--repair"]
    venv = args[0] if args else ".venv"
    explicit = origin in ("command line", "environment", "environment override", "override")
    why = venv_problem(venv, explicit)
    if not repair:
        if why:
            print(why)
        return 0
    if not why and os.path.exists(os.path.join(venv, "bin", "python")):
        return 0
    if sys.version_info[:2] not in SUPPORTED:
        print("error: %s is Python %s; this project needs 3.11-3.13: make PY=/path/to/python3.11 (or 3.12, 3.13)"
              % (sys.executable, _ver(sys.version_info[:2])), file=sys.stderr)
        return 1
    if why:
        print("recreating %s with Python %s: %s" % (venv, _ver(sys.version_info[:2]), why))
        shutil.rmtree(venv)
    else:
        print("creating %s with Python %s (%s)" % (venv, _ver(sys.version_info[:2]), sys.executable))
    r = subprocess.run([sys.executable, "-m", "venv", venv])
    if r.returncode != 0:
        print("error: `%s -m venv %s` failed (on Debian/Ubuntu: apt install python3-venv)" % (sys.executable, venv),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
