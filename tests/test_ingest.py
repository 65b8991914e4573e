import json

from kg.ingest import read_corpus

ARTICLE = (
    "Security forces regained control of the town after three days of fighting, officials said on Tuesday. "
    "The separatist group had stormed the district headquarters and a police station, residents told reporters. "
    "Provincial officials said the assault began before dawn and lasted well into the next evening. "
    "Shops remained closed in the main bazaar and mobile phone services were suspended across the district. "
)

PAGE = f"""<!doctype html><html><head><title>Town retaken after siege</title>
<meta property="article:published_time" content="2026-02-05T10:00:00Z"></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li><li>Accessibility links</li></ul></nav>
<div class="share"><button>Share on Facebook</button><button>Share on X</button></div>
<div class="audio">Listen 6 min</div>
<article><h1>Town retaken after siege</h1>
<p>{ARTICLE}</p><p>{ARTICLE.replace("town", "city")}</p>
</article>
<section id="comments"><h2>Comments</h2><p>No comments:</p><p>Post a comment</p></section>
<footer>Copyright 2026 Example News. All rights reserved.</footer>
</body></html>"""


def test_html_keeps_the_article_and_drops_page_furniture(tmp_path):
    (tmp_path / "page.html").write_text(PAGE, encoding="utf-8")
    docs, errors = read_corpus([tmp_path])
    assert errors == []
    [doc] = docs
    assert "Security forces regained control of the town" in doc.text
    for furniture in (
        "Listen 6 min",
        "Share on Facebook",
        "Accessibility links",
        "Post a comment",
        "All rights reserved",
        "<p>",
    ):
        assert furniture not in doc.text
    assert doc.format == "html"
    assert doc.title == "Town retaken after siege"
    assert doc.date == "2026-02-05"


def test_text_metadata_and_stable_ids(tmp_path):
    (tmp_path / "a.txt").write_text("Tuesday, March 11, 2025\n\nThe train was attacked near Sibi.", encoding="utf-8")
    (tmp_path / "b.md").write_text("# Notes\n\nThe BLA said it attacked the convoy.", encoding="utf-8")
    (tmp_path / "metadata.json").write_text(json.dumps({"b.md": {"title": "Field notes", "published": "2025-03"}}))
    docs, errors = read_corpus([tmp_path])
    by_name = {d.source.rsplit("/", 1)[-1]: d for d in docs}
    assert errors == []
    assert by_name["a.txt"].date == "2025-03-11"  # stated in the text
    assert by_name["b.md"].date == "2025-03" and by_name["b.md"].title == "Field notes"
    assert by_name["b.md"].text.startswith("# Notes")  # Markdown offsets are into the file as it is
    again, _ = read_corpus([tmp_path])
    assert [d.id for d in again] == [d.id for d in docs]


def test_the_same_document_twice_is_read_once(tmp_path):
    for name in ("one.txt", "copy.txt"):
        (tmp_path / name).write_text("The TTP attacked a police post in Bannu.", encoding="utf-8")
    docs, _ = read_corpus([tmp_path, tmp_path / "one.txt"])
    assert len(docs) == 1


def test_jsonl_articles_and_a_broken_line(tmp_path):
    lines = [
        json.dumps(
            {
                "text": "The BLA claimed the attack.",
                "title": "One",
                "date": "2026-01-31",
                "url": "https://example.org/1",
            }
        ),
        "{not json",
        json.dumps({"title": "no text field"}),
        json.dumps({"text": "Officials said 12 soldiers were killed.", "title": "Two"}),
    ]
    (tmp_path / "corpus.jsonl").write_text("\n".join(lines), encoding="utf-8")
    docs, errors = read_corpus([tmp_path])
    assert [d.title for d in docs] == ["One", "Two"] or sorted(d.title for d in docs) == ["One", "Two"]
    first = next(d for d in docs if d.title == "One")
    assert first.date == "2026-01-31" and first.url == "https://example.org/1"
    reasons = " ".join(str(e) for e in errors)
    assert "corpus.jsonl:2" in reasons and "broken JSON" in reasons
    assert "corpus.jsonl:3" in reasons


def test_bad_files_are_named_with_a_reason_and_the_rest_is_read(tmp_path):
    (tmp_path / "good.txt").write_text("The BLA claimed the attack.", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "metadata.json").write_text("{broken", encoding="utf-8")
    docs, errors = read_corpus([tmp_path, tmp_path / "missing.txt"])
    assert len(docs) == 1
    text = "\n".join(map(str, errors))
    assert "empty.txt: empty file" in text
    assert "image.txt: binary file" in text
    assert "metadata.json: malformed metadata" in text
    assert "missing.txt: no such file" in text
