"""The sentiment head as the README shows it: train, eval, `ask --sentiment`, and its refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from faqsearch import sentiment
from faqsearch.encoders import get_encoder
from faqsearch.encoders.e5 import E5Encoder
from faqsearch.sentiment import SHIPPED_ROOT
from faqsearch.tsv import load_labelled

ROOT = Path(__file__).resolve().parent.parent
TRAIN, DEV, TEST = (ROOT / "data" / "sentiment" / f"{split}.tsv" for split in ("train", "dev", "test"))
MULTILINGUAL = ROOT / "tests" / "data" / "sentiment_multilingual.tsv"


@pytest.fixture
def files(workdir):
    """Write a labelled file into the test folder; returns its path."""

    def write(name: str, content: str | bytes) -> Path:
        path = workdir / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return path

    return write


@pytest.fixture
def upset_or_calm(files) -> Path:
    """The shipped training data relabelled into two other labels: `upset` and `calm`."""
    lines = TRAIN.read_text(encoding="utf-8").splitlines()
    pairs = (line.split("\t") for line in lines)
    relabelled = [f"{text}\t{'upset' if label == 'negative' else 'calm'}" for text, label in pairs]
    return files("upset.tsv", "text\tlabel\n" + "\n".join(relabelled) + "\n")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("where is my order\tneutral\nthis is awful\n", "bad.tsv:2: no tab found; every line is text<TAB>label"),
        ("where is my order\tneutral\nthis is awful\t\n", "bad.tsv:2: label: missing; write the example's label"),
        ("a\tneutral\n\nb\tnegative\n", "bad.tsv:2: empty line; remove it"),
        ("a\tneutral\nb\tnegative\tfr\textra\n", "bad.tsv:2: 4 tab-separated columns; expected text<TAB>label"),
        ("a\tneutral\n\tnegative\n", "bad.tsv:2: text: is empty"),
        ("a\tneutral\tfrench\nb\tnegative\n", "bad.tsv:1: language: `french` is not a language code"),
        ("text,label\nwhere is my order,neutral\n", "bad.tsv:1: no tab found"),
        (b"a\tneutral\nb\xe9\tnegative\n", "bad.tsv:2: not valid UTF-8; save the file as UTF-8"),
        ("text\tlabel\n", "bad.tsv: has no examples"),
        ("a\tneutral\nb\tneutral\n", "bad.tsv: every example is labelled `neutral`; a classifier needs two labels"),
    ],
)
def test_train_refuses_a_bad_file_with_its_line(cli, files, content, message):
    bad = files("bad.tsv", content)
    result = cli("sentiment", "train", str(bad))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {bad.parent}/{message}")
    assert not Path("sentiment").exists()


def test_train_refuses_a_dev_file_with_other_labels(cli, files):
    dev = files("dev.tsv", "fine thanks\tpositive\nwhere is it\tneutral\n")
    result = cli("sentiment", "train", str(TRAIN), "--dev", str(dev))
    assert result.exit_code == 2
    assert f"{dev}: labels neutral, positive differ from {TRAIN}'s negative, neutral, positive" in result.stderr


def test_missing_file(cli, workdir):
    result = cli("sentiment", "train", "nope.tsv")
    assert result.exit_code == 2 and "nope.tsv: file not found" in result.stderr


def test_train_records_encoder_labels_data_and_figures(cli, workdir):
    result = cli("sentiment", "train", str(TRAIN), "--dev", str(DEV))
    assert result.exit_code == 0, result.stderr
    assert "labels: negative 210, neutral 210, positive 210" in result.stdout
    assert "saved sentiment/e5-aligned (encoder e5-aligned)" in result.stdout
    info = json.loads((workdir / "sentiment" / "e5-aligned" / "head.json").read_text())
    assert info["encoder"]["name"] == "e5-aligned" and info["encoder"]["dim"] == 384
    assert info["labels"] == ["negative", "neutral", "positive"]
    assert info["settings"]["class_weight"] == "balanced" and info["settings"]["C"] in (0.1, 0.3, 1.0, 3.0, 10.0)
    assert info["data"]["train"]["label_counts"] == {"negative": 210, "neutral": 210, "positive": 210}
    assert info["data"]["dev"]["path"] == "dev.tsv"
    assert info["figures"]["dev"]["examples"] == 90 and info["figures"]["dev"]["macro_f1"] >= 0.85
    written = sorted(p.name for p in (workdir / "sentiment" / "e5-aligned").iterdir())
    assert written == ["bias.npy", "head.json", "weights.npy"]


def test_c_is_the_one_with_the_lowest_dev_log_loss(files, monkeypatch):
    """On a small dev set most Cs classify every example right, so dev macro-F1 ties (and the
    first best F1 is a weak C); the log-loss still tells them apart. Each C is fitted alone,
    then the full grid must pick the lowest loss."""
    from sklearn.metrics import log_loss

    lines = DEV.read_text(encoding="utf-8").splitlines()
    dev_data = load_labelled(files("small-dev.tsv", "\n".join(lines[:2] + lines[30:32] + lines[60:62]) + "\n"))
    encoder, train_data = get_encoder("e5"), load_labelled(TRAIN)
    dev_x, _ = sentiment.embed(encoder, dev_data)
    dev_y = [["negative", "neutral", "positive"].index(e.label) for e in dev_data.examples]
    losses, f1s = {}, {}
    for c in sentiment.C_GRID:
        monkeypatch.setattr(sentiment, "C_GRID", (c,))
        head = sentiment.train(encoder, train_data, dev_data)
        losses[c] = log_loss(dev_y, head.probabilities(dev_x), labels=[0, 1, 2])
        f1s[c] = head.info.figures["dev"].macro_f1
    monkeypatch.undo()
    chosen = sentiment.train(encoder, train_data, dev_data).info.settings["C"]
    best_f1 = next(c for c in f1s if f1s[c] == max(f1s.values()))
    assert chosen == min(losses, key=losses.get) != best_f1, (losses, f1s)


def test_retraining_reads_the_cached_vectors(cli, workdir, monkeypatch):
    assert cli("sentiment", "train", str(TRAIN), "--out", "first").exit_code == 0

    def no_encoding(self, texts, languages):
        raise AssertionError("re-embedded cached examples")

    monkeypatch.setattr(E5Encoder, "_embed", no_encoding)
    again = cli("sentiment", "train", str(TRAIN), "--out", "second")
    assert again.exit_code == 0, again.stderr
    assert (workdir / "second" / "head.json").is_file()


def test_any_label_set_and_a_trained_head_replaces_the_shipped_one(cli, small_faq, upset_or_calm):
    assert cli("build", str(small_faq)).exit_code == 0
    assert cli("sentiment", "train", str(upset_or_calm)).exit_code == 0
    result = cli("ask", "--sentiment", "--json", "¡Llevo tres semanas esperando mi reembolso, es una vergüenza!")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["sentiment"]["label"] == "upset"


def test_ask_sentiment_text_and_json(cli, small_faq):
    assert cli("build", str(small_faq)).exit_code == 0
    text = cli("ask", "--sentiment", "Ich warte seit drei Wochen auf meine Bestellung, das ist eine Frechheit!")
    assert text.exit_code == 0, text.stderr
    assert "  sentiment: negative (" in text.stdout
    answer = json.loads(cli("ask", "--sentiment", "--json", "thank you so much, you are great").stdout)
    assert answer["sentiment"]["label"] == "positive" and 0.5 < answer["sentiment"]["confidence"] <= 1
    assert json.loads(cli("ask", "--json", "thank you").stdout)["sentiment"] is None


def test_eval_prints_figures_and_confusion(cli, workdir):
    result = cli("sentiment", "eval", str(TEST))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("240 examples  accuracy 0.")
    assert "confusion (rows: true label, columns: predicted)" in result.stdout
    report = json.loads(cli("sentiment", "eval", str(TEST), "--json").stdout)
    assert report["labels"] == ["negative", "neutral", "positive"]
    assert sum(map(sum, report["confusion"])) == 240
    assert [report["per_label"][label]["support"] for label in report["labels"]] == [80, 80, 80]


def test_eval_refuses_a_label_the_head_does_not_know(cli, files):
    test = files("test.tsv", "great stuff\tpositive\nmeh\tmixed\n")
    result = cli("sentiment", "eval", str(test))
    assert result.exit_code == 2
    assert f"{test}:2: label: `mixed` is not one of the head's labels (negative, neutral, positive)" in result.stderr


def test_a_head_from_another_encoder_version_is_refused(cli, small_faq, workdir):
    assert cli("build", str(small_faq)).exit_code == 0
    shutil.copytree(SHIPPED_ROOT / "e5-aligned", workdir / "old")
    info = json.loads((workdir / "old" / "head.json").read_text())
    info["encoder"]["version"] = "e5-aligned 000000000000"
    (workdir / "old" / "head.json").write_text(json.dumps(info))
    result = cli("ask", "--sentiment-head", "old", "where is my order")
    assert result.exit_code == 2
    trained_on = "sentiment head old was trained on e5-aligned [e5-aligned 000000000000, 384-d] vectors"
    assert f"{trained_on}, not e5-aligned [e5-aligned " in result.stderr
    assert "`faqsearch sentiment train FILE.tsv --encoder e5-aligned`" in result.stderr


def test_a_broken_head_is_refused(cli, small_faq, workdir):
    assert cli("build", str(small_faq)).exit_code == 0
    shutil.copytree(SHIPPED_ROOT / "e5-aligned", workdir / "broken")
    (workdir / "broken" / "weights.npy").unlink()
    result = cli("ask", "--sentiment-head", "broken", "where is my order")
    assert result.exit_code == 2 and "broken is not a sentiment head (weights.npy missing)" in result.stderr


@pytest.mark.parametrize("encoder", ["e5-aligned", "e5"])
def test_shipped_head_on_held_out_english(cli, encoder):
    report = json.loads(cli("sentiment", "eval", str(TEST), "--encoder", encoder, "--json").stdout)
    assert report["overall"]["macro_f1"] >= 0.88
    assert min(f["recall"] for f in report["per_label"].values()) >= 0.8


@pytest.mark.parametrize("encoder", ["e5-aligned", "e5"])
def test_shipped_head_across_languages(cli, encoder):
    """Trained on English only; the hand-written support messages in 12 other languages."""
    report = json.loads(cli("sentiment", "eval", str(MULTILINGUAL), "--encoder", encoder, "--json").stdout)
    per_language = {lang: s["macro_f1"] for lang, s in report["per_language"].items()}
    assert len(per_language) == 12 and all(s["examples"] == 30 for s in report["per_language"].values())
    assert report["overall"]["macro_f1"] >= 0.80
    assert min(per_language.values()) >= 0.65, per_language
