"""Package-manager progress lines: what a transaction printed while it ran, not why it failed. Pure.

Shapes, from the package managers' own sources (English messages: the agent runs the scripts
in the C locale):
- yum (rpm-software-management/yum, output.py `YumCliRPMCallBack._makefmt` and
  `verify_txmbr`, actions from yum/rpmtrans.py `RPMBaseCallback.action`) and dnf 4
  (rpm-software-management/dnf, dnf/cli/output.py `CliTransactionDisplay._makefmt`, actions from
  dnf/transaction.py `ACTIONS`): two spaces, the action padded to the longest one, `: `, the
  package padded, then the `n/N` counter; dnf's `Preparing` has no package.
- yum and dnf downloads (yum/__init__.py and urlgrabber/progress.py `TextMultiFileMeter`,
  dnf/cli/progress.py `MultiFileProgressMeter`): `(n/N): file` then ` | size  time`.
- dpkg (guillemj/dpkg, src/main/unpack.c, configure.c, remove.c, trigproc.c, archives.c,
  lib/dpkg/db-fsys-files.c): `Preparing to unpack %s ...`, `Unpacking %s (%s) ...`, `Unpacking
  %s (%s) over (%s) ...`, `Setting up %s (%s) ...`, `Removing %s (%s) ...`, `Processing triggers
  for %s (%s) ...`, `Purging configuration files for %s (%s) ...`, `Selecting previously
  unselected package %s.`, `(Reading database ... `.
- apt (Debian/apt, apt-private/acqprogress.cc): `Get:%lu %s`, `Hit:%lu %s`. Not `Ign:` nor
  `Err:`: those report a download that failed.
- zypper (openSUSE/zypper, src/callbacks/rpm.h and src/output/OutNormal.cc): `(%*d/%d) ` then
  `Installing: %s-%s` or `Removing %s-%s`, then ` [` dots or `done` `]`, never `error`; and
  `Retrieving: file [...done]` (with a terminal: `file [done]`).
"""

import re

__all__ = ["MAX_PROGRESS_LINE_BYTES", "is_progress_line"]

MAX_PROGRESS_LINE_BYTES = 1024
"""A longer line is not a progress line (these are terminal-width lines)."""

_RPM_ACTIONS = (
    # yum's RPMBaseCallback.action and verify_txmbr, dnf's transaction.ACTIONS.
    b"Updating|Upgrading|Installing|Reinstalling|Downgrading|Obsoleting|Obsoleted|Erasing|Cleanup"
    b"|Verifying|Repackaging|Running scriptlet|Preparing"
)
_PROGRESS = re.compile(
    rb"[ \t]{1,4}(?:" + _RPM_ACTIONS + rb")[ \t]*:(?:[ \t][^\n]*)?[ \t][0-9]{1,9}/[0-9]{1,9}[ \t]*"
    rb"|\([ \t]*[0-9]{1,9}/[0-9]{1,9}\):[ \t][^\n|]*\|[ \t]*[0-9.]{1,9}[ \t]?[kMGTP]?B[ \t]+[0-9:]{4,9}[ \t]*"
    rb"(?:!!!|\.\.\.)?[ \t]*"
    rb"|Preparing to unpack [^\n]+ \.\.\."
    rb"|(?:Unpacking|Setting up|Removing|Processing triggers for|Purging configuration files for)"
    rb" [^ \n]+ \([^\n]*\)[^\n]* \.\.\."
    rb"|Selecting previously unselected package [^ \n]+\."
    rb"|\(Reading database \.\.\.[^\n]*"
    rb"|(?:Get|Hit):[0-9]{1,9} [^\n]+"
    rb"|\([ \t]*[0-9]{1,9}/[0-9]{1,9}\) (?:Installing: |Removing )[^ \n][^\n]*"
    rb"|Retrieving: [^ \n]+[ \t][.\[]*done(?: \([^\n]*/s\))?\]"
)
_ZYPPER_ERROR = b"[error]"


def is_progress_line(line: bytes) -> bool:
    """Whether `line` (one line, no line break) is a package manager's progress line.

    Trailing whitespace is ignored; a zypper line that ended in `[error]` is not progress.
    """
    text = line.rstrip()
    if len(text) > MAX_PROGRESS_LINE_BYTES or not text:
        return False
    if _ZYPPER_ERROR in text:
        return False
    return _PROGRESS.fullmatch(text) is not None
