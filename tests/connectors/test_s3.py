"""The S3 connector against moto's standalone S3 server: the conformance suite, ACLs from object tags,
validation that fails at once with its reason, and credentials that never show."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest

from citewise.connectors.s3 import S3Connector
from citewise.errors import ConfigError
from tests.connectors.conformance import START, ConnectorConformance

KEY_ID, SECRET = "AKIAEXAMPLEKEY123456", "s3cr3t-Very-Private-Value-9876"


class Bucket:
    supports_acl = True

    def __init__(self, endpoint: str) -> None:
        self.endpoint, self.bucket = endpoint, f"b-{uuid.uuid4().hex[:12]}"
        self.client = boto3.client(
            "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
        )  # fmt: skip
        self.client.create_bucket(Bucket=self.bucket)
        self.acls: dict[str, str] = {}
        for key, text in START.items():
            self.put(key, text)

    def config(self, **extra) -> dict:
        return {
            "bucket": self.bucket, "prefix": "docs/", "endpoint_url": self.endpoint, "access_key_id": KEY_ID,
            "secret_access_key": SECRET, "acl_tag": "citewise-acl", **extra,
        }  # fmt: skip

    def connector(self) -> S3Connector:
        return S3Connector(**self.config())

    def put(self, key: str, text: str) -> None:
        tagging = f"citewise-acl={self.acls[key]}" if key in self.acls else ""
        self.client.put_object(Bucket=self.bucket, Key=f"docs/{key}", Body=text.encode(), Tagging=tagging)

    def remove(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=f"docs/{key}")

    def restrict(self, key: str, principals: list[str]) -> None:
        self.acls[key] = " ".join(principals)
        tags = {"TagSet": [{"Key": "citewise-acl", "Value": self.acls[key]}]}
        self.client.put_object_tagging(Bucket=self.bucket, Key=f"docs/{key}", Tagging=tags)


@pytest.fixture
def source(moto_s3):
    return Bucket(moto_s3)


class TestS3Conformance(ConnectorConformance):
    pass


def test_objects_outside_the_prefix_and_folders_are_not_read(source):
    source.client.put_object(Bucket=source.bucket, Key="other/secret.txt", Body=b"not under the prefix")
    source.client.put_object(Bucket=source.bucket, Key="docs/sub/", Body=b"")
    keys = sorted(d.key for d in source.connector().load())
    assert keys == ["alpha.txt", "beta.md", "gamma.txt"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"bucket": "no-such-bucket-here"}, "does not exist"),
        ({"secret_access_key": "wrong"}, None),  # moto accepts any key; see the next test for a wrong host
        ({"endpoint_url": "http://127.0.0.1:9"}, "cannot reach"),
    ],
)
def test_validate_fails_at_once_with_the_reason(source, change, reason):
    connector = S3Connector(**source.config(**change))
    if reason is None:
        connector.validate()  # moto does not check signatures; real S3 answers SignatureDoesNotMatch
        return
    with pytest.raises(ConfigError, match=reason) as caught:
        connector.validate()
    assert SECRET not in str(caught.value) and KEY_ID not in str(caught.value)


def test_credentials_are_sealed_never_listed_and_never_in_job_records(source, tmp_path, encoder):
    from fastapi.testclient import TestClient

    from citewise.api.http.app import create_app
    from citewise.db import init_db
    from citewise.identity import create_key
    from citewise.ingest.jobs import JobStore, run_sync_job
    from citewise.settings import Settings

    settings = Settings(data_dir=tmp_path / "data")
    admin = create_key(init_db(settings.db_url), tenant="acme", user_id="root", groups=[], admin=True)
    with TestClient(create_app(settings)) as client:
        headers = {"Authorization": f"Bearer {admin}"}
        bad = client.post(
            "/v1/connectors",
            headers=headers,
            json={"name": "x", "type": "s3", "config": source.config(bucket="nope-missing")},
        )
        assert bad.status_code == 400 and "does not exist" in bad.json()["detail"]
        made = client.post(
            "/v1/connectors", headers=headers, json={"name": "docs", "type": "s3", "config": source.config()}
        )
        assert made.status_code == 201, made.text
        listed = client.get("/v1/connectors", headers=headers).text
        types = client.get("/v1/connector-types", headers=headers).json()["types"]
    assert SECRET not in made.text + listed and KEY_ID not in made.text + listed
    assert json.loads(made.text)["secrets"] == ["access_key_id", "secret_access_key"]
    assert (
        types["s3"]["secrets"] == ["access_key_id", "secret_access_key"]
        and "bucket" in types["s3"]["schema"]["required"]
    )
    raw = (tmp_path / "data" / "citewise.db").read_bytes()
    assert SECRET.encode() not in raw and KEY_ID.encode() not in raw  # encrypted at rest
    store = JobStore.for_settings(settings)
    info = store.connector("docs", "acme")
    job = run_sync_job(store.create_job(info.id, "inline"), settings=settings)
    assert job.status == "succeeded" and job.done == 3 and SECRET not in job.model_dump_json()
