"""rag.store.crosslingual: multilingual cosines read on the English scale by how unusual they are for the question."""

import numpy as np

from rag.store.crosslingual import HUB_NEIGHBOURS, SAMPLE, CrossLingualScale, Hubness, Moments


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_a_cosine_as_unusual_in_either_space_gets_the_same_score():
    rng = np.random.default_rng(1)
    english = _unit(rng.normal(size=(400, 8)) + 0.5)  # a library whose English cosines run high
    multilingual = _unit(rng.normal(size=(300, 6)))  # and whose multilingual cosines run low
    q_en, q_ml = _unit(rng.normal(size=(2, 8)))[0], _unit(rng.normal(size=(1, 6)))[0]
    scale = CrossLingualScale.for_question(Moments.of(english), Moments.of(multilingual), q_en, q_ml)

    en_cos, ml_cos = english @ q_en, multilingual @ q_ml
    # the question's average multilingual cosine lands on its average English one, one deviation on one deviation
    assert abs(scale.to_english(float(ml_cos.mean())) - en_cos.mean()) < 1e-6
    one_up = scale.to_english(float(ml_cos.mean() + ml_cos.std(ddof=1)))
    assert abs(one_up - (en_cos.mean() + en_cos.std(ddof=1))) < 1e-6
    mapped = scale(multilingual)
    assert np.allclose(mapped, scale.to_english(ml_cos))
    assert np.all(np.diff(mapped[np.argsort(ml_cos)]) >= 0)  # order within the multilingual side is kept


def test_the_spread_setting_widens_the_multilingual_side_around_the_mean():
    q = np.ones(2, dtype=np.float32)
    scale = CrossLingualScale(q, mean_ml=0.1, sd_ml=0.05, mean_en=0.2, sd_en=0.1, z_scale=1.0)
    wider = CrossLingualScale(q, mean_ml=0.1, sd_ml=0.05, mean_en=0.2, sd_en=0.1, z_scale=1.5)
    assert scale.to_english(0.1) == wider.to_english(0.1) == 0.2
    assert abs(scale.to_english(0.2) - 0.4) < 1e-9 and abs(wider.to_english(0.2) - 0.5) < 1e-9


def test_moments_of_a_large_library_come_from_a_fixed_sample():
    vectors = np.random.default_rng(2).normal(size=(SAMPLE + 10, 3)).astype(np.float32)
    a, b = Moments.of(vectors), Moments.of(vectors)
    assert np.array_equal(a.mean, b.mean) and np.array_equal(a.covariance, b.covariance)
    assert np.allclose(a.mean, vectors.mean(axis=0), atol=0.02)
    assert Moments.of(vectors[:1]) is None


def test_a_hub_close_to_the_whole_library_is_lowered_and_the_spread_matches_the_corrected_cosines():
    rng = np.random.default_rng(3)
    topic = _unit(rng.normal(size=(1, 16)))[0]
    # most sentences are specific; a few "hubs" lie near the library's common direction
    specific = _unit(rng.normal(size=(300, 16)))
    hubs = _unit(topic + 0.05 * rng.normal(size=(20, 16)))
    library = np.vstack([specific, _unit(specific[:40] + 2.0 * topic), hubs]).astype(np.float32)
    english = _unit(rng.normal(size=(200, 8)))
    q_en = _unit(rng.normal(size=(1, 8)))[0]
    q_ml = _unit((topic + specific[0])[None])[0]  # asks about specific[0], in the library's common terms

    hubness = Hubness.of(library)
    assert hubness(hubs).mean() > hubness(specific).mean()  # hubs sit close to many sentences
    plain = CrossLingualScale.for_question(Moments.of(english), Moments.of(library, hubs=True), q_en, q_ml)
    corrected = CrossLingualScale.for_question(Moments.of(english), Moments.of(library, hubs=True), q_en, q_ml,
                                               hub_weight=1.0)
    # the specific sentence asked about gains on the hubs once hubness counts
    gap_plain = plain(specific[:1])[0] - plain(hubs).max()
    gap_corrected = corrected(specific[:1])[0] - corrected(hubs).max()
    assert gap_corrected > gap_plain
    # the moments describe the corrected cosines: mean and deviation over the library land on the English ones
    cosines = corrected.cosines(library)
    assert abs(cosines.mean() - corrected.mean_ml) < 0.02 and abs(cosines.std() / corrected.sd_ml - 1) < 0.1
    assert len(hubness.probes) == len(library) and HUB_NEIGHBOURS < len(library)


def test_a_store_gives_a_fixed_sample_of_its_vectors_without_reading_them_all(tmp_path):
    from rag.core.records import Chunk, Document
    from rag.store.sqlite import ChunkStore

    store = ChunkStore(tmp_path / "chunks.sqlite")
    rng = np.random.default_rng(4)
    for i in range(12):
        text = f"Passage number {i}."
        doc = Document(f"d{i}.txt", f"sha{i}", "", None, "en", text)
        store.put_document(doc, [Chunk(f"d{i}.txt#0", doc.doc_id, 0, len(text), text)],
                           _unit(rng.normal(size=(1, 4))).astype(np.float32), [(0, len(text), "sentence")])
    _ids, every = store.all_vectors(4)
    sample = store.sample_vectors(4, 5)
    assert sample.shape == (5, 4) and np.array_equal(sample, store.sample_vectors(4, 5))  # the same each time
    assert all(any(np.allclose(row, other) for other in every) for row in sample)
    assert np.allclose(store.sample_vectors(4, 100), every)  # a small library is read whole, in order
    store.close()
