# -*- coding: utf-8 -*-
# Copyright (c) postform developers
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Action plugin for postform.postfix.main_cf.

The module is a compiled binary (the postform executable). The collection
ships one per target platform under ``files/bin/main_cf_<system>_<arch>``
(e.g. ``main_cf_linux_x86_64``). This plugin finds the target's platform
(from gathered facts when present, else one ``uname -s -m`` on the target),
and runs that binary through Ansible's normal module machinery
(``_execute_module``): it is copied into the remote temporary directory as
``AnsiballZ_main_cf_<system>_<arch>`` with an ``args`` JSON file beside it,
executed as ``<binary> <args>`` (with become when asked), and its one JSON
object is the task result. Check mode, diff mode, no_log and async work as
for any module.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

try:  # ansible-core >= 2.19 describes a built module with a dataclass
    from ansible.executor.module_common import _BuiltModule
except ImportError:  # ansible-core 2.15 - 2.18: a plain tuple
    _BuiltModule = None

display = Display()

MODULE_FQCN = 'postform.postfix.main_cf'

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


class ActionModule(ActionBase):

    _supports_check_mode = True
    _supports_async = True

    _postform_binary = None

    def run(self, tmp=None, task_vars=None):
        if task_vars is None:
            task_vars = {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # no longer has any effect

        wrap_async = self._task.async_val and not self._connection.has_native_async
        try:
            platform = self._target_platform(task_vars)
            self._postform_binary = self._binary_for(platform)
            display.vvv('postform: using %s for target platform %s' % (self._postform_binary, platform))
            result = merge_hash(
                result,
                self._execute_module(
                    module_name=MODULE_FQCN,
                    module_args=self._task.args.copy(),
                    task_vars=task_vars,
                    wrap_async=wrap_async,
                ),
            )
        finally:
            if not wrap_async:
                self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    # -- platform ---------------------------------------------------------

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
                    'postform.postfix.main_cf: cannot determine the target platform: '
                    '`uname -s -m` returned rc=%s stdout=%r stderr=%r'
                    % (res.get('rc'), res.get('stdout'), res.get('stderr'))
                )
            system, machine = words[0], words[-1]
        sys_name = SYSTEMS.get(system.lower())
        arch = ARCHITECTURES.get(machine.lower())
        if sys_name is None or arch is None:
            raise AnsibleActionFail(
                'postform.postfix.main_cf does not support the target platform %s %s: '
                'postform runs on Linux x86_64 and aarch64 hosts (binaries available: %s)'
                % (system, machine, ', '.join(self._available()) or 'none')
            )
        return '%s_%s' % (sys_name, arch)

    @staticmethod
    def _available():
        try:
            return sorted(n for n in os.listdir(BIN_DIR) if n.startswith('main_cf_'))
        except OSError:
            return []

    def _binary_for(self, platform):
        path = os.path.join(BIN_DIR, 'main_cf_%s' % platform)
        if not os.path.isfile(path):
            raise AnsibleActionFail(
                'postform.postfix.main_cf: the collection has no module binary for %s '
                '(looked for %s; available: %s). Build it with scripts/build-collection '
                '(cross-compile for other architectures) and reinstall the collection.'
                % (platform, path, ', '.join(self._available()) or 'none')
            )
        return path

    # -- module loading ---------------------------------------------------

    def _configure_module(self, module_name, module_args, task_vars):
        """Serve the platform's binary instead of the docs-only main_cf.py.

        ansible-core classifies a module file that is not text as a binary
        module: it transfers the file as is, writes the arguments into a
        JSON file and runs ``<module> <args-file>``.
        """
        path = self._postform_binary
        if path is None or module_name != MODULE_FQCN:
            return super(ActionModule, self)._configure_module(module_name, module_args, task_vars)
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
