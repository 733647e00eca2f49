"""`rag check` with the real encoder and index: each kind of edit the verifier must catch.

The claims here are written for the tests (not taken from the dev or held-out
claims files), each about one sentence of the bundled articles.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rag.assistant.check import MAX_CHECK_CHARS, check_text, write_check
from rag.core.config import PROJECT_ROOT
from rag.retrieval.retrieve import BadQuestion
from rag.verify.polarity import negated, polarity_conflict
from rag.verify.quantities import quantities_and_dates, rival_quantity, same_quantity
from rag.verify.speakers import role_conflict
from rag.verify.words import clauses, code_names, identifiers, same_name


def one(assistant, claim: str):
    results = check_text(assistant, claim)
    assert len(results) == 1, [r.sentence for r in results]
    return results[0]


def assert_exact_citations(assistant, result) -> None:
    for c in result.citations:
        assert assistant.document(c.doc_id).text[c.start:c.end] == c.quote


# -- the verdicts -----------------------------------------------------------------------


@pytest.mark.parametrize("claim,source", [
    ("Canaan is going to open its first after-sales service centre abroad in Kazakhstan.", "003_dba489deda596f31.txt"),
    ("Guangzhou Customs says 3000 kg of mining machines are being cleared to be shipped abroad.",
     "004_47c41b848a0edef2.txt"),
    ("The People's Bank of China told major banks and Alipay again that banks may not take part in digital "
     "currency trading.", "004_47c41b848a0edef2.txt"),
])
def test_a_paraphrase_is_supported_and_cites_its_source(assistant, claim, source):
    result = one(assistant, claim)
    assert result.verdict == "supported", result.reason
    assert result.citations and result.citations[0].doc_id == source
    assert_exact_citations(assistant, result)


def test_a_changed_number_is_contradicted_with_both_values(assistant):
    result = one(assistant, "Guangzhou Customs says 30,000 kilograms of mining machines are being cleared for "
                            "shipment overseas.")
    assert result.verdict == "contradicted"
    assert "3,000 kilograms" in result.reason and "30,000 kilograms" in result.reason
    assert_exact_citations(assistant, result)


def test_a_changed_percentage_is_contradicted(assistant):
    result = one(assistant, "According to Cambridge University data, Xinjiang accounts for 53% of China's "
                            "computing power.")
    assert result.verdict == "contradicted"
    assert "35%" in result.reason


@pytest.mark.parametrize("claim", [
    "The People's Bank of China said banks are allowed to take part in digital currency trading.",
    "Wu Blockchain said Inner Mongolia has not been completely closed to mining.",
])
def test_a_flipped_negation_is_contradicted(assistant, claim):
    result = one(assistant, claim)
    assert result.verdict == "contradicted", result.reason
    assert "opposite" in result.reason or "deny" in result.reason


def test_a_swapped_place_is_contradicted(assistant):
    result = one(assistant, "BitMining is seeking to deploy mining overseas and plans to build mines in the "
                            "United States and Canada.")
    assert result.verdict == "contradicted", result.reason
    assert "Kazakhstan" in result.reason and "Canada" in result.reason


def test_a_statement_put_in_the_wrong_mouth_is_contradicted(assistant):
    result = one(assistant, "Wu Hongliang said the evacuation wave has begun and that going overseas will "
                            "become the norm.")
    assert result.verdict == "contradicted", result.reason
    assert "Long Dian" in result.reason


def test_a_wrong_job_title_is_contradicted(assistant):
    result = one(assistant, "Alex Ao, president of Innosilicon Technology, said foreign miners will benefit "
                            "if China quickly loses its computing power.")
    assert result.verdict == "contradicted", result.reason
    assert "vice president" in result.reason


def test_an_invented_detail_is_not_reported_supported(assistant):
    result = one(assistant, "Didar Bekbauov said Chinese miners asked him every day about moving to Kazakhstan "
                            "because electricity there costs a tenth of the Chinese price.")
    assert result.verdict == "not_found", result.reason


def test_a_claim_about_something_else_is_not_found(assistant):
    result = one(assistant, "The Eiffel Tower was repainted in a new shade of bronze for the Olympic Games.")
    assert result.verdict == "not_found"
    assert result.score < 0.5


def test_each_sentence_of_a_text_gets_its_own_verdict(assistant):
    text = ("Huobi Mining Pool and Litecoin Mining Pool stopped offering mining machine hosting to mainland China. "
            "Inner Mongolia released draft rules on Thursday to root out the company.")
    results = check_text(assistant, text)
    assert [r.verdict for r in results] == ["supported", "contradicted"], [r.reason for r in results]
    assert [text[r.start:r.end].strip() for r in results] == [r.sentence for r in results]
    assert "Tuesday" in results[1].reason


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n ", "?!"])
def test_empty_text_is_refused(assistant, text):
    with pytest.raises(BadQuestion, match="empty"):
        check_text(assistant, text)


def test_huge_text_is_refused(assistant):
    with pytest.raises(BadQuestion, match="too long"):
        check_text(assistant, "Miners left China. " * (MAX_CHECK_CHARS // 10))


# -- the command and the export -------------------------------------------------------


def run_cli(*args: str, home) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rag", "check", *args, "--home", str(home), "--generator", "none"],
        capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "HOME": str(home)},
    )


def test_cli_check_json(built_home, assistant):
    result = run_cli("--json", "BitDeer and Mars Cloud Mining block IP access from mainland China. "
                               "Xinjiang holds 53% of China's computing power.", home=built_home)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["kind"] == "check" and data["summary"]["supported"] == 1
    verdicts = [r["verdict"] for r in data["results"]]
    assert verdicts == ["supported", "contradicted"], [r["reason"] for r in data["results"]]
    for record in data["results"]:
        assert {"sentence", "start", "end", "verdict", "score", "reason", "citations"} <= set(record)
        for c in record["citations"]:
            assert assistant.document(c["doc_id"]).text[c["start"]:c["end"]] == c["quote"]
            assert c["title"]


def test_cli_bad_input_is_one_line(built_home, tmp_path):
    huge = tmp_path / "huge.txt"
    huge.write_text("Miners left China. " * (MAX_CHECK_CHARS // 10))
    for arg in ("  ", str(huge)):
        result = run_cli(arg, home=built_home)
        assert result.returncode == 2
        assert result.stderr.startswith("rag: ") and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_export_json_and_markdown(assistant, tmp_path):
    text = "Guangzhou Customs says 30,000 kilograms of mining machines are being cleared for shipment overseas."
    results = check_text(assistant, text)
    write_check(tmp_path / "check.json", text, results, assistant)
    data = json.loads((tmp_path / "check.json").read_text())
    assert data["text"] == text and data["results"][0]["verdict"] == "contradicted"
    write_check(tmp_path / "check.md", text, results, assistant)
    markdown = (tmp_path / "check.md").read_text()
    assert "contradicted" in markdown and results[0].citations[0].doc_id in markdown
    with pytest.raises(ValueError, match="json or .md"):
        write_check(tmp_path / "check.pdf", text, results)


# -- the reading rules ------------------------------------------------------------------


MANUAL = """# Zorblat miner manual

## Cooling

The Zorblat miner is cooled by water pumped from the Krafla geothermal field.

## Power

The Zorblat miner draws 3,400 watts from the grid at full load.
"""


def test_a_check_citation_names_the_section_its_quote_sits_in(fresh_assistant, tmp_path):
    from ui.render import check_html

    manual = tmp_path / "zorblat_manual.md"
    manual.write_text(MANUAL, encoding="utf-8")
    assert fresh_assistant.ingest([manual]).added == ["zorblat_manual.md"]
    result = one(fresh_assistant, "The Zorblat miner draws 3,400 watts from the grid at full load.")
    assert result.verdict == "supported", result.reason
    cited = result.citations[0]
    assert cited.doc_id == "zorblat_manual.md" and cited.section == "Zorblat miner manual › Power"
    assert_exact_citations(fresh_assistant, result)
    assert "Zorblat miner manual › Power" in check_html([result])  # the page shows where it sits
    export = tmp_path / "check.md"
    write_check(export, "claim", [result])
    assert "Zorblat miner manual › Power" in export.read_text(encoding="utf-8")
    news = one(fresh_assistant, "Canaan is going to open its first after-sales service centre abroad in Kazakhstan.")
    assert news.citations and news.citations[0].section == ""  # plain articles have no headings: nothing invented


def values(text: str, lang: str = "en") -> set[tuple[float, str | None]]:
    return {(q.value, q.unit) for q in quantities_and_dates(text, lang)[0]}


def test_quantities_compare_by_value_unit_and_scale():
    assert values("3,000 kg") == values("3000 kilograms") == {(3000.0, "kg")}
    assert values("3 million people") == values("3,000,000 people")
    assert values("$25 million") == {(25e6, "usd")}
    assert values("35%") == values("35 percent") == {(35.0, "percent")}
    # durations and sizes are compared in their base unit (seconds, bytes)
    assert values("a whole year") == values("12 months") == {(31557600.0, "second")}
    assert values("two weeks") == values("14 days") == {(14 * 86400.0, "second")}
    assert values("6 seconds") == {(6.0, "second")} and values("6 minutes") == {(360.0, "second")}
    assert values("1 KiB") == values("1 kibibyte") == {(1024.0, "byte")} and values("2 MB") == {(2e6, "byte")}
    assert values("two-thirds") == {(200 / 3, "percent")} and values("three quarters") == values("three-quarter")
    assert values("80 tot 90 procent", "nl") == {(80.0, "percent"), (90.0, "percent")}
    assert values("by 2:00 p.m.") == {(14 * 60.0, "clock")}
    # one unit table serves rag check and refusal's near miss of a kind: its short spellings count here too
    assert values("90 s") == values("1.5 min") == {(90.0, "second")} and values("2 TiB") == {(2 * 1024.0 ** 4, "byte")}
    assert values("255 characters") == {(255.0, "character")}


def test_units_fractions_and_vague_amounts_compare():
    def one(text: str):
        return quantities_and_dates(text)[0][0]
    assert same_quantity(one("1 KB"), one("1 KiB")) and same_quantity(one("30 days"), one("a month"))
    assert not same_quantity(one("6 minutes"), one("6 seconds"))
    assert rival_quantity(one("6 minutes"), [one("6 seconds")]).text == "6 seconds"
    assert rival_quantity(one("102,400 kilobytes"), [one("102,400 bytes")]) is not None
    assert rival_quantity(one("two-thirds"), [one("a three-quarter majority")]).text == "three-quarter"
    few_hours, few_minutes = one("a few hours later"), one("a few minutes later")
    assert few_hours.vague and not few_hours.strong and rival_quantity(few_hours, [few_minutes]) == few_minutes
    assert same_quantity(few_minutes, one("a few minutes after boot"))


def test_code_names_roles_and_denials():
    assert identifiers("between $minimal_backoff_time and queue_run_delay, not $myorigin") == [
        "minimal_backoff_time", "queue_run_delay", "myorigin"]
    assert code_names("warned by the warnquota command from the quota package, an extra service") == [
        ("warnquota", "command"), ("quota", "packag")]
    # another title in the same place is a changed role; the same title is not
    assert role_conflict("debconf assumes the default answer defined by the administrator",
                         "debconf assumes the default answer (defined by the package maintainer)", "")
    assert not role_conflict("the default answer that the package maintainer defined",
                             "debconf assumes the default answer (defined by the package maintainer)", "")
    # stopping on both sides agrees; a denial needs the evidence to speak of what is denied
    assert not polarity_conflict("Once installed, cron stops running the scripts of the daily directory",
                                 "Installation deactivates execution by cron of the scripts in the daily directory",
                                 None, "en")
    assert not polarity_conflict("Feeding newlines to a configuration script is not fully reliable",
                                 "The common approach is to feed the configuration script an endless stream of "
                                 "newlines.", None, "en")
    assert polarity_conflict("The museum does not keep its archive open for public view",
                             "The museum keeps its whole archive open for public view at all times.", None, "en")


def test_dates_are_read_by_kind():
    _q, dates = quantities_and_dates("On June 2, 2021, last month, on Friday")
    assert {(d.kind, d.value) for d in dates} == {
        ("month", "6"), ("day", "6-2"), ("year", "2021"), ("relative", "past:month"), ("weekday", "4")}


def test_negation_and_names():
    assert negated("many farms have not taken any action") and not negated("not only that, it grew")
    assert negated("they have suspended the service") and not negated("the policy aims to stop the risk")
    assert negated("wij zijn er volledig mee gestopt", "nl")
    assert same_name("Kazakh", "Kazakhstan") and same_name("Irkutsk", "Irkoetsk") and same_name("China", "Chinese")
    assert not same_name("Canada", "Canaan") and not same_name("Hangzhou", "Shenzhen")
    assert clauses("miners shut farms and keep mining in a scattered, low-profile way") == [
        "miners shut farms and keep mining in a scattered, low-profile way"]


# -- what the verifier reads (no models: stand-in encoders) ----------------------------------


def _unit(seed: str, dim: int = 16):
    import hashlib

    import numpy as np

    v = np.frombuffer(hashlib.sha256(seed.encode()).digest()[:dim], dtype=np.uint8).astype(np.float32) - 127.5
    return v / np.linalg.norm(v)


def test_only_the_cited_sentence_and_the_one_after_cover_a_clause():
    import numpy as np

    from rag.verify.claims import Passage
    from rag.verify.support import StructuredVerifier, clause_coverage

    verifier = StructuredVerifier(lambda texts: np.stack([_unit(t) for t in texts]))
    claim = "Prices rose sharply in Ohio; workers went on strike in Texas"
    before = Passage("Prices rose sharply in Ohio.", before="Workers went on strike in Texas.")
    matches = verifier._clause_matches(claim, before)
    assert matches[1]["overlap"] < 0.5 and matches[1]["overlap_after"] == 0.0  # the sentence before is not cited
    after = Passage("Prices rose sharply in Ohio.", after="Workers went on strike in Texas.")
    coverage, _clause, uses_after = clause_coverage(verifier._clause_matches(claim, after), 0.0)
    assert coverage == 1.0 and uses_after  # ... the one after is, and is then part of the citation


def test_a_non_english_sentence_is_not_read_by_the_english_encoder():
    import numpy as np

    from rag.verify.claims import Passage
    from rag.verify.support import StructuredVerifier

    same = _unit("anything")
    english = lambda texts: np.stack([same for _ in texts])  # noqa: E731 - says every pair is identical
    other = _unit("another")
    multilingual = lambda texts: np.stack([other for _ in texts])  # noqa: E731
    verifier = StructuredVerifier(english, multilingual)
    dutch = Passage("Zij opende de brug.", lang="nl", vector_ml=-other)  # the multilingual encoder: opposite
    rendered = Passage("Zij opende de brug.", english="She opened the bridge.", lang="nl", vector_ml=-other)
    plain, with_rendering = verifier.rank("Something else entirely", [dutch, rendered])
    assert plain < 0  # only the multilingual score counts without a rendering
    assert abs(with_rendering) < 1e-6  # with one, the mean of the rendering's score (1) and the original's (-1)
