"""rag.crosslingual: multilingual cosines read on the English scale by how unusual they are for the question."""

import numpy as np

from rag.crosslingual import SAMPLE, CrossLingualScale, Moments


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
    assert abs(scale(float(ml_cos.mean())) - en_cos.mean()) < 1e-6
    one_up = scale(float(ml_cos.mean() + ml_cos.std(ddof=1)))
    assert abs(one_up - (en_cos.mean() + en_cos.std(ddof=1))) < 1e-6
    mapped = scale(ml_cos)
    assert np.all(np.diff(mapped[np.argsort(ml_cos)]) >= 0)  # order within the multilingual side is kept
    assert isinstance(scale(0.3), float) and mapped.shape == ml_cos.shape


def test_the_spread_setting_widens_the_multilingual_side_around_the_mean():
    scale = CrossLingualScale(mean_ml=0.1, sd_ml=0.05, mean_en=0.2, sd_en=0.1, z_scale=1.0)
    wider = CrossLingualScale(mean_ml=0.1, sd_ml=0.05, mean_en=0.2, sd_en=0.1, z_scale=1.5)
    assert scale(0.1) == wider(0.1) == 0.2
    assert abs(scale(0.2) - 0.4) < 1e-9 and abs(wider(0.2) - 0.5) < 1e-9


def test_moments_of_a_large_library_come_from_a_fixed_sample():
    vectors = np.random.default_rng(2).normal(size=(SAMPLE + 10, 3)).astype(np.float32)
    a, b = Moments.of(vectors), Moments.of(vectors)
    assert np.array_equal(a.mean, b.mean) and np.array_equal(a.covariance, b.covariance)
    assert np.allclose(a.mean, vectors.mean(axis=0), atol=0.02)
    assert Moments.of(vectors[:1]) is None
