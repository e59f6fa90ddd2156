"""Checking the webhooks a gateway sends, before trusting them."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from seedgate.client.models import WebhookVerificationError
from seedgate.webhooks.signing import TOLERANCE_S, InvalidSignature, verify


def verify_webhook(body: bytes | str, headers: Mapping[str, str], secret: str | Sequence[str],
                   *, tolerance_s: float = TOLERANCE_S, now: float | None = None) -> Any:
    """The event a webhook carries, once its Standard Webhooks signature checks out with
    `secret` (`whsec_...`, from `seedgate keys webhook-secret NAME`; several while a
    rotation is under way) and its timestamp is within `tolerance_s` of now. Pass the body
    exactly as received. Raises WebhookVerificationError otherwise. Deduplicate deliveries
    on the `webhook-id` header: a retried delivery has the same one."""
    raw = body.encode() if isinstance(body, str) else body
    secrets_ = [secret] if isinstance(secret, str) else list(secret)
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        verify(secrets_, lowered, raw, now=time.time() if now is None else now,
               tolerance_s=tolerance_s)
    except InvalidSignature as exc:
        raise WebhookVerificationError(str(exc)) from None
    except ValueError:  # binascii.Error: not a whsec_ secret
        raise WebhookVerificationError("the secret is not a whsec_ signing secret") from None
    return json.loads(raw)
