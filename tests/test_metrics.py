"""Metric arithmetic on small hand-made results: pure and fast, no models."""

from __future__ import annotations

import pytest

from rag.evaluation.metrics import (
    cited_sentences, compare, gold_rank, is_correct, must_include_hits, passed, percentile, summarize,
    summarize_by_kind,
)

QUOTE_TRAIN = "Deng will move his mining computers to Kazakhstan by train next month."
QUOTE_CITY = "Deng was interviewed in a hotel room in Chengdu."


def record(**fields):
    """A results.jsonl line with neutral defaults."""
    base = {
        "id": "q", "kind": "fact", "answerable": True, "must_include": [], "sources": [], "answer": "",
        "refused": False, "citations": [], "retrieved": [], "timings_ms": {"total": 100.0, "first_token": 50.0},
    }
    return {**base, **fields}


def cite(n, doc_id="a.txt", quote=QUOTE_TRAIN, exact=True, translation=None):
    return {"n": n, "doc_id": doc_id, "chunk_id": f"{doc_id}#0", "start": 0, "end": len(quote), "quote": quote,
            "translation": translation, "exact": exact}


def ranked(*doc_ids):
    return [{"doc_id": d, "chunk_id": f"{d}#{i}", "score": 1.0 / (i + 1)} for i, d in enumerate(doc_ids)]


def test_must_include_matches_any_alternative_case_insensitively():
    groups = [["Chengdu"], ["train", "trein"], ["ship"]]
    assert must_include_hits("Deng met us in CHENGDU and goes by Trein.", groups) == ["Chengdu", "trein", None]


def test_a_refused_answer_is_wrong_even_if_it_mentions_the_words():
    groups = [["Chengdu"]]
    assert is_correct(record(answer="Chengdu", must_include=groups)) is True
    assert is_correct(record(answer="Chengdu", must_include=groups, refused=True)) is False
    assert is_correct(record(answer="Chengdu", must_include=groups, answerable=False)) is None
    assert is_correct(record(answer="Chengdu")) is None  # nothing to grade against


def test_pass_means_correct_answer_or_refusal_of_the_unanswerable():
    assert passed(record(answerable=False, refused=True))
    assert not passed(record(answerable=False, refused=False, answer="Elon Musk."))
    assert passed(record(answer="Something. [1]"))  # answerable, no must_include: answering is enough
    assert not passed(record(refused=True))


def test_sentences_carry_the_markers_that_follow_them():
    answer = (f"He goes by train. [1] {QUOTE_CITY} [2] "
              "Hij gaat per trein naar Kazachstan (translated from nl) [1][2] No marker here.")
    sentences = cited_sentences(answer, [cite(1), cite(2, quote=QUOTE_CITY)])
    assert [s.cited for s in sentences] == [(1,), (2,), (1, 2)]
    assert sentences[0].text == "He goes by train."
    assert "translated" not in sentences[2].text and "[" not in sentences[2].text


def test_labels_and_stray_dots_after_a_sentence_stay_with_it():
    answer = "He prefers to meet in the city. (translated from nl) [1] BIT Mining Ltd. [2] It invests. . [2]"
    sentences = cited_sentences(answer, [cite(1), cite(2)])
    assert [(s.text, s.cited) for s in sentences] == [
        ("He prefers to meet in the city.", (1,)), ("BIT Mining Ltd.", (2,)), ("It invests. .", (2,))]


def test_a_machine_translation_label_is_a_reading_aid_not_a_claim():
    dutch = "Dat is de reden voor Deng om China de rug toe te keren."
    answer = f"{dutch} (machine translation from nl: That is why Deng (he says) is going to China.) [1] Next. [1]"
    sentences = cited_sentences(answer, [cite(1, quote=dutch, translation="That is why Deng is going to China.")])
    assert sentences[0].text == dutch and sentences[0].supported


def test_support_uses_the_quote_or_its_translation():
    dutch = "Deng gaat zijn mijncomputers volgende maand per trein naar Kazachstan verhuizen."
    supported = cited_sentences(f"{QUOTE_TRAIN} [1]", [cite(1, quote=dutch, translation=QUOTE_TRAIN)])
    invented = cited_sentences("Deng will fly his computers to Canada. [1]", [cite(1)])
    dangling = cited_sentences(f"{QUOTE_TRAIN} [3]", [cite(1)])
    assert [s.supported for s in supported + invented + dangling] == [True, False, False]


def test_gold_rank_reads_the_deepest_ranking():
    shallow = record(sources=["gold.txt"], retrieved=ranked("x", "y"),
                     retrieved_deep=ranked("x", "y", "z", "gold.txt"))
    assert gold_rank(shallow) == 4
    assert gold_rank(record(sources=["gold.txt"], retrieved=ranked("x"))) is None


def test_retrieval_metrics():
    records = [
        record(id="1", sources=["g1"], retrieved=ranked("g1", "x", "y", "z", "w")),  # rank 1
        record(id="2", sources=["g2", "g3"], retrieved=ranked("x", "y", "g2", "z", "w")),  # rank 3, 1 of 2 gold
        record(id="3", sources=["g4"], retrieved=ranked("x", "y", "z", "w", "v")),  # missed
        record(id="4", answerable=False, refused=True, retrieved=ranked("g1", "x", "y", "z", "w")),  # not counted
    ]
    m = summarize(records)
    assert m["retrieval_n"] == 3
    assert "hit@10" not in m  # rankings are only 5 deep
    assert (m["hit@1"], m["hit@3"], m["hit@5"]) == (pytest.approx(1 / 3, abs=1e-4), pytest.approx(2 / 3, abs=1e-4),
                                                    pytest.approx(2 / 3, abs=1e-4))
    assert m["recall@3"] == pytest.approx((1 + 0.5 + 0) / 3, abs=1e-4)
    assert m["mrr"] == pytest.approx((1 + 1 / 3 + 0) / 3, abs=1e-4)


def test_answer_refusal_and_citation_metrics():
    records = [
        record(id="1", must_include=[["train"]], sources=["a.txt"], answer=f"{QUOTE_TRAIN} [1]",
               citations=[cite(1)]),  # correct, cites gold
        record(id="2", must_include=[["Chengdu"]], sources=["a.txt"], answer=f"{QUOTE_TRAIN} [1] {QUOTE_CITY} [2]",
               citations=[cite(1), cite(2, doc_id="b.txt", quote=QUOTE_CITY, exact=False)]),  # correct, 1 of 2 gold
        record(id="3", must_include=[["Singapore"]], sources=["a.txt"], answer="Deng sails to Peru. [1]",
               citations=[cite(1)]),  # wrong, unsupported sentence
        record(id="4", must_include=[["Liu"]], sources=["a.txt"], refused=True, answer="Not covered."),  # false refusal
        record(id="5", answerable=False, refused=True, answer="Not covered."),
        record(id="6", answerable=False, refused=False, answer=f"{QUOTE_CITY} [1]",
               citations=[cite(1, quote=QUOTE_CITY)]),
    ]
    m = summarize(records)
    assert (m["graded"], m["correct"], m["accuracy"]) == (4, 2, 0.5)
    assert (m["false_refusals"], m["unanswerable"], m["refusal_accuracy"]) == (1, 2, 0.5)
    assert (m["passed"], m["pass_rate"]) == (3, 0.5)
    assert (m["citation_precision_n"], m["citation_precision"]) == (4, 0.75)  # only answerable with sources
    assert (m["quotes_checked"], m["quote_exactness"]) == (5, 0.8)
    assert (m["cited_sentences"], m["support_rate"]) == (5, 0.8)  # "Deng sails to Peru." fails
    assert m["similarity"] is None and m["similarity_n"] == 0


def test_similarity_and_latency_percentiles():
    records = [record(id=str(i), similarity=s, timings_ms={"total": t, "first_token": t / 2})
               for i, (s, t) in enumerate([(0.5, 100.0), (0.7, 200.0), (None, 300.0), (0.9, 1000.0)])]
    m = summarize(records)
    assert (m["similarity"], m["similarity_n"]) == (0.7, 3)
    assert m["total_ms_p50"] == 250.0  # linear interpolation between 200 and 300
    assert m["total_ms_p95"] == pytest.approx(895.0)
    assert m["first_token_ms_p50"] == 125.0
    assert m["generate_ms_p50"] is None
    assert percentile([], 50) is None


def test_per_kind_summaries_share_the_rank_cutoffs():
    records = [
        record(id="1", kind="fact", sources=["g"], retrieved=ranked("g", "x", "y")),
        record(id="2", kind="junk", answerable=False, refused=True, retrieved=ranked("x")),
    ]
    by_kind = summarize_by_kind(records)
    assert set(by_kind) == {"fact", "junk"}
    assert by_kind["fact"]["hit@3"] == 1.0 and by_kind["junk"]["hit@3"] is None
    assert by_kind["junk"]["refusal_accuracy"] == 1.0


def test_compare_lists_flips_and_metric_moves():
    a = [record(id="1", must_include=[["x"]], answer="x"), record(id="2", must_include=[["y"]], answer="no"),
         record(id="3", answerable=False, refused=True)]
    b = [record(id="1", must_include=[["x"]], answer="no"), record(id="2", must_include=[["y"]], answer="y"),
         record(id="4", answerable=False, refused=False)]
    diff = compare(a, b)
    assert (diff["fixed"], diff["broken"]) == (["2"], ["1"])
    assert (diff["only_in_a"], diff["only_in_b"]) == (["3"], ["4"])
    assert diff["metrics"]["overall.refusal_accuracy"] == {"a": 1.0, "b": 0.0, "delta": -1.0}
    assert diff["metrics"]["overall.accuracy"] == {"a": 0.5, "b": 0.5, "delta": 0.0}
    assert diff["metrics"]["fact.questions"] == {"a": 3, "b": 3, "delta": 0}


def statement(text, role="quote", citation=1, verified=True):
    return {"text": text, "role": role, "citation": citation, "verified": verified}


def test_cited_statements_are_read_from_the_records_not_the_text():
    dutch = "Deng gaat zijn mijncomputers volgende maand per trein naar Kazachstan verhuizen."
    statements = [statement("Kazakhstan.", "lead"), statement(dutch), statement(QUOTE_TRAIN, "translation"),
                  statement("Deng will fly to Canada.", "summary", 2), statement("No citation.", "quote", None)]
    citations = [cite(1, quote=dutch, translation=QUOTE_TRAIN), cite(2, quote=QUOTE_CITY)]
    sentences = cited_sentences("text that is not parsed [7]", citations, statements)
    assert [(s.text, s.cited, s.supported) for s in sentences] == [
        ("Kazakhstan.", (1,), True), (dutch, (1,), True), ("Deng will fly to Canada.", (2,), False)]


def test_wrong_leads_are_counted():
    records = [
        record(id="1", must_include=[["Chengdu"]], answer="Chengdu. [1]", statements=[statement("Chengdu.", "lead")]),
        record(id="2", must_include=[["Chengdu"]], answer="Beijing. [1] In Chengdu. [1]",
               statements=[statement("Beijing.", "lead"), statement("In Chengdu.")]),  # right answer, wrong lead
        record(id="3", answerable=False, answer="Elon Musk. [1]", statements=[statement("Elon Musk.", "lead")]),
        record(id="4", must_include=[["Chengdu"]], answer="In Chengdu. [1]", statements=[statement("In Chengdu.")]),
        record(id="5", answerable=False, refused=True, answer="Not covered."),
        record(id="6", must_include=[["Chengdu"]], answer="Beijing. [1]"),  # an old record: no statements, no lead
    ]
    m = summarize(records)
    assert (m["leads"], m["wrong_leads"]) == (3, 2)
    assert is_correct(records[1]) is True  # the answer as a whole still holds the gold


def test_statements_render_as_the_answer_text():
    from rag.core.records import Statement
    from rag.core.statements import render

    statements = [Statement("Irkutsk.", "lead", 1, verified=False), Statement("Naar Irkoetsk.", "quote", 1),
                  Statement("To Irkutsk.", "translation", 1), Statement("By train.", "quote", 2)]
    assert render(statements, {1: "nl", 2: "en"}) == (
        "Irkutsk. (unverified) [1] Naar Irkoetsk. (machine translation from nl: To Irkutsk.) [1] By train. [2]")
    assert render(statements[3:], {2: "en"}, escape=str.upper, marker=lambda n: f"<{n}>") == "BY TRAIN. <2>"
