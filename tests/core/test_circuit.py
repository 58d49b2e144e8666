"""An upstream that keeps failing is skipped quickly, then probed once, then trusted again."""

from musicbox.core.circuit import Circuit, CircuitPolicy, CircuitState

POLICY = CircuitPolicy(failure_threshold=3, cool_down_s=30.0)


def _failed(times: int, at: float = 0.0) -> Circuit:
    circuit = Circuit()
    for _ in range(times):
        circuit = circuit.after_failure(at, POLICY)
    return circuit


def test_failures_below_the_threshold_keep_it_closed() -> None:
    circuit = _failed(2)
    assert circuit.state is CircuitState.CLOSED
    assert circuit.admits(1.0, POLICY)


def test_the_threshold_opens_it_and_calls_fail_fast() -> None:
    circuit = _failed(3, at=100.0)
    assert circuit.state is CircuitState.OPEN
    assert not circuit.admits(110.0, POLICY)
    assert circuit.retry_in_s(110.0, POLICY) == 20.0


def test_after_the_cool_down_exactly_one_probe_goes_through() -> None:
    circuit = _failed(3, at=100.0)
    assert circuit.admits(130.0, POLICY)
    probing = circuit.before_call(130.0, POLICY)
    assert probing.state is CircuitState.HALF_OPEN
    assert not probing.admits(130.5, POLICY)


def test_a_good_probe_closes_it() -> None:
    probing = _failed(3, at=100.0).before_call(130.0, POLICY)
    closed = probing.after_success()
    assert closed.state is CircuitState.CLOSED
    assert closed.consecutive_failures == 0


def test_a_bad_probe_opens_it_for_another_cool_down() -> None:
    probing = _failed(3, at=100.0).before_call(130.0, POLICY)
    reopened = probing.after_failure(131.0, POLICY)
    assert reopened.state is CircuitState.OPEN
    assert not reopened.admits(150.0, POLICY)
    assert reopened.admits(161.0, POLICY)


def test_a_success_resets_the_failure_count() -> None:
    circuit = _failed(2).after_success().after_failure(0.0, POLICY)
    assert circuit.state is CircuitState.CLOSED
    assert circuit.consecutive_failures == 1
