"""moto server for the local stack, with one fix to moto itself.

moto 5's `/moto-api/data.json` (where the stack reads sent SES mail) dumps every tracked
model and skips attributes that raise TypeError, AttributeError or ValueError. The parts
of a completed multipart upload raise `MissingBucket` from `FakeKey.status`, so once any
multipart upload has completed (file-mover's multipart copy, csv-processor's report of
many rejected rows) every later read of data.json answered 500. This launcher skips an
attribute that raises anything, as moto intends, and then runs moto's own server.

It also takes `?service=ses&model=Message` (either or both) to dump only those models: the
whole dump walks every DynamoDB item stored, so after a 100,000-row ingest reading the sent
mail took seconds, and the tests reading mail had to run before the volume test."""

import json
import sys
from typing import Any
from urllib.parse import parse_qs, urlsplit

from moto.moto_api._internal import responses


def model_data(self: Any, request: Any, full_url: str, headers: Any) -> Any:
    from moto.core.model_instances import model_data as tracked

    wanted = parse_qs(urlsplit(full_url).query)
    services, models = set(wanted.get("service", [])), set(wanted.get("model", []))
    results: dict = {}
    for service in sorted(tracked):
        if services and service not in services:
            continue
        results[service] = {}
        for name in sorted(tracked[service]):
            if models and name not in models:
                continue
            instances = []
            for instance in tracked[service][name].instances_tracked:
                fields = {}
                for attr in dir(instance):
                    if attr.startswith("_"):
                        continue
                    try:
                        value = getattr(instance, attr)
                        json.dumps(value)
                    except Exception:  # noqa: BLE001 - moto's models raise their own errors
                        continue
                    fields[attr] = value
                instances.append(fields)
            results[service][name] = instances
    return 200, {"Content-Type": "application/javascript"}, json.dumps(results)


# Patched before moto builds its URL map, which binds the method when first imported.
responses.MotoAPIResponse.model_data = model_data

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main())
