"""Prepares a freshly started moto S3 server for ObjectStoreTests/ObjectStoreBench, and checks objects with an
independent client (boto3).

The server runs with INITIAL_NO_AUTH_ACTION_COUNT=3: the three IAM calls below are the only unauthenticated
ones; from then on moto verifies every Signature V4 like S3 does, so a wrong secret is refused.

  moto_setup.py setup ENDPOINT BUCKET         -> prints "ACCESS_KEY_ID SECRET_ACCESS_KEY"
  moto_setup.py sha256 ENDPOINT BUCKET KEY    -> prints the object's SHA-256 and size (credentials from AWS_*)
  moto_setup.py uploads ENDPOINT BUCKET       -> prints how many multipart uploads are in progress
"""
import hashlib
import json
import socket
import sys
import time
from urllib.parse import urlparse

import boto3


def wait_for_port(endpoint, timeout_seconds=30):
    url = urlparse(endpoint)
    deadline = time.time() + timeout_seconds
    while True:
        try:
            socket.create_connection((url.hostname, url.port), timeout=1).close()
            return
        except OSError:
            if time.time() > deadline:
                sys.exit(f"moto server at {endpoint} did not accept connections within {timeout_seconds} s")
            time.sleep(0.05)


def setup(endpoint, bucket):
    wait_for_port(endpoint)
    anonymous = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
    iam = boto3.client("iam", **anonymous)
    iam.create_user(UserName="llmops-test")
    key = iam.create_access_key(UserName="llmops-test")["AccessKey"]
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    iam.put_user_policy(UserName="llmops-test", PolicyName="s3-all", PolicyDocument=json.dumps(policy))
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    s3.create_bucket(Bucket=bucket)
    print(key["AccessKeyId"], key["SecretAccessKey"])


def checking_client(endpoint):
    """A boto3 client with the credentials of AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY."""
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def sha256(endpoint, bucket, key):
    s3 = checking_client(endpoint)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"]
    digest, size = hashlib.sha256(), 0
    for chunk in iter(lambda: body.read(1 << 20), b""):
        digest.update(chunk)
        size += len(chunk)
    print(digest.hexdigest(), size)


def uploads(endpoint, bucket):
    print(len(checking_client(endpoint).list_multipart_uploads(Bucket=bucket).get("Uploads", [])))


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    {"setup": setup, "sha256": sha256, "uploads": uploads}[command](*arguments)
