"""sparsebounds: derive the bounds of sparse models and compositional sparsity with SymPy, check them on
small seeded simulations, and record a verdict that can fail.

The harness (``sparsebounds.harness``) runs the notebooks and records what they claim:
  harness.checks       -- verdicts that can fail (below, above, close, equal, zero, positive, negative,
                          within, asymptotic_rate, all_of) and round-off formatting
  harness.claims       -- register a claim (kind, evidence class, expected verdict); claims.json / claims.md
  harness.figures      -- where figures go, saving them with their plotted data, one plot style
  harness.blas         -- one BLAS thread for loops of small products
  harness.equivalence  -- what "the same result" means across machines (claims, printed text, figure data)
  harness.parameters   -- a notebook's parameters cell, profiles, ranges and constraints
  harness.pairs        -- a notebook and its MyST twin: where they disagree (the runner refuses to run those)
  harness.runner       -- execute the notebooks with papermill, install their results atomically
  harness.cli          -- ``python -m sparsebounds run | claims``

The science, one idea per module (they import from the harness only ``checks`` and ``blas``):
  seeds           -- named random streams: rng(seed, "design", d, j); every draw comes from one
  tasks           -- one map for the seeded work units: in-process, local processes or a Dask cluster
  pool_worker     -- a worker of tasks' process pool ends at once, quietly, on SIGINT (fork-server preload)
  sparse_instances-- 01, 06, 07: Gaussian designs and s-sparse signals, drawn from named streams
  proximal        -- 01: ISTA / FISTA / gradient descent, Lasso and worst-case instances
  compositional   -- 02, 03: smooth and tree-compositional targets, grid approximants, error propagation
  networks        -- batched shallow and tree networks trained with Adam (02, 03, 04)
  rademacher      -- 04: Rademacher complexity of l1 / l2 balls, exact finite-m expectations
  generalization  -- 04: norm-based bounds of sparse (tree) and dense networks
  lasso_error     -- 05: Lasso instances, solver, error decomposition, restricted eigenvalues
  iht             -- 06: iterative hard thresholding, exact RIP constants, hard instances
  phase_transition-- 07: basis pursuit, critical measurement counts, the statistical dimension
  circuits        -- 08: Boolean circuits compiled into ReLU networks, shallow adders, fan-in
  lowrank         -- 09: SGD / gradient descent with weight decay and the rank of the weights
  overparam       -- 10: wide two-layer ReLU networks trained by gradient descent, the Gram matrix H∞
"""
__version__ = "0.1.0"
