"""The placement algorithm (R3-R5) on plain values, with no database.

Workers who can fill the same slots are interchangeable, so they are grouped into cells
(category x kecamatan: the only things a pledge target can name). A min-cost max-flow from
pledges to cells gives the maximum number of placements (R5); the k-th worker of a cell costs
his or her rank on the waiting list, so among the maximum placements no unplaced worker could
take the place of a lower-ranked placed one (R4). Inside a cell, workers are taken in order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from ortools.graph.python import min_cost_flow

NO_DECILE = 11  # unknown DTSEN decile sorts after every known one


@dataclass(frozen=True)
class Candidate:
    """A waiting worker, eligible in the run's month and covered by nobody from then on."""

    worker_id: int
    category: str
    kecamatan: str
    lapsing: bool = False  # covered last month, not this month (R4: continuity first)
    weight: int = 1  # the category's risk weight (higher first)
    decile: int | None = None  # DTSEN decile (poorer first, unknown last)
    registered_on: date = date(2000, 1, 1)

    @property
    def priority(self) -> tuple[int, int, int, int, int]:
        """R4 order, smallest first; the worker id breaks ties deterministically."""
        return (
            0 if self.lapsing else 1,
            -self.weight,
            self.decile if self.decile is not None else NO_DECILE,
            self.registered_on.toordinal(),
            self.worker_id,
        )


@dataclass(frozen=True)
class Demand:
    """A paid pledge's open slots and its target (an empty set means any)."""

    pledge_id: int
    slots: int
    categories: frozenset[str] = frozenset()
    kecamatan: frozenset[str] = frozenset()

    def fits(self, category: str, kecamatan: str) -> bool:
        return (not self.categories or category in self.categories) and (
            not self.kecamatan or kecamatan in self.kecamatan
        )


@dataclass
class CityFill:
    """Workers given to APBD and DBHCHT for the month, in priority order per funder."""

    placed: dict[str, list[int]] = field(default_factory=dict)
    continuing: dict[str, int] = field(default_factory=dict)


def by_priority(candidates: Iterable[Candidate]) -> list[Candidate]:
    return sorted(candidates, key=lambda c: c.priority)


def fill_city(
    ranked: Sequence[Candidate],
    quotas: dict[str, int],
    already: dict[str, int],
    continuing: dict[int, str],
    dbhcht_categories: Iterable[str],
) -> CityFill:
    """R3: APBD's quota, then DBHCHT's (its categories only), from the top of the list.

    `already` counts the workers each funder covers in the month before this run;
    `continuing` maps workers the city funded last month to that funder, who keep it first.
    """
    allowed = {"apbd": None, "dbhcht": set(dbhcht_categories)}
    room = {f: max(quotas.get(f, 0) - already.get(f, 0), 0) for f in allowed}
    fill = CityFill(placed={f: [] for f in allowed}, continuing={f: 0 for f in allowed})
    taken: set[int] = set()
    for candidate in ranked:  # those the city funded last month keep their funder
        funder = continuing.get(candidate.worker_id)
        if funder in room and room[funder] > 0 and _allowed(allowed[funder], candidate):
            fill.placed[funder].append(candidate.worker_id)
            fill.continuing[funder] += 1
            room[funder] -= 1
            taken.add(candidate.worker_id)
    for funder, categories in allowed.items():
        for candidate in ranked:
            if room[funder] == 0:
                break
            if candidate.worker_id not in taken and _allowed(categories, candidate):
                fill.placed[funder].append(candidate.worker_id)
                room[funder] -= 1
                taken.add(candidate.worker_id)
    return fill


def _allowed(categories: set[str] | None, candidate: Candidate) -> bool:
    return categories is None or candidate.category in categories


def place(demands: Sequence[Demand], ranked: Sequence[Candidate]) -> dict[int, list[int]]:
    """Workers for each pledge: the maximum number in total (R5), best-ranked first (R4).

    `ranked` must be in priority order (see by_priority). Returns pledge id -> worker ids.
    """
    result: dict[int, list[int]] = {d.pledge_id: [] for d in demands}
    demands = [d for d in demands if d.slots > 0]
    if not demands or not ranked:
        return result
    cells: dict[tuple[str, str], list[int]] = defaultdict(list)  # cell -> ranks, in order
    for rank, candidate in enumerate(ranked):
        cells[(candidate.category, candidate.kecamatan)].append(rank)
    groups: dict[tuple[frozenset[str], frozenset[str]], list[Demand]] = defaultdict(list)
    for demand in demands:  # pledges with the same target share one node
        groups[(demand.categories, demand.kecamatan)].append(demand)
    group_keys = list(groups)
    cell_keys = list(cells)
    reach = {g: [c for c in cell_keys if groups[g][0].fits(*c)] for g in group_keys}

    flow = _solve(group_keys, cell_keys, groups, cells, reach)
    # Workers of each cell in rank order, handed to the groups that drew on the cell.
    by_group: dict[tuple[frozenset[str], frozenset[str]], list[int]] = defaultdict(list)
    taken_in_cell: dict[tuple[str, str], int] = defaultdict(int)
    for (g, c), units in sorted(flow.items(), key=lambda item: cells[item[0][1]][0]):
        start = taken_in_cell[c]
        by_group[g].extend(cells[c][start : start + units])
        taken_in_cell[c] = start + units
    for g, ranks in by_group.items():
        ranks.sort()
        position = 0
        for demand in sorted(groups[g], key=lambda d: d.pledge_id):
            chosen = ranks[position : position + demand.slots]
            result[demand.pledge_id] = [ranked[r].worker_id for r in chosen]
            position += len(chosen)
    return result


def _solve(group_keys, cell_keys, groups, cells, reach):  # type: ignore[no-untyped-def]
    """Min-cost max-flow: source -> group -> cell -> sink (one unit arc per usable worker)."""
    source, sink = 0, 1
    group_node = {g: 2 + i for i, g in enumerate(group_keys)}
    cell_node = {c: 2 + len(group_keys) + i for i, c in enumerate(cell_keys)}
    slots = {g: sum(d.slots for d in groups[g]) for g in group_keys}
    demand_on = defaultdict(int)
    for g in group_keys:
        for c in reach[g]:
            demand_on[c] += slots[g]
    tails, heads, caps, costs = [], [], [], []
    for g in group_keys:
        tails.append(source)
        heads.append(group_node[g])
        caps.append(slots[g])
        costs.append(0)
    pair_arcs = []
    for g in group_keys:
        for c in reach[g]:
            pair_arcs.append((len(tails), g, c))
            tails.append(group_node[g])
            heads.append(cell_node[c])
            caps.append(min(slots[g], len(cells[c])))
            costs.append(0)
    for c in cell_keys:
        usable = cells[c][: min(len(cells[c]), demand_on[c])]
        tails.extend([cell_node[c]] * len(usable))
        heads.extend([sink] * len(usable))
        caps.extend([1] * len(usable))
        costs.extend(usable)  # the k-th worker of the cell costs his or her rank
    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(
        np.array(tails, dtype=np.int32),
        np.array(heads, dtype=np.int32),
        np.array(caps, dtype=np.int64),
        np.array(costs, dtype=np.int64),
    )
    most = sum(slots.values())  # supply at the source, demand at the sink; the max flow is
    solver.set_node_supply(source, most)  # whatever part of it the graph can carry
    solver.set_node_supply(sink, -most)
    status = solver.solve_max_flow_with_min_cost()
    if status != solver.OPTIMAL:
        raise RuntimeError(f"min-cost flow solver failed with status {status}")
    flows = solver.flows(np.array([arc for arc, _, _ in pair_arcs], dtype=np.int32))
    return {
        (g, c): int(units) for (_, g, c), units in zip(pair_arcs, flows, strict=True) if units > 0
    }
