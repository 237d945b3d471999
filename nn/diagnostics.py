"""Training diagnostics recorded by hooks: gradient norms per layer, update/weight ratios, dead
ReLUs, gradient norms per RNN time step; warnings when gradients vanish or explode; plots."""
import math
import warnings

import numpy as np

from autograd.grad_mode import is_grad_enabled

# The same conventions as the gradient colours of autograd.viz.
VANISHING = 1e-6
EXPLODING = 1e3


class GradientWarning(UserWarning):
    """Gradients vanished (norm below the threshold) or exploded (above it, or NaN/Inf)."""


class GradientMonitor:
    """Watch a model train: call `monitor.step()` once per iteration, after `optimizer.step()`.

    Recorded, one entry per step:
      * `grad_norms[param_name]`: L2 norm of the gradient the backward passes of that step gave
        the parameter (read by a hook on the parameter; NaN if it got none);
        `layer_grad_norms()` combines the parameters of each module;
      * `update_ratios[param_name]`: ||w_after - w_before|| / ||w_before|| over the step
        (healthy SGD is often around 1e-3);
      * `dead_relu[module_name]`: fraction of units of each ReLU module whose output was 0 for
        every example of the batch (forward hooks; the mean over the step's forward calls
        made with grad enabled);
      * `time_step_norms`: ||dL/dh_t|| for the hidden states passed to `track_time_steps`.
    A GradientWarning is issued when a parameter's gradient norm is below `vanishing`, above
    `exploding`, or not finite, and when a time step's gradient is below `vanishing`.

    >>> import nn, numpy as np, autograd
    >>> from autograd import Tensor
    >>> _ = autograd.manual_seed(1)
    >>> model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    >>> monitor = GradientMonitor(model)
    >>> model(Tensor(np.ones((2, 3), dtype="float32"))).sum().backward()
    >>> monitor.step()          # after optimizer.step(), once per iteration
    >>> sorted(monitor.grad_norms)[:2], monitor.dead_relu
    (['0.bias', '0.weight'], {'1': [0.5]})
    """

    def __init__(self, model, vanishing=VANISHING, exploding=EXPLODING, relu_types=("ReLU",),
                 warn=True):
        self.model = model
        self.vanishing = vanishing
        self.exploding = exploding
        self.warn = warn
        self.steps = 0
        self._params = list(model.named_parameters())
        self.grad_norms = {name: [] for name, _ in self._params}
        self.update_ratios = {name: [] for name, _ in self._params}
        self.dead_relu = {}
        self.time_step_norms = []
        self._grad_sums = {}      # param name -> gradient summed over this step's backwards
        self._dead_sums = {}      # module name -> [sum of dead fractions, forward calls]
        self._time = None         # this step's ||dL/dh_t||, by t
        self._before = {name: p.data.copy() for name, p in self._params}
        self._handles = []
        for name, p in self._params:
            if p.requires_grad:
                self._handles.append(p.register_hook(self._grad_hook(name)))
        for name, m in model.named_modules():
            if type(m).__name__ in relu_types:
                self.dead_relu[name] = []
                self._handles.append(m.register_forward_hook(self._relu_hook(name)))

    # ---- hooks --------------------------------------------------------------------------------

    def _grad_hook(self, name):
        def hook(grad):
            total = self._grad_sums.get(name)
            g = np.asarray(grad.data, dtype=np.float64)
            self._grad_sums[name] = g.copy() if total is None else total + g
        return hook

    def _relu_hook(self, name):
        def hook(module, args, out):
            if not is_grad_enabled():
                return  # evaluation under no_grad(): not part of training
            data = np.asarray(out.data)
            dead = (data <= 0) if data.ndim < 2 else np.all(data <= 0, axis=0)
            entry = self._dead_sums.setdefault(name, [0.0, 0])
            entry[0] += float(np.mean(dead))
            entry[1] += 1
        return hook

    def track_time_steps(self, hidden_states):
        """Record ||dL/dh_t|| for each hidden state h_t (Tensors, in time order) at the next
        backward (hooks on the tensors); the next `step()` appends them to `time_step_norms`.
        Call it once per iteration, with the states of that iteration's forward."""
        hidden_states = list(hidden_states)
        self._time = [0.0] * len(hidden_states)
        norms = self._time
        for t, h in enumerate(hidden_states):
            if not h.requires_grad:
                raise RuntimeError(
                    f"track_time_steps: hidden state {t} (shape {h.shape}) does not require "
                    "grad, so no gradient reaches it; pass the states the forward computed "
                    "from parameters, not detached copies")

            def hook(grad, t=t):
                norms[t] = float(np.linalg.norm(np.asarray(grad.data, dtype=np.float64)))
            h.register_hook(hook)
        return self

    # ---- stepping -----------------------------------------------------------------------------

    def step(self):
        """Close one training iteration: store its gradient norms, update ratios, dead-ReLU
        fractions and time-step norms, and warn if gradients vanished or exploded."""
        problems = []
        for name, p in self._params:
            g = self._grad_sums.pop(name, None)
            norm = math.nan if g is None else float(np.sqrt(np.sum(g * g)))
            self.grad_norms[name].append(norm)
            before = self._before[name]
            after = np.asarray(p.data, dtype=np.float64)
            denom = float(np.linalg.norm(before.astype(np.float64)))
            change = float(np.linalg.norm(after - before))
            self.update_ratios[name].append(change / denom if denom > 0 else
                                            (0.0 if change == 0 else math.inf))
            self._before[name] = p.data.copy()
            if g is not None and (not math.isfinite(norm) or norm > self.exploding):
                problems.append(f"'{name}' exploding (norm {norm:.3g} > {self.exploding:g})")
            elif g is not None and norm < self.vanishing:
                problems.append(f"'{name}' vanishing (norm {norm:.3g} < {self.vanishing:g})")
        for name in self.dead_relu:
            total, calls = self._dead_sums.pop(name, (0.0, 0))
            self.dead_relu[name].append(total / calls if calls else math.nan)
        if self._time is not None:
            norms = list(self._time)
            self.time_step_norms.append(norms)
            self._time = None
            small = [t for t, n in enumerate(norms) if n < self.vanishing]
            if small:
                problems.append(f"gradient vanishes through time: ||dL/dh_t|| < "
                                f"{self.vanishing:g} at time steps {small} "
                                f"(last step: {norms[-1]:.3g})")
            big = [t for t, n in enumerate(norms) if not n <= self.exploding]
            if big:
                problems.append(f"gradient explodes through time at time steps {big}")
        self.steps += 1
        if problems and self.warn:
            warnings.warn(f"step {self.steps}: " + "; ".join(problems)
                          + ". Consider gradient clipping, a smaller learning rate, other "
                          "initialisation or normalisation layers", GradientWarning, stacklevel=2)

    def layer_grad_norms(self):
        """{module name: [gradient norm per step]}, combining the parameters of each module."""
        layers = {}
        for name, _ in self._params:
            layer = name.rsplit(".", 1)[0] if "." in name else ""
            layers.setdefault(layer, []).append(np.asarray(self.grad_norms[name]))
        return {layer: list(np.sqrt(sum(n ** 2 for n in norms)))
                for layer, norms in layers.items()}

    def remove(self):
        """Unregister every hook this monitor added to the model."""
        for h in self._handles:
            h.remove()
        self._handles = []

    # ---- plotting -----------------------------------------------------------------------------

    def plot(self, what=("grad_norms", "update_ratios", "dead_relu", "time_steps"), fig=None):
        """Plot the records with matplotlib (imported here, not at import time); returns the Figure.

        Panels: gradient norm per layer over steps, update/weight ratio per layer, dead-ReLU
        fraction, and ||dL/dh_t|| over time steps (one line for each of the last 5 steps).
        Panels with nothing recorded are left out.
        """
        import matplotlib.pyplot as plt

        panels = [w for w in what if self._has(w)]
        if not panels:
            raise ValueError("GradientMonitor.plot: nothing recorded yet; call step() after "
                             "each optimizer.step()")
        if fig is None:
            fig = plt.figure(figsize=(5 * len(panels), 3.6))
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        steps = np.arange(1, self.steps + 1)
        for ax, panel in zip(axes, panels):
            if panel == "grad_norms":
                layers = self.layer_grad_norms()
                for layer, norms in layers.items():
                    ax.plot(steps, norms, label=layer or "(model)")
                _log_if_positive(ax, layers.values())
                ax.axhline(self.vanishing, color="tab:blue", ls=":", lw=1)
                ax.axhline(self.exploding, color="tab:red", ls=":", lw=1)
                ax.set_title("gradient norm per layer")
                ax.set_xlabel("step")
            elif panel == "update_ratios":
                for name, ratios in self.update_ratios.items():
                    ax.plot(steps, ratios, label=name)
                _log_if_positive(ax, self.update_ratios.values())
                ax.axhline(1e-3, color="gray", ls=":", lw=1)
                ax.set_title("update / weight ratio")
                ax.set_xlabel("step")
            elif panel == "dead_relu":
                for name, fractions in self.dead_relu.items():
                    ax.plot(steps, fractions, label=name)
                ax.set_ylim(-0.02, 1.02)
                ax.set_title("dead ReLU fraction")
                ax.set_xlabel("step")
            else:
                recent = self.time_step_norms[-5:]
                first = len(self.time_step_norms) - len(recent) + 1
                for k, norms in enumerate(recent):
                    ax.plot(np.arange(len(norms)), norms, marker=".", label=f"step {first + k}")
                _log_if_positive(ax, recent)
                ax.set_title("||dL/dh_t|| over time steps")
                ax.set_xlabel("time step t")
            ax.legend(fontsize=7)
        fig.tight_layout()
        return fig

    def _has(self, panel):
        if panel == "time_steps":
            return bool(self.time_step_norms)
        if panel == "dead_relu":
            return bool(self.dead_relu) and self.steps > 0
        if panel in ("grad_norms", "update_ratios"):
            return self.steps > 0 and bool(self._params)
        raise ValueError(f"GradientMonitor.plot: unknown panel '{panel}'; choose from "
                         "'grad_norms', 'update_ratios', 'dead_relu', 'time_steps'")


def _log_if_positive(ax, series):
    """A log y axis, unless nothing is positive (e.g. no update yet): log of 0 is undefined."""
    values = np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in series] or [[]])
    if np.any(np.isfinite(values) & (values > 0)):
        ax.set_yscale("log")


def track_time_steps(monitor, hidden_states):
    """Function form of `monitor.track_time_steps(hidden_states)`."""
    return monitor.track_time_steps(hidden_states)
