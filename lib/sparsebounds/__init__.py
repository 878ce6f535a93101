"""sparsebounds: derive convergence bounds of sparse models with SymPy, check them on simulations.

Modules, one idea each:
  checks   -- verdict functions that can fail (below, above, close, slope_ci, within)
  claims   -- register a claim from a notebook; collect claims.json / claims.md
  output   -- where figures go, deterministic saving, plot style
  proximal -- ISTA / FISTA / gradient descent, Lasso instances, hard instances (Nesterov, Huber)
  runner   -- execute notebooks with papermill (``python -m sparsebounds run``)
"""
__version__ = "0.1.0"
