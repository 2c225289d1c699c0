"""The permission-sync benchmark on a small table: every ACL changes, nothing is embedded or re-chunked."""

from citewise.evals.bench_permissions import run_permissions_benchmark


def test_an_acl_change_is_applied_in_one_sync_without_embeddings():
    result = run_permissions_benchmark(40, log=lambda _: None)
    assert result["permissions_updated"] == 40 and result["embedded_in_acl_sync"] == 0
    assert result["chunks_in_acl_sync"] == 0 and result["unchanged_after"] == 40
    assert result["sample_acl"] == ["group:hr", "user:ann@example.com"]
