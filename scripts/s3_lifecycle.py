"""Apply the bucket lifecycle rule that expires abandoned raw uploads (`uploads/`).

Raw uploads still carry the phone's EXIF and GPS data; the API deletes them once a scan is
submitted, and its sweep expires scans left awaiting upload. This rule is the backstop on
the bucket itself: whatever sits under `uploads/` longer than a day is deleted by S3, even
if no instance runs. Existing rules with other IDs are kept (S3 replaces the whole
lifecycle configuration on every put, so it is read, merged and written back).

    .venv/bin/python scripts/s3_lifecycle.py --bucket YOUR-BUCKET [--days 1]

Needs `s3:GetLifecycleConfiguration` and `s3:PutLifecycleConfiguration` on the bucket (an
operator's credentials, not the instance role's).
"""

import argparse
from typing import Any

import boto3
from botocore.exceptions import ClientError

RULE_ID = "dermalens-expire-raw-uploads"
UPLOADS_PREFIX = "uploads/"


def upload_expiry_rule(days: int = 1) -> dict[str, Any]:
    """The rule as S3 expects it (also printed by `--print` for the console or Terraform)."""
    return {
        "ID": RULE_ID,
        "Filter": {"Prefix": UPLOADS_PREFIX},
        "Status": "Enabled",
        "Expiration": {"Days": days},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    }


def apply_upload_expiry(client: Any, *, bucket: str, days: int = 1) -> list[dict[str, Any]]:
    """Put our rule next to the bucket's other rules; returns the rules now in force."""
    try:
        rules = client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchLifecycleConfiguration":
            raise
        rules = []
    merged = [r for r in rules if r.get("ID") != RULE_ID] + [upload_expiry_rule(days)]
    client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": merged})
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--print", action="store_true", help="print the rule as JSON, change nothing")
    args = parser.parse_args()
    if args.print:
        import json

        print(json.dumps({"Rules": [upload_expiry_rule(args.days)]}, indent=2))
        return
    rules = apply_upload_expiry(boto3.client("s3"), bucket=args.bucket, days=args.days)
    print(
        f"{len(rules)} lifecycle rule(s) on {args.bucket}; {RULE_ID} expires {UPLOADS_PREFIX} after {args.days} day(s)"
    )


if __name__ == "__main__":
    main()
