"""What a request body may hold, checked before any work (a 4xx that names the field)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from ..faqs import MAX_TAG_CHARS
from ..questionlog import Feedback
from ..search import MAX_K, MAX_QUESTION_CHARS, clean_question, valid_text

MAX_BATCH = 64
MAX_TAGS = 32
MAX_REQUEST_ID_CHARS = 64  # guard.CLIENT_ID: the longest request id a server gives or takes


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


class FeedbackRequest(BaseModel):
    """What a chatbot says of an answer, named by its request id (POST /feedback)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    request_id: Text = Field(
        min_length=1, max_length=MAX_REQUEST_ID_CHARS, description="The `x-request-id` header of the answer"
    )
    feedback: Feedback = Field(description="helped, not_helped, or chose (the customer chose `entry` instead)")
    entry: Text | None = Field(
        None, validate_default=True, description="With `chose`: the id of a candidate or did-you-mean entry"
    )
    number: int = Field(0, ge=0, lt=MAX_BATCH, description="Which question of a batch, from 0")

    @field_validator("entry")
    @classmethod
    def _entry_with_chose(cls, entry: str | None, info: ValidationInfo) -> str | None:
        """`entry` says which entry the customer chose: given with `chose`, and only then."""
        if "feedback" not in info.data:  # the feedback itself is wrong: that error says enough
            return entry
        if info.data["feedback"] == "chose" and entry is None:
            raise ValueError("is required with feedback `chose`: the id of the entry the customer chose")
        if info.data["feedback"] != "chose" and entry is not None:
            raise ValueError("is only given with feedback `chose`")
        return entry


MAX_LABELS = 10_000


class ApplyRequest(BaseModel):
    """Labels to write into an index's FAQ file (POST /review/apply). Each label is checked by
    `faqsearch review --apply` (labels.py), the one authority on the label format."""

    model_config = ConfigDict(extra="forbid", strict=True)

    index: Text | None = Field(None, description="Which served index; may be left out when only one is served")
    labels: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_LABELS,
        description='1 to 10,000 labels such as {"question": "...", "entry": "<id>" | "none" | "new"} (labels.py)',
    )
