"""A local S3-compatible object store for the tests: moto's server (PyPI `moto[server]`), with signatures checked.

    python3 s3_server.py --ready PORTFILE --credentials CREDENTIALS.json [--bucket NAME]

moto is the S3 that installs from PyPI and runs without a daemon or a download; MinIO and Ceph are not Debian
packages. It speaks the S3 REST API as AWS documents it, and once authentication is switched on it recomputes every
request's AWS Signature V4 with botocore (the signer of the official Python SDK) and refuses one that differs,
exactly as S3 does. So a test that passes here has had its requests signed correctly, not merely accepted.

Setup, before authentication is on: an IAM user `agora` with an access key and a policy allowing every S3 action,
and the bucket if `--bucket` names one. The key goes to CREDENTIALS.json (`{"accessKeyId", "secretAccessKey"}`),
then the port to PORTFILE. From then on every request must be signed with that key.

`verify_presigned(url, secret, region)` in this module recomputes a presigned URL's signature with botocore (moto does
not check query-string signatures); run this file with `--verify-presigned URL --secret S --region R` to use it.
"""
import argparse
import datetime
import json
import os
import sys
from unittest import mock
from urllib.parse import parse_qsl, urlsplit


def verify_presigned(url, secret, region):
    """Whether `url`'s X-Amz-Signature is what botocore computes for it with `secret`; the reason when not."""
    from botocore.auth import S3SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    fields = dict(query)
    signature = fields.get("X-Amz-Signature")
    if not signature:
        return False, "no X-Amz-Signature"
    access_key = fields["X-Amz-Credential"].split("/")[0]
    stamp = fields["X-Amz-Date"]
    expires = int(fields["X-Amz-Expires"])
    others = [(k, v) for k, v in query if not k.startswith("X-Amz-")]
    unsigned = parts._replace(query="&".join(f"{k}={v}" for k, v in others)).geturl()
    request = AWSRequest(method="GET", url=unsigned, headers={})
    auth = S3SigV4QueryAuth(Credentials(access_key, secret), "s3", region, expires=expires)
    moment = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ")

    class Frozen(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return moment

        @classmethod
        def now(cls, tz=None):
            return moment.replace(tzinfo=tz) if tz else moment

    with mock.patch("botocore.auth.datetime.datetime", Frozen):
        auth.add_auth(request)
    expected = dict(parse_qsl(urlsplit(request.url).query)).get("X-Amz-Signature")
    if expected != signature:
        return False, f"botocore computes {expected}, the URL has {signature}"
    return True, "ok"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ready")
    parser.add_argument("--credentials")
    parser.add_argument("--bucket")
    parser.add_argument("--verify-presigned")
    parser.add_argument("--secret")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    arguments = parser.parse_args()

    if arguments.verify_presigned:
        ok, reason = verify_presigned(arguments.verify_presigned, arguments.secret, arguments.region)
        print(reason)
        sys.exit(0 if ok else 1)

    # Fake credentials for the setup calls only: boto3 must sign something while authentication is still off.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "setup")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "setup")
    import boto3
    import requests
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=arguments.host, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"

    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
    iam.create_user(UserName="agora")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    iam.put_user_policy(UserName="agora", PolicyName="media", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="agora")["AccessKey"]
    if arguments.bucket:
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=arguments.bucket)
    # From here on, every request is authenticated (counted from 0 actions without it).
    requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0").raise_for_status()

    with open(arguments.credentials + ".tmp", "w") as out:
        json.dump({"accessKeyId": key["AccessKeyId"], "secretAccessKey": key["SecretAccessKey"], "endpoint": endpoint}, out)
    os.replace(arguments.credentials + ".tmp", arguments.credentials)
    with open(arguments.ready + ".tmp", "w") as ready:
        ready.write(str(port))
    os.replace(arguments.ready + ".tmp", arguments.ready)
    try:
        server._thread.join()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
