"""csv-ingest survives its processor being killed mid-file: the execution retries the task,
and the table and the rejects report end exactly as one clean run leaves them.

On AWS a function whose process dies (killed, out of memory) answers the invocation with the
function error Lambda writes itself, `Runtime.ExitError` ("Runtime exited with error: signal:
killed"), which Step Functions reports under that name; local-lambda answers the same way.
csv-ingest retries it, and the processor's writes are puts of whole items keyed by (sensor_id,
timestamp), so a second pass over the same pinned version rewrites what the first one wrote
with the same values."""

import csv
import io
import json
import os
import signal
import time
import uuid
from decimal import Decimal

import pytest

from conftest import SENSOR_TABLE, SOURCE_BUCKET, TARGET_BUCKET, function_pids, wait_for_execution
from test_front_doors import wait_for_executions

SOURCE = SOURCE_BUCKET
ARCHIVE = TARGET_BUCKET
ROWS = int(os.environ.get("CRASH_ROWS", "500000"))
# Below this the report, whose rows are cut at 1 KiB, never passes its first 8 MiB part.
MIN_ROWS = 100_000
SENSORS = 10
# One row in ten is refused, with a row long enough that the report passes its 8 MiB part
# (a multipart upload begins) about a third into the file at 500,000 rows (later with fewer
# rows, as rows past 1 KiB are cut in the report): the kill then lands mid-file with the report
# half written. Lines stay far below the processor's 16 KiB limit.
REJECT_EVERY = 10
PAD = min(12_000, max(380, int(8.5 * 2**20 / (ROWS / REJECT_EVERY / 3))))
# A late row repeats an earlier key with a new value: the later one must win, as in one run.
REPEAT_EVERY = 1000


def crash_file(run: str) -> tuple[bytes, dict, list]:
    """The file, the table one clean run leaves (key -> value), and the rejected (line, row)s."""
    out = io.StringIO()
    out.write("sensor_id,timestamp,value\n")
    expected: dict[tuple[str, int], Decimal] = {}
    rejected_lines = []
    for i in range(ROWS):
        line = i + 2  # the header is line 1
        sensor = f"x{run}-{i % SENSORS}"
        if i % REJECT_EVERY == REJECT_EVERY - 3:
            row = f"{sensor},{i},not-a-number-{'z' * PAD}"
            out.write(row + "\n")
            rejected_lines.append((line, row))
        elif i % REPEAT_EVERY == REPEAT_EVERY - 1:
            earlier = i - REPEAT_EVERY // 2
            key = (f"x{run}-{earlier % SENSORS}", earlier)
            out.write(f"{key[0]},{earlier},{i}.25\n")
            expected[key] = Decimal(f"{i}.25")
        else:
            out.write(f"{sensor},{i},{i % 997}.5\n")
            expected[(sensor, i)] = Decimal(f"{i % 997}.5")
    return out.getvalue().encode(), expected, rejected_lines


def item_count(dynamodb) -> int:
    """The table's live item count (the emulator counts exactly; AWS's is refreshed every ~6 h)."""
    return dynamodb.describe_table(TableName=SENSOR_TABLE)["Table"]["ItemCount"]


def stored_values(dynamodb, keys: list) -> dict:
    """key -> value for the keys stored, read by BatchGetItem (a Query pages over the whole
    table in the emulator: minutes at this size)."""
    found = {}
    for start in range(0, len(keys), 100):
        request = {SENSOR_TABLE: {"Keys": [{"sensor_id": {"S": sensor}, "timestamp": {"N": str(ts)}}
                                           for sensor, ts in keys[start:start + 100]], "ConsistentRead": True}}
        while request:
            answer = dynamodb.batch_get_item(RequestItems=request)
            for item in answer["Responses"].get(SENSOR_TABLE, []):
                assert set(item) == {"sensor_id", "timestamp", "value"}, item
                found[(item["sensor_id"]["S"], int(item["timestamp"]["N"]))] = Decimal(item["value"]["N"])
            request = answer.get("UnprocessedKeys") or None
    return found


def kill_when_the_report_is_half_written(s3, sfn, execution_arn: str, report_key: str, timeout: float) -> None:
    """SIGKILL the processor once its rejects report has an open multipart upload."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = sfn.describe_execution(executionArn=execution_arn)["status"]
        assert status == "RUNNING", f"the execution ended ({status}) before the report reached a second part"
        uploads = s3.list_multipart_uploads(Bucket=ARCHIVE, Prefix=report_key).get("Uploads", [])
        if uploads:
            pids = function_pids("csv-processor")
            assert pids, "the report is being written, but no csv-processor process is running"
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            return
        time.sleep(0.2)
    raise AssertionError(f"no multipart upload of {report_key} within {timeout} s")


@pytest.mark.crash
def test_a_processor_killed_mid_file_is_retried_and_leaves_what_one_clean_run_leaves(s3, sfn, dynamodb):
    assert ROWS >= MIN_ROWS, f"CRASH_ROWS={ROWS}: at least {MIN_ROWS:,} rows, or the report never opens a multipart upload"
    run = uuid.uuid4().hex[:8]
    key = f"incoming/crash-{run}.csv"
    report_key = f"rejected/crash-{run}.csv"
    body, expected, rejected_lines = crash_file(run)
    # Nothing else writes to the table during `make test-crash`: its count moves only with this file.
    before = item_count(dynamodb)
    started = time.monotonic()
    s3.put_object(Bucket=SOURCE, Key=key, Body=body)
    (execution,) = wait_for_executions(sfn, key, 1)

    kill_when_the_report_is_half_written(s3, sfn, execution["executionArn"], report_key, timeout=600)
    killed_at = item_count(dynamodb) - before
    assert 0 < killed_at < len(expected), f"killed with {killed_at} of {len(expected)} rows stored: not mid-file"

    described = wait_for_execution(sfn, execution["executionArn"], timeout=1200)
    elapsed = time.monotonic() - started
    assert described["status"] == "SUCCEEDED", described
    counts = json.loads(described["output"])["processing"]["counts"]
    assert counts["rowsRead"] == ROWS
    assert counts["rowsRejected"] == len(rejected_lines)
    assert counts["rejectedKey"] == report_key

    history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
    failures = [e["taskFailedEventDetails"] for e in history if e["type"] == "TaskFailed"]
    assert [f["error"] for f in failures] == ["Runtime.ExitError"], failures
    assert "Runtime exited with error: signal: killed" in failures[0]["cause"]
    scheduled = [e for e in history if e["type"] == "TaskScheduled"]
    assert sum(1 for e in scheduled if "csv-processor" in e["taskScheduledEventDetails"]["parameters"]) == 2

    assert item_count(dynamodb) - before == len(expected), "no item missing, none extra"
    assert stored_values(dynamodb, list(expected)) == expected

    report = s3.get_object(Bucket=ARCHIVE, Key=report_key)["Body"].read().decode()
    records = list(csv.reader(io.StringIO(report)))
    assert records[0] == ["line", "reason", "row"]
    assert [int(r[0]) for r in records[1:]] == [line for line, _ in rejected_lines]
    value = f"not-a-number-{'z' * PAD}"  # a value past 40 bytes is shown by its start and its length
    assert {r[1] for r in records[1:]} == {f'value "{value[:40]}"... ({len(value)} bytes) is not a finite number'}
    for record, (line, row) in zip(records[1:], rejected_lines):
        if record[2] == row:
            continue
        # Past 1 KiB the report keeps a row's start and says how long it was.
        shown, _, cut = record[2].partition("... [cut: ")
        assert row.startswith(shown) and cut == f"{len(row.encode())} bytes in all]", (line, record[2][-80:])
    print(f"\n{ROWS:,} rows ({len(body) / 1e6:.1f} MB): killed with {killed_at:,} rows stored;"
          f" retried and done in {elapsed:.1f} s")
