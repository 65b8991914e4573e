"""kg: a knowledge graph of actors, groups and events built from news, every fact with its evidence."""

__version__ = "0.1.0"


def load_ipython_extension(ipython) -> None:
    """`%load_ext kg`: the %%sparql and %kg_use magics (kg.magic); imported only when asked."""
    from kg.magic import load_ipython_extension as load

    load(ipython)
