"""raftstore hooks pysyncobj internals by name; an import of a pysyncobj that
lacks one must fail, naming the missing names and the supported version."""

import re
from pathlib import Path

import pytest

from raftstore import pysyncobj_import as psi
from raftstore.journal import DurableJournal
from raftstore.peerguard import GuardedConnection, GuardedTransport
from raftstore.replica import PipelinedSyncObj

ROOT = Path(__file__).resolve().parents[3]


def test_the_installed_pysyncobj_has_every_hooked_name():
    assert psi.missing_hooks() == []
    psi.check_hooks()


def test_the_installed_version_is_the_supported_one():
    assert psi.installed_version() == psi.SUPPORTED_VERSION


def test_setup_cfg_pins_the_supported_version_exactly():
    pins = re.findall(r"^\s*pysyncobj\s*(\S+)\s*$", (ROOT / "setup.cfg").read_text(), re.M)
    assert pins == [f"=={psi.SUPPORTED_VERSION}"]


def test_a_pysyncobj_missing_a_hooked_method_is_refused_by_name():
    class RenamedSendAppendEntries(psi.SyncObj):
        _SyncObj__sendAppendEntries = None  # as if renamed upstream

    with pytest.raises(psi.UnsupportedPysyncobj) as e:
        psi.check_hooks(syncobj=RenamedSendAppendEntries)
    assert str(e.value) == (
        f"raftstore supports pysyncobj=={psi.SUPPORTED_VERSION}; the installed pysyncobj "
        f"{psi.installed_version()} lacks SyncObj._SyncObj__sendAppendEntries "
        f"(install pysyncobj=={psi.SUPPORTED_VERSION})")
    assert isinstance(e.value, ImportError)


def test_a_pysyncobj_whose_init_no_longer_sets_a_hooked_attribute_is_refused():
    class NoRaftLog:
        def __init__(self) -> None:
            self.journal = None

    for name in psi.SYNCOBJ_METHODS:
        setattr(NoRaftLog, name, lambda self: None)
    missing = psi.missing_hooks(syncobj=NoRaftLog)
    assert missing == [f"SyncObj.{n}" for n in psi.SYNCOBJ_ATTRIBUTES]


def test_a_journal_missing_a_wrapped_method_is_refused():
    class OldJournal(psi.pysyncobj_journal.FileJournal):
        deleteEntriesFrom = None  # noqa: N815 - pysyncobj's name

    assert psi.missing_hooks(journal=OldJournal) == ["FileJournal.deleteEntriesFrom"]


def test_every_override_in_replica_and_journal_is_on_the_checked_list():
    """The lists cannot drift from the code: a new hook must be added to them."""
    checked = set(psi.SYNCOBJ_METHODS) | set(psi.SYNCOBJ_ATTRIBUTES)
    overrides = {n for n in vars(PipelinedSyncObj)
                 if not n.startswith("__") and (n.startswith("_SyncObj__") or hasattr(psi.SyncObj, n))}
    assert overrides <= checked
    wrapped = {n for n in vars(DurableJournal)
               if not n.startswith("__") and hasattr(psi.pysyncobj_journal.FileJournal, n)}
    assert wrapped <= set(psi.JOURNAL_METHODS)


def test_every_override_in_peerguard_is_on_the_checked_list():
    conn = {n for n in vars(GuardedConnection) if not n.startswith("__")
            and (n.startswith("_TcpConnection__") or hasattr(psi.TcpConnection, n))}
    assert conn <= set(psi.CONNECTION_METHODS)
    transport = {n for n in vars(GuardedTransport)
                 if not n.startswith("__") and hasattr(psi.TCPTransport, n)}
    assert transport <= set(psi.TRANSPORT_METHODS)
