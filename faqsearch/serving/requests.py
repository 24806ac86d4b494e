"""What a request body may hold, checked before any work (a 4xx that names the field)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ..faqs import MAX_TAG_CHARS
from ..search import MAX_K, MAX_QUESTION_CHARS, clean_question, valid_text

MAX_BATCH = 64
MAX_TAGS = 32


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.message = status, message


def _text(text: str) -> str:
    """Any string a client sends must be text an error message can echo (no lone surrogates)."""
    if not valid_text(text):
        raise ValueError("is not valid text (a lone UTF-16 surrogate such as \\ud800); send UTF-8 text")
    return text


Text = Annotated[str, AfterValidator(_text)]


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    index: Text | None = Field(None, description="Which served index; may be left out when only one is served")
    k: int = Field(1, ge=1, le=MAX_K, description="How many distinct entries to return as candidates")
    min_confidence: float | None = Field(None, ge=0, le=1, description="No match below this [default: the index's]")
    sentiment: bool = Field(False, description="Also return the customer's sentiment")
    tags: list[Annotated[Text, Field(max_length=MAX_TAG_CHARS)]] = Field(
        [], max_length=MAX_TAGS, description=f"Only entries carrying one of these tags (each <= {MAX_TAG_CHARS} chars)"
    )


Question = Annotated[str, AfterValidator(clean_question)]


class AskRequest(Options):
    question: Question = Field(description=f"The customer's question, any language, at most {MAX_QUESTION_CHARS} chars")


class BatchRequest(Options):
    questions: list[Question] = Field(min_length=1, max_length=MAX_BATCH, description=f"1 to {MAX_BATCH} questions")
