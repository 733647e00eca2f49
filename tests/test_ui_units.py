"""The chat's building blocks without a server: operator config, per-request options, users and
roles, login backoff, the trash, saved conversations and titles. Fast; no models."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from rag.core.auth import Access, AuthError, LoginGuard, Users
from rag.core.config import AskOptions, Settings, configured_models
from rag.assistant.conversations import Conversations, Message, answer_from_json, answer_to_json
from rag.core.records import Answer, Chunk, Citation, Hit
from rag.retrieval.trash import Trash, TrashError
from ui.cli import load_users
from ui.render import plain_title


def test_config_file_then_environment_then_flags(tmp_path):
    config = tmp_path / "rag.toml"
    config.write_text('generator = "none"\ntop_k = 7\nhome = "data"\n\n[models.small]\ngenerator = "llama"\n'
                      'model = "/models/small.gguf"\n', encoding="utf-8")
    settings = Settings.from_env({"RAG_CONFIG": str(config), "RAG_TOP_K": "3"})
    assert settings.generator == "none" and settings.top_k == 3 and settings.home == tmp_path / "data"
    models = configured_models(settings, {"RAG_CONFIG": str(config)})
    assert list(models) == ["quotes only", "small"]
    assert models["small"].model == "/models/small.gguf" and models["small"].home == settings.home


@pytest.mark.parametrize("text, message", [
    ('colour = "blue"\n', "unknown setting 'colour'"),
    ('[models.x]\nhome = "/tmp"\n', "models.x cannot set home"),
    ("top_k = [\n", "not valid TOML"),
])
def test_bad_config_is_one_line(tmp_path, text, message):
    config = tmp_path / "rag.toml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as info:
        configured_models(Settings.from_env({"RAG_CONFIG": str(config)}), {"RAG_CONFIG": str(config)})
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("kwargs", [{"top_k": 0}, {"top_k": 16}, {"top_k": 2.5}, {"top_k": True}, {"top_k": "5"},
                                    {"temperature": -0.1}, {"temperature": 1.51}, {"temperature": float("nan")},
                                    {"temperature": "hot"}, {"strict": "no"}])
def test_options_out_of_bounds_are_refused(kwargs):
    with pytest.raises(ValueError):
        AskOptions.checked(**kwargs)


def test_options_apply_to_a_copy():
    base = Settings()
    changed = AskOptions.checked(top_k=9.0, temperature=0.3, strict=False).apply(base)
    assert (changed.top_k, changed.temperature, changed.strict) == (9, 0.3, False)
    assert base.top_k == 5 and changed.model == base.model and changed.base_url == base.base_url


def test_users_roles_and_passwords():
    users = Users.parse("# team\nann:s3cret:admin, bob:pa:ss\ncy:x:reader")
    assert users.role("ann") == "admin" and users.role("bob") == "reader" and users.role("zed") is None
    assert users.check("bob", "pa:ss") and not users.check("bob", "pa") and not users.check("zed", "")
    for bad in ("ann", "ann:", ":pw", "ann:a,ann:b"):
        with pytest.raises(AuthError) as info:
            Users.parse(bad)
        assert "\n" not in str(info.value)


def test_access_without_users():
    assert Access(None, loopback=True).is_admin(None)
    assert not Access(None, loopback=False).is_admin(None)
    assert not Access(Users.parse("a:b:admin"), loopback=True).is_admin(None)


def test_users_come_one_way_only(tmp_path):
    file = tmp_path / "users"
    file.write_text("ann:pw:admin\n", encoding="utf-8")
    args = argparse.Namespace(auth_file=file, auth=None)
    assert load_users(args, {}).role("ann") == "admin"
    assert load_users(argparse.Namespace(auth_file=None, auth=None), {"RAG_AUTH": "bob:pw"}).role("bob") == "reader"
    assert load_users(argparse.Namespace(auth_file=None, auth="cy:pw"), {}).role("cy") == "admin"
    with pytest.raises(ValueError, match="one way only"):
        load_users(args, {"RAG_AUTH": "bob:pw"})


def test_login_backoff_doubles_per_client():
    now = [0.0]
    guard = LoginGuard(base=0.5, cap=4, clock=lambda: now[0])
    assert [guard.failed("a") for _ in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert guard.wait("a") == 4.0 and guard.wait("b") == 0.0
    now[0] = 4.0
    assert guard.wait("a") == 0.0
    guard.succeeded("a")
    assert guard.failed("a") == 0.5


def test_trash_round_trip_and_hostile_names(tmp_path):
    library, trash = tmp_path / "library", Trash(tmp_path / "trash")
    (library / "sub").mkdir(parents=True)
    (library / "sub" / "a.txt").write_text("A", encoding="utf-8")
    trash.put(library, "sub/a.txt")
    assert not (library / "sub" / "a.txt").exists() and [e.doc_id for e in trash.entries()] == ["sub/a.txt"]
    for name in ("../../etc/passwd", "/etc/passwd", "b.txt"):
        with pytest.raises(TrashError):
            trash.restore(library, name)
    (library / "sub" / "a.txt").write_text("new A", encoding="utf-8")
    with pytest.raises(TrashError, match="already has"):
        trash.restore(library, "sub/a.txt")
    (library / "sub" / "a.txt").unlink()
    assert trash.restore(library, "sub/a.txt").read_text(encoding="utf-8") == "A" and trash.entries() == []


def test_tampered_trash_entry_is_ignored(tmp_path):
    library, trash = tmp_path / "library", Trash(tmp_path / "trash")
    library.mkdir()
    (library / "a.txt").write_text("A", encoding="utf-8")
    entry = trash.put(library, "a.txt")
    (entry.folder / "entry.json").write_text(json.dumps({"doc_id": "../../../x.txt", "removed_at": "now"}))
    assert trash.entries() == []
    with pytest.raises(TrashError):
        trash.restore(library, "../../../x.txt")


def _answer() -> Answer:
    chunk = Chunk("c1", "a.txt", 0, 5, "Hello", None)
    citation = Citation(1, "a.txt", "c1", 0, 5, "Hello", title="# A")
    return Answer("q?", "Hello [1]", False, [citation], [Hit(chunk, 0.5, 0.9, None, "# A")], {"total": 3.0})


def test_conversations_are_per_owner_and_survive_reopening(tmp_path):
    store = Conversations(tmp_path / "c.sqlite")
    mine = store.create("ann")
    assert store.append("ann", mine, Message("First question?\n<b>", _answer()))
    assert not store.append("bob", mine, Message("sneaky"))
    assert store.load("bob", mine) is None and not store.rename("bob", mine, "x") and not store.delete("bob", mine)
    assert store.rename("ann", mine, "  Renamed\x00 title ")
    reopened = Conversations(tmp_path / "c.sqlite").load("ann", mine)
    assert reopened.title == "Renamed title" and reopened.messages[0].answer == _answer()
    assert store.set_scope("ann", mine, ["b.txt", "a.txt"]) and store.load("ann", mine).doc_ids == ["a.txt", "b.txt"]
    assert store.delete("ann", mine) and store.list("ann") == []


def test_answer_json_round_trip_and_junk():
    assert answer_from_json(answer_to_json(_answer())) == _answer()
    assert answer_from_json('{"question": 1}') is None and answer_from_json("not json") is None


def test_markdown_titles_lose_their_hashes():
    assert plain_title("# Mining in Iceland") == "Mining in Iceland"
    assert plain_title("### ") == "" and plain_title("#hashtag") == "#hashtag" and plain_title(None, "f.md") == "f.md"


def test_readme_operating_section_describes_roles_config_file_and_trash():
    """The operator's manual names what the code reads: the flags exist, the trash sits where the code puts it."""
    from rag.cli import BUILTIN
    from ui.cli import add_arguments

    section = (Path(__file__).resolve().parents[1] / "docs" / "operating.md").read_text(encoding="utf-8")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    flags = {option for action in parser._actions for option in action.option_strings}
    for flag in ("--auth-file", "--config", "--auth", "--no-auth"):
        assert flag in flags and f"`{flag}" in section, flag
    for words in ("**Users and roles.**", "`admin`", "`reader`", "RAG_AUTH", "**Config file.**", "RAG_CONFIG",
                  "[models.", "**Trash.**", "HOME/trash/", "rag restore", "**Logins.**"):
        assert words in section, words
    assert "restore" in {command.name for command in BUILTIN}  # `rag restore` is a real command


def test_the_model_picker_opens_one_index_per_home(tmp_path):
    """Every model's assistant answers over the base assistant's open index: one SQLite connection per home file,
    so no second connection writes translations beside the first, and closing one model's assistant leaves the
    index open for the others."""
    from rag import Assistant
    from ui.app import Models

    base = Settings(home=tmp_path / "home", generator="none")
    assistant = Assistant(base)
    models = Models(assistant, {"quotes only": base, "fewer passages": base.replace(top_k=3)})
    other = models.get("fewer passages")
    assert other is not assistant and other.settings.top_k == 3
    assert other.index is assistant.index and models.get("quotes only") is assistant
    other.close()
    assert assistant.documents() == []  # still open
    assistant.close()
