"""faqsearch: multilingual FAQ semantic search. Write the FAQ once, answer in ~100 languages."""

from .errors import FAQSearchError
from .faqs import FAQEntry, FAQFile, load_faqs
from .search import Answer, FAQSearch, Hit

__all__ = ["Answer", "FAQEntry", "FAQFile", "FAQSearch", "FAQSearchError", "Hit", "load_faqs"]
