"""Files in, Documents out: plain text, Markdown, HTML (main text only) and JSON Lines.

A document's offsets always point into `Document.text`: for .txt and .md that is the file
decoded as UTF-8 with nothing changed; for HTML and JSONL it is the extracted article text.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kg.text import MONTHS

TEXT_SUFFIXES = {".txt", ".text", ".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES
METADATA_FILE = "metadata.json"
MAX_BYTES = 256 * 1024 * 1024

_MONTH_RE = "|".join(m.capitalize() for m in MONTHS)
_STATED_DATE = re.compile(
    rf"(?:(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day,?\s+)?"
    rf"(?:(?P<m1>{_MONTH_RE})\s+(?P<d1>\d{{1,2}}),?\s+(?P<y1>(?:19|20)\d\d)"
    rf"|(?P<d2>\d{{1,2}})\s+(?P<m2>{_MONTH_RE}),?\s+(?P<y2>(?:19|20)\d\d))"
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_ISO_DATE = re.compile(r"^(?:19|20)\d\d(?:-(?:0[1-9]|1[0-2])(?:-(?:0[1-9]|[12]\d|3[01]))?)?$")


@dataclass(frozen=True, slots=True)
class Document:
    """One ingested article. `id` is stable: the first 16 hex digits of the sha256 of its bytes."""

    id: str
    source: str
    text: str
    sha256: str
    title: str = ""
    date: str | None = None  # "YYYY", "YYYY-MM" or "YYYY-MM-DD"
    url: str | None = None
    format: str = "text"
    metadata: dict = field(default_factory=dict, compare=False, hash=False)


NO_METADATA: dict = {}  # shared by every document held without its metadata: read, never written


@dataclass(frozen=True)
class IngestError:
    """A file that could not be read, and why; the rest of the corpus goes on."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def normalise_date(value: object) -> str | None:
    """Accept 'YYYY', 'YYYY-MM', 'YYYY-MM-DD' (or a longer ISO timestamp); anything else is None."""
    if not isinstance(value, str):
        return None
    value = value.strip()[:10]
    return value if _ISO_DATE.match(value) else None


def stated_date(text: str) -> str | None:
    """A date line near the top of the article ('Sunday, February 1, 2026'), as YYYY-MM-DD."""
    found = _STATED_DATE.search(text[:600])
    if not found:
        return None
    month = found.group("m1") or found.group("m2")
    day = int(found.group("d1") or found.group("d2"))
    year = found.group("y1") or found.group("y2")
    if not 1 <= day <= 31:
        return None
    return f"{year}-{MONTHS.index(month.lower()) + 1:02d}-{day:02d}"


def decode(data: bytes) -> tuple[str, str | None]:
    """Bytes to text: UTF-8 (BOM dropped), UTF-16 with a BOM; else UTF-8 with replacements and a warning."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError:
            return data.decode("utf-16", errors="replace"), "invalid UTF-16, bad bytes replaced"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        return data.decode("utf-8", errors="replace"), f"invalid UTF-8 at byte {exc.start}, bad bytes replaced"


def looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    return b"\x00" in head or head.startswith((b"%PDF", b"\x89PNG", b"\x1f\x8b", b"PK\x03\x04", b"GIF8"))


def html_to_text(html: str) -> tuple[str, str, str | None]:
    """Main article text, title and date of an HTML page (trafilatura drops navigation and footers)."""
    import trafilatura

    text = trafilatura.extract(
        html, include_comments=False, include_tables=False, favor_precision=True, deduplicate=True
    )
    meta = trafilatura.extract_metadata(html)
    title = (meta.title if meta and meta.title else "") or ""
    date = normalise_date(meta.date) if meta and meta.date else None
    return text or "", title, date


def first_line(text: str) -> str:
    """The title fallback. Only the head is split: splitting a 50 MB text whole to find its
    first line doubled the memory a large file needs."""
    for line in text[:65536].splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:300]
    return ""


def make_document(source: str, data: bytes, text: str, meta: dict, fmt: str) -> Document:
    digest = sha256_hex(data)
    date = normalise_date(meta.get("published") or meta.get("date")) or stated_date(text)
    return Document(
        id=digest[:16],
        source=source,
        text=text,
        sha256=digest,
        title=str(meta.get("title") or first_line(text)),
        date=date,
        url=meta.get("url") if isinstance(meta.get("url"), str) else None,
        format=fmt,
        metadata={k: v for k, v in meta.items() if isinstance(v, (str, int, float))},
    )


def read_metadata(folder: Path) -> tuple[dict, list[IngestError]]:
    path = folder / METADATA_FILE
    if not path.is_file():
        return {}, []
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return {}, [IngestError(str(path), f"malformed metadata, ignored: {exc}")]
    if not isinstance(meta, dict):
        return {}, [IngestError(str(path), "metadata must be an object keyed by file name, ignored")]
    errors = [
        IngestError(str(path), f"names a file that does not exist: {name}")
        for name in meta
        if not (folder / name).exists()
    ]
    return {k: v for k, v in meta.items() if isinstance(v, dict)}, errors


def scrub_surrogates(record: dict) -> tuple[dict, bool]:
    """JSON may escape a lone surrogate ("\\ud800"), which no UTF-8 writer can encode: the graph
    would fail to serialise at the very end of a build. Replace each with U+FFFD up front."""
    changed = False
    clean = {}
    for key, value in record.items():
        if isinstance(value, str) and _SURROGATE.search(value):
            value, changed = _SURROGATE.sub("\ufffd", value), True
        clean[key] = value
    return clean, changed


def read_jsonl(path: Path, data: bytes) -> Iterator[Document | IngestError]:
    """One article per line: {"text": ..., "title": ..., "date": ..., "url": ...}."""
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            yield IngestError(where, f"broken JSON line skipped: {exc}")
            continue
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            yield IngestError(where, "line has no string 'text' field, skipped")
            continue
        record, scrubbed = scrub_surrogates(record)
        if scrubbed:
            yield IngestError(where, "lone UTF-16 surrogate escapes replaced with U+FFFD")
        source = record.get("url") if isinstance(record.get("url"), str) else where
        yield make_document(source, line, record["text"], record, "jsonl")


def read_regular(path: Path) -> bytes | str:
    """The bytes of a regular file of at most MAX_BYTES, else why it was skipped. Opened non-blocking and
    checked on the open descriptor: a FIFO or device named like an article would otherwise
    block the build forever, and checking the path first would race with a swap."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file (a FIFO, device or socket), skipped"
        if info.st_size > MAX_BYTES:
            return f"larger than {MAX_BYTES // 2**20} MiB, skipped"
        return handle.read()


def read_file(path: Path, meta: dict) -> Iterator[Document | IngestError]:
    """Read one file; yields Documents and IngestErrors, never raises for bad input."""
    suffix = path.suffix.lower()
    try:
        data = read_regular(path)
    except OSError as exc:
        yield IngestError(str(path), f"unreadable: {exc.strerror or exc}")
        return
    if isinstance(data, str):
        yield IngestError(str(path), data)
        return
    if not data or data.isspace():  # not strip(): that copies the whole file
        yield IngestError(str(path), "empty file, skipped")
        return
    if looks_binary(data):
        yield IngestError(str(path), "binary file (not text), skipped")
        return
    if suffix in JSONL_SUFFIXES:
        yield from read_jsonl(path, data)
        return
    text, warning = decode(data)
    if warning:
        yield IngestError(str(path), warning)
    if suffix in HTML_SUFFIXES:
        text, title, date = html_to_text(text)
        meta = {"title": title, "published": date, **{k: v for k, v in meta.items() if v}}
        fmt = "html"
    else:
        fmt = "markdown" if suffix in {".md", ".markdown"} else "text"
    if not text.strip():
        yield IngestError(str(path), "no article text found, skipped")
        return
    yield make_document(str(path), data, text, meta, fmt)


def iter_files(paths: Iterable[str | os.PathLike]) -> Iterator[Path | IngestError]:
    """Every readable document file under the given files and folders, in a stable order."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path, followlinks=False):
                dirs.sort()
                for name in sorted(files):
                    candidate = Path(root) / name
                    if candidate.suffix.lower() in SUFFIXES:
                        yield candidate
        elif path.is_file():
            yield path
        else:
            yield IngestError(str(path), "no such file or folder")


def iter_corpus(paths: Iterable[str | os.PathLike]) -> Iterator[Document | IngestError]:
    """Documents one file at a time, each once (by sha256), and the errors met on the way, in
    file order: a build streams them, so a corpus need not fit in memory as text."""
    seen: set[str] = set()
    metadata_by_folder: dict[Path, dict] = {}
    for item in iter_files(paths):
        if isinstance(item, IngestError):
            yield item
            continue
        folder = item.parent
        if folder not in metadata_by_folder:
            metadata_by_folder[folder], meta_errors = read_metadata(folder)
            yield from meta_errors
        meta = metadata_by_folder[folder].pop(item.name, {})  # each file is read once: its entry is let go
        for result in read_file(item, meta):
            if isinstance(result, IngestError):
                yield result
            elif result.sha256 not in seen:
                seen.add(result.sha256)
                yield result


def iter_documents(paths: Iterable[str | os.PathLike], errors: list[IngestError]) -> Iterator[Document]:
    """iter_corpus's documents; what could not be read goes into `errors` on the way."""
    for item in iter_corpus(paths):
        if isinstance(item, IngestError):
            errors.append(item)
        else:
            yield item


def read_corpus(paths: Iterable[str | os.PathLike]) -> tuple[list[Document], list[IngestError]]:
    """All documents under `paths`, each once (by sha256), with the errors met on the way."""
    documents: list[Document] = []
    errors: list[IngestError] = []
    for item in iter_corpus(paths):
        (errors if isinstance(item, IngestError) else documents).append(item)
    return sorted(documents, key=corpus_order), errors


def corpus_order(doc: Document) -> tuple[str, str]:
    """The order every build reads documents in, whatever order they were extracted in."""
    return (doc.source, doc.id)
