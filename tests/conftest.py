"""Shared test setup: every test starts and must end in the default grad / anomaly mode."""
import pytest

from autograd.grad_mode import state


@pytest.fixture(autouse=True)
def _grad_mode_is_restored():
    # A test that leaves no_grad() or detect_anomaly() switched on would silently change
    # what every later test measures: restore the defaults and fail the culprit.
    state.enabled, state.anomaly = True, False
    yield
    leaked = [name for name, bad in (("grad mode off", not state.enabled),
                                     ("anomaly mode on", state.anomaly)) if bad]
    state.enabled, state.anomaly = True, False
    if leaked:
        pytest.fail(f"the test left {' and '.join(leaked)}; restore it (use a `with` block)")
