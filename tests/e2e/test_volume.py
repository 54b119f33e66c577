"""csv-ingest at volume: 100,000 rows end to end, counted exactly, with the processor's
memory measured."""

import json
import time
import uuid

from test_csv_ingest import lambda_api, source_bucket, upload_and_run  # noqa: F401  (fixtures and helper)
from conftest import SENSOR_TABLE, function_pids


def process_peak_rss_kib(binary: str) -> int:
    """The peak resident memory (VmHWM) of this stack's function process, 0 if absent."""
    peak = 0
    for pid in function_pids(binary):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return peak


def test_a_100000_row_file_is_counted_exactly(s3, sfn, dynamodb, lambda_api):
    run = uuid.uuid4().hex[:8]
    sensors = [f"h{run}-{n}" for n in range(10)]
    rows = 100_000
    body = "sensor_id,timestamp,value\n" + "".join(f"{sensors[i % 10]},{i // 10},{i % 997}.5\n" for i in range(rows))
    key = f"incoming/big-{run}.csv"
    started = time.monotonic()
    described = upload_and_run(s3, sfn, lambda_api, key, body.encode(), timeout=300)
    elapsed = time.monotonic() - started
    assert described["status"] == "SUCCEEDED", described
    counts = json.loads(described["output"])["processing"]["counts"]
    assert (counts["rowsRead"], counts["rowsWritten"], counts["rowsRejected"]) == (rows, rows, 0)
    stored = sum(
        page["Count"]
        for sensor in sensors
        for page in dynamodb.get_paginator("query").paginate(
            TableName=SENSOR_TABLE,
            KeyConditionExpression="sensor_id = :s",
            ExpressionAttributeValues={":s": {"S": sensor}},
            Select="COUNT",
        )
    )
    assert stored == rows
    peak = process_peak_rss_kib("csv-processor")
    print(f"\n100,000 rows ({len(body) / 1e6:.1f} MB) end to end in {elapsed:.1f} s = {rows / elapsed:,.0f} rows/s;"
          f" csv-processor peak RSS {peak / 1024:.1f} MiB")
    assert 0 < peak < 128 * 1024, f"csv-processor peaked at {peak} KiB"
