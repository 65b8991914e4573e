"""IPython magics: ``%kg_use`` picks a graph, ``%%sparql`` asks it a question.

Load with ``%load_ext kg``. Then::

    %kg_use /tmp/seeds.ttl          # a graph file or store directory, or a variable name
    %%sparql -o groups
    SELECT ?group ?event WHERE { ?group kgo:claimedResponsibilityFor ?event }

The cell's answer is shown as a table and, with ``-o NAME``, kept in the notebook as the
DataFrame ``NAME``. Without ``%kg_use`` the cell runs against the graph last loaded or
built through :mod:`kg.api`.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from kg import api


@magics_class
class KgMagics(Magics):
    """`%kg_use` and `%%sparql`, sharing the graph through :func:`kg.api.use`."""

    @line_magic
    def kg_use(self, line: str) -> Any:
        """%kg_use PATH_OR_VARIABLE: the graph that %%sparql cells run against."""
        name = line.strip()
        if not name:
            raise ValueError("usage: %kg_use PATH_OR_VARIABLE")
        namespace = self.shell.user_ns if self.shell is not None else {}
        if name.isidentifier() and name in namespace:
            api.use(namespace[name])
        elif Path(name).expanduser().exists():
            api.load(Path(name).expanduser())
        else:
            raise FileNotFoundError(f"%kg_use: {name!r} is neither a variable nor a file or directory")
        return None

    @cell_magic
    def sparql(self, line: str, cell: str) -> Any:
        """%%sparql [-o NAME] [-g VARIABLE]: run the cell's SPARQL, show the DataFrame.

        -o NAME      also store the DataFrame as NAME in the notebook
        -g VARIABLE  run against this graph variable instead of the current one
        """
        out, graph_name = parse_options(line)
        namespace = self.shell.user_ns if self.shell is not None else {}
        if graph_name is not None:
            if graph_name not in namespace:
                raise NameError(f"%%sparql -g: no variable {graph_name!r}")
            graph = namespace[graph_name]
        else:
            graph = api.current()
        frame = api.sparql(graph, cell)
        if out:
            namespace[out] = frame
        return frame


def parse_options(line: str) -> tuple[str | None, str | None]:
    """`-o NAME` and `-g VARIABLE` from the magic's line; anything else is an error."""
    words = shlex.split(line)
    found: dict[str, str] = {}
    while words:
        flag = words.pop(0)
        if flag not in ("-o", "-g") or not words:
            raise ValueError(f"%%sparql: unexpected {flag!r}; usage: %%sparql [-o NAME] [-g VARIABLE]")
        value = words.pop(0)
        if not value.isidentifier():
            raise ValueError(f"%%sparql {flag}: {value!r} is not a Python name")
        found[flag] = value
    return found.get("-o"), found.get("-g")


def load_ipython_extension(ipython) -> None:
    """Called by ``%load_ext kg`` (through kg/__init__.py) and ``%load_ext kg.magic``."""
    ipython.register_magics(KgMagics)
