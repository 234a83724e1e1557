"""Train a tiny Llama with a plain MLX loop until greedy decoding gives every fixed completion, in full
precision and 4-bit.

Greedy decoding follows the training tokens exactly when, at every completion position, the right
token has the highest logit given the right prefix (teacher forcing). So the loop checks that, with a
margin so that the 4-bit copy and the cached step-by-step decoding of mlx-lm keep the same argmax."""

import contextlib
import copy
import io
import time
from dataclasses import dataclass

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
from mlx.utils import tree_flatten, tree_map_with_path
from mlx_lm.models import llama
from mlx_lm.utils import quantize_model

# The quantized copy: 4 bits, groups of 32 (the hidden size is 64, so mlx-lm's default of 64 would
# make one group of a whole row; 32 keeps the error small enough for exact answers).
QUANT_BITS = 4
QUANT_GROUP_SIZE = 32
# The least logit gap (right token over the best wrong one) that training must reach, both copies.
MIN_MARGIN = 0.5
# The hardest completion tokens get extra weight in the loss (see loss_fn).
HARDEST_TOKENS = 8
HARD_WEIGHT = 0.05


def model_config(vocab_size: int) -> dict:
    """176k parameters. Small on purpose: the mlx-cpu wheel bundles the reference BLAS (about
    1 GFLOP/s on this machine), a step costs in proportion to the parameters, and at this size a
    build (about 370 steps) takes about 3 minutes of the 5 allowed."""
    return {
        "model_type": "llama",
        "architectures": ["LlamaForCausalLM"],
        "hidden_size": 64,
        "num_hidden_layers": 3,
        "intermediate_size": 192,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "rms_norm_eps": 1e-5,
        "vocab_size": vocab_size,
        "max_position_embeddings": 2048,
        "rope_theta": 10000.0,
        "rope_traditional": False,
        "tie_word_embeddings": True,
        "attention_bias": False,
        "mlp_bias": False,
        "hidden_act": "silu",
        "torch_dtype": "float32",
    }


def build_model(config: dict) -> llama.Model:
    return llama.Model(llama.ModelArgs.from_dict(config))


@dataclass
class Batch:
    """Sequences padded to one length, with a mask over the completion targets."""

    inputs: mx.array
    targets: mx.array
    mask: mx.array

    @staticmethod
    def of(sequences: list, pad_id: int) -> "Batch":
        """sequences: (tokens, mask) pairs, mask[i] = 1 where token i is to be learnt."""
        width = max(len(tokens) for tokens, _ in sequences) - 1
        inputs, targets, masks = [], [], []
        for tokens, mask in sequences:
            padding = width - (len(tokens) - 1)
            inputs.append(tokens[:-1] + [pad_id] * padding)
            targets.append(tokens[1:] + [pad_id] * padding)
            masks.append(mask[1:] + [0] * padding)
        return Batch(mx.array(inputs), mx.array(targets), mx.array(masks, dtype=mx.float32))


def merge_prefixes(sequences: list) -> list:
    """Fold a sequence that another one starts with into it (the tool call is the start of the tool
    result's conversation), so each token is computed once per step."""
    merged = []
    for tokens, mask in sorted(sequences, key=lambda sequence: -len(sequence[0])):
        host = next((other for other in merged if other[0][: len(tokens)] == tokens), None)
        if host is None:
            merged.append((tokens, list(mask)))
        else:
            host[1][: len(mask)] = [max(a, b) for a, b in zip(host[1], mask)]
    return merged


def buckets(sequences: list, pad_id: int) -> list:
    """Batches of sequences of similar length: MLX on a Linux CPU is slow, so padding is costly."""
    ordered = sorted(merge_prefixes(sequences), key=lambda sequence: len(sequence[0]))
    groups = [[ordered[0]]]
    for sequence in ordered[1:]:
        if len(sequence[0]) > 1.5 * len(groups[-1][0][0]):
            groups.append([])
        groups[-1].append(sequence)
    return [Batch.of(group, pad_id) for group in groups]


def loss_fn(model: nn.Module, batches: list) -> mx.array:
    """Mean cross-entropy over the completion tokens, plus the mean of the worst few: the rare
    tokens (the carry after 59) would otherwise take many more steps to win their argmax."""
    per_token = []
    for batch in batches:
        losses = nn.losses.cross_entropy(model(batch.inputs), batch.targets, reduction="none")
        per_token.append((losses * batch.mask).reshape(-1))
    losses = mx.concatenate(per_token)
    count = sum(batch.mask.sum() for batch in batches)
    return losses.sum() / count + HARD_WEIGHT * mx.topk(losses, HARDEST_TOKENS).mean()


def worst_margin(model: nn.Module, batches: list) -> tuple:
    """The smallest gap, over all completion positions, between the right logit and the best other
    one, and where it is: (gap, batch index, row, position)."""
    worst = (float("inf"), -1, -1, -1)
    for index, batch in enumerate(batches):
        logits = model(batch.inputs).astype(mx.float32)
        right = mx.take_along_axis(logits, batch.targets[..., None], axis=-1)[..., 0]
        wrong = mx.where(mx.arange(logits.shape[-1]) == batch.targets[..., None], -mx.inf, logits).max(axis=-1)
        gap = mx.where(batch.mask > 0, right - wrong, mx.inf)
        flat = mx.argmin(gap).item()
        row, position = divmod(flat, gap.shape[1])
        worst = min(worst, (gap[row, position].item(), index, row, position))
    return worst


def quantized_copy(model: nn.Module, config: dict):
    """A 4-bit copy made the way mlx-lm's convert makes one (quantize_model)."""
    clone = build_model(config)
    clone.update(copy.deepcopy(model.parameters()))
    return quantize_model(clone, config, QUANT_GROUP_SIZE, QUANT_BITS)


def parameter_count(model: nn.Module) -> int:
    return sum(value.size for _, value in tree_flatten(model.parameters()))


def fake_quantized(weight: mx.array) -> mx.array:
    """The weight as the 4-bit copy will hold it, with the gradient passed straight through, so that
    training can see (and fix) what quantization does to the answers."""
    rounded = mx.dequantize(*mx.quantize(weight, QUANT_GROUP_SIZE, QUANT_BITS), QUANT_GROUP_SIZE, QUANT_BITS)
    return weight + mx.stop_gradient(rounded - weight)


def packed(path: str) -> bool:
    """Whether quantize_model packs this parameter: the Linear and Embedding weights, not the norms."""
    return path.endswith(".weight") and "norm" not in path


def quantization_aware_loss_fn(model: nn.Module, batches: list) -> mx.array:
    """The loss of the full-precision weights plus the loss of the same weights rounded to 4 bits
    (every Linear and Embedding weight, the ones quantize_model packs), so both copies stay exact."""
    full = loss_fn(model, batches)
    weights = model.parameters()
    model.update(tree_map_with_path(lambda path, value: fake_quantized(value) if packed(path) else value, weights))
    quantized = loss_fn(model, batches)
    model.update(weights)
    return full + quantized


def train(config: dict, batches: list, *, max_steps: int, check_every: int, peak_lr: float, log) -> llama.Model:
    """Adam until both copies clear MIN_MARGIN at a check, or max_steps (then the caller's check fails).
    Full precision first (cheaper); once that is exact, the loss also sees the 4-bit weights."""
    model = build_model(config)
    mx.eval(model.parameters())
    log(f"model: {parameter_count(model):,} parameters")
    warmup = optim.linear_schedule(peak_lr / 30, peak_lr, 20)
    schedule = optim.join_schedules([warmup, optim.cosine_decay(peak_lr, max_steps, peak_lr / 10)], [20])
    optimizer = optim.Adam(learning_rate=schedule)
    step_fn = nn.value_and_grad(model, loss_fn)
    quantization_aware = False
    started = time.monotonic()
    for step in range(1, max_steps + 1):
        loss, grads = step_fn(model, batches)
        optimizer.update(model, grads)
        mx.eval(model.parameters(), optimizer.state, loss)
        if step % check_every == 0:
            full, *where = worst_margin(model, batches)
            with contextlib.redirect_stdout(io.StringIO()):  # quantize_model prints a line per call
                quantized = worst_margin(quantized_copy(model, config)[0], batches)[0]
            log(
                f"step {step}: loss {loss.item():.4f}, worst margin {full:.2f} at {where} (4-bit {quantized:.2f}),"
                f" {time.monotonic() - started:.0f} s"
            )
            if full > MIN_MARGIN and quantized > MIN_MARGIN:
                break
            if full > MIN_MARGIN and not quantization_aware:
                log("full precision is exact: from now on the loss also sees the 4-bit weights")
                step_fn = nn.value_and_grad(model, quantization_aware_loss_fn)
                quantization_aware = True
    return model
