"""The chat's Settings: which configured model answers, and the bounded options (top-k, temperature, strictness).

The options apply to one answer; the model names are the operator's (``Models``), so
the page can pick among them but never name a file, a server or a key.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from rag import Settings
from rag.core.config import TEMPERATURE_RANGE, TOP_K_RANGE
from ui.common import Loader, message
from ui.state import Models


@dataclass(frozen=True)
class AnswerSettings:
    """The Settings accordion's components."""

    model: gr.Dropdown
    note: gr.HTML
    top_k: gr.Slider
    temperature: gr.Slider
    strict: gr.Checkbox

    @property
    def inputs(self) -> list:
        """The options a question is asked with, in the order the chat handler takes them."""
        return [self.model, self.top_k, self.temperature, self.strict]

    def loader(self, models: Models) -> Loader:
        """The picker as the operator's servers list the models when a page opens."""
        return Loader([self.model, self.note], lambda request: model_views(models))


def build_settings(models: Models, settings: Settings) -> AnswerSettings:
    """The accordion, with the base assistant's settings as the starting values."""
    with gr.Accordion("Settings", open=False, elem_id="rag-settings"):
        model = gr.Dropdown(models.names, value=models.names[0], label="Model",
                            interactive=len(models.names) > 1, elem_id="rag-model",
                            allow_custom_value=True,  # checked by Models.get: one line
                            info="the models this server's operator configured")
        note = gr.HTML("", elem_id="rag-model-note")
        top_k = gr.Slider(*TOP_K_RANGE, value=settings.top_k, step=1, label="Passages to retrieve (top-k)",
                          elem_id="rag-top-k")
        temperature = gr.Slider(*TEMPERATURE_RANGE, value=settings.temperature, step=0.05,
                                label="Temperature", elem_id="rag-temperature")
        strict = gr.Checkbox(value=settings.strict, label="Strict: drop sentences the sources do not support",
                             elem_id="rag-strict")
    return AnswerSettings(model, note, top_k, temperature, strict)


def model_views(models: Models) -> tuple:
    """The picker's names as the operator's servers list them now (cached), and why some are missing."""
    listing = models.listing()
    note = "".join(message(line) for line in listing.problems)
    return gr.update(choices=list(listing.names), value=models.served.default, interactive=len(listing.names) > 1), note
