"""The cost of training in MACs: an :class:`~archcost.engine.Analysis` into training figures.

Two figures, per sample (docs/conventions.md, "The cost of a training step"):

* **expected training MACs**: the forward MACs with each layer weighted by the probability that it
  runs in a training step (its :attr:`~archcost.engine.LayerResult.survival`: stochastic depth drops
  whole residual bodies). Equal to the MACs when every survival is 1.
* **training-step MACs**: forward, plus each layer's backward MACs as its kind states them
  (:attr:`archcost.layers.Kind.backward`): for a weighted layer the gradient with respect to its
  weights (its forward MACs again) and with respect to its input (again, unless no gradient flows into
  that input: the image, and what is computed from it without parameters). Each layer's step is
  weighted by its survival, so with stochastic depth it is the expected step.

Expectations are exact fractions rounded to the nearest whole MAC at the end. Imports the engine and the
catalog, never the reverse.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from archcost import layers, units
from archcost.engine import INPUT, Analysis, LayerResult


@dataclass(frozen=True, slots=True)
class LayerStep:
    """One layer's share of a training step, per sample, before weighting by its survival."""

    name: str
    kind: str
    survival: float
    forward: int
    weight_grad: int
    input_grad: int
    input_grad_skipped: int
    """MACs an input gradient would have cost where none flows (the image): 0 elsewhere."""

    @property
    def step(self) -> int:
        """Forward plus backward MACs when the layer runs."""
        return self.forward + self.weight_grad + self.input_grad


@dataclass(frozen=True, slots=True)
class Training:
    """The training figures of one analysis, per sample (expected values under stochastic depth)."""

    layers: tuple[LayerStep, ...]
    expected_train_macs: int
    """Forward MACs weighted by survival (equal to the analysis' MACs without stochastic depth)."""
    expected_weight_grad_macs: int
    expected_input_grad_macs: int
    train_step_macs: int
    """Expected MACs of one training step: forward + weight gradients + input gradients."""
    skipped_input_grad_macs: int
    """Expected MACs of the input gradients not computed because no gradient flows there (the image)."""
    stochastic: bool
    """Some layer runs with a survival below 1."""

    @property
    def skipped(self) -> tuple[LayerStep, ...]:
        """The layers whose input gets no gradient although their kind would compute one."""
        return tuple(s for s in self.layers if s.input_grad_skipped)


def needs_gradient(analysis: Analysis) -> dict[str, bool]:
    """Per producer (the input and each layer): whether a gradient flows into its output in a training
    step, i.e. whether it depends on a trainable parameter. The image does not."""
    needs = {INPUT: False}
    for layer in analysis.layers:
        needs[layer.name] = layer.params > 0 or any(needs[i] for i in layer.inputs)
    return needs


def layer_step(layer: LayerResult, needs: tuple[bool, ...]) -> LayerStep:
    """`layer`'s forward and backward MACs, with `needs` saying which of its inputs take a gradient."""
    kind = layers.KINDS[layer.kind]
    back = kind.backward(layer.input_shapes, layer.output_shape, layer.args, layer.macs, needs)
    skipped = 0
    if not all(needs):
        every = kind.backward(layer.input_shapes, layer.output_shape, layer.args, layer.macs, (True,) * len(needs))
        skipped = every.inputs - back.inputs
    return LayerStep(layer.name, layer.kind, layer.survival, layer.macs, back.weights, back.inputs, skipped)


def steps(analysis: Analysis) -> tuple[LayerStep, ...]:
    """Every leaf layer's :class:`LayerStep`, in execution order."""
    needs = needs_gradient(analysis)
    return tuple(layer_step(layer, tuple(needs[i] for i in layer.inputs)) for layer in analysis.layers)


def _expected(pairs: Iterable[tuple[float, int]]) -> int:
    """Σ survival · MACs, exact (a float survival is an exact fraction), rounded to the nearest integer."""
    total = Fraction(0)
    for survival, macs in pairs:
        total += macs if survival == 1 else Fraction(survival) * macs
    return round(total)


def training(analysis: Analysis) -> Training:
    """The training figures of `analysis` (see the module doc)."""
    done = steps(analysis)
    return Training(
        layers=done,
        expected_train_macs=_expected((s.survival, s.forward) for s in done),
        expected_weight_grad_macs=_expected((s.survival, s.weight_grad) for s in done),
        expected_input_grad_macs=_expected((s.survival, s.input_grad) for s in done),
        train_step_macs=_expected((s.survival, s.step) for s in done),
        skipped_input_grad_macs=_expected((s.survival, s.input_grad_skipped) for s in done),
        stochastic=any(s.survival < 1 for s in done),
    )


def explain(step: LayerStep) -> str:
    """How one layer's step was derived: ``step = 118,013,952 fwd + 118,013,952 ∂W + 0 ∂x (no gradient
    into the image) = 236,027,904``, times its survival where it is below 1."""
    e = units.exact
    if not step.step:
        return "step = 0 (no multiply-accumulates forward or backward)"
    parts = [f"{e(step.forward)} fwd"]
    if step.weight_grad or step.input_grad or step.input_grad_skipped:
        parts.append(f"{e(step.weight_grad)} ∂W")
        grad = f"{e(step.input_grad)} ∂x"
        if step.input_grad_skipped:
            grad += " (no gradient flows into its input)"
        parts.append(grad)
    text = f"step = {' + '.join(parts)} = {e(step.step)}"
    if step.survival < 1:
        text += f"; × survival {step.survival:.4g} = {e(_expected([(step.survival, step.step)]))} expected"
    return text


def summary(t: Training, forward_macs: int) -> list[str]:
    """Lines saying how the totals were derived (the table's summary under ``--train``)."""
    e = units.exact
    lines = []
    if t.stochastic:
        lines.append(
            f"expected MACs{e(t.expected_train_macs):>16}  training forward: MACs weighted by survival "
            f"(stochastic depth; all layers: {e(forward_macs)})"
        )
    skipped = t.skipped
    where = ""
    if skipped:
        names = ", ".join(s.name for s in skipped[:3]) + (", …" if len(skipped) > 3 else "")
        where = f"; {e(t.skipped_input_grad_macs)} not spent: no gradient flows into the input of {names}"
    lines.append(
        f"step MACs    {e(t.train_step_macs):>16}  training step: forward {e(t.expected_train_macs)} "
        f"+ weight gradients {e(t.expected_weight_grad_macs)} + input gradients {e(t.expected_input_grad_macs)}{where}"
        + (" (expected under stochastic depth)" if t.stochastic else "")
    )
    return lines


def expected_steps(t: Training) -> dict[str, int]:
    """Each layer's expected training-step MACs (its step times its survival, rounded), by name."""
    return {s.name: _expected([(s.survival, s.step)]) for s in t.layers}
