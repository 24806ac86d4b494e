"""A LangChain retriever over a faqsearch index (`pip install "faqsearch[langchain]"`).

`FAQRetriever(index="shop").invoke("¿cómo cancelo?")` returns the matched entry as a Document
(its answer in the question's language as the content; entry id, confidence, languages and the
matched question in metadata), and no document at all when the FAQ has no answer, so a chain
cannot ground a reply on an entry that does not fit.
"""

from __future__ import annotations

from pathlib import Path

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import Field

from . import opened, reply


class FAQRetriever(BaseRetriever):
    """Documents for the FAQ entry that answers a query: one, or none for no match."""

    index: str | Path | None = None  # a name under indexes/, a folder, or None for the only index
    min_confidence: float | None = None  # no match below this [default: the index's calibrated threshold]
    tags: list[str] = Field(default_factory=list)  # only entries carrying one of these

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        answer = opened(self.index).ask(query, min_confidence=self.min_confidence, tags=self.tags)
        found = reply(answer)
        if found["status"] != "answered":
            return []
        metadata = {key: value for key, value in found.items() if key not in ("status", "answer")}
        return [Document(page_content=found["answer"], metadata=metadata, id=found["entry_id"])]
