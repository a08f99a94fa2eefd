"""mmtriton-client: a thin SDK for the triton-multimodal service (needs tritonclient and numpy only).

    from mmtriton_client import Client
    with Client("127.0.0.1:8001") as client:
        print(client.predict(image="digit.png", audio="digit.wav", text="a digit").label)
"""

from mmtriton_client.aio import AsyncClient
from mmtriton_client.base import Embedding
from mmtriton_client.errors import (
    ClientError, DeadlineExceededError, InferenceError, InvalidInputError, ServerUnavailableError,
)
from mmtriton_client.sync import Client
from mmtriton_client.types import BatchItem, Classification, Prediction

__version__ = "0.1.0"
__all__ = [
    "AsyncClient", "BatchItem", "Client", "ClientError", "DeadlineExceededError", "Embedding", "InferenceError",
    "Classification", "InvalidInputError", "Prediction", "ServerUnavailableError",
]
