"""Symmetry reduction: verify a system's declared interchangeable processes, and canonicalise states.

A model declares groups of interchangeable processes (``TransitionSystem.symmetry``, see
:class:`regcheck.system.ProcessGroup`). Permuting the blocks of a group, and swapping two groups
named by values together with those values, maps states to states; two states related so lie in
one *orbit*. The explicit engine keeps one canonical state per orbit.

NOTE(symmetry-soundness): reduction is sound only if every such permutation maps executions to
executions and leaves each checked property's truth unchanged. Both are verified here, on the
generators of the group (adjacent block transpositions and adjacent group swaps), as a
syntactic sufficient condition: the renamed initial predicate, the renamed set of actions
(guard and updates; labels do not matter) and the renamed property are the same as the
originals, up to the order of conjuncts, disjuncts and the sides of an equality. A declaration
that fails is a bug in the model (:class:`InvalidModel`); a property that fails only turns
reduction off for that run.

The canonical state is exact (one per orbit): sort the blocks within every group, after each of
the value permutations, and take the least. Exactness is what lets a path of canonical states be
turned back into a concrete execution (:func:`regcheck.engines.explicit` relies on it).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields

from regcheck.compile import Layout, Packed
from regcheck.errors import InvalidModel
from regcheck.expr import And, Const, Eq, Expr, Or, Var
from regcheck.system import Action, ProcessGroup, TransitionSystem

MAX_VALUE_PERMUTATIONS = 24
"""Swapping named groups costs one candidate state per value permutation; beyond this many the
engine uses block permutations only (still exact: those groups are then simply not swapped)."""


@dataclass(frozen=True)
class Renaming:
    """One generator: a permutation of variables together with a permutation of enum values."""

    variables: Mapping[str, str]
    values: Mapping[str, str]
    what: str

    def expr(self, expr: Expr) -> Expr:
        """``expr`` with its variables and (string) constants renamed."""
        match expr:
            case Var(name):
                return Var(self.variables.get(name, name))
            case Const(value):
                return Const(self.values.get(value, value)) if isinstance(value, str) else expr
            case And(args) | Or(args):
                return type(expr)(tuple(self.expr(a) for a in args))
        # Every other node (Not, Eq, Ite, arithmetic) has only sub-expressions as fields.
        return type(expr)(*(self.expr(getattr(expr, f.name)) for f in fields(expr)))  # type: ignore[arg-type]


def normal(expr: Expr) -> Hashable:
    """A key equal for expressions that differ only in the order of conjuncts, disjuncts, or sides of ``=``."""
    match expr:
        case Const(value):
            return ("const", type(value).__name__, value)
        case Var(name):
            return ("var", name)
        case And(args) | Or(args):
            return (type(expr).__name__, frozenset(normal(a) for a in args))
        case Eq(lhs, rhs):
            return ("Eq", frozenset((normal(lhs), normal(rhs))))
    return (type(expr).__name__, *(normal(getattr(expr, f.name)) for f in fields(expr)))  # type: ignore[arg-type]


def _action_key(action: Action, renaming: Renaming | None = None) -> Hashable:
    """What an action does (guard and updates), optionally after a renaming; labels are left out."""
    if renaming is None:
        return normal(action.guard), frozenset((t, normal(v)) for t, v in action.updates)
    return (
        normal(renaming.expr(action.guard)),
        frozenset((renaming.variables.get(t, t), normal(renaming.expr(v))) for t, v in action.updates),
    )


def _swap(a: Sequence[str], b: Sequence[str]) -> dict[str, str]:
    return {**dict(zip(a, b)), **dict(zip(b, a))}


def _shape(system: TransitionSystem, group: ProcessGroup) -> Hashable:
    domains = system.domains
    return len(group.blocks), tuple(domains[name] for name in group.blocks[0]) if group.blocks else ()


def _classes(system: TransitionSystem) -> list[list[ProcessGroup]]:
    """Named groups of one shape, which may be swapped with one another (classes of two or more)."""
    by_shape: dict[Hashable, list[ProcessGroup]] = {}
    for group in system.symmetry:
        if group.value is not None and group.blocks:
            by_shape.setdefault(_shape(system, group), []).append(group)
    return [groups for groups in by_shape.values() if len(groups) > 1]


def generators(system: TransitionSystem) -> Iterator[Renaming]:
    """Renamings that generate the declared symmetry group."""
    for group in system.symmetry:
        for first, second in itertools.pairwise(group.blocks):
            yield Renaming(_swap(first, second), {}, f"swapping the processes of {first[0]} and {second[0]}")
    for groups in _classes(system):
        for one, other in itertools.pairwise(groups):
            assert one.value is not None and other.value is not None
            variables: dict[str, str] = {}
            for a, b in zip(one.blocks, other.blocks):
                variables.update(_swap(a, b))
            yield Renaming(variables, _swap([one.value], [other.value]), f"swapping {one.value} and {other.value}")


def verify(system: TransitionSystem) -> None:
    """Raise InvalidModel unless every generator maps the initial states and the actions onto themselves."""
    actions = {_action_key(a) for a in system.actions}
    for renaming in generators(system):
        for value, other in renaming.values.items():
            for variable in system.variables:
                members = variable.domain.members
                if (value in members) != (other in members):
                    raise InvalidModel(f"symmetry: {renaming.what}, but {variable.name} can hold only one of them")
        if normal(renaming.expr(system.init)) != normal(system.init):
            raise InvalidModel(f"symmetry: {renaming.what} changes the initial states")
        for action in system.actions:
            if _action_key(action, renaming) not in actions:
                raise InvalidModel(f"symmetry: {renaming.what} maps {action.label} to no action of the system")


def invariant(system: TransitionSystem, formula: Expr) -> bool:
    """Is ``formula`` unchanged by every generator (so true or false alike on a whole orbit)?"""
    key = normal(formula)
    return all(normal(r.expr(formula)) == key for r in generators(system))


@dataclass(frozen=True)
class Reduction:
    """How states are reduced: ``canonical`` maps a packed state to its orbit's representative.

    ``order`` is the size of the symmetry group used (an upper bound on the reduction factor);
    ``canonical`` is None when no reduction applies, and ``description`` says why.
    """

    canonical: Callable[[Packed], Packed] | None
    order: int
    description: str


def reduction(system: TransitionSystem, layout: Layout, properties: Sequence[tuple[str, Expr]]) -> Reduction:
    """The reduction for checking ``properties`` (name, formula) on ``system``, verified first."""
    if not any(len(g.blocks) > 1 for g in system.symmetry) and not _classes(system):
        return Reduction(None, 1, "off: the system declares no interchangeable processes")
    verify(system)
    for name, formula in properties:
        if not invariant(system, formula):
            return Reduction(None, 1, f"off: property {name} is not symmetric in the interchangeable processes")
    permutations = _value_permutations(system)
    sizes = sorted((len(g.blocks) for g in system.symmetry if len(g.blocks) > 1), reverse=True)
    if not sizes and len(permutations) == 1:
        return Reduction(None, 1, f"off: more than {MAX_VALUE_PERMUTATIONS} value permutations, and nothing else")
    order = math.prod(math.factorial(size) for size in sizes) * len(permutations)
    parts = [f"groups of {', '.join(map(str, sizes))} interchangeable processes"] if sizes else []
    if len(permutations) > 1:
        named = [g.value for groups in _classes(system) for g in groups]
        parts.append(f"values {', '.join(str(v) for v in named)} interchangeable")
    elif _classes(system):
        parts.append(f"named groups not swapped (more than {MAX_VALUE_PERMUTATIONS} value permutations)")
    return Reduction(_canonicaliser(layout, permutations), order, f"on: {'; '.join(parts)} (group order {order})")


def _value_permutations(system: TransitionSystem) -> list[tuple[dict[str, str], dict[str, str]]]:
    """Every swap of named groups within their classes, identity first, as (variable map, value map)."""
    classes = _classes(system)
    if math.prod(math.factorial(len(groups)) for groups in classes) > MAX_VALUE_PERMUTATIONS:
        classes = []
    result = []
    for choice in itertools.product(*(itertools.permutations(range(len(gs))) for gs in classes)):
        variables: dict[str, str] = {}
        values: dict[str, str] = {}
        for groups, image in zip(classes, choice):
            for source, target in zip(groups, (groups[i] for i in image)):
                assert source.value is not None and target.value is not None
                values[source.value] = target.value
                for a, b in zip(source.blocks, target.blocks):
                    variables.update(zip(a, b))
        result.append((variables, values))
    return result


def _canonicaliser(
    layout: Layout, permutations: list[tuple[dict[str, str], dict[str, str]]]
) -> Callable[[Packed], Packed]:
    """Generated code (NOTE(codegen-safety) in regcheck.compile): tables are bound, never spelled.

    Each block of a group is one word of the packed state (``Layout``), so sorting the blocks
    of a group is sorting a slice of small integers.
    """
    namespace: dict[str, object] = {}
    pieces, word = [], 0
    for group in layout.groups:
        if group.count < 2:
            continue
        if group.word > word:
            pieces.append(f"*s[{word}:{group.word}]")
        pieces.append(f"*sorted(s[{group.word}:{group.word + group.count}])")
        word = group.word + group.count
    pieces.append(f"*s[{word}:]")
    code = ["def sort(s):", f"    return ({', '.join(pieces)},)"]
    candidates = ["sort(s)"]
    for k, (variables, values) in enumerate(permutations[1:], start=1):
        words: list[list[str]] = [[] for _ in range(layout.words)]
        for i, (name, field) in enumerate(layout.fields.items()):
            target = layout.fields[variables.get(name, name)]
            read = f"((s[{field.word}] >> {field.offset}) & {field.mask})"
            members = field.domain.members
            if set(values) & set(members):
                namespace[f"m{k}_{i}"] = tuple(members.index(values.get(m, m)) for m in members)
                read = f"m{k}_{i}[{read}]"
            words[target.word].append(f"({read} << {target.offset})")
        code += [f"def permute{k}(s):", f"    return ({''.join(' | '.join(w or ['0']) + ', ' for w in words)})"]
        candidates.append(f"sort(permute{k}(s))")
    if len(candidates) == 1:
        code += ["canonical = sort"]
    else:
        code += ["def canonical(s):", f"    return min({', '.join(candidates)})"]
    exec(compile("\n".join(code), "<regcheck.symmetry canonical>", "exec"), namespace)  # noqa: S102
    return namespace["canonical"]  # type: ignore[return-value]


__all__ = [
    "MAX_VALUE_PERMUTATIONS",
    "Reduction",
    "Renaming",
    "generators",
    "invariant",
    "normal",
    "reduction",
    "verify",
]
