#!/usr/bin/env python3
"""Creates the exports service's AWS resources in moto (or any endpoint).

- DynamoDB tables Entities, TenantConfig and Exports: on-demand, keys
  pk (S, HASH) and sk (S, RANGE), as in docs and the SAM template;
- an S3 bucket for export files;
- an SQS queue for bulk jobs, with a dead-letter queue after 5 receives.

The names default to what the tests expect (tests/src/backends.rs) and follow
the same environment variables as the service (EXPORTS_ENTITIES_TABLE, ...).
Creating a resource that exists is not an error, so the script can run twice.

    create-resources.py --endpoint-url http://127.0.0.1:PORT
"""

import argparse
import json
import os
import sys

import boto3
from botocore.exceptions import ClientError

DEFAULTS = {
    "EXPORTS_ENTITIES_TABLE": "exports-entities",
    "EXPORTS_CONFIG_TABLE": "exports-tenant-config",
    "EXPORTS_EXPORTS_TABLE": "exports-exports",
    "EXPORTS_BUCKET": "exports-files",
    "EXPORTS_QUEUE_NAME": "exports-bulk-jobs",
}


def name(var):
    return os.environ.get(var) or DEFAULTS[var]


def create_table(dynamodb, table):
    try:
        dynamodb.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
        )
    except ClientError as e:
        if e.response["Error"]["Code"] != "ResourceInUseException":
            raise
    dynamodb.get_waiter("table_exists").wait(
        TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    args = parser.parse_args()

    session = boto3.session.Session(
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        region_name=args.region,
    )
    client = lambda service: session.client(service, endpoint_url=args.endpoint_url)

    dynamodb = client("dynamodb")
    tables = [
        name("EXPORTS_ENTITIES_TABLE"),
        name("EXPORTS_CONFIG_TABLE"),
        name("EXPORTS_EXPORTS_TABLE"),
    ]
    for table in tables:
        create_table(dynamodb, table)

    s3 = client("s3")
    bucket = name("EXPORTS_BUCKET")
    try:
        if args.region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(
                Bucket=bucket,
                CreateBucketConfiguration={"LocationConstraint": args.region},
            )
    except ClientError as e:
        if e.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise

    sqs = client("sqs")
    queue = name("EXPORTS_QUEUE_NAME")
    dlq_url = sqs.create_queue(QueueName=f"{queue}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=queue,
        Attributes={
            "VisibilityTimeout": "180",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
        },
    )["QueueUrl"]

    print(
        f"moto: tables {', '.join(tables)}; bucket {bucket}; queue {queue_url} (DLQ {dlq_url})",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
