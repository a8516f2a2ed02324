"""``python client_call.py URL``: one GET through core's caching client (what ``ghcache api``
uses), configured from the environment, in a process of its own: prints a JSON line."""

import hashlib
import json
import os
import sys

from ghcache.core.client import ApiError, CachingClient


def main() -> int:
    try:
        with CachingClient.from_env() as client:
            response = client.request("GET", sys.argv[1])
    except ApiError as exc:
        print(json.dumps({"error": str(exc)}))
        return 1
    print(
        json.dumps(
            {
                "status": response.status,
                "source": response.source.value,
                "body_sha256": hashlib.sha256(response.body).hexdigest(),
                "notice": None if response.notice is None else str(response.notice),
                "pid": os.getpid(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
