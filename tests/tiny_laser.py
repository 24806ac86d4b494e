"""Make a tiny checkpoint in LASER's on-disk format, so the real `laserembeddings` code path runs
in tests without Facebook's 180 MB download.

Same three files as the real model: fastBPE codes (`a b count` lines), the BPE vocabulary
(`token count` lines) and a torch checkpoint with `params`, `model` (a state dict of
laserembeddings' own `Encoder`) and `dictionary` (token -> id, with LASER's four specials).
Its weights are random: it checks plumbing, never meaning.
"""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

CORPUS = """\
How do I cancel my subscription?
I want to stop my plan.
How do I reset my password?
Where is my order?
How long does shipping take?
Can I return an item?
¿Cómo cancelo mi suscripción?
¿Dónde está mi pedido?
Wie setze ich mein Passwort zurück?
Wo ist meine Bestellung?
Comment annuler mon abonnement ?
Où est ma commande ?
"""
SPECIALS = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}


def make_tiny_laser(directory: Path, merges: int = 150, seed: int = 0) -> Path:
    """Write 93langs.fcodes, 93langs.fvocab and bilstm.93langs.2018-12-26.pt into `directory`."""
    import torch
    from laserembeddings.encoder import Encoder
    from laserembeddings.preprocessing import Tokenizer
    from subword_nmt.apply_bpe import BPE
    from subword_nmt.learn_bpe import learn_bpe

    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = Tokenizer("en")
    tokenized = "\n".join(tokenizer.tokenize(line) for line in CORPUS.splitlines()) + "\n"

    learned = io.StringIO()
    learn_bpe(io.StringIO(tokenized), learned, merges, min_frequency=1)
    pairs = [line for line in learned.getvalue().splitlines() if not line.startswith("#")]
    # fastBPE writes a merge count as a third column; laserembeddings drops it on load.
    codes = "".join(f"{pair} {len(pairs) - i}\n" for i, pair in enumerate(pairs))
    (directory / "93langs.fcodes").write_text(codes, encoding="utf-8")

    bpe = BPE(io.StringIO("#version: 0.2\n" + "\n".join(pairs) + "\n"))
    counts = Counter(token for line in tokenized.splitlines() for token in bpe.process_line(line).split())
    vocab = "".join(f"{token} {count}\n" for token, count in counts.most_common())
    (directory / "93langs.fvocab").write_text(vocab, encoding="utf-8")

    dictionary = dict(SPECIALS)
    for token, _ in counts.most_common():
        dictionary[token] = len(dictionary)
    params = {
        "num_embeddings": len(dictionary),
        "padding_idx": SPECIALS["<pad>"],
        "embed_dim": 16,
        "hidden_size": 12,
        "num_layers": 2,
        "bidirectional": True,
        "left_pad": True,
        "padding_value": 0.0,
    }
    torch.manual_seed(seed)
    model = Encoder(**params)
    checkpoint = {"params": params, "model": model.state_dict(), "dictionary": dictionary}
    torch.save(checkpoint, directory / "bilstm.93langs.2018-12-26.pt")
    return directory
