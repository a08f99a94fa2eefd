"""Client SDK logic that needs no server: error mapping, retry policy, input encoding, CLI args."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest
from tritonclient.utils import InferenceServerException

from mmtriton_client.errors import (
    DeadlineExceededError, InferenceError, InvalidInputError, ServerUnavailableError, convert,
)
from mmtriton_client.inputs import audio_bytes, to_int16
from mmtriton_client.retry import RetryPolicy, call_with_retry


@pytest.mark.parametrize("status,message,expected", [
    ("StatusCode.INVALID_ARGUMENT", "image is empty", InvalidInputError),
    ("400", "text is empty", InvalidInputError),
    ("StatusCode.UNAVAILABLE", "failed to connect: Connection timed out", ServerUnavailableError),
    ("503", "not ready", ServerUnavailableError),
    ("StatusCode.DEADLINE_EXCEEDED", "Deadline Exceeded", DeadlineExceededError),
    ("StatusCode.INTERNAL", "stub timeout while loading", InferenceError),
    ("500", "error 503 in a message", InferenceError),
])
def test_status_code_decides_the_error_type(status, message, expected):
    assert type(convert(InferenceServerException(message, status=status))) is expected


def test_transport_exceptions_map_by_type():
    assert isinstance(convert(TimeoutError("timed out")), DeadlineExceededError)
    assert isinstance(convert(ConnectionRefusedError(111, "refused")), ServerUnavailableError)


def _raiser(exc, calls):
    def fn(_remaining):
        calls.append(1)
        raise exc
    return fn


def test_invalid_input_is_never_retried():
    calls: list = []
    with pytest.raises(InvalidInputError):
        call_with_retry(_raiser(InferenceServerException("bad", status="400"), calls), RetryPolicy(retries=5), 5.0)
    assert len(calls) == 1


def test_unavailable_is_retried_then_reported_as_unavailable():
    calls: list = []
    with pytest.raises(ServerUnavailableError) as info:
        call_with_retry(_raiser(ConnectionRefusedError(111, "refused"), calls), RetryPolicy(retries=3, backoff_s=0.01), 5.0)
    assert len(calls) == 4 and info.value.__cause__ is not None


def test_a_deadline_spent_in_backoff_still_says_unavailable():
    calls: list = []
    with pytest.raises(ServerUnavailableError):
        call_with_retry(_raiser(ConnectionRefusedError(111, "refused"), calls),
                        RetryPolicy(retries=50, backoff_s=0.2, max_backoff_s=0.2), 0.3)
    assert 1 <= len(calls) < 50


def test_success_after_transient_failures():
    calls: list = []

    def flaky(_remaining):
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionRefusedError(111, "refused")
        return "ok"

    assert call_with_retry(flaky, RetryPolicy(retries=5, backoff_s=0.01), 5.0) == "ok" and len(calls) == 3


@pytest.mark.parametrize("dtype,value,expected", [
    (np.float32, 0.5, 16383), (np.int16, 1000, 1000), (np.int32, 1000 << 16, 1000), (np.uint8, 129, 256),
])
def test_integer_and_float_audio_are_scaled_not_wrapped(dtype, value, expected):
    assert int(to_int16(np.array([[value]], dtype=dtype))[0, 0]) == expected


def test_numpy_audio_becomes_a_wav_with_the_given_rate():
    data = audio_bytes((np.zeros((8000, 2), np.float32), 16000))
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (16000, 2, 8000)
    with pytest.raises(InvalidInputError):
        audio_bytes((np.zeros(10, np.complex64), 16000))
