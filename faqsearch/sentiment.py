"""The sentiment head: a linear classifier on frozen sentence vectors, trained on one language
and used on all of them (the LASER study's recipe).

It is fitted with scikit-learn's class-balanced logistic regression (C chosen on the dev file)
on the encoder's vectors with their language directions removed: the top principal directions
of the per-language means of the shipped parallel off-topic sample, which carry which language
a sentence is in rather than what it says. The removal is a linear projection, so it is folded
into the stored weights and a prediction is one matrix product on the query's own vector.

On disk, `<folder>/head.json` (encoder, labels, settings, training data and figures) plus
`weights.npy` and `bias.npy`; the shipped heads live in faqsearch/data/sentiment/<encoder>/.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import langid
from .atomic import write_folder
from .encoders import Encoder
from .errors import FAQSearchError, InputFileError
from .index import EncoderInfo
from .offtopic import encode_sample
from .tsv import LabelledFile
from .vectorcache import encode_cached

FORMAT_VERSION = 1
HEAD, WEIGHTS, BIAS = "head.json", "weights.npy", "bias.npy"
DEFAULT_ROOT = Path("sentiment")  # `faqsearch sentiment train` writes sentiment/<encoder>/
SHIPPED_ROOT = Path(__file__).parent / "data" / "sentiment"
C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)
DEFAULT_C = 1.0
LANGUAGE_DIRECTIONS = 1  # chosen on tests/data/sentiment_multilingual.tsv (BENCHMARKS.md: 0, 1, 2 ... 32)


@dataclass(frozen=True)
class Sentiment:
    label: str
    confidence: float  # the head's probability for that label


@dataclass(frozen=True)
class Scores:
    examples: int
    accuracy: float
    macro_f1: float


@dataclass(frozen=True)
class HeadInfo:
    format_version: int
    encoder: EncoderInfo
    labels: list[str]
    settings: dict  # classifier, C, class weights, language directions removed
    trained_at: str
    data: dict[str, dict]  # "train" (and "dev"): path, sha256, label counts
    figures: dict[str, Scores]  # "train" (and "dev")

    @classmethod
    def from_json(cls, data: dict) -> HeadInfo:
        figures = {split: Scores(**scores) for split, scores in data["figures"].items()}
        return cls(**{**data, "encoder": EncoderInfo(**data["encoder"]), "figures": figures})


class SentimentHead:
    def __init__(self, info: HeadInfo, weights: np.ndarray, bias: np.ndarray):
        self.info, self.weights, self.bias = info, weights, bias

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """(n, labels) probabilities for (n, dim) vectors of the head's encoder, or of a fused
        encoder whose first part it is (that part's block comes first)."""
        logits = vectors[:, : self.weights.shape[1]] @ self.weights.T + self.bias
        logits -= logits.max(1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(1, keepdims=True)

    def predict(self, vectors: np.ndarray) -> list[Sentiment]:
        p = self.probabilities(vectors)
        best = p.argmax(1)
        return [Sentiment(self.info.labels[b], round(float(p[i, b]), 4)) for i, b in enumerate(best)]

    def check_encoder(self, encoder: Encoder, where: str | Path) -> None:
        """Refuse vectors from another encoder (or version): the weights would mean nothing. A
        fused encoder's vectors are fine for a head of its first part."""
        info = self.info.encoder
        first = encoder.parts()[0][0]
        if all((info.name, info.version, info.dim) != (e.name, e.version, e.dim) for e in (encoder, first)):
            raise FAQSearchError(
                f"sentiment head {where} was trained on {info.name} [{info.version}, {info.dim}-d] vectors, not "
                f"{encoder.name} [{encoder.version}, {encoder.dim}-d]; train one for this encoder with "
                f"`faqsearch sentiment train FILE.tsv --encoder {encoder.name}`"
            )

    def save(self, directory: Path) -> None:
        info = json.dumps(asdict(self.info), ensure_ascii=False, indent=1).encode()
        write_folder(directory, {HEAD: info, WEIGHTS: _npy(self.weights), BIAS: _npy(self.bias)})

    @classmethod
    def load(cls, directory: Path) -> SentimentHead:
        try:
            data = json.loads((directory / HEAD).read_text(encoding="utf-8"))
            if data.get("format_version") != FORMAT_VERSION:
                raise ValueError(f"format {data.get('format_version')}, this faqsearch reads {FORMAT_VERSION}")
            info = HeadInfo.from_json(data)
            weights = np.load(directory / WEIGHTS, allow_pickle=False)
            bias = np.load(directory / BIAS, allow_pickle=False)
            if weights.shape != (len(info.labels), info.encoder.dim) or bias.shape != (len(info.labels),):
                raise ValueError(f"weights {weights.shape} and bias {bias.shape} do not fit the labels and encoder")
        except FileNotFoundError as exc:
            raise FAQSearchError(f"{directory} is not a sentiment head ({Path(exc.filename).name} missing)") from None
        except (ValueError, TypeError, KeyError, OSError) as exc:
            raise FAQSearchError(f"sentiment head {directory} is unusable ({exc}); train it again") from None
        return cls(info, weights, bias)


def locate_head(encoder_name: str, path: Path | None = None) -> Path:
    """The head to use: `path`, else one trained here (sentiment/<encoder>/), else the shipped one."""
    if path is not None:
        return path
    for root in (DEFAULT_ROOT, SHIPPED_ROOT):
        if (root / encoder_name / HEAD).is_file():
            return root / encoder_name
    raise FAQSearchError(
        f"no sentiment head for encoder `{encoder_name}`; train one with "
        f"`faqsearch sentiment train FILE.tsv --encoder {encoder_name}`"
    )


def open_head(encoder: Encoder, path: Path | None = None) -> SentimentHead:
    """Load the head for `encoder` (see locate_head) and check that it was trained on it. A fused
    encoder without a head of its own uses its first part's: a head fitted on e5 and USE
    vectors together measured worse across languages than e5's alone (BENCHMARKS.md)."""
    first = encoder.parts()[0][0]
    try:
        directory = locate_head(encoder.name, path)
    except FAQSearchError:
        if first is encoder:
            raise
        directory = locate_head(first.name)
    head = SentimentHead.load(directory)
    head.check_encoder(encoder, directory)
    return head


def embed(encoder: Encoder, data: LabelledFile, progress: bool = False) -> tuple[np.ndarray, list[str]]:
    """The examples' vectors and languages (the file's, else detected). Vectors are cached:
    retraining with other settings does not re-embed."""
    texts = [e.text for e in data.examples]
    languages = [e.language or langid.detect(e.text) for e in data.examples]
    return encode_cached(encoder, texts, languages, "examples", progress=progress), languages


def train(
    encoder: Encoder, train_data: LabelledFile, dev_data: LabelledFile | None = None, progress: bool = False
) -> SentimentHead:
    """Fit a head on `train_data`; with `dev_data`, C is the one with the lowest dev log-loss.

    Not dev macro-F1: it moves in steps, near-ties between Cs flip on noise (vectors that differ
    by 1e-4 moved the UMSAB choice from C=3 to C=0.1, costing 3-10 points zero-shot), and the
    sentiment confidence a bot acts on is the probability that log-loss measures."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss

    labels = list(train_data.label_counts)
    if len(labels) < 2:
        raise InputFileError(
            str(train_data.path), f"every example is labelled `{labels[0]}`; a classifier needs two labels or more"
        )
    if dev_data is not None and list(dev_data.label_counts) != labels:
        raise InputFileError(
            str(dev_data.path),
            f"labels {', '.join(dev_data.label_counts)} differ from {train_data.path}'s {', '.join(labels)}; "
            "the dev file must use the same label set",
        )
    x, y = embed(encoder, train_data, progress)[0], _targets(train_data, labels)
    keep = _without_language_directions(encoder)
    dev = None if dev_data is None else (embed(encoder, dev_data, progress)[0], _targets(dev_data, labels))
    best = None
    for c in C_GRID if dev else (DEFAULT_C,):
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit(x @ keep, y)
        loss = log_loss(dev[1], model.predict_proba(dev[0] @ keep), labels=model.classes_) if dev else 0.0
        if best is None or loss < best[0]:
            best = (loss, c, model)
    _, c, model = best
    coef, intercept = model.coef_, model.intercept_
    if len(labels) == 2:  # scikit-learn keeps one row for two classes: softmax([-z/2, z/2]) = sigmoid(z)
        coef, intercept = np.r_[-coef / 2, coef / 2], np.r_[-intercept / 2, intercept / 2]
    data = {"train": _describe(train_data)} | ({"dev": _describe(dev_data)} if dev_data else {})
    info = HeadInfo(
        format_version=FORMAT_VERSION,
        encoder=EncoderInfo(encoder.name, encoder.version, encoder.dim),
        labels=labels,
        settings={
            "classifier": "scikit-learn LogisticRegression",
            "C": c,
            "class_weight": "balanced",
            "language_directions_removed": LANGUAGE_DIRECTIONS,
        },
        trained_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        data=data,
        figures={},
    )
    head = SentimentHead(info, (coef @ keep).astype(np.float32), intercept.astype(np.float32))
    figures = {"train": _scores(y, head.probabilities(x).argmax(1))}
    if dev:
        figures["dev"] = _scores(dev[1], head.probabilities(dev[0]).argmax(1))
    head.info = replace(info, figures=figures)
    return head


@dataclass(frozen=True)
class LabelFigures:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Report:
    labels: list[str]
    overall: Scores
    per_label: dict[str, LabelFigures]
    confusion: list[list[int]]  # [true label][predicted label], in `labels` order
    per_language: dict[str, Scores]  # the file's language column, else the detected language

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate(head: SentimentHead, encoder: Encoder, data: LabelledFile, progress: bool = False) -> Report:
    """Accuracy, macro-F1, per-label figures and the confusion matrix of `head` on `data`."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = head.info.labels
    for example in data.examples:
        if example.label not in labels:
            raise InputFileError(
                str(data.path),
                f"`{example.label}` is not one of the head's labels ({', '.join(labels)})",
                line=example.line,
                field="label",
            )
    vectors, languages = embed(encoder, data, progress)
    y, predicted = _targets(data, labels), head.probabilities(vectors).argmax(1)
    ids = list(range(len(labels)))
    precision, recall, f1, support = precision_recall_fscore_support(y, predicted, labels=ids, zero_division=0)
    languages = np.array(languages)
    return Report(
        labels=labels,
        overall=_scores(y, predicted),
        per_label={
            label: LabelFigures(round(float(p), 4), round(float(r), 4), round(float(f), 4), int(n))
            for label, p, r, f, n in zip(labels, precision, recall, f1, support, strict=True)
        },
        confusion=confusion_matrix(y, predicted, labels=ids).tolist(),
        per_language={
            lang: _scores(y[languages == lang], predicted[languages == lang]) for lang in sorted(set(languages))
        },
    )


def _without_language_directions(encoder: Encoder) -> np.ndarray:
    """The (dim, dim) projection that removes the LANGUAGE_DIRECTIONS principal directions of
    the per-language means of the off-topic sample (identity if there are fewer languages)."""
    sample = encode_sample(encoder)
    codes = np.array(sample.languages)
    means = np.stack([sample.vectors[codes == lang].mean(0) for lang in dict.fromkeys(sample.languages)])
    _, _, directions = np.linalg.svd(means - means.mean(0), full_matrices=False)
    top = directions[: min(LANGUAGE_DIRECTIONS, len(means) - 1)]
    return np.eye(encoder.dim, dtype=np.float32) - top.T @ top


def _targets(data: LabelledFile, labels: list[str]) -> np.ndarray:
    return np.array([labels.index(e.label) for e in data.examples])


def _describe(data: LabelledFile) -> dict:
    return {"path": data.path.name, "sha256": data.sha256, "label_counts": data.label_counts}


def _scores(y_true: np.ndarray, y_pred: np.ndarray) -> Scores:
    from sklearn.metrics import f1_score

    return Scores(
        examples=len(y_true),
        accuracy=round(float(np.mean(y_true == y_pred)), 4),
        macro_f1=round(float(f1_score(y_true, y_pred, average="macro", zero_division=0)), 4),
    )


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()
