"""What a request body may hold, checked before any work (a 4xx that names the field)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ..faqs import MAX_TAG_CHARS
from ..search import MAX_K, MAX_QUESTION_CHARS, valid_text

MAX_BATCH = 64
MAX_TAGS = 32


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.message = status, message


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    index: str | None = Field(None, description="Which served index; may be left out when only one is served")
    k: int = Field(1, ge=1, le=MAX_K, description="How many distinct entries to return as candidates")
    min_confidence: float | None = Field(None, ge=0, le=1, description="No match below this [default: the index's]")
    sentiment: bool = Field(False, description="Also return the customer's sentiment")
    tags: list[Annotated[str, Field(max_length=MAX_TAG_CHARS)]] = Field(
        [], max_length=MAX_TAGS, description=f"Only entries carrying one of these tags (each <= {MAX_TAG_CHARS} chars)"
    )


def question(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise ValueError("is empty; ask something")
    if len(text) > MAX_QUESTION_CHARS:
        raise ValueError(f"is {len(text)} characters; the limit is {MAX_QUESTION_CHARS}")
    if not valid_text(text):
        raise ValueError("is not valid text (a lone UTF-16 surrogate such as \\ud800); send UTF-8 text")
    return text


Question = Annotated[str, AfterValidator(question)]


class AskRequest(Options):
    question: Question = Field(description=f"The customer's question, any language, at most {MAX_QUESTION_CHARS} chars")


class BatchRequest(Options):
    questions: list[Question] = Field(min_length=1, max_length=MAX_BATCH, description=f"1 to {MAX_BATCH} questions")
