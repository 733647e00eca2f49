"""The PostgreSQL store on a real server: schema, transactions, concurrent ingest, bad input, parity with SQLite."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.core.config import BUNDLED_CORPUS
from rag.core.records import Chunk, Document
from scale_support import ROOT, free_port, rag_env, start_pg
from tests.test_lexical import HOSTILE

NEWS = ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"


@pytest.fixture(scope="module")
def pg(tmp_path_factory):
    return start_pg(tmp_path_factory)


def _doc(doc_id: str, text: str = "Kazakhstan hosts many mining machines. Power is cheap there.") -> Document:
    return Document(doc_id, "sha-" + doc_id, "Title " + doc_id, None, "en", text)


def _put(store, doc: Document, dim: int = 4) -> list[int]:
    chunk = Chunk(doc.doc_id + "#0", doc.doc_id, 0, len(doc.text), doc.text)
    vector = np.ones((1, dim), dtype=np.float32) / np.sqrt(dim)
    return store.put_document(doc, [chunk], vector, [(0, 38, "sentence"), (39, len(doc.text), "sentence")])


def _rag(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True, timeout=timeout,
                          env=env or rag_env(), cwd=ROOT)


def test_schema_is_created_once_and_writes_are_transactional(pg):
    from rag.store.postgres import MIGRATIONS, PgStore

    url = pg.database()
    store = PgStore(url)
    again = PgStore(url)  # a second process opening the same database migrates nothing twice
    assert store.schema_version == again.schema_version == MIGRATIONS[-1][0]
    ids = _put(store, _doc("a.txt"))
    assert store.generation() == 1 and again.generation() == 1  # the other connection sees the write at once
    assert store.chunks_by_ids(ids)[ids[0]].doc_id == "a.txt"
    assert [row for row, _ in again.dense_search(np.ones(4, dtype=np.float32) / 2, 3)] == ids
    assert again.lexical_search("Where are the machines in Kazakhstan?", 5)[0][0] == ids[0]
    assert again.term_document_frequency(["machine", "absent"]) == {"machine": 1, "absent": 0}

    with pytest.raises(ValueError, match="4-dimensional"):  # fails inside the transaction: nothing of b.txt stays
        _put(store, _doc("b.txt"), dim=8)
    assert store.document("b.txt") is None and store.generation() == 1
    assert store.counts() == {"documents": 1, "chunks": 1}

    store.delete_document("a.txt")
    assert again.counts() == {"documents": 0, "chunks": 0} and again.generation() == 2
    assert again.sentences_in("a.txt", 0, 100) == []
    store.close()
    again.close()


def test_document_frequencies_follow_every_write(pg):
    """``lexeme_df`` (the idf's n, kept by triggers) equals a recount after puts, a replacement, a delete and a clear;
    only the rows holding a question's rarest terms (within the budget, the rarest always) are ranked."""
    from rag.store import postgres_fulltext
    from rag.store.postgres import PgStore

    store = PgStore(pg.database())

    def recount(conn) -> dict:
        return dict(conn.execute("SELECT lexeme, count(*) FROM chunks, unnest(tsvector_to_array(lex)) AS lexeme "
                                 "GROUP BY lexeme").fetchall())

    def kept(conn) -> dict:
        return dict(conn.execute("SELECT lexeme, df FROM lexeme_df WHERE df > 0").fetchall())

    for i in range(4):
        _put(store, _doc(f"{i}.txt", f"Common words in every passage {i}. " + ("Kazakhstan miners." if i == 0 else "")))
    _put(store, _doc("1.txt", "Replaced text about Kazakhstan."))
    store.delete_document("2.txt")
    with store.transaction() as conn:
        assert kept(conn) == recount(conn) and kept(conn)["kazakhstan"] == 2
    budget, postgres_fulltext.CANDIDATES = postgres_fulltext.CANDIDATES, 1
    try:  # the rarest term ("kazakhstan", 2 rows) is always a candidate term; "passage" (2 rows) is over budget
        found = store.lexical_search("Kazakhstan passage", 5)
    finally:
        postgres_fulltext.CANDIDATES = budget
    assert len(found) == 2  # 0.txt and 1.txt; 3.txt holds only "passage"
    store.clear()
    with store.transaction() as conn:
        assert kept(conn) == recount(conn) == {}
    store.close()


def test_both_stores_rank_the_lexical_side_with_their_own_engine(pg, tmp_path):
    """Both stores hold FTS5's tokens, so a question matches the same passages in either; each engine ranks them
    (FTS5 bm25(), PostgreSQL idf-weighted ts_rank), best first, at most ``limit``, and no text is a syntax error."""
    from rag.store.postgres import PgStore
    from rag.store.sqlite import ChunkStore

    pgs, lite = PgStore(pg.database("lexical")), ChunkStore(tmp_path / "chunks.sqlite")
    texts = {
        "nl.txt": ("nl", "De mijnwerkers verhuisden hun machines naar Kazachstan omdat stroom daar goedkoop is."),
        "en.txt": ("en", "Miners moved their mining machines to Kazakhstan; the miners say power is cheap. "
                         "Use pg_dump with the directory format to dump in parallel. The first meeting, Debconf0, "
                         "was held in Bordeaux."),
        "de.txt": ("de", "Die Käufer der Maschinen zahlen wenig für Strom in Kasachstan."),
        "long.txt": ("en", "Mining " * 300 + "is what miners in Kazakhstan do."),
        "power.txt": ("en", "Power is cheap where rivers run; power lines carry the power of dams to the cities."),
        "blob.txt": ("en", "The image checksum is " + "f00d" * 600 + " (too long a word for PostgreSQL to index)."),
    }
    ids: dict[tuple[str, str], int] = {}
    for doc_id, (lang, text) in texts.items():
        doc = Document(doc_id, "sha-" + doc_id, "Title " + doc_id, None, lang, text)
        for name, store in (("pg", pgs), ("lite", lite)):
            ids[name, doc_id] = _put(store, doc)[0]
    with pgs.transaction() as conn:
        lex = conn.execute("SELECT lex::text FROM chunks WHERE doc_id = 'nl.txt'").fetchone()[0]
    assert "'mijnwerk'" in lex, lex  # Porter's stem, as FTS5 indexes it
    assert np.allclose(pgs.sample_vectors(4, 3), lite.sample_vectors(4, 3))  # one sample, whichever store
    firsts = {"mijnwerkers": "nl.txt", "kaufer strom": "de.txt", "How do I run pg_dump in parallel?": "en.txt",
              "Where was the first DebConf?": "en.txt", "Where is power cheap? Bordeaux?": "en.txt",
              "How much power do dams carry?": "power.txt"}
    for name, store in (("pg", pgs), ("lite", lite)):
        by_row = {row: doc for (n, doc), row in ids.items() if n == name}
        for question, first in firsts.items():
            found = store.lexical_search(question, 10)
            assert by_row[found[0][0]] == first, (name, question, found)
            assert [s for _, s in found] == sorted((s for _, s in found), reverse=True)
        assert {by_row[r] for r, _ in store.lexical_search("Kazakhstan mining miners", 10)} == {"en.txt", "long.txt"}
        assert len(store.lexical_search("Kazakhstan mining miners power", 2)) == 2
        assert store.lexical_search("nothing matches zzzq", 10) == []
        for question in HOSTILE:
            assert isinstance(store.lexical_search(question, 10), list), question
    assert pgs.term_document_frequency(["miners", "pg_dump", "käufer", "absent"]) == \
        lite.term_document_frequency(["miners", "pg_dump", "käufer", "absent"]) == \
        {"miners": 2, "pg_dump": 1, "käufer": 1, "absent": 0}
    pgs.close()
    lite.close()


def test_two_processes_ingesting_at_once_store_each_document_once(pg, tmp_path):
    url = pg.database()
    library = tmp_path / "library"
    library.mkdir()
    for path in sorted(BUNDLED_CORPUS.glob("*.txt")):
        (library / path.name).write_bytes(path.read_bytes())
    runs = [subprocess.Popen([sys.executable, "-m", "rag", "ingest", "--library", str(library),
                              "--home", str(tmp_path / f"home{i}"), "--store", url],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=rag_env(), cwd=ROOT)
            for i in range(2)]
    outputs = [run.communicate(timeout=180) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    added = [int(out.split("added ")[1].split(",")[0]) for out, _ in outputs]
    assert sorted(added) == [0, 5], outputs  # one did the work under the lock; the other found it done
    from rag.store.postgres import PgStore

    store = PgStore(url)
    assert store.counts()["documents"] == 5
    with store.transaction() as conn:
        assert conn.execute("SELECT count(*) - count(DISTINCT (doc_id, start_at, end_at)) FROM chunks").fetchone()[0] == 0
    store.close()


def test_unreachable_store_is_one_line_and_a_nonzero_exit(tmp_path):
    port = free_port()  # nothing listens here
    result = _rag("info", "--home", str(tmp_path), "--store", f"postgresql://rag:secret@127.0.0.1:{port}/rag")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rag: cannot reach the PostgreSQL store"), result.stderr
    assert "secret" not in result.stderr and "RAG_STORE" in lines[0]

    result = _rag("info", "--home", str(tmp_path), env=rag_env(RAG_STORE="mysql://localhost/rag"))
    assert result.returncode == 2 and result.stderr.startswith("rag: unsupported store URL"), result.stderr


def test_database_without_pgvector_is_refused_without_partial_writes(pg, tmp_path):
    import psycopg

    url = pg.database("nopgv")
    name = url.split("?")[0].rsplit("/", 1)[1]
    with psycopg.connect(url, autocommit=True) as conn:  # a role that may not create extensions
        conn.execute("DROP ROLE IF EXISTS plain_user")
        conn.execute("CREATE ROLE plain_user LOGIN")
        conn.execute(f'ALTER DATABASE "{name}" OWNER TO plain_user')
    limited = url.replace("postgresql://postgres:@", "postgresql://plain_user@")
    result = _rag("ingest", "--home", str(tmp_path), "--store", limited)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "has no pgvector extension" in result.stderr, result.stderr
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]
    assert tables == 0  # the migration rolled back whole


@pytest.mark.skipif(not NEWS.exists(), reason="shared/eval beside the repository is needed for the dev questions")
def test_postgres_retrieves_and_answers_like_the_embedded_store(pg):
    from bench.scale_parity import parity

    questions = [json.loads(line) for line in NEWS.read_text().splitlines() if line.strip()]
    result = parity(pg.database("parity"), questions)
    assert abs(result["hit@5_difference_points"]) <= 2.0, result
    # Each store ranks its lexical side with its own engine (same tokens, different scores); on the news set every
    # quotes-only answer is still the same.
    assert result["same_answers"] == len(questions), json.dumps(result["different_answers"])
