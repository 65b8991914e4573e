"""Commands for the people who write the rules: `kg eval`, `kg diff`, `kg rules`."""

from __future__ import annotations

import sys

import click


def load_graph(path: str):
    from kg.graph import load

    try:
        return load(path)
    except Exception as exc:
        raise click.ClickException(f"{path}: cannot be read as a graph: {exc}") from exc


@click.command("eval")
@click.argument("graph")
@click.argument("gold", type=click.Path(exists=True, dir_okay=False))
@click.option("--min-f1", type=float, default=None, help="Exit 1 when overall F1 is below this.")
def eval_command(graph: str, gold: str, min_f1: float | None) -> None:
    """Score GRAPH against the GOLD facts: precision, recall, F1 per property and per rule."""
    from kg.evaluate import GoldError, evaluate, format_report, load_gold

    try:
        gold_facts = load_gold(gold)
    except GoldError as exc:
        raise click.ClickException(str(exc)) from exc
    report = evaluate(load_graph(graph), gold_facts)
    click.echo(format_report(report), nl=False)
    if min_f1 is not None and report.total.f1 < min_f1:
        sys.exit(1)


@click.command("diff")
@click.argument("old")
@click.argument("new")
def diff_command(old: str, new: str) -> None:
    """Facts and casualty claims added and removed between two builds, by property and rule."""
    from kg.evaluate import diff, format_diff

    click.echo(format_diff(diff(load_graph(old), load_graph(new))), nl=False)


@click.command("rules")
@click.option("--corpus", "corpus", multiple=True, help="Documents (files or folders) to run the rules on.")
def rules_command(corpus: tuple[str, ...]) -> None:
    """Every rule: how often it fired on --corpus, contract breaks, failing example sentences."""
    from kg.evaluate import format_rule_report, rule_report
    from kg.rules import RuleError, load_rules

    try:
        rules = load_rules()
    except RuleError as exc:
        raise click.ClickException(str(exc)) from exc
    built = None
    if corpus:
        from kg.pipeline import build

        built = build(corpus).corpus
    report = rule_report(rules, built)
    click.echo(format_rule_report(report, bool(corpus)), nl=False)
    if report.example_failures:
        sys.exit(1)


def register(group: click.Group) -> None:
    """Add the rule writers' commands to the `kg` group."""
    for command in (eval_command, diff_command, rules_command):
        group.add_command(command)
