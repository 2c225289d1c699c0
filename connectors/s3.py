"""Amazon S3 and S3-compatible stores (MinIO, Ceph, R2, moto) through boto3: the objects under a prefix.

Incremental by ETag: an object whose ETag (and ACL) is what the index holds is listed, not downloaded.
Objects gone from the listing are deleted from the index. Who may read an object: the connector's `acl`,
or, with `acl_tag`, the object's tag of that name (principals separated by spaces or commas, e.g.
`group:hr user:ann@example.com`). Credentials: `access_key_id` and `secret_access_key`, or boto3's own
chain (environment, instance role) when both are unset.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import Field, SecretStr

from citewise.connectors.base import (
    ConnectorConfig,
    FailedItem,
    ListIdsConnector,
    LoadConnector,
    UnchangedItem,
    VersionedConnector,
    acl_tag,
    parse_config,
)
from citewise.errors import ConfigError, TransientError
from citewise.models import RawDocument


class S3Config(ConnectorConfig):
    bucket: str = Field(min_length=3, max_length=63, description="the bucket name")
    prefix: str = Field("", description="only keys starting with this (a folder: end it with /)")
    endpoint_url: str | None = Field(None, description="an S3-compatible server; unset = AWS")
    region: str = Field("us-east-1", description="the bucket's region")
    access_key_id: SecretStr | None = Field(None, description="unset with secret_access_key: boto3's own chain")
    secret_access_key: SecretStr | None = None
    acl_tag: str | None = Field(None, description="an object tag listing who may read the object")
    max_bytes: int = Field(200_000_000, ge=1, description="larger objects are reported, not downloaded")
    timeout_s: float = Field(30.0, gt=0, description="connect and read timeout per request")


class S3Connector(LoadConnector, ListIdsConnector, VersionedConnector):
    kind = "s3"
    Config = S3Config

    def __init__(self, *, acl: list[str] | None = None, **config: Any) -> None:
        super().__init__(acl=acl, **config)
        self.cfg: S3Config = parse_config(S3Config, config, self.kind)
        self._client = None

    @property
    def source_id(self) -> str:
        return f"s3:{self.cfg.endpoint_url or 'aws'}/{self.cfg.bucket}/{self.cfg.prefix}"

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            cfg = self.cfg
            self._client = boto3.client(
                "s3",
                endpoint_url=cfg.endpoint_url,
                region_name=cfg.region,
                aws_access_key_id=cfg.access_key_id.get_secret_value() if cfg.access_key_id else None,
                aws_secret_access_key=cfg.secret_access_key.get_secret_value() if cfg.secret_access_key else None,
                config=Config(
                    connect_timeout=cfg.timeout_s,
                    read_timeout=cfg.timeout_s,
                    retries={"mode": "adaptive", "max_attempts": 5},  # backoff on 429/503 SlowDown, per boto3
                ),
            )
        return self._client

    def validate(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

        try:
            self.client.list_objects_v2(Bucket=self.cfg.bucket, Prefix=self.cfg.prefix, MaxKeys=1)
        except EndpointConnectionError as exc:
            raise ConfigError(f"s3: cannot reach {self.cfg.endpoint_url or 'AWS S3'}: {exc}") from None
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            reasons = {
                "NoSuchBucket": f"the bucket {self.cfg.bucket!r} does not exist",
                "InvalidAccessKeyId": "the access key id is not known to the server",
                "SignatureDoesNotMatch": "the secret access key is wrong",
                "AccessDenied": f"these credentials may not list the bucket {self.cfg.bucket!r}",
            }
            raise ConfigError(f"s3: {reasons.get(code, code or str(exc))}") from None
        except BotoCoreError as exc:
            raise ConfigError(f"s3: {exc}") from None

    def _objects(self) -> Iterator[dict]:
        from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.cfg.bucket, Prefix=self.cfg.prefix)
        try:
            for page in pages:  # 1,000 keys a page: a huge bucket never sits in memory
                for obj in page.get("Contents", []):
                    if not obj["Key"].endswith("/"):
                        yield obj
        except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as exc:  # the job retries
            raise TransientError(f"s3: cannot reach {self.cfg.endpoint_url or 'AWS S3'}: {exc}") from None

    def _uri(self, key: str) -> str:
        return f"s3://{self.cfg.bucket}/{key}"

    def list_ids(self) -> Iterator[str]:
        for obj in self._objects():
            yield obj["Key"]

    def _acl(self, key: str) -> list[str] | None:
        if not self.cfg.acl_tag:
            return self.acl
        tags = self.client.get_object_tagging(Bucket=self.cfg.bucket, Key=key).get("TagSet", [])
        value = next((t["Value"] for t in tags if t["Key"] == self.cfg.acl_tag), None)
        if value is None:
            return self.acl
        return sorted({p for p in value.replace(",", " ").split() if p}) or ["user:nobody"]

    def load(self) -> Iterator[RawDocument | FailedItem | UnchangedItem]:
        from botocore.exceptions import BotoCoreError, ClientError

        for obj in self._objects():
            key, uri = obj["Key"], self._uri(obj["Key"])
            try:
                acl = self._acl(key)
                version = obj["ETag"].strip('"') + ("|" + acl_tag(acl))
                if self.unchanged(uri, version):
                    yield UnchangedItem(key=key, uri=uri)
                    continue
                if obj["Size"] > self.cfg.max_bytes:
                    yield FailedItem(key=key, uri=uri, error=f"the object is {obj['Size']:,} bytes, over max_bytes")
                    continue
                body = self.client.get_object(Bucket=self.cfg.bucket, Key=key)
                content = body["Body"].read(self.cfg.max_bytes + 1)
            except (ClientError, BotoCoreError) as exc:
                yield FailedItem(key=key, uri=uri, error=f"s3: {exc}")
                continue
            yield RawDocument(
                source_id=self.source_id,
                key=key.removeprefix(self.cfg.prefix) or key,
                uri=uri,
                title=key.rsplit("/", 1)[-1],
                content=content,
                mime_type=body.get("ContentType"),
                modified_at=obj.get("LastModified"),
                version=version,
                acl=acl,
                metadata={"filename": key.rsplit("/", 1)[-1], "size_bytes": obj["Size"], "bucket": self.cfg.bucket},
            )
