"""The memory model on hand-made graphs: liveness peaks, saved-for-backward, training totals, fit.

Every expected figure is worked out by hand in the comments (elements per sample unless said).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from archcost.engine import Analysis, analyze
from archcost.memory import fit, memory, peak_inference, saved_for_backward
from archcost.spec import load_text


def run(input_shape: str, body: str, **kw: object) -> Analysis:
    return analyze(load_text(f"archcost: 1\nname: t\ninput: {input_shape}\nlayers:\n{body}"), **kw)  # type: ignore[arg-type]


def test_chain() -> None:
    a = run(
        "[1, 4, 4]",
        "  - conv: {out: 2, kernel: 1}\n  - conv: {out: 4, kernel: 1}\n  - conv: {out: 1, kernel: 1}\n",
    )
    # input 16; L0 out 32: 16 + 32 = 48, input freed; L1 out 64: 32 + 64 = 96, L0 freed; L2: 64 + 16 = 80
    peak = peak_inference(a)
    assert (peak.elements, peak.layer) == (96, "1")
    assert dict(peak.alive) == {"0": 32, "1": 64}


def test_in_place_relu_reuses_its_input() -> None:
    a = run("[1, 4, 4]", "  - conv: {out: 2, kernel: 1}\n  - relu\n  - conv: {out: 4, kernel: 1}\n")
    # the relu writes into conv 0's 32 elements: the peak is 32 + 64 = 96 at L2, not 32 + 32 + 64
    peak = peak_inference(a)
    assert (peak.elements, peak.layer) == (96, "2")
    assert dict(peak.alive) == {"0": 32, "2": 64}


def test_residual() -> None:
    a = run(
        "[4, 4, 4]",
        "  - residual:\n"
        "      layers: [conv: {out: 4, kernel: 1}, relu, conv: {out: 4, kernel: 1}]\n"
        "      post: [relu]\n",
    )
    # input 64 stays alive until the add. L0 conv 64 (128); relu in place (128);
    # L2 conv 64: input + conv0 + conv2 = 192 (the peak); add writes into conv2 (+= ): 128; relu in place: 64
    assert [layer.name for layer in a.layers] == ["0.0", "0.1", "0.2", "0.add", "0.4"]
    peak = peak_inference(a)
    assert (peak.elements, peak.layer) == (192, "0.2")


def test_inception_module() -> None:
    a = run(
        "[8, 4, 4]",
        "  - parallel:\n"
        "      merge: concat\n"
        "      branches:\n"
        "        - [conv: {out: 2, kernel: 1}]\n"
        "        - [conv: {out: 4, kernel: 1}, conv: {out: 2, kernel: 1}]\n"
        "        - [maxpool: {kernel: 3, stride: 1, padding: 1}, conv: {out: 2, kernel: 1}]\n",
    )
    # input 128. b0 conv 32: 160. b1 conv 64: 224. b1 conv 32: 256, then b1's 64 is freed: 192.
    # maxpool 128: 192 + 128 = 320 (the peak), then the input is freed: 192. conv 32: 224 → 96.
    # concat 96: 96 + 96 = 192.
    peak = peak_inference(a)
    assert (peak.elements, peak.layer) == (320, "0.2.0")
    assert sorted(dict(peak.alive).values()) == [32, 32, 128, 128]


def test_dense_block() -> None:
    a = run(
        "[4, 2, 2]",
        "  - parallel: {repeat: 2, merge: concat, branches: [[], [conv: {out: 2, kernel: 1}]]}\n",
    )
    # input 16. conv 8: 24. concat 24: 16 + 8 + 24 = 48, then 24.
    # conv 8: 32. concat 8×2×2 = 32: 24 + 8 + 32 = 64 (the peak).
    peak = peak_inference(a)
    assert (peak.elements, peak.layer) == (64, "0.1.concat")


CONV_BN_RELU = (
    "  - conv: {out: 2, kernel: 1, bias: false}\n  - batchnorm\n  - relu\n  - conv: {out: 4, kernel: 1, bias: false}\n"
)


def test_saved_for_backward_counts_shared_tensors_once() -> None:
    a = run("[1, 4, 4]", CONV_BN_RELU)
    per_sample, fixed, by_layer = saved_for_backward(a, dtype_bytes=4)
    # conv0 saves the input (16); bn saves conv0's output (32) and fp32 mean + inv std (2·2·4 bytes, any batch);
    # relu works in place on bn's output (32) and saves it; conv1 saves the same tensor: counted once
    assert per_sample == (16 + 32 + 32) * 4
    assert fixed == 2 * 2 * 4
    assert by_layer == {"0": 16 * 4, "1": 32 * 4, "2": 32 * 4, "3": 0}


def test_maxpool_and_dropout_extras() -> None:
    a = run(
        "[1, 4, 4]",
        "  - conv: {out: 1, kernel: 1}\n  - maxpool: {kernel: 2}\n  - flatten\n  - dropout\n  - linear: {out: 3}\n",
    )
    per_sample, fixed, _ = saved_for_backward(a, dtype_bytes=4)
    # the input is not tracked: the conv saves it anyway (it needs it for its weight gradient), 16·4;
    # maxpool: the conv's output 16·4 and int64 indices of its 4 outputs, 4·8; flatten is a view;
    # dropout: a mask of its 4 elements in the activation dtype (CPU), 4·4; linear: dropout's output 4·4
    assert per_sample == 16 * 4 + (16 * 4 + 4 * 8) + 4 * 4 + 4 * 4 == 192
    assert fixed == 0


@pytest.mark.parametrize(("optimizer", "states"), [("sgd", 0), ("momentum", 1), ("adam", 2), ("adamw", 2)])
def test_training_bytes(optimizer: str, states: int) -> None:
    a = run("[1, 4, 4]", CONV_BN_RELU, batch=8, dtype="fp16")
    m = memory(a, optimizer)
    params = 1 * 2 + 2 * 2 + 2 * 4  # conv0 weights, bn γβ, conv1 weights
    assert m.param_bytes == params * 2 and m.gradient_bytes == params * 2
    assert m.optimizer_bytes == states * params * 2
    assert m.buffer_bytes == 2 * 2 * 2  # running mean and var
    assert m.saved_activation_bytes == (16 + 32 + 32) * 2 * 8 + 2 * 2 * 4
    # backward: the largest output + input gradient pair is conv1's, 64 + 32 elements
    assert m.backward_transient_bytes == (64 + 32) * 8 * 2
    assert (
        m.training_bytes
        == (m.param_bytes + m.gradient_bytes + m.optimizer_bytes + m.buffer_bytes + m.saved_activation_bytes)
        + m.backward_transient_bytes
    )


def test_fit_is_the_largest_batch_within_budget() -> None:
    a = run("[1, 4, 4]", CONV_BN_RELU)
    for budget in (10_000, 123_456, 10**7):
        found = fit(a, budget, "adam")
        for mode, batch in (("inference", found.inference_batch), ("training", found.training_batch)):

            def need(b: int, mode: str = mode) -> int:
                m = memory(replace(a, batch=b), "adam")
                return m.inference_bytes if mode == "inference" else m.training_bytes

            assert batch == 0 or need(batch) <= budget
            assert need(batch + 1) > budget


# ---------------------------------------------------------------------------- through the CLI


def cli(*args: str) -> tuple[int, str]:
    from cli_runner import CliRunner

    from archcost.cli import app

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_json_memory_keys_match_the_model() -> None:
    import json

    from archcost import spec

    code, out = cli("show", "resnet18", "--batch", "4", "--dtype", "fp16", "--format", "json", "--memory", "1GiB")
    assert code == 0, out
    data = json.loads(out)
    t = data["totals"]
    m = memory(analyze(spec.load("resnet18"), batch=4, dtype="fp16"), "adam")
    for key in (
        "param_bytes",
        "buffer_bytes",
        "activation_bytes",
        "peak_inference_bytes",
        "saved_activation_bytes",
        "gradient_bytes",
        "optimizer_bytes",
        "training_bytes",
    ):
        assert t[key] == getattr(m, key), key
    assert t["param_bytes"] == t["params"] * 2 and t["activation_bytes"] == t["activations"] * 4 * 2
    assert (
        sum(layer["saved_bytes"] for layer in data["layers"])
        + 2 * 4 * sum(layer["output_shape"][0] for layer in data["layers"] if layer["kind"] == "batchnorm")
        == t["saved_activation_bytes"]
    )  # per-layer shares + the batch-independent BN statistics (fp32)
    assert sum(layer["weight_bytes"] for layer in data["layers"]) == t["param_bytes"]
    assert data["fit"]["budget_bytes"] == 2**30
    found = fit(analyze(spec.load("resnet18"), dtype="fp16"), 2**30, "adam")
    assert data["fit"]["max_batch_training"] == found.training_batch


def test_train_table_and_fit_lines() -> None:
    code, out = cli("show", "alexnet", "--train", "--optimizer", "sgd", "--memory", "3GB")
    assert code == 0, out
    for text in ("saved mem", "peak inference", "saved for backward", "optimizer state", "sgd: 0 per parameter"):
        assert text in out
    assert "fits in 2.79 GiB (3,000,000,000 B)" in out


@pytest.mark.parametrize("value", ["lots", "3XB", "0", "-1GB"])
def test_bad_memory_budget_exits_2(value: str) -> None:
    code, out = cli("show", "alexnet", "--memory", value)
    assert code == 2 and "--memory" in out


def test_byte_units() -> None:
    from archcost.units import human_bytes, parse_bytes

    assert parse_bytes("3GB") == 3 * 10**9 and parse_bytes("3GiB") == 3 * 2**30 and parse_bytes("512MB") == 512 * 10**6
    assert parse_bytes("1.5 GiB") == 3 * 2**29 and parse_bytes("3e9") == 3 * 10**9
    assert [human_bytes(n) for n in (1023, 1024, 1000 * 2**20, 2**30)] == ["1023 B", "1 KiB", "1000 MiB", "1 GiB"]


def test_resnet50_saved_set_matches_the_peer_tools_measurement() -> None:
    from archcost import spec

    # ../shared/reference/peer-tools.md measured torchvision's ResNet-50 (stride on the 3×3, v1.5) with
    # saved_tensors_hooks at batch 1, fp32: 86.1 MB
    m = memory(analyze(spec.load("resnet50"), overrides={"v15": True}))
    assert round(m.saved_activation_bytes / 1e6, 1) == 86.1
