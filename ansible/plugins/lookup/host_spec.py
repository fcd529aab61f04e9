# -*- coding: utf-8 -*-
# Copyright (c) postform developers
# SPDX-License-Identifier: MIT OR Apache-2.0

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
name: host_spec
author:
  - postform developers (@postform)
version_added: 0.1.0
short_description: A host's postform spec from a GitOps repository, layers resolved on the controller
description:
  - Reads C(hosts/<host>.yaml) of a postform GitOps repository on the controller, applies
    its C(extends) layers (C(defaults.yaml), C(groups/...)) exactly as C(postform) does,
    and returns the result as one dictionary in the full spec form (C(main), C(purge),
    C(service), C(custom_parameters)).
  - Pass it to the O(postform.postfix.main_cf#module:spec) option; the repository never
    has to be on the managed hosts.
  - Runs C(postform resolve --repo REPO --host HOST) on the controller with the postform
    binary given by O(binary), else the collection's own binary for the controller's
    platform, else C(postform) on E(PATH).
  - When C(hosts/<host>.yaml) does not exist, the first label of the name is tried
    (C(mx1) for C(mx1.example.com)). An unknown host fails, listing the known ones.
options:
  _terms:
    description: Host names (usually C(inventory_hostname)); one dictionary per name.
    required: true
    type: list
    elements: str
  repo:
    description: The repository on the controller (the folder holding C(hosts/)).
    type: path
    required: true
  binary:
    description: The postform executable to run on the controller.
    type: path
notes:
  - The lookup runs once per host and task; resolving a host takes a few milliseconds.
seealso:
  - module: postform.postfix.main_cf
"""

EXAMPLES = r"""
- name: Postfix main.cf as the repository says
  postform.postfix.main_cf:
    spec: "{{ lookup('postform.postfix.host_spec', inventory_hostname, repo='/srv/postfix-config') }}"
  notify: postform.postfix.service
"""

RETURN = r"""
_raw:
  description: One spec dictionary per host name.
  type: list
  elements: dict
"""

import json
import os
import platform
import shutil
import subprocess

from ansible.errors import AnsibleLookupError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.lookup import LookupBase

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARCHITECTURES = {'x86_64': 'x86_64', 'amd64': 'x86_64', 'aarch64': 'aarch64', 'arm64': 'aarch64'}


def controller_binary():
    """The collection's binary for this machine, or postform on PATH, or None."""
    system = platform.system().lower()
    arch = ARCHITECTURES.get(platform.machine().lower())
    if system == 'linux' and arch:
        path = os.path.join(COLLECTION_ROOT, 'files', 'bin', 'main_cf_linux_%s' % arch)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return shutil.which('postform')


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        repo = self.get_option('repo')
        binary = self.get_option('binary') or controller_binary()
        if not binary:
            raise AnsibleLookupError(
                'postform.postfix.host_spec: no postform binary for the controller (%s %s): '
                'install postform on the controller (on PATH) or pass binary=/path/to/postform'
                % (platform.system(), platform.machine()))
        specs = []
        for host in terms:
            argv = [binary, 'resolve', '--repo', repo, '--host', to_text(host)]
            try:
                proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, check=False)
            except OSError as e:
                raise AnsibleLookupError('postform.postfix.host_spec: cannot run %s: %s' % (binary, e))
            if proc.returncode != 0:
                raise AnsibleLookupError(
                    'postform.postfix.host_spec: host %s in %s: %s'
                    % (host, repo, to_text(proc.stderr).strip() or 'exit code %d' % proc.returncode))
            try:
                specs.append(json.loads(to_text(proc.stdout)))
            except ValueError as e:
                raise AnsibleLookupError(
                    'postform.postfix.host_spec: %s resolve printed no JSON (%s): %s'
                    % (binary, e, to_text(proc.stdout)[:200]))
        return specs
