"""kg.linesort: N-Triples and N-Quads lines sorted on disk, for Turtle, TriG and JSON-LD
written as the graph is made."""

from __future__ import annotations

import errno
import gc
import re

import pyoxigraph as ox
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from kg import linesort
from kg.cli import main
from kg.graph import stream
from kg.linesort import SortedLines, graph_first, reader
from tests.conftest import SEEDS

GRAPHS = ["<http://x/g>", "<http://x/g2>", "<http://x/g-1>", "<http://x/a>"]  # one a prefix of others
TERMS = ["<http://x/s>", "<http://x/s2>", "_:b1", "<http://x/p>"]
LITERALS = st.text(alphabet=st.sampled_from(list('ab .\\\t"<>')), max_size=12).map(
    lambda t: '"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"'
)
QUAD = st.tuples(
    st.sampled_from(TERMS),
    st.sampled_from(TERMS[3:]),
    st.one_of(st.sampled_from(TERMS), LITERALS),
    st.sampled_from(GRAPHS),
)


def line(s: str, p: str, o: str, g: str | None = None) -> bytes:
    return (f"{s} {p} {o} {g} .\n" if g else f"{s} {p} {o} .\n").encode()


@settings(max_examples=60, deadline=None)
@given(quads=st.lists(QUAD, max_size=80), run_bytes=st.integers(40, 400), fan_in=st.integers(2, 4))
def test_lines_come_back_sorted_each_once_however_many_runs(tmp_path_factory, quads, run_bytes, fan_in):
    """Any run size and fan-in (merges in rounds): every line once, in the order sorting the
    whole would give; quads keyed by graph come back one graph at a time."""
    folder = tmp_path_factory.mktemp("runs")
    lines = [line(*q) for q in quads]
    original = linesort.FAN_IN
    linesort.FAN_IN = fan_in
    try:
        for key in (None, graph_first):
            with SortedLines(folder, key is graph_first, run_bytes=run_bytes) as sorter:
                for n in range(0, len(lines), 3):  # written a few lines at a time, as a sink does
                    sorter.write(b"".join(lines[n : n + 3]))
                got = list(sorter.lines())
            assert got == sorted(set(lines), key=key)
            if key is graph_first:
                assert _contiguous([ln.rsplit(b" ", 2)[1] for ln in got])
    finally:
        linesort.FAN_IN = original
    assert list(folder.iterdir()) == []  # runs have no names: nothing is left behind


def _contiguous(graphs: list) -> bool:
    seen: list = []
    for g in graphs:
        if not seen or seen[-1] != g:
            if g in seen:
                return False
            seen.append(g)
    return True


def test_graph_first_groups_a_graph_whose_name_begins_another():
    lines = [line("<http://x/s>", "<http://x/p>", f'"{n}"', g) for n, g in enumerate(GRAPHS * 3)]
    keyed = sorted(lines, key=graph_first)
    graphs = [ln.rsplit(b" ", 2)[1] for ln in keyed]
    assert _contiguous(graphs)
    assert graph_first(line("<http://x/s>", "<http://x/p>", '"a . b <http://x/z> ."', "<http://x/g>")).startswith(
        b"<http://x/g><http://x/s>"
    )


def test_reader_hands_the_parser_lines_as_a_file():
    lines = [line("<http://x/s>", "<http://x/p>", f'"{n}"') for n in range(5000)]
    parsed = list(ox.parse(reader(iter(lines), batch=7), ox.RdfFormat.N_TRIPLES))
    assert [q.object.value for q in parsed] == [str(n) for n in range(5000)]


def test_partial_lines_are_refused(tmp_path):
    with SortedLines(tmp_path) as sorter:
        sorter.write(b"<http://x/s> <http://x/p> ")
        with pytest.raises(ValueError, match="whole lines"):
            list(sorter.lines())


def test_a_folder_that_cannot_hold_runs_is_named(tmp_path):
    missing = tmp_path / "gone"
    sorter = SortedLines(missing, run_bytes=10)
    with pytest.raises(OSError) as caught:
        sorter.write(line("<http://x/s>", "<http://x/p>", '"o"'))
    assert caught.value.filename == str(missing)


def emit_interleaved(sink) -> None:
    """Two named graphs and two subjects, interleaved, as a build emits them (documents'
    parts and the facts graph in turns), one quad twice."""
    names = [ox.NamedNode("http://x/g1"), ox.NamedNode("http://x/g2")]
    subjects = [ox.NamedNode("http://x/s1"), ox.NamedNode("http://x/s2")]
    for n in range(40):
        g, s = names[n % 2], subjects[(n // 2) % 2]
        sink(g, s, ox.NamedNode("http://x/p"), ox.Literal(f"value {n % 20}"))


@pytest.mark.parametrize("suffix", [".ttl", ".trig", ".jsonld"])
def test_streamed_grouped_formats_hold_each_subject_and_graph_once(tmp_path, suffix, monkeypatch):
    """Sorted through several runs, the file groups what the stream interleaved: Turtle writes
    each subject once, TriG each graph once, and the graph parses back whole."""
    monkeypatch.setattr(linesort, "RUN_BYTES", 200)
    path = tmp_path / f"g{suffix}"
    stream(emit_interleaved, path)
    text = path.read_text(encoding="utf-8")
    fmt = {".ttl": ox.RdfFormat.TURTLE, ".trig": ox.RdfFormat.TRIG, ".jsonld": ox.RdfFormat.JSON_LD}[suffix]
    got = {(q.subject.value, q.object.value, q.graph_name) for q in ox.parse(path=str(path), format=fmt)}
    expected = {(f"http://x/s{1 + (n // 2) % 2}", f"value {n % 20}", n % 2) for n in range(40)}
    if suffix == ".trig":
        assert {(s, o, g.value) for s, o, g in got} == {(s, o, f"http://x/g{1 + g}") for s, o, g in expected}
        assert (
            len(re.findall(r"^<http://x/g1> \{", text, re.M)) == len(re.findall(r"^<http://x/g2> \{", text, re.M)) == 1
        )
    else:
        assert {(s, o) for s, o, _ in got} == {(s, o) for s, o, _ in expected}
    if suffix == ".ttl":
        assert re.findall(r"^<http://x/s\d>", text, re.M) == ["<http://x/s1>", "<http://x/s2>"]
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


class FullDisk:
    """Run files on a disk with `room` bytes left between them all."""

    def __init__(self, room: int):
        self.room = room

    def file(self, _directory: object, _prefix: str) -> FullDisk:
        return self

    def write(self, data: bytes) -> int:
        self.room -= len(data)
        if self.room < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return len(data)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def close(self) -> None:
        pass


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")  # no traceback as it ends
def test_kg_build_to_turtle_leaves_only_its_output_and_says_when_the_disk_fills(tmp_path, monkeypatch):
    out = tmp_path / "seeds.ttl"
    result = CliRunner().invoke(main, ["build", str(SEEDS), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert [p.name for p in tmp_path.iterdir()] == ["seeds.ttl"]
    before = out.read_bytes()
    assert before.count(b"\nkgr:") > 50  # subjects, each once, grouped

    monkeypatch.setattr(linesort, "RUN_BYTES", 50_000)  # several runs, and the disk fills in the third
    monkeypatch.setattr(linesort, "scratch_file", FullDisk(120_000).file)
    result = CliRunner().invoke(main, ["build", str(SEEDS), "--out", str(out)])
    assert result.exit_code == 1
    assert f"cannot write {out}: No space left on device" in result.output
    assert out.read_bytes() == before  # the previous graph stays whole
    assert [p.name for p in tmp_path.iterdir()] == ["seeds.ttl"]
    del result  # (its traceback holds the failed build's frames)
    gc.collect()  # what the failed build left unfinished goes now, quietly (its files are closed)
