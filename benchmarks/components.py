"""Strongly connected components of an explored state graph: the liveness engine's own iterative
Tarjan against networkx (building its graph, then ``strongly_connected_components``).

The liveness search needs the components of the unreduced reachable graph, whose states are
numbered ints with edge lists already in memory. This table says what networkx's graph objects
cost there, which is why ``regcheck.core.engines.liveness.components`` is written out. Both must find
the same components (checked). Asserts nothing about time. Run:

    python benchmarks/components.py [--workers 2 3 4]
"""

from __future__ import annotations

import argparse
import time

import networkx as nx

from regcheck.core.compile import compile_system
from regcheck.core.engines.liveness import components
from regcheck.core.explore import explore
from regcheck.model.scenario import load_builtin, with_overrides
from regcheck.model.system import build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default="fix-run-as-user")
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 3, 4])
    args = parser.parse_args()
    header = f"{'workers':>7} {'states':>9} {'edges':>9} {'own s':>7} {'networkx s':>10} {'ratio':>6}"
    print(f"strongly connected components of the reachable graph of {args.scenario}")
    print(header)
    print("-" * len(header))
    for workers in args.workers:
        scenario = with_overrides(load_builtin(args.scenario), [f"workers={workers}"])
        graph = explore(compile_system(build(scenario)), max_states=5_000_000, keep_edges=True)
        nodes = range(len(graph.states))
        start = time.perf_counter()
        edges = graph.edges
        own = components(nodes, lambda node: [t for _, t in edges[node]])  # noqa: B023 (used at once)
        own_s = time.perf_counter() - start
        start = time.perf_counter()
        digraph: nx.DiGraph[int] = nx.DiGraph()
        digraph.add_nodes_from(nodes)
        digraph.add_edges_from((s, t) for s, out in enumerate(graph.edges) for _, t in out)
        theirs = list(nx.strongly_connected_components(digraph))
        nx_s = time.perf_counter() - start
        assert sorted(map(sorted, own)) == sorted(map(sorted, theirs)), "the two disagree"
        print(f"{workers:>7} {len(graph.states):>9,} {graph.transitions:>9,} {own_s:>7.2f} {nx_s:>10.2f} "
              f"{nx_s / own_s:>6.1f}", flush=True)


if __name__ == "__main__":
    main()
