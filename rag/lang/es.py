"""Spanish (stopwords and the translation example; the question patterns fall back to none)."""

from rag.lang import Language

LANGUAGE = Language(
    code="es",
    name="Spanish",
    stopwords=frozenset(
        """a al algo como con cuando de del desde donde el ella ellas ellos en entre era es esa ese eso esta
        este esto fue ha han hay la las le les lo los más me mi mis muy nada ni no nos o para pero por porque
        qué que quien quién se sin sobre su sus también te tiene todo todos tu un una uno unos y ya yo cuál
        cuándo dónde cómo cuánto son ser está están fueron sido según""".split()
    ),
    translation_example=("El alcalde inauguró ayer el nuevo puente del centro de la ciudad.",
                         "The mayor opened the new bridge in the city centre yesterday."),
    summary_request=r"\bresum\w*|\bresumen\b|\bsíntesis\b",
    language_words={
        "es": ("español", "española"), "en": ("inglés", "inglesa"), "nl": ("neerlandés", "neerlandesa"), "de": ("alemán", "alemana")},
)
