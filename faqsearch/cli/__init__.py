"""Command line: parse arguments, call the library, print. No logic of its own. One module per
group of commands; importing them registers their commands on `app`, in the order
`faqsearch --help` lists them."""

# isort: off
from . import indexes, imports, answers, review, serving, cluster, sentiment, models  # noqa: F401
from .common import app

# isort: on

__all__ = ["app"]
