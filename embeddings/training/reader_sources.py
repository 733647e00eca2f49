"""Questions and units from each training source: debian-faq, apache2-doc, vim-doc, the bundled news.

Each function reads one source and returns its pairs (see ``pairs.Pair``). Questions come
from the documents themselves: the FAQ's own question headings, templates over apache's
directive tables and vim's option headers (worded several ways, so a question does not
always share the option's words), and rules over news sentences.
"""

from __future__ import annotations

import html
import random
import re
from pathlib import Path

import lxml.html

from embeddings.training.debian import html_files
from embeddings.training.pairs import Pair, question_pairs
from rag.ingest.sentences import sentences

SPACE = re.compile(r"\s+")
MAX_UNIT_CHARS = 600  # a unit stays short enough to read; longer ones are cut at a sentence


def _text(node) -> str:
    return SPACE.sub(" ", node.text_content()).strip()


def _short(unit: str) -> str:
    """``unit`` cut to its leading sentences that fit ``MAX_UNIT_CHARS``."""
    if len(unit) <= MAX_UNIT_CHARS:
        return unit
    out = ""
    for sentence in sentences(unit):
        if out and len(out) + len(sentence) + 1 > MAX_UNIT_CHARS:
            break
        out = f"{out} {sentence}".strip()
    return out[:MAX_UNIT_CHARS]


def _pick(rng: random.Random, templates: tuple[str, ...], k: int, **names: str) -> list[str]:
    return [t.format(**names) for t in rng.sample(templates, min(k, len(templates)))]


# ----------------------------------------------------------------------------- debian-faq

def _blocks(section) -> list[str]:
    """The section's paragraphs as units; a lead-in ending in ':' is kept with the list after it."""
    units: list[str] = []
    for node in section.iterchildren():
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag in ("ul", "ol", "dl") and units and units[-1].endswith(":"):
            items = [_text(li) for li in node.iterchildren() if isinstance(li.tag, str)]
            units[-1] = _short(units[-1] + "\n" + "\n".join(f"- {i}" for i in items if i))
        elif tag in ("p", "ul", "ol", "dl", "pre"):
            text = _text(node)
            if len(text) > 25:
                units.append(_short(text))
    return units


def faq_pairs(cache: Path) -> list[Pair]:
    """Each FAQ question heading: its first answer block is the positive, other answers' blocks are not.

    Where the first block is a lead-in, the lead-in alone (without its list) is a negative.
    """
    pairs: list[Pair] = []
    for page in html_files("debian-faq", cache):
        if page.name.endswith(".en.html") or page.name.startswith("index"):
            continue
        doc = lxml.html.parse(str(page)).getroot()
        answers: list[tuple[str, list[str], str]] = []
        for section in doc.xpath("//div[@class='section']"):
            title = section.xpath("./div[@class='titlepage']//h2|./div[@class='titlepage']//h3")
            if not title:
                continue
            question = re.sub(r"^[\d.]+\s*", "", _text(title[0]))
            units = _blocks(section)
            if question.endswith("?") and units:
                lead_alone = units[0].split("\n", 1)[0] if "\n" in units[0] else ""
                answers.append((question, units, lead_alone))
        for i, (question, units, lead_alone) in enumerate(answers):
            others = [u for j, (_, us, _) in enumerate(answers) if j != i for u in us[:2]]
            negatives = random.Random(question).sample(others, min(6, len(others)))
            pairs += question_pairs(question, [units[0]], negatives + [lead_alone], "debian-faq",
                                    page.name, "faq")
        pairs += cloze_pairs([s for _, units, _ in answers for u in units for s in sentences(u)],
                             "debian-faq", page.name)
    return pairs


# ----------------------------------------------------------------------------- apache2-doc

APACHE_TEMPLATES = {
    "Default": ("What is the default value of {d}?", "What is {d} set to if I do not configure it?",
                "Out of the box, which value does {d} use?", "What value applies when {d} is left unset?",
                "What is the {d} setting by default?"),
    "Context": ("In which context can {d} be used?", "Where in the configuration is {d} allowed?",
                "Can I put {d} in an .htaccess file or only in the server config?",
                "In which configuration sections may {d} appear?"),
    "Description": ("What does {d} do?", "What is the {d} directive for?", "What is the purpose of {d}?",
                    "Explain what {d} controls."),
    "Module": ("Which module provides {d}?", "Which Apache module do I need to load to use {d}?"),
    "Syntax": ("What is the syntax of {d}?", "How do I write the {d} directive?", "What arguments does {d} take?"),
    "Compatibility": ("Since which version is {d} available?", "In which Apache release was {d} introduced?",
                      "What changed in {d} across versions?"),
}
NEAR_MISS_APACHE = {  # detail -> (templates, words whose absence from the section makes it a near miss)
    "Default": (APACHE_TEMPLATES["Default"][:3], ("default",)),
    "Compatibility": (APACHE_TEMPLATES["Compatibility"][:2], ("version", "available in", "2.")),
    "limit": (("What is the maximum value allowed for {d}?", "Is there an upper limit on {d}?"),
              ("maximum", "limit", "at most", "up to", "largest")),
}


def _directives(page: Path) -> list[dict]:
    """Each directive section: its name, heading, table rows and prose units."""
    doc = lxml.html.parse(str(page)).getroot()
    out = []
    for section in doc.xpath("//div[@class='directive-section']"):
        heading = section.xpath("./h2")
        if not heading:
            continue
        name = _text(heading[0]).replace(" Directive", "").strip(" ¶")
        title = f"{name} Directive"
        rows = {}
        for tr in section.xpath("./table[@class='directive']/tr"):
            th, td = tr.xpath("./th"), tr.xpath("./td")
            if th and td:
                rows[_text(th[0]).rstrip(":")] = _text(td[0])
        prose = [s for unit in _blocks(section) for s in sentences(unit) if len(s) > 30]
        lists = _list_units(section)
        out.append({"name": name, "title": title, "rows": rows, "prose": prose, "lists": lists})
    return out


def _list_units(section) -> list[tuple[str, str, list[str]]]:
    """(lead-in, lead-in with its items, term-with-description units) for each list after a ':' lead-in."""
    found = []
    for lst in section.xpath("./ul|./dl"):
        lead = lst.getprevious()
        if lead is None or lead.tag != "p" or not _text(lead).endswith(":"):
            continue
        lead_text = _short(_text(lead))
        if lst.tag == "dl":
            terms = [(_text(dt), _text(dt.getnext())) for dt in lst.xpath("./dt")
                     if dt.getnext() is not None and dt.getnext().tag == "dd"]
            items = [f"{t}\n{_short(d)}" for t, d in terms if t and d]
        else:
            items = [_short(_text(li)) for li in lst.xpath("./li")]
        if items:
            whole = lead_text + "\n" + "\n".join(f"- {i.splitlines()[0]}" for i in items[:12])
            found.append((lead_text, whole, items))
    return found


def apache_pairs(cache: Path) -> list[Pair]:
    """Directive tables and prose: each asked detail's row is the positive; other rows, the prose without
    the detail, and the same row of the page's other directives are negatives."""
    pairs: list[Pair] = []
    for page in html_files("apache2-doc", cache):
        if "mod" not in page.parts:
            continue
        directives = _directives(page)
        for i, d in enumerate(directives):
            rng = random.Random(f"{page.name}/{d['name']}")
            row_units = {key: f"{d['title']}\n{key}: {value}" for key, value in d["rows"].items()}
            others = [o for j, o in enumerate(directives) if j != i]
            for key, templates in APACHE_TEMPLATES.items():
                if key not in row_units:
                    continue
                detail_word = "default" if key == "Default" else ""
                prose_neg = [s for s in d["prose"] if not detail_word or detail_word not in s.lower()]
                if key == "Description":
                    prose_neg = prose_neg[1:]  # the first prose sentence often says what it does too
                wrong_subject = [f"{o['title']}\n{key}: {o['rows'][key]}" for o in others if key in o["rows"]]
                negatives = ([u for k, u in row_units.items() if k != key]
                             + rng.sample(prose_neg, min(3, len(prose_neg)))
                             + rng.sample(wrong_subject, min(2, len(wrong_subject))))
                for question in _pick(rng, templates, 2, d=d["name"]):
                    pairs += question_pairs(question, [row_units[key]], negatives, "apache2-doc", page.name, key.lower())
            pairs += _apache_near_misses(d, row_units, page.name, rng)
            pairs += _apache_lists(d, page.name, rng)
        pairs += cloze_pairs([s for d in directives for s in d["prose"]], "apache2-doc", page.name)
    return pairs


def _apache_near_misses(d: dict, row_units: dict[str, str], page: str, rng: random.Random) -> list[Pair]:
    """Ask for a detail the section never states: every unit of the section is a negative."""
    section_text = " ".join([*d["rows"].values(), *d["prose"]]).lower()
    pairs: list[Pair] = []
    for detail, (templates, words) in NEAR_MISS_APACHE.items():
        if detail in d["rows"] or any(w in section_text for w in words):
            continue
        units = list(row_units.values()) + rng.sample(d["prose"], min(4, len(d["prose"])))
        for question in _pick(rng, templates, 1, d=d["name"]):
            pairs += question_pairs(question, [], units, "apache2-doc", page, "near-miss")
    return pairs


def _apache_lists(d: dict, page: str, rng: random.Random) -> list[Pair]:
    """A lead-in with its list answers "which values"; a term with its description answers "what does T do"."""
    pairs: list[Pair] = []
    for lead, whole, items in d["lists"]:
        question = rng.choice(("Which values can {d} take?", "What are the possible options for {d}?",
                               "List the settings accepted by {d}.")).format(d=d["name"])
        pairs += question_pairs(question, [whole], [lead, *rng.sample(d["prose"], min(2, len(d["prose"])))],
                                "apache2-doc", page, "list")
        described = [i for i in items if "\n" in i]
        for item in rng.sample(described, min(3, len(described))):
            term = item.split("\n", 1)[0]
            question = rng.choice(("What does {t} mean for {d}?", "What is the effect of {t} in {d}?",
                                   "What happens when {d} is set to {t}?")).format(t=term, d=d["name"])
            pairs += question_pairs(question, [item], [lead, *[i for i in described if i != item][:3]],
                                    "apache2-doc", page, "definition")
    return pairs


# ----------------------------------------------------------------------------- vim-doc

VIM_HEADER = re.compile(r"^'(?P<name>[a-z]+)'(?: '[a-z]+')*\s+(?P<type>boolean|number|string)\s+"
                        r"\((?P<default>[^\n]*?)\)?$", re.M)
VIM_TEMPLATES = {
    "default": ("What is the default value of the '{o}' option?", "What is {o} set to by default in Vim?",
                "If I never change {o}, what value does it have?", "Which value does the {o} option start with?",
                "What does Vim use for '{o}' unless configured otherwise?"),
    "does": ("What does the '{o}' option do?", "What is '{o}' for?", "What happens when I set {o}?",
             "Describe the effect of the {o} setting."),
    "scope": ("Is '{o}' global or local to a buffer?", "Does setting {o} affect all windows or only one?"),
}
VIM_NEAR_MISS = (("What is the largest value allowed for '{o}'?", ("maximum", "max", "limit", "at most", "largest")),
                 ("In which Vim version was the '{o}' option added?", ("version", "patch", "added")))


def _vim_options(cache: Path) -> list[dict]:
    page = next(p for p in html_files("vim-doc", cache) if p.name == "options.html")
    text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8", errors="replace")))
    matches = list(VIM_HEADER.finditer(text))
    options = []
    for m, nxt in zip(matches, matches[1:] + [None]):
        end = nxt.start() if nxt else len(text)
        body = text[m.end():end].rsplit("\n\n", 1)[0] if nxt else text[m.end():end]
        lines = body.strip("\n").split("\n")
        scope = lines[0].strip() if lines else ""
        description = SPACE.sub(" ", " ".join(line.strip() for line in lines[1:])).strip()
        prose = [s for s in sentences(description) if len(s) > 25]
        if not prose:
            continue
        header = SPACE.sub(" ", m.group(0)).strip()
        options.append({"name": m.group("name"), "type": m.group("type"), "header": header, "scope": scope,
                        "prose": prose, "text": (header + " " + description).lower()})
    return options


def vim_pairs(cache: Path) -> list[Pair]:
    """Option header (name, type, default, scope) with its first sentence answers the default and scope
    questions; the option's later sentences and the neighbours' headers do not."""
    pairs: list[Pair] = []
    options = _vim_options(cache)
    for i, o in enumerate(options):
        rng = random.Random(o["name"])
        unit = f"{o['header']}\n{o['scope']}\n{o['prose'][0]}"
        neighbours = [f"{n['header']}\n{n['scope']}\n{n['prose'][0]}" for n in options[max(0, i - 2):i + 3] if n is not o]
        later = [s for s in o["prose"][1:] if "default" not in s.lower()]
        for kind, templates in VIM_TEMPLATES.items():
            positives = [unit, o["prose"][0]] if kind == "does" else [unit]
            negatives = rng.sample(later, min(3, len(later))) + neighbours[:2]
            if kind == "does":
                negatives = rng.sample(later[1:], min(2, len(later) - 1 if later else 0)) + neighbours[:2]
            for question in _pick(rng, templates, 1, o=o["name"]):
                pairs += question_pairs(question, positives, negatives, "vim-doc", f"options.html#{o['name']}", kind)
        for template, words in VIM_NEAR_MISS:
            if not any(w in o["text"] for w in words) and rng.random() < 0.5:
                pairs += question_pairs(template.format(o=o["name"]), [], [unit, *later[:3]], "vim-doc",
                                        f"options.html#{o['name']}", "near-miss")
    for page in html_files("vim-doc", cache):
        if page.name.startswith("usr_"):  # the user manual: prose
            text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8", errors="replace")))
            paragraphs = [SPACE.sub(" ", p).strip() for p in text.split("\n\n")]
            pairs += cloze_pairs([s for p in paragraphs if len(p) > 40 for s in sentences(p)], "vim-doc", page.name)
    return pairs


# ----------------------------------------------------------------------------- rule questions (news, prose)

CLOZE_RULES = (  # (pattern of the answer span, the wh-words that replace it)
    (re.compile(r"\b(?:in|on|since|by) (?:(?:January|February|March|April|May|June|July|August|September|"
                r"October|November|December)(?: \d{1,2})?,? )?(?:19|20)\d\d\b"), "when"),
    (re.compile(r"(?<=[ $])\d[\d,.]*(?: (?:million|billion|thousand|percent|per cent))?(?= [a-z]{3})"), "how many"),
)
WHERE_RULE = (re.compile(r"\bin (?:[A-Z][a-z]+)(?: [A-Z][a-z]+)?\b"), "where")  # places: news only ("in Insert mode")


def _clause(before: str, wh: str, after: str) -> str:
    """The clause around the answer span, with the wh-word in its place: a question, not the sentence."""
    head = re.split(r"[,;:]\s", before)
    tail = re.split(r"[,;:]\s", after)[0]
    keep = head[-1] if len(head[-1].split()) >= 4 or len(head) < 2 else ", ".join(head[-2:])
    question = SPACE.sub(" ", f"{keep} {wh} {tail}").strip(" .\"'") + "?"
    return question[0].upper() + question[1:]


def news_pairs(news_dir: Path) -> list[Pair]:
    """Rule questions over the sentences of each bundled news article."""
    pairs: list[Pair] = []
    for path in sorted(news_dir.glob("*.txt")):
        pairs += cloze_pairs(sentences(path.read_text(encoding="utf-8")), "news", path.name,
                             CLOZE_RULES + (WHERE_RULE,))
    return pairs


def cloze_pairs(units: list[str], source: str, page: str, rules: tuple = CLOZE_RULES) -> list[Pair]:
    """A sentence becomes a question with its answer span replaced by a wh-word; the page's other
    sentences that share the most words with the question (and lack the answer) are the negatives.

    A short answering sentence ("The default is 5.") is the positive only together with the
    sentence before it, which names its subject.
    """
    units = [u for u in units if 20 < len(u) < 400]
    pairs: list[Pair] = []
    for k, unit in enumerate(units):
        for pattern, wh in rules:
            match = pattern.search(unit)
            if not match:
                continue
            answer = match.group(0)
            question = _clause(unit[:match.start()], wh, unit[match.end():])
            if len(question.split()) < 4:
                break
            words = set(re.findall(r"\w{4,}", question.lower()))
            ranked = sorted((u for j, u in enumerate(units) if j != k and answer not in u),
                            key=lambda u: -len(words & set(re.findall(r"\w{4,}", u.lower()))))
            positive = f"{units[k - 1]} {unit}" if len(unit) < 70 and k else unit
            pairs += question_pairs(question, [positive], ranked[:4], source, page, wh.replace(" ", "-"))
            break
    return pairs
