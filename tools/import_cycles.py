"""The import cycles among dimcurse's modules, as grimp (import-linter's graph) sees them: imports inside
functions count. Prints each strongly connected component of two or more modules; none means no cycle.

    python tools/import_cycles.py [ROOT]      # ROOT: the checkout to read (default: this one)
"""

from __future__ import annotations

import sys
from pathlib import Path

import grimp


def components(graph) -> list[list[str]]:
    """Tarjan's strongly connected components of the module graph, those of two or more modules."""
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in edges[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            part = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                part.append(other)
                if other == module:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    sys.setrecursionlimit(10_000)
    for module in modules:
        if module not in index:
            visit(module)
    return found


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
    sys.path.insert(0, str(root))
    graph = grimp.build_graph("dimcurse", include_external_packages=False)
    cycles = components(graph)
    print(f"{len(graph.modules)} modules, {len(cycles)} import cycle(s)")
    for part in cycles:
        print(f"  {len(part)} modules: {', '.join(part)}")


if __name__ == "__main__":
    main()
