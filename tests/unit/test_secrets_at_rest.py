"""Secrets at rest: private files and directories, and Secret values
encrypted (AES-GCM) before they reach the store, with key rotation."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from coxapi import private
from master import encryption
from master.auth import init_cluster_dir
from master.encryptedstore import EncryptingStore
from raftstore import MemoryStore
from raftstore.config import StoreConfig
from raftstore.replica import raft_conf
from raftstore.types import Op

from .api_harness import Api

KEY = "/registry/secrets/default/db"
PLAIN = "hunter2-plaintext-marker"


def mode(p: Path) -> int:
    return stat.S_IMODE(os.lstat(p).st_mode)


def every_path(root: Path) -> list[Path]:
    return [root, *root.rglob("*")]


def test_init_cluster_dir_makes_a_private_dir_of_private_files(tmp_path):
    d = tmp_path / "cluster"
    d.mkdir(mode=0o755)
    os.chmod(d, 0o755)
    result = init_cluster_dir(d, ["n1"], ["http://127.0.0.1:1"])
    assert str(d / "encryption-config.yaml") in result.created
    for p in every_path(d):
        assert mode(p) == (0o700 if p.is_dir() else 0o600), p
    assert encryption.load(d / "encryption-config.yaml").encrypt
    first = (d / "encryption-config.yaml").read_text()
    init_cluster_dir(d, ["n1"])
    assert (d / "encryption-config.yaml").read_text() == first, "an existing key is kept"


def test_restrict_tree_tightens_what_an_older_version_left_open(tmp_path):
    (tmp_path / "sub").mkdir()
    for p in (tmp_path / "raft.journal", tmp_path / "sub" / "raft.snapshot"):
        p.write_text("x")
        os.chmod(p, 0o644)
    os.chmod(tmp_path / "sub", 0o755)
    private.restrict_tree(tmp_path)
    for p in every_path(tmp_path):
        assert mode(p) == (0o700 if p.is_dir() else 0o600), p


def test_the_raft_data_dir_is_made_private_even_when_it_exists(tmp_path):
    d = tmp_path / "m1"
    d.mkdir()
    os.chmod(d, 0o755)
    raft_conf(StoreConfig(self_addr="127.0.0.1:1", data_dir=str(d)), lambda *_: None)
    assert mode(d) == 0o700


def config(*keys: tuple[str, bytes], identity_first: bool = False) -> encryption.Transformer:
    text = encryption.config_text([(n, base64.b64encode(k).decode()) for n, k in keys])
    if identity_first:
        import yaml
        doc = yaml.safe_load(text)
        doc["resources"][0]["providers"].reverse()
        text = yaml.safe_dump(doc)
    return encryption.parse(text)


K1, K2 = ("key1", b"1" * 32), ("key2", b"2" * 32)


def secret(value: str = PLAIN) -> dict:
    return {"kind": "Secret", "metadata": {"name": "db", "namespace": "default"},
            "data": {"password": base64.b64encode(value.encode()).decode()},
            "stringData": {"raw": value}}


def raw_bytes(store: MemoryStore, key: str = KEY) -> bytes:
    kv = store.get(key)
    assert kv is not None
    return json.dumps(kv.value).encode()


def assert_hidden(blob: bytes, value: str = PLAIN) -> None:
    assert value.encode() not in blob
    assert base64.b64encode(value.encode()) not in blob


def test_values_are_stored_encrypted_and_read_back_in_clear():
    inner = MemoryStore()
    store = EncryptingStore(inner, config(K1))
    kv = store.put(KEY, secret())
    assert kv.value == secret()
    assert_hidden(raw_bytes(inner))
    assert store.get(KEY).value == secret()
    assert [kv.value for kv in store.range("/registry/secrets/").kvs] == [secret()]
    res = store.txn([], [Op.put(KEY, secret("other")), Op.get(KEY)])
    assert res.results[1].value == secret("other")
    assert_hidden(raw_bytes(inner), "other")
    # other kinds are stored as they are
    store.put("/registry/configmaps/default/c", {"data": {"k": PLAIN}})
    assert PLAIN.encode() in raw_bytes(inner, "/registry/configmaps/default/c")


def test_watch_events_are_decrypted():
    store = EncryptingStore(MemoryStore(), config(K1))
    w = store.watch("/registry/secrets/")
    store.put(KEY, secret())
    store.delete(KEY)
    put, gone = w.get(timeout=1), w.get(timeout=1)
    assert put.kv.value == secret() and gone.kv.value == secret()


def test_a_value_moved_to_another_key_does_not_decrypt():
    inner = MemoryStore()
    store = EncryptingStore(inner, config(K1))
    store.put(KEY, secret())
    inner.put("/registry/secrets/default/stolen", inner.get(KEY).value)
    with pytest.raises(encryption.DecryptionError):
        store.get("/registry/secrets/default/stolen")


def test_rotation_every_listed_key_decrypts_the_first_encrypts():
    inner = MemoryStore()
    EncryptingStore(inner, config(K1)).put(KEY, secret())
    # step 1: the new key second (decrypt only); step 2: first
    assert EncryptingStore(inner, config(K1, K2)).get(KEY).value == secret()
    rotated = EncryptingStore(inner, config(K2, K1))
    assert rotated.get(KEY).value == secret()
    assert rotated.transformer.key_name(inner.get(KEY).value) == "key1"
    rotated.put(KEY, rotated.get(KEY).value)  # the rewrite (cox secrets reencrypt)
    assert rotated.transformer.key_name(inner.get(KEY).value) == "key2"
    # step 3: the old key removed; the rewritten value still reads
    assert EncryptingStore(inner, config(K2)).get(KEY).value == secret()
    with pytest.raises(encryption.DecryptionError, match="key2"):
        EncryptingStore(inner, config(K1)).get(KEY)


def test_identity_first_writes_in_clear_and_still_reads_encrypted_values():
    inner = MemoryStore()
    EncryptingStore(inner, config(K1)).put(KEY, secret())
    off = EncryptingStore(inner, config(K1, identity_first=True))
    assert off.get(KEY).value == secret()
    off.put(KEY, secret())
    assert PLAIN.encode() in raw_bytes(inner)


def test_rotate_steps_on_the_config_file(tmp_path):
    path = tmp_path / "enc.yaml"
    assert encryption.ensure_config(path)
    assert mode(path) == 0o600
    assert "added key2" in encryption.rotate(path, "add")
    assert [k.name for k in encryption.load(path).keys] == ["key1", "key2"]
    encryption.rotate(path, "promote")
    assert [k.name for k in encryption.load(path).keys] == ["key2", "key1"]
    encryption.rotate(path, "prune")
    assert [k.name for k in encryption.load(path).keys] == ["key2"]


@pytest.mark.parametrize("text,field", [
    ("kind: Other", "kind"),
    ("kind: EncryptionConfiguration\nresources: []", "resources"),
    ("kind: EncryptionConfiguration\nresources: [{resources: [secrets], providers: "
     "[{aesgcm: {keys: [{name: k, secret: c2hvcnQ=}]}}]}]", "keys[0].secret"),
    ("kind: EncryptionConfiguration\nresources: [{resources: [secrets], providers: "
     "[{aescbc: {}}]}]", "providers[0]"),
])
def test_bad_configs_name_the_field(text, field):
    with pytest.raises(encryption.EncryptionConfigError, match=field.replace("[", r"\[")):
        encryption.parse(text)


def test_the_api_serves_secrets_in_clear_over_an_encrypting_store():
    inner = MemoryStore()
    api = Api(EncryptingStore(inner, config(K1)))
    try:
        body = {"metadata": {"name": "db"}, "stringData": {"password": PLAIN}}
        assert api.post("/api/v1/namespaces/default/secrets", body).status_code == 201
        got = api.get("/api/v1/namespaces/default/secrets/db").json
        assert base64.b64decode(got["data"]["password"]).decode() == PLAIN
        assert_hidden(raw_bytes(inner))
    finally:
        api.close()
