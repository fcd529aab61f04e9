# -*- coding: utf-8 -*-
# Copyright (c) postform developers
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Controller-side machinery shared by the postform.postfix action plugins.

Every module of the collection is the same compiled postform binary. The
collection ships one per target platform under
``files/bin/main_cf_<system>_<arch>`` (e.g. ``main_cf_linux_x86_64``); the
binary tells its modules apart by ``_ansible_module_name``. An action plugin
built on :class:`BinaryModuleAction`:

1. checks the task's option names (and ``required_one_of``) against the
   module's argument spec on the controller, so a typo fails before anything
   is sent to the host;
2. finds the target's platform (from gathered facts when present, else one
   ``uname -s -m`` on the target) and the binary for it;
3. runs that binary through Ansible's normal module machinery
   (``_execute_module``): it is copied into the remote temporary directory as
   ``AnsiballZ_main_cf_<system>_<arch>`` with an ``args`` JSON file beside
   it, executed as ``<binary> <args>`` (with become when asked), and its one
   JSON object is the task result. Check mode, diff mode, no_log and async
   work as for any module;
4. when the binary could not start on the target (no JSON came back), names
   the cause and the fix instead of Ansible's generic "Module result
   deserialization failed".
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import difflib
import os
import re

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

try:  # ansible-core >= 2.19 describes a built module with a dataclass
    from ansible.executor.module_common import _BuiltModule
except ImportError:  # ansible-core 2.15 - 2.18: a plain tuple
    _BuiltModule = None

display = Display()

# `uname -s` / `uname -m` (and the matching ansible_system /
# ansible_architecture facts) -> the names used in files/bin.
SYSTEMS = {'linux': 'linux'}
ARCHITECTURES = {
    'x86_64': 'x86_64',
    'amd64': 'x86_64',
    'aarch64': 'aarch64',
    'arm64': 'aarch64',
}

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN_DIR = os.path.join(COLLECTION_ROOT, 'files', 'bin')
BIN_PREFIX = 'main_cf_'

REMOTE_TMP_FIX = (
    'Point the remote temporary directory at a filesystem that allows executing files, '
    'e.g. the inventory variable ansible_remote_tmp=/var/lib/ansible-tmp (or remote_tmp in '
    'ansible.cfg), then run again.'
)
STATIC_BUILD_FIX = (
    'Install the collection built with the static (musl) binaries, which run on any Linux '
    'of their architecture (see the collection README, "Platforms").'
)


def available_binaries():
    """The platform binaries this installed collection has."""
    try:
        return sorted(n for n in os.listdir(BIN_DIR) if n.startswith(BIN_PREFIX))
    except OSError:
        return []


def closest(name, choices):
    """The option closest to a misspelt one, or None."""
    match = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return match[0] if match else None


def diagnose_start_failure(module_fqcn, result, platform, binary):
    """Why the module binary produced no JSON, or None when it is not a start failure.

    ``result`` is what ``_execute_module`` returned. For output it could not
    parse, ansible-core keeps the binary's ``rc``, ``module_stdout`` and
    ``module_stderr`` in the result.
    """
    # ansible-core <= 2.20 also sets _ansible_parsed: False; 2.21 keeps that
    # in its result object only. module_stdout/module_stderr are in every
    # version, and only for output that was not the module's JSON.
    unparsed = result.get('_ansible_parsed') is False or (
        'module_stderr' in result or 'module_stdout' in result)
    if not result.get('failed') or not unparsed:
        return None
    rc = result.get('rc')
    stderr = result.get('module_stderr') or ''
    stdout = result.get('module_stdout') or ''
    text = '%s\n%s' % (stderr, stdout)
    # The shell names the file it could not run: AnsiballZ_main_cf_linux_x86_64 in
    # <remote_tmp>/ansible-tmp-*/.
    where = ''
    m = re.search(r'(/\S*/)AnsiballZ_\S+', text)
    if m:
        where = os.path.dirname(m.group(1).rstrip('/'))
    excerpt = ' '.join(stderr.strip().split())[:300] or ' '.join(stdout.strip().split())[:300]
    head = '%s: the module binary %s (for %s) could not start on the target' % (
        module_fqcn, os.path.basename(binary or ''), platform or 'this platform')
    glibc = re.search(r"GLIBC_[0-9.]+", text)
    if glibc:
        cause = ('it is linked against the GNU C library and needs %s, which the target\'s '
                 'glibc does not provide (an older distribution such as EL8 or Debian 11). %s'
                 % (glibc.group(0), STATIC_BUILD_FIX))
    elif re.search(r'exec format error|cannot execute binary file|syntax error|'
                   r'word unexpected|unexpected \S*\(', text, re.I):
        cause = ('it is not a program for this machine: the binary is for another CPU '
                 'architecture or is damaged (the target reports "Exec format error"). Check '
                 'that `uname -m` on the target matches the binary, and reinstall the collection '
                 'from its release tarball. Binaries in this collection: %s.'
                 % (', '.join(available_binaries()) or 'none'))
    elif rc == 126 or re.search(r'permission denied', text, re.I):
        cause = ('the remote temporary directory%s does not allow executing files (mounted '
                 'noexec; exit code 126, "Permission denied"). Python modules still work there '
                 'because they run as `python file`; a binary module must be executed. %s'
                 % (' ' + where if where else '', REMOTE_TMP_FIX))
    elif rc == 127 or re.search(r'not found|no such file', text, re.I):
        cause = ('the binary or its program loader was not found (exit code 127): a '
                 'glibc-linked build on a musl system such as Alpine has no '
                 '/lib64/ld-linux-*.so loader, or the remote temporary directory%s vanished. %s'
                 % (' ' + where if where else '', STATIC_BUILD_FIX))
    else:
        return None
    msg = '%s: %s\nThe target said (exit code %s): %s' % (head, cause, rc, excerpt or '(nothing)')
    return msg


class BinaryModuleAction(ActionBase):
    """Base of the action plugins that run the postform binary as a module."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = True

    #: The module's fully qualified name (``_ansible_module_name`` on the target).
    MODULE_FQCN = None
    #: The module's argument spec (plugins/module_utils/argspecs.py).
    ARGUMENT_SPEC = {}
    #: Groups of options of which one must be given.
    REQUIRED_ONE_OF = ()
    #: Added to the unknown-option message.
    UNKNOWN_OPTION_HINT = ''

    _postform_binary = None

    # -- options ----------------------------------------------------------

    def check_option_names(self, args):
        """Fail on unknown option names and on a missing required_one_of group.

        Types and values are left to the module on the target: its messages
        are specific (all problems at once, what was expected, how to fix).
        """
        unknown = sorted(k for k in args if k not in self.ARGUMENT_SPEC)
        problems = []
        if unknown:
            hints = ['%s -> %s?' % (u, closest(u, self.ARGUMENT_SPEC)) for u in unknown
                     if closest(u, self.ARGUMENT_SPEC)]
            problems.append('unsupported option%s %s%s; valid options are: %s.%s' % (
                '' if len(unknown) == 1 else 's',
                ', '.join(unknown),
                ' (did you mean: %s)' % ', '.join(hints) if hints else '',
                ', '.join(self.ARGUMENT_SPEC),
                ' ' + self.UNKNOWN_OPTION_HINT if self.UNKNOWN_OPTION_HINT else '',
            ))
        for group in self.REQUIRED_ONE_OF:
            if all(args.get(k) is None for k in group):
                problems.append('one of the options %s is required' % ' or '.join(group))
        if problems:
            raise AnsibleActionFail(
                '%s: %s (checked on the controller; nothing was sent to the host)'
                % (self.MODULE_FQCN, ' '.join(problems)))

    # -- running the binary ----------------------------------------------

    def run_binary(self, task_vars, module_args):
        """Run the platform's binary as MODULE_FQCN with module_args; return its result."""
        wrap_async = self._task.async_val and not self._connection.has_native_async
        platform = None
        try:
            platform = self._target_platform(task_vars)
            self._postform_binary = self._binary_for(platform)
            display.vvv('postform: using %s for target platform %s' % (self._postform_binary, platform))
            result = self._execute_module(
                module_name=self.MODULE_FQCN,
                module_args=module_args,
                task_vars=task_vars,
                wrap_async=wrap_async,
            )
        finally:
            if not wrap_async:
                self._remove_tmp_path(self._connection._shell.tmpdir)
        diagnosis = diagnose_start_failure(self.MODULE_FQCN, result, platform, self._postform_binary)
        if diagnosis:
            result['msg'] = diagnosis
            # ansible-core >= 2.19 shows the error from `exception` (its
            # generic deserialization error) in the task's header line;
            # without it, the header is this message.
            result.pop('exception', None)
        return result

    def _target_platform(self, task_vars):
        """Return e.g. 'linux_x86_64' for the host the task runs on."""
        facts = task_vars.get('ansible_facts') or {}
        if self._task.delegate_to:
            delegated = (task_vars.get('ansible_delegated_vars') or {}).get(self._task.delegate_to) or {}
            facts = delegated.get('ansible_facts') or {}
        system, machine = facts.get('system'), facts.get('architecture')
        if not (system and machine):
            res = self._low_level_execute_command('uname -s -m', sudoable=False)
            words = (res.get('stdout') or '').split()
            if res.get('rc') != 0 or len(words) < 2:
                raise AnsibleActionFail(
                    '%s: cannot determine the target platform: '
                    '`uname -s -m` returned rc=%s stdout=%r stderr=%r'
                    % (self.MODULE_FQCN, res.get('rc'), res.get('stdout'), res.get('stderr'))
                )
            system, machine = words[0], words[-1]
        sys_name = SYSTEMS.get(system.lower())
        arch = ARCHITECTURES.get(machine.lower())
        if sys_name is None or arch is None:
            raise AnsibleActionFail(
                '%s does not support the target platform %s %s: '
                'postform runs on Linux x86_64 and aarch64 hosts (binaries available: %s)'
                % (self.MODULE_FQCN, system, machine, ', '.join(available_binaries()) or 'none')
            )
        return '%s_%s' % (sys_name, arch)

    def _binary_for(self, platform):
        path = os.path.join(BIN_DIR, BIN_PREFIX + platform)
        if not os.path.isfile(path):
            raise AnsibleActionFail(
                '%s: this installed collection has no module binary for %s (looked for %s; '
                'available: %s). Install the release tarball of postform.postfix, which carries '
                'the binaries for every supported platform; when building from source, '
                'scripts/build-collection (cross-compile for other architectures).'
                % (self.MODULE_FQCN, platform, path, ', '.join(available_binaries()) or 'none')
            )
        return path

    def _configure_module(self, module_name, module_args, task_vars):
        """Serve the platform's binary instead of the Python documentation file.

        ansible-core classifies a module file that is not text as a binary
        module: it transfers the file as is, writes the arguments into a
        JSON file and runs ``<module> <args-file>``.
        """
        path = self._postform_binary
        if path is None or module_name != self.MODULE_FQCN:
            return super(BinaryModuleAction, self)._configure_module(module_name, module_args, task_vars)
        with open(path, 'rb') as f:
            data = f.read()
        if _BuiltModule is not None:
            return _BuiltModule(
                b_module_data=data,
                module_style='binary',
                shebang=None,
                serialization_profile='legacy',
            ), path
        return 'binary', None, data, path
