"""Event reports clustered from disk (kg.reports): the events of clustering them in memory."""

from __future__ import annotations

import errno
import os
from dataclasses import fields

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kg.model import EVENT_EVIDENCE, Event, Evidence
from kg.reports import DocPart, ReportTable, report, report_row
from kg.resolve import answers_of, cluster_events, date_key, grouped, merged_event, name_responses, remap_event

FACILITY = {"fc-camp": "Facility", "jaffar-express": "Facility", "fc-headquarters": "Facility"}.get
MERGED = {"balochistan-liberation-army": "bla", "fc-hq": "fc-headquarters"}  # minted names joined to known ones

REPORT = st.fixed_dictionaries(
    {
        "doc": st.integers(0, 5),
        "names": st.sampled_from([[], ["Operation Storm"], ["black storm"], ["Operation storm", "Black Storm"]]),
        "date": st.sampled_from([None, "2025-03", "2025-03-01", "2025-03-02"]),
        "targets": st.sets(st.sampled_from(["fc-camp", "jaffar-express", "quetta", "fc-hq"]), max_size=2),
        "locations": st.sets(st.sampled_from(["quetta", "turbat"]), max_size=2),
        "perpetrators": st.sets(st.sampled_from(["bla", "blf", "balochistan-liberation-army"]), max_size=2),
        "operation": st.booleans(),
        "answers": st.integers(0, 3),
        "spans": st.integers(0, 7),
    }
)
SPEC = {
    "names": [],
    "date": "2025-03-01",
    "targets": {"fc-camp"},
    "locations": set(),
    "perpetrators": {"bla"},
    "operation": False,
    "answers": 0,
}


def reports_of(specs: list[dict]) -> list[list[Event]]:
    """Reports as documents give them, documents in corpus order: some of them operations
    answering an earlier report of their own document, each with evidence spans."""
    docs: dict[int, list[Event]] = {}
    for spec in specs:
        mine = docs.setdefault(spec["doc"], [])
        doc = f"d{spec['doc']}"
        e = Event(f"{doc}-e{len(mine) + 1}", doc, "Attack", list(spec["names"]), spec["date"])
        e.targets, e.locations, e.perpetrators = set(spec["targets"]), set(spec["locations"]), set(spec["perpetrators"])
        if spec["operation"]:
            e.type, e.names = "SecurityOperation", []
            e.responds_to = {f"{doc}-e{spec['answers']}"} if 0 < spec["answers"] <= len(mine) else set()
        at = 100 * len(mine)  # every report's spans its own
        e.evidence = [
            Evidence(doc, at + 10 * i, at + 10 * i + 9, "", "event:attack", i % 2 == 1) for i in range(spec["spans"])
        ]
        e.date_evidence = Evidence(doc, at + 3, at + 7, "", "date:weekday") if e.date else None
        mine.append(e)
    return [docs[d] for d in sorted(docs)]


def as_fields(e: Event) -> dict:
    return {f.name: getattr(e, f.name) for f in fields(e)}


def stub(e: Event) -> dict:
    """A report's fields but its spans (the disk reads only those a merged event cites)."""
    return {k: v for k, v in as_fields(e).items() if k not in ("evidence", "date_evidence")}


@settings(max_examples=300, deadline=None)
@given(st.lists(REPORT, min_size=1, max_size=30))
def test_reports_clustered_from_disk_make_the_events_clustering_them_in_memory_makes(specs):
    """Whatever the reports (names shared or not, facilities, days with a perpetrator or a
    place, operations answering reports that are one, minted names merged into known ones),
    the disk gives the same events, in the same order, each with its reports in their order,
    and each merged event is the same, its cited spans and its date's included."""
    documents = reports_of(specs)
    table = ReportTable()
    try:
        for doc in documents:
            table.add([report_row(e) for e in doc], MERGED, FACILITY)
        from_disk = list(table.events(table.cluster(FACILITY)))
        answering = {(e.id, frozenset(e.responds_to)) for e in table.answering()}
    finally:
        table.close()
    in_memory = [remap_event(e, MERGED) for doc in documents for e in doc]
    expected = list(grouped(in_memory, cluster_events(in_memory, FACILITY)))
    assert [[stub(e) for e in group] for group in from_disk] == [[stub(e) for e in group] for group in expected]
    labels = {"bla": "BLA", "fc-headquarters": "FC headquarters"}
    made = [as_fields(merged_event(group, labels, frozenset(), {})) for group in from_disk]
    assert made == [as_fields(merged_event(group, labels, frozenset(), {})) for group in expected]
    assert answering == {(e.id, frozenset(e.responds_to)) for e in in_memory if e.responds_to}


@settings(max_examples=150, deadline=None)
@given(st.lists(REPORT, min_size=1, max_size=30))
def test_events_kept_on_disk_are_what_resolution_in_memory_makes_of_each_document(specs):
    """A spilled build keeps its merged events in the table (kg.reports.ReportTable.keep_events)
    and reads back, per document, what its part of the graph needs (DocPart): the same
    events (operations named after what they answered), in the same order, as merging in
    memory; each document's reports' ids, the spans events cite in it in event order, and
    the statements of the dates it is evidence of, as kg.graph wrote them from memory."""
    documents = reports_of(specs)
    labels = {"bla": "BLA", "fc-headquarters": "FC headquarters"}
    merge = lambda group: merged_event(group, labels, frozenset(), {})  # noqa: E731
    table = ReportTable()
    try:
        for doc in documents:
            table.add([report_row(e) for e in doc], MERGED, FACILITY)
        table.keep_events(table.cluster(FACILITY), merge)
        table.rename(name_responses(table.stored_events(), answers_of(table.answering(), table.event_of)))
        stored = [as_fields(e) for e in table.stored_events().values()]
        parts = table.parts([doc[0].doc for doc in documents] + ["d-without-reports"])
        cited = table.cited_documents()
    finally:
        table.close()

    in_memory = [remap_event(e, MERGED) for doc in documents for e in doc]
    groups = list(grouped(in_memory, cluster_events(in_memory, FACILITY)))
    events = {}
    ids = {}
    for group in groups:
        merged = merge(group)
        events[merged.id] = merged
        ids.update((e.id, merged.id) for e in group)
    name_responses(events, answers_of(in_memory, ids.__getitem__))
    assert stored == [as_fields(e) for e in events.values()]
    expected: dict[str, DocPart] = {}
    for e in in_memory:
        expected.setdefault(e.doc, DocPart({}, {}, [])).ids[e.id] = ids[e.id]
    for e in events.values():
        for ev in e.evidence[:EVENT_EVIDENCE]:
            expected[ev.doc].cites.setdefault(e.id, []).append(ev)
        if e.date:
            expected[e.date_evidence.doc].dates.append((date_key(e), [e.date_evidence]))
    assert parts == expected
    assert cited == sum(1 for part in expected.values() if part.cites or part.dates)


def test_a_report_read_back_is_the_report_written():
    e = Event("d1-e2", "d1", "Attack", ["Jaffar Express hijacking"], "2025-03-11", description="a train")
    e.date_evidence = Evidence("d1", 4, 9, "", "date:explicit", True)
    e.evidence = [Evidence("d1", 0, 57, "a “quoted” sentence — with 𝄞", "event:hijacking"), e.date_evidence]
    e.targets, e.locations, e.perpetrators = {"jaffar-express"}, {"bolan", "sibi"}, {"bla"}
    e.participants, e.responds_to = set(), {"d1-e1"}
    stub, spans = report_row(e)
    assert as_fields(report(stub, spans)) == as_fields(e)
    assert report(stub).evidence == [] and report(stub).date_evidence is None  # clustering reads no spans


def test_a_report_table_lies_in_its_folder_under_no_name(tmp_path):
    """Beside the output (where the build found room), yet nothing left there, even by a
    build that is killed: the file is removed as soon as SQLite has it open."""
    days = ["2025-03-01", "2025-03-02", "2025-03-05"]
    specs = [{**SPEC, "doc": d % 3, "spans": d % 4, "date": days[d % 3], "targets": set()} for d in range(40)]
    documents = reports_of(specs)
    table = ReportTable(tmp_path)
    try:
        for doc in documents:
            table.add([report_row(e) for e in doc], MERGED, FACILITY)
        assert list(tmp_path.iterdir()) == []
        assert any(p.startswith(str(tmp_path / ".kg-reports.")) and p.endswith("(deleted)") for p in open_files())
        events = [[stub(e) for e in group] for group in table.events(table.cluster(FACILITY))]
    finally:
        table.close()
    in_memory = [remap_event(e, MERGED) for doc in documents for e in doc]
    assert len(events) > 1
    assert events == [[stub(e) for e in group] for group in grouped(in_memory, cluster_events(in_memory, FACILITY))]


def test_a_report_table_names_the_folder_it_cannot_use(tmp_path):
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    with pytest.raises(OSError, match="a-file"):
        ReportTable(tmp_path / "a-file")


def open_files() -> list[str]:
    """What this process holds open (Linux: /proc), removed files marked "(deleted)"."""
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            held.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # the folder's own, closed once listed
            continue
    return held


def test_a_full_disk_under_the_report_table_is_the_folders_error(tmp_path):
    """SQLite's "database or disk is full" (here its page limit) comes out as an OSError naming
    the folder, which `kg build` reports as "cannot write FOLDER" (and the file is gone)."""
    documents = reports_of([{**SPEC, "doc": d, "spans": 7} for d in range(60)])
    with pytest.raises(OSError, match="disk is full") as raised, ReportTable(tmp_path) as table:
        table.db.execute("PRAGMA max_page_count = 8")
        for doc in documents:
            table.add([report_row(e) for e in doc], MERGED, FACILITY)
    assert raised.value.filename == str(tmp_path) and raised.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


def test_where_an_open_file_cannot_be_removed_the_table_is_sqlites_own_temporary_one(tmp_path, monkeypatch):
    """Windows refuses to remove an open file: the table then goes to SQLite's temporary
    database (which removes itself), and the folder is left as it was."""
    unlink = os.unlink

    def windows(path, *args, **kwargs):
        if str(path) in open_files():  # held open by this process
            raise PermissionError(13, "The process cannot access the file", str(path))
        return unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", windows)
    documents = reports_of([{**SPEC, "doc": d, "spans": 2} for d in range(4)])
    with ReportTable(tmp_path) as table:
        for doc in documents:
            table.add([report_row(e) for e in doc], MERGED, FACILITY)
        assert list(tmp_path.iterdir()) == []
        assert not any(f.startswith(str(tmp_path)) for f in open_files())
        assert [len(group) for group in table.events(table.cluster(FACILITY))] == [4]


def test_an_event_is_merged_from_its_reports_read_once():
    """A spilled build merges an event as its reports are read off disk, one at a time
    (an event thousands of articles report is not held): merged from a one-pass iterator,
    it is what the same reports in a list make. Its id comes from the earliest document's
    report, its type is the most specific, its date the first most precise one given, its
    spans the first EVENT_EVIDENCE and its aliases every other name once."""
    documents = reports_of(
        [
            {**SPEC, "doc": 0, "names": ["Operation Storm"], "date": "2025-03", "spans": 2},
            {**SPEC, "doc": 1, "names": ["Black Storm"], "date": "2025-03-01", "spans": 3},
            {**SPEC, "doc": 2, "names": ["Black Storm", "Storm"], "date": "2025-03-02", "spans": 4},
        ]
    )
    group = [e for doc in documents for e in doc]
    group[1].type = "Hijacking"  # more specific than Attack
    published = {"d0": "2025-03-09", "d1": "2025-03-02", "d2": "2025-03-05"}
    once = merged_event(iter(group), {}, frozenset(), published)
    assert as_fields(once) == as_fields(merged_event(group, {}, frozenset(), published))
    assert once.id.startswith("event-black-storm-")  # d1 was published first: its report names it
    assert once.names == ["Operation Storm", "Black Storm", "Storm"]
    assert (once.type, once.date, once.date_evidence) == ("Hijacking", "2025-03-01", group[1].date_evidence)
    assert once.evidence == group[0].evidence + group[1].evidence[: EVENT_EVIDENCE - 2]
