"""A Rasa custom action answering from faqsearch (`pip install "faqsearch[rasa]"`, rasa-sdk).

Run it in the action server: `rasa run actions --actions faqsearch.integrations.rasa`, with
FAQSEARCH_INDEX naming the index (a name under indexes/ or a folder). A rule or story calls
`action_faqsearch`; it answers the latest user message with the FAQ's answer in the customer's
language, or, when the FAQ has none, hands over to the fallback action (FAQSEARCH_FALLBACK,
default `action_default_fallback`). Either way it sets the slots
`faqsearch_entry`, `faqsearch_confidence`, `faqsearch_threshold` and `faqsearch_did_you_mean`
(the questions a bot may offer as buttons). An answer's related entries (follow-up prompts)
come with it as buttons, each sending its entry's question. FAQSEARCH_MIN_CONFIDENCE overrides the index's
threshold. Subclass it to set `index`, `min_confidence` or `fallback` in code instead.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from ..search import MAX_QUESTION_CHARS
from . import opened, reply

INDEX_ENV, MIN_CONFIDENCE_ENV, FALLBACK_ENV = "FAQSEARCH_INDEX", "FAQSEARCH_MIN_CONFIDENCE", "FAQSEARCH_FALLBACK"
DEFAULT_FALLBACK = "action_default_fallback"


class ActionFAQSearch(Action):
    index: str | None = None
    min_confidence: float | None = None
    fallback: str | None = None

    def name(self) -> str:
        return "action_faqsearch"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        question = " ".join(str(tracker.latest_message.get("text") or "").split())[:MAX_QUESTION_CHARS]
        fallback = self.fallback or os.environ.get(FALLBACK_ENV) or DEFAULT_FALLBACK
        if not question:
            return [FollowupAction(fallback)]
        faq = await asyncio.to_thread(opened, self.index or os.environ.get(INDEX_ENV))
        threshold = self.min_confidence
        if threshold is None and os.environ.get(MIN_CONFIDENCE_ENV):
            threshold = float(os.environ[MIN_CONFIDENCE_ENV])
        answer = await asyncio.to_thread(faq.ask, question, 3, threshold)
        found = reply(answer)
        events: list[EventType] = [
            SlotSet("faqsearch_threshold", faq.min_confidence if threshold is None else threshold),
            SlotSet("faqsearch_did_you_mean", [d["question"] for d in found.get("did_you_mean", [])]),
        ]
        answered = found["status"] == "answered"
        if answered:  # a related entry as a button whose payload asks its question
            buttons = [{"title": r["text"], "payload": r["question"]} for r in found["related"]]
            dispatcher.utter_message(text=found["answer"], buttons=buttons)
        best = answer.candidates[0].confidence if answer.candidates else 0.0
        events += [
            SlotSet("faqsearch_entry", found.get("entry_id")),
            SlotSet("faqsearch_confidence", found["confidence"] if answered else round(best, 4)),
        ]
        return events if answered else [*events, FollowupAction(fallback)]
