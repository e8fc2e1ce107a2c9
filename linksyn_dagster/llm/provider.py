"""litellm, imported and set up on first use rather than when a module is imported.

Importing litellm costs seconds, and offline it stalls on fetching its price list unless
``LITELLM_LOCAL_MODEL_COST_MAP`` is set first. So nothing imports it at module level:
``litellm_api()`` does, once per process, when the first LLMClient is built. That call
sets the variable (unless the user set it), turns litellm's telemetry and debug banner
off, and quiets litellm's loggers: the client retries failed attempts itself and records
what still fails in llm_failures, so litellm's ERROR lines would only be noise (and a false
alarm) in the Dagster run log.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import cache
from typing import Any

LITELLM_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy")


@dataclass(frozen=True)
class LitellmAPI:
    module: Any
    retryable: tuple[type[BaseException], ...]  # worth another attempt after a backoff
    fatal: tuple[type[BaseException], ...]  # wrong key, no such model: stop the stage
    overload: tuple[type[BaseException], ...]  # the endpoint asks for less concurrency
    bad_request: type[BaseException]
    router_cooldown: type[BaseException]  # the Router refused locally: every endpoint is busy


@cache
def litellm_api() -> LitellmAPI:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # offline: never fetch the price list
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    for name in LITELLM_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        from litellm.types.router import RouterRateLimitError as cooldown
    except ImportError:  # pragma: no cover - older litellm
        class cooldown(Exception):  # type: ignore[no-redef]  # noqa: N801
            pass
    return LitellmAPI(
        module=litellm,
        retryable=(litellm.RateLimitError, litellm.Timeout, litellm.APIConnectionError, litellm.InternalServerError,
                   litellm.ServiceUnavailableError, litellm.BadGatewayError, cooldown),
        fatal=(litellm.AuthenticationError, litellm.PermissionDeniedError, litellm.NotFoundError),
        overload=(litellm.RateLimitError, litellm.ServiceUnavailableError),
        bad_request=litellm.BadRequestError,
        router_cooldown=cooldown,
    )
