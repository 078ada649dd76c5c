"""The checker core: a model checker that knows nothing of Exchange, with its engines.

Expressions, transition systems and properties; their compilation and the one z3 module; the
explorer, symmetry reduction, the counter abstraction and the certificates' re-check; the engines
(``engines``), the portfolio that runs them side by side, and the replay every counterexample passes.
Label names and cause moments are data the model hands it (docs/ARCHITECTURE.md, "Layers of the core").
"""
